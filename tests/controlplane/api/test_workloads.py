"""Deployments, ReplicaSets, DaemonSets and Jobs: defaults, template and selector
rules, immutability, scale, tables."""

import copy

import pytest

from supernetes.controlplane.api import registry
from supernetes.controlplane.api.types import autoscaling

DEPLOYMENTS = registry.lookup("apps", "v1", "deployments")
REPLICA_SETS = registry.lookup("apps", "v1", "replicasets")
DAEMON_SETS = registry.lookup("apps", "v1", "daemonsets")
JOBS = registry.lookup("batch", "v1", "jobs")


def messages(errs):
    return [e.message() for e in errs]


def workload(kind="Deployment", api="apps/v1", labels=None, **spec):
    labels = labels or {"app": "web"}
    return {"apiVersion": api, "kind": kind, "metadata": {"name": "web", "namespace": "ns"},
            "spec": {"selector": {"matchLabels": {"app": "web"}},
                     "template": {"metadata": {"labels": labels},
                                  "spec": {"containers": [{"name": "c", "image": "nginx"}]}},
                     **spec}}


def test_deployment_defaults():
    dep = workload()
    DEPLOYMENTS.default(dep)
    spec = dep["spec"]
    assert spec["replicas"] == 1
    assert spec["strategy"] == {"type": "RollingUpdate",
                                "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}}
    assert spec["revisionHistoryLimit"] == 10
    assert spec["progressDeadlineSeconds"] == 600
    pod_spec = spec["template"]["spec"]
    assert pod_spec["restartPolicy"] == "Always"
    assert pod_spec["containers"][0]["imagePullPolicy"] == "Always"
    assert "enableServiceLinks" not in pod_spec  # a Pod-only default
    assert DEPLOYMENTS.validate(dep) == []


def test_recreate_gets_no_rolling_update():
    dep = workload(strategy={"type": "Recreate"})
    DEPLOYMENTS.default(dep)
    assert dep["spec"]["strategy"] == {"type": "Recreate"}


def test_selector_must_match_template_labels():
    dep = workload(labels={"app": "other"})
    DEPLOYMENTS.default(dep)
    assert messages(DEPLOYMENTS.validate(dep)) == [
        'spec.template.metadata.labels: Invalid value: map[string]string{"app":"other"}: '
        "`selector` does not match template `labels`"]


def test_selector_required_and_non_empty():
    dep = workload()
    del dep["spec"]["selector"]
    DEPLOYMENTS.default(dep)
    assert "spec.selector: Required value" in messages(DEPLOYMENTS.validate(dep))
    empty = workload(selector={})
    DEPLOYMENTS.default(empty)
    assert any(m.startswith("spec.selector: Invalid value:") and
               m.endswith("empty selector is invalid for deployment")
               for m in messages(DEPLOYMENTS.validate(empty)))


def test_deployment_rules():
    dep = workload(replicas=-1, strategy={"type": "Recreate", "rollingUpdate": {}},
                   progressDeadlineSeconds=5, minReadySeconds=10)
    dep["spec"]["template"]["spec"]["restartPolicy"] = "Never"
    DEPLOYMENTS.default(dep)
    found = messages(DEPLOYMENTS.validate(dep))
    assert "spec.replicas: Invalid value: -1: must be greater than or equal to 0" in found
    assert ("spec.strategy.rollingUpdate: Forbidden: may not be specified when strategy "
            "`type` is 'Recreate'") in found
    assert ("spec.progressDeadlineSeconds: Invalid value: 5: must be greater than "
            "minReadySeconds") in found
    assert ('spec.template.spec.restartPolicy: Unsupported value: "Never": supported '
            'values: "Always"') in found


def test_rolling_update_both_zero():
    dep = workload(strategy={"rollingUpdate": {"maxUnavailable": 0, "maxSurge": "0%"}})
    DEPLOYMENTS.default(dep)
    assert messages(DEPLOYMENTS.validate(dep)) == [
        "spec.strategy.rollingUpdate.maxUnavailable: Invalid value: 0: may not be 0 when "
        "`maxSurge` is 0"]
    bad = workload(strategy={"rollingUpdate": {"maxUnavailable": "150%", "maxSurge": "x"}})
    DEPLOYMENTS.default(bad)
    found = messages(DEPLOYMENTS.validate(bad))
    assert ('spec.strategy.rollingUpdate.maxUnavailable: Invalid value: "150%": must not be '
            "greater than 100%") in found
    assert any(m.startswith('spec.strategy.rollingUpdate.maxSurge: Invalid value: "x": a '
                            "valid percent string") for m in found)


def test_selector_is_immutable():
    old = workload()
    DEPLOYMENTS.default(old)
    new = copy.deepcopy(old)
    new["spec"]["selector"]["matchLabels"]["tier"] = "x"
    new["spec"]["template"]["metadata"]["labels"]["tier"] = "x"
    found = messages(DEPLOYMENTS.validate(new, old))
    assert len(found) == 1 and found[0].startswith("spec.selector: Invalid value:")
    assert found[0].endswith("field is immutable")


def test_deployment_table():
    dep = workload(replicas=3)
    dep["status"] = {"readyReplicas": 2, "updatedReplicas": 3, "availableReplicas": 2}
    cols, rows = DEPLOYMENTS.table([dep])
    assert [c["name"] for c in cols] == ["Name", "Ready", "Up-to-date", "Available", "Age",
                                         "Containers", "Images", "Selector"]
    assert rows[0][:4] == ["web", "2/3", 3, 2]
    assert rows[0][5:] == ["c", "nginx", "app=web"]
    narrow_cols, narrow_rows = DEPLOYMENTS.table([dep], wide=False)
    assert len(narrow_cols) == 5 and len(narrow_rows[0]) == 5


def test_scale_subresource_round_trip():
    dep = workload(replicas=3)
    dep["metadata"]["resourceVersion"] = "7"
    dep["status"] = {"replicas": 2}
    scale = autoscaling.scale_of(DEPLOYMENTS, dep)
    assert scale == {"apiVersion": "autoscaling/v1", "kind": "Scale",
                     "metadata": {"name": "web", "namespace": "ns", "resourceVersion": "7"},
                     "spec": {"replicas": 3}, "status": {"replicas": 2, "selector": "app=web"}}
    autoscaling.apply_scale(dep, {"spec": {"replicas": 5}})
    assert dep["spec"]["replicas"] == 5
    scale_type = registry.by_kind("autoscaling/v1", "Scale")
    assert [e.field for e in scale_type.validate({"spec": {"replicas": -1}})] == [
        "spec.replicas"]


def test_replica_set():
    rs = workload("ReplicaSet")
    REPLICA_SETS.default(rs)
    assert rs["spec"]["replicas"] == 1
    assert REPLICA_SETS.validate(rs) == []
    rs["spec"]["template"]["spec"]["activeDeadlineSeconds"] = 10
    assert ("spec.template.spec.activeDeadlineSeconds: Forbidden: activeDeadlineSeconds in "
            "ReplicaSet is not Supported") in messages(REPLICA_SETS.validate(rs))
    rs["status"] = {"replicas": 1, "readyReplicas": 1}
    assert REPLICA_SETS.table([rs])[1][0][:4] == ["web", 1, 1, 1]


def test_daemon_set_defaults_and_table():
    ds = workload("DaemonSet")
    DAEMON_SETS.default(ds)
    assert ds["spec"]["updateStrategy"] == {"type": "RollingUpdate", "rollingUpdate": {
        "maxUnavailable": 1, "maxSurge": 0}}
    assert ds["spec"]["revisionHistoryLimit"] == 10
    assert DAEMON_SETS.validate(ds) == []
    DAEMON_SETS.prepare_for_create(ds)
    assert ds["status"]["desiredNumberScheduled"] == 0
    cols, _ = DAEMON_SETS.table([ds])
    assert [c["name"] for c in cols][:8] == ["Name", "Desired", "Current", "Ready",
                                             "Up-to-date", "Available", "Node Selector", "Age"]


def job(**spec):
    j = workload("Job", "batch/v1", **spec)
    del j["spec"]["selector"]
    return j


def test_job_defaults_and_generated_selector():
    j = job()
    j["spec"]["template"]["spec"]["restartPolicy"] = "Never"
    JOBS.default(j)
    spec = j["spec"]
    assert (spec["completions"], spec["parallelism"], spec["backoffLimit"]) == (1, 1, 6)
    assert spec["completionMode"] == "NonIndexed" and spec["suspend"] is False
    assert spec["podReplacementPolicy"] == "TerminatingOrFailed"
    j["metadata"]["uid"] = "u-1"
    JOBS.prepare_for_create(j)
    assert spec["selector"] == {"matchLabels": {"batch.kubernetes.io/controller-uid": "u-1"}}
    labels = spec["template"]["metadata"]["labels"]
    assert labels["batch.kubernetes.io/job-name"] == "web" and labels["controller-uid"] == "u-1"
    assert JOBS.validate(j) == []


def test_job_parallelism_only_leaves_completions_unset():
    j = job(parallelism=3)
    JOBS.default(j)
    assert "completions" not in j["spec"] and j["spec"]["parallelism"] == 3


def test_job_needs_on_failure_or_never():
    j = job()
    JOBS.default(j)
    j["metadata"]["uid"] = "u-1"
    JOBS.prepare_for_create(j)
    assert messages(JOBS.validate(j)) == [
        'spec.template.spec.restartPolicy: Unsupported value: "Always": supported values: '
        '"OnFailure", "Never"']


def test_job_template_is_immutable():
    old = job()
    old["spec"]["template"]["spec"]["restartPolicy"] = "Never"
    JOBS.default(old)
    old["metadata"]["uid"] = "u"
    JOBS.prepare_for_create(old)
    new = copy.deepcopy(old)
    new["spec"]["template"]["spec"]["containers"][0]["image"] = "other"
    found = messages(JOBS.validate(new, old))
    assert len(found) == 1 and found[0].startswith("spec.template: Invalid value:")


@pytest.mark.parametrize("status,spec,cells", [
    ({}, {"completions": 1}, ["Running", "0/1"]),
    ({"succeeded": 1, "conditions": [{"type": "Complete", "status": "True"}],
      "startTime": "2024-01-01T00:00:00Z", "completionTime": "2024-01-01T00:00:42Z"},
     {"completions": 1}, ["Complete", "1/1", "42s"]),
    ({"conditions": [{"type": "Failed", "status": "True"}]}, {"parallelism": 3},
     ["Failed", "0/1 of 3"]),
    ({"conditions": [{"type": "Suspended", "status": "True"}]}, {}, ["Suspended", "0/1"]),
])
def test_job_table(status, spec, cells):
    j = {"metadata": {"name": "j"}, "spec": spec, "status": status}
    cols, rows = JOBS.table([j])
    assert [c["name"] for c in cols][:5] == ["Name", "Status", "Completions", "Duration",
                                             "Age"]
    assert rows[0][1:1 + len(cells)] == cells


def test_hpa_defaults_validation_and_table():
    hpas = registry.lookup("autoscaling", "v2", "horizontalpodautoscalers")
    hpa = {"metadata": {"name": "web", "namespace": "ns"},
           "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web"},
                    "maxReplicas": 5, "behavior": {"scaleDown": {"selectPolicy": "Min"}}}}
    hpas.default(hpa)
    spec = hpa["spec"]
    assert spec["minReplicas"] == 1
    assert spec["metrics"] == [{"type": "Resource", "resource": {"name": "cpu", "target": {
        "type": "Utilization", "averageUtilization": 80}}}]
    assert spec["behavior"]["scaleDown"]["selectPolicy"] == "Min"
    assert spec["behavior"]["scaleDown"]["stabilizationWindowSeconds"] == 300
    assert spec["behavior"]["scaleUp"]["policies"][0] == {"type": "Pods", "value": 4,
                                                          "periodSeconds": 15}
    assert hpas.validate(hpa) == []
    hpa["status"] = {"currentReplicas": 2, "currentMetrics": [{"type": "Resource", "resource": {
        "name": "cpu", "current": {"averageUtilization": 35}}}], "desiredReplicas": 2}
    assert hpas.table([hpa])[1][0][:6] == ["web", "Deployment/web", "cpu: 35%/80%", 1, 5, 2]
    bad = {"metadata": {"name": "x", "namespace": "ns"},
           "spec": {"scaleTargetRef": {}, "minReplicas": 3, "maxReplicas": 2}}
    found = messages(hpas.validate(bad))
    assert "spec.scaleTargetRef.kind: Required value" in found
    assert ("spec.maxReplicas: Invalid value: 2: must be greater than or equal to "
            "`minReplicas`") in found

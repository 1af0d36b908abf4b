"""Pods: Kubernetes' defaults, validation messages, update rules and subresources."""

import copy

import pytest

from supernetes.controlplane.api import errors
from supernetes.controlplane.api.types import pods as pod_types
from supernetes.controlplane.api.types.podspec_defaults import image_tag, pull_policy_for


def messages(errs) -> list[str]:
    return [e.message() for e in errs]


def defaulted(pods, pod):
    pods.default(pod)
    return pod


def test_pod_spec_defaults_match_kubernetes(pods, pod):
    spec = defaulted(pods, pod)["spec"]
    assert spec["restartPolicy"] == "Always"
    assert spec["dnsPolicy"] == "ClusterFirst"
    assert spec["terminationGracePeriodSeconds"] == 30
    assert spec["schedulerName"] == "default-scheduler"
    assert spec["securityContext"] == {}
    assert spec["enableServiceLinks"] is True
    ctr = spec["containers"][0]
    assert ctr["imagePullPolicy"] == "IfNotPresent"
    assert ctr["terminationMessagePath"] == "/dev/termination-log"
    assert ctr["terminationMessagePolicy"] == "File"
    assert ctr["ports"] == [{"containerPort": 80, "protocol": "TCP"}]
    assert ctr["resources"] == {}


@pytest.mark.parametrize("image,tag,policy", [
    ("nginx", "latest", "Always"),
    ("nginx:latest", "latest", "Always"),
    ("nginx:1.25", "1.25", "IfNotPresent"),
    ("localhost:5000/app", "latest", "Always"),
    ("localhost:5000/app:v2", "v2", "IfNotPresent"),
    ("app@sha256:" + "a" * 64, "", "IfNotPresent"),
    ("app:v1@sha256:" + "a" * 64, "v1", "IfNotPresent"),
])
def test_image_pull_policy_follows_the_tag(image, tag, policy):
    assert image_tag(image) == tag
    assert pull_policy_for(image) == policy


def test_probe_and_handler_defaults(pods, pod):
    pod["spec"]["containers"][0]["readinessProbe"] = {"httpGet": {"port": 80}}
    pod["spec"]["containers"][0]["lifecycle"] = {"preStop": {"httpGet": {"port": "http"}}}
    ctr = defaulted(pods, pod)["spec"]["containers"][0]
    assert ctr["readinessProbe"] == {"httpGet": {"port": 80, "path": "/", "scheme": "HTTP"},
                                     "timeoutSeconds": 1, "periodSeconds": 10,
                                     "successThreshold": 1, "failureThreshold": 3}
    assert ctr["lifecycle"]["preStop"]["httpGet"]["path"] == "/"
    assert "livenessProbe" not in ctr


def test_requests_default_to_limits_on_pods_only(pods, pod):
    pod["spec"]["containers"][0]["resources"] = {"limits": {"cpu": "500m"},
                                                 "requests": {"memory": "64Mi"}}
    res = defaulted(pods, pod)["spec"]["containers"][0]["resources"]
    assert res["requests"] == {"memory": "64Mi", "cpu": "500m"}


def test_volume_defaults(pods, pod):
    pod["spec"]["volumes"] = [{"name": "scratch"}, {"name": "cfg", "configMap": {"name": "c"}},
                              {"name": "host", "hostPath": {"path": "/tmp"}},
                              {"name": "proj", "projected": {"sources": [
                                  {"serviceAccountToken": {"path": "token"}}]}}]
    vols = defaulted(pods, pod)["spec"]["volumes"]
    assert vols[0] == {"name": "scratch", "emptyDir": {}}
    assert vols[1]["configMap"] == {"name": "c", "defaultMode": 420}
    assert vols[2]["hostPath"] == {"path": "/tmp", "type": ""}
    assert vols[3]["projected"] == {"defaultMode": 420, "sources": [
        {"serviceAccountToken": {"path": "token", "expirationSeconds": 3600}}]}


def test_host_network_defaults_host_ports(pods, pod):
    pod["spec"]["hostNetwork"] = True
    ports = defaulted(pods, pod)["spec"]["containers"][0]["ports"]
    assert ports[0]["hostPort"] == 80


def test_valid_pod_has_no_errors(pods, pod):
    assert pods.validate(defaulted(pods, pod)) == []


def test_missing_image_names_the_field(pods, pod):
    del pod["spec"]["containers"][0]["image"]
    assert messages(pods.validate(defaulted(pods, pod))) == [
        "spec.containers[0].image: Required value"]


def test_container_rules(pods, pod):
    pod["spec"]["containers"].append({"name": "nginx", "image": "x",
                                      "ports": [{"containerPort": 70000, "protocol": "ICMP"}]})
    pod["spec"]["initContainers"] = [{"name": "Init_1", "image": "busybox"}]
    found = messages(pods.validate(defaulted(pods, pod)))
    assert 'spec.containers[1].name: Duplicate value: "nginx"' in found
    assert ("spec.containers[1].ports[0].containerPort: Invalid value: 70000: must be between "
            "1 and 65535, inclusive") in found
    assert ('spec.containers[1].ports[0].protocol: Unsupported value: "ICMP": supported '
            'values: "SCTP", "TCP", "UDP"') in found
    assert any(m.startswith('spec.initContainers[0].name: Invalid value: "Init_1": a '
                            "lowercase RFC 1123 label must consist of") for m in found)


def test_no_containers(pods, pod):
    pod["spec"]["containers"] = []
    assert "spec.containers: Required value" in messages(pods.validate(defaulted(pods, pod)))


def test_restart_policy_and_dns_policy_values(pods, pod):
    pod["spec"]["restartPolicy"] = "Sometimes"
    pod["spec"]["dnsPolicy"] = "Google"
    found = messages(pods.validate(defaulted(pods, pod)))
    assert ('spec.restartPolicy: Unsupported value: "Sometimes": supported values: "Always", '
            '"OnFailure", "Never"') in found
    assert ('spec.dnsPolicy: Unsupported value: "Google": supported values: '
            '"ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"') in found


def test_env_and_mount_rules(pods, pod):
    ctr = pod["spec"]["containers"][0]
    ctr["env"] = [{"name": "1BAD", "value": "x"},
                  {"name": "A", "value": "v", "valueFrom": {"fieldRef": {"fieldPath": "x"}}}]
    ctr["volumeMounts"] = [{"name": "missing", "mountPath": "/data"},
                           {"name": "missing", "mountPath": "/data"}]
    found = messages(pods.validate(defaulted(pods, pod)))
    assert any(m.startswith('spec.containers[0].env[0].name: Invalid value: "1BAD": a valid '
                            "environment variable name") for m in found)
    assert ('spec.containers[0].env[1].valueFrom: Invalid value: "": may not be specified '
            "when `value` is not empty") in found
    assert 'spec.containers[0].volumeMounts[0].name: Not found: "missing"' in found
    assert ('spec.containers[0].volumeMounts[1].mountPath: Invalid value: "/data": must be '
            "unique") in found


def test_resources_requests_above_limits(pods, pod):
    pod["spec"]["containers"][0]["resources"] = {"limits": {"cpu": "1"},
                                                 "requests": {"cpu": "1500m"}}
    assert messages(pods.validate(defaulted(pods, pod))) == [
        'spec.containers[0].resources.requests: Invalid value: "1500m": must be less than or '
        "equal to cpu limit of 1"]


def test_probe_rules(pods, pod):
    ctr = pod["spec"]["containers"][0]
    ctr["livenessProbe"] = {"successThreshold": 2, "httpGet": {"port": 80},
                            "exec": {"command": ["true"]}}
    ctr["readinessProbe"] = {"periodSeconds": 5}
    found = messages(pods.validate(defaulted(pods, pod)))
    assert ("spec.containers[0].livenessProbe.successThreshold: Invalid value: 2: must be 1"
            in found)
    assert ("spec.containers[0].livenessProbe.httpGet: Forbidden: may not specify more than 1 "
            "handler type") in found
    assert ("spec.containers[0].readinessProbe: Required value: must specify a handler type"
            in found)


def test_tolerations_and_affinity(pods, pod):
    pod["spec"]["tolerations"] = [{"operator": "Equal", "value": "x"},
                                  {"key": "k", "operator": "Exists", "effect": "Sometimes"}]
    pod["spec"]["affinity"] = {"nodeAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
            {"matchExpressions": [{"key": "zone", "operator": "In"}]}]}}}
    found = messages(pods.validate(defaulted(pods, pod)))
    assert ('spec.tolerations[0].operator: Invalid value: "Equal": operator must be Exists '
            'when `key` is empty, which means "match all values and all keys"') in found
    assert ('spec.tolerations[1].effect: Unsupported value: "Sometimes": supported values: '
            '"NoSchedule", "PreferNoSchedule", "NoExecute"') in found
    assert ("spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution."
            "nodeSelectorTerms[0].matchExpressions[0].values: Required value: must be "
            "specified when `operator` is 'In' or 'NotIn'") in found


def test_metadata_rules(pods, pod):
    pod["metadata"] = {"namespace": "default", "labels": {"bad key!": "v", "ok": "-bad-"}}
    found = messages(pods.validate(defaulted(pods, pod)))
    assert "metadata.name: Required value: name or generateName is required" in found
    assert any(m.startswith('metadata.labels: Invalid value: "bad key!": name part must '
                            "consist of") for m in found)
    assert any(m.startswith('metadata.labels: Invalid value: "-bad-": a valid label must be '
                            "an empty string") for m in found)


def test_generate_name_is_enough(pods, pod):
    pod["metadata"] = {"generateName": "web-", "namespace": "default"}
    assert pods.validate(defaulted(pods, pod)) == []


def test_update_may_change_image(pods, pod):
    old = defaulted(pods, pod)
    new = {**old, "spec": {**old["spec"], "containers": [
        {**old["spec"]["containers"][0], "image": "nginx:1.26"}]}}
    assert pods.validate(new, old) == []


def test_update_may_not_change_ports(pods, pod):
    old = defaulted(pods, pod)
    new = copy.deepcopy(old)
    new["spec"]["containers"][0]["ports"][0]["containerPort"] = 8080
    found = messages(pods.validate(new, old))
    assert len(found) == 1
    assert found[0].startswith(
        "spec: Forbidden: pod updates may not change fields other than "
        "`spec.containers[*].image`,`spec.initContainers[*].image`,"
        "`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing "
        "tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it "
        "was previously negative)")
    assert "spec.containers[0].ports[0].containerPort: 80 -> 8080" in found[0]


def test_update_tolerations_only_additions(pods, pod):
    pod["spec"]["tolerations"] = [{"key": "a", "operator": "Exists"}]
    old = defaulted(pods, pod)
    added = copy.deepcopy(old)
    added["spec"]["tolerations"].append({"key": "b", "operator": "Exists"})
    assert pods.validate(added, old) == []
    removed = copy.deepcopy(old)
    removed["spec"]["tolerations"] = []
    assert "spec.tolerations: Forbidden: existing toleration can not be modified except its " \
           "tolerationSeconds" in messages(pods.validate(removed, old))


def test_update_active_deadline_may_only_go_down(pods, pod):
    pod["spec"]["activeDeadlineSeconds"] = 100
    old = defaulted(pods, pod)
    lower = copy.deepcopy(old)
    lower["spec"]["activeDeadlineSeconds"] = 50
    assert pods.validate(lower, old) == []
    higher = copy.deepcopy(old)
    higher["spec"]["activeDeadlineSeconds"] = 200
    assert messages(pods.validate(higher, old)) == [
        "spec.activeDeadlineSeconds: Invalid value: 200: must be less than or equal to "
        "previous value"]


def test_update_name_is_immutable(pods, pod):
    old = defaulted(pods, pod)
    new = copy.deepcopy(old)
    new["metadata"]["name"] = "other"
    assert 'metadata.name: Invalid value: "other": field is immutable' in messages(
        pods.validate(new, old))


def test_status_update_validates_status_only(pods, pod):
    old = defaulted(pods, pod)
    new = copy.deepcopy(old)
    new["status"] = {"phase": "Dancing", "podIP": "10.0.0.1", "podIPs": [{"ip": "10.0.0.2"}]}
    found = messages(pods.validate(new, old, subresource="status"))
    assert ('status.phase: Unsupported value: "Dancing": supported values: "Pending", '
            '"Running", "Succeeded", "Failed", "Unknown"') in found
    assert 'status.podIPs[0].ip: Invalid value: "10.0.0.2": must be equal to podIP' in found


def test_prepare_for_create_resets_status_with_qos(pods, pod):
    pod["status"] = {"phase": "Running"}
    pod["spec"]["containers"][0]["resources"] = {"limits": {"cpu": "1", "memory": "1Gi"}}
    defaulted(pods, pod)
    pods.prepare_for_create(pod)
    assert pod["status"] == {"phase": "Pending", "qosClass": "Guaranteed"}


@pytest.mark.parametrize("resources,qos", [
    ({}, "BestEffort"),
    ({"requests": {"cpu": "100m"}}, "Burstable"),
    ({"limits": {"cpu": "1", "memory": "1Gi"}, "requests": {"cpu": "1", "memory": "1Gi"}},
     "Guaranteed"),
    ({"limits": {"cpu": "1", "memory": "1Gi"}, "requests": {"cpu": "500m", "memory": "1Gi"}},
     "Burstable"),
])
def test_qos_class(resources, qos):
    pod = {"spec": {"containers": [{"name": "a", "resources": resources}]}}
    assert pod_types.qos_class(pod) == qos


def test_binding_sets_node_and_scheduled_condition(pod):
    binding = {"metadata": {"name": "web"}, "target": {"kind": "Node", "name": "node-1"}}
    assert pod_types.validate_binding(binding) == []
    pod_types.apply_binding(pod, binding, when="2024-01-01T00:00:00Z")
    assert pod["spec"]["nodeName"] == "node-1"
    assert pod["status"]["conditions"] == [{"type": "PodScheduled", "status": "True",
                                            "lastTransitionTime": "2024-01-01T00:00:00Z"}]
    with pytest.raises(errors.Conflict, match='already assigned to node "node-1"'):
        pod_types.apply_binding(pod, binding)


def test_binding_validation():
    found = messages(pod_types.validate_binding({"target": {"kind": "Pod"}}))
    assert found == ['target.kind: Unsupported value: "Pod": supported values: "Node", '
                     '"<empty>"', "target.name: Required value"]


def test_host_ports_are_unique_across_containers(pods, pod):
    pod["spec"]["containers"][0]["ports"][0]["hostPort"] = 8080
    pod["spec"]["containers"].append({"name": "b", "image": "x", "ports": [
        {"containerPort": 81, "hostPort": 8080}]})
    assert messages(pods.validate(defaulted(pods, pod))) == [
        'spec.containers[1].ports[0].hostPort: Duplicate value: "/TCP/8080"']


def test_quantities_are_stored_canonical(pods, pod):
    pod["spec"]["containers"][0]["resources"] = {"limits": {"cpu": 1, "memory": "1024Mi"},
                                                 "requests": {"cpu": "0.5"}}
    resources = defaulted(pods, pod)["spec"]["containers"][0]["resources"]
    assert resources == {"limits": {"cpu": "1", "memory": "1Gi"},
                         "requests": {"cpu": "500m", "memory": "1Gi"}}

"""The controllers' pure helpers: the pod-template hash, the scale-down order, tolerations
and node affinity, job indexes, DaemonSet rollout plans, pod CIDRs, expectations and
the --controllers list."""

from __future__ import annotations

import time

import pytest

from supernetes.controlplane.controllers import (
    ConfigError,
    ControllerManagerConfig,
    hashing,
    jobutil,
    podutil,
    scheduling,
)
from supernetes.controlplane.controllers import daemonsetutil as dsu
from supernetes.controlplane.controllers.backoff import KeyedBackoff
from supernetes.controlplane.controllers.expectations import Expectations
from supernetes.controlplane.controllers.nodeipam import CidrSet


def test_hash_is_fnv32a_safe_encoded_and_moves_with_collisions():
    assert hashing.fnv32a(b"") == 0x811C9DC5
    assert hashing.fnv32a(b"a") == 0xE40C292C          # the FNV-1a test vector
    template = {"metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "w", "image": "nginx"}]}}
    value = hashing.compute_hash(template)
    assert set(value) <= set(hashing.SAFE_ALPHABET) and 1 <= len(value) <= 10
    assert hashing.compute_hash(template) == value
    assert hashing.compute_hash(template, 1) != value
    assert hashing.compute_hash(dict(template, extra=None)) == value   # empties do not count
    with_hash = {"metadata": {"labels": {"app": "web", "pod-template-hash": value}},
                 "spec": template["spec"]}
    assert hashing.equal_ignore_hash(template, with_hash)
    assert not hashing.equal_ignore_hash(template, {"metadata": {}, "spec": {}})


def pod(name, node="", phase="Running", ready=True, restarts=0, created="2024-01-01T00:00:00Z",
        ready_at="2024-01-01T00:01:00Z", cost=None):
    annotations = {podutil.DELETION_COST: str(cost)} if cost is not None else {}
    conditions = [{"type": "Ready", "status": "True" if ready else "False",
                   "lastTransitionTime": ready_at}]
    return {"metadata": {"name": name, "uid": name, "creationTimestamp": created,
                         "annotations": annotations},
            "spec": {"nodeName": node},
            "status": {"phase": phase, "conditions": conditions,
                       "containerStatuses": [{"restartCount": restarts}]}}


def test_scale_down_order_follows_active_pods_ranking():
    pods = [
        pod("ready-old", "n1", created="2024-01-01T00:00:00Z"),
        pod("ready-new", "n1", created="2024-01-02T00:00:00Z"),
        pod("unscheduled", "", phase="Pending", ready=False),
        pod("pending", "n1", phase="Pending", ready=False),
        pod("unready", "n2", ready=False),
        pod("restarts", "n2", restarts=5),
        pod("recently-ready", "n2", ready_at="2024-01-01T00:05:00Z"),
        pod("costly", "n1", cost=100),
    ]
    order = [p["metadata"]["name"] for p in podutil.scale_down_order(pods)]
    assert order[:3] == ["unscheduled", "pending", "unready"]
    assert order[-1] == "costly"
    # n1 holds more replicas than n2: its pods go before n2's among equals.
    assert order.index("ready-new") < order.index("recently-ready")
    assert order.index("ready-new") < order.index("ready-old")


def test_availability_waits_for_min_ready_seconds():
    from datetime import UTC, datetime
    p = pod("a", "n", ready_at="2024-01-01T00:00:00Z")
    at = datetime(2024, 1, 1, 0, 0, 5, tzinfo=UTC)
    assert podutil.is_available(p, 0, at) and podutil.is_available(p, 5, at)
    assert not podutil.is_available(p, 6, at)


@pytest.mark.parametrize("toleration,taint,ok", [
    ({"key": "k", "operator": "Equal", "value": "v", "effect": "NoSchedule"},
     {"key": "k", "value": "v", "effect": "NoSchedule"}, True),
    ({"key": "k", "value": "other"}, {"key": "k", "value": "v", "effect": "NoSchedule"}, False),
    ({"key": "k", "operator": "Exists"}, {"key": "k", "value": "v", "effect": "NoExecute"}, True),
    ({"operator": "Exists"}, {"key": "anything", "effect": "NoExecute"}, True),
    ({"key": "k", "operator": "Exists", "effect": "NoSchedule"},
     {"key": "k", "effect": "NoExecute"}, False),
])
def test_tolerations_match_as_kubernetes(toleration, taint, ok):
    assert scheduling.tolerates(toleration, taint) is ok


def test_node_affinity_and_selector():
    node = {"metadata": {"name": "n1", "labels": {"zone": "a", "size": "7"}}}
    spec = {"nodeSelector": {"zone": "a"}, "affinity": {"nodeAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
            {"matchExpressions": [{"key": "size", "operator": "Gt", "values": ["9"]}]},
            {"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["n1"]}]},
        ]}}}}
    assert scheduling.node_matches(spec, node)
    spec["nodeSelector"] = {"zone": "b"}
    assert not scheduling.node_matches(spec, node)
    pinned = {"spec": {}}
    scheduling.pin_to_node(pinned["spec"], "n7")
    assert scheduling.target_node(pinned) == "n7"


def test_daemon_pods_tolerate_what_kubernetes_adds_and_skip_untolerated_nodes():
    ds = {"spec": {"template": {"spec": {"containers": [{"name": "a"}]}}}}
    spec = dsu.daemon_pod_spec(ds)
    cordoned = {"metadata": {"name": "n"}, "spec": {"unschedulable": True, "taints": [
        {"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"},
        {"key": "node.kubernetes.io/unreachable", "effect": "NoExecute"}]}}
    assert dsu.should_run(spec, cordoned) == (True, True)
    assert dsu.should_run(spec, {"metadata": {"name": "n"}, "spec": {"taints": [
        {"key": "gpu", "effect": "NoSchedule"}]}}) == (False, True)
    assert dsu.should_run(spec, {"metadata": {"name": "n"}, "spec": {"taints": [
        {"key": "gpu", "effect": "NoExecute"}]}}) == (False, False)


def daemon_pod(name, revision, available=True):
    return pod(name, "n", ready=available) | {
        "metadata": {"name": name, "uid": name, "labels": {dsu.REVISION_LABEL: revision},
                     "creationTimestamp": "2024-01-01T00:00:00Z"}}


def test_daemonset_rolling_plan_respects_max_unavailable_and_surge():
    from datetime import UTC, datetime
    now = datetime(2030, 1, 1, tzinfo=UTC)
    ds = {"spec": {"updateStrategy": {"rollingUpdate": {"maxUnavailable": 1}}}}
    by_node = {f"n{i}": [daemon_pod(f"p{i}", "old")] for i in range(4)}
    delete, create = dsu.rolling_plan(ds, by_node, "new", 4, 0, now)
    assert len(delete) == 1 and create == []
    by_node["n0"] = []                                  # one node already without a pod
    assert dsu.rolling_plan(ds, by_node, "new", 4, 0, now)[0] == []
    by_node["n1"] = [daemon_pod("sick", "old", available=False)]
    assert [p["metadata"]["name"] for p in dsu.rolling_plan(ds, by_node, "new", 4, 0,
                                                            now)[0]] == ["sick"]
    surge = {"spec": {"updateStrategy": {"rollingUpdate": {"maxSurge": 1,
                                                           "maxUnavailable": 0}}}}
    nodes = {f"n{i}": [daemon_pod(f"p{i}", "old")] for i in range(3)}
    delete, create = dsu.rolling_plan(surge, nodes, "new", 3, 0, now)
    assert delete == [] and len(create) == 1
    nodes["n0"].append(daemon_pod("n0-new", "new"))
    delete, create = dsu.rolling_plan(surge, nodes, "new", 3, 0, now)
    assert [p["metadata"]["name"] for p in delete] == ["p0"] and create == []


def test_job_indexes_round_trip():
    assert jobutil.format_indexes({0, 1, 2, 5, 7, 8}) == "0-2,5,7-8"
    assert jobutil.parse_indexes("0-2,5,7-8") == {0, 1, 2, 5, 7, 8}
    assert jobutil.parse_indexes("") == set()


def test_cidr_set_hands_out_each_subnet_once():
    cidrs = CidrSet("10.244.0.0/22", 24)
    assert cidrs.occupy("10.244.1.0/24")
    got = {cidrs.allocate() for _ in range(3)}
    assert got == {"10.244.0.0/24", "10.244.2.0/24", "10.244.3.0/24"}
    assert cidrs.allocate() is None
    cidrs.release("10.244.2.0/24")
    assert cidrs.allocate() == "10.244.2.0/24"
    assert not cidrs.occupy("192.168.0.0/24") and not cidrs.occupy("10.244.0.0/25")


def test_expectations_wait_for_creations_and_deletions():
    exp = Expectations(ttl=60)
    assert exp.satisfied("ns/rs")
    exp.expect_creations("ns/rs", 2)
    exp.creation_observed("ns/rs")
    assert not exp.satisfied("ns/rs")
    exp.creation_observed("ns/rs")
    assert exp.satisfied("ns/rs")
    exp.expect_deletions("ns/rs", ["a", "b"])
    exp.deletion_observed("ns/rs", "a")
    exp.deletion_observed("ns/rs", "a")         # the same pod seen twice counts once
    assert not exp.satisfied("ns/rs")
    exp.deletion_observed("ns/rs", "b")
    assert exp.satisfied("ns/rs")
    short = Expectations(ttl=0.01)
    short.expect_creations("k", 5)
    time.sleep(0.02)
    assert short.satisfied("k")                 # expired: a lost event never wedges


def test_keyed_backoff_doubles_and_forgets():
    backoff = KeyedBackoff(1.0, 5.0)
    assert backoff.remaining("k") == 0
    backoff.failed("k", at=100.0)
    assert backoff.remaining("k", at=100.0) == 1.0
    backoff.failed("k", 2, at=100.0)
    assert backoff.remaining("k", at=100.0) == 4.0
    backoff.failed("k", 5, at=100.0)
    assert backoff.remaining("k", at=100.0) == 5.0     # capped
    backoff.succeeded("k")
    assert backoff.remaining("k", at=100.0) == 0


def test_controllers_list_like_kube_controller_manager():
    config = ControllerManagerConfig(controllers=("*", "-job"))
    assert "job" not in config.enabled() and "deployment" in config.enabled()
    assert ControllerManagerConfig(controllers=("replicaset,deployment",)).enabled() == \
        ["replicaset", "deployment"]
    with pytest.raises(ConfigError, match="unknown controller 'nope'"):
        ControllerManagerConfig(controllers=("nope",)).enabled()
    with pytest.raises(ConfigError, match="cluster-cidr"):
        ControllerManagerConfig(cluster_cidr="10.0.0.0/40").validate()
    with pytest.raises(ConfigError, match="node-cidr-mask-size"):
        ControllerManagerConfig(node_cidr_mask_size=8).validate()

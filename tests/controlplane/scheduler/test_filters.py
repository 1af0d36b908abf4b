"""Every filter plugin, on the node table's arrays: which nodes pass, and the reasons
Kubernetes would give for the others."""

import numpy as np
import pytest
from sched_builders import info, make_node, make_pod, place, plugin, table

CP_TAINT = {"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}


def passing(name, t, pod, args=None):
    mask = plugin(name, args).feasible(info(pod), t)
    if mask is None:
        return [n for n in t.names if n]
    return [t.names[row] for row in np.flatnonzero(mask)]


def reasons(name, t, pod):
    p, pi = plugin(name), info(pod)
    mask = p.feasible(pi, t)
    rows = np.flatnonzero(~mask)
    return {reason: [t.names[r] for r in rows[which]] for reason, which in p.reasons(pi, t, rows)}


# -- NodeUnschedulable ---------------------------------------------------------------------

def test_cordoned_nodes_are_rejected_unless_the_pod_tolerates_it():
    t = table(make_node("a"), make_node("b", unschedulable=True))
    assert passing("NodeUnschedulable", t, make_pod("p")) == ["a"]
    assert reasons("NodeUnschedulable", t, make_pod("p")) == {"node(s) were unschedulable": ["b"]}
    tolerant = make_pod("ds", tolerations=[{"key": "node.kubernetes.io/unschedulable",
                                            "operator": "Exists", "effect": "NoSchedule"}])
    assert passing("NodeUnschedulable", t, tolerant) == ["a", "b"]


# -- TaintToleration -----------------------------------------------------------------------

def test_untolerated_no_schedule_and_no_execute_taints_reject_and_are_named():
    t = table(make_node("a"), make_node("cp", taints=[CP_TAINT]),
              make_node("gpu", taints=[{"key": "gpu", "value": "true", "effect": "NoExecute"}]),
              make_node("soft", taints=[{"key": "x", "effect": "PreferNoSchedule"}]))
    assert passing("TaintToleration", t, make_pod("p")) == ["a", "soft"]
    assert reasons("TaintToleration", t, make_pod("p")) == {
        "node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }": ["cp"],
        "node(s) had untolerated taint {gpu: true}": ["gpu"]}


@pytest.mark.parametrize("toleration, tolerated", [
    ({"key": "gpu", "operator": "Equal", "value": "true", "effect": "NoExecute"}, True),
    ({"key": "gpu", "value": "true"}, True),                          # any effect
    ({"key": "gpu", "operator": "Exists"}, True),
    ({"operator": "Exists"}, True),                                   # tolerates everything
    ({"key": "gpu", "value": "false"}, False),
    ({"key": "gpu", "operator": "Exists", "effect": "NoSchedule"}, False),
])
def test_toleration_matching_follows_kubernetes(toleration, tolerated):
    t = table(make_node("gpu", taints=[{"key": "gpu", "value": "true", "effect": "NoExecute"}]))
    assert passing("TaintToleration", t, make_pod("p", tolerations=[toleration])) == (
        ["gpu"] if tolerated else [])


def test_the_first_untolerated_taint_in_node_order_is_the_one_reported():
    t = table(make_node("n", taints=[{"key": "b", "effect": "NoSchedule"},
                                     {"key": "a", "effect": "NoSchedule"}]))
    assert reasons("TaintToleration", t, make_pod("p")) == {
        "node(s) had untolerated taint {b: }": ["n"]}


def test_not_ready_unknown_and_pressure_conditions_act_as_taints():
    t = table(make_node("ok"), make_node("down", ready="False"), make_node("lost", ready="Unknown"),
              make_node("full", conditions={"DiskPressure": "True"}), make_node("new", ready=None))
    assert passing("TaintToleration", t, make_pod("p")) == ["ok"]
    assert reasons("TaintToleration", t, make_pod("p")) == {
        "node(s) had untolerated taint {node.kubernetes.io/not-ready: }": ["down", "new"],
        "node(s) had untolerated taint {node.kubernetes.io/unreachable: }": ["lost"],
        "node(s) had untolerated taint {node.kubernetes.io/disk-pressure: }": ["full"]}
    daemon = make_pod("ds", tolerations=[{"key": "node.kubernetes.io/not-ready",
                                          "operator": "Exists"}])
    assert passing("TaintToleration", t, daemon) == ["ok", "down", "new"]


# -- NodeAffinity ---------------------------------------------------------------------------

@pytest.fixture
def zoned():
    return table(make_node("a", labels={"zone": "z1", "disk": "ssd", "cores": "8"}),
                 make_node("b", labels={"zone": "z2", "disk": "hdd", "cores": "32"}),
                 make_node("c", labels={"zone": "z3"}))


def required(*terms):
    return {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
        "nodeSelectorTerms": list(terms)}}}


def expr(key, operator, *values):
    e = {"key": key, "operator": operator}
    if values:
        e["values"] = list(values)
    return {"matchExpressions": [e]}


def test_node_selector_requires_every_label(zoned):
    assert passing("NodeAffinity", zoned, make_pod("p", node_selector={"disk": "ssd"})) == ["a"]
    assert passing("NodeAffinity", zoned,
                   make_pod("p", node_selector={"disk": "ssd", "zone": "z2"})) == []
    assert reasons("NodeAffinity", zoned, make_pod("p", node_selector={"disk": "ssd"})) == {
        "node(s) didn't match Pod's node affinity/selector": ["b", "c"]}


@pytest.mark.parametrize("term, expected", [
    (expr("zone", "In", "z1", "z3", "nowhere"), ["a", "c"]),
    (expr("zone", "NotIn", "z1"), ["b", "c"]),
    (expr("disk", "NotIn", "ssd"), ["b", "c"]),        # absent label: not in the set
    (expr("disk", "Exists"), ["a", "b"]),
    (expr("disk", "DoesNotExist"), ["c"]),
    (expr("cores", "Gt", "10"), ["b"]),
    (expr("cores", "Lt", "10"), ["a"]),
    (expr("cores", "Gt", "ten"), []),                  # not an integer: matches nothing
    ({"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["b"]}]}, ["b"]),
    ({"matchFields": [{"key": "metadata.name", "operator": "NotIn", "values": ["b"]}]},
     ["a", "c"]),
    ({}, []),                                          # an empty term matches nothing
    ({"matchExpressions": [{"key": "zone", "operator": "In", "values": ["z1", "z2"]},
                           {"key": "disk", "operator": "In", "values": ["hdd"]}]}, ["b"]),
])
def test_required_node_affinity_operators(zoned, term, expected):
    assert passing("NodeAffinity", zoned, make_pod("p", affinity=required(term))) == expected


def test_node_selector_terms_are_ored(zoned):
    pod = make_pod("p", affinity=required(expr("zone", "In", "z1"), expr("zone", "In", "z3")))
    assert passing("NodeAffinity", zoned, pod) == ["a", "c"]


# -- NodePorts ------------------------------------------------------------------------------

def test_a_host_port_in_use_rejects_the_node():
    t = table(make_node("a"), make_node("b"))
    place(t, make_pod("web", host_port=8080), "a")
    assert passing("NodePorts", t, make_pod("p", host_port=8080)) == ["b"]
    assert passing("NodePorts", t, make_pod("p", host_port=8081)) == ["a", "b"]
    assert reasons("NodePorts", t, make_pod("p", host_port=8080)) == {
        "node(s) didn't have free ports for the requested pod ports": ["a"]}


def test_host_ports_on_different_addresses_or_protocols_do_not_conflict():
    t = table(make_node("a"))

    def port_pod(name, ip, protocol="TCP"):
        return make_pod(name, containers=[{"name": "c", "ports": [
            {"containerPort": 53, "hostPort": 53, "hostIP": ip, "protocol": protocol}]}])

    place(t, port_pod("dns", "10.0.0.1"), "a")
    assert passing("NodePorts", t, port_pod("p", "10.0.0.2")) == ["a"]
    assert passing("NodePorts", t, port_pod("p", "10.0.0.1", "UDP")) == ["a"]
    assert passing("NodePorts", t, port_pod("p", "10.0.0.1")) == []
    assert passing("NodePorts", t, port_pod("p", "0.0.0.0")) == []


# -- NodeResourcesFit -----------------------------------------------------------------------

def test_resource_fit_against_allocatable_minus_what_is_bound():
    t = table(make_node("a", cpu="2", memory="4Gi"), make_node("b", cpu="4", memory="1Gi"))
    place(t, make_pod("x", cpu="1500m"), "a")
    assert passing("NodeResourcesFit", t, make_pod("p", cpu="500m")) == ["a", "b"]
    assert passing("NodeResourcesFit", t, make_pod("p", cpu="501m")) == ["b"]
    assert passing("NodeResourcesFit", t, make_pod("p", cpu="1", memory="2Gi")) == []
    assert reasons("NodeResourcesFit", t, make_pod("p", cpu="1", memory="2Gi")) == {
        "Insufficient cpu": ["a"], "Insufficient memory": ["b"]}


def test_pod_count_ephemeral_storage_and_extended_resources_fit():
    t = table(make_node("a", pods="1"), make_node("b", extra={"example.com/gpu": "2"}))
    place(t, make_pod("x"), "a")
    assert reasons("NodeResourcesFit", t, make_pod("p")) == {"Too many pods": ["a"]}
    storage = make_pod("p", containers=[{"name": "c", "resources": {"requests": {
        "ephemeral-storage": "200Gi", "example.com/gpu": "1"}}}])
    assert reasons("NodeResourcesFit", t, storage) == {
        "Too many pods": ["a"], "Insufficient ephemeral-storage": ["a", "b"],
        "Insufficient example.com/gpu": ["a"]}


def test_finished_pods_free_their_room():
    t = table(make_node("a", cpu="1"))
    from supernetes.controlplane.scheduler.cache import PodCache

    cache = PodCache(t)
    place(t, make_pod("job", cpu="1"), "a", cache)
    assert passing("NodeResourcesFit", t, make_pod("p", cpu="1")) == []
    place(t, make_pod("job", cpu="1", phase="Succeeded"), "a", cache)
    assert passing("NodeResourcesFit", t, make_pod("p", cpu="1")) == ["a"]

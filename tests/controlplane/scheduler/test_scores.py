"""Every score plugin against the figures kube-scheduler computes for the same nodes."""

import numpy as np
from sched_builders import info, make_node, make_pod, place, plugin, table


def scores(name, t, pod, args=None):
    rows = np.flatnonzero(t.valid[: t.size])
    result = plugin(name, args).score(info(pod), t, rows)
    if result is None:
        return None
    return {t.names[r]: int(s) for r, s in zip(rows, result, strict=True)}


def two_sizes():
    # kube's "differently sized machines" case: 4000m/10000 and 6000m/10000 bytes
    return table(make_node("n1", cpu="4", memory="10000"), make_node("n2", cpu="6", memory="10000"))


def test_least_allocated_spreads():
    assert scores("NodeResourcesFit", two_sizes(), make_pod("p", cpu="3", memory="5000")) == {
        "n1": 37, "n2": 50}


def test_most_allocated_bin_packs():
    args = {"scoringStrategy": {"type": "MostAllocated"}}
    assert scores("NodeResourcesFit", two_sizes(), make_pod("p", cpu="3", memory="5000"),
                  args) == {"n1": 62, "n2": 50}


def test_requested_to_capacity_ratio_follows_its_shape():
    args = {"scoringStrategy": {"type": "RequestedToCapacityRatio", "requestedToCapacityRatio": {
        "shape": [{"utilization": 0, "score": 0}, {"utilization": 100, "score": 10}]}}}
    # n1: (75 + 50) / 2 = 62.5, rounded half away from zero as Go's math.Round
    assert scores("NodeResourcesFit", two_sizes(), make_pod("p", cpu="3", memory="5000"),
                  args) == {"n1": 63, "n2": 50}


def test_resource_weights_change_the_blend():
    args = {"scoringStrategy": {"resources": [{"name": "cpu", "weight": 3},
                                              {"name": "memory", "weight": 1}]}}
    # n1: (25 * 3 + 50) / 4 = 31; n2: (50 * 3 + 50) / 4 = 50
    assert scores("NodeResourcesFit", two_sizes(), make_pod("p", cpu="3", memory="5000"),
                  args) == {"n1": 31, "n2": 50}


def test_request_less_pods_are_scored_with_default_requests():
    t = table(make_node("a", cpu="1", memory="1Gi"), make_node("b", cpu="1", memory="1Gi"))
    place(t, make_pod("busy"), "a")          # counts as 100m / 200Mi for scoring
    result = scores("NodeResourcesFit", t, make_pod("p"))
    assert result["b"] > result["a"]


def test_balanced_allocation_prefers_even_use():
    assert scores("NodeResourcesBalancedAllocation", two_sizes(),
                  make_pod("p", cpu="3", memory="5000")) == {"n1": 87, "n2": 100}
    assert scores("NodeResourcesBalancedAllocation", two_sizes(), make_pod("p")) is None


def test_prefer_no_schedule_taints_lower_the_score():
    t = table(make_node("clean"),
              make_node("one", taints=[{"key": "a", "effect": "PreferNoSchedule"}]),
              make_node("two", taints=[{"key": "a", "effect": "PreferNoSchedule"},
                                       {"key": "b", "effect": "PreferNoSchedule"}]))
    assert scores("TaintToleration", t, make_pod("p")) == {"clean": 100, "one": 50, "two": 0}
    tolerant = make_pod("p", tolerations=[{"key": "a", "operator": "Exists"}])
    assert scores("TaintToleration", t, tolerant) == {"clean": 100, "one": 100, "two": 0}


def test_preferred_node_affinity_weights_are_summed_and_normalised():
    t = table(make_node("a", labels={"disk": "ssd", "zone": "z1"}),
              make_node("b", labels={"disk": "ssd"}), make_node("c"))

    def pref(weight, key, value):
        return {"weight": weight, "preference": {"matchExpressions": [
            {"key": key, "operator": "In", "values": [value]}]}}

    affinity = {"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
        pref(30, "disk", "ssd"), pref(10, "zone", "z1")]}}
    assert scores("NodeAffinity", t, make_pod("p", affinity=affinity)) == {
        "a": 100, "b": 75, "c": 0}
    assert scores("NodeAffinity", t, make_pod("p")) is None


def test_topology_spread_prefers_nodes_with_fewer_replicas_of_the_owner():
    t = table(make_node("a"), make_node("b"), make_node("c"))
    for i, node in enumerate(["a", "a", "b"]):
        place(t, make_pod(f"r{i}", owner="web"), node)
    place(t, make_pod("other", owner="db"), "c")
    result = scores("PodTopologySpread", t, make_pod("p", owner="web"))
    assert result["c"] > result["b"] > result["a"]
    assert scores("PodTopologySpread", t, make_pod("loner")) is None


def test_topology_spread_counts_replicas_per_zone_too():
    t = table(make_node("a1", labels={"topology.kubernetes.io/zone": "z1"}),
              make_node("a2", labels={"topology.kubernetes.io/zone": "z1"}),
              make_node("b1", labels={"topology.kubernetes.io/zone": "z2"}))
    place(t, make_pod("r0", owner="web"), "a1")
    result = scores("PodTopologySpread", t, make_pod("p", owner="web"))
    # a2 holds no replica but shares z1 with a1; b1 is in an empty zone
    assert result["b1"] > result["a2"] > result["a1"]

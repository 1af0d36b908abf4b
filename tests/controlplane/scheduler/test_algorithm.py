"""One scheduling decision end to end on the arrays: filters, sampling, scores, choice,
and the FitError message when nothing fits."""

from collections import Counter

import pytest
from sched_builders import info, make_node, make_pod, place, profile, table

from supernetes.controlplane.scheduler.algorithm import Algorithm, Placement, nodes_to_find
from supernetes.controlplane.scheduler.cache import PodCache
from supernetes.controlplane.scheduler.diagnosis import FitError, explain_preemption

CP = {"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}


def schedule_all(algorithm, t, pods, cache):
    placed = []
    for pod in pods:
        pi = info(pod)
        result = algorithm.schedule(pi, t)
        assert isinstance(result, Placement), result
        cache.assume(pi, result.row)
        placed.append(result.node)
    return placed


def test_default_profile_spreads_replicas_evenly():
    t = table(*(make_node(f"n{i}") for i in range(4)))
    placed = schedule_all(Algorithm(profile(), seed=1), t,
                          [make_pod(f"p{i}", cpu="100m", owner="web") for i in range(12)],
                          PodCache(t))
    assert Counter(placed) == {"n0": 3, "n1": 3, "n2": 3, "n3": 3}


def test_most_allocated_profile_bin_packs():
    doc = {"profiles": [{"pluginConfig": [{"name": "NodeResourcesFit", "args": {
        "scoringStrategy": {"type": "MostAllocated"}}}],
        "plugins": {"score": {"disabled": [{"name": "*"}],
                              "enabled": [{"name": "NodeResourcesFit"}]}}}]}
    t = table(*(make_node(f"n{i}", cpu="2") for i in range(4)))
    placed = schedule_all(Algorithm(profile(doc), seed=1), t,
                          [make_pod(f"p{i}", cpu="500m") for i in range(8)], PodCache(t))
    assert sorted(Counter(placed).values()) == [4, 4]


def test_every_filter_is_obeyed_together():
    t = table(make_node("small", cpu="1", labels={"disk": "ssd"}),
              make_node("cordoned", unschedulable=True, labels={"disk": "ssd"}),
              make_node("tainted", taints=[CP], labels={"disk": "ssd"}),
              make_node("hdd", labels={"disk": "hdd"}),
              make_node("ported", labels={"disk": "ssd"}),
              make_node("right", labels={"disk": "ssd"}))
    place(t, make_pod("web", host_port=80), "ported")
    pod = make_pod("p", cpu="2", host_port=80, node_selector={"disk": "ssd"})
    result = Algorithm(profile(), seed=3).schedule(info(pod), t)
    assert result.node == "right"


def test_fit_error_reads_like_kubernetes():
    t = table(make_node("cp", taints=[CP]), make_node("w1", cpu="1"), make_node("w2", cpu="1"))
    pod = info(make_pod("big", cpu="2"))
    prof = profile()
    result = Algorithm(prof).schedule(pod, t)
    assert isinstance(result, FitError)
    explain_preemption(result, pod, t, prof.filters, PodCache(t).victims)
    assert result.message() == (
        "0/3 nodes are available: 1 node(s) had untolerated taint "
        "{node-role.kubernetes.io/control-plane: }, 2 Insufficient cpu. preemption: 0/3 nodes "
        "are available: 1 Preemption is not helpful for scheduling, 2 No preemption victims "
        "found for incoming pod..")


def test_a_node_is_charged_to_its_first_failing_filter_only():
    t = table(make_node("both", cpu="1", unschedulable=True), make_node("w", cpu="1"))
    result = Algorithm(profile()).schedule(info(make_pod("big", cpu="2")), t)
    assert dict(result.reasons) == {"node(s) were unschedulable": 1, "Insufficient cpu": 1}


def test_preemption_part_when_evicting_lower_priority_pods_would_not_help():
    t = table(make_node("w", cpu="2"))
    cache = PodCache(t)
    place(t, make_pod("low", cpu="500m", priority=0), "w", cache)
    pod = info(make_pod("high", cpu="3", priority=1000))
    prof = profile()
    result = Algorithm(prof).schedule(pod, t)
    explain_preemption(result, pod, t, prof.filters, cache.victims)
    assert result.message().endswith("preemption: 0/1 nodes are available: 1 Insufficient cpu..")
    assert t.requested[0, 0] == 500      # the dry run put the victims back

    never = info(make_pod("never", cpu="3", priority=1000, preemptionPolicy="Never"))
    result = Algorithm(prof).schedule(never, t)
    explain_preemption(result, never, t, prof.filters, cache.victims)
    assert result.message() == ("0/1 nodes are available: 1 Insufficient cpu. preemption: "
                                "not eligible due to preemptionPolicy=Never..")


def test_no_nodes_at_all():
    assert FitError(num_nodes=0).message() == "no nodes available to schedule pods"
    assert isinstance(Algorithm(profile()).schedule(info(make_pod("p")), table()), FitError)


def test_static_masks_are_cached_per_shape_and_refreshed_when_labels_change():
    t = table(make_node("a", labels={"disk": "hdd"}), make_node("b", labels={"disk": "hdd"}))
    algorithm = Algorithm(profile())
    pod = info(make_pod("p", node_selector={"disk": "ssd"}))
    assert isinstance(algorithm.schedule(pod, t), FitError)
    assert algorithm.static_mask(pod, t) is algorithm.static_mask(info(make_pod("q", node_selector={
        "disk": "ssd"})), t)
    t.upsert(make_node("b", labels={"disk": "ssd"}))
    assert algorithm.schedule(pod, t).node == "b"


@pytest.mark.parametrize("nodes, percentage, expected", [
    (50, 0, 50), (100, 0, 100), (1000, 0, 420), (5000, 0, 500), (50000, 0, 2500),
    (5000, 30, 1500), (5000, 100, 5000), (200, 10, 100)])
def test_number_of_nodes_scored_follows_percentage_of_nodes_to_score(nodes, percentage, expected):
    assert nodes_to_find(nodes, percentage) == expected


def test_sampling_scores_a_window_that_rotates_round_robin():
    t = table(*(make_node(f"n{i:03}") for i in range(200)))
    algorithm = Algorithm(profile({"percentageOfNodesToScore": 50}), seed=5)
    first = algorithm.schedule(info(make_pod("p1")), t)
    second = algorithm.schedule(info(make_pod("p2")), t)
    assert first.scored == second.scored == 100
    assert first.feasible == 200
    assert t.index[first.node] < 100 <= t.index[second.node]


def _varied_cluster():
    """1000 nodes in 3 zones: some small (they fill up mid-batch), some of the first
    rows with a PreferNoSchedule taint or the label the pods prefer."""
    nodes = []
    for i in range(1000):
        labels = {"topology.kubernetes.io/zone": f"zone-{i % 3}"}
        # only in the first few hundred rows: windows differ in what they normalise by
        if i % 7 == 0 and i < 300:
            labels["disk"] = "ssd"
        taints = [{"key": "spot", "effect": "PreferNoSchedule"}] if i % 11 == 0 and i < 400 \
            else []
        nodes.append(make_node(f"n{i:04}", cpu="2" if i % 5 == 0 else "8",
                               pods="2" if i % 13 == 0 else "110", labels=labels, taints=taints))
    return table(*nodes)


PREFER_SSD = {"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
    {"weight": 10, "preference": {"matchExpressions": [
        {"key": "disk", "operator": "In", "values": ["ssd"]}]}},
    {"weight": 3, "preference": {"matchExpressions": [
        {"key": "topology.kubernetes.io/zone", "operator": "In", "values": ["zone-0"]}]}}]}}


@pytest.mark.parametrize("owners", [1, 3])
def test_a_batch_of_one_kind_lands_exactly_where_one_by_one_would(owners):
    pods = [info(make_pod(f"p{i:04}", cpu="700m", memory="256Mi", owner=f"rs-{i % owners}",
                          affinity=PREFER_SSD)) for i in range(600)]
    assert len({pod.kind for pod in pods}) == 1
    doc = {"percentageOfNodesToScore": 10}           # windows of 100 rows: 10 per batch

    one_by_one_table, batched_table = _varied_cluster(), _varied_cluster()
    one_by_one = schedule_all(Algorithm(profile(doc), seed=7), one_by_one_table,
                              [pod.raw for pod in pods], PodCache(one_by_one_table))

    algorithm, cache, batched = Algorithm(profile(doc), seed=7), PodCache(batched_table), []
    for start in range(0, len(pods), 16):
        group = pods[start:start + 16]
        for pod, result in zip(group, algorithm.schedule_many(group, batched_table), strict=True):
            assert isinstance(result, Placement), result
            cache.assume(pod, result.row)
            batched.append(result.node)
    assert batched == one_by_one
    # small nodes did fill up, so feasibility changed under the batches
    pods_row = batched_table.resources["pods"]
    assert any(batched_table.requested[pods_row, batched_table.index[f"n{i:04}"]] == 2
               for i in range(0, 1000, 13))


def test_pods_of_another_kind_break_a_batch():
    base = info(make_pod("a", cpu="100m", owner="web"))
    assert info(make_pod("b", cpu="100m", owner="other")).kind == base.kind
    for other in (make_pod("c", cpu="200m", owner="web"),
                  make_pod("d", cpu="100m", owner="web", node_selector={"disk": "ssd"}),
                  make_pod("e", cpu="100m", owner="web", host_port=8080),
                  make_pod("f", cpu="100m", owner="web", affinity=PREFER_SSD),
                  make_pod("g", cpu="100m", owner="web", scheduler_name="other")):
        assert info(other).kind != base.kind

"""The assume cache: room is taken at decision time, confirmed, forgotten or freed."""

from sched_builders import info, make_node, make_pod, table

from supernetes.controlplane.scheduler.cache import PodCache


def cpu_used(t, node):
    return t.requested[0, t.index[node]]


def test_assumed_room_is_taken_at_once_and_given_back_when_binding_fails():
    t = table(make_node("a"))
    cache = PodCache(t)
    cache.assume(info(make_pod("p", cpu="1")), t.index["a"])
    assert cpu_used(t, "a") == 1000 and cache.is_assumed("default/p")
    assert cache.forget("default/p")
    assert cpu_used(t, "a") == 0


def test_the_informer_confirms_an_assumption_without_counting_twice():
    t = table(make_node("a"))
    cache = PodCache(t)
    cache.assume(info(make_pod("p", cpu="1")), t.index["a"])
    freed = cache.set_bound(info(make_pod("p", cpu="1", node_name="a")))
    assert not freed and not cache.is_assumed("default/p")
    assert cpu_used(t, "a") == 1000
    assert not cache.forget("default/p")     # confirmed: a late failure report changes nothing


def test_our_own_binding_coming_back_confirms_the_assumption_as_it_is():
    t = table(make_node("a"), make_node("b"))
    cache = PodCache(t)
    cache.assume(info(make_pod("p", cpu="1")), t.index["a"])
    assert cache.confirm("default/p", make_pod("p", cpu="1", node_name="a"))
    assert not cache.is_assumed("default/p") and cpu_used(t, "a") == 1000
    assert not cache.forget("default/p")
    assert not cache.confirm("default/p", make_pod("p", cpu="1", node_name="a"))


def test_a_bound_pod_that_is_not_the_one_assumed_is_left_to_set_bound():
    t = table(make_node("a"), make_node("b"))
    cache = PodCache(t)
    cache.assume(info(make_pod("p", cpu="1")), t.index["a"])
    elsewhere = make_pod("p", cpu="1", node_name="b")
    bigger = make_pod("p", cpu="2", node_name="a")
    replaced = make_pod("p", cpu="1", node_name="a")
    replaced["metadata"]["uid"] = "another"
    finished = make_pod("p", cpu="1", node_name="a", phase="Succeeded")
    deleting = make_pod("p", cpu="1", node_name="a")
    deleting["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    for pod in (elsewhere, bigger, replaced, finished, deleting, make_pod("p", cpu="1")):
        assert not cache.confirm("default/p", pod)
        assert cache.is_assumed("default/p")
    assert not cache.confirm("default/q", make_pod("q", cpu="1", node_name="a"))


def test_a_pod_bound_elsewhere_moves():
    t = table(make_node("a"), make_node("b"))
    cache = PodCache(t)
    cache.assume(info(make_pod("p", cpu="1")), t.index["a"])
    assert cache.set_bound(info(make_pod("p", cpu="1", node_name="b")))
    assert cpu_used(t, "a") == 0 and cpu_used(t, "b") == 1000


def test_pods_on_an_unknown_or_deleted_node_keep_their_row_until_they_go():
    t = table(make_node("a"))
    cache = PodCache(t)
    cache.set_bound(info(make_pod("early", cpu="1", node_name="later")))
    assert not t.valid[t.index["later"]] and t.node_count == 1
    t.upsert(make_node("later"))
    assert t.valid[t.index["later"]] and cpu_used(t, "later") == 1000
    t.remove("later")
    assert "later" in t.index
    cache.remove("default/early")
    assert "later" not in t.index and t.node_count == 1

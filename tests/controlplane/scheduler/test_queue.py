"""The scheduling queue: priority order, backoff, parking and moving unschedulable pods."""

from sched_builders import info, make_pod

from supernetes.controlplane.scheduler.queue import (
    ACTIVE,
    BACKOFF,
    UNSCHEDULABLE,
    SchedulingQueue,
)


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def make_queue(clock, **kw):
    return SchedulingQueue(initial_backoff=1.0, max_backoff=10.0, clock=clock, **kw)


def test_higher_priority_first_then_first_come():
    q = make_queue(Clock())
    for name, priority in (("a", 0), ("b", 10), ("c", 0), ("d", 10)):
        q.add(info(make_pod(name, priority=priority)))
    assert [q.pop().info.name for _ in range(4)] == ["b", "d", "a", "c"]
    assert q.pop() is None


def test_peek_shows_what_pop_returns_next_and_skips_deleted_pods():
    q = make_queue(Clock())
    for name, priority in (("a", 0), ("b", 10), ("c", 0)):
        q.add(info(make_pod(name, priority=priority)))
    q.delete("default/b")
    assert q.peek().info.name == "a" and q.peek().info.name == "a"
    assert q.pop().info.name == "a"
    assert q.peek().info.name == "c" and q.pop().info.name == "c"
    assert q.peek() is None and q.pop() is None


def test_unschedulable_pods_wait_for_a_cluster_event_then_back_off():
    clock = Clock()
    q = make_queue(clock)
    q.add(info(make_pod("p")))
    entry = q.pop()
    q.unschedulable(entry, "0/1 nodes are available")
    assert entry.where == UNSCHEDULABLE and q.pop() is None
    q.move_all()
    assert entry.where == BACKOFF and q.pop() is None     # first backoff: 1 s
    clock.now += 1.01
    q.flush()
    assert q.pop() is entry and entry.attempts == 2


def test_backoff_doubles_up_to_the_maximum():
    clock = Clock()
    q = make_queue(clock)
    q.add(info(make_pod("p")))
    waits = []
    for _ in range(6):
        entry = q.pop()
        q.retry(entry)
        waits.append(entry.backoff_until - clock.now)
        clock.now = entry.backoff_until
        q.flush()
    assert waits == [1.0, 2.0, 4.0, 8.0, 10.0, 10.0]


def test_an_event_during_the_attempt_sends_the_pod_to_backoff_not_to_sleep():
    clock = Clock()
    q = make_queue(clock)
    q.add(info(make_pod("p")))
    entry = q.pop()
    q.move_all()                         # a node was added while we were deciding
    q.unschedulable(entry, "no room")
    assert entry.where == BACKOFF


def test_pods_parked_too_long_are_retried_anyway():
    clock = Clock()
    q = make_queue(clock, max_in_unschedulable=60)
    q.add(info(make_pod("p")))
    entry = q.pop()
    q.unschedulable(entry, "no room")
    assert abs(q.next_wakeup() - 60) < 1e-6
    clock.now += 61
    q.flush()
    assert entry.where == ACTIVE


def test_a_spec_change_wakes_an_unschedulable_pod_but_a_status_change_does_not():
    clock = Clock()
    q = make_queue(clock)
    q.add(info(make_pod("p")))
    entry = q.pop()
    q.unschedulable(entry, "no room")
    q.update(info(make_pod("p")), spec_changed=False)
    assert entry.where == UNSCHEDULABLE
    q.update(info(make_pod("p", cpu="1")), spec_changed=True)
    assert entry.where == BACKOFF and entry.info.requests == {"cpu": 1000}


def test_deleted_pods_leave_every_part_of_the_queue():
    q = make_queue(Clock())
    q.add(info(make_pod("p")))
    q.delete("default/p")
    assert q.pop() is None and len(q) == 0

"""The work queue keeps client-go's promises: dedup, one worker per key, backoff, delays."""

import threading
import time

import pytest

from supernetes.controlplane.client import WorkQueue
from supernetes.controlplane.client.ratelimit import (
    BucketRateLimiter,
    ItemExponentialRateLimiter,
    MaxOfRateLimiter,
)


def test_a_key_added_many_times_is_handed_out_once():
    q = WorkQueue()
    for key in ["a", "b", "a", "a", "b", "c"]:
        q.add(key)
    assert len(q) == 3
    assert [q.get(timeout=0), q.get(timeout=0), q.get(timeout=0)] == ["a", "b", "c"]
    assert q.get(timeout=0) is None


def test_a_key_being_processed_is_not_handed_to_a_second_worker():
    q = WorkQueue()
    q.add("a")
    assert q.get(timeout=0) == "a"
    q.add("a")                          # changed again while a worker holds it
    assert q.get(timeout=0.05) is None  # not handed to anyone else meanwhile
    q.done("a")
    assert q.get(timeout=0) == "a"      # ... but handed out again after done()
    q.done("a")
    assert q.get(timeout=0) is None


def test_done_without_a_readd_does_not_requeue():
    q = WorkQueue()
    q.add("a")
    q.done(q.get())
    assert len(q) == 0


def test_concurrent_workers_never_hold_the_same_key():
    q = WorkQueue()
    holding, overlaps, processed = set(), [], []
    lock = threading.Lock()

    def worker():
        while (key := q.get()) is not None:
            with lock:
                if key in holding:
                    overlaps.append(key)
                holding.add(key)
            time.sleep(0.001)
            with lock:
                holding.discard(key)
                processed.append(key)
            q.done(key)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for i in range(400):
        q.add(f"k{i % 5}")
        if i % 50 == 0:
            time.sleep(0.002)
    deadline = time.monotonic() + 5
    while (len(q) or q._processing) and time.monotonic() < deadline:
        time.sleep(0.01)
    q.shutdown()
    for t in threads:
        t.join(2)
    assert overlaps == []
    assert set(processed) == {f"k{i}" for i in range(5)}
    assert len(processed) < 400          # adds of a waiting key collapsed into one


def test_add_after_delays_the_key_and_the_earliest_time_wins():
    q = WorkQueue()
    start = time.monotonic()
    q.add_after("slow", 0.3)
    q.add_after("slow", 0.1)            # earlier request wins
    q.add_after("slow", 0.5)            # later one ignored
    assert q.get(timeout=0) is None
    assert q.pending() == 1
    assert q.get(timeout=2) == "slow"
    waited = time.monotonic() - start
    assert 0.09 <= waited < 0.3


def test_add_rate_limited_backs_off_exponentially_per_key_until_forgotten():
    q = WorkQueue(rate_limiter=ItemExponentialRateLimiter(base=0.02, maximum=10))
    delays = []
    for _ in range(3):
        start = time.monotonic()
        q.add_rate_limited("k")
        assert q.get(timeout=2) == "k"
        delays.append(time.monotonic() - start)
        q.done("k")
    assert q.num_requeues("k") == 3
    assert delays[0] >= 0.019 and delays[1] >= 0.039 and delays[2] >= 0.079
    q.forget("k")
    assert q.num_requeues("k") == 0


def test_process_next_requeues_failures_and_forgets_successes():
    q = WorkQueue(rate_limiter=ItemExponentialRateLimiter(base=0.01, maximum=1))
    attempts = []

    def sync(key):
        attempts.append(key)
        if len(attempts) < 3:
            raise RuntimeError("not yet")

    q.add("k")
    while len(attempts) < 3:
        assert q.process_next(sync)
    assert q.num_requeues("k") == 0      # the success forgot the failures
    assert q.get(timeout=0.05) is None


def test_shutdown_wakes_blocked_workers_and_get_returns_none():
    q = WorkQueue()
    got = []
    t = threading.Thread(target=lambda: got.append(q.get()))
    t.start()
    time.sleep(0.05)
    q.shutdown()
    t.join(2)
    assert got == [None]
    q.add("late")
    assert len(q) == 0                   # adds after shutdown are dropped
    assert q.process_next(lambda k: None) is False


def test_shutdown_with_drain_waits_for_keys_in_flight():
    q = WorkQueue()
    q.add("a")
    key = q.get()
    finished = []

    def finish():
        time.sleep(0.1)
        finished.append(key)
        q.done(key)

    threading.Thread(target=finish).start()
    q.shutdown(drain=True, timeout=2)
    assert finished == ["a"]


def test_bucket_limiter_allows_a_burst_then_spaces_retries():
    bucket = BucketRateLimiter(qps=100, burst=3)
    assert [bucket.when(i) for i in range(3)] == [0, 0, 0]
    assert bucket.when(3) == pytest.approx(0.01, abs=0.005)
    combined = MaxOfRateLimiter(ItemExponentialRateLimiter(1.0, 5.0), BucketRateLimiter(100, 3))
    assert combined.when("x") == 1.0 and combined.when("x") == 2.0
    assert combined.num_requeues("x") == 2


def test_exponential_limiter_is_capped():
    limiter = ItemExponentialRateLimiter(base=0.005, maximum=1000)
    delays = [limiter.when("k") for _ in range(2000)]
    assert delays[-1] == 1000 and max(delays) == 1000

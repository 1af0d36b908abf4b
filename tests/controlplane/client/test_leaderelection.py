"""Leader election between two electors sharing one Lease on a real API server."""

import threading
import time

from supernetes.controlplane.client import LeaderElector


def eventually(check, timeout=15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return check()


class Candidate:
    def __init__(self, client, name, lease, **kw):
        self.leading = threading.Event()
        self.stopped_leading = threading.Event()
        self.seen_leaders = []
        self.elector = LeaderElector(
            client, lease, identity=name, namespace="default", lease_duration=2.0,
            renew_deadline=1.5, retry_period=0.2, on_started_leading=self._lead,
            on_stopped_leading=self.stopped_leading.set,
            on_new_leader=self.seen_leaders.append, **kw)
        self.thread = threading.Thread(target=self.elector.run, daemon=True)

    def _lead(self, lost: threading.Event):
        self.leading.set()
        lost.wait()

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.elector.stop()
        self.thread.join(10)


def test_one_of_two_electors_leads_and_the_other_takes_over_on_release(client):
    lease = f"lease-{time.monotonic_ns()}"
    a = Candidate(client, "a", lease).start()
    assert a.leading.wait(10)
    b = Candidate(client, "b", lease).start()
    try:
        time.sleep(1.0)
        assert not b.leading.is_set() and b.elector.leader == "a"
        released_at = time.monotonic()
        a.stop()
        assert a.stopped_leading.is_set()
        assert b.leading.wait(10)
        # Released, not expired: b need not wait out the 2 s lease.
        assert time.monotonic() - released_at < 1.5
        spec = client.get("coordination.k8s.io/v1", "Lease", lease, "default")["spec"]
        assert spec["holderIdentity"] == "b" and spec["leaseTransitions"] >= 1
        assert "b" in b.seen_leaders
    finally:
        a.stop()
        b.stop()


def test_a_leader_that_vanishes_is_replaced_after_the_lease_expires(client):
    lease = f"lease-{time.monotonic_ns()}"
    a = Candidate(client, "a", lease, release_on_stop=False).start()
    assert a.leading.wait(10)
    b = Candidate(client, "b", lease).start()
    try:
        vanished = time.monotonic()
        a.stop()                       # stops renewing, does not release: a crash
        assert b.leading.wait(15)
        assert time.monotonic() - vanished >= 1.5   # waited for the lease to run out
        assert client.get("coordination.k8s.io/v1", "Lease", lease,
                          "default")["spec"]["holderIdentity"] == "b"
    finally:
        b.stop()


def test_a_leader_whose_lease_is_taken_steps_down(client):
    lease = f"lease-{time.monotonic_ns()}"
    a = Candidate(client, "a", lease).start()
    try:
        assert a.leading.wait(10)
        leases = client.resource("coordination.k8s.io/v1", "Lease")
        current = leases.get(lease, "default")
        current["spec"]["holderIdentity"] = "intruder"
        leases.replace(current)
        assert a.stopped_leading.wait(10)
        assert not a.elector.is_leader()
    finally:
        a.stop()

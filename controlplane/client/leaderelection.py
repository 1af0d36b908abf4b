"""Leader election through a coordination.k8s.io/v1 Lease (client-go's leaderelection).

Candidates share one Lease. The holder renews `spec.renewTime` every
`retry_period`; another candidate takes the Lease only when its record has not
changed for `lease_duration` *as measured on the candidate's own monotonic clock*
(so clocks need not agree). Every write is a compare-and-swap on resourceVersion:
two candidates racing for an expired Lease get one success and one 409.

    elector = LeaderElector(client, "supernetes-controllers", identity=hostname_pid,
                            on_started_leading=run_controllers,   # gets a stop Event
                            on_stopped_leading=...)
    elector.run()        # blocks until leadership is lost or stop() is called

A leader that cannot renew for `renew_deadline` steps down: it sets the Event
its `on_started_leading` was given, calls `on_stopped_leading`, and returns.
On `stop()` it releases the Lease (holder cleared), so a successor takes over at
once instead of after `lease_duration`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

from .errors import AlreadyExists, ApiError, ClientError, Conflict, NotFound

log = logging.getLogger(__name__)


def micro_time(when: datetime | None = None) -> str:
    """metav1.MicroTime: RFC 3339 with microseconds, UTC."""
    return (when or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class LeaderElector:
    def __init__(self, client, name: str, *, identity: str, namespace: str = "kube-system",
                 lease_duration: float = 15.0, renew_deadline: float = 10.0,
                 retry_period: float = 2.0,
                 on_started_leading: Callable[[threading.Event], None] | None = None,
                 on_stopped_leading: Callable[[], None] | None = None,
                 on_new_leader: Callable[[str], None] | None = None,
                 release_on_stop: bool = True):
        if not lease_duration > renew_deadline > retry_period > 0:
            raise ValueError("need lease_duration > renew_deadline > retry_period > 0")
        self.leases = client.resource("coordination.k8s.io/v1", "Lease")
        self.name, self.namespace, self.identity = name, namespace, identity
        self.lease_duration = lease_duration
        self.renew_deadline = renew_deadline
        self.retry_period = retry_period
        self.on_started_leading = on_started_leading
        self.on_stopped_leading = on_stopped_leading
        self.on_new_leader = on_new_leader
        self.release_on_stop = release_on_stop
        self._stop = threading.Event()
        self._lost = threading.Event()
        self._observed: dict = {}            # the Lease spec last seen
        self._observed_at = 0.0              # monotonic time it was first seen
        self._observed_rv = ""
        self._leader = ""
        self._is_leader = False
        self._worker: threading.Thread | None = None

    @property
    def leader(self) -> str:
        """The identity currently holding the Lease, as last observed."""
        return self._leader

    def is_leader(self) -> bool:
        return self._is_leader

    def stop(self) -> None:
        self._stop.set()

    def run(self) -> None:
        """Acquire, lead, renew; returns when leadership is lost or `stop()` was called."""
        try:
            if not self._acquire():
                return
            if self.on_started_leading:
                self._worker = threading.Thread(target=self.on_started_leading,
                                                args=(self._lost,), daemon=True,
                                                name=f"leader-{self.name}")
                self._worker.start()
            self._renew_until_lost()
        finally:
            was_leader = self._is_leader
            self._is_leader = False
            self._lost.set()
            if was_leader:
                if self.release_on_stop and self._stop.is_set():
                    self._release()
                if self.on_stopped_leading:
                    self.on_stopped_leading()
            if self._worker is not None:
                self._worker.join(self.renew_deadline)

    # -- the loops -------------------------------------------------------------------

    def _acquire(self) -> bool:
        while not self._stop.is_set():
            if self._try_acquire_or_renew():
                log.info("%s: %s became the leader", self.name, self.identity)
                return True
            self._stop.wait(self.retry_period)
        return False

    def _renew_until_lost(self) -> None:
        last_renew = time.monotonic()
        while not self._stop.wait(self.retry_period):
            if self._try_acquire_or_renew():
                last_renew = time.monotonic()
            elif time.monotonic() - last_renew > self.renew_deadline or \
                    (self._leader and self._leader != self.identity):
                log.warning("%s: %s lost the lease", self.name, self.identity)
                return

    # -- one attempt -----------------------------------------------------------------

    def _try_acquire_or_renew(self) -> bool:
        now = micro_time()
        try:
            lease = self.leases.get(self.name, self.namespace)
        except NotFound:
            return self._create(now)
        except (ApiError, ClientError) as exc:
            log.warning("%s: cannot read the lease: %s", self.name, exc)
            return False
        spec = lease.get("spec") or {}
        rv = lease["metadata"].get("resourceVersion", "")
        if spec != self._observed:
            self._observed, self._observed_at, self._observed_rv = spec, time.monotonic(), rv
            self._set_leader(spec.get("holderIdentity") or "")
        holder = spec.get("holderIdentity") or ""
        duration = spec.get("leaseDurationSeconds") or self.lease_duration
        expired = time.monotonic() > self._observed_at + duration
        if holder and holder != self.identity and not expired:
            return False
        mine = holder == self.identity
        new_spec = dict(spec, holderIdentity=self.identity,
                        leaseDurationSeconds=int(round(self.lease_duration)), renewTime=now)
        if not mine:
            new_spec["acquireTime"] = now
            new_spec["leaseTransitions"] = int(spec.get("leaseTransitions") or 0) + 1
        lease = dict(lease, spec=new_spec)
        try:
            updated = self.leases.replace(lease, self.namespace)
        except Conflict:
            return False
        except (ApiError, ClientError) as exc:
            log.warning("%s: cannot update the lease: %s", self.name, exc)
            return False
        self._took(updated)
        return True

    def _create(self, now: str) -> bool:
        lease = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                 "metadata": {"name": self.name, "namespace": self.namespace},
                 "spec": {"holderIdentity": self.identity,
                          "leaseDurationSeconds": int(round(self.lease_duration)),
                          "acquireTime": now, "renewTime": now, "leaseTransitions": 0}}
        try:
            created = self.leases.create(lease, self.namespace)
        except AlreadyExists:
            return False
        except (ApiError, ClientError) as exc:
            log.warning("%s: cannot create the lease: %s", self.name, exc)
            return False
        self._took(created)
        return True

    def _took(self, lease: dict) -> None:
        self._observed = lease.get("spec") or {}
        self._observed_at = time.monotonic()
        self._observed_rv = lease["metadata"].get("resourceVersion", "")
        self._is_leader = True
        self._set_leader(self.identity)

    def _set_leader(self, holder: str) -> None:
        if holder != self._leader:
            self._leader = holder
            if holder and self.on_new_leader:
                try:
                    self.on_new_leader(holder)
                except Exception:
                    log.exception("%s: on_new_leader failed", self.name)

    def _release(self) -> None:
        """Give the Lease up, so the next candidate need not wait for it to expire."""
        try:
            lease = self.leases.get(self.name, self.namespace)
            spec = lease.get("spec") or {}
            if spec.get("holderIdentity") != self.identity:
                return
            now = micro_time()
            lease["spec"] = dict(spec, holderIdentity="", leaseDurationSeconds=1,
                                 renewTime=now, acquireTime=now)
            self.leases.replace(lease, self.namespace)
            log.info("%s: %s released the lease", self.name, self.identity)
        except (ApiError, ClientError) as exc:
            log.warning("%s: cannot release the lease: %s", self.name, exc)

"""The scheduler process: informers in, decisions in a loop, bindings out.

    pod & node informers --(inbox)--> loop thread --> Binder threads --> API server
          (client package)             |   ^               |
                                       |   +---(outcomes)--+
                                       +--> Recorder thread (conditions, Events)

The loop thread is the only one that touches the node table, the pod cache and the
queue. Informer callbacks and binder outcomes are posted to its inbox; it drains
the inbox, moves expired backoffs to active, pops the best pending pod (with the
ones right behind it in the queue that are of its kind, `PodInfo.kind`, placed in
one batch), asks the pod's profile (by `schedulerName`) for a node, assumes the pod
there and hands the binding to the binder. Unschedulable pods are explained
(`recorder.py`) and parked until a cluster event - a node added or changed, a pod
finished or deleted - may make room.

Pods with a `spec.nodeName` are accounted on their node whatever scheduler placed
them; pods of other schedulers are otherwise left alone.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections import deque

from supernetes.controlplane.client import Conflict, InformerFactory, NotFound

from .algorithm import MAX_BATCH, Algorithm, Placement
from .binder import Binder, BindJob
from .cache import PodCache
from .config import SchedulerConfig
from .diagnosis import explain_preemption
from .errors import PodSpecError
from .nodetable import NodeTable
from .podinfo import PodInfo
from .queue import SchedulingQueue
from .recorder import Recorder

log = logging.getLogger(__name__)

NODE, POD, BOUND = "node", "pod", "bound"
LEASE_NAME, LEASE_NAMESPACE = "kube-scheduler", "kube-system"
ADD, UPDATE, DELETE = "add", "update", "delete"


def _spec_changed(old: dict | None, new: dict) -> bool:
    if old is None:
        return True
    old_meta, new_meta = old.get("metadata") or {}, new.get("metadata") or {}
    return (old.get("spec") != new.get("spec")
            or old_meta.get("labels") != new_meta.get("labels")
            or old_meta.get("annotations") != new_meta.get("annotations"))


class Scheduler:
    def __init__(self, config: SchedulerConfig, client, informers: InformerFactory | None = None):
        self.config = config
        self.client = client
        self.algorithms = {name: Algorithm(profile)
                           for name, profile in config.build_profiles().items()}
        self.nodes = NodeTable()
        self.cache = PodCache(self.nodes)
        self.queue = SchedulingQueue(config.pod_initial_backoff, config.pod_max_backoff,
                                     config.max_in_unschedulable)
        self.informers = informers or InformerFactory(client)
        self.binder = Binder(client, config.parallelism, self._post_bound)
        self.recorder = Recorder(client, next(iter(self.algorithms)), config.event_qps,
                                 config.event_burst)
        self.stats = {"scheduled": 0, "unschedulable": 0, "bind_errors": 0, "bound": 0,
                      "decide_seconds": 0.0}
        self._inbox: deque = deque()
        self._wake = threading.Condition()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- lifecycle ----------------------------------------------------------------------

    def start(self, sync_timeout: float | None = 60.0) -> Scheduler:
        node_informer = self.informers.informer("v1", "Node")
        pod_informer = self.informers.informer("v1", "Pod")
        node_informer.add_handler(lambda o: self._post(NODE, ADD, o),
                                  lambda old, new: self._post(NODE, UPDATE, new, old),
                                  lambda o: self._post(NODE, DELETE, o))
        pod_informer.add_handler(lambda o: self._post(POD, ADD, o),
                                 lambda old, new: self._post(POD, UPDATE, new, old),
                                 lambda o: self._post(POD, DELETE, o))
        self.informers.start()
        if not self.informers.wait_for_sync(sync_timeout):
            log.warning("scheduler: informers not synced after %ss; starting anyway",
                        sync_timeout)
        self.recorder.start()
        self.binder.start()
        self._thread = threading.Thread(target=self._loop, name="scheduler", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        with self._wake:
            self._wake.notify()
        if self._thread is not None:
            self._thread.join(10)
        self.binder.stop()
        self.recorder.stop()
        self.informers.stop()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until stopped (True) or `timeout` passes (False)."""
        return self._stop.wait(timeout)

    # -- inbox --------------------------------------------------------------------------

    def _post(self, kind: str, op: str, obj, old=None) -> None:
        with self._wake:
            self._inbox.append((kind, op, obj, old))
            self._wake.notify()

    def _post_bound(self, job: BindJob) -> None:
        self._post(BOUND, "", job)

    def _drain(self) -> None:
        while True:
            try:
                kind, op, obj, old = self._inbox.popleft()
            except IndexError:
                return
            try:
                if kind == POD:
                    self._on_pod(op, obj, old)
                elif kind == NODE:
                    self._on_node(op, obj)
                else:
                    self._on_bound(obj)
            except Exception:
                log.exception("scheduler: handling a %s %s event failed", kind, op)

    # -- the loop -----------------------------------------------------------------------

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._drain()
            self.queue.flush()
            entry = self.queue.pop()
            if entry is not None:
                entries = [entry]
                while len(entries) < MAX_BATCH and (
                        (after := self.queue.peek()) is not None
                        and after.info.kind == entry.info.kind):
                    entries.append(self.queue.pop())
                self._schedule(entries)
                continue
            with self._wake:
                if not self._inbox and not self._stop.is_set():
                    self._wake.wait(self.queue.next_wakeup())

    def _schedule(self, entries: list) -> None:
        """Place pods of one kind in order; each is assumed before the next is placed."""
        algorithm = self.algorithms[entries[0].info.scheduler_name]
        results = algorithm.schedule_many([entry.info for entry in entries], self.nodes)
        for done, entry in enumerate(entries):
            try:
                started = time.perf_counter()
                result = next(results)
                self.stats["decide_seconds"] += time.perf_counter() - started
                self._decided(entry, algorithm, result)
            except Exception:
                log.exception("scheduler: scheduling %s failed", entry.info.key)
                for failed in entries[done:]:
                    self.queue.retry(failed)
                return

    def _decided(self, entry, algorithm: Algorithm, result) -> None:
        info = entry.info
        if isinstance(result, Placement):
            self.cache.assume(info, result.row)
            self.stats["scheduled"] += 1
            self.binder.submit(BindJob(entry, result.node))
            return
        if algorithm.profile.preemption and result.num_nodes:
            explain_preemption(result, info, self.nodes, algorithm.profile.filters,
                               self.cache.victims)
        message = result.message()
        self.stats["unschedulable"] += 1
        self.queue.unschedulable(entry, message)
        self.recorder.unschedulable(info, message)

    def _on_bound(self, job: BindJob) -> None:
        info = job.entry.info
        if job.error is None:
            self.stats["bound"] += 1
            self.queue.done(info.key)
            self.recorder.forget(info.key)
            if self.config.record_scheduled_events:
                self.recorder.scheduled(info, job.node)
            return
        self.stats["bind_errors"] += 1
        self.cache.forget(info.key)
        if isinstance(job.error, NotFound | Conflict):
            # Deleted meanwhile, or bound by someone else: the informer tells the rest.
            self.queue.done(info.key)
            return
        log.warning("scheduler: binding %s to %s failed: %s", info.key, job.node, job.error)
        self.recorder.unschedulable(info, f"Binding rejected: {job.error}", reason="SchedulerError")
        self.queue.retry(job.entry)
        self.queue.move_all()   # the room it held is free again

    # -- informer events ----------------------------------------------------------------

    def _on_node(self, op: str, node: dict) -> None:
        if op == DELETE:
            self.nodes.remove(node["metadata"]["name"])
            return
        change = self.nodes.upsert(node)
        if change.added or change.static_changed or change.capacity_grew:
            self.queue.move_all()

    def _on_pod(self, op: str, pod: dict, old: dict | None) -> None:
        meta = pod["metadata"]
        key = f"{meta.get('namespace') or 'default'}/{meta['name']}"
        if op == DELETE:
            self.queue.delete(key)
            self.recorder.forget(key)
            if self.cache.remove(key):
                self.queue.move_all()
            return
        if op == UPDATE and self.cache.confirm(key, pod):
            self.queue.done(key)
            return
        try:
            info = PodInfo.from_pod(pod)
        except PodSpecError as exc:
            self.queue.delete(key)
            spec = pod.get("spec") or {}
            if not spec.get("nodeName") and (
                    spec.get("schedulerName") or "default-scheduler") in self.algorithms:
                self.recorder.unschedulable(PodInfo.identity(pod), str(exc),
                                            reason="SchedulerError")
            return
        if info.node_name:
            self.queue.done(key)
            if self.cache.set_bound(info):
                self.queue.move_all()
            return
        if info.scheduler_name not in self.algorithms or info.deleting or info.terminal:
            self.queue.delete(key)
            return
        if self.cache.is_assumed(key):
            return      # placed by us, binding in flight
        if op == ADD:
            self.queue.add(info)
        else:
            self.queue.update(info, spec_changed=_spec_changed(old, pod))

    # -- introspection (tests, benchmark, logs) --------------------------------------

    def snapshot(self) -> dict:
        with self._wake:
            inbox = len(self._inbox)
        return dict(self.stats, queued=len(self.queue), inbox=inbox,
                    binding=self.binder.pending(), nodes=self.nodes.node_count,
                    accounted=len(self.cache), events_dropped=self.recorder.dropped)


def run(config: SchedulerConfig, client=None, stop: threading.Event | None = None) -> None:
    """Run a scheduler until `stop` is set (or forever): the entry `supernetes server`
    starts in-process and `supernetes scheduler` runs as its own process.

    With `config.leader_elect`, it first wins the `kube-system/kube-scheduler` Lease,
    so that of several schedulers sharing one API server only one binds pods; losing
    the Lease stops it (a process manager restarts it as a candidate, as in Kubernetes).
    """
    if client is None:
        from supernetes.controlplane.client import Client

        client = Client.from_kubeconfig(config.kubeconfig, pool_size=config.parallelism + 8)
    stop = stop or threading.Event()
    if not config.leader_elect:
        _serve(config, client, stop)
        return

    from supernetes.controlplane.client import LeaderElector

    elector = LeaderElector(client, LEASE_NAME, identity=f"{socket.gethostname()}_{os.getpid()}",
                            namespace=LEASE_NAMESPACE,
                            on_started_leading=lambda lost: _serve(config, client, stop, lost))
    watcher = threading.Thread(target=lambda: (stop.wait(), elector.stop()), daemon=True)
    watcher.start()
    elector.run()


def _serve(config: SchedulerConfig, client, stop: threading.Event,
           lost: threading.Event | None = None) -> None:
    scheduler = Scheduler(config, client).start()
    log.info("scheduler: running profiles %s against %s", ", ".join(scheduler.algorithms),
             client.server)
    try:
        while not stop.wait(0.5) and not (lost is not None and lost.is_set()):
            pass
    finally:
        scheduler.stop()

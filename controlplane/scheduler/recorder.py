"""What users see of the scheduler's decisions: pod conditions and Events.

- A pod that fits nowhere gets `PodScheduled=False`, reason `Unschedulable`, with the
  FitError message as the condition's message (written to `pods/NAME/status`, read and
  replaced under resourceVersion), and a `Warning FailedScheduling` Event with the same
  message. The condition is written only when its message changes.
- A bound pod gets a `Normal Scheduled` Event: `Successfully assigned ns/pod to node`.

Events go through a bounded queue on a worker thread, and repeated ones are folded
into one Event with a growing `count` (the Event is replaced with the new count), as
client-go's correlator does. Their writes are rate-limited like kube-scheduler's
event client (a clientset of its own, with the configuration's `clientConnection`
qps 50, burst 100): a burst of scheduling records its first events at once and then
50 a second, so Events never take more than a sliver of the API server's writes
from the bindings. When the queue is full, Scheduled events are dropped (client-go
drops events under pressure too; `dropped` counts them, `written` counts those sent)
- condition patches never are, nor rate-limited: they wait in a map keyed by pod,
newest wins.
"""

from __future__ import annotations

import logging
import os
import threading
import uuid
from collections import OrderedDict, deque
from datetime import UTC, datetime

from supernetes.controlplane.client import ClientError, Conflict, NotFound
from supernetes.controlplane.client.ratelimit import BucketRateLimiter

log = logging.getLogger(__name__)

MAX_QUEUED_EVENTS = 1000
MAX_REMEMBERED_EVENTS = 4096


def now_rfc3339() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Recorder:
    def __init__(self, client, component: str = "default-scheduler", qps: float = 50.0,
                 burst: int = 100):
        """`qps` <= 0: Events are written as fast as the API server takes them."""
        self.client = client
        self.component = component
        self.instance = f"{component}-{os.uname().nodename}-{os.getpid()}"
        self.dropped = 0
        self.written = 0
        self._limiter = BucketRateLimiter(qps, burst) if qps > 0 else None
        self._stopping = threading.Event()     # cuts a wait for the rate limiter short
        self._events: deque = deque()
        self._conditions: OrderedDict[str, tuple] = OrderedDict()
        self._last_condition: dict[str, str] = {}
        self._seen: OrderedDict[tuple, dict] = OrderedDict()
        self._wake = threading.Condition()
        self._stopped = False
        self._thread = threading.Thread(target=self._work, name="scheduler-events", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        with self._wake:
            self._stopped = True
            self._wake.notify()
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    # -- called from the scheduling loop -------------------------------------------------

    def scheduled(self, info, node: str) -> None:
        self._event(info, "Normal", "Scheduled",
                    f"Successfully assigned {info.namespace}/{info.name} to {node}",
                    droppable=True)

    def unschedulable(self, info, message: str, reason: str = "Unschedulable") -> None:
        with self._wake:
            if self._last_condition.get(info.key) != message:
                self._last_condition[info.key] = message
                self._conditions[info.key] = (info, message, reason)
                self._conditions.move_to_end(info.key)
        self._event(info, "Warning", "FailedScheduling", message, droppable=False)

    def forget(self, key: str) -> None:
        with self._wake:
            self._last_condition.pop(key, None)
            self._conditions.pop(key, None)

    def _event(self, info, kind: str, reason: str, message: str, droppable: bool) -> None:
        with self._wake:
            if droppable and len(self._events) >= MAX_QUEUED_EVENTS:
                self.dropped += 1
                return
            self._events.append((info, kind, reason, message))
            self._wake.notify()

    # -- the worker ----------------------------------------------------------------------

    def _work(self) -> None:
        while True:
            with self._wake:
                while not self._stopped and not self._events and not self._conditions:
                    self._wake.wait()
                if self._stopped:
                    return
                condition = self._conditions.popitem(last=False) if self._conditions else None
                event = self._events.popleft() if condition is None and self._events else None
            try:
                if condition is not None:
                    self._patch_condition(*condition[1])
                elif event is not None and self._may_write():
                    self._write_event(*event)
                    self.written += 1
            except Exception as exc:   # an API error must not stop the recorder
                log.warning("scheduler: could not record %s: %s",
                            "condition" if condition else "event", exc)

    def _may_write(self) -> bool:
        """Wait for the rate limiter's token; False if the recorder stops meanwhile."""
        delay = self._limiter.when(None) if self._limiter is not None else 0.0
        return delay <= 0 or not self._stopping.wait(delay)

    def _patch_condition(self, info, message: str, reason: str) -> None:
        """Set PodScheduled=False on the pod's status: read, replace the condition, write
        back guarded by resourceVersion (a conflict means the pod changed: read again)."""
        for _ in range(3):
            try:
                pod = self.client.get("v1", "Pod", info.name, info.namespace)
            except NotFound:
                return
            if (info.uid and pod["metadata"].get("uid") != info.uid) or (
                    pod.get("spec") or {}).get("nodeName"):
                return       # replaced, or bound meanwhile: nothing to explain
            status = pod.setdefault("status", {})
            conditions = status.get("conditions") or []
            old = next((c for c in conditions if c.get("type") == "PodScheduled"), {})
            transition = (old.get("lastTransitionTime") if old.get("status") == "False"
                          else None) or now_rfc3339()
            status["conditions"] = [c for c in conditions if c.get("type") != "PodScheduled"]
            status["conditions"].append({
                "type": "PodScheduled", "status": "False", "reason": reason,
                "message": message, "lastProbeTime": None, "lastTransitionTime": transition})
            try:
                self.client.replace_status(pod)
                return
            except Conflict:
                continue

    def _write_event(self, info, kind: str, reason: str, message: str) -> None:
        now = now_rfc3339()
        key = (info.uid or info.key, reason, message)
        seen = self._seen.get(key)
        if seen is not None:
            event = dict(seen, count=seen.get("count", 1) + 1, lastTimestamp=now)
            try:
                self._remember(key, self.client.replace(event, info.namespace))
                return
            except ClientError:   # expired, deleted or changed: write a new one
                pass
        name = f"{info.name}.{uuid.uuid4().hex[:16]}"
        event = self.client.create({
            "apiVersion": "v1", "kind": "Event",
            "metadata": {"name": name, "namespace": info.namespace},
            "involvedObject": {"apiVersion": "v1", "kind": "Pod", "namespace": info.namespace,
                               "name": info.name, "uid": info.uid},
            "reason": reason, "message": message, "type": kind,
            "source": {"component": self.component},
            "reportingComponent": self.component, "reportingInstance": self.instance,
            "action": "Scheduling", "firstTimestamp": now, "lastTimestamp": now, "count": 1,
        }, info.namespace)
        self._remember(key, event)

    def _remember(self, key: tuple, event: dict) -> None:
        event.setdefault("apiVersion", "v1")
        event.setdefault("kind", "Event")
        self._seen[key] = event
        self._seen.move_to_end(key)
        if len(self._seen) > MAX_REMEMBERED_EVENTS:
            self._seen.popitem(last=False)

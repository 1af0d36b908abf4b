"""Events: what `kubectl describe` shows of the controllers' work.

`EventRecorder.event(obj, "Normal", "SuccessfulCreate", "Created pod: web-1")` returns
at once; one thread writes core/v1 Events. Repeats of the same (object, reason,
message) within a while are folded into one Event whose `count` grows (the Event is
replaced with the new count), as client-go's event correlator does, so a controller
that retries a failing create every few seconds leaves one Event, not hundreds.
When the queue is full, new Events are dropped (client-go drops under pressure too):
Events are a courtesy, never the only record of anything.
"""

from __future__ import annotations

import logging
import os
import threading
import uuid
from collections import OrderedDict, deque

from supernetes.controlplane.api.meta import now_rfc3339
from supernetes.controlplane.client import ClientError

log = logging.getLogger(__name__)

MAX_QUEUED = 1000
MAX_REMEMBERED = 4096


class EventRecorder:
    def __init__(self, client, host: str | None = None):
        self.client = client
        self.host = host or os.uname().nodename
        self.dropped = 0
        self._queue: deque = deque()
        self._seen: OrderedDict[tuple, dict] = OrderedDict()
        self._wake = threading.Condition()
        self._stopped = False
        self._thread = threading.Thread(target=self._work, name="controller-events",
                                        daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        with self._wake:
            self._stopped = True
            self._wake.notify()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def event(self, obj: dict, kind: str, reason: str, message: str, component: str) -> None:
        with self._wake:
            if self._stopped or len(self._queue) >= MAX_QUEUED:
                self.dropped += 1
                return
            self._queue.append((_reference(obj), kind, reason, message, component))
            self._wake.notify()

    def _work(self) -> None:
        while True:
            with self._wake:
                while not self._stopped and not self._queue:
                    self._wake.wait()
                if self._stopped:
                    return
                item = self._queue.popleft()
            try:
                self._write(*item)
            except Exception as exc:  # an API error must not stop the recorder
                log.debug("could not record an event: %s", exc)

    def _write(self, ref: dict, kind: str, reason: str, message: str, component: str) -> None:
        namespace = ref.get("namespace") or "default"
        now = now_rfc3339()
        key = (ref.get("uid") or ref.get("name"), reason, message)
        seen = self._seen.get(key)
        if seen is not None:
            event = dict(seen, count=seen.get("count", 1) + 1, lastTimestamp=now)
            try:
                self._remember(key, self.client.replace(event, namespace))
                return
            except ClientError:     # expired, deleted or changed meanwhile: a new one
                pass
        event = self.client.create({
            "apiVersion": "v1", "kind": "Event",
            "metadata": {"name": f"{ref.get('name', 'unknown')}.{uuid.uuid4().hex[:16]}",
                         "namespace": namespace},
            "involvedObject": ref, "reason": reason, "message": message, "type": kind,
            "source": {"component": component, "host": self.host},
            "reportingComponent": component, "reportingInstance": f"{component}-{self.host}",
            "firstTimestamp": now, "lastTimestamp": now, "count": 1,
        }, namespace)
        self._remember(key, event)

    def _remember(self, key: tuple, event: dict) -> None:
        event.setdefault("apiVersion", "v1")
        event.setdefault("kind", "Event")
        self._seen[key] = event
        self._seen.move_to_end(key)
        if len(self._seen) > MAX_REMEMBERED:
            self._seen.popitem(last=False)


def _reference(obj: dict) -> dict:
    meta = obj.get("metadata") or {}
    ref = {"apiVersion": obj.get("apiVersion", ""), "kind": obj.get("kind", ""),
           "name": meta.get("name", ""), "uid": meta.get("uid", ""),
           "resourceVersion": meta.get("resourceVersion", "")}
    if meta.get("namespace"):
        ref["namespace"] = meta["namespace"]
    return ref

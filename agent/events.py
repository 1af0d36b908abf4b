"""Events about pods and the node: what `kubectl describe` shows under "Events".

`EventRecorder.record(obj, type, reason, message)` only queues; one background
thread writes to the API, so a slow or unreachable API server never holds up a
pod worker, and a full queue drops events instead of growing without bound
(events are advisory, as in Kubernetes). The same event repeated (same object,
reason and message) updates the first one's `count` and `lastTimestamp` rather
than making a new object, as client-go's event correlator does.
"""

from __future__ import annotations

import logging
import queue
import secrets
import threading
import time

from .podstatus import rfc3339

log = logging.getLogger(__name__)

NORMAL, WARNING = "Normal", "Warning"
COMPONENT = "superlet"
MAX_PENDING = 1000
MAX_REMEMBERED = 4096


class EventRecorder:
    def __init__(self, client, node_name: str):
        self.events = client.resource("v1", "Event")
        self.node_name = node_name
        self._queue: queue.Queue = queue.Queue(MAX_PENDING)
        self._seen: dict[tuple, tuple[str, str, int]] = {}  # key -> (namespace, name, count)
        self._thread = threading.Thread(target=self._run, name="events", daemon=True)
        self._thread.start()

    def record(self, obj: dict, kind: str, reason: str, message: str,
               field_path: str | None = None) -> None:
        meta = obj.get("metadata") or {}
        involved = {"apiVersion": obj.get("apiVersion", "v1"), "kind": obj.get("kind", "Pod"),
                    "name": meta.get("name", ""), "uid": meta.get("uid", "")}
        if meta.get("namespace"):
            involved["namespace"] = meta["namespace"]
        if field_path:
            involved["fieldPath"] = field_path
        try:
            self._queue.put_nowait((involved, kind, reason, message, time.time()))
        except queue.Full:
            log.debug("event dropped (queue full): %s %s", reason, message)

    def stop(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            try:
                self._write(*item)
            except Exception as exc:  # never let one event stop the writer
                log.debug("writing an event failed: %s", exc)

    def _write(self, involved: dict, kind: str, reason: str, message: str, when: float) -> None:
        namespace = involved.get("namespace", "default")
        key = (involved["uid"], involved.get("fieldPath"), reason, message)
        stamp = rfc3339(when)
        seen = self._seen.get(key)
        if seen is not None:
            ns, name, count = seen
            self.events.patch(name, {"count": count + 1, "lastTimestamp": stamp}, ns,
                              patch_type="merge")
            self._seen[key] = (ns, name, count + 1)
            return
        name = f"{involved['name']}.{secrets.token_hex(8)}"
        self.events.create({
            "apiVersion": "v1", "kind": "Event",
            "metadata": {"name": name, "namespace": namespace},
            "involvedObject": involved, "reason": reason, "message": message, "type": kind,
            "source": {"component": COMPONENT, "host": self.node_name},
            "reportingComponent": COMPONENT, "reportingInstance": self.node_name,
            "firstTimestamp": stamp, "lastTimestamp": stamp, "count": 1,
        }, namespace)
        if len(self._seen) >= MAX_REMEMBERED:
            self._seen.clear()
        self._seen[key] = (namespace, name, 1)

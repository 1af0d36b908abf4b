"""Binding pods to their nodes, off the scheduling loop, many at a time.

The loop never waits for the API server: it assumes the pod on its node
(`cache.py`) and hands a `BindJob` here. `parallelism` worker threads each send
`POST pods/NAME/binding` through the client's shared pool of keep-alive
connections, so that many bindings are in flight at once and the server's
write path, not a round trip, sets the pace. Each outcome is reported back to
the loop (`report`), which confirms or forgets the assumption.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger(__name__)


@dataclass(eq=False)
class BindJob:
    entry: object            # the queue's QueuedPod
    node: str
    error: Exception | None = None


class Binder:
    def __init__(self, client, workers: int, report: Callable[[BindJob], None]):
        self.client = client
        self.report = report
        self._jobs: queue.Queue[BindJob | None] = queue.Queue()
        self._threads = [threading.Thread(target=self._work, name=f"scheduler-bind-{i}",
                                          daemon=True) for i in range(workers)]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        for _ in self._threads:
            self._jobs.put(None)
        for thread in self._threads:
            if thread.is_alive():
                thread.join(timeout)

    def submit(self, job: BindJob) -> None:
        self._jobs.put(job)

    def pending(self) -> int:
        return self._jobs.qsize()

    def _work(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            info = job.entry.info
            try:
                self.client.bind(info.name, info.namespace, job.node, uid=info.uid or None)
            except Exception as exc:   # reported, never fatal: the pod is retried
                job.error = exc
            try:
                self.report(job)
            except Exception:
                log.exception("scheduler: reporting the binding of %s failed", info.key)

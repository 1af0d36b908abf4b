"""The shape every controller shares: informers enqueue keys, workers sync them.

    informer handlers --(key)--> WorkQueue --> worker threads --> sync(key)
                                    ^                               |
                                    +---- rate-limited requeue -----+  (on an exception)

A controller subclass declares what it watches in `setup()` (informers from the
shared factory, handlers that only compute keys) and implements `sync(key)`, which
reads the informer caches, writes to the API server through the client, never
mutates a cached object (`copy.deepcopy` first) and writes status last. A key is
never handed to two workers at once (the queue guarantees it), so a sync may
assume it alone works on its object.

`Context` is what every controller gets from the manager: the client, the shared
informer factory, the configuration and the event recorder.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from supernetes.controlplane.client import Conflict, Informer, WorkQueue, object_key

from .config import ControllerManagerConfig
from .events import EventRecorder

log = logging.getLogger(__name__)


@dataclass
class Context:
    client: object                      # supernetes.controlplane.client.Client
    informers: object                   # supernetes.controlplane.client.InformerFactory
    config: ControllerManagerConfig
    recorder: EventRecorder


class Controller:
    """A work queue, its workers, and `sync(key)`; subclasses fill in the rest."""

    name = ""                           # kube-controller-manager's name ("replicaset")
    component = ""                      # the Events' source ("replicaset-controller")

    def __init__(self, ctx: Context):
        self.ctx = ctx
        self.client = ctx.client
        self.config = ctx.config
        self.queue = WorkQueue(self.name)
        self._threads: list[threading.Thread] = []
        self.setup()

    # -- what subclasses provide ---------------------------------------------------

    def setup(self) -> None:
        """Get informers and add handlers (runs before the informers start)."""

    def sync(self, key: str) -> None:
        raise NotImplementedError

    def run_extra(self, stop: threading.Event) -> None:
        """A periodic loop besides the workers (node monitoring), if the controller has one."""

    # -- helpers for subclasses ----------------------------------------------------

    def informer(self, api_version: str, kind: str, **kw) -> Informer:
        return self.ctx.informers.informer(api_version, kind, **kw)

    def resource(self, api_version: str, kind: str):
        return self.client.resource(api_version, kind)

    def enqueue(self, obj: dict) -> None:
        self.queue.add(object_key(obj))

    def enqueue_after(self, obj_or_key, delay: float) -> None:
        key = obj_or_key if isinstance(obj_or_key, str) else object_key(obj_or_key)
        self.queue.add_after(key, delay)

    def event(self, obj: dict, kind: str, reason: str, message: str) -> None:
        self.ctx.recorder.event(obj, kind, reason, message, self.component or self.name)

    # -- running -------------------------------------------------------------------

    def start(self, workers: int, stop: threading.Event) -> None:
        for i in range(workers):
            thread = threading.Thread(target=self._work, name=f"{self.name}-{i}", daemon=True)
            thread.start()
            self._threads.append(thread)
        extra = threading.Thread(target=self._extra, args=(stop,), name=f"{self.name}-loop",
                                 daemon=True)
        extra.start()
        self._threads.append(extra)

    def stop(self, timeout: float = 5.0) -> None:
        self.queue.shutdown()
        for thread in self._threads:
            thread.join(timeout)

    def _extra(self, stop: threading.Event) -> None:
        try:
            self.run_extra(stop)
        except Exception:
            log.exception("%s: the periodic loop failed", self.name)

    def _work(self) -> None:
        while True:
            key = self.queue.get()
            if key is None:
                return
            try:
                self.sync(key)
            except Exception as exc:
                if isinstance(exc, Conflict) or isinstance(exc.__cause__, Conflict):
                    # The cache was behind the server: the informer brings the newer
                    # object, the retry works on it. Routine, not worth a warning.
                    log.debug("%s: %s: %s; retrying", self.name, key, exc)
                else:
                    log.warning("%s: syncing %s failed (retry %d): %s", self.name, key,
                                self.queue.num_requeues(key) + 1, exc,
                                exc_info=log.isEnabledFor(logging.DEBUG))
                self.queue.add_rate_limited(key)
            else:
                self.queue.forget(key)
            finally:
                self.queue.done(key)


def handlers(on_change: Callable[[dict], None], *, on_update=None, on_delete=None) -> dict:
    """Handler keyword arguments that call `on_change` for adds, updates and deletes
    (for the update, with the new object) unless told otherwise."""
    return {"on_add": on_change,
            "on_update": on_update or (lambda old, new: on_change(new)),
            "on_delete": on_delete or on_change}

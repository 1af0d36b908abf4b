"""The pod lifecycle event generator: notice what changed in the runtime, wake the pod.

The kubelet's PLEG relists the runtime every second and compares; so does this
one. A container that exited, appeared (adopted after an agent restart) or
vanished changes its record in the `ContainerIndex`, and its pod's UID goes to
`on_change`, which puts it in the pod workers' queue. Nothing else is decided
here: the pod worker reads the index and works out what to do.

A relist is a `runtime.list()`: for superc a few small file reads per container
(state.json, exit.json, /proc/<pid>/stat), for the CLI runtimes the shims' files;
neither forks. `relist()` is also called once at start, before the first sync,
so the workers begin with every running container already known (adoption).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from .containers import ContainerIndex, pod_uid
from .runtimes.base import ContainerRuntime, ContainerRuntimeError

log = logging.getLogger(__name__)


class Pleg:
    def __init__(self, runtime: ContainerRuntime, index: ContainerIndex,
                 on_change: Callable[[str], None], period: float = 1.0,
                 observe: Callable[[float], None] | None = None):
        self.runtime = runtime
        self.observe = observe  # how long each relist took (the agent's metrics)
        self.index = index
        self.on_change = on_change
        self.period = period
        self.relists = 0
        self.last_relist = 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def relist(self) -> set[str]:
        """Look at every container once; the UIDs of the pods that changed."""
        started = time.monotonic()
        infos = self.runtime.list()
        changed: set[str] = set()
        seen = set()
        for info in infos:
            seen.add(info.id)
            if self.index.info(info.id) is info:
                continue  # the runtime handed back what it handed out last time
            record, differs = self.index.put(info)
            uid = pod_uid(info)
            if record is not None and differs and uid:
                changed.add(uid)
        for gone in self.index.ids() - seen:
            info = self.index.info(gone)
            self.index.forget(gone)
            uid = pod_uid(info) if info else None
            if uid:
                changed.add(uid)
        self.relists += 1
        self.last_relist = time.time()
        if self.observe is not None:
            self.observe(time.monotonic() - started)
        return changed

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="pleg", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def healthy(self, now: float | None = None) -> bool:
        """Has a relist succeeded lately? (The node is not Ready otherwise.)"""
        return (now or time.time()) - self.last_relist < max(3 * self.period, 10.0)

    def _run(self) -> None:
        while not self._stop.wait(self.period):
            try:
                changed = self.relist()
            except (ContainerRuntimeError, OSError) as exc:
                log.warning("relisting the runtime failed: %s", exc)
                continue
            for uid in changed:
                self.on_change(uid)

"""Stopping containers gracefully without holding a pod worker for the grace period.

The kubelet's order for one container: run its preStop hook, send the stop
signal (SIGTERM, or the image's StopSignal), wait up to the grace period, then
SIGKILL. A pod worker that slept through that would stall every other pod
behind it, so termination is a small state machine the sync advances:

    stop(info, container, grace)   first call: the preStop hook goes to a small
                                   thread pool, which sends the stop signal when
                                   the hook is done (or at once, without a hook);
                                   the deadline is now + grace
                                   later calls: past the deadline -> SIGKILL
                                   returns True once the container has exited

The caller requeues its pod at `deadline_of()`, and the PLEG wakes it as soon as
the container exits. A grace of zero means SIGKILL at once. State lives in
memory: an agent restarted mid-way starts the grace period again (re-running a
preStop hook, which Kubernetes also allows: hooks must be idempotent).
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from . import hooks
from .runtimes.base import EXITED, ContainerInfo, ContainerRuntimeError

log = logging.getLogger(__name__)

STOP_SIGNAL_ANNOTATION = "org.opencontainers.image.stopSignal"


@dataclass
class _Stopping:
    deadline: float
    killed: bool = False


class Terminator:
    def __init__(self, runtime, on_progress: Callable[[str], None], workers: int = 4,
                 clock: Callable[[], float] = time.time):
        self.runtime = runtime
        self.on_progress = on_progress  # pod UID -> requeue it
        self.clock = clock
        self._lock = threading.Lock()
        self._stopping: dict[str, _Stopping] = {}
        self._hooks = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="prestop")

    def stop(self, pod_uid: str, info: ContainerInfo, container: dict | None, grace: float,
             *, pod_ip: str | None = None, pod_netns: str | None = None,
             run_pre_stop: bool = True) -> bool:
        """Advance the stop of one container; True once it has exited."""
        if info.status == EXITED:
            with self._lock:
                self._stopping.pop(info.id, None)
            return True
        now = self.clock()
        with self._lock:
            state = self._stopping.get(info.id)
            first = state is None
            if first:
                state = self._stopping[info.id] = _Stopping(deadline=now + max(grace, 0))
        if first:
            if grace <= 0:
                self._signal(info, signal.SIGKILL)
                state.killed = True
            else:
                handler = ((container or {}).get("lifecycle") or {}).get("preStop") \
                    if run_pre_stop else None
                self._hooks.submit(self._pre_stop_then_signal, pod_uid, info, container,
                                   handler, grace, pod_ip, pod_netns)
        elif now >= state.deadline and not state.killed:
            self._signal(info, signal.SIGKILL)
            state.killed = True
        return False

    def deadline_of(self, container_id: str) -> float | None:
        with self._lock:
            state = self._stopping.get(container_id)
            return state.deadline if state and not state.killed else None

    def forget(self, container_id: str) -> None:
        with self._lock:
            self._stopping.pop(container_id, None)

    def close(self) -> None:
        self._hooks.shutdown(wait=False, cancel_futures=True)

    def _pre_stop_then_signal(self, pod_uid: str, info: ContainerInfo, container: dict | None,
                              handler: dict | None, grace: float, pod_ip, pod_netns) -> None:
        try:
            if handler:
                ok, message = hooks.run(handler, container or {}, runtime=self.runtime,
                                        container_id=info.id, pod_ip=pod_ip,
                                        pod_netns=pod_netns, timeout=grace)
                if not ok:
                    log.info("preStop hook of %s failed: %s", info.id, message)
            with self._lock:
                state = self._stopping.get(info.id)
                if state is None or state.killed:
                    return
            self._signal(info, _stop_signal(info))
        finally:
            self.on_progress(pod_uid)

    def _signal(self, info: ContainerInfo, sig: int) -> None:
        try:
            self.runtime.kill(info.id, sig)
        except ContainerRuntimeError as exc:
            log.debug("signalling %s: %s", info.id, exc)


def _stop_signal(info: ContainerInfo) -> int:
    name = (info.annotations.get(STOP_SIGNAL_ANNOTATION) or "SIGTERM").upper()
    if name.isdigit():
        return int(name)
    try:
        return signal.Signals[name if name.startswith("SIG") else "SIG" + name].value
    except KeyError:
        return signal.SIGTERM

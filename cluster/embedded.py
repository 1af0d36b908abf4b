"""The scheduler, the controllers and the cluster DNS server as components of the
`supernetes server` process.

The API server starts them in its serving process once it serves (the admin
kubeconfig exists): each runs its usual `run(config, stop=...)` on a thread and
reaches the API server through the loopback URL of that kubeconfig, exactly as it
would as a separate process. Both elect a leader through a Lease, so several
servers sharing one etcd run one scheduler and one controller manager between
them. Stopping the server sets their stop event; they release their Lease, so a
surviving server takes over at once. The DNS server elects no leader: every
server answers queries (see controlplane/dns/publish.py for the one Service).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger(__name__)


class Component:
    """One `run(config, stop=event)` on a daemon thread, restarted if it returns early
    (a lost Lease makes it return: it becomes a candidate again)."""

    def __init__(self, name: str, target: Callable[[threading.Event], None]):
        self.name = name
        self.target = target
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, name=f"embedded-{name}", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self, timeout: float = 4.0) -> None:
        self.stopped.set()
        self.thread.join(timeout)

    def _run(self) -> None:
        while not self.stopped.is_set():
            try:
                self.target(self.stopped)
            except Exception:
                log.exception("%s failed; restarting it", self.name)
            self.stopped.wait(1.0)


def scheduler(leader_elect: bool = True) -> Callable[[Path], Component]:
    def factory(kubeconfig: Path) -> Component:
        from supernetes.controlplane.scheduler import SchedulerConfig, run

        config = SchedulerConfig.from_document({}, kubeconfig=str(kubeconfig),
                                               leader_elect=leader_elect)
        return Component("scheduler", lambda stop: run(config, stop=stop))
    return factory


def controllers(settings: dict, leader_elect: bool = True) -> Callable[[Path], Component]:
    """`settings` are ControllerManagerConfig fields (controllers, periods...)."""
    def factory(kubeconfig: Path) -> Component:
        from supernetes.controlplane.controllers import ControllerManagerConfig, run

        config = ControllerManagerConfig(kubeconfig=str(kubeconfig), leader_elect=leader_elect,
                                         **settings)
        return Component("controller-manager", lambda stop: run(config, stop=stop))
    return factory


def dns(config) -> Callable[[Path], Component]:
    """The cluster DNS server (a DNSConfig without its kubeconfig). A port it cannot
    bind is said once and tried again every 30 s, not every second."""
    def factory(kubeconfig: Path) -> Component:
        from supernetes.controlplane.dns import DNSBindError, run

        config.kubeconfig = str(kubeconfig)
        warned = []

        def target(stop: threading.Event) -> None:
            try:
                run(config, stop=stop)
            except DNSBindError as exc:
                if not warned:
                    log.error("cluster DNS: %s; trying again every 30 s", exc)
                    warned.append(exc)
                stop.wait(30.0)
        return Component("dns", target)
    return factory


class _Nothing:
    def start(self) -> None:
        pass

    def stop(self) -> None:
        pass


def no_dns(reason: str) -> Callable[[Path], _Nothing]:
    """Say once, when the server starts, why it serves no cluster DNS."""
    def factory(_kubeconfig: Path) -> _Nothing:
        log.warning("cluster DNS not served: %s", reason)
        return _Nothing()
    return factory

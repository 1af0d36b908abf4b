"""The Ingress controller a Superlet runs: informers in, a proxy out, status back.

    informers   Ingresses, IngressClasses, Services, EndpointSlices (by Service),
                Nodes (for the status addresses)
    routes      rebuilt from the Ingresses and classes when one of them changed,
                lazily, by the first request after the change (routes.py)
    endpoints   looked up per request in the informers' caches, so a pod that
                became ready or went away is seen at once (backends.py)
    proxy       an asyncio loop on a thread of its own, listening on bind:port
                (proxy.py); `start()` returns once it listens or raises
                IngressBindError. With `netns` set that thread first enters the
                node's network namespace, so it listens there and reaches the
                pods from there, while the informers talk to the API from here
    status      a thread that announces this node (its Node annotation) and
                writes status.loadBalancer.ingress of the Ingresses we serve
                whenever the Ingresses or Nodes change (status.py)
"""

from __future__ import annotations

import asyncio
import logging
import threading
from dataclasses import dataclass

from supernetes.controlplane.client import ClientError, Informer

from ..network import netns
from . import backends, routes, status
from .errors import IngressBindError
from .proxy import IngressProxy

log = logging.getLogger(__name__)

SERVICE_NAME_LABEL = "kubernetes.io/service-name"


@dataclass
class IngressConfig:
    bind: str = "0.0.0.0"
    port: int = 80                        # 0: any free port (tests)
    class_name: str = "supernetes"
    controller: str = "supernetes.io/ingress-controller"
    netns: str | None = None              # the node's network namespace (None: ours)
    node_name: str | None = None          # announce this Node as serving Ingress
    status_addresses: tuple[str, ...] | None = None   # None: from the Nodes
    write_status: bool = True
    connect_timeout: float = 5.0
    response_timeout: float = 60.0
    idle_timeout: float = 60.0
    resync_period: float = 60.0


def _slice_service(es: dict) -> list[str]:
    meta = es.get("metadata") or {}
    service = (meta.get("labels") or {}).get(SERVICE_NAME_LABEL)
    return [f"{meta.get('namespace')}/{service}"] if service else []


class IngressController:
    def __init__(self, client, config: IngressConfig):
        self.client = client
        self.config = config
        self.ingresses = Informer(client, "networking.k8s.io/v1", "Ingress")
        self.classes = Informer(client, "networking.k8s.io/v1", "IngressClass")
        self.services = Informer(client, "v1", "Service")
        self.slices = Informer(client, "discovery.k8s.io/v1", "EndpointSlice",
                               indexers={"service": _slice_service})
        self.nodes = Informer(client, "v1", "Node")
        self.informers = [self.ingresses, self.classes, self.services, self.slices]
        if config.write_status and config.status_addresses is None:
            self.informers.append(self.nodes)
        self.proxy = IngressProxy(self.routes, self.endpoints, port=config.port,
                                  connect_timeout=config.connect_timeout,
                                  response_timeout=config.response_timeout,
                                  idle_timeout=config.idle_timeout)
        self.port = config.port
        self._table = routes.RouteTable()
        self._stale = True
        self._status_wake = threading.Event()
        self._stop = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._threads: list[threading.Thread] = []
        self._bound = threading.Event()
        self._error: BaseException | None = None
        for informer in (self.ingresses, self.classes):
            informer.add_handler(self._routes_changed, lambda o, n: self._routes_changed(n),
                                 self._routes_changed)
        self.nodes.add_handler(self._nodes_changed, lambda o, n: self._nodes_changed(n),
                               self._nodes_changed)

    # -- lifecycle -------------------------------------------------------------------

    def start(self, sync_timeout: float = 60.0) -> IngressController:
        for informer in self.informers:
            informer.start()
        for informer in self.informers:
            if not informer.wait_for_sync(sync_timeout):
                log.warning("ingress: %r did not sync within %.0f s", informer, sync_timeout)
        self._spawn(self._serve, "ingress-proxy")
        self._bound.wait()
        if self._error is not None:
            self.stop()
            raise self._error
        log.info("ingress proxy for class %s on %s port %d", self.config.class_name,
                 self.config.bind, self.port)
        if self.config.write_status:
            self._spawn(self._status_loop, "ingress-status")
        return self

    def stop(self) -> None:
        self._stop.set()
        self._status_wake.set()
        if self._loop is not None and self._loop.is_running():
            self._loop.call_soon_threadsafe(self._loop.stop)
        for thread in self._threads:
            thread.join(10)
        for informer in self.informers:
            informer.stop()

    def _spawn(self, target, name: str) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def _serve(self) -> None:
        if self.config.netns is not None:
            try:
                netns.enter(self.config.netns)
            except OSError as exc:
                self._error = IngressBindError(f"cannot enter {self.config.netns}: {exc}")
                self._bound.set()
                return
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            server = loop.run_until_complete(asyncio.start_server(
                self.proxy.client, self.config.bind, self.config.port, reuse_address=True,
                limit=2 ** 17))
            self.port = self.proxy.port = server.sockets[0].getsockname()[1]
        except OSError as exc:
            self._error = IngressBindError(f"cannot listen on {self.config.bind} port "
                                           f"{self.config.port}: {exc.strerror or exc}")
            self._bound.set()
            loop.close()
            return
        self._bound.set()
        try:
            loop.run_forever()
        finally:
            server.close()
            self.proxy.pool.close()
            for task in asyncio.all_tasks(loop):
                task.cancel()
            loop.run_until_complete(asyncio.sleep(0))
            loop.close()

    # -- what the proxy asks ---------------------------------------------------------

    def routes(self) -> routes.RouteTable:
        if self._stale:
            self._stale = False
            self._table = self.build_routes()
        return self._table

    def build_routes(self) -> routes.RouteTable:
        names, default = routes.our_classes(self.classes.cache.list(), self.config.controller,
                                            self.config.class_name)
        return routes.build(self.ingresses.cache.list(), names, default)

    def endpoints(self, backend: routes.Backend) -> list[tuple[str, int]]:
        key = f"{backend.namespace}/{backend.service}"
        return backends.resolve(self.services.cache.get(key),
                                self.slices.cache.by_index("service", key), backend.port,
                                str(backend))

    # -- status ----------------------------------------------------------------------

    def _routes_changed(self, _obj: dict) -> None:
        self._stale = True
        self._status_wake.set()

    def _nodes_changed(self, node: dict) -> None:
        if status.PORT_ANNOTATION in ((node.get("metadata") or {}).get("annotations") or {}):
            self._status_wake.set()

    def _status_loop(self) -> None:
        announced = self.config.node_name is None
        while not self._stop.is_set():
            try:
                if not announced:
                    status.announce(self.client, self.config.node_name, self.port)
                    announced = True
                self.write_status()
            except ClientError as exc:
                log.warning("ingress status: %s", exc)
                self._stop.wait(2.0)
                continue
            self._status_wake.wait(self.config.resync_period)
            self._status_wake.clear()

    def write_status(self) -> int:
        addresses = list(self.config.status_addresses) \
            if self.config.status_addresses is not None \
            else status.serving_addresses(self.nodes.cache.list())
        names, default = routes.our_classes(self.classes.cache.list(), self.config.controller,
                                            self.config.class_name)
        ours = [i for i in self.ingresses.cache.list() if routes.is_ours(i, names, default)]
        return status.publish(self.client, ours, status.load_balancer(addresses, self.port))

"""The service proxy of one node: the API's Services and endpoints -> the kernel's rules.

    informers (Services, EndpointSlices, Endpoints)
        | any change: runner.request()
    SyncRunner (runner.py): soon, coalesced, at least every resync_interval
        | sync()
    desired state from the caches (model.py) -> the table as data (rules.py)
        -> first (and every full_resync_interval, and after any failure): the whole
           table `ip supernetes-proxy` written by nft.sync() in one transaction
           (in place when affinity sets must keep what the kernel learned)
        -> otherwise: nfttable.diff() against what was written last, applied in one
           transaction: a change costs the size of the change, not of the table
        -> conntrack entries of UDP endpoints that went away deleted

A proxy that crashed or was restarted leaves nothing stale: its first sync
writes the whole table, flushing every chain and map, deleting what the new
content does not declare (whoever added it) and any other `supernetes-proxy*`
table. Stopping the proxy leaves its rules in place
(as kube-proxy does: connections keep working through an agent restart);
`cleanup()` removes the table and the service route.

`explain()` returns the last table written, the learner's view of what the
node does with Service traffic (`python -m supernetes.agent.proxy explain`).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

from supernetes.controlplane.client import InformerFactory

from ..network import nft, nfttable
from . import kernel, model, rules
from .runner import SyncRunner

log = logging.getLogger(__name__)


class ProxyError(RuntimeError):
    """The proxy could not start (its informers never synced, no bridge)."""


@dataclass(frozen=True)
class ProxyConfig:
    node_name: str
    netns: str | None = None             # the node's network namespace; None: here
    cluster_cidr: str = "10.244.0.0/16"
    service_cidr: str = "10.96.0.0/12"
    bridge: str = "super0"
    min_sync_interval: float = 0.1
    resync_interval: float = 30.0        # sync (a diff: nothing when nothing changed) this often
    full_resync_interval: float = 3600.0  # rewrite the whole table this often (as kube-proxy)


def _rv(obj: dict | None) -> str:
    return ((obj or {}).get("metadata") or {}).get("resourceVersion", "")


def _service_index(es: dict) -> list[str]:
    key = model.slice_service(es)
    return [key] if key else []


class ServiceProxy:
    def __init__(self, client, config: ProxyConfig):
        self.config = config
        self.rule_config = rules.RuleConfig(config.cluster_cidr, config.service_cidr,
                                            config.node_name)
        self.renderer = rules.Renderer(self.rule_config)
        # (Service, slices, Endpoints) resourceVersions -> its ServicePorts, so that a
        # change re-reads one Service, not all of them.
        self._ports: dict[str, tuple[tuple, list[model.ServicePort]]] = {}
        self.factory = InformerFactory(client)
        self.services = self.factory.informer("v1", "Service")
        self.slices = self.factory.informer("discovery.k8s.io/v1", "EndpointSlice",
                                            indexers={"service": _service_index})
        self.endpoints = self.factory.informer("v1", "Endpoints")
        self.runner = SyncRunner(self.sync, "service-proxy",
                                 min_interval=config.min_sync_interval,
                                 max_interval=config.resync_interval)
        for informer in (self.services, self.slices, self.endpoints):
            informer.add_handler(on_add=self._changed, on_update=self._changed2,
                                 on_delete=self._changed)
        self._lock = threading.Lock()
        self._applied: dict[str, model.ServicePort] = {}
        self._table: nfttable.Table | None = None   # what the kernel holds, as written
        self._written_whole = 0.0
        self.last_change = ""
        self.last_sync_seconds = 0.0

    def _changed(self, obj: dict) -> None:
        self.runner.request()

    def _changed2(self, old: dict, new: dict) -> None:
        self.runner.request()

    # -- lifecycle -----------------------------------------------------------------

    def start(self, timeout: float = 30.0) -> None:
        self.factory.start()
        if not self.factory.wait_for_sync(timeout):
            self.factory.stop()
            raise ProxyError(f"the proxy's informers did not sync within {timeout} s")
        try:
            self.sync()        # the first table before start() returns: callers can rely on it
        except Exception as exc:
            self.factory.stop()
            raise ProxyError(f"the first sync failed: {exc}") from exc
        self.runner.start()

    def stop(self) -> None:
        self.runner.stop()
        self.factory.stop()

    def cleanup(self) -> None:
        """Remove everything the proxy put in the kernel (stop it first)."""
        self.remove(self.config)

    @staticmethod
    def remove(config: ProxyConfig) -> None:
        nft.sync({}, netns=config.netns, owner=rules.TABLE[1])
        kernel.remove_service_route(config.netns, config.service_cidr)

    # -- the sync ----------------------------------------------------------------------

    def desired(self) -> list[model.ServicePort]:
        ports, seen = [], {}
        for svc in self.services.cache.list():
            meta = svc.get("metadata") or {}
            key = f"{meta.get('namespace')}/{meta.get('name')}"
            slices = self.slices.cache.by_index("service", key)
            endpoints = None if slices else self.endpoints.cache.get(key)
            version = (_rv(svc), tuple(sorted(_rv(s) for s in slices)), _rv(endpoints))
            cached = self._ports.get(key)
            found = cached[1] if cached and cached[0] == version else \
                model.service_ports(svc, slices, endpoints)
            seen[key] = (version, found)
            ports += found
        self._ports = seen
        return ports

    def sync(self) -> None:
        with self._lock:
            started = time.monotonic()
            c = self.config
            kernel.ensure_service_route(c.netns, c.service_cidr, c.bridge)
            ports = self.desired()
            table = self.renderer.build(ports)
            try:
                if self._table is None or started - self._written_whole > c.full_resync_interval:
                    self._write_whole(table, any(p.affinity_timeout for p in ports))
                else:
                    self.last_change = nft.apply(nfttable.diff(self._table, table), c.netns)
            except Exception:
                self._table = None        # what the kernel holds is unknown: whole next time
                raise
            self._table = table
            current = {p.key: p for p in ports}
            self._forget_gone_udp_endpoints(current)
            self._applied = current
            self.last_sync_seconds = time.monotonic() - started

    def _write_whole(self, table: nfttable.Table, affinity: bool) -> None:
        # In place when there are affinity sets to keep (slower on a big table).
        self.last_change = nft.sync({rules.TABLE: table.body()}, netns=self.config.netns,
                                    owner=rules.TABLE[1],
                                    keep_sets=rules.is_affinity_set if affinity else None)
        self._written_whole = time.monotonic()

    def _forget_gone_udp_endpoints(self, current: dict[str, model.ServicePort]) -> None:
        for key, before in self._applied.items():
            if before.protocol != "UDP":
                continue
            now = current.get(key)
            kept = {(e.ip, e.port) for e in now.usable()} if now else set()
            for ep in before.usable():
                if (ep.ip, ep.port) in kept:
                    continue
                for destination in (before.cluster_ip, *before.external_ips):
                    kernel.forget_udp_flows(self.config.netns, destination, ep.ip)
                if before.node_port:
                    kernel.forget_udp_flows(self.config.netns, "", ep.ip, before.node_port)

    def explain(self) -> str:
        """The table as last written (or as it would be, before the first sync);
        `last_change` holds the nft commands of the last sync."""
        with self._lock:
            table = self._table or self.renderer.build(self.desired())
        return f"table {table.family} {table.name} {{\n{table.body()}}}\n"

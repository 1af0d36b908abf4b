"""A Service's addresses: its cluster IP and node ports, allocated as it is written.

The write hooks of the Service kind (`resources.py` calls them around the store
write, as Kubernetes' service registry does with BeginCreate/BeginUpdate):

    begin_create  a requested clusterIP / nodePort is claimed (422 when it is out of
                  range or taken), a missing one is allocated; returns `finish(ok)`,
                  which gives back what was taken when the write failed
    begin_update  the same for what an update adds (ExternalName -> ClusterIP, a
                  new NodePort port); `finish(True)` frees what the update dropped
    after_delete  frees everything the Service held

Values live in the store (`allocator.py`), so a restart loses nothing. The
`Repair` loop covers the rest, as Kubernetes' repair controllers do: it claims
values for Services written without them (an older store, a restore) and frees
values whose owner is gone (a server that died between allocating and writing
the Service); a value is freed only when it was already orphaned on the pass
before, so a create in flight on another API server is never robbed.

The service CIDR is `supernetes server --service-cidr` (10.96.0.0/12: 10.96.0.1
is the `kubernetes` Service's, 10.96.0.10 cluster DNS's by convention), the
node-port range `--service-node-port-range` (30000-32767).
"""

from __future__ import annotations

import logging
import threading

from ..api import errors as field_errors
from ..api.types import services
from . import errors, objects
from .allocator import (
    Allocator,
    AlreadyAllocated,
    IPRange,
    OutOfRange,
    Owner,
    PortRange,
    RangeFull,
)

log = logging.getLogger(__name__)

REPAIR_INTERVAL = 10.0


def _noop(ok: bool) -> None:
    pass


def held(svc: dict) -> tuple[str | None, set[str]]:
    """(cluster IP, node ports) a stored Service holds."""
    spec = svc.get("spec") or {}
    ip = spec.get("clusterIP")
    if spec.get("type") == "ExternalName" or ip in (None, "", "None"):
        ip = None
    ports = set()
    if spec.get("type") in ("NodePort", "LoadBalancer"):
        ports = {str(p["nodePort"]) for p in spec.get("ports") or [] if p.get("nodePort")}
    return ip, ports


class ServiceAddresses:
    def __init__(self, store, service_cidr: str, node_port_range: str):
        self.ips = Allocator(store, "serviceips", IPRange(service_cidr))
        self.ports = Allocator(store, "nodeports", PortRange(node_port_range))
        self.repair = Repair(self)

    # -- the write hooks ----------------------------------------------------------------

    def begin_create(self, ctx, svc: dict):
        return self._allocate(ctx, svc, None)

    def begin_update(self, ctx, new: dict, old: dict):
        if ctx.sub == "status":
            return _noop
        finish_new = self._allocate(ctx, new, old)
        if ctx.dry_run:
            return finish_new
        owner = _owner(new)
        old_ip, old_ports = held(old)
        new_ip, new_ports = held(new)

        def finish(ok: bool) -> None:
            finish_new(ok)
            if ok:
                if old_ip and old_ip != new_ip:
                    self.ips.release(old_ip, owner.uid)
                for port in old_ports - new_ports:
                    self.ports.release(port, owner.uid)
        return finish

    def after_delete(self, ctx, svc: dict) -> None:
        if ctx.dry_run:
            return
        ip, ports = held(svc)
        uid = _owner(svc).uid
        if ip:
            self.ips.release(ip, uid)
        for port in ports:
            self.ports.release(port, uid)

    # -- allocation ------------------------------------------------------------------------

    def _allocate(self, ctx, svc: dict, old: dict | None):
        """Claim or allocate what `svc` needs; returns finish(ok)."""
        owner, dry = _owner(svc), ctx.dry_run
        spec = svc.setdefault("spec", {})
        taken: list[tuple[Allocator, str]] = []
        problems = []
        try:
            ip = spec.get("clusterIP")
            if spec.get("type") != "ExternalName" and ip not in (None, "", "None"):
                problems += self._claim(self.ips, ip, owner, dry, taken, "spec.clusterIPs",
                                        [ip], "IP", f"failed to allocate IP {ip}: ")
            needs_ip, needs_ports = services.allocation_needs(svc)
            if needs_ip:
                ip = self.ips.allocate(owner, dry_run=dry)
                if not dry:
                    taken.append((self.ips, ip))
                services.set_cluster_ip(svc, ip)
            ports = spec.get("ports") or []
            for i, port in enumerate(ports):
                if port.get("nodePort") and spec.get("type") in ("NodePort", "LoadBalancer"):
                    value = str(port["nodePort"])
                    problems += self._claim(self.ports, value, owner, dry, taken,
                                            f"spec.ports[{i}].nodePort", port["nodePort"],
                                            "port", "")
            for i in needs_ports:
                # Two ports of one Service that differ only in protocol share a node
                # port, as in Kubernetes.
                twin = next((p["nodePort"] for p in ports if p.get("nodePort")
                             and p.get("port") == ports[i].get("port")), None)
                if twin is None:
                    value = self.ports.allocate(owner, dry_run=dry)
                    if not dry:
                        taken.append((self.ports, value))
                    twin = int(value)
                ports[i]["nodePort"] = twin
        except RangeFull as exc:
            self._give_back(taken, owner)
            raise errors.invalid(ctx.rt, svc["metadata"].get("name", ""), [
                field_errors.invalid("spec", None, f"range is full: {exc}")]) from exc
        except Exception:
            self._give_back(taken, owner)
            raise
        if problems:
            self._give_back(taken, owner)
            raise errors.invalid(ctx.rt, svc["metadata"].get("name", ""), problems)

        def finish(ok: bool) -> None:
            if not ok:
                self._give_back(taken, owner)
        return finish

    def _claim(self, allocator: Allocator, value: str, owner: Owner, dry: bool, taken: list,
               path: str, shown, noun: str, prefix: str) -> list:
        try:
            if allocator.claim(value, owner, dry_run=dry):
                taken.append((allocator, value))
        except OutOfRange:
            return [field_errors.invalid(path, shown, (
                f"{prefix}provided {noun} is not in the valid range. The range of valid "
                f"{noun}s is {allocator.pool}"))]
        except AlreadyAllocated:
            return [field_errors.invalid(path, shown, f"{prefix}provided {noun} is already "
                                                      f"allocated")]
        return []

    @staticmethod
    def _give_back(taken: list[tuple[Allocator, str]], owner: Owner) -> None:
        for allocator, value in taken:
            allocator.release(value, owner.uid)


def _owner(svc: dict) -> Owner:
    meta = svc.get("metadata") or {}
    return Owner(meta.get("uid", ""), meta.get("namespace", ""), meta.get("name", ""))


class Repair:
    """Keeps the allocations equal to what the stored Services hold."""

    def __init__(self, addresses: ServiceAddresses, interval: float = REPAIR_INTERVAL):
        self.addresses = addresses
        self.interval = interval
        self.suspects: set[tuple[str, int]] = set()   # (key, mod_revision) orphaned last pass
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, name="service-address-repair",
                                       daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.stopped.set()
        if self.thread.is_alive():
            self.thread.join(timeout=5)

    def _run(self) -> None:
        while True:
            try:
                self.run_once()
            except Exception:
                log.exception("repairing service address allocations failed")
            if self.stopped.wait(self.interval):
                return

    def run_once(self) -> None:
        a = self.addresses
        rt = services.SERVICES
        stored, _ = a.ips.store.list(objects.type_prefix(rt))
        live: dict[tuple[int, str], set[str]] = {}     # (allocator, value) -> owner uids
        for kv in stored:
            svc = objects.decode_stored(kv.value, kv.mod_revision)
            owner = _owner(svc)
            ip, ports = held(svc)
            wanted = ([(a.ips, ip)] if ip else []) + [(a.ports, p) for p in sorted(ports)]
            for allocator, value in wanted:
                live.setdefault((id(allocator), value), set()).add(owner.uid)
                self._ensure(allocator, value, owner)
        suspects = set()
        for allocator in (a.ips, a.ports):
            for value, (owner, kv) in allocator.holders().items():
                if owner.uid in live.get((id(allocator), value), ()):
                    continue
                mark = (kv.key, kv.mod_revision)
                if mark in self.suspects:
                    log.info("freeing %s: its owner %s/%s (%s) is gone", kv.key,
                             owner.namespace, owner.name, owner.uid)
                    allocator.release(value, owner.uid)
                else:
                    suspects.add(mark)
        self.suspects = suspects

    @staticmethod
    def _ensure(allocator: Allocator, value: str, owner: Owner) -> None:
        try:
            if allocator.claim(value, owner):
                log.info("claimed %s for %s/%s: it held it without an allocation",
                         allocator.key(value), owner.namespace, owner.name)
        except OutOfRange:
            log.warning("%s/%s holds %s, outside %s (was the range changed?)",
                        owner.namespace, owner.name, value, allocator.pool)
        except AlreadyAllocated:
            holder = allocator.holder(value)
            log.warning("%s/%s and %s/%s both hold %s", owner.namespace, owner.name,
                        holder.namespace if holder else "?", holder.name if holder else "?",
                        value)

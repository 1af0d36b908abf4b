"""Which DNS servers are alive: one Lease each, so the kube-dns Service lists them all.

With several control-plane servers (sharing one etcd), each runs a DNS server, and
the Service's endpoints must name every one that is up and none that is gone, as
Kubernetes' lease endpoint reconciler does for the `kubernetes` Service:

    each server keeps a Lease kube-system/<service>-<address> (labelled with the
    Service's name, holderIdentity its address), renewed as the publisher runs;
    a Lease is alive while it keeps changing: its resourceVersion was seen to move
    within its leaseDurationSeconds, measured on this server's own monotonic clock
    (so servers whose clocks disagree still agree on who is alive, as client-go's
    leader election does);
    a server that stops deletes its Lease at once.

Every server computes the same set from the same Leases, so their writes of the
endpoints agree.
"""

from __future__ import annotations

import time

from supernetes.controlplane.client import AlreadyExists, ApiError, NotFound
from supernetes.controlplane.client.leaderelection import micro_time

SERVICE_LABEL = "dns.supernetes.io/service"


class Members:
    def __init__(self, client, service: str, namespace: str, address: str | None,
                 duration: int = 30, clock=time.monotonic):
        self.leases = client.resource("coordination.k8s.io/v1", "Lease")
        self.service = service
        self.labels = {"app.kubernetes.io/name": "supernetes-dns", SERVICE_LABEL: service}
        self.namespace = namespace
        self.address = address
        self.duration = duration
        self.clock = clock
        self._seen: dict[str, tuple[str, float]] = {}   # name -> (resourceVersion, when)

    @property
    def name(self) -> str:
        return f"{self.service}-" + (self.address or "").replace(".", "-").replace(":", "-")

    def renew(self) -> None:
        """Create or renew our Lease (nothing when we publish no address)."""
        if self.address is None:
            return
        spec = {"holderIdentity": self.address, "leaseDurationSeconds": self.duration,
                "renewTime": micro_time()}
        try:
            lease = self.leases.get(self.name, self.namespace)
        except NotFound:
            body = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                    "metadata": {"name": self.name, "labels": dict(self.labels)}, "spec": spec}
            try:
                self.leases.create(body, self.namespace)
            except AlreadyExists:
                pass
            return
        lease["spec"] = dict(lease.get("spec") or {}, **spec)
        self.leases.replace(lease, self.namespace)

    def alive(self) -> list[str]:
        """The addresses of the servers whose Lease is alive (ours included), sorted."""
        selector = ",".join(f"{k}={v}" for k, v in self.labels.items())
        items = self.leases.list(self.namespace, label_selector=selector).get("items") or []
        now, found = self.clock(), set()
        names = set()
        for lease in items:
            meta, spec = lease.get("metadata") or {}, lease.get("spec") or {}
            name, version = meta.get("name", ""), meta.get("resourceVersion", "")
            names.add(name)
            seen = self._seen.get(name)
            if seen is None or seen[0] != version:
                self._seen[name] = seen = (version, now)
            fresh = now - seen[1] <= (spec.get("leaseDurationSeconds") or self.duration)
            if (fresh or name == self.name) and spec.get("holderIdentity"):
                found.add(spec["holderIdentity"])
        for gone in set(self._seen) - names:
            del self._seen[gone]
        if self.address is not None:
            found.add(self.address)
        return sorted(found)

    def leave(self) -> None:
        if self.address is None:
            return
        try:
            self.leases.delete(self.name, self.namespace)
        except ApiError:
            pass

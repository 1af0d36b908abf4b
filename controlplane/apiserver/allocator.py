"""Unique values from a range, kept in the store: service IPs and node ports.

Every value handed out is one key in the store, outside `/registry/` (so it is
no API object, and the watch cache never sees it), whose value names its owner:

    /supernetes/allocations/serviceips/10.96.0.10   {"uid": "...", "namespace": "kube-system",
                                                     "name": "kube-dns"}
    /supernetes/allocations/nodeports/30080         {"uid": "...", ...}

Taking a value is the store's `create()`, which is atomic: two requests, or two
API servers sharing one etcd, can never hold the same value, and nothing lives
only in memory, so a restarted server knows every allocation at once. This is
the model of Kubernetes 1.33 (one IPAddress object per allocated address; the
older allocator kept a bitmap in a single etcd key).

Dynamic picks are random and avoid the bottom of the range while the rest has
room (Kubernetes' "static band", KEP-3070 and KEP-3668): addresses that users
ask for by convention, such as 10.96.0.10 for cluster DNS, stay free until the
range is nearly full.

Errors (the caller turns them into 422 field errors):

    AllocationError
    +-- OutOfRange         a requested value is outside the range
    +-- AlreadyAllocated   a requested value belongs to someone else
    +-- RangeFull          no value is left
"""

from __future__ import annotations

import ipaddress
import json
import random
from dataclasses import dataclass

from ..store import base as store

# Random picks from a generator of our own: the global one is the caller's (tests seed it).
_random = random.Random()

ROOT = "/supernetes/allocations/"
RANDOM_TRIES = 32


class AllocationError(Exception):
    """A value could not be allocated."""


class OutOfRange(AllocationError):
    pass


class AlreadyAllocated(AllocationError):
    pass


class RangeFull(AllocationError):
    pass


@dataclass(frozen=True)
class Owner:
    uid: str
    namespace: str
    name: str

    def encode(self) -> bytes:
        return json.dumps({"uid": self.uid, "namespace": self.namespace,
                           "name": self.name}).encode()

    @classmethod
    def decode(cls, data: bytes) -> Owner:
        try:
            value = json.loads(data)
            return cls(value["uid"], value.get("namespace", ""), value.get("name", ""))
        except (ValueError, KeyError, TypeError):
            return cls("", "", "")               # unreadable: owned by nobody alive


class IPRange:
    """The usable addresses of a CIDR: all but the network and broadcast addresses."""

    def __init__(self, cidr: str):
        self.network = ipaddress.ip_network(cidr)
        if self.network.version != 4 or self.network.prefixlen > 28:
            raise ValueError(f"service CIDR {cidr} must be an IPv4 network of /28 or larger")
        self.first = int(self.network.network_address) + 1
        self.size = self.network.num_addresses - 2
        self.static_band = min(max(16, self.size // 16), 256, self.size)

    def value(self, offset: int) -> str:
        return str(ipaddress.IPv4Address(self.first + offset))

    def offset(self, value: str) -> int | None:
        try:
            offset = int(ipaddress.IPv4Address(value)) - self.first
        except ValueError:
            return None
        return offset if 0 <= offset < self.size else None

    def __str__(self) -> str:
        return str(self.network)


class PortRange:
    """An inclusive range of port numbers, `30000-32767`."""

    def __init__(self, text: str):
        low, sep, high = text.partition("-")
        try:
            self.first, last = int(low), int(high if sep else low)
        except ValueError:
            raise ValueError(f"port range {text!r} must look like 30000-32767") from None
        if not 0 < self.first <= last <= 65535:
            raise ValueError(f"port range {text!r} must lie within 1-65535")
        self.size = last - self.first + 1
        self.static_band = min(max(16, self.size // 32), 128, self.size)
        self.text = f"{self.first}-{last}"

    def value(self, offset: int) -> str:
        return str(self.first + offset)

    def offset(self, value) -> int | None:
        try:
            offset = int(value) - self.first
        except (TypeError, ValueError):
            return None
        return offset if 0 <= offset < self.size else None

    def __str__(self) -> str:
        return self.text


class Allocator:
    """One range's allocations, as keys under ROOT/<name>/."""

    def __init__(self, store_: store.Store, name: str, pool: IPRange | PortRange):
        self.store = store_
        self.pool = pool
        self.prefix = f"{ROOT}{name}/"

    def key(self, value: str) -> str:
        return self.prefix + value

    def claim(self, value: str, owner: Owner, *, dry_run: bool = False) -> bool:
        """Take `value` for `owner`: True if newly taken, False if it already held it."""
        if self.pool.offset(value) is None:
            raise OutOfRange(value)
        if dry_run:
            holder = self.holder(value)
            if holder is not None and holder.uid != owner.uid:
                raise AlreadyAllocated(value)
            return False
        try:
            self.store.create(self.key(value), owner.encode())
            return True
        except store.KeyExists:
            holder = self.holder(value)
            if holder is not None and holder.uid == owner.uid:
                return False
            raise AlreadyAllocated(value) from None

    def allocate(self, owner: Owner, *, dry_run: bool = False) -> str:
        """A free value for `owner`: above the static band while it has room, then in it."""
        pool = self.pool
        taken: set[str] | None = None
        for low, high in ((pool.static_band, pool.size), (0, pool.static_band)):
            if high <= low:
                continue
            for _ in range(RANDOM_TRIES):
                value = pool.value(_random.randrange(low, high))
                if self._try(value, owner, dry_run):
                    return value
            # Nearly full: look at what is taken, walk the rest from a random start.
            if taken is None:
                taken = {kv.key[len(self.prefix):] for kv in self.store.list(self.prefix)[0]}
            start = _random.randrange(low, high)
            for step in range(high - low):
                value = pool.value(low + (start - low + step) % (high - low))
                if value not in taken and self._try(value, owner, dry_run):
                    return value
        raise RangeFull(str(pool))

    def _try(self, value: str, owner: Owner, dry_run: bool) -> bool:
        if dry_run:
            return self.store.get(self.key(value)) is None
        try:
            self.store.create(self.key(value), owner.encode())
            return True
        except store.KeyExists:
            return False

    def holder(self, value: str) -> Owner | None:
        kv = self.store.get(self.key(value))
        return None if kv is None else Owner.decode(kv.value)

    def release(self, value: str, uid: str) -> bool:
        """Free `value` if `uid` holds it; True when this call freed it."""
        kv = self.store.get(self.key(value))
        if kv is None or Owner.decode(kv.value).uid != uid:
            return False
        try:
            self.store.delete(kv.key, kv.mod_revision)
        except (store.KeyNotFound, store.RevisionConflict):
            return False
        return True

    def holders(self) -> dict[str, tuple[Owner, store.KeyValue]]:
        """Every allocated value -> (its owner, its key as stored)."""
        items, _ = self.store.list(self.prefix)
        return {kv.key[len(self.prefix):]: (Owner.decode(kv.value), kv) for kv in items}

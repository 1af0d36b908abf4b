"""Host-local IP address management for the pods of one node.

The same idea as the CNI `host-local` plugin, and readable with `ls`: under
`<state_dir>/<cidr>/` every allocated address is a file named after the address
whose content is the owner (the pod's UID). A file is created with O_EXCL, so
two allocations can never get the same address, even from two processes; a
`last` file remembers where the previous search stopped, so addresses are handed
out round-robin and a just-freed address is not reused at once (a late packet
for the old pod should not reach a new one).

Allocation is idempotent: asking again for an owner that already has an address
returns that address, which keeps pod sync reentrant. `owners/<owner>` names an
owner's address, so finding it reads one file instead of every allocation; the
address files stay the truth (an owner file that disagrees with them is ignored).
After a crash the agent calls `reconcile(live_owners)`, which frees every address
whose owner is gone.

The network address, the gateway (the first host address, owned by the node's gateway device)
and the broadcast address are never handed out.
"""

from __future__ import annotations

import fcntl
import ipaddress
import os
from contextlib import contextmanager


class IPAMError(RuntimeError):
    """No address could be allocated (the range is exhausted) or the store is broken."""


class HostLocalIPAM:
    def __init__(self, state_dir: str, cidr: str):
        self.network = ipaddress.ip_network(cidr)
        self.gateway = self.network.network_address + 1
        self.dir = os.path.join(state_dir, str(self.network).replace("/", "_"))
        self.owners = os.path.join(self.dir, "owners")
        os.makedirs(self.owners, exist_ok=True)

    @contextmanager
    def _locked(self):
        # The O_EXCL create already makes one address one owner; the lock makes
        # "look up the owner, else take the next free address" one step.
        with open(os.path.join(self.dir, "lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield

    def _allocations(self) -> dict[str, ipaddress.IPv4Address]:
        found = {}
        for name in os.listdir(self.dir):
            try:
                address = ipaddress.ip_address(name)
            except ValueError:
                continue
            with open(os.path.join(self.dir, name)) as f:
                found[f.read().strip()] = address
        return found

    def _owned(self, owner: str) -> ipaddress.IPv4Address | None:
        """The owner's address through its owner file (checked against the address file)."""
        try:
            with open(os.path.join(self.owners, owner)) as f:
                address = ipaddress.ip_address(f.read().strip())
            with open(os.path.join(self.dir, str(address))) as f:
                if f.read().strip() == owner:
                    return address
        except FileNotFoundError:
            return None  # no owner file: no address (reconcile() writes missing ones)
        except (OSError, ValueError):
            pass
        return self._allocations().get(owner)

    def _note_owner(self, owner: str, address) -> None:
        tmp = os.path.join(self.owners, f".{owner}.tmp")
        with open(tmp, "w") as f:
            f.write(str(address))
        os.replace(tmp, os.path.join(self.owners, owner))

    def _forget_owner(self, owner: str) -> None:
        try:
            os.unlink(os.path.join(self.owners, owner))
        except FileNotFoundError:
            pass

    def lookup(self, owner: str) -> ipaddress.IPv4Address | None:
        with self._locked():
            return self._owned(owner)

    def allocate(self, owner: str) -> ipaddress.IPv4Address:
        """The owner's address: the one it has, or the next free one."""
        if "/" in owner or owner.startswith("."):
            raise IPAMError(f"invalid owner {owner!r}")
        with self._locked():
            existing = self._owned(owner)
            if existing is not None:
                return existing
            first = int(self.gateway) + 1
            size = int(self.network.broadcast_address) - first
            start = self._last_offset(first, size)
            for step in range(1, size + 1):
                candidate = ipaddress.ip_address(first + (start + step) % size)
                try:
                    fd = os.open(os.path.join(self.dir, str(candidate)),
                                 os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
                except FileExistsError:
                    continue
                with os.fdopen(fd, "w") as f:
                    f.write(owner)
                    # No fsync: an allocation only has to outlive the agent, not the
                    # machine (a reboot takes every pod's namespace with it, and the
                    # agent reconciles), and syncing under the lock serialises pods.
                self._write_last(candidate)
                self._note_owner(owner, candidate)
                return candidate
            raise IPAMError(f"no free address left in {self.network} for {owner}")

    def release(self, owner: str) -> ipaddress.IPv4Address | None:
        """Free the owner's address; returns it, or None when it had none."""
        with self._locked():
            address = self._owned(owner)
            if address is not None:
                os.unlink(os.path.join(self.dir, str(address)))
            self._forget_owner(owner)
            return address

    def reconcile(self, live_owners: set[str]) -> list[ipaddress.IPv4Address]:
        """Free every address whose owner is not live (after a crash); returns them."""
        with self._locked():
            freed = []
            for owner, address in self._allocations().items():
                if owner not in live_owners:
                    os.unlink(os.path.join(self.dir, str(address)))
                    freed.append(address)
                elif not os.path.exists(os.path.join(self.owners, owner)):
                    self._note_owner(owner, address)  # an allocation from before owner files
            for owner in os.listdir(self.owners):
                if owner not in live_owners:
                    self._forget_owner(owner)
            return freed

    def allocations(self) -> dict[str, ipaddress.IPv4Address]:
        with self._locked():
            return self._allocations()

    def _last_offset(self, first: int, size: int) -> int:
        """Offset (from `first`) of the address handed out last; -1 when none."""
        try:
            with open(os.path.join(self.dir, "last")) as f:
                offset = int(ipaddress.ip_address(f.read().strip())) - first
        except (OSError, ValueError):
            return -1
        return offset if 0 <= offset < size else -1

    def _write_last(self, address: ipaddress.IPv4Address) -> None:
        tmp = os.path.join(self.dir, "last.tmp")
        with open(tmp, "w") as f:
            f.write(str(address))
        os.replace(tmp, os.path.join(self.dir, "last"))

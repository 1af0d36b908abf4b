"""The scheduler's cache: which pods occupy which node, including the ones it just placed.

Bound pods arrive from the pod informer (`spec.nodeName` set). A pod the scheduler
has just chosen a node for is *assumed* at once - its requests are added to the
node's row before the binding request is even sent - so the next pod, scheduled
microseconds later, already sees the room taken (kube-scheduler's assume cache).
Then:

- the informer reports the pod bound: the assumption is confirmed (moved if the pod
  ended up elsewhere);
- the binding fails: the assumption is forgotten and the room given back;
- the pod finishes (Succeeded/Failed) or is deleted: its room is given back.

Every change goes through `NodeTable.account`, the only writer of `requested`.
"""

from __future__ import annotations

from dataclasses import dataclass

from .nodetable import NodeTable
from .podinfo import TERMINAL_PHASES, PodInfo


@dataclass(eq=False)
class Accounted:
    info: PodInfo
    row: int
    assumed: bool


class PodCache:
    def __init__(self, nodes: NodeTable):
        self.nodes = nodes
        self.pods: dict[str, Accounted] = {}
        self.by_row: dict[int, dict[str, Accounted]] = {}

    def __len__(self) -> int:
        return len(self.pods)

    def _add(self, info: PodInfo, row: int, assumed: bool) -> None:
        self.nodes.account(row, info.requests, info.nonzero, info.ports, info.owner, +1)
        entry = self.pods[info.key] = Accounted(info, row, assumed)
        self.by_row.setdefault(row, {})[info.key] = entry

    def _remove(self, key: str) -> Accounted | None:
        entry = self.pods.pop(key, None)
        if entry is None:
            return None
        info = entry.info
        self.nodes.account(entry.row, info.requests, info.nonzero, info.ports, info.owner, -1)
        on_row = self.by_row.get(entry.row)
        if on_row is not None:
            on_row.pop(key, None)
            if not on_row:
                del self.by_row[entry.row]
        self.nodes.release_if_empty(entry.row)
        return entry

    def is_assumed(self, key: str) -> bool:
        entry = self.pods.get(key)
        return entry is not None and entry.assumed

    def assume(self, info: PodInfo, row: int) -> None:
        self._remove(info.key)
        self._add(info, row, assumed=True)

    def forget(self, key: str) -> bool:
        """Undo an assumption whose binding failed. False if it was confirmed meanwhile."""
        entry = self.pods.get(key)
        if entry is None or not entry.assumed:
            return False
        self._remove(key)
        return True

    def confirm(self, key: str, pod: dict) -> bool:
        """Confirm an assumption when `pod` is our own binding come back: the same pod
        (uid), bound to the node it was assumed on, still live, with the containers,
        init containers and overhead it was scheduled with (which is all its
        requests and host ports come from). Most pod events of a scheduling burst
        are these, and this spares reading each pod in full again. False: not such
        an event; `set_bound` with the pod read in full decides."""
        entry = self.pods.get(key)
        if entry is None or not entry.assumed or entry.info.raw is None:
            return False
        meta, spec = pod["metadata"], pod.get("spec") or {}
        scheduled = entry.info.raw.get("spec") or {}
        if spec.get("nodeName") != self.nodes.names[entry.row] \
                or meta.get("uid") != entry.info.uid or meta.get("deletionTimestamp") \
                or (pod.get("status") or {}).get("phase") in TERMINAL_PHASES:
            return False
        if any(spec.get(field) != scheduled.get(field)
               for field in ("containers", "initContainers", "overhead")):
            return False
        entry.assumed = False
        return True

    def set_bound(self, info: PodInfo) -> bool:
        """Record a pod the API says is on `info.node_name` (add, confirm or move).

        Returns True when room was given back somewhere (the pod finished, moved or
        shrank), which may let waiting pods fit.
        """
        entry = self.pods.get(info.key)
        if info.terminal:
            return self._remove(info.key) is not None
        row = self.nodes.row_for(info.node_name)
        if entry is not None and entry.row == row and entry.info.requests == info.requests \
                and entry.info.ports == info.ports:
            entry.info, entry.assumed = info, False
            return False
        freed = entry is not None
        self._remove(info.key)
        self._add(info, row, assumed=False)
        return freed

    def remove(self, key: str) -> bool:
        """A pod is gone. True if it held room on some node."""
        return self._remove(key) is not None

    def victims(self, row: int, priority: int) -> list[PodInfo]:
        """Pods on `row` that a pod of `priority` may preempt (lower priority)."""
        return [entry.info for entry in self.by_row.get(row, {}).values()
                if entry.info.priority < priority]

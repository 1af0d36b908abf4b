"""Every node the scheduler knows, laid out as columns: the state filters and scores read.

Each node owns a row (a slot index). Per row the table keeps

- `allocatable[r]` and `requested[r]` for every resource r (row 0 cpu in millicores,
  1 memory, 2 ephemeral-storage, 3 pods, then extended resources such as
  `nvidia.com/gpu` as they appear), float64 - exact for integers below 2**53, which is
  8 PiB of memory;
- `nonzero[0..1]`: requested cpu and memory counting request-less containers at
  100m / 200 MiB, which the resource scores use;
- `valid` (a live Node object), `unschedulable` (cordoned);
- labels, taints, host ports and pods per owner as columns (`columns.py`).

Conditions become taints here, exactly as Kubernetes' TaintNodesByCondition does: a
node that is not Ready carries `node.kubernetes.io/not-ready:NoSchedule` (or
`unreachable` when its status is Unknown), pressure conditions carry theirs. So "the
node must be Ready" is the taint filter, and a DaemonSet pod that tolerates
`not-ready` may still land there, as in Kubernetes.

A row outlives its Node while pods are still accounted to it (a node deleted before
its pods), and a pod bound to a node not yet seen gets a placeholder row; both rows
are `valid == False`, so nothing is scheduled onto them.

`static_generation` changes whenever labels, taints or cordoning change anywhere:
masks cached per pod shape are valid only for one generation. Not thread-safe: the
scheduler's loop thread is its only user.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .columns import LabelColumns, OwnerColumns, PortColumns, TaintColumns
from .resources import CPU, EPHEMERAL_STORAGE, MEMORY, PODS, PodSpecError, amount

BASE_RESOURCES = (CPU, MEMORY, EPHEMERAL_STORAGE, PODS)
NO_SCHEDULE = "NoSchedule"
NAME_FIELD = "metadata.name"

_CONDITION_TAINTS = {
    # condition type: (status that taints, taint key)
    "MemoryPressure": ("True", "node.kubernetes.io/memory-pressure"),
    "DiskPressure": ("True", "node.kubernetes.io/disk-pressure"),
    "PIDPressure": ("True", "node.kubernetes.io/pid-pressure"),
    "NetworkUnavailable": ("True", "node.kubernetes.io/network-unavailable"),
}
NOT_READY = "node.kubernetes.io/not-ready"
UNREACHABLE = "node.kubernetes.io/unreachable"


@dataclass(frozen=True)
class NodeChange:
    """What an upsert changed, for deciding which waiting pods may now fit."""

    added: bool
    static_changed: bool      # labels, taints, conditions or cordoning
    capacity_grew: bool       # some allocatable went up


def node_taints(node: dict) -> list[tuple[str, str, str]]:
    """The node's taints, followed by those its conditions imply."""
    taints = [(t.get("key", ""), str(t.get("value") or ""), t.get("effect", ""))
              for t in (node.get("spec") or {}).get("taints") or ()]
    present = {(key, effect) for key, _, effect in taints}
    conditions = {c.get("type"): c.get("status")
                  for c in (node.get("status") or {}).get("conditions") or ()}
    implied = []
    ready = conditions.get("Ready")
    if ready != "True":
        implied.append(UNREACHABLE if ready == "Unknown" else NOT_READY)
    for condition, (status, key) in _CONDITION_TAINTS.items():
        if conditions.get(condition) == status:
            implied.append(key)
    taints += [(key, "", NO_SCHEDULE) for key in implied if (key, NO_SCHEDULE) not in present]
    return taints


class NodeTable:
    def __init__(self, capacity: int = 64):
        self.capacity = capacity
        self.size = 0                      # rows [0, size) have ever been used
        self.names: list[str | None] = []
        self.index: dict[str, int] = {}
        self._free: list[int] = []
        self._deleted: set[int] = set()    # Node gone, pods still accounted
        self.valid = np.zeros(capacity, dtype=bool)
        self.unschedulable = np.zeros(capacity, dtype=bool)
        self.resources: dict[str, int] = {name: i for i, name in enumerate(BASE_RESOURCES)}
        self.allocatable = np.zeros((len(BASE_RESOURCES), capacity))
        self.requested = np.zeros((len(BASE_RESOURCES), capacity))
        self.nonzero = np.zeros((2, capacity))
        self.labels = LabelColumns(capacity)
        self.fields = LabelColumns(capacity)       # metadata.name, for matchFields
        self.taints = TaintColumns(capacity)
        self.ports = PortColumns(capacity)
        self.owners = OwnerColumns(capacity)
        self.static_generation = 0
        self.node_count = 0

    # -- rows ---------------------------------------------------------------------------

    def _grow(self) -> None:
        capacity = self.capacity * 2
        for attr in ("valid", "unschedulable"):
            grown = np.zeros(capacity, dtype=bool)
            grown[: self.capacity] = getattr(self, attr)
            setattr(self, attr, grown)
        for attr in ("allocatable", "requested", "nonzero"):
            old = getattr(self, attr)
            grown = np.zeros((old.shape[0], capacity))
            grown[:, : self.capacity] = old
            setattr(self, attr, grown)
        for columns in (self.labels, self.fields, self.taints, self.ports, self.owners):
            columns.grow(capacity)
        self.capacity = capacity

    def row_for(self, name: str) -> int:
        """The row of node `name`, allocating a placeholder row if it is unknown."""
        row = self.index.get(name)
        if row is not None:
            return row
        if self._free:
            row = self._free.pop()
        else:
            if self.size == self.capacity:
                self._grow()
            row = self.size
            self.size += 1
            self.names.append(None)
        self.names[row] = name
        self.index[name] = row
        self.fields.set(row, {NAME_FIELD: name})
        return row

    def resource_row(self, resource: str) -> int:
        """The row of a resource, adding an (all-zero) row for a new extended resource."""
        row = self.resources.get(resource)
        if row is None:
            row = self.resources[resource] = len(self.resources)
            zeros = np.zeros((1, self.capacity))
            self.allocatable = np.vstack([self.allocatable, zeros])
            self.requested = np.vstack([self.requested, zeros])
        return row

    # -- nodes --------------------------------------------------------------------------

    def upsert(self, node: dict) -> NodeChange:
        """Add or update a Node object."""
        meta, spec, status = node["metadata"], node.get("spec") or {}, node.get("status") or {}
        name = meta["name"]
        row = self.row_for(name)
        added = not self.valid[row]
        self._deleted.discard(row)

        allocatable = status.get("allocatable") or status.get("capacity") or {}
        old_alloc = self.allocatable[:, row].copy()
        self.allocatable[:, row] = 0
        for resource, value in allocatable.items():
            try:
                value = amount(resource, value)
            except PodSpecError:
                continue  # an unparsable capacity is no capacity
            resource_row = self.resource_row(resource)   # may grow the arrays: look up first
            self.allocatable[resource_row, row] = value
        new_alloc = self.allocatable[:, row]
        capacity_grew = bool((new_alloc[: len(old_alloc)] > old_alloc).any()) or added

        labels = meta.get("labels") or {}
        taints = node_taints(node)
        cordoned = bool(spec.get("unschedulable"))
        static_changed = (added or cordoned != self.unschedulable[row]
                          or taints != self.taints.of_row(row)
                          or not self.labels.row_equals(row, labels))
        if static_changed:
            self.labels.set(row, labels)
            self.taints.set(row, taints)
            self.unschedulable[row] = cordoned
            self.static_generation += 1
        if added:
            self.valid[row] = True
            self.node_count += 1
        return NodeChange(added, static_changed, capacity_grew)

    def remove(self, name: str) -> None:
        """Forget a Node; its row stays reserved while pods are accounted to it."""
        row = self.index.get(name)
        if row is None or not self.valid[row]:
            return
        self.valid[row] = False
        self.node_count -= 1
        self.static_generation += 1
        self._deleted.add(row)
        self.release_if_empty(row)

    def release_if_empty(self, row: int) -> None:
        """Free a row whose Node is gone (or never came) once no pod is accounted to it."""
        if self.valid[row] or self.requested[self.resources[PODS], row] > 0:
            return
        name = self.names[row]
        self._deleted.discard(row)
        del self.index[name]
        self.names[row] = None
        self.unschedulable[row] = False
        self.allocatable[:, row] = 0
        self.requested[:, row] = 0
        self.nonzero[:, row] = 0
        self.labels.clear(row)
        self.fields.clear(row)
        self.taints.clear(row)
        self._free.append(row)

    # -- pods ---------------------------------------------------------------------------

    def account(self, row: int, requests: dict[str, int], nonzero: tuple[int, int],
                ports, owner: str | None, sign: int) -> None:
        """Add (sign=+1) or remove (-1) one pod's requests, host ports and owner on a row."""
        for resource, value in requests.items():
            resource_row = self.resource_row(resource)
            self.requested[resource_row, row] += sign * value
        self.requested[self.resources[PODS], row] += sign
        self.nonzero[0, row] += sign * nonzero[0]
        self.nonzero[1, row] += sign * nonzero[1]
        if ports:
            self.ports.add(row, ports, sign)
        if owner:
            self.owners.add(owner, row, sign)

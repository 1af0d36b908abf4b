"""NodeResourcesFit: the pod's requests must fit in what the node has left, and, as a
score, how full the node would be.

Filter: for every resource the pod requests, `requested + request <= allocatable`,
and one more pod must fit under the node's `pods` allocatable. A rejected node gives
every shortfall as a reason (`Too many pods`, `Insufficient cpu`, ...), in Kubernetes'
order.

Score (`scoringStrategy.type`), per resource, weighted by `scoringStrategy.resources`
(default cpu and memory, weight 1), with the node's non-zero requested figures:

- LeastAllocated (default): `(allocatable - requested) * 100 / allocatable` - spreads;
- MostAllocated: `requested * 100 / allocatable` - bin-packs;
- RequestedToCapacityRatio: a broken-line function of utilisation given by `shape`
  points (`utilization` 0..100 -> `score` 0..10).
"""

from __future__ import annotations

import numpy as np

from ..errors import ConfigError
from ..framework import MAX_NODE_SCORE, FilterPlugin, ScorePlugin, register
from ..resources import CPU, EPHEMERAL_STORAGE, MEMORY, PODS

STRATEGIES = ("LeastAllocated", "MostAllocated", "RequestedToCapacityRatio")
DEFAULT_RESOURCES = [{"name": CPU, "weight": 1}, {"name": MEMORY, "weight": 1}]
_ORDER = {CPU: 0, MEMORY: 1, EPHEMERAL_STORAGE: 2}
_NONZERO_ROW = {CPU: 0, MEMORY: 1}


def resource_specs(args: dict, key: str = "resources") -> list[tuple[str, int]]:
    specs = []
    for spec in args.get(key) or DEFAULT_RESOURCES:
        weight = spec.get("weight", 1)
        if not isinstance(weight, int) or weight <= 0:
            raise ConfigError(f"{key}: weight of {spec.get('name')!r} must be a positive integer")
        specs.append((str(spec.get("name")), weight))
    return specs


def utilisation(pod, nodes, rows, resource: str, nonzero: bool):
    """(allocatable, requested with the pod) over `rows` for one resource."""
    # `table[row].take(rows)` gathers the same values as `table[row, rows]` in a third
    # of the time (numpy's mixed scalar/array indexing is slow): this runs 4 times
    # per scheduled pod.
    row = nodes.resource_row(resource)
    allocatable = nodes.allocatable[row].take(rows)
    if nonzero and resource in _NONZERO_ROW:
        index = _NONZERO_ROW[resource]
        requested = nodes.nonzero[index].take(rows) + pod.nonzero[index]
    else:
        requested = nodes.requested[row].take(rows) + pod.requests.get(resource, 0)
    return allocatable, requested


@register
class NodeResourcesFit(FilterPlugin, ScorePlugin):
    name = "NodeResourcesFit"

    def __init__(self, args=None):
        super().__init__(args)
        strategy = self.args.get("scoringStrategy") or {}
        self.strategy = strategy.get("type") or "LeastAllocated"
        if self.strategy not in STRATEGIES:
            raise ConfigError(f"NodeResourcesFit: scoringStrategy.type {self.strategy!r} "
                              f"is not one of {', '.join(STRATEGIES)}")
        self.resources = resource_specs(strategy)
        shape = ((strategy.get("requestedToCapacityRatio") or {}).get("shape")
                 or [{"utilization": 0, "score": 10}, {"utilization": 100, "score": 0}])
        points = sorted((int(p["utilization"]), int(p["score"]) * 10) for p in shape)
        self.shape_x = np.array([x for x, _ in points], dtype=float)
        self.shape_y = np.array([y for _, y in points], dtype=float)

    # -- filter -------------------------------------------------------------------------

    def _short(self, pod, nodes, size):
        """(reason, boolean rows lacking it) per resource, in Kubernetes' order."""
        pods_row = nodes.resources[PODS]
        yield "Too many pods", nodes.requested[pods_row, :size] + 1 > nodes.allocatable[
            pods_row, :size]
        ordered = sorted(pod.requests.items(), key=lambda kv: (_ORDER.get(kv[0], 3), kv[0]))
        for resource, value in ordered:
            row = nodes.resource_row(resource)
            yield (f"Insufficient {resource}",
                   nodes.requested[row, :size] + value > nodes.allocatable[row, :size])

    def feasible(self, pod, nodes):
        short = np.zeros(nodes.size, dtype=bool)
        for _, lacking in self._short(pod, nodes, nodes.size):
            short |= lacking
        return ~short

    def reasons(self, pod, nodes, rows):
        return [(reason, lacking[rows]) for reason, lacking in self._short(pod, nodes, nodes.size)
                if lacking[rows].any()]

    # -- score --------------------------------------------------------------------------

    def _resource_score(self, allocatable, requested):
        """Per row; rows with no allocatable (a division by zero) are masked by the caller."""
        if self.strategy == "LeastAllocated":
            score = np.floor((allocatable - requested) * MAX_NODE_SCORE / allocatable)
            score[requested > allocatable] = 0
            return score
        if self.strategy == "MostAllocated":
            used = np.minimum(requested, allocatable)
            return np.floor(used * MAX_NODE_SCORE / allocatable)
        ratio = np.where(requested > allocatable, 100,
                         np.floor(requested * 100 / allocatable))
        return np.floor(np.interp(ratio, self.shape_x, self.shape_y))

    def score(self, pod, nodes, rows):
        total = np.zeros(rows.shape)
        weights = np.zeros(rows.shape)
        # One errstate for the whole score: entering one costs as much as an array op.
        with np.errstate(divide="ignore", invalid="ignore"):
            for resource, weight in self.resources:
                allocatable, requested = utilisation(pod, nodes, rows, resource, nonzero=True)
                present = allocatable > 0
                score = self._resource_score(allocatable, requested)
                score[~present] = 0
                if self.strategy == "RequestedToCapacityRatio":
                    present &= score > 0
                total += score * weight * present
                weights += weight * present
            if self.strategy == "RequestedToCapacityRatio":
                # Go's math.Round: halves away from zero (numpy rounds them to even)
                return np.where(weights > 0, np.floor(total / weights + 0.5), 0)
            return np.where(weights > 0, np.floor(total / weights), 0)

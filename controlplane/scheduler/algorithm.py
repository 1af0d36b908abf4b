"""One scheduling decision: filter every node at once, sample, score, pick.

For a pod, with the profile's plugins:

1. Feasible rows = live nodes & the static filters (cached per pod shape and node
   generation: replicas of one Deployment compute their selector/taint masks once)
   & the dynamic filters (resources, ports: a few array comparisons).
2. Sampling as kube's `percentageOfNodesToScore`: in big clusters only the first K
   feasible nodes, walking round-robin from where the previous pod stopped, are
   scored (K = max(100, N * (50 - N/125) / 100), at least 5% of N, by default).
3. Weighted sum of the score plugins over those rows; the best row wins, ties
   broken at random (kube's reservoir sampling among the top).

No Python loop runs per node. If nothing is feasible, `diagnosis.diagnose` explains.

Pending pods of one kind (the replicas of one Deployment: `PodInfo.kind`) are placed
in batches (`schedule_many`) with the same outcome as one by one, for a fraction
of the array calls: with sampling, consecutive pods score consecutive windows of
the feasible rows, so while B windows fit before the rows end they are disjoint,
and a pod placed in one window changes no row of another. Every row-local score
plugin (all but PodTopologySpread, whose zone counts span windows) then scores the
B windows in one call over a (B, K) array of rows; PodTopologySpread scores each
pod after the one before it was assumed. Filters are row-local too, so the rows
that later windows hold stay feasible whatever earlier pods took. Ties are broken
by the same generator in the same order, and scores are whole numbers, so adding
them in another order gives the same sums.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from .diagnosis import FitError, diagnose
from .framework import FilterPlugin, ScorePlugin
from .nodetable import NodeTable
from .podinfo import PodInfo

MIN_FEASIBLE_NODES_TO_FIND = 100
MIN_FEASIBLE_NODES_PERCENTAGE = 5
MASK_CACHE_SIZE = 512
MAX_BATCH = 16


def nodes_to_find(num_nodes: int, percentage: int) -> int:
    """How many feasible nodes to score (kube's numFeasibleNodesToFind)."""
    if num_nodes < MIN_FEASIBLE_NODES_TO_FIND or percentage >= 100:
        return num_nodes
    if percentage <= 0:
        percentage = max(50 - num_nodes // 125, MIN_FEASIBLE_NODES_PERCENTAGE)
    return max(num_nodes * percentage // 100, MIN_FEASIBLE_NODES_TO_FIND)


@dataclass
class Profile:
    """The plugins one schedulerName runs, in order, with score weights."""

    scheduler_name: str
    filters: list[FilterPlugin]
    scorers: list[tuple[ScorePlugin, int]]
    percentage_of_nodes_to_score: int = 0
    preemption: bool = True


@dataclass
class Placement:
    row: int
    node: str
    feasible: int        # feasible nodes found (within the sample)
    scored: int


class Algorithm:
    def __init__(self, profile: Profile, seed: int | None = None):
        self.profile = profile
        self.rng = np.random.default_rng(seed)
        self._static = [f for f in profile.filters if f.static]
        self._dynamic = [f for f in profile.filters if not f.static]
        self._row_local = [(p, w) for p, w in profile.scorers if p.row_local]
        self._per_pod = [(p, w) for p, w in profile.scorers if not p.row_local]
        self._masks: OrderedDict[str, tuple[int, int, np.ndarray]] = OrderedDict()
        self._next_start = 0

    def static_mask(self, pod: PodInfo, nodes: NodeTable) -> np.ndarray:
        """Live rows that pass every node-static filter, cached per pod shape."""
        cached = self._masks.get(pod.shape)
        if cached and cached[0] == nodes.static_generation and cached[1] == nodes.size:
            self._masks.move_to_end(pod.shape)
            return cached[2]
        mask = nodes.valid[: nodes.size].copy()
        for plugin in self._static:
            feasible = plugin.feasible(pod, nodes)
            if feasible is not None:
                mask &= feasible
        self._masks[pod.shape] = (nodes.static_generation, nodes.size, mask)
        self._masks.move_to_end(pod.shape)
        if len(self._masks) > MASK_CACHE_SIZE:
            self._masks.popitem(last=False)
        return mask

    def feasible_rows(self, pod: PodInfo, nodes: NodeTable) -> np.ndarray:
        mask = self.static_mask(pod, nodes)
        copied = False
        for plugin in self._dynamic:
            feasible = plugin.feasible(pod, nodes)
            if feasible is not None:
                if not copied:
                    mask, copied = mask & feasible, True
                else:
                    mask &= feasible
        return np.flatnonzero(mask)

    def _sample(self, rows: np.ndarray, nodes: NodeTable) -> np.ndarray:
        wanted = nodes_to_find(nodes.node_count, self.profile.percentage_of_nodes_to_score)
        if len(rows) <= wanted:
            return rows
        start = self._next_start % nodes.size
        split = int(rows.searchsorted(start))
        if split + wanted <= len(rows):
            ordered = rows[split:split + wanted]       # no wrap-around: a view, no copy
        else:
            ordered = np.concatenate([rows[split:], rows[:split]])[:wanted]
        self._next_start = (int(ordered[-1]) + 1) % nodes.size
        return ordered

    def scores(self, pod: PodInfo, nodes: NodeTable, rows: np.ndarray,
               scorers: list | None = None) -> np.ndarray:
        """The weighted sum of the score plugins over `rows` (1-D, or one window of
        candidates per line when 2-D)."""
        total = np.zeros(rows.shape)
        for plugin, weight in self.profile.scorers if scorers is None else scorers:
            score = plugin.score(pod, nodes, rows)
            if score is not None:
                total += weight * score
        return total

    def _pick(self, rows: np.ndarray, total: np.ndarray) -> int:
        best = np.flatnonzero(total == total.max())
        return int(rows[best[self.rng.integers(len(best))] if len(best) > 1 else best[0]])

    def schedule(self, pod: PodInfo, nodes: NodeTable) -> Placement | FitError:
        if nodes.node_count == 0:
            return FitError(num_nodes=0)
        return self._place(pod, nodes, self.feasible_rows(pod, nodes))

    def _place(self, pod: PodInfo, nodes: NodeTable, rows: np.ndarray) -> Placement | FitError:
        if len(rows) == 0:
            return diagnose(pod, nodes, self.profile.filters)
        feasible = len(rows)
        rows = self._sample(rows, nodes)
        if len(rows) == 1:
            row = int(rows[0])
        else:
            row = self._pick(rows, self.scores(pod, nodes, rows))
        return Placement(row=row, node=nodes.names[row], feasible=feasible, scored=len(rows))

    def schedule_many(self, pods: list[PodInfo],
                      nodes: NodeTable) -> Iterator[Placement | FitError]:
        """Place pods of one `kind`, in order, as `schedule` would one by one: the caller
        must account each placement (assume it) before asking for the next."""
        done = 0
        while done < len(pods):
            if nodes.node_count == 0:
                yield FitError(num_nodes=0)
                done += 1
                continue
            rows = self.feasible_rows(pods[done], nodes)
            windows = self._windows(rows, nodes, min(len(pods) - done, MAX_BATCH))
            if windows is None:
                yield self._place(pods[done], nodes, rows)
                done += 1
                continue
            row_local = self.scores(pods[done], nodes, windows, self._row_local)
            for window, total in zip(windows, row_local, strict=True):
                pod = pods[done]
                if self._per_pod:
                    total = total + self.scores(pod, nodes, window, self._per_pod)
                row = self._pick(window, total)
                done += 1
                yield Placement(row=row, node=nodes.names[row], feasible=len(rows),
                                scored=len(window))

    def _windows(self, rows: np.ndarray, nodes: NodeTable, pods: int) -> np.ndarray | None:
        """The sampling windows of the next `pods` pods as a (B, K) array, when at least
        two fit, disjoint, before the feasible rows end; else None (one at a time)."""
        wanted = nodes_to_find(nodes.node_count, self.profile.percentage_of_nodes_to_score)
        if pods < 2 or len(rows) <= wanted:
            return None
        split = int(rows.searchsorted(self._next_start % nodes.size))
        count = min(pods, (len(rows) - split) // wanted)
        if count < 2:
            return None
        windows = rows[split:split + count * wanted].reshape(count, wanted)
        self._next_start = (int(windows[-1, -1]) + 1) % nodes.size
        return windows

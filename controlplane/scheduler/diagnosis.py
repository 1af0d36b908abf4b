"""Why a pod fits nowhere, in Kubernetes' words.

When no node passes the filters, every node is examined again, filter by filter in
the profile's order: a node is charged to the first filter that rejects it (as the
kube-scheduler framework stops at the first failing plugin), with every reason that
filter gives (`Insufficient cpu` and `Insufficient memory` both count). The message
is kube's FitError:

    0/3 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/
    control-plane: }, 2 Insufficient cpu. preemption: 0/3 nodes are available: 1
    Preemption is not helpful for scheduling, 2 No preemption victims found for
    incoming pod..

The `preemption:` part is what kube's DefaultPreemption PostFilter reports: nodes
whose failure eviction cannot cure are "not helpful"; on the others the scheduler
looks for pods of lower priority whose removal would make room (`victims`). Nodes
with none say "No preemption victims found for incoming pod"; nodes where even
removing them all is not enough repeat the filter's reason. Nodes where eviction
would make room are the preemption candidates (`FitError.candidates`).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np

NOT_HELPFUL = "Preemption is not helpful for scheduling"
NO_VICTIMS = "No preemption victims found for incoming pod"
NOT_ELIGIBLE = "not eligible due to preemptionPolicy=Never."
NO_NODES = "no nodes available to schedule pods"


def histogram(counts: Counter) -> str:
    """`2 Insufficient cpu, 1 node(s) were unschedulable`, sorted as Go sorts strings."""
    return ", ".join(sorted(f"{n} {reason}" for reason, n in counts.items() if n))


@dataclass
class FitError:
    num_nodes: int
    reasons: Counter = field(default_factory=Counter)
    preemption: str = ""                 # the PostFilter's message, "" if it did not run
    candidates: list[int] = field(default_factory=list)   # rows where eviction helps
    resolvable_rows: np.ndarray | None = None            # rows failing resolvable filters

    def message(self) -> str:
        if self.num_nodes == 0:
            return NO_NODES
        text = f"0/{self.num_nodes} nodes are available:"
        listed = histogram(self.reasons)
        if listed:
            text += f" {listed}."
        if self.preemption:
            text += f" {self.preemption}."
        return text


def diagnose(pod, nodes, filters) -> FitError:
    """Charge every live node to the first filter that rejects it."""
    error = FitError(num_nodes=nodes.node_count)
    remaining = np.flatnonzero(nodes.valid[: nodes.size])
    resolvable = []
    for plugin in filters:
        if len(remaining) == 0:
            break
        feasible = plugin.feasible(pod, nodes)
        if feasible is None:
            continue
        passing = feasible[remaining]
        failing = remaining[~passing]
        if len(failing):
            for reason, which in plugin.reasons(pod, nodes, failing):
                error.reasons[reason] += int(np.count_nonzero(which))
            if not plugin.unresolvable:
                resolvable.append(failing)
        remaining = remaining[passing]
    error.resolvable_rows = (np.concatenate(resolvable) if resolvable
                             else np.zeros(0, dtype=np.int64))
    return error


def explain_preemption(error: FitError, pod, nodes, filters, victims) -> None:
    """Fill in the preemption part: `victims(row, priority)` lists the pods on a row
    that a pod of `priority` may evict (lower priority)."""
    if pod.preemption_never:
        error.preemption = f"preemption: {NOT_ELIGIBLE}"
        return
    statuses: Counter = Counter()
    rows = error.resolvable_rows if error.resolvable_rows is not None else ()
    for row in rows:
        row = int(row)
        evictable = victims(row, pod.priority)
        if not evictable:
            statuses[NO_VICTIMS] += 1
            continue
        reasons = _reasons_without(pod, nodes, filters, row, evictable)
        if reasons:
            statuses.update(reasons)
        else:
            error.candidates.append(row)
    statuses[NOT_HELPFUL] += error.num_nodes - len(rows)
    if not error.candidates:
        error.preemption = (f"preemption: 0/{error.num_nodes} nodes are available: "
                            f"{histogram(statuses)}.")


def _reasons_without(pod, nodes, filters, row, evictable) -> list[str]:
    """The dynamic filters' reasons on `row` if every pod in `evictable` were gone."""
    for other in evictable:
        nodes.account(row, other.requests, other.nonzero, other.ports, other.owner, -1)
    try:
        rows = np.array([row])
        for plugin in filters:
            if plugin.static:
                continue
            feasible = plugin.feasible(pod, nodes)
            if feasible is not None and not feasible[row]:
                return [reason for reason, which in plugin.reasons(pod, nodes, rows) if which[0]]
        return []
    finally:
        for other in evictable:
            nodes.account(row, other.requests, other.nonzero, other.ports, other.owner, +1)

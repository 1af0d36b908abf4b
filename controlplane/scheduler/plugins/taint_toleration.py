"""TaintToleration: a node's NoSchedule and NoExecute taints (including those its
conditions imply, such as `node.kubernetes.io/not-ready`) keep off every pod that does
not tolerate them; as a score, fewer untolerated PreferNoSchedule taints is better.

Only the distinct taints of the cluster are matched against the pod's tolerations, in
Python; which nodes carry them is one array op over the taint matrix.
"""

from __future__ import annotations

from ..framework import FilterPlugin, ScorePlugin, normalize, register
from .tolerations import untolerated

HARD_EFFECTS = ("NoSchedule", "NoExecute")


def _untolerated_ids(pod, nodes, effects) -> list[int]:
    tolerations = pod.tolerations
    if effects == ("PreferNoSchedule",):
        tolerations = [t for t in tolerations
                       if (t.get("effect") or "PreferNoSchedule") == "PreferNoSchedule"]
    return untolerated(nodes.taints.taints, tolerations, effects)


@register
class TaintToleration(FilterPlugin, ScorePlugin):
    name = "TaintToleration"
    static = True
    unresolvable = True

    def feasible(self, pod, nodes):
        ids = _untolerated_ids(pod, nodes, HARD_EFFECTS)
        if not ids:
            return None
        return ~nodes.taints.any_of(ids, nodes.size)

    def reasons(self, pod, nodes, rows):
        ids = _untolerated_ids(pod, nodes, HARD_EFFECTS)
        first = nodes.taints.first_of(ids, rows)
        reasons = []
        for taint_id in sorted(set(first.tolist())):
            key, value, _ = nodes.taints.taints[taint_id]
            reasons.append((f"node(s) had untolerated taint {{{key}: {value}}}",
                            first == taint_id))
        return reasons

    def score(self, pod, nodes, rows):
        ids = _untolerated_ids(pod, nodes, ("PreferNoSchedule",))
        if not ids:
            return None
        counts = (nodes.taints.matrix[ids][:, rows] > 0).sum(axis=0)
        return normalize(counts.astype(float), reverse=True)

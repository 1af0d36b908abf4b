"""NodeUnschedulable: no pod lands on a cordoned node (`spec.unschedulable`) unless it
tolerates the `node.kubernetes.io/unschedulable:NoSchedule` taint, as DaemonSet pods do."""

from __future__ import annotations

import numpy as np

from ..framework import FilterPlugin, register
from .tolerations import tolerates

UNSCHEDULABLE_TAINT = ("node.kubernetes.io/unschedulable", "", "NoSchedule")
REASON = "node(s) were unschedulable"


@register
class NodeUnschedulable(FilterPlugin):
    name = "NodeUnschedulable"
    static = True
    unresolvable = True

    def feasible(self, pod, nodes):
        if any(tolerates(t, UNSCHEDULABLE_TAINT) for t in pod.tolerations):
            return None
        return ~nodes.unschedulable[: nodes.size]

    def reasons(self, pod, nodes, rows):
        return [(REASON, np.ones(len(rows), dtype=bool))]

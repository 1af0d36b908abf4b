"""NodePorts: a pod that claims a host port cannot share a node with a pod already
holding that port (same protocol and port, and the same host IP or either on 0.0.0.0).
Removing the holder would cure it, so preemption may help."""

from __future__ import annotations

import numpy as np

from ..framework import FilterPlugin, register

REASON = "node(s) didn't have free ports for the requested pod ports"


@register
class NodePorts(FilterPlugin):
    name = "NodePorts"

    def feasible(self, pod, nodes):
        if not pod.ports:
            return None
        return ~nodes.ports.in_use(nodes.ports.conflicting(pod.ports), nodes.size)

    def reasons(self, pod, nodes, rows):
        return [(REASON, np.ones(len(rows), dtype=bool))]

"""NodeResourcesBalancedAllocation: prefer nodes whose resources would be used evenly.

Per node, the fractions `requested / allocatable` (capped at 1) of the configured
resources (default cpu and memory) after placing the pod; the score is
`(1 - standard deviation) * 100` - for two resources `|f1 - f2| / 2`. Pods that
request nothing are skipped, as in Kubernetes (they cannot unbalance anything).
"""

from __future__ import annotations

import numpy as np

from ..framework import MAX_NODE_SCORE, ScorePlugin, register
from .node_resources_fit import resource_specs, utilisation


@register
class NodeResourcesBalancedAllocation(ScorePlugin):
    name = "NodeResourcesBalancedAllocation"

    def __init__(self, args=None):
        super().__init__(args)
        self.resources = [name for name, _ in resource_specs(self.args)]

    def score(self, pod, nodes, rows):
        if not any(pod.requests.get(name) for name in self.resources):
            return None
        fractions, present = [], []
        with np.errstate(divide="ignore", invalid="ignore"):
            for resource in self.resources:
                allocatable, requested = utilisation(pod, nodes, rows, resource, nonzero=False)
                has = allocatable > 0
                fraction = np.minimum(requested / allocatable, 1)
                fraction[~has] = 0
                fractions.append(fraction)
                present.append(has)
        if len(fractions) == 2:
            # the usual cpu+memory case: the standard deviation of two values is half
            # their distance (and 0 when only one of them is present)
            both = present[0] & present[1]
            std = np.where(both, np.abs(fractions[0] - fractions[1]) / 2, 0)
            return np.floor((1 - std) * MAX_NODE_SCORE)
        fractions, present = np.array(fractions), np.array(present)
        count = present.sum(axis=0)
        with np.errstate(divide="ignore", invalid="ignore"):
            mean = np.where(count > 0, (fractions * present).sum(axis=0) / count, 0)
            variance = np.where(count > 0,
                                (((fractions - mean) ** 2) * present).sum(axis=0) / count, 0)
        return np.floor((1 - np.sqrt(variance)) * MAX_NODE_SCORE)

"""PodTopologySpread (system defaults): spread the replicas of one owner across nodes
and zones.

Kubernetes applies two default constraints to every pod that belongs to a
controller, both `ScheduleAnyway` (a score, never a filter): `kubernetes.io/hostname`
with maxSkew 3 and `topology.kubernetes.io/zone` with maxSkew 5, counting the pods
that share the pod's owner. Per candidate node, each constraint adds
`pods in the node's domain * log(domains + 2) + maxSkew - 1`; fewer is better, and
the sums are normalised as kube's NormalizeScore does:
`100 * (max + min - s) / max`. Nodes without a zone label skip the zone term.

The replica counts come from the node table's owner columns (kept current as pods
are assumed and bound); what Kubernetes derives from Service and ReplicaSet
selectors is here the pod's controller ownerReference. Pods without an owner are
not scored.
"""

from __future__ import annotations

import math

import numpy as np

from ..framework import MAX_NODE_SCORE, ScorePlugin, register

HOSTNAME_SKEW = 3
ZONE_KEY = "topology.kubernetes.io/zone"
ZONE_SKEW = 5


@register
class PodTopologySpread(ScorePlugin):
    name = "PodTopologySpread"

    def score(self, pod, nodes, rows):
        if not pod.owner or len(rows) == 0:
            return None
        per_node = nodes.owners.dense(pod.owner)[: nodes.size]
        raw = per_node[rows] * math.log(len(rows) + 2) + (HOSTNAME_SKEW - 1)

        zones = nodes.labels.column(ZONE_KEY)
        if zones is not None:
            zones = zones[: nodes.size]
            labelled = zones >= 0
            if labelled.any():
                per_zone = np.bincount(zones[labelled], weights=per_node[labelled])
                candidate_zones = zones[rows]
                has_zone = candidate_zones >= 0
                domains = len(np.unique(candidate_zones[has_zone]))
                zone_count = np.where(has_zone, per_zone[np.maximum(candidate_zones, 0)], 0)
                raw += np.where(has_zone,
                                zone_count * math.log(domains + 2) + (ZONE_SKEW - 1), 0)

        raw = np.floor(raw + 0.5)      # Go's math.Round
        top, bottom = raw.max(), raw.min()
        if top == 0:
            return np.full(len(rows), float(MAX_NODE_SCORE))
        return np.floor(MAX_NODE_SCORE * (top + bottom - raw) / top)

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
    row_local = False      # a node's zone term counts the pods of the whole zone

    def __init__(self, args=None):
        super().__init__(args)
        self._zones_key = None
        self._zones = None

    def _zone_layout(self, nodes):
        """(zone bucket per row, zone code per row, number of zones), per node generation.

        kube counts the zones among the candidate nodes; the zones of all live nodes are
        used here, which differs only when a pod's own filters exclude whole zones."""
        key = (id(nodes), nodes.static_generation, nodes.size)
        if key != self._zones_key:
            self._zones_key, self._zones = key, None
            column = nodes.labels.column(ZONE_KEY)
            if column is not None:
                codes = column[: nodes.size]
                live = (codes >= 0) & nodes.valid[: nodes.size]
                if live.any():
                    # one bucket per zone, plus a last one for rows without a live zone
                    buckets = np.where(live, codes, codes.max() + 1)
                    self._zones = (buckets, codes, len(np.unique(codes[live])))
        return self._zones

    def score(self, pod, nodes, rows):
        if not pod.owner or len(rows) == 0:
            return None
        per_node = nodes.owners.dense(pod.owner)
        # `.take(rows)`: the same gather as `[rows]`, cheaper on the small arrays here
        raw = per_node.take(rows) * math.log(len(rows) + 2) + (HOSTNAME_SKEW - 1)

        zones = self._zone_layout(nodes)
        if zones is not None:
            buckets, codes, domains = zones
            per_zone = np.bincount(buckets, weights=per_node[: nodes.size])
            candidate_zones = codes.take(rows)
            has_zone = candidate_zones >= 0
            zone_count = per_zone.take(candidate_zones.clip(0, len(per_zone) - 1))
            raw += np.where(has_zone, zone_count * math.log(domains + 2) + (ZONE_SKEW - 1), 0)

        raw = np.floor(raw + 0.5)      # Go's math.Round
        top, bottom = raw.max(), raw.min()
        if top == 0:
            return np.full(len(rows), float(MAX_NODE_SCORE))
        return np.floor(MAX_NODE_SCORE * (top + bottom - raw) / top)

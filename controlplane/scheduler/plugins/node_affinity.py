"""NodeAffinity: `nodeSelector` and required node affinity as a filter, preferred node
affinity as a score.

A node selector term is ANDed `matchExpressions` over labels (In, NotIn, Exists,
DoesNotExist, Gt, Lt) and `matchFields` over fields (Kubernetes supports only
`metadata.name`); the terms of `nodeSelectorTerms` are ORed, and an empty term
matches nothing. Each requirement is one comparison over a coded label column.
"""

from __future__ import annotations

import numpy as np

from ..columns import LabelColumns
from ..framework import FilterPlugin, ScorePlugin, normalize, register

REASON = "node(s) didn't match Pod's node affinity/selector"
SUPPORTED_FIELDS = ("metadata.name",)


def requirement(columns: LabelColumns, size: int, expr: dict) -> np.ndarray:
    """Rows [0, size) that satisfy one NodeSelectorRequirement."""
    key, operator = expr.get("key", ""), expr.get("operator", "")
    values = [str(v) for v in expr.get("values") or ()]
    column = columns.column(key)
    column = column[:size] if column is not None else np.full(size, -1, dtype=np.int32)
    if operator in ("In", "NotIn"):
        codes = columns.codes(key, values)
        inside = np.isin(column, codes) if codes else np.zeros(size, dtype=bool)
        return inside if operator == "In" else ~inside
    if operator == "Exists":
        return column >= 0
    if operator == "DoesNotExist":
        return column < 0
    if operator in ("Gt", "Lt") and len(values) == 1:
        try:
            bound = int(values[0], 10)
        except ValueError:
            return np.zeros(size, dtype=bool)
        numbers = columns.numeric(key)[column]
        return numbers > bound if operator == "Gt" else numbers < bound
    return np.zeros(size, dtype=bool)   # an invalid requirement matches nothing


def term(nodes, size: int, node_term: dict) -> np.ndarray:
    """Rows matching one NodeSelectorTerm (all its requirements)."""
    expressions = node_term.get("matchExpressions") or ()
    fields = node_term.get("matchFields") or ()
    matched = np.zeros(size, dtype=bool)
    if not expressions and not fields:
        return matched
    matched[:] = True
    for expr in expressions:
        matched &= requirement(nodes.labels, size, expr)
    for expr in fields:
        if expr.get("key") not in SUPPORTED_FIELDS:
            return np.zeros(size, dtype=bool)
        matched &= requirement(nodes.fields, size, expr)
    return matched


def selector_terms(nodes, size: int, terms: list[dict]) -> np.ndarray:
    matched = np.zeros(size, dtype=bool)
    for node_term in terms:
        matched |= term(nodes, size, node_term or {})
    return matched


@register
class NodeAffinity(FilterPlugin, ScorePlugin):
    name = "NodeAffinity"
    static = True
    unresolvable = True

    def feasible(self, pod, nodes):
        if not pod.node_selector and pod.required_terms is None:
            return None
        size = nodes.size
        matched = np.ones(size, dtype=bool)
        for key, value in pod.node_selector.items():
            matched &= requirement(nodes.labels, size,
                                   {"key": key, "operator": "In", "values": [value]})
        if pod.required_terms is not None:
            matched &= selector_terms(nodes, size, pod.required_terms)
        return matched

    def reasons(self, pod, nodes, rows):
        return [(REASON, np.ones(len(rows), dtype=bool))]

    def score(self, pod, nodes, rows):
        if not pod.preferred_terms:
            return None
        total = np.zeros(rows.shape)
        for preferred in pod.preferred_terms:
            weight = int(preferred.get("weight") or 0)
            if weight:
                total += weight * term(nodes, nodes.size, preferred.get("preference") or {})[rows]
        return normalize(total)

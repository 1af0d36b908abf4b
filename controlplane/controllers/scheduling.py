"""Pod-to-node predicates the controllers need: taints, tolerations, node affinity.

The DaemonSet controller decides which nodes should run a daemon pod, and the
taint-eviction controller which pods a NoExecute taint drives off a node; both
answer the questions kube-scheduler's plugins answer, for one pod and one node at a
time (the scheduler itself works on arrays of nodes and lives in another package).

    tolerates(toleration, taint)     Kubernetes' ToleratesTaint
    untolerated(taints, tolerations, effects)
    node_matches(pod_spec, node)     nodeSelector and required node affinity
    target_node(pod)                 spec.nodeName, or the node a DaemonSet pod's
                                     affinity pins it to
"""

from __future__ import annotations

from supernetes.controlplane.api.selectors import Requirement

NAME_FIELD = "metadata.name"


def tolerates(toleration: dict, taint: dict) -> bool:
    effect = toleration.get("effect") or ""
    if effect and effect != taint.get("effect"):
        return False
    key = toleration.get("key") or ""
    operator = toleration.get("operator") or "Equal"
    if not key:
        return operator == "Exists"     # an empty key with Exists tolerates every taint
    if key != taint.get("key"):
        return False
    if operator == "Exists":
        return True
    return (toleration.get("value") or "") == (taint.get("value") or "")


def untolerated(taints: list[dict], tolerations: list[dict],
                effects: tuple[str, ...] = ("NoSchedule", "NoExecute")) -> list[dict]:
    return [t for t in taints or () if t.get("effect") in effects
            and not any(tolerates(tol, t) for tol in tolerations or ())]


_OPS = {"In": "in", "NotIn": "notin", "Exists": "exists", "DoesNotExist": "!",
        "Gt": "gt", "Lt": "lt"}


def _requirement_matches(expr: dict, values: dict) -> bool:
    op = _OPS.get(expr.get("operator") or "")
    if op is None:
        return False
    return Requirement(expr.get("key", ""), op, tuple(expr.get("values") or ())).matches(values)


def _term_matches(term: dict, node: dict) -> bool:
    expressions = term.get("matchExpressions") or []
    fields = term.get("matchFields") or []
    if not expressions and not fields:
        return False                    # an empty term matches no node
    labels = (node.get("metadata") or {}).get("labels") or {}
    node_fields = {NAME_FIELD: (node.get("metadata") or {}).get("name", "")}
    return all(_requirement_matches(e, labels) for e in expressions) and \
        all(_requirement_matches(f, node_fields) for f in fields)


def node_matches(pod_spec: dict, node: dict) -> bool:
    """nodeSelector (every label) and required node affinity (any term) both hold."""
    labels = (node.get("metadata") or {}).get("labels") or {}
    for key, value in (pod_spec.get("nodeSelector") or {}).items():
        if labels.get(key) != value:
            return False
    required = (((pod_spec.get("affinity") or {}).get("nodeAffinity") or {})
                .get("requiredDuringSchedulingIgnoredDuringExecution"))
    if not required:
        return True
    return any(_term_matches(term, node) for term in required.get("nodeSelectorTerms") or ())


def target_node(pod: dict) -> str:
    spec = pod.get("spec") or {}
    if spec.get("nodeName"):
        return spec["nodeName"]
    required = (((spec.get("affinity") or {}).get("nodeAffinity") or {})
                .get("requiredDuringSchedulingIgnoredDuringExecution")) or {}
    for term in required.get("nodeSelectorTerms") or ():
        for field in term.get("matchFields") or ():
            if field.get("key") == NAME_FIELD and field.get("operator") == "In" and \
                    len(field.get("values") or ()) == 1:
                return field["values"][0]
    return ""


def pin_to_node(pod_spec: dict, node_name: str) -> None:
    """Replace the required node affinity by "this node" (Kubernetes'
    ReplaceDaemonSetPodNodeNameNodeAffinity): the scheduler then binds the pod there."""
    affinity = pod_spec.setdefault("affinity", {})
    node_affinity = affinity.setdefault("nodeAffinity", {})
    node_affinity["requiredDuringSchedulingIgnoredDuringExecution"] = {
        "nodeSelectorTerms": [{"matchFields": [
            {"key": NAME_FIELD, "operator": "In", "values": [node_name]}]}]}

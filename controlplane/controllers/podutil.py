"""Facts about pods (and a few about any object) that every controller asks.

Active, ready, available (ready for minReadySeconds), terminating; conditions with
Kubernetes' lastTransitionTime rule; the controller owner reference; and the order
in which a ReplicaSet gives up pods when it scales down (Kubernetes'
`ActivePodsWithRanks`): the pod that is cheapest to lose goes first -

    1. not yet scheduled before scheduled
    2. Pending before Unknown before Running
    3. not ready before ready
    4. lower `controller.kubernetes.io/pod-deletion-cost` first
    5. more replicas of the same workload on its node first (spreads what stays)
    6. ready for less time first
    7. more container restarts first
    8. newer before older

Objects are the plain dicts of the API; nothing here writes anything.
"""

from __future__ import annotations

import functools
import json
from datetime import UTC, datetime

from supernetes.controlplane.api.errors import SelectorError
from supernetes.controlplane.api.meta import controller_of, format_time, parse_time
from supernetes.controlplane.api.selectors import LabelSelector, from_label_selector_object

DELETION_COST = "controller.kubernetes.io/pod-deletion-cost"
_PHASE_RANK = {"Pending": 0, "Unknown": 1, "Running": 2}
_EPOCH = datetime.min.replace(tzinfo=UTC)


def now() -> datetime:
    return datetime.now(UTC)


def meta(obj: dict) -> dict:
    return obj.get("metadata") or {}


def uid(obj: dict) -> str:
    return meta(obj).get("uid", "")


def terminating(obj: dict) -> bool:
    return bool(meta(obj).get("deletionTimestamp"))


def controller_ref(obj: dict) -> dict | None:
    return controller_of(obj)


def controlled_by(obj: dict, owner: dict) -> bool:
    ref = controller_of(obj)
    return ref is not None and ref.get("uid") == uid(owner)


def phase(pod: dict) -> str:
    return (pod.get("status") or {}).get("phase") or "Pending"


def is_terminal(pod: dict) -> bool:
    return phase(pod) in ("Succeeded", "Failed")


def is_active(pod: dict) -> bool:
    """Counted as a replica: not finished and not being deleted."""
    return not is_terminal(pod) and not terminating(pod)


def labels(obj: dict) -> dict:
    return meta(obj).get("labels") or {}


@functools.lru_cache(maxsize=4096)
def _compiled(text: str) -> LabelSelector:
    try:
        return from_label_selector_object(json.loads(text))
    except SelectorError:
        return LabelSelector(nothing=True)  # refused by validation; select nothing


def label_selector(selector: dict | None) -> LabelSelector:
    """A workload's `spec.selector` compiled (and cached); None or invalid selects nothing."""
    if selector is None:
        return LabelSelector(nothing=True)
    return _compiled(json.dumps(selector, sort_keys=True))


def selects(selector: dict | None, obj: dict) -> bool:
    return label_selector(selector).matches(labels(obj))


# -- conditions ---------------------------------------------------------------------

def get_condition(obj: dict, kind: str) -> dict | None:
    """The condition of `kind` of an object, or of a status dict."""
    status = obj["status"] if isinstance(obj.get("status"), dict) else obj
    for cond in status.get("conditions") or ():
        if cond.get("type") == kind:
            return cond
    return None


def condition_true(obj: dict, kind: str) -> bool:
    cond = get_condition(obj, kind)
    return cond is not None and cond.get("status") == "True"


def set_condition(status: dict, cond: dict) -> bool:
    """Put `cond` into status.conditions; keep lastTransitionTime when the status is
    unchanged. Returns whether anything changed."""
    conditions = list(status.get("conditions") or [])
    for i, old in enumerate(conditions):
        if old.get("type") != cond["type"]:
            continue
        if old.get("status") == cond.get("status") and "lastTransitionTime" in old:
            cond = dict(cond, lastTransitionTime=old["lastTransitionTime"])
        if old == cond:
            return False
        conditions[i] = cond
        status["conditions"] = conditions
        return True
    conditions.append(cond)
    status["conditions"] = conditions
    return True


def remove_condition(status: dict, kind: str) -> bool:
    conditions = status.get("conditions") or []
    kept = [c for c in conditions if c.get("type") != kind]
    if len(kept) == len(conditions):
        return False
    if kept:
        status["conditions"] = kept
    else:
        status.pop("conditions", None)
    return True


def condition(kind: str, status: str, reason: str = "", message: str = "",
              when: datetime | None = None) -> dict:
    stamp = format_time(when or now())
    cond = {"type": kind, "status": status, "lastTransitionTime": stamp}
    if reason:
        cond["reason"] = reason
    if message:
        cond["message"] = message
    return cond


# -- readiness ------------------------------------------------------------------------

def is_ready(pod: dict) -> bool:
    return condition_true(pod, "Ready")


def ready_since(pod: dict) -> datetime | None:
    cond = get_condition(pod, "Ready")
    if cond is None or cond.get("status") != "True":
        return None
    return parse_time(cond.get("lastTransitionTime")) or _EPOCH


def is_available(pod: dict, min_ready_seconds: int, at: datetime | None = None) -> bool:
    """Ready, and for at least `min_ready_seconds` (Kubernetes' IsPodAvailable)."""
    since = ready_since(pod)
    if since is None:
        return False
    if not min_ready_seconds:
        return True
    return (since.timestamp() + min_ready_seconds) <= (at or now()).timestamp()


def restarts(pod: dict) -> int:
    statuses = (pod.get("status") or {}).get("containerStatuses") or ()
    return max((s.get("restartCount") or 0 for s in statuses), default=0)


# -- the scale-down order -----------------------------------------------------------------

def _deletion_cost(pod: dict) -> int:
    try:
        return int((meta(pod).get("annotations") or {}).get(DELETION_COST, "0"))
    except ValueError:
        return 0


def scale_down_order(pods: list[dict], related: list[dict] | None = None) -> list[dict]:
    """`pods` sorted so that the first ones are the first to delete.

    `related` are the pods of the same workload (every ReplicaSet of one Deployment)
    that count towards "replicas on the same node" (rule 5)."""
    per_node: dict[str, int] = {}
    for pod in related if related is not None else pods:
        if is_active(pod):
            node = (pod.get("spec") or {}).get("nodeName") or ""
            per_node[node] = per_node.get(node, 0) + 1

    def key(pod: dict):
        spec = pod.get("spec") or {}
        node = spec.get("nodeName") or ""
        since = ready_since(pod)
        created = parse_time(meta(pod).get("creationTimestamp"))
        return (
            bool(node),
            _PHASE_RANK.get(phase(pod), 3),
            is_ready(pod),
            _deletion_cost(pod),
            -(per_node.get(node, 0) if node else 0),
            # Ready for less time first: a later ready time sorts first.
            -(since.timestamp() if since else 0.0),
            -restarts(pod),
            # Newer first; a pod with no creation time sorts before any with one.
            created is not None,
            -(created.timestamp() if created else 0.0),
            uid(pod),
        )

    return sorted(pods, key=key)

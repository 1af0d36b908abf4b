"""Arithmetic and bookkeeping of Deployments, as Kubernetes' deployment/util does it.

- maxSurge and maxUnavailable: an int, or a percentage of spec.replicas; maxSurge
  rounds up, maxUnavailable rounds down, and if both come to 0, maxUnavailable is 1
  (`resolve_fenceposts`);
- annotations on ReplicaSets: `deployment.kubernetes.io/revision` (the rollout
  sequence), `revision-history` (revisions a ReplicaSet served before a rollback made
  it new again), `desired-replicas` and `max-replicas` (the Deployment's size and
  size + surge when the ReplicaSet was last scaled, for proportional scaling);
- sums over ReplicaSets and the tests on a Deployment's status (complete,
  progressing, timed out).

All functions are pure: they read dicts and return values, or change the dict they
are given (a copy the caller owns).
"""

from __future__ import annotations

import math
from datetime import datetime

from supernetes.controlplane.api.meta import parse_time

from .. import podutil

REVISION = "deployment.kubernetes.io/revision"
REVISION_HISTORY = "deployment.kubernetes.io/revision-history"
DESIRED_REPLICAS = "deployment.kubernetes.io/desired-replicas"
MAX_REPLICAS = "deployment.kubernetes.io/max-replicas"
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
# Deployment annotations that never travel to its ReplicaSets (nor back on rollback).
SKIP_COPY = frozenset({LAST_APPLIED, REVISION, REVISION_HISTORY, DESIRED_REPLICAS,
                       MAX_REPLICAS})

# Condition reasons, worded as kubectl users read them.
NEW_RS_CREATED = "NewReplicaSetCreated"
FOUND_NEW_RS = "FoundNewReplicaSet"
RS_UPDATED = "ReplicaSetUpdated"
NEW_RS_AVAILABLE = "NewReplicaSetAvailable"
TIMED_OUT = "ProgressDeadlineExceeded"
FAILED_RS_CREATE = "ReplicaSetCreateError"
PAUSED = "DeploymentPaused"
RESUMED = "DeploymentResumed"
MIN_AVAILABLE = "MinimumReplicasAvailable"
MIN_UNAVAILABLE = "MinimumReplicasUnavailable"

MAX_INT32 = 2**31 - 1


def spec(obj: dict) -> dict:
    return obj.get("spec") or {}


def status(obj: dict) -> dict:
    return obj.get("status") or {}


def replicas(obj: dict) -> int:
    value = spec(obj).get("replicas")
    return 1 if value is None else int(value)


def annotations(obj: dict) -> dict:
    return podutil.meta(obj).get("annotations") or {}


# -- surge and unavailability -------------------------------------------------------------

def scaled_value(value, total: int, round_up: bool) -> int:
    """An IntOrString (5, "25%") as a number of pods out of `total`."""
    if value is None:
        return 0
    if isinstance(value, int):
        return value
    text = str(value)
    if text.endswith("%"):
        exact = int(text[:-1]) * total / 100
        return math.ceil(exact) if round_up else math.floor(exact)
    return int(text)


def is_rolling(d: dict) -> bool:
    return (spec(d).get("strategy") or {}).get("type", "RollingUpdate") == "RollingUpdate"


def resolve_fenceposts(d: dict) -> tuple[int, int]:
    rolling = (spec(d).get("strategy") or {}).get("rollingUpdate") or {}
    desired = replicas(d)
    surge = scaled_value(rolling.get("maxSurge", "25%"), desired, True)
    unavailable = scaled_value(rolling.get("maxUnavailable", "25%"), desired, False)
    if surge == 0 and unavailable == 0:
        unavailable = 1         # else a rollout could never make a move
    return surge, unavailable


def max_surge(d: dict) -> int:
    return resolve_fenceposts(d)[0] if is_rolling(d) else 0


def max_unavailable(d: dict) -> int:
    if not is_rolling(d) or replicas(d) == 0:
        return 0
    return min(resolve_fenceposts(d)[1], replicas(d))


# -- revisions and annotations ---------------------------------------------------------------

def revision(obj: dict) -> int:
    try:
        return int(annotations(obj).get(REVISION, "0"))
    except ValueError:
        return 0


def max_revision(sets: list[dict]) -> int:
    return max((revision(rs) for rs in sets), default=0)


def set_new_rs_annotations(d: dict, rs: dict, new_revision: int, exists: bool) -> bool:
    """Copy the Deployment's annotations onto its new ReplicaSet and raise the
    ReplicaSet's revision to `new_revision`, keeping the revisions it served before in
    revision-history (a rollback makes an old ReplicaSet new again). Returns whether
    anything changed."""
    meta = rs.setdefault("metadata", {})
    ann = meta.setdefault("annotations", {})
    changed = False
    for key, value in annotations(d).items():
        if key not in SKIP_COPY and ann.get(key) != value:
            ann[key] = value
            changed = True
    old = ann.get(REVISION)
    old_number = int(old) if old and old.isdigit() else 0
    if old_number < new_revision:
        ann[REVISION] = str(new_revision)
        changed = True
        if old:
            history = [h for h in ann.get(REVISION_HISTORY, "").split(",") if h]
            ann[REVISION_HISTORY] = ",".join([*history, old])
    if not exists and set_replicas_annotations(rs, replicas(d), replicas(d) + max_surge(d)):
        changed = True
    return changed


def set_replicas_annotations(rs: dict, desired: int, maximum: int) -> bool:
    ann = rs.setdefault("metadata", {}).setdefault("annotations", {})
    changed = False
    for key, value in ((DESIRED_REPLICAS, str(desired)), (MAX_REPLICAS, str(maximum))):
        if ann.get(key) != value:
            ann[key] = value
            changed = True
    return changed


def replicas_annotations_need_update(rs: dict, desired: int, maximum: int) -> bool:
    ann = annotations(rs)
    return ann.get(DESIRED_REPLICAS) != str(desired) or ann.get(MAX_REPLICAS) != str(maximum)


def desired_replicas_annotation(rs: dict) -> int | None:
    try:
        return int(annotations(rs)[DESIRED_REPLICAS])
    except (KeyError, ValueError):
        return None


def max_replicas_annotation(rs: dict) -> int | None:
    try:
        return int(annotations(rs)[MAX_REPLICAS])
    except (KeyError, ValueError):
        return None


# -- sets of ReplicaSets ------------------------------------------------------------------

def created(obj: dict) -> float:
    stamp = parse_time(podutil.meta(obj).get("creationTimestamp"))
    return stamp.timestamp() if stamp else 0.0


def oldest_first(sets: list[dict]) -> list[dict]:
    return sorted(sets, key=lambda rs: (created(rs), podutil.meta(rs).get("name", "")))


def newest_first(sets: list[dict]) -> list[dict]:
    return sorted(sets, key=lambda rs: (-created(rs), podutil.meta(rs).get("name", "")))


def active(sets: list[dict]) -> list[dict]:
    return [rs for rs in sets if rs is not None and replicas(rs) > 0]


def spec_total(sets: list[dict]) -> int:
    return sum(replicas(rs) for rs in sets if rs is not None)


def actual_total(sets: list[dict]) -> int:
    return sum(status(rs).get("replicas") or 0 for rs in sets if rs is not None)


def ready_total(sets: list[dict]) -> int:
    return sum(status(rs).get("readyReplicas") or 0 for rs in sets if rs is not None)


def available_total(sets: list[dict]) -> int:
    return sum(status(rs).get("availableReplicas") or 0 for rs in sets if rs is not None)


def pods_in_flight(rs: dict | None) -> int:
    """Pods a ReplicaSet may have right now: its size, or more while a scale-down is
    still deleting (its status counts what still exists)."""
    if rs is None:
        return 0
    return max(replicas(rs), status(rs).get("replicas") or 0)


def surely_available(rs: dict | None) -> int:
    """Available pods that will stay: a ReplicaSet just scaled down still reports the
    pods it is about to delete, which must not count."""
    if rs is None:
        return 0
    return min(replicas(rs), status(rs).get("availableReplicas") or 0)


# -- the Deployment's status ----------------------------------------------------------------

def has_progress_deadline(d: dict) -> bool:
    deadline = spec(d).get("progressDeadlineSeconds")
    return deadline is not None and deadline != MAX_INT32


def complete(d: dict, new_status: dict) -> bool:
    want = replicas(d)
    return (new_status.get("updatedReplicas", 0) == want and
            new_status.get("replicas", 0) == want and
            new_status.get("availableReplicas", 0) == want and
            new_status.get("observedGeneration", 0) >= podutil.meta(d).get("generation", 0))


def progressing(d: dict, new_status: dict) -> bool:
    old = status(d)
    old_old = (old.get("replicas") or 0) - (old.get("updatedReplicas") or 0)
    new_old = (new_status.get("replicas") or 0) - (new_status.get("updatedReplicas") or 0)
    return ((new_status.get("updatedReplicas") or 0) > (old.get("updatedReplicas") or 0)
            or new_old < old_old
            or (new_status.get("readyReplicas") or 0) > (old.get("readyReplicas") or 0)
            or (new_status.get("availableReplicas") or 0) > (old.get("availableReplicas") or 0))


def timed_out(d: dict, new_status: dict, now: datetime) -> bool:
    if not has_progress_deadline(d):
        return False
    cond = podutil.get_condition(new_status, "Progressing")
    if cond is None or cond.get("reason") == NEW_RS_AVAILABLE:
        return False
    if cond.get("reason") == TIMED_OUT:
        return True
    since = parse_time(cond.get("lastUpdateTime") or cond.get("lastTransitionTime"))
    if since is None:
        return False
    return since.timestamp() + spec(d)["progressDeadlineSeconds"] < now.timestamp()


def condition(kind: str, state: str, reason: str, message: str, now: datetime) -> dict:
    cond = podutil.condition(kind, state, reason, message, now)
    cond["lastUpdateTime"] = cond["lastTransitionTime"]
    return cond


def set_condition(st: dict, cond: dict) -> None:
    """Kubernetes' SetDeploymentCondition: no change if status and reason are the same;
    keep lastTransitionTime if only the reason changes."""
    current = podutil.get_condition(st, cond["type"])
    if current is not None and current.get("status") == cond["status"] and \
            current.get("reason") == cond.get("reason"):
        return
    if current is not None and current.get("status") == cond["status"]:
        cond = dict(cond, lastTransitionTime=current.get("lastTransitionTime"))
    st["conditions"] = [c for c in st.get("conditions") or () if c.get("type") != cond["type"]]
    st["conditions"].append(cond)

"""Small helpers on object metadata shared by the server, controllers and agent.

Timestamps are RFC 3339 strings in UTC with second precision (`2024-05-01T12:00:00Z`),
as `metav1.Time` serialises; `MicroTime` (events, leases) keeps microseconds.
Owner references and conditions follow Kubernetes' conventions: one controller
owner at most; conditions are keyed by `type` and `lastTransitionTime` changes
only when `status` does.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime


def now() -> datetime:
    return datetime.now(UTC)


def format_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def format_micro_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def now_rfc3339() -> str:
    return format_time(now())


def now_rfc3339_micro() -> str:
    return format_micro_time(now())


def parse_time(text: str | None) -> datetime | None:
    """A `metav1.Time`/`MicroTime` string as an aware datetime (None for None/"")."""
    if not text:
        return None
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def new_uid() -> str:
    return str(uuid.uuid4())


def key_of(obj: dict) -> str:
    """`namespace/name`, or `name` for cluster-scoped objects (a controller's queue key)."""
    meta = obj.get("metadata") or {}
    ns = meta.get("namespace")
    return f"{ns}/{meta.get('name', '')}" if ns else meta.get("name", "")


def owner_reference(owner: dict, controller: bool = True,
                    block_owner_deletion: bool = True) -> dict:
    """An ownerReference pointing at `owner` (a ReplicaSet pointing at its Deployment)."""
    meta = owner.get("metadata") or {}
    return {
        "apiVersion": owner.get("apiVersion", ""),
        "kind": owner.get("kind", ""),
        "name": meta.get("name", ""),
        "uid": meta.get("uid", ""),
        "controller": controller,
        "blockOwnerDeletion": block_owner_deletion,
    }


def controller_of(obj: dict) -> dict | None:
    """The ownerReference with `controller: true`, if any."""
    for ref in (obj.get("metadata") or {}).get("ownerReferences") or []:
        if ref.get("controller"):
            return ref
    return None


def is_owned_by(obj: dict, owner: dict) -> bool:
    uid = (owner.get("metadata") or {}).get("uid")
    refs = (obj.get("metadata") or {}).get("ownerReferences") or []
    return bool(uid) and any(ref.get("uid") == uid for ref in refs)


def get_condition(status: dict | None, type_: str) -> dict | None:
    for cond in (status or {}).get("conditions") or []:
        if cond.get("type") == type_:
            return cond
    return None


def condition_true(status: dict | None, type_: str) -> bool:
    cond = get_condition(status, type_)
    return cond is not None and cond.get("status") == "True"


def set_condition(status: dict, type_: str, state: str, reason: str = "", message: str = "",
                  when: str | None = None, **extra) -> bool:
    """Add or update a condition in `status["conditions"]`, in place.

    `lastTransitionTime` moves only when the status value changes, as Kubernetes
    requires; returns True when anything changed (so a controller knows to write).
    """
    when = when or now_rfc3339()
    conditions = status.setdefault("conditions", [])
    current = get_condition(status, type_)
    wanted = {"type": type_, "status": state, **extra}
    if reason:
        wanted["reason"] = reason
    if message:
        wanted["message"] = message
    if current is None:
        conditions.append({**wanted, "lastTransitionTime": when})
        return True
    transition = current.get("lastTransitionTime") if current.get("status") == state else when
    updated = {**wanted, "lastTransitionTime": transition}
    for key in ("lastProbeTime", "lastUpdateTime", "lastHeartbeatTime"):
        if key in current and key not in updated:
            updated[key] = current[key]
    if updated == current:
        return False
    current.clear()
    current.update(updated)
    return True


def remove_condition(status: dict, type_: str) -> bool:
    conditions = status.get("conditions") or []
    kept = [c for c in conditions if c.get("type") != type_]
    if len(kept) == len(conditions):
        return False
    status["conditions"] = kept
    return True

"""Per-kind rules of the API machinery (Kubernetes' "strategies").

The api package says what an object may contain; this module says what the
server does with it around a create, an update or a delete, where kinds differ:
which status a new object starts with, which kinds a PUT may create, which
deletions are graceful and for how long. Everything else is uniform and lives
in `resources.py`.
"""

from __future__ import annotations

from . import errors

# Kinds whose PUT creates a missing object (Kubernetes' AllowCreateOnUpdate).
_CREATE_ON_UPDATE = {("", "Endpoints"), ("", "Event"), ("coordination.k8s.io", "Lease"),
                     ("events.k8s.io", "Event")}

# Kinds that keep the status a client sends on create: a node registers itself
# with its capacity and conditions, as the kubelet does.
_KEEP_STATUS_ON_CREATE = {("", "Node")}

NAMESPACE_FINALIZER = "kubernetes"
ORPHAN_FINALIZER = "orphan"
FOREGROUND_FINALIZER = "foregroundDeletion"


def is_kind(rt, group: str, kind: str) -> bool:
    return rt.group == group and rt.kind == kind


def allow_create_on_update(rt) -> bool:
    return (rt.group, rt.kind) in _CREATE_ON_UPDATE


def prepare_create(rt, obj: dict, *, well_typed: bool = False) -> None:
    """Reset what a client may not set on create: status, then the type's own rules.
    `well_typed`: what `rt.default` returned (see ResourceType.default)."""
    if rt.has_status and (rt.group, rt.kind) not in _KEEP_STATUS_ON_CREATE:
        obj["status"] = {}
    # the type's own resets (a pod starts Pending)
    rt.prepare_for_create(obj, well_typed=well_typed)


def uses_generation(rt) -> bool:
    """Kinds with a spec/status split track metadata.generation, bumped on spec changes."""
    return rt.has_status


def grace_period(rt, obj: dict, requested: int | None) -> int:
    """Seconds a delete waits before the object goes (0: at once).

    Only pods are graceful, as in Kubernetes: a pod bound to a node is marked
    (deletionTimestamp = now + grace) and the node agent deletes it with grace 0
    once its containers have stopped; a pod on no node, or already finished,
    goes at once.
    """
    if requested is not None and requested < 0:
        raise errors.bad_request("gracePeriodSeconds must not be negative")
    if not is_kind(rt, "", "Pod"):
        return 0
    spec = obj.get("spec") or {}
    if not spec.get("nodeName"):
        return 0
    if (obj.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
        return 0
    if requested is not None:
        return requested
    value = spec.get("terminationGracePeriodSeconds")
    return 30 if value is None else int(value)


def finalizers_for_propagation(policy: str | None) -> list[str]:
    if policy in (None, "", "Background"):
        return []
    if policy == "Orphan":
        return [ORPHAN_FINALIZER]
    if policy == "Foreground":
        return [FOREGROUND_FINALIZER]
    raise errors.bad_request(
        f'propagationPolicy: Unsupported value: "{policy}": supported values: '
        f'"Foreground", "Background", "Orphan"')


def namespace_terminating(ns_obj: dict) -> bool:
    return bool(ns_obj.get("metadata", {}).get("deletionTimestamp")) or \
        (ns_obj.get("status") or {}).get("phase") == "Terminating"

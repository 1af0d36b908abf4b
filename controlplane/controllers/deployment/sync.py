"""Finding (or making) the new ReplicaSet, scaling, history cleanup, status.

The new ReplicaSet is the oldest one whose pod template equals the Deployment's,
ignoring the pod-template-hash label. `kubectl rollout undo` patches an old template
back into the Deployment, so the ReplicaSet of that revision becomes the new one
again and gets the next revision number (its old number goes to revision-history).
When none matches, one is created: named `<deployment>-<hash>`, with the hash as a
label on its selector and template. A name taken by a ReplicaSet that is not ours
(a hash collision) bumps `status.collisionCount`, which changes the next hash.

Scaling without a template change (a `kubectl scale`, or any change while paused) is
proportional: the extra (or missing) replicas are shared among the active
ReplicaSets in proportion to their size, as Kubernetes does, so a scale in the
middle of a rollout keeps the rollout's shape.

`d` is always the caller's private copy of the Deployment; ReplicaSets passed in are
copies too, and functions return the updated ReplicaSet when they wrote one.
"""

from __future__ import annotations

import copy
import logging

from supernetes.controlplane.api.meta import owner_reference
from supernetes.controlplane.client import AlreadyExists

from .. import podutil
from ..hashing import HASH_LABEL, compute_hash, equal_ignore_hash
from . import util
from .util import replicas, spec, status

log = logging.getLogger(__name__)


def find_new(d: dict, sets: list[dict]) -> dict | None:
    template = spec(d).get("template")
    for rs in util.oldest_first(sets):
        if equal_ignore_hash(spec(rs).get("template"), template):
            return rs
    return None


def new_and_old(d: dict, sets: list[dict]) -> tuple[dict | None, list[dict]]:
    new = find_new(d, sets)
    return new, [rs for rs in sets if rs is not new]


def get_all_and_sync_revision(dc, d: dict, sets: list[dict],
                              create: bool) -> tuple[dict | None, list[dict]]:
    """(new ReplicaSet, old ones); the new one made when `create` and none exists, and
    its revision annotation (and the Deployment's) brought up to date."""
    existing, old = new_and_old(d, sets)
    new = get_new_replica_set(dc, d, existing, old, create)
    return new, old


def get_new_replica_set(dc, d: dict, existing: dict | None, old: list[dict],
                        create: bool) -> dict | None:
    new_revision = util.max_revision(old) + 1
    now = podutil.now()
    if existing is not None:
        rs = copy.deepcopy(existing)
        annotations_changed = util.set_new_rs_annotations(d, rs, new_revision, exists=True)
        min_ready = spec(d).get("minReadySeconds") or 0
        if annotations_changed or (spec(rs).get("minReadySeconds") or 0) != min_ready:
            rs["spec"]["minReadySeconds"] = min_ready
            return dc.update_replica_set(rs)
        dc.set_revision(d, util.annotations(rs).get(util.REVISION, ""))
        if util.has_progress_deadline(d) and \
                podutil.get_condition(status(d), "Progressing") is None:
            util.set_condition(d.setdefault("status", {}), util.condition(
                "Progressing", "True", util.FOUND_NEW_RS,
                f'Found new replica set "{podutil.meta(rs)["name"]}"', now))
        return rs
    if not create:
        return None
    rs = build_new_replica_set(d)
    rs["spec"]["replicas"] = new_rs_replicas(d, [*old, rs], rs)
    util.set_new_rs_annotations(d, rs, new_revision, exists=False)
    name = rs["metadata"]["name"]
    try:
        created = dc.create_replica_set(rs)
    except AlreadyExists:
        found = dc.sets.cache.get_by_name(name, podutil.meta(d).get("namespace"))
        if found is not None and podutil.controlled_by(found, d) and \
                equal_ignore_hash(spec(d).get("template"), spec(found).get("template")):
            return copy.deepcopy(found)    # ours, made by a sync whose answer we lost
        # A foreign ReplicaSet holds the name: change the hash and try again.
        st = d.setdefault("status", {})
        st["collisionCount"] = (st.get("collisionCount") or 0) + 1
        dc.update_status(d)
        raise
    except Exception as exc:
        if util.has_progress_deadline(d):
            util.set_condition(d.setdefault("status", {}), util.condition(
                "Progressing", "False", util.FAILED_RS_CREATE,
                f'Failed to create new replica set "{name}": {exc}', now))
            dc.update_status(d)
        dc.event(d, "Warning", "FailedCreate", f"Failed to create new replica set "
                                               f'"{name}": {exc}')
        raise
    if replicas(created) > 0:
        dc.event(d, "Normal", "ScalingReplicaSet",
                 f"Scaled up replica set {name} from 0 to {replicas(created)}")
    dc.set_revision(d, str(new_revision))
    if util.has_progress_deadline(d):
        util.set_condition(d.setdefault("status", {}), util.condition(
            "Progressing", "True", util.NEW_RS_CREATED, f'Created new replica set "{name}"',
            now))
    return created


def build_new_replica_set(d: dict) -> dict:
    template = copy.deepcopy(spec(d).get("template") or {})
    pod_hash = compute_hash(template, status(d).get("collisionCount"))
    template.setdefault("metadata", {})
    template["metadata"]["labels"] = dict(template["metadata"].get("labels") or {},
                                          **{HASH_LABEL: pod_hash})
    selector = copy.deepcopy(spec(d).get("selector") or {})
    selector["matchLabels"] = dict(selector.get("matchLabels") or {}, **{HASH_LABEL: pod_hash})
    meta = podutil.meta(d)
    return {"apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {"name": f"{meta['name']}-{pod_hash}",
                         "namespace": meta.get("namespace"),
                         "labels": dict(template["metadata"]["labels"]),
                         "ownerReferences": [owner_reference(d)]},
            "spec": {"replicas": 0, "minReadySeconds": spec(d).get("minReadySeconds") or 0,
                     "selector": selector, "template": template}}


def new_rs_replicas(d: dict, all_sets: list[dict], new: dict) -> int:
    """How large the new ReplicaSet may be now."""
    if not util.is_rolling(d):
        return replicas(d)
    current = sum(util.pods_in_flight(rs) for rs in all_sets)
    most = replicas(d) + util.max_surge(d)
    if current >= most:
        return replicas(new)
    room = min(most - current, replicas(d) - replicas(new))
    return replicas(new) + max(room, 0)


# -- scaling -----------------------------------------------------------------------------

def is_scaling_event(dc, d: dict, sets: list[dict]) -> bool:
    """Does an active ReplicaSet record another Deployment size than the current one?"""
    new, old = new_and_old(d, sets)
    for rs in util.active([new, *old]):
        desired = util.desired_replicas_annotation(rs)
        if desired is not None and desired != replicas(d):
            return True
    return False


def scale_replica_set(dc, rs: dict, size: int, d: dict) -> tuple[bool, dict]:
    size_changed = replicas(rs) != size
    most = replicas(d) + util.max_surge(d)
    if not size_changed and not util.replicas_annotations_need_update(rs, replicas(d), most):
        return False, rs
    old_size = replicas(rs)
    updated = copy.deepcopy(rs)
    updated["spec"]["replicas"] = size
    util.set_replicas_annotations(updated, replicas(d), most)
    updated = dc.update_replica_set(updated)
    if size_changed:
        direction = "up" if size > old_size else "down"
        dc.event(d, "Normal", "ScalingReplicaSet",
                 f"Scaled {direction} replica set {podutil.meta(rs)['name']} from {old_size} "
                 f"to {size}")
    return size_changed, updated


def _find_active_or_latest(new: dict | None, old: list[dict]) -> dict | None:
    if new is None and not old:
        return None
    old = util.newest_first(old)
    active = util.active([*old, new])
    if not active:
        return new if new is not None else old[0]
    return active[0] if len(active) == 1 else None


def _saturated(d: dict, rs: dict | None) -> bool:
    return rs is not None and util.desired_replicas_annotation(rs) == replicas(d) and \
        replicas(rs) == replicas(d) and (status(rs).get("availableReplicas") or 0) == replicas(d)


def _proportion(rs: dict, d: dict, to_add: int, added: int) -> int:
    if replicas(rs) == 0 or to_add == 0 or to_add == added:
        return 0
    if replicas(d) == 0:
        fraction = -replicas(rs)
    else:
        most = replicas(d) + util.max_surge(d)
        annotated = util.max_replicas_annotation(rs)
        if annotated is None:
            annotated = status(d).get("replicas") or 0
        exact = replicas(rs) * most / annotated if annotated else replicas(rs)
        fraction = int(exact + 0.5) - replicas(rs)      # Go's math.Round for x >= 0
    allowed = to_add - added
    return min(fraction, allowed) if to_add > 0 else max(fraction, allowed)


def replace_in(sets: list[dict], updated: dict) -> list[dict]:
    """`sets` with the ReplicaSet of `updated`'s uid swapped for it."""
    return [updated if rs is not None and podutil.uid(rs) == podutil.uid(updated) else rs
            for rs in sets]


def scale(dc, d: dict, new: dict | None, old: list[dict]) -> list[dict]:
    """Resize towards spec.replicas; returns every ReplicaSet, updated where written."""
    everything = [*old, new] if new is not None else list(old)
    target = _find_active_or_latest(new, old)
    if target is not None:
        if replicas(target) != replicas(d):
            _, updated = scale_replica_set(dc, target, replicas(d), d)
            everything = replace_in(everything, updated)
        return everything
    if _saturated(d, new):
        for rs in util.active(old):
            _, updated = scale_replica_set(dc, rs, 0, d)
            everything = replace_in(everything, updated)
        return everything
    if not util.is_rolling(d):
        return everything
    active = util.active([*old, new])
    allowed = replicas(d) + util.max_surge(d) if replicas(d) > 0 else 0
    to_add = allowed - util.spec_total(active)
    if to_add > 0:
        active.sort(key=lambda rs: (-replicas(rs), -util.created(rs)))
    else:
        active.sort(key=lambda rs: (-replicas(rs), util.created(rs)))
    sizes: dict[str, int] = {}
    added = 0
    for rs in active:
        name = podutil.meta(rs)["name"]
        if to_add != 0:
            share = _proportion(rs, d, to_add, added)
            sizes[name] = replicas(rs) + share
            added += share
        else:
            sizes[name] = replicas(rs)
    if added < to_add and active:     # rounding leftovers go to the largest
        first = podutil.meta(active[0])["name"]
        sizes[first] = max(sizes[first] + to_add - added, 0)
    for rs in active:
        _, updated = scale_replica_set(dc, rs, sizes[podutil.meta(rs)["name"]], d)
        everything = replace_in(everything, updated)
    return everything


def scale_and_status(dc, d: dict, sets: list[dict]) -> None:
    """A scaling event or a paused Deployment: resize, clean history, status."""
    new, old = get_all_and_sync_revision(dc, d, sets, create=False)
    everything = scale(dc, d, new, old)
    new, old = new_and_old(d, everything)
    if spec(d).get("paused"):
        cleanup(dc, d, old)
    sync_deployment_status(dc, d, everything, new)


def sync_status_only(dc, d: dict, sets: list[dict]) -> None:
    new, old = get_all_and_sync_revision(dc, d, sets, create=False)
    sync_deployment_status(dc, d, [*old, new] if new else old, new)


def cleanup(dc, d: dict, old: list[dict]) -> None:
    """Delete the oldest empty ReplicaSets beyond revisionHistoryLimit."""
    limit = spec(d).get("revisionHistoryLimit")
    if limit is None:
        return
    alive = [rs for rs in old if not podutil.terminating(rs)]
    surplus = len(alive) - limit
    if surplus <= 0:
        return
    alive.sort(key=lambda rs: (util.revision(rs), util.created(rs)))
    for rs in alive[:surplus]:
        if (status(rs).get("replicas") or 0) != 0 or replicas(rs) != 0 or \
                podutil.meta(rs).get("generation", 0) > (status(rs).get("observedGeneration")
                                                         or 0):
            continue
        dc.delete_replica_set(rs)


def calculate_status(d: dict, all_sets: list[dict], new: dict | None) -> dict:
    available = util.available_total(all_sets)
    unavailable = max(util.spec_total(all_sets) - available, 0)
    st = copy.deepcopy(status(d))
    st.update(observedGeneration=podutil.meta(d).get("generation", 0),
              replicas=util.actual_total(all_sets),
              updatedReplicas=util.actual_total([new] if new else []),
              readyReplicas=util.ready_total(all_sets),
              availableReplicas=available,
              unavailableReplicas=unavailable)
    now = podutil.now()
    if available >= replicas(d) - util.max_unavailable(d):
        util.set_condition(st, util.condition("Available", "True", util.MIN_AVAILABLE,
                                              "Deployment has minimum availability.", now))
    else:
        util.set_condition(st, util.condition("Available", "False", util.MIN_UNAVAILABLE,
                                              "Deployment does not have minimum "
                                              "availability.", now))
    return st


def sync_deployment_status(dc, d: dict, all_sets: list[dict], new: dict | None) -> None:
    st = calculate_status(d, all_sets, new)
    if st != status(d):
        d["status"] = st
        dc.update_status(d)


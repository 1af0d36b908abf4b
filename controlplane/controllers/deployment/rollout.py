"""The two rollout strategies, one step per sync.

RollingUpdate (Kubernetes' rolling.go), with surge = maxSurge and
unavailable = maxUnavailable resolved against spec.replicas:

    1. scale the new ReplicaSet up, as far as  pods <= replicas + surge  allows;
       if it grew, stop here (the new pods must show up first)
    2. else scale old ReplicaSets down, as far as
       available pods >= replicas - unavailable  allows: first the old pods that
       are not available anyway (they cost no availability), then the oldest
       ReplicaSets first
    3. once complete, delete old ReplicaSets beyond revisionHistoryLimit

"Pods" counts a ReplicaSet still deleting surplus pods at its old size, and
"available" counts a ReplicaSet just scaled down at its new size, so stale
ReplicaSet statuses can only make a step smaller, never break either bound.

Recreate: scale every old ReplicaSet to 0, wait until none of their pods is left
(not even a terminating one), then create or scale the new ReplicaSet to
spec.replicas.
"""

from __future__ import annotations

from .. import podutil
from . import sync, util
from .progress import sync_rollout_status
from .util import replicas


def rolling(dc, d: dict, sets: list[dict]) -> None:
    new, old = sync.get_all_and_sync_revision(dc, d, sets, create=True)
    everything = [*old, new]
    scaled, new = reconcile_new(dc, d, everything, new)
    everything = [*old, new]
    if scaled:
        sync_rollout_status(dc, d, everything, new)
        return
    scaled, old = reconcile_old(dc, d, everything, old, new)
    everything = [*old, new]
    if scaled:
        sync_rollout_status(dc, d, everything, new)
        return
    if util.complete(d, util.status(d)):
        sync.cleanup(dc, d, old)
    sync_rollout_status(dc, d, everything, new)


def reconcile_new(dc, d: dict, everything: list[dict], new: dict) -> tuple[bool, dict]:
    if replicas(new) == replicas(d):
        return False, new
    if replicas(new) > replicas(d):
        return sync.scale_replica_set(dc, new, replicas(d), d)
    size = sync.new_rs_replicas(d, everything, new)
    return sync.scale_replica_set(dc, new, size, d)


def reconcile_old(dc, d: dict, everything: list[dict], old: list[dict],
                  new: dict) -> tuple[bool, list[dict]]:
    if util.spec_total(old) == 0:
        return False, old
    min_available = replicas(d) - util.max_unavailable(d)
    new_unavailable = max(replicas(new) - util.surely_available(new), 0)
    room = util.spec_total(everything) - min_available - new_unavailable
    if room <= 0:
        return False, old
    cleaned, old = _cleanup_unhealthy(dc, d, old, room)
    scaled_down, old = _scale_down_old(dc, d, [*old, new], old)
    return cleaned + scaled_down > 0, old


def _cleanup_unhealthy(dc, d: dict, old: list[dict], most: int) -> tuple[int, list[dict]]:
    """Scale old ReplicaSets down by their unavailable pods, up to `most` in all."""
    total = 0
    result = list(old)
    for rs in util.oldest_first(old):
        if total >= most:
            break
        unhealthy = replicas(rs) - util.surely_available(rs)
        if replicas(rs) == 0 or unhealthy <= 0:
            continue
        count = min(most - total, unhealthy)
        _, updated = sync.scale_replica_set(dc, rs, replicas(rs) - count, d)
        result = sync.replace_in(result, updated)
        total += count
    return total, result


def _scale_down_old(dc, d: dict, everything: list[dict],
                    old: list[dict]) -> tuple[int, list[dict]]:
    min_available = replicas(d) - util.max_unavailable(d)
    available = sum(util.surely_available(rs) for rs in everything)
    if available <= min_available:
        return 0, old
    budget = available - min_available
    total = 0
    result = list(old)
    for rs in util.oldest_first(old):
        if total >= budget:
            break
        if replicas(rs) == 0:
            continue
        count = min(replicas(rs), budget - total)
        _, updated = sync.scale_replica_set(dc, rs, replicas(rs) - count, d)
        result = sync.replace_in(result, updated)
        total += count
    return total, result


def recreate(dc, d: dict, sets: list[dict], pods: dict[str, list[dict]]) -> None:
    new, old = sync.get_all_and_sync_revision(dc, d, sets, create=False)
    scaled = False
    for rs in util.active(old):
        changed, updated = sync.scale_replica_set(dc, rs, 0, d)
        old = sync.replace_in(old, updated)
        scaled = scaled or changed
    everything = [*old, new] if new is not None else list(old)
    if scaled or _old_pods_running(new, old, pods):
        sync_rollout_status(dc, d, everything, new)
        return
    if new is None:
        new, old = sync.get_all_and_sync_revision(dc, d, sets, create=True)
    if replicas(new) != replicas(d):
        _, new = sync.scale_replica_set(dc, new, replicas(d), d)
    if util.complete(d, util.status(d)):
        sync.cleanup(dc, d, old)
    sync_rollout_status(dc, d, [*old, new], new)


def _old_pods_running(new: dict | None, old: list[dict], pods: dict[str, list[dict]]) -> bool:
    if util.actual_total(old) > 0:
        return True
    new_uid = podutil.uid(new) if new is not None else None
    for owner_uid, owned in pods.items():
        if owner_uid == new_uid:
            continue
        if any(not podutil.is_terminal(p) for p in owned):
            return True                 # running, pending, unknown, or still terminating
    return False


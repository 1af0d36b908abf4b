"""The Progressing condition and progressDeadlineSeconds: is a rollout getting anywhere?

After every rollout step the Deployment's status is recomputed and the Progressing
condition set, with the reasons `kubectl rollout status` and `describe` show:

    every replica updated and available          True   NewReplicaSetAvailable
    more pods updated, ready or available, or
    fewer old ones than at the last look         True   ReplicaSetUpdated
                                                        (lastUpdateTime moves on)
    no progress for progressDeadlineSeconds      False  ProgressDeadlineExceeded
    paused / resumed                             Unknown DeploymentPaused / Resumed

A Deployment that is neither done nor timed out is looked at again when its deadline
would pass, so the timeout is reported even if nothing else happens.
"""

from __future__ import annotations

from supernetes.controlplane.api.meta import parse_time

from .. import podutil
from . import util
from .sync import calculate_status


def sync_rollout_status(dc, d: dict, all_sets: list[dict], new: dict | None) -> None:
    """Write the Deployment's status (last), with its Progressing condition."""
    now = podutil.now()
    st = calculate_status(d, all_sets, new)
    if not util.has_progress_deadline(d):
        podutil.remove_condition(st, "Progressing")
    current = podutil.get_condition(util.status(d), "Progressing")
    done = (st.get("replicas") == st.get("updatedReplicas") and current is not None
            and current.get("reason") == util.NEW_RS_AVAILABLE)
    what = (f'ReplicaSet "{podutil.meta(new)["name"]}"' if new is not None
            else f'Deployment "{podutil.meta(d)["name"]}"')
    if util.has_progress_deadline(d) and not done:
        if util.complete(d, st):
            util.set_condition(st, util.condition("Progressing", "True", util.NEW_RS_AVAILABLE,
                                                  f"{what} has successfully progressed.", now))
        elif util.progressing(d, st):
            cond = util.condition("Progressing", "True", util.RS_UPDATED,
                                  f"{what} is progressing.", now)
            # Progress moves lastUpdateTime even when the reason stays the same.
            if current is not None and current.get("status") == "True":
                cond["lastTransitionTime"] = current.get("lastTransitionTime")
            podutil.remove_condition(st, "Progressing")
            util.set_condition(st, cond)
        elif util.timed_out(d, st, now):
            util.set_condition(st, util.condition("Progressing", "False", util.TIMED_OUT,
                                                  f"{what} has timed out progressing.", now))
    failure = _replica_failure(all_sets)
    if failure is not None:
        util.set_condition(st, failure)
    else:
        podutil.remove_condition(st, "ReplicaFailure")
    if st == util.status(d):
        _requeue_stuck(dc, d, st, now)
        return
    d["status"] = st
    dc.update_status(d)


def _replica_failure(sets: list[dict]) -> dict | None:
    for rs in sets:
        cond = podutil.get_condition(util.status(rs), "ReplicaFailure")
        if cond is not None and cond.get("status") == "True":
            return dict(cond, lastUpdateTime=cond.get("lastTransitionTime"))
    return None


def _requeue_stuck(dc, d: dict, st: dict, now) -> None:
    current = podutil.get_condition(util.status(d), "Progressing")
    if not util.has_progress_deadline(d) or current is None:
        return
    if util.complete(d, st) or current.get("reason") == util.TIMED_OUT:
        return
    since = parse_time(current.get("lastUpdateTime") or current.get("lastTransitionTime"))
    if since is None:
        return
    after = since.timestamp() + util.spec(d)["progressDeadlineSeconds"] - now.timestamp()
    dc.enqueue_after(d, max(after, 0) + 1)


def check_paused_conditions(dc, d: dict) -> None:
    """Progressing=Unknown while paused, so a pause never counts as a stalled rollout."""
    if not util.has_progress_deadline(d):
        return
    current = podutil.get_condition(util.status(d), "Progressing")
    if current is not None and current.get("reason") == util.TIMED_OUT:
        return
    paused = bool(util.spec(d).get("paused"))
    was_paused = current is not None and current.get("reason") == util.PAUSED
    now = podutil.now()
    if paused and not was_paused:
        cond = util.condition("Progressing", "Unknown", util.PAUSED, "Deployment is paused", now)
    elif not paused and was_paused:
        cond = util.condition("Progressing", "Unknown", util.RESUMED, "Deployment is resumed",
                              now)
    else:
        return
    util.set_condition(d.setdefault("status", {}), cond)
    dc.update_status(d)

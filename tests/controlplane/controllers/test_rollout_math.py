"""Deployment arithmetic as Kubernetes does it: surge/unavailability rounding, the size the
new ReplicaSet may grow to, proportional scaling shares, revisions and annotations."""

from __future__ import annotations

import pytest

from supernetes.controlplane.controllers.deployment import sync, util


def dep(replicas=10, surge="25%", unavailable="25%", kind="RollingUpdate", **extra) -> dict:
    strategy = {"type": kind}
    if kind == "RollingUpdate":
        strategy["rollingUpdate"] = {"maxSurge": surge, "maxUnavailable": unavailable}
    return {"metadata": {"name": "web", "generation": 1, "annotations": extra},
            "spec": {"replicas": replicas, "strategy": strategy}, "status": {}}


def rs(name, replicas, available=None, status_replicas=None, created="2024-01-01T00:00:00Z",
       **annotations) -> dict:
    return {"metadata": {"name": name, "uid": name, "creationTimestamp": created,
                         "annotations": annotations},
            "spec": {"replicas": replicas},
            "status": {"replicas": replicas if status_replicas is None else status_replicas,
                       "availableReplicas": replicas if available is None else available}}


@pytest.mark.parametrize("replicas,surge,unavailable,expected", [
    (10, "25%", "25%", (3, 2)),        # 2.5 rounds up for surge, down for unavailable
    (5, "25%", "25%", (2, 1)),
    (1, "25%", "25%", (1, 0)),
    (4, 0, 0, (0, 1)),                 # both zero: unavailable becomes 1
    (10, 3, "10%", (3, 1)),
    (3, "100%", 0, (3, 0)),
])
def test_fenceposts_round_as_kubernetes(replicas, surge, unavailable, expected):
    assert util.resolve_fenceposts(dep(replicas, surge, unavailable)) == expected


def test_max_unavailable_is_capped_and_zero_for_recreate():
    assert util.max_unavailable(dep(2, 0, "100%")) == 2
    assert util.max_unavailable(dep(3, kind="Recreate")) == 0
    assert util.max_surge(dep(3, kind="Recreate")) == 0


def test_new_replica_set_grows_only_into_the_surge():
    d = dep(10, 3, 2)
    old, new = rs("old", 10), rs("new", 0)
    assert sync.new_rs_replicas(d, [old, new], new) == 3        # 10 + 0 -> 13 allowed
    old_shrinking = rs("old", 8, status_replicas=10)            # its pods not deleted yet
    assert sync.new_rs_replicas(d, [old_shrinking, rs("new", 3)], rs("new", 3)) == 3
    assert sync.new_rs_replicas(d, [rs("old", 8), rs("new", 3)], rs("new", 3)) == 5
    assert sync.new_rs_replicas(dep(10, kind="Recreate"), [old, new], new) == 10


def test_surely_available_ignores_pods_about_to_go():
    assert util.surely_available(rs("a", 3, available=5)) == 3
    assert util.surely_available(rs("a", 5, available=2)) == 2


def test_proportional_shares_round_and_respect_the_sign():
    d = dep(20, 0, 1)                     # scaled from 10 to 20; max-replicas said 10
    d["status"]["replicas"] = 10
    big = rs("big", 6, **{util.MAX_REPLICAS: "10"})
    small = rs("small", 4, **{util.MAX_REPLICAS: "10"})
    assert sync._proportion(big, d, 10, 0) == 6                 # 6 * 20 / 10 - 6
    assert sync._proportion(small, d, 10, 6) == 4
    assert sync._proportion(small, d, 10, 9) == 1               # capped by what is left
    shrink = dep(5, 0, 1)
    assert sync._proportion(big, shrink, -5, 0) == -3           # round(6 * 5 / 10) - 6


def test_new_replica_set_annotations_keep_revision_history():
    d = dep(3, **{"kubernetes.io/change-cause": "undo", util.LAST_APPLIED: "{}"})
    back = rs("v1", 0, **{util.REVISION: "1"})
    assert util.set_new_rs_annotations(d, back, 3, exists=True)
    ann = back["metadata"]["annotations"]
    assert ann[util.REVISION] == "3" and ann[util.REVISION_HISTORY] == "1"
    assert ann["kubernetes.io/change-cause"] == "undo"
    assert util.LAST_APPLIED not in ann
    util.set_new_rs_annotations(d, back, 5, exists=True)
    assert ann[util.REVISION_HISTORY] == "1,3"
    assert not util.set_new_rs_annotations(d, back, 5, exists=True)    # nothing new
    fresh = rs("v4", 0)
    util.set_new_rs_annotations(dep(4, 1, 0), fresh, 4, exists=False)
    assert fresh["metadata"]["annotations"][util.DESIRED_REPLICAS] == "4"
    assert fresh["metadata"]["annotations"][util.MAX_REPLICAS] == "5"


def test_the_new_replica_set_is_the_oldest_with_the_same_template():
    template = {"metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "w", "image": "nginx:1"}]}}
    d = dep(1)
    d["spec"]["template"] = template
    older = rs("older", 1, created="2024-01-01T00:00:00Z")
    newer = rs("newer", 1, created="2024-01-02T00:00:00Z")
    other = rs("other", 1, created="2023-01-01T00:00:00Z")
    for r in (older, newer):
        r["spec"]["template"] = {"metadata": {"labels": {"app": "web",
                                                         "pod-template-hash": r["metadata"]
                                                         ["name"]}},
                                 "spec": {"containers": [{"name": "w", "image": "nginx:1"}],
                                          "volumes": []}}
    other["spec"]["template"] = {"metadata": {"labels": {"app": "web"}},
                                 "spec": {"containers": [{"name": "w", "image": "nginx:2"}]}}
    assert sync.find_new(d, [newer, other, older]) is older


def test_complete_and_timed_out():
    from datetime import UTC, datetime, timedelta

    d = dep(2)
    d["spec"]["progressDeadlineSeconds"] = 10
    done = {"updatedReplicas": 2, "replicas": 2, "availableReplicas": 2, "observedGeneration": 1}
    assert util.complete(d, done)
    assert not util.complete(d, dict(done, observedGeneration=0))
    now = datetime(2024, 1, 1, 0, 1, tzinfo=UTC)
    stale = (now - timedelta(seconds=11)).strftime("%Y-%m-%dT%H:%M:%SZ")
    waiting = {"conditions": [{"type": "Progressing", "status": "True",
                               "reason": "ReplicaSetUpdated", "lastUpdateTime": stale}]}
    assert util.timed_out(d, waiting, now)
    waiting["conditions"][0]["reason"] = "NewReplicaSetAvailable"
    assert not util.timed_out(d, waiting, now)

"""Tables as kubectl prints them: ages, pod STATUS/READY/RESTARTS, column definitions."""

from datetime import UTC, datetime, timedelta

import pytest

from supernetes.controlplane.api import meta, registry, tables

PODS = registry.lookup("", "v1", "pods")


@pytest.mark.parametrize("seconds,text", [
    (-5, "<invalid>"), (-1, "0s"), (0, "0s"), (59, "59s"), (119, "119s"), (120, "2m"),
    (125, "2m5s"), (599, "9m59s"), (600, "10m"), (179 * 60, "179m"), (3 * 3600, "3h"),
    (3 * 3600 + 60 * 25, "3h25m"), (8 * 3600, "8h"), (47 * 3600, "47h"), (48 * 3600, "2d"),
    (50 * 3600, "2d2h"), (8 * 86400, "8d"), (400 * 86400, "400d"),
    (2 * 365 * 86400, "2y"), (3 * 365 * 86400 + 20 * 86400, "3y20d"),
    (9 * 365 * 86400, "9y"),
])
def test_human_duration(seconds, text):
    assert tables.human_duration(seconds) == text


def ago(seconds: int) -> str:
    return meta.format_time(datetime.now(UTC) - timedelta(seconds=seconds))


def pod(status, init=0, sidecar=False, containers=1, deleting=False, gates=()):
    spec = {"containers": [{"name": f"c{i}"} for i in range(containers)],
            "initContainers": [{"name": f"i{i}", **({"restartPolicy": "Always"}
                                                     if sidecar else {})}
                               for i in range(init)]}
    if gates:
        spec["readinessGates"] = [{"conditionType": g} for g in gates]
    metadata = {"name": "p"}
    if deleting:
        metadata["deletionTimestamp"] = ago(0)
    return {"metadata": metadata, "spec": spec, "status": status}


def running(ready=True, restarts=0, finished=None):
    cs = {"name": "c0", "ready": ready, "restartCount": restarts,
          "state": {"running": {"startedAt": ago(60)}}}
    if finished is not None:
        cs["lastState"] = {"terminated": {"exitCode": 1, "finishedAt": ago(finished)}}
    return cs


def waiting(reason, restarts=0):
    return {"name": "c0", "ready": False, "restartCount": restarts,
            "state": {"waiting": {"reason": reason}}}


def terminated(code=0, reason="", signal=0, name="c0"):
    state = {"exitCode": code}
    if reason:
        state["reason"] = reason
    if signal:
        state["signal"] = signal
    return {"name": name, "ready": False, "restartCount": 0, "state": {"terminated": state}}


CASES = [
    ("pending, nothing reported", pod({"phase": "Pending"}), "0/1", "Pending", "0"),
    ("running and ready", pod({"phase": "Running", "containerStatuses": [running()]}),
     "1/1", "Running", "0"),
    ("crash loop", pod({"phase": "Running", "containerStatuses": [
        waiting("CrashLoopBackOff", restarts=4)]}), "0/1", "CrashLoopBackOff", "4"),
    ("image pull", pod({"phase": "Pending", "containerStatuses": [
        waiting("ErrImagePull")]}), "0/1", "ErrImagePull", "0"),
    ("completed", pod({"phase": "Succeeded", "containerStatuses": [
        terminated(0, "Completed")]}), "0/1", "Completed", "0"),
    ("exit code without reason", pod({"phase": "Failed", "containerStatuses": [
        terminated(3)]}), "0/1", "ExitCode:3", "0"),
    ("signal without reason", pod({"phase": "Failed", "containerStatuses": [
        terminated(137, signal=9)]}), "0/1", "Signal:9", "0"),
    ("init running", pod({"phase": "Pending", "initContainerStatuses": [
        {"name": "i0", "state": {"running": {}}}]}, init=2), "0/1", "Init:0/2", "0"),
    ("init crash loop", pod({"phase": "Pending", "initContainerStatuses": [
        {"name": "i0", "restartCount": 2, "state": {"waiting": {"reason": "CrashLoopBackOff"}}}
    ]}, init=1), "0/1", "Init:CrashLoopBackOff", "2"),
    ("init failed", pod({"phase": "Pending", "initContainerStatuses": [
        terminated(1, "Error", name="i0")]}, init=1), "0/1", "Init:Error", "0"),
    ("init second of two", pod({"phase": "Pending", "initContainerStatuses": [
        terminated(0, "Completed", name="i0"), {"name": "i1", "state": {"waiting": {
            "reason": "PodInitializing"}}}]}, init=2), "0/1", "Init:1/2", "0"),
    ("terminating", pod({"phase": "Running", "containerStatuses": [running()]},
                        deleting=True), "1/1", "Terminating", "0"),
    ("finished pods are not terminating", pod({"phase": "Succeeded", "containerStatuses": [
        terminated(0, "Completed")]}, deleting=True), "0/1", "Completed", "0"),
    ("completed but one still running and ready", pod({
        "phase": "Running", "conditions": [{"type": "Ready", "status": "True"}],
        "containerStatuses": [running(), {**terminated(0, "Completed"), "name": "c1"}]},
        containers=2), "1/2", "Running", "0"),
    ("completed but one running, not ready", pod({
        "phase": "Running", "containerStatuses": [running(),
                                                  {**terminated(0, "Completed"), "name": "c1"}]},
        containers=2), "1/2", "NotReady", "0"),
    ("evicted", pod({"phase": "Failed", "reason": "Evicted"}), "0/1", "Evicted", "0"),
    ("gated", pod({"phase": "Pending", "conditions": [
        {"type": "PodScheduled", "status": "False", "reason": "SchedulingGated"}]}),
     "0/1", "SchedulingGated", "0"),
    ("sidecar counts as a container", pod({
        "phase": "Running", "conditions": [{"type": "Initialized", "status": "True"}],
        "initContainerStatuses": [{"name": "i0", "started": True, "ready": True,
                                   "restartCount": 1, "state": {"running": {}}}],
        "containerStatuses": [running()]}, init=1, sidecar=True), "2/2", "Running", "1"),
]


@pytest.mark.parametrize("description,obj,ready,status,restarts", CASES,
                         ids=[c[0] for c in CASES])
def test_pod_status_like_kubectl(description, obj, ready, status, restarts):
    # 10 to 11 minutes print as "10m": no flake when a second ticks meanwhile
    obj["metadata"]["creationTimestamp"] = ago(600)
    row = PODS.table([obj])[1][0]
    assert row[1:4] == [ready, status, restarts]
    assert row[4] == "10m"


def test_restarts_show_when_the_last_one_was():
    obj = pod({"phase": "Running", "containerStatuses": [running(restarts=3, finished=630)]})
    assert PODS.table([obj])[1][0][3] == "3 (10m ago)"


def test_pod_wide_columns():
    obj = pod({"phase": "Running", "podIPs": [{"ip": "10.244.0.5"}],
               "conditions": [{"type": "example.com/a", "status": "True"}]},
              gates=("example.com/a", "example.com/b"))
    obj["spec"]["nodeName"] = "node-1"
    cols, rows = PODS.table([obj])
    assert [c["name"] for c in cols] == ["Name", "Ready", "Status", "Restarts", "Age", "IP",
                                         "Node", "Nominated Node", "Readiness Gates"]
    assert [c["priority"] for c in cols] == [0, 0, 0, 0, 0, 1, 1, 1, 1]
    assert cols[0]["format"] == "name"
    assert rows[0][5:] == ["10.244.0.5", "node-1", "<none>", "1/2"]


def test_every_type_has_well_formed_columns():
    for rt in registry.all_types():
        cols, rows = rt.table([])
        assert rows == []
        assert cols and all(set(c) == {"name", "type", "format", "description", "priority"}
                            for c in cols), rt.kind
        assert cols[0]["name"] in ("Name", "Last Seen")


def test_format_selector():
    assert tables.format_selector(None) == "<none>"
    assert tables.format_selector({}) == "<none>"
    assert tables.format_selector({"matchLabels": {"b": "2", "a": "1"}, "matchExpressions": [
        {"key": "c", "operator": "In", "values": ["x", "y"]},
        {"key": "d", "operator": "DoesNotExist"}]}) == "a=1,b=2,c in (x,y),!d"

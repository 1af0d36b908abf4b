"""compute_pod_status: phase, conditions and container states as Kubernetes reports them."""

import pytest
from podfactory import APP, INIT1, NOW, SIDE, observed, pod, rec

from supernetes.agent.actions import PodActions, Waiting, compute_pod_actions
from supernetes.agent.observed import EXITED
from supernetes.agent.podstatus import compute_pod_status


def status_of(p, obs, now=NOW, **kw):
    return compute_pod_status(p, obs, compute_pod_actions(p, obs, now), now, **kw)


def condition(status, kind):
    return next(c for c in status["conditions"] if c["type"] == kind)


def test_a_pod_whose_containers_are_being_created_is_pending():
    status = status_of(pod([APP, SIDE]), observed(rec("app")))
    assert status["phase"] == "Pending"
    side = status["containerStatuses"][1]
    assert side["state"] == {"waiting": {"reason": "ContainerCreating"}}


def test_a_running_ready_pod():
    status = status_of(pod(), observed(rec("app")), pod_ip="10.244.1.5", host_ip="192.0.2.1",
                       start_time=NOW - 200)
    assert status["phase"] == "Running"
    assert status["podIP"] == "10.244.1.5" and status["podIPs"] == [{"ip": "10.244.1.5"}]
    assert status["hostIP"] == "192.0.2.1"
    (app,) = status["containerStatuses"]
    assert app["state"] == {"running": {"startedAt": "1970-01-12T13:45:00Z"}}
    assert app["ready"] and app["started"] and app["restartCount"] == 0
    assert app["containerID"] == "superc://app-0"
    for kind in ("Initialized", "Ready", "ContainersReady", "PodScheduled",
                 "PodReadyToStartContainers"):
        assert condition(status, kind)["status"] == "True"


def test_a_failing_readiness_probe_makes_the_pod_not_ready_but_still_running():
    p = pod([{**APP, "readinessProbe": {"exec": {"command": ["false"]}}}])
    status = status_of(p, observed(rec("app")), readiness={"app": False})
    assert status["phase"] == "Running"
    assert status["containerStatuses"][0]["ready"] is False
    ready = condition(status, "Ready")
    assert ready["status"] == "False" and ready["reason"] == "ContainersNotReady"
    assert ready["message"] == "containers with unready status: [app]"
    assert condition(status_of(p, observed(rec("app")), readiness={"app": True}),
                     "Ready")["status"] == "True"


def test_crash_loop_shows_waiting_with_last_state_and_restart_count():
    crashed = rec("app", attempt=3, state=EXITED, exit_code=2, started=NOW - 3,
                  finished=NOW - 2, streak=2)
    status = status_of(pod(), observed(crashed))
    (app,) = status["containerStatuses"]
    assert status["phase"] == "Running"
    assert app["state"]["waiting"]["reason"] == "CrashLoopBackOff"
    assert app["restartCount"] == 3
    assert app["lastState"]["terminated"]["exitCode"] == 2
    assert app["lastState"]["terminated"]["reason"] == "Error"


def test_an_oom_killed_container_reports_oomkilled_in_its_last_state():
    oom = rec("app", attempt=0, state=EXITED, exit_code=137, reason="OOMKilled",
              started=NOW - 5, finished=NOW - 4)
    restarted = rec("app", attempt=1, started=NOW - 1)
    status = status_of(pod(), observed(oom, restarted))
    (app,) = status["containerStatuses"]
    assert app["state"].keys() == {"running"}
    assert app["lastState"]["terminated"]["reason"] == "OOMKilled"
    assert app["restartCount"] == 1


@pytest.mark.parametrize(("policy", "codes", "phase"), [
    ("Never", (0, 0), "Succeeded"),
    ("Never", (0, 1), "Failed"),
    ("OnFailure", (0, 0), "Succeeded"),
    ("OnFailure", (0, 1), "Running"),
    ("Always", (0, 0), "Running"),
])
def test_phase_of_a_pod_whose_containers_all_exited(policy, codes, phase):
    records = [rec(name, state=EXITED, exit_code=code, started=NOW - 60, finished=NOW - 50)
               for name, code in zip(("app", "side"), codes, strict=True)]
    status = status_of(pod([APP, SIDE], policy=policy), observed(*records))
    assert status["phase"] == phase
    if phase in ("Succeeded", "Failed"):
        assert condition(status, "Ready")["reason"] == "PodCompleted"


def test_init_containers_hold_the_pod_pending_and_uninitialised():
    p = pod(init=[INIT1])
    status = status_of(p, observed(rec("init-1", init=True)))
    assert status["phase"] == "Pending"
    init = condition(status, "Initialized")
    assert init["status"] == "False"
    assert init["message"] == "containers with incomplete status: [init-1]"
    assert status["containerStatuses"][0]["state"] == {"waiting": {"reason": "PodInitializing"}}
    assert status["initContainerStatuses"][0]["state"].keys() == {"running"}


def test_an_init_container_failing_under_restart_policy_never_fails_the_pod():
    failed = rec("init-1", state=EXITED, exit_code=1, started=NOW - 9, finished=NOW - 8,
                 init=True)
    assert status_of(pod(init=[INIT1], policy="Never"), observed(failed))["phase"] == "Failed"
    assert status_of(pod(init=[INIT1], policy="Always"), observed(failed))["phase"] == "Pending"


def test_failures_such_as_image_pull_errors_show_as_waiting_reasons():
    p = pod()
    obs = observed()
    status = compute_pod_status(p, obs, compute_pod_actions(p, obs, NOW), NOW,
                                failures={"app": Waiting("ErrImagePull", "manifest unknown")})
    assert status["containerStatuses"][0]["state"] == {
        "waiting": {"reason": "ErrImagePull", "message": "manifest unknown"}}


def test_a_condition_keeps_its_transition_time_while_its_status_holds():
    p = pod()
    first = status_of(p, observed(rec("app")), now=NOW)
    p["status"] = first
    second = status_of(p, observed(rec("app")), now=NOW + 60)
    assert condition(second, "Ready")["lastTransitionTime"] == \
        condition(first, "Ready")["lastTransitionTime"]
    p["status"] = second
    p["spec"]["containers"][0] = {**APP, "readinessProbe": {"tcpSocket": {"port": 80}}}
    third = compute_pod_status(p, observed(rec("app")), PodActions(), NOW + 120,
                               readiness={"app": False})
    assert condition(third, "Ready")["lastTransitionTime"] != \
        condition(first, "Ready")["lastTransitionTime"]


def test_deadline_exceeded_fails_the_pod_with_kubernetes_reason():
    p = pod(activeDeadlineSeconds=10)
    obs = observed(rec("app"))
    actions = compute_pod_actions(p, obs, NOW, start_time=NOW - 11)
    status = compute_pod_status(p, obs, actions, NOW)
    assert status["phase"] == "Failed" and status["reason"] == "DeadlineExceeded"


def test_an_evicted_pod_is_failed_with_reason_evicted_and_the_kubelets_message():
    message = 'Usage of EmptyDir volume "scratch" exceeds the limit "1Mi".'
    p, obs = pod(), observed(rec("app"))
    actions = compute_pod_actions(p, obs, NOW, evicted=message)
    status = compute_pod_status(p, obs, actions, NOW)
    assert (status["phase"], status["reason"], status["message"]) == ("Failed", "Evicted",
                                                                      message)
    assert condition(status, "Ready")["status"] == "False"

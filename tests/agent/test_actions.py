"""compute_pod_actions: what the agent decides to do, rule by rule (pure, no kernel)."""

import pytest
from podfactory import APP, INIT1, INIT2, NOW, SIDE, observed, pod, rec

from supernetes.agent.actions import compute_pod_actions
from supernetes.agent.backoff import BackoffPolicy
from supernetes.agent.observed import CREATED, EXITED


def started(actions):
    return [(s.name, s.attempt) for s in actions.start]


def test_a_new_pod_gets_a_sandbox_and_all_its_containers():
    actions = compute_pod_actions(pod([APP, SIDE]), observed(sandbox=False), NOW)
    assert actions.create_sandbox
    assert started(actions) == [("app", 0), ("side", 0)]
    assert actions.kill == [] and actions.kill_pod is None


def test_a_running_pod_needs_nothing():
    actions = compute_pod_actions(pod(), observed(rec("app")), NOW)
    assert (actions.start, actions.kill, actions.remove, actions.waiting) == ([], [], [], {})


def test_init_containers_run_one_at_a_time_in_order_before_the_app():
    p = pod(init=[INIT1, INIT2])
    first = compute_pod_actions(p, observed(), NOW)
    assert started(first) == [("init-1", 0)]
    assert first.waiting["app"].reason == "PodInitializing"
    running = compute_pod_actions(p, observed(rec("init-1", init=True)), NOW)
    assert running.start == []
    second = compute_pod_actions(
        p, observed(rec("init-1", state=EXITED, exit_code=0, finished=NOW - 50, init=True)), NOW)
    assert started(second) == [("init-2", 0)]
    done = compute_pod_actions(p, observed(
        rec("init-1", state=EXITED, exit_code=0, finished=NOW - 50, init=True),
        rec("init-2", state=EXITED, exit_code=0, started=NOW - 40, finished=NOW - 30,
            init=True)), NOW)
    assert started(done) == [("app", 0)]


@pytest.mark.parametrize("policy", ["Always", "OnFailure"])
def test_a_failed_init_container_is_retried_unless_policy_is_never(policy):
    failed = rec("init-1", state=EXITED, exit_code=1, started=NOW - 60, finished=NOW - 50,
                 init=True)
    actions = compute_pod_actions(pod(init=[INIT1], policy=policy), observed(failed), NOW)
    assert started(actions) == [("init-1", 1)]
    never = compute_pod_actions(pod(init=[INIT1], policy="Never"), observed(failed), NOW)
    assert never.start == []


@pytest.mark.parametrize(("policy", "exit_code", "restarts"), [
    ("Always", 0, True), ("Always", 1, True),
    ("OnFailure", 0, False), ("OnFailure", 137, True),
    ("Never", 0, False), ("Never", 1, False),
])
def test_restart_policy_decides_whether_an_exited_container_starts_again(policy, exit_code,
                                                                         restarts):
    exited = rec("app", state=EXITED, exit_code=exit_code, started=NOW - 60, finished=NOW - 50)
    actions = compute_pod_actions(pod(policy=policy), observed(exited), NOW)
    assert started(actions) == ([("app", 1)] if restarts else [])


def test_crash_loop_backs_off_10s_doubling_to_5_minutes():
    policy = BackoffPolicy()
    delays = []
    streak = 0
    for attempt in range(8):
        crashed = rec("app", attempt=attempt, state=EXITED, exit_code=1, started=NOW - 2,
                      finished=NOW - 1, streak=streak)
        delays.append(policy.delay_after(crashed))
        streak = policy.streak_after(crashed)
    assert delays == [0, 10, 20, 40, 80, 160, 300, 300]


def test_a_container_in_backoff_waits_with_crash_loop_back_off_and_a_requeue_time():
    crashed = rec("app", attempt=3, state=EXITED, exit_code=1, started=NOW - 3, finished=NOW - 2,
                  streak=2)  # third quick exit in a row: wait 20 s
    actions = compute_pod_actions(pod(), observed(crashed), NOW)
    assert actions.start == []
    assert actions.waiting["app"].reason == "CrashLoopBackOff"
    assert "back-off 20s" in actions.waiting["app"].message
    assert actions.requeue_at == NOW - 2 + 20
    later = compute_pod_actions(pod(), observed(crashed), NOW + 30)
    assert started(later) == [("app", 4)]
    assert later.start[0].restart_streak == 3


def test_a_long_run_resets_the_backoff_streak():
    policy = BackoffPolicy(reset_after=600)
    long_run = rec("app", attempt=5, state=EXITED, exit_code=1, started=NOW - 700,
                   finished=NOW - 1, streak=6)
    assert policy.delay_after(long_run) == 0
    actions = compute_pod_actions(pod(), observed(long_run), NOW, policy)
    assert started(actions) == [("app", 6)]
    assert actions.start[0].restart_streak == 1


def test_failed_liveness_kills_the_running_container():
    actions = compute_pod_actions(pod(), observed(rec("app")), NOW,
                                  liveness_failed=frozenset({"app"}))
    assert [(k.id, k.reason) for k in actions.kill] == [("app-0", "liveness probe failed")]
    assert actions.start == []


def test_a_changed_container_spec_restarts_the_container():
    old = rec("app", container={"name": "app", "image": "busybox:1"})
    actions = compute_pod_actions(pod([{"name": "app", "image": "busybox:2"}]), observed(old), NOW)
    assert [k.reason for k in actions.kill] == ["container spec changed"]


def test_a_container_created_but_never_started_is_replaced_with_the_same_attempt():
    actions = compute_pod_actions(pod(), observed(rec("app", attempt=2, state=CREATED)), NOW)
    assert [k.id for k in actions.kill] == ["app-2"]
    assert started(actions) == [("app", 2)]


def test_a_lost_sandbox_stops_its_containers_first_then_init_containers_run_again():
    running = rec("app", attempt=1)
    init_done = rec("init-1", state=EXITED, exit_code=0, started=NOW - 500, finished=NOW - 490,
                    init=True)
    p = pod(init=[INIT1])
    lost = compute_pod_actions(p, observed(init_done, running, sandbox=False), NOW)
    assert lost.create_sandbox
    assert [k.id for k in lost.kill] == ["app-1"]
    assert lost.start == [] and lost.requeue_at == NOW
    stopped = rec("app", attempt=1, state=EXITED, exit_code=137, finished=NOW)
    fresh = compute_pod_actions(p, observed(init_done, stopped, sandbox=True, sandbox_at=NOW),
                                NOW + 1)
    assert started(fresh) == [("init-1", 1)]


def test_a_deleted_pod_or_one_past_its_deadline_is_killed_whole():
    deleted = pod()
    deleted["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    assert compute_pod_actions(deleted, observed(rec("app")), NOW).kill_pod
    late = pod(activeDeadlineSeconds=30)
    actions = compute_pod_actions(late, observed(rec("app")), NOW, start_time=NOW - 31)
    assert actions.kill_pod == "DeadlineExceeded"
    assert compute_pod_actions(late, observed(rec("app")), NOW, start_time=NOW - 5).kill_pod is None


def test_only_the_two_newest_attempts_of_a_container_are_kept():
    records = [rec("app", attempt=a, state=EXITED, exit_code=1, finished=NOW - 100 + a)
               for a in range(4)] + [rec("app", attempt=4)]
    actions = compute_pod_actions(pod(), observed(*records), NOW)
    assert sorted(actions.remove) == ["app-0", "app-1", "app-2"]


def test_the_decision_is_reentrant():
    obs = observed(rec("app", state=EXITED, exit_code=1, started=NOW - 3, finished=NOW - 2,
                       streak=1))
    assert compute_pod_actions(pod(), obs, NOW) == compute_pod_actions(pod(), obs, NOW)


def test_an_evicted_pod_is_killed_whole_and_nothing_restarts():
    message = 'Usage of EmptyDir volume "scratch" exceeds the limit "1Mi".'
    exited = rec("app", state=EXITED, exit_code=137, finished=NOW)
    actions = compute_pod_actions(pod(), observed(exited), NOW, evicted=message)
    assert (actions.kill_pod, actions.kill_message) == ("Evicted", message)
    assert actions.start == []

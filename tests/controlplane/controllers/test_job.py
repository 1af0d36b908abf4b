"""The Job controller against a real API server with hollow nodes: completions and
parallelism, BackoffLimitExceeded, DeadlineExceeded, Indexed completion, exactly-once
counting, and ttlSecondsAfterFinished. (Job back-off in tests: 0.2 s doubling.)"""

from __future__ import annotations

import pytest
from hollow import EXIT_AFTER, EXIT_CODE, wait_for

from supernetes.controlplane.client import NotFound

pytestmark = pytest.mark.slow

TRACKING = "batch.kubernetes.io/job-tracking"


def job(name: str, exit_code: int = 0, run_for: float = 0.3, **spec) -> dict:
    body = {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name},
            "spec": {"template": {
                "metadata": {"annotations": {EXIT_AFTER: str(run_for),
                                             EXIT_CODE: str(exit_code)}},
                "spec": {"restartPolicy": "Never",
                         "containers": [{"name": "work", "image": "busybox"}]}}}}
    body["spec"].update(spec)
    return body


def condition(job_obj: dict, kind: str) -> dict | None:
    for cond in (job_obj.get("status") or {}).get("conditions") or ():
        if cond["type"] == kind and cond["status"] == "True":
            return cond
    return None


def finished(client, ns, name, kind):
    current = client.get("batch/v1", "Job", name, ns)
    return current if condition(current, kind) else None


def job_pods(client, ns, name):
    return client.list("v1", "Pod", ns, label_selector=f"job-name={name}")["items"]


@pytest.fixture
def node(kubelet):
    kubelet.add_node(f"{kubelet.prefix}0")
    kubelet.add_node(f"{kubelet.prefix}1")
    return kubelet


def test_job_completes_after_its_completions(client, node, ns):
    client.create(job("done", completions=4, parallelism=2), ns)
    done = wait_for(lambda: finished(client, ns, "done", "Complete"), timeout=60,
                    what="the Job Complete")
    st = done["status"]
    assert st["succeeded"] == 4 and st.get("failed", 0) == 0 and st["active"] == 0
    assert st["startTime"] and st["completionTime"]
    assert condition(done, "Complete")["reason"] == "CompletionsReached"
    pods = job_pods(client, ns, "done")
    assert len(pods) == 4                               # exactly one pod per completion
    assert all(p["status"]["phase"] == "Succeeded" for p in pods)
    assert not any(TRACKING in (p["metadata"].get("finalizers") or ()) for p in pods)


def test_parallelism_bounds_active_pods(client, node, ns):
    client.create(job("par", completions=6, parallelism=2, run_for=1.0), ns)
    most = 0

    def check():
        nonlocal most
        active = [p for p in job_pods(client, ns, "par")
                  if p["status"].get("phase") not in ("Succeeded", "Failed")]
        most = max(most, len(active))
        return finished(client, ns, "par", "Complete")
    wait_for(check, timeout=90, interval=0.05, what="the Job Complete")
    assert 1 <= most <= 2


def test_failing_job_stops_at_backoff_limit(client, node, ns):
    client.create(job("fail", exit_code=1, backoffLimit=2), ns)
    failed = wait_for(lambda: finished(client, ns, "fail", "Failed"), timeout=60,
                      what="the Job Failed")
    cond = condition(failed, "Failed")
    assert cond["reason"] == "BackoffLimitExceeded"
    assert cond["message"] == "Job has reached the specified backoff limit"
    assert failed["status"]["failed"] == 3               # backoffLimit + 1 attempts
    assert failed["status"].get("succeeded", 0) == 0
    assert len(job_pods(client, ns, "fail")) == 3
    assert not condition(failed, "Complete")


def test_active_deadline_fails_a_running_job(client, node, ns):
    client.create(job("slow", run_for=600, activeDeadlineSeconds=2), ns)
    failed = wait_for(lambda: finished(client, ns, "slow", "Failed"), timeout=30,
                      what="DeadlineExceeded")
    assert condition(failed, "Failed")["reason"] == "DeadlineExceeded"
    wait_for(lambda: not [p for p in job_pods(client, ns, "slow")
                          if not p["metadata"].get("deletionTimestamp")
                          and p["status"].get("phase") == "Running"],
             what="the running pod deleted")


def test_indexed_job_runs_each_index_once(client, node, ns):
    client.create(job("idx", completions=3, parallelism=3, completionMode="Indexed"), ns)
    done = wait_for(lambda: finished(client, ns, "idx", "Complete"), timeout=60,
                    what="the indexed Job Complete")
    assert done["status"]["completedIndexes"] == "0-2"
    pods = job_pods(client, ns, "idx")
    indexes = sorted(p["metadata"]["annotations"]["batch.kubernetes.io/job-completion-index"]
                     for p in pods)
    assert indexes == ["0", "1", "2"]
    for pod in pods:
        index = pod["metadata"]["annotations"]["batch.kubernetes.io/job-completion-index"]
        assert pod["spec"]["hostname"] == f"idx-{index}"
        env = pod["spec"]["containers"][0]["env"][0]
        assert env["name"] == "JOB_COMPLETION_INDEX"


def test_pod_deleted_while_running_counts_as_failed_once(client, node, ns):
    client.create(job("lost", run_for=600, backoffLimit=5), ns)
    pod = wait_for(lambda: [p for p in job_pods(client, ns, "lost")
                            if p["status"].get("phase") == "Running"], what="a running pod")[0]
    client.delete("v1", "Pod", pod["metadata"]["name"], ns)
    wait_for(lambda: client.get("batch/v1", "Job", "lost", ns)["status"].get("failed") == 1,
             what="the lost pod counted as failed")
    wait_for(lambda: client.get("batch/v1", "Job", "lost", ns)["status"].get("active") == 1,
             what="a replacement pod")

    def gone():         # counted, its tracking finalizer removed: it could go
        try:
            client.get("v1", "Pod", pod["metadata"]["name"], ns)
            return False
        except NotFound:
            return True
    wait_for(gone, timeout=20, what="the deleted pod gone")
    assert client.get("batch/v1", "Job", "lost", ns)["status"]["failed"] == 1


def test_finished_job_is_deleted_after_its_ttl(client, node, ns):
    client.create(job("ttl", ttlSecondsAfterFinished=1), ns)
    wait_for(lambda: finished(client, ns, "ttl", "Complete"), timeout=60, what="Complete")

    def gone():
        try:
            client.get("batch/v1", "Job", "ttl", ns)
            return False
        except NotFound:
            return True
    wait_for(gone, timeout=30, what="the Job deleted after its TTL")
    wait_for(lambda: not job_pods(client, ns, "ttl"), timeout=30, what="its pods deleted")

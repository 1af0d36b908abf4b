"""Pods on a real node, end to end: API server -> scheduler -> superlet -> runtime -> kernel.

Every test runs twice, on superc (through its warm spawner) and on runc (through
the agent's shim), in a cluster inside a network namespace the module made.
What is asserted is what a user sees: the pod's status in the API, bytes
fetched over the pod network, files inside containers, processes on the node.
"""

import json
import os
import signal
import time

import pytest
from nodekit import container_status, pod, ready, running, start_cluster, wait

from supernetes.agent import nodeinfo

pytestmark = [pytest.mark.root, pytest.mark.netns, pytest.mark.e2e, pytest.mark.slow]

HTTPD = ["sh", "-c", 'mkdir -p /www && echo "page of $(hostname)" > /www/index.html && '
         "exec httpd -f -p 8080 -h /www"]


@pytest.fixture(scope="module", params=["superc", "runc"])
def runtime(request) -> str:
    return request.param


@pytest.fixture(scope="module")
def cluster(runtime, tmp_path_factory, busybox_layout):
    cluster = start_cluster(tmp_path_factory.mktemp(f"cluster-{runtime}"), busybox_layout,
                            runtime)
    yield cluster
    cluster.close()


@pytest.fixture
def own_cluster(runtime, tmp_path, busybox_layout):
    """A cluster for one test only (one that replaces the agent's processes)."""
    cluster = start_cluster(tmp_path / "cluster", busybox_layout, runtime)
    yield cluster
    cluster.close()


@pytest.fixture
def pods(cluster):
    """Create pods by manifest; every one is deleted (and awaited) after the test."""
    made = []

    def create(manifest: dict) -> dict:
        made.append(manifest["metadata"]["name"])
        return cluster.create(manifest)

    yield create
    for name in made:
        cluster.delete_pod(name)  # graceful: the agent cleans up before the API lets go
    wait(lambda: not cluster.local_leftovers(), 20, "the node to be empty again")


def restarts(p: dict, name: str = "app") -> int:
    return container_status(p, name).get("restartCount", 0)


def test_a_pod_runs_gets_an_ip_and_serves_http_to_the_node_and_to_other_pods(cluster, pods):
    pods(pod("web-a", [{"name": "app", "command": HTTPD}]))
    pods(pod("web-b", [{"name": "app", "command": HTTPD}]))
    a = cluster.wait_pod("web-a", lambda p: running(p) and ready(p), what="Running")
    b = cluster.wait_pod("web-b", lambda p: running(p) and ready(p), what="Running")
    ip_a, ip_b = a["status"]["podIP"], b["status"]["podIP"]
    assert ip_a != ip_b and ip_a.startswith("10.244.")
    assert a["status"]["hostIP"] and a["status"]["qosClass"] == "BestEffort"
    assert container_status(a, "app")["containerID"].startswith(f"{cluster.runtime}://")
    assert cluster.http_get(ip_a) == "page of web-a\n"  # node -> pod
    fetched = cluster.exec("web-b", "wget", "-qO-", f"http://{ip_a}:8080/")  # pod -> pod
    assert fetched == "page of web-a\n"
    assert cluster.exec("web-a", "hostname").strip() == "web-a"


def test_a_deployment_scales_3_to_10_to_1_with_every_replica_running_and_reachable(cluster):
    template = pod("x", [{"name": "app", "command": HTTPD,
                          "readinessProbe": {"httpGet": {"path": "/", "port": 8080},
                                             "periodSeconds": 1}}])
    deployment = {"apiVersion": "apps/v1", "kind": "Deployment",
                  "metadata": {"name": "web", "namespace": "default"},
                  "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}},
                           "template": {"metadata": {"labels": {"app": "web"}},
                                        "spec": template["spec"]}}}
    cluster.create(deployment)

    def replicas(n: int) -> list[dict]:
        found: list[dict] = []

        def check() -> bool:
            nonlocal found
            items = cluster.client.list("v1", "Pod", "default", label_selector="app=web")
            found = [p for p in items["items"] if not p["metadata"].get("deletionTimestamp")]
            return len(found) == n and len(items["items"]) == n and all(
                running(p) and ready(p) for p in found)

        wait(check, 90, f"{n} ready replicas")
        return found

    try:
        three = replicas(3)
        ips = {p["status"]["podIP"] for p in three}
        assert len(ips) == 3
        for p in three:
            assert cluster.http_get(p["status"]["podIP"]) == f"page of {p['metadata']['name']}\n"
        first, second = three[0], three[1]
        assert cluster.exec(first["metadata"]["name"], "wget", "-qO-",
                            f"http://{second['status']['podIP']}:8080/") == \
            f"page of {second['metadata']['name']}\n"
        cluster.client.scale("apps/v1", "Deployment", "web", 10, "default")
        ten = replicas(10)
        assert len({p["status"]["podIP"] for p in ten}) == 10
        cluster.client.scale("apps/v1", "Deployment", "web", 1, "default")
        (one,) = replicas(1)
        assert cluster.http_get(one["status"]["podIP"]).startswith("page of web-")
    finally:
        cluster.client.delete("apps/v1", "Deployment", "web", "default",
                              propagation_policy="Foreground")
        wait(lambda: not cluster.client.list("v1", "Pod", "default",
                                             label_selector="app=web")["items"], 60,
             "the deployment's pods to go")
        wait(lambda: not cluster.local_leftovers(), 20, "the node to be empty again")


def test_a_crashing_container_backs_off_with_crashloopbackoff_and_counts_restarts(cluster,
                                                                                  pods):
    pods(pod("crasher", [{"name": "app", "command": ["sh", "-c", "echo boom; exit 3"]}]))
    p = cluster.wait_pod("crasher", lambda p: restarts(p) >= 2 and container_status(
        p, "app").get("state", {}).get("waiting", {}).get("reason") == "CrashLoopBackOff",
        timeout=60, what="two restarts and CrashLoopBackOff")
    status = container_status(p, "app")
    last = status["lastState"]["terminated"]
    assert (last["exitCode"], last["reason"]) == (3, "Error")
    assert "back-off" in status["state"]["waiting"]["message"]
    assert p["status"]["phase"] == "Running"
    assert not ready(p)


def test_a_container_over_its_memory_limit_is_oom_killed_and_says_so(cluster, pods):
    pods(pod("hog", [{"name": "app", "command": ["sh", "-c", "exec dd if=/dev/zero "
                                                 "of=/dev/null bs=200M count=1"],
                      "resources": {"limits": {"memory": "32Mi"}}}], restartPolicy="Never"))
    p = cluster.wait_pod("hog", lambda p: p["status"].get("phase") == "Failed", timeout=60,
                         what="Failed")
    terminated = container_status(p, "app")["state"]["terminated"]
    assert (terminated["reason"], terminated["exitCode"]) == ("OOMKilled", 137)
    assert p["status"]["qosClass"] == "Burstable"


def test_a_failing_liveness_probe_restarts_the_container(cluster, pods):
    pods(pod("sick", [{"name": "app", "command": ["sh", "-c", "touch /tmp/ok; sleep 2; "
                                                  "rm /tmp/ok; sleep 3600"],
                       "livenessProbe": {"exec": {"command": ["cat", "/tmp/ok"]},
                                         "periodSeconds": 1, "failureThreshold": 2}}]))
    p = cluster.wait_pod("sick", lambda p: restarts(p) >= 1, timeout=60, what="a restart")
    last = container_status(p, "app")["lastState"]["terminated"]
    assert last["exitCode"] in (137, 143)
    events = cluster.client.list("v1", "Event", "default",
                                 field_selector="involvedObject.name=sick")["items"]
    assert any("liveness" in e.get("message", "") for e in events)


def test_a_failing_readiness_probe_makes_the_pod_not_ready_without_restarting_it(cluster,
                                                                                  pods):
    pods(pod("shy", [{"name": "app", "command": ["sleep", "3600"],
                      "readinessProbe": {"exec": {"command": ["test", "-f", "/tmp/ready"]},
                                         "periodSeconds": 1}}]))
    p = cluster.wait_pod("shy", running, what="Running")
    time.sleep(3)
    p = cluster.pod("shy")
    assert running(p) and not ready(p) and restarts(p) == 0
    assert not container_status(p, "app")["ready"]
    cluster.exec("shy", "touch", "/tmp/ready")
    p = cluster.wait_pod("shy", ready, timeout=20, what="Ready once the probe passes")
    assert restarts(p) == 0


def test_an_init_container_runs_to_completion_before_the_app_starts(cluster, pods):
    pods(pod("gated", [{"name": "app", "command": ["sh", "-c", "cat /work/token; sleep 3600"],
                        "volumeMounts": [{"name": "work", "mountPath": "/work"}]}],
             initContainers=[{"name": "prepare", "command": ["sh", "-c", "sleep 1; echo "
                              "made-by-init > /work/token"],
                              "volumeMounts": [{"name": "work", "mountPath": "/work"}]}],
             volumes=[{"name": "work", "emptyDir": {}}]))
    pending = cluster.wait_pod("gated", lambda p: (p["status"].get("initContainerStatuses")
                                                   or [{}])[0].get("state", {}).get("running"),
                               what="the init container running")
    assert pending["status"]["phase"] == "Pending"
    assert container_status(pending, "app")["state"]["waiting"]["reason"] == "PodInitializing"
    p = cluster.wait_pod("gated", running, what="Running")
    init = p["status"]["initContainerStatuses"][0]["state"]["terminated"]
    assert init["reason"] == "Completed"
    assert cluster.exec("gated", "cat", "/work/token") == "made-by-init\n"


def test_an_emptydir_is_shared_between_the_containers_of_a_pod(cluster, pods):
    mount = [{"name": "shared", "mountPath": "/shared"}]
    pods(pod("pair", [
        {"name": "writer", "command": ["sh", "-c", "echo hi-from-writer > /shared/note; "
                                       "sleep 3600"], "volumeMounts": mount},
        {"name": "reader", "command": ["sleep", "3600"], "volumeMounts": mount}],
        volumes=[{"name": "shared", "emptyDir": {}}]))
    cluster.wait_pod("pair", lambda p: running(p) and ready(p), what="both containers Ready")
    wait(lambda: cluster.exec("pair", "cat", "/shared/note", container="reader")
         == "hi-from-writer\n", 10, "the reader to see the writer's file")


def test_an_emptydir_over_its_size_limit_evicts_the_pod_and_one_under_it_keeps_running(
        cluster, pods):
    def writer(name: str, size_kib: int) -> dict:
        return pod(name, [{"name": "app", "command": [
            "sh", "-c", f"dd if=/dev/zero of=/scratch/fill bs=1024 count={size_kib} && sync; "
            "sleep 3600"], "volumeMounts": [{"name": "scratch", "mountPath": "/scratch"}]}],
            volumes=[{"name": "scratch", "emptyDir": {"sizeLimit": "1Mi"}}])

    pods(writer("hoarder", 2048))
    pods(writer("frugal", 256))
    message = 'Usage of EmptyDir volume "scratch" exceeds the limit "1Mi".'
    p = cluster.wait_pod("hoarder", lambda p: p["status"].get("phase") == "Failed",
                         timeout=30, what="evicted")
    assert (p["status"]["reason"], p["status"]["message"]) == ("Evicted", message)
    events = cluster.client.list("v1", "Event", "default",
                                 field_selector="involvedObject.name=hoarder")["items"]
    assert any((e["type"], e["reason"], e["message"]) == ("Warning", "Evicted", message)
               for e in events)
    p = cluster.wait_pod("hoarder", lambda p: "terminated" in container_status(
        p, "app").get("state", {}), timeout=10, what="its container killed")
    time.sleep(3)  # more than one resync: an evicted pod is never restarted
    p = cluster.pod("hoarder")
    assert p["status"]["phase"] == "Failed" and restarts(p) == 0
    assert "terminated" in container_status(p, "app")["state"]
    frugal = cluster.pod("frugal")
    assert running(frugal) and ready(frugal) and restarts(frugal) == 0
    assert cluster.exec("frugal", "ls", "/scratch") == "fill\n"


def test_an_evicted_pod_stays_evicted_when_a_new_agent_takes_over(own_cluster):
    cluster = own_cluster
    cluster.create(pod("hoarder", [{"name": "app", "command": [
        "sh", "-c", "dd if=/dev/zero of=/scratch/fill bs=1024 count=2048 && sync; sleep 3600"],
        "volumeMounts": [{"name": "scratch", "mountPath": "/scratch"}]}],
        volumes=[{"name": "scratch", "emptyDir": {"sizeLimit": "1Mi"}}]))
    cluster.wait_pod("hoarder", lambda p: p["status"].get("reason") == "Evicted" and
                     "terminated" in container_status(p, "app").get("state", {}),
                     timeout=30, what="evicted and stopped")
    cluster.stop_agent(signal.SIGKILL)
    cluster.start_agent()   # it knows the eviction from the pod's status only
    time.sleep(4)           # two resyncs
    p = cluster.pod("hoarder")
    assert (p["status"]["phase"], p["status"]["reason"]) == ("Failed", "Evicted")
    assert restarts(p) == 0 and "terminated" in container_status(p, "app")["state"]
    cluster.delete_pod("hoarder")
    wait(lambda: not cluster.local_leftovers(), 20, "the node to be empty again")


def test_writing_past_ephemeral_storage_limits_evicts_with_the_kubelets_messages(cluster,
                                                                                 pods):
    fill = ["sh", "-c", "dd if=/dev/zero of=/fill bs=1024 count=2048 && sync; sleep 3600"]
    limit = {"limits": {"ephemeral-storage": "1Mi"}}
    pods(pod("litterbug", [{"name": "app", "command": fill, "resources": limit}]))
    pods(pod("twins", [{"name": "app", "command": fill, "resources": limit},
                       {"name": "side", "command": ["sleep", "3600"],
                        "resources": {"limits": {"ephemeral-storage": "10Mi"}}}]))
    for name, message in [
            ("litterbug", "Pod ephemeral local storage usage exceeds the total limit of "
                          "containers 1Mi."),   # one container: the pod's limit is its own
            ("twins", 'Container app exceeded its local ephemeral storage limit "1Mi".')]:
        p = cluster.wait_pod(name, lambda p: p["status"].get("phase") == "Failed",
                             timeout=30, what="evicted")
        assert (p["status"]["reason"], p["status"]["message"]) == ("Evicted", message)


def test_a_configmap_becomes_a_file_and_follows_updates(cluster, pods):
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings",
                                                                 "namespace": "default"},
          "data": {"mode": "fast"}}
    cluster.create(cm)
    try:
        pods(pod("configured", [{"name": "app", "command": ["sleep", "3600"],
                                 "volumeMounts": [{"name": "cfg", "mountPath": "/etc/app"}],
                                 "env": [{"name": "MODE", "valueFrom": {"configMapKeyRef": {
                                     "name": "settings", "key": "mode"}}}]}],
                 volumes=[{"name": "cfg", "configMap": {"name": "settings"}}]))
        cluster.wait_pod("configured", running, what="Running")
        assert cluster.exec("configured", "cat", "/etc/app/mode") == "fast"
        assert cluster.exec("configured", "sh", "-c", "echo $MODE") == "fast\n"
        cm = cluster.client.get("v1", "ConfigMap", "settings", "default")
        cm["data"]["mode"] = "slow"
        cluster.client.replace(cm)
        wait(lambda: cluster.exec("configured", "cat", "/etc/app/mode") == "slow", 20,
             "the file to follow the ConfigMap")
    finally:
        cluster.client.delete("v1", "ConfigMap", "settings", "default")


def test_kill_9_of_the_agent_leaves_containers_running_and_a_new_agent_adopts_them(
        own_cluster):
    cluster = own_cluster
    cluster.create(pod("survivor", [{"name": "app", "command": HTTPD}]))
    cluster.create(pod("flapper", [{"name": "app", "command": ["sh", "-c", "sleep 1; exit 1"]}]))
    before = cluster.wait_pod("survivor", ready, what="Ready")
    cluster.wait_pod("flapper", lambda p: restarts(p) >= 2, what="two restarts")
    pid = int(cluster.superlet("inspect", "survivor").stdout.split('"pid": ')[1].split(",")[0])
    cluster.stop_agent(signal.SIGKILL)
    time.sleep(1)
    assert os.path.exists(f"/proc/{pid}"), "the container died with the agent"
    ip = before["status"]["podIP"]
    assert cluster.http_get(ip) == "page of survivor\n"
    flaps = restarts(cluster.pod("flapper"))
    cluster.start_agent()
    time.sleep(3)
    after = cluster.wait_pod("survivor", ready, what="Ready after the restart")
    assert container_status(after, "app")["containerID"] == \
        container_status(before, "app")["containerID"]
    assert restarts(after) == 0 and after["status"]["podIP"] == ip
    assert os.path.exists(f"/proc/{pid}")
    cluster.wait_pod("flapper", lambda p: restarts(p) > flaps, what="counting on from where "
                     "the old agent stopped")
    status = cluster.superlet("status").stdout
    assert "running (pid" in status and cluster.runtime in status

    # A pod deleted for good while no agent runs: the next agent finds it an orphan.
    cluster.stop_agent(signal.SIGKILL)
    cluster.delete_pod("flapper", grace=0)
    cluster.start_agent()
    wait(lambda: "flapper" not in cluster.superlet("ps").stdout, 30,
         "the orphan's containers to be removed")
    cluster.delete_pod("survivor")
    wait(lambda: not cluster.local_leftovers(), 20, "the node to be empty again")


def test_deleting_pods_leaves_nothing_behind_on_the_node(cluster):
    cluster.create(pod("ephemeral", [{"name": "app", "command": HTTPD},
                                     {"name": "side", "command": ["sleep", "3600"]}],
                       volumes=[{"name": "scratch", "emptyDir": {"medium": "Memory"}}]))
    cluster.wait_pod("ephemeral", ready, what="Ready")
    assert cluster.local_leftovers()  # it really made something
    cluster.delete_pod("ephemeral")
    wait(lambda: not cluster.local_leftovers(), 10, "the node to be empty")


def test_graceful_deletion_runs_the_prestop_hook_and_sigterm_within_the_grace(cluster,
                                                                               tmp_path):
    trace = tmp_path / "trace"
    trace.mkdir()
    cluster.create(pod("polite", [{
        "name": "app",
        "command": ["sh", "-c", "trap 'echo term >> /trace/log; exit 0' TERM; "
                                "while true; do sleep 0.2; done"],
        "lifecycle": {"preStop": {"exec": {"command": ["sh", "-c",
                                                       "echo prestop >> /trace/log"]}}},
        "volumeMounts": [{"name": "trace", "mountPath": "/trace"}]}],
        volumes=[{"name": "trace", "hostPath": {"path": str(trace)}}],
        terminationGracePeriodSeconds=20))
    cluster.wait_pod("polite", running, what="Running")
    started = time.monotonic()
    cluster.delete_pod("polite", timeout=30)
    assert time.monotonic() - started < 15, "the pod waited for its grace period to end"
    assert (trace / "log").read_text().split() == ["prestop", "term"]


def test_container_output_lands_in_cri_logs_that_superlet_logs_reads_current_and_previous(
        cluster, pods):
    pods(pod("chatty", [{"name": "app", "command": [
        "sh", "-c", "echo out-$(cat /proc/uptime | cut -d. -f1); echo to-stderr >&2; "
                    "printf no-newline; sleep 1; exit 2"]}]))
    cluster.wait_pod("chatty", lambda p: restarts(p) >= 2, what="two restarts")
    previous = cluster.superlet("logs", "chatty", "--previous").stdout
    assert previous.startswith("out-")
    assert previous.endswith("to-stderr\nno-newline")  # the unfinished line is kept as it is
    assert cluster.superlet("logs", "chatty").stdout.startswith("out-")
    stamped = cluster.superlet("logs", "chatty", "--previous", "--timestamps", "--tail",
                               "1").stdout
    assert stamped.startswith("20") and stamped.endswith("Z no-newline")
    logs = cluster.root_dir / "logs"
    (folder,) = [d for d in os.listdir(logs) if d.startswith("default_chatty_")]
    oldest = min(os.listdir(logs / folder / "app"), key=lambda n: int(n.split(".")[0]))
    raw = (logs / folder / "app" / oldest).read_text().splitlines()  # a finished attempt
    assert [line.split(" ", 3)[1:3] for line in raw] == [
        ["stdout", "F"], ["stderr", "F"], ["stdout", "P"]]


def test_setup_errors_become_waiting_reasons_and_clear_once_fixed(cluster, pods):
    pods(pod("unpullable", [{"name": "app", "image": "127.0.0.1:9/team/app:1.0",
                             "command": ["true"]}]))
    pods(pod("unconfigured", [{"name": "app", "command": ["sleep", "3600"], "env": [
        {"name": "MODE", "valueFrom": {"configMapKeyRef": {"name": "later", "key": "mode"}}}]}]))

    def waiting(p):
        return container_status(p, "app").get("state", {}).get("waiting", {})

    p = cluster.wait_pod("unpullable", lambda p: waiting(p).get("reason") in (
        "ErrImagePull", "ImagePullBackOff"), what="a pull error")
    assert '127.0.0.1:9/team/app:1.0' in waiting(p)["message"]
    cluster.wait_pod("unpullable", lambda p: waiting(p).get("reason") == "ImagePullBackOff",
                     what="ImagePullBackOff")
    p = cluster.wait_pod("unconfigured", lambda p: waiting(p).get("reason") ==
                         "CreateContainerConfigError", what="CreateContainerConfigError")
    assert waiting(p)["message"] == 'configmap "later" not found'
    assert p["status"]["phase"] == "Pending"
    cluster.create({"apiVersion": "v1", "kind": "ConfigMap",
                    "metadata": {"name": "later", "namespace": "default"},
                    "data": {"mode": "on"}})
    try:
        cluster.wait_pod("unconfigured", running, what="Running once the ConfigMap exists")
        assert cluster.exec("unconfigured", "sh", "-c", "echo $MODE") == "on\n"
    finally:
        cluster.client.delete("v1", "ConfigMap", "later", "default")
    events = cluster.client.list("v1", "Event", "default",
                                 field_selector="involvedObject.name=unpullable")["items"]
    assert {"Failed", "BackOff"} <= {e["reason"] for e in events}


def test_limits_become_the_cgroup_and_the_qos_class_the_oom_score(cluster, pods):
    pods(pod("guaranteed", [{"name": "app", "command": ["sleep", "3600"], "resources": {
        "limits": {"cpu": "500m", "memory": "48Mi"}}}]))
    pods(pod("besteffort", [{"name": "app", "command": ["sleep", "3600"]}]))
    g = cluster.wait_pod("guaranteed", running, what="Running")
    cluster.wait_pod("besteffort", running, what="Running")
    assert g["status"]["qosClass"] == "Guaranteed"
    # -997 needs CAP_SYS_RESOURCE (some sandboxes run root without it): then the
    # agent's own score is as low as the kernel lets it go.
    lowest = nodeinfo.oom_score_floor()
    assert cluster.exec("guaranteed", "cat", "/proc/1/oom_score_adj").strip() == \
        str(max(-997, lowest))
    assert cluster.exec("besteffort", "cat", "/proc/1/oom_score_adj").strip() == "1000"
    container = json.loads(cluster.superlet("inspect", "guaranteed").stdout)["containers"][0]
    with open(os.path.join(container["bundle"], "config.json")) as f:
        resources = json.load(f)["linux"]["resources"]
    assert resources["memory"] == {"limit": 48 * 2**20}
    assert resources["cpu"]["quota"] == 50000 and resources["cpu"]["period"] == 100000
    with open(f"/proc/{container['pid']}/cgroup") as f:
        cgroup = next(line.split(":", 2)[2] for line in f.read().splitlines()
                      if ":memory:" in line)
    with open(f"/sys/fs/cgroup/memory{cgroup}/memory.limit_in_bytes") as f:
        assert int(f.read()) == 48 * 2**20


def test_a_service_cluster_ip_reaches_a_ready_pod_through_the_agents_proxy(cluster, pods):
    service = cluster.create({"apiVersion": "v1", "kind": "Service",
                              "metadata": {"name": "backend", "namespace": "default"},
                              "spec": {"selector": {"app": "backend"},
                                       "ports": [{"port": 80, "targetPort": 8080}]}})
    ip = service["spec"]["clusterIP"]
    try:
        backend = pod("backend", [{"name": "app", "command": HTTPD,
                                   "readinessProbe": {"httpGet": {"path": "/", "port": 8080},
                                                      "periodSeconds": 1}}])
        backend["metadata"]["labels"] = {"app": "backend"}
        pods(backend)
        pods(pod("client", [{"name": "app", "command": ["sleep", "3600"]}]))
        cluster.wait_pod("backend", ready, what="Ready")
        cluster.wait_pod("client", running, what="Running")
        # a pod made after the Service gets its link variables
        assert cluster.exec("client", "sh", "-c", "echo $BACKEND_SERVICE_HOST:"
                            "$BACKEND_SERVICE_PORT") == f"{ip}:80\n"

        def fetch() -> str:  # (busybox's `wget -T` crashes: no timeout option here)
            return cluster.superlet("exec", "client", "--", "wget", "-qO-", f"http://{ip}/",
                                    check=False).stdout

        wait(lambda: fetch() == "page of backend\n", 30, f"the service {ip} to answer")
        assert cluster.http_get(ip, 80) == "page of backend\n"  # and from the node
    finally:
        cluster.client.delete("v1", "Service", "backend", "default")

"""Probes: thresholds, and real exec / HTTP / TCP checks from inside a pod's namespace."""

import threading
import time

import pytest
from netcheck import Listener

from supernetes.agent.probes import (
    LIVENESS,
    READINESS,
    STARTUP,
    ProbeManager,
    ProbeTracker,
    run_probe,
)


def test_readiness_starts_failed_and_needs_success_threshold_successes():
    tracker = ProbeTracker(READINESS, {"successThreshold": 2, "failureThreshold": 2})
    assert tracker.passing is False
    assert tracker.record(True) is False
    assert tracker.record(True) is True and tracker.passing
    assert tracker.record(False) is False and tracker.passing
    assert tracker.record(False) is True and not tracker.passing


def test_liveness_starts_passing_and_flips_after_failure_threshold_failures():
    tracker = ProbeTracker(LIVENESS, {})  # defaults: failureThreshold 3
    assert tracker.passing
    assert [tracker.record(False) for _ in range(3)] == [False, False, True]
    assert not tracker.passing
    tracker.record(True)
    assert tracker.passing


def test_a_success_in_between_resets_the_failure_count():
    tracker = ProbeTracker(LIVENESS, {"failureThreshold": 2})
    for ok in (False, True, False):
        tracker.record(ok)
    assert tracker.passing


def test_exec_probe_uses_the_runtime_exec_and_its_status():
    calls = []

    def exec_fn(cid, cmd, timeout):
        calls.append((cid, cmd, timeout))
        return 0 if cmd == ["true"] else 1

    probe = {"exec": {"command": ["true"]}, "timeoutSeconds": 2}
    assert run_probe(probe, {"name": "c"}, pod_ip=None, pod_netns=None, container_id="c1",
                     exec_fn=exec_fn) == (True, "")
    assert calls == [("c1", ["true"], 2.0)]
    ok, message = run_probe({"exec": {"command": ["false"]}}, {"name": "c"}, pod_ip=None,
                            pod_netns=None, container_id="c1", exec_fn=exec_fn)
    assert not ok and message == "command exited with status 1"


@pytest.fixture
def pod_netns():
    import subprocess
    import uuid
    name = f"sn-probe-{uuid.uuid4().hex[:8]}"
    subprocess.run(["ip", "netns", "add", name], check=True)
    subprocess.run(["ip", "-n", name, "link", "set", "lo", "up"], check=True)
    yield f"/run/netns/{name}"
    subprocess.run(["ip", "netns", "delete", name], check=True)


@pytest.mark.root
@pytest.mark.netns
def test_tcp_and_http_probes_run_inside_the_pod_network_namespace(pod_netns):
    container = {"name": "web", "ports": [{"name": "http", "containerPort": 8080}]}
    tcp = {"tcpSocket": {"port": "http"}}
    http = {"httpGet": {"port": 8080, "path": "/healthz"}}
    args = dict(pod_ip=None, pod_netns=pod_netns, container_id=None, exec_fn=None)
    assert run_probe(tcp, container, **args)[0] is False  # nothing listens in the pod yet
    with Listener(pod_netns, "127.0.0.1", 8080):  # only reachable from inside the pod
        assert run_probe(tcp, container, **args) == (True, "")
        ok, message = run_probe(http, container, **args)  # not HTTP: a clean failure
        assert not ok and message.startswith("probe failed")
    assert run_probe(tcp, container, pod_ip="127.0.0.1", pod_netns=None, container_id=None,
                     exec_fn=None)[0] is False  # the host's own loopback is not the pod's


@pytest.mark.root
@pytest.mark.netns
def test_http_probe_reports_the_status_code(pod_netns):
    import subprocess
    import sys
    server = subprocess.Popen(
        ["nsenter", f"--net={pod_netns}", sys.executable, "-c", """
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200 if self.path == "/ok" else 503); self.end_headers()
    def log_message(self, *a): pass
s = http.server.HTTPServer(("127.0.0.1", 8081), H)
print("ready", flush=True); s.serve_forever()
"""], stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout.readline().strip() == "ready"
        args = dict(pod_ip=None, pod_netns=pod_netns, container_id=None, exec_fn=None)
        assert run_probe({"httpGet": {"port": 8081, "path": "/ok"}}, {"name": "w"}, **args) == \
            (True, "HTTP probe succeeded with statuscode: 200")
        assert run_probe({"httpGet": {"port": 8081, "path": "/bad"}}, {"name": "w"}, **args) == \
            (False, "HTTP probe failed with statuscode: 503")
    finally:
        server.kill()
        server.wait()
        server.stdout.close()


def test_manager_runs_probes_on_schedule_and_reports_flips():
    results = {"ready": False}
    changed = threading.Event()

    def exec_fn(cid, cmd, timeout):
        return 0 if results["ready"] else 1

    manager = ProbeManager(on_change=lambda uid: changed.set(), exec_fn=exec_fn)
    try:
        container = {"name": "app",
                     "readinessProbe": {"exec": {"command": ["check"]}, "periodSeconds": 0.05},
                     "livenessProbe": {"exec": {"command": ["check"]}, "periodSeconds": 0.05,
                                       "failureThreshold": 2}}
        manager.add("pod-1", container, "c1", None, None)
        assert manager.states("pod-1")[READINESS] == {"app": False}
        assert changed.wait(2)  # liveness flips to failed after two failures
        assert manager.liveness_failed("pod-1") == {"app"}
        changed.clear()
        results["ready"] = True
        deadline = time.monotonic() + 2
        while manager.states("pod-1")[READINESS] != {"app": True}:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        assert manager.liveness_failed("pod-1") == frozenset()
        manager.remove_pod("pod-1")
        assert manager.states("pod-1")[READINESS] == {}
    finally:
        manager.stop()


def test_until_the_startup_probe_passes_the_others_do_not_run():
    seen = []

    def exec_fn(cid, cmd, timeout):
        seen.append(cmd[0])
        return 1 if cmd[0] == "startup" else 0

    manager = ProbeManager(on_change=lambda uid: None, exec_fn=exec_fn)
    try:
        container = {"name": "app",
                     "startupProbe": {"exec": {"command": ["startup"]}, "periodSeconds": 0.02,
                                      "failureThreshold": 100},
                     "livenessProbe": {"exec": {"command": ["live"]}, "periodSeconds": 0.02}}
        manager.add("pod-1", container, "c1", None, None)
        time.sleep(0.2)
        assert "startup" in seen and "live" not in seen
        assert manager.states("pod-1")[STARTUP] == {"app": False}
        assert manager.liveness_failed("pod-1") == frozenset()
    finally:
        manager.stop()

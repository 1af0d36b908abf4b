"""The real kubectl's `logs` and `exec` through our API server to a node agent.

kubectl speaks exec over websocket (`v5.channel.k8s.io`) from 1.30 on; older
ones speak SPDY, which the API server refuses with a message that says so
(1.29 has websocket behind KUBECTL_REMOTE_COMMAND_WEBSOCKETS=true). Logs work on
every version: a plain streamed GET.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
import uuid

import pytest
from agentkit import Node, busybox_template
from apiserverkit import ApiServer

pytestmark = pytest.mark.root

SDK = "/usr/lib/google-cloud-sdk/bin"
KUBECTLS = {v: f"{SDK}/kubectl.{v}" for v in ("1.27", "1.28", "1.29", "1.30", "1.31", "1.32",
                                              "1.33")}
KUBECTLS["default"] = "/usr/bin/kubectl"
INSTALLED = [v for v, path in KUBECTLS.items() if os.access(path, os.X_OK)]
WEBSOCKET = [v for v in INSTALLED if v == "default" or tuple(map(int, v.split("."))) >= (1, 30)]
SPDY_ONLY = [v for v in INSTALLED if v in ("1.27", "1.28")]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = ApiServer(tmp_path_factory.mktemp("nodeproxy-kubectl") / "data")
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def busybox(tmp_path_factory):
    return busybox_template(tmp_path_factory.mktemp("busybox"))


@pytest.fixture
def web(tmp_path, server, busybox):
    node = Node(tmp_path, server, template=busybox)
    ns = f"t-{uuid.uuid4().hex[:10]}"
    assert server.admin.post("/api/v1/namespaces", {"metadata": {"name": ns}}).status_code == 201
    pod = node.create_pod(ns, "web", ["app"])
    node.run(pod, "app", ["sh", "-c", "echo hello; sleep 120"])
    node.wait_for(lambda: "hello" in node.admin_get(f"/containerLogs/{ns}/web/app").text)
    yield ns
    node.close()
    server.admin.delete(f"/api/v1/namespaces/{ns}")


def kubectl(version, server, ns, *args, input=None, env=None, timeout=60):
    return subprocess.run([KUBECTLS[version], "--kubeconfig", str(server.kubeconfig), "-n", ns,
                           *args], input=input, capture_output=True, text=True, timeout=timeout,
                          env={"PATH": os.environ["PATH"], "HOME": "/nonexistent",
                               **(env or {})})


@pytest.mark.parametrize("version", INSTALLED)
def test_kubectl_logs(version, server, web):
    result = kubectl(version, server, web, "logs", "web")
    assert (result.returncode, result.stdout) == (0, "hello\n"), result.stderr
    stamped = kubectl(version, server, web, "logs", "web", "--timestamps", "--tail", "1")
    assert stamped.stdout.endswith("Z hello\n")


def test_kubectl_logs_follow_streams(server, web):
    process = subprocess.Popen([KUBECTLS["default"], "--kubeconfig", str(server.kubeconfig),
                                "-n", web, "logs", "-f", "web"], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, env={"PATH": os.environ["PATH"],
                                                            "HOME": "/nonexistent"})
    try:
        assert process.stdout.readline() == b"hello\n"
        time.sleep(0.5)
        assert process.poll() is None           # still following the running container
    finally:
        process.terminate()
        process.wait(10)
        process.stdout.close()
        process.stderr.close()


@pytest.mark.parametrize("version", WEBSOCKET)
def test_kubectl_exec(version, server, web):
    result = kubectl(version, server, web, "exec", "web", "--", "sh", "-c",
                     "hostname; echo to-err >&2; exit 3")
    assert result.returncode == 3
    assert result.stdout == "web\n"
    assert "to-err" in result.stderr
    assert "command terminated with exit code 3" in result.stderr
    piped = kubectl(version, server, web, "exec", "-i", "web", "--", "sh", "-c", "cat | wc -c",
                    input="x" * 100000)
    assert (piped.returncode, piped.stdout.strip()) == (0, "100000"), piped.stderr


@pytest.mark.parametrize("version", SPDY_ONLY)
def test_kubectl_before_1_30_is_told_why_exec_fails(version, server, web):
    result = kubectl(version, server, web, "exec", "web", "--", "true")
    assert result.returncode != 0
    assert "kubectl 1.30" in result.stderr


@pytest.mark.skipif("1.29" not in INSTALLED, reason="kubectl 1.29 is not installed")
def test_kubectl_1_29_execs_with_its_websocket_gate_on(server, web):
    spdy = kubectl("1.29", server, web, "exec", "web", "--", "true")
    assert spdy.returncode != 0 and "kubectl 1.30" in spdy.stderr
    gated = kubectl("1.29", server, web, "exec", "web", "--", "sh", "-c", "exit 2",
                    env={"KUBECTL_REMOTE_COMMAND_WEBSOCKETS": "true"})
    assert gated.returncode == 2, gated.stderr


@pytest.mark.parametrize("version", [v for v in ("1.27", "default") if v in INSTALLED])
def test_kubectl_top_reads_the_metrics_api(version, server, web):
    nodes = kubectl(version, server, web, "top", "nodes")
    assert nodes.returncode == 0, nodes.stderr
    header, row = nodes.stdout.splitlines()[0].split(), nodes.stdout.splitlines()[1].split()
    assert header == ["NAME", "CPU(cores)", "CPU%", "MEMORY(bytes)", "MEMORY%"]
    assert row[1].endswith("m") and row[2].endswith("%") and row[3].endswith("Mi")
    pods = kubectl(version, server, web, "top", "pods", "--containers")
    assert pods.returncode == 0, pods.stderr
    assert pods.stdout.splitlines()[1].split()[:2] == ["web", "app"]


@pytest.fixture
def ticker(tmp_path, server, busybox):
    node = Node(tmp_path, server, template=busybox)
    ns = f"t-{uuid.uuid4().hex[:10]}"
    assert server.admin.post("/api/v1/namespaces", {"metadata": {"name": ns}}).status_code == 201
    pod = node.create_pod(ns, "ticker", ["app"])
    node.run(pod, "app", ["sh", "-c", "i=0; while :; do i=$((i+1)); echo tick $i; sleep 0.3; "
                                      "done"])
    yield ns
    node.close()
    server.admin.delete(f"/api/v1/namespaces/{ns}")


def test_kubectl_attach_follows_the_output(server, ticker):
    process = subprocess.Popen([KUBECTLS["default"], "--kubeconfig", str(server.kubeconfig),
                                "-n", ticker, "attach", "ticker"], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, env={"PATH": os.environ["PATH"],
                                                            "HOME": "/nonexistent"})
    watchdog = threading.Timer(30, process.kill)       # a silent attach fails, not hangs
    watchdog.start()
    try:
        first, second = process.stdout.readline(), process.stdout.readline()
        assert first.startswith(b"tick ") and second.startswith(b"tick ")
        assert int(second.split()[1]) == int(first.split()[1]) + 1
    finally:
        watchdog.cancel()
        process.terminate()
        process.wait(10)
        process.stdout.close()
        process.stderr.close()

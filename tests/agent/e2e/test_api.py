"""The agent's HTTPS API on a real node: superctl and kubectl logs, exec and top against
pods the agent core runs, through the API server's proxy, on superc and on runc.
"""

from __future__ import annotations

import os
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest
from nodekit import container_status, pod, running, start_cluster, wait

pytestmark = [pytest.mark.root, pytest.mark.netns, pytest.mark.e2e, pytest.mark.slow]

SUPERCTL = str(Path(sys.executable).parent / "superctl")
KUBECTL = "/usr/bin/kubectl"


@pytest.fixture(scope="module", params=["superc", "runc"])
def cluster(request, tmp_path_factory, busybox_layout):
    cluster = start_cluster(tmp_path_factory.mktemp(f"api-{request.param}"), busybox_layout,
                            request.param)
    yield cluster
    cluster.close()


def _lines(stream, count: int, timeout: float = 20) -> list[str]:
    """`count` lines from a pipe, or fail after `timeout` (never hang the suite)."""
    deadline, data = time.monotonic() + timeout, b""
    while data.count(b"\n") < count:
        if not select.select([stream], [], [], max(0, deadline - time.monotonic()))[0]:
            raise AssertionError(f"only {data!r} after {timeout} s")
        chunk = os.read(stream.fileno(), 4096)
        if not chunk:
            break
        data += chunk
    return data.decode().splitlines()[:count]


@pytest.fixture(scope="module")
def ctl(cluster, tmp_path_factory):
    home = tmp_path_factory.mktemp("home")

    def run(binary, *args, input=None, timeout=60):
        return subprocess.run([binary, "--kubeconfig", str(cluster.kubeconfig), *args],
                              input=input, capture_output=True, text=True, timeout=timeout,
                              env={"PATH": os.environ["PATH"], "HOME": str(home)})
    return run


@pytest.fixture(scope="module")
def chatty(cluster):
    """A pod that talks (a tick every 0.2 s), and one that spins a CPU.

    Neither starts a process per turn (the leak check watches processes, and these
    outlive single tests): the ticker waits with the shell's own `read -t` on a fifo
    nobody writes.
    """
    cluster.create(pod("chatty", [{"name": "app", "command": [
        "sh", "-c", "mkfifo /tmp/f; exec 3<>/tmp/f; i=0; "
                    "while :; do i=$((i+1)); echo tick $i; read -t 0.2 x <&3; done"]}]))
    cluster.create(pod("spinner", [{"name": "app", "command": ["sh", "-c", "while :; do :; "
                                                                           "done"]}]))
    for name in ("chatty", "spinner"):
        cluster.wait_pod(name, running, what="Running")
    yield
    for name in ("chatty", "spinner"):
        cluster.delete_pod(name)


def test_logs_follow_streams_a_running_pod(cluster, ctl, chatty):
    process = subprocess.Popen([SUPERCTL, "--kubeconfig", str(cluster.kubeconfig), "logs",
                                "-f", "--tail", "2", "chatty"], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
    try:
        assert [line.split()[0] for line in _lines(process.stdout, 6)] == ["tick"] * 6
        process.send_signal(2)
        assert process.wait(10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        process.stdout.close()
        process.stderr.close()
    kubectl = ctl(KUBECTL, "logs", "chatty", "--tail", "3", "--timestamps")
    assert kubectl.returncode == 0, kubectl.stderr
    assert [line.split()[1] for line in kubectl.stdout.splitlines()] == ["tick"] * 3


def test_exec_runs_in_the_pod_with_stdin_and_exit_code(cluster, ctl, chatty):
    for binary in (SUPERCTL, KUBECTL):
        result = ctl(binary, "exec", "-i", "chatty", "--", "sh", "-c",
                     "hostname; wc -c; exit 4", input="12345")
        assert result.returncode == 4, result.stderr
        assert result.stdout.split() == ["chatty", "5"], (binary, result.stderr)


def test_logs_previous_after_a_crash(cluster, ctl):
    cluster.create(pod("crasher", [{"name": "app", "command": [
        "sh", "-c", "echo life started at $(cat /proc/uptime); sleep 0.5; exit 1"]}]))
    try:
        cluster.wait_pod("crasher", lambda p: container_status(p, "app").get(
            "restartCount", 0) >= 1, what="a restart")
        previous = ctl(SUPERCTL, "logs", "crasher", "--previous")
        assert previous.returncode == 0, previous.stderr
        assert previous.stdout.startswith("life started at ")
    finally:
        cluster.delete_pod("crasher")


def test_top_reads_the_agents_summary(cluster, ctl, chatty):
    nodes = ctl(SUPERCTL, "top", "nodes")
    assert nodes.returncode == 0, nodes.stderr
    assert nodes.stdout.splitlines()[1].split()[0] == cluster.node

    def spinner_busy() -> bool:
        rows = ctl(SUPERCTL, "top", "pods", "--no-headers").stdout.splitlines()
        usage = {row.split()[0]: int(row.split()[1].rstrip("m")) for row in rows}
        return usage.get("spinner", 0) > 50 and \
            usage.get("spinner", 0) > 5 * usage.get("chatty", 10**6)
    wait(spinner_busy, 30, "top pods to show the spinner busy and the ticker idle")


def test_the_node_proxy_serves_metrics(cluster, chatty):
    text = cluster.client.request("GET", f"/api/v1/nodes/{cluster.node}/proxy/metrics",
                                  accept="text/plain").content.decode()
    assert 'container_cpu_usage_seconds_total{container="app",namespace="default",' \
           'pod="spinner"}' in text
    assert "kubelet_running_pods 2" in text

"""The Summary API and /metrics report what the cgroups measure: a busy container's
CPU, a hungry one's memory, the node's own, in the shapes their readers expect."""

from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families

pytestmark = pytest.mark.root

MB = 1024 * 1024


def _summary(node) -> dict:
    reply = node.admin_get("/stats/summary")
    assert reply.status_code == 200, reply.text
    return reply.json()


def _container(summary, pod, name="app") -> dict:
    for entry in summary["pods"]:
        if entry["podRef"]["name"] == pod:
            return next(c for c in entry["containers"] if c["name"] == name)
    raise AssertionError(f"pod {pod} not in the summary: {[p['podRef'] for p in summary['pods']]}")


@pytest.fixture
def busy_and_idle(node):
    busy = node.add_pod("ns1", "spinner", ["app"])
    node.run(busy, "app", ["sh", "-c", "while :; do :; done"])
    hungry = node.add_pod("ns1", "hungry", ["app"])
    # A shell variable of 40 MiB stays in the shell's memory: anonymous, in the working set.
    # (The loop keeps the shell itself alive: a last command would replace it by exec.)
    node.run(hungry, "app", ["sh", "-c",
                             "x=$(head -c 41943040 /dev/zero | tr '\\0' a); echo ready; "
                             "while :; do sleep 1; done"])
    node.wait_for(lambda: "ready" in node.admin_get("/containerLogs/ns1/hungry/app").text)
    return busy, hungry


def test_a_busy_container_shows_its_cpu_and_a_hungry_one_its_memory(node, busy_and_idle):
    summary = _summary(node)
    spinner, hungry = _container(summary, "spinner"), _container(summary, "hungry")
    # One spinning shell uses up to a core (shared with whatever else runs here); the
    # sleeping one next to nothing.
    assert spinner["cpu"]["usageNanoCores"] > 50_000_000
    assert spinner["cpu"]["usageNanoCores"] > 5 * hungry["cpu"]["usageNanoCores"]
    assert spinner["cpu"]["usageCoreNanoSeconds"] > 500_000_000
    assert hungry["memory"]["workingSetBytes"] > 38 * MB
    assert spinner["memory"]["workingSetBytes"] < 20 * MB
    assert hungry["memory"]["usageBytes"] >= hungry["memory"]["workingSetBytes"]
    pod = next(p for p in summary["pods"] if p["podRef"]["name"] == "hungry")
    assert pod["podRef"]["namespace"] == "ns1" and pod["podRef"]["uid"]
    assert pod["memory"]["workingSetBytes"] == hungry["memory"]["workingSetBytes"]
    assert hungry["logs"]["usedBytes"] > 0


def test_the_node_reports_the_machine(node):
    summary = _summary(node)
    with open("/proc/meminfo") as f:
        meminfo = dict(line.split(":") for line in f.read().splitlines())
    total = int(meminfo["MemTotal"].split()[0]) * 1024
    machine = summary["node"]
    assert machine["nodeName"] == node.name
    assert 0 < machine["memory"]["workingSetBytes"] < total
    assert machine["cpu"]["usageCoreNanoSeconds"] > 0
    assert machine["fs"]["capacityBytes"] > machine["fs"]["availableBytes"] > 0
    assert machine["rlimit"]["maxpid"] > machine["rlimit"]["curproc"] > 0
    only = node.admin_get("/stats/summary", params={"only_cpu_and_memory": "true"}).json()
    assert "fs" not in only["node"] and "memory" in only["node"]


def test_stopped_containers_are_not_reported(node):
    pod = node.add_pod("ns1", "brief", ["app"])
    node.wait_exit(node.run(pod, "app", ["true"]))
    assert all(p["podRef"]["name"] != "brief" for p in _summary(node)["pods"])


def test_metrics_are_valid_prometheus_text_with_the_kubelets_names(node, busy_and_idle):
    node.registry.pod_sync.observe(0.03)
    node.registry.pod_sync.observe(2.0)
    node.registry.runtime_errors.inc("create")
    reply = node.admin_get("/metrics")
    assert reply.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    families = {f.name: f for f in text_string_to_metric_families(reply.text)}
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
               for f in families.values() for s in f.samples}
    spinner = (("container", "app"), ("namespace", "ns1"), ("pod", "spinner"))
    assert samples[("container_cpu_usage_seconds_total", spinner)] > 0.5
    hungry = (("container", "app"), ("namespace", "ns1"), ("pod", "hungry"))
    assert samples[("container_memory_working_set_bytes", hungry)] > 38 * MB
    assert samples[("kubelet_running_pods", ())] == 2
    assert samples[("kubelet_running_containers", (("container_state", "running"),))] == 2
    assert samples[("kubelet_pod_worker_duration_seconds_count", ())] == 2
    assert samples[("kubelet_pod_worker_duration_seconds_bucket", (("le", "0.05"),))] == 1
    assert samples[("kubelet_runtime_operations_errors_total",
                    (("operation_type", "create"),))] == 1
    assert samples[("node_memory_working_set_bytes", ())] > 0
    assert samples[("process_resident_memory_bytes", ())] > 0

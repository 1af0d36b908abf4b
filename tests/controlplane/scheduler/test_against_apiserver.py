"""The scheduler against a real API server (HTTPS, SQLite store) with hollow nodes:
placement obeys every filter, spreads by default, bin-packs when configured, explains
unschedulable pods, and retries them when a node frees up or is added."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path

import pytest
from apiserverkit import ApiServer
from sched_hollow import create_nodes, delete_nodes, hollow_node, pending_pod, wait_for

from supernetes.controlplane.client import Client
from supernetes.controlplane.scheduler import Scheduler, SchedulerConfig

pytestmark = pytest.mark.slow

CP_TAINT = {"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    server = ApiServer(tmp_path_factory.mktemp("scheduler-apiserver") / "data")
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def client(server):
    client = Client.from_kubeconfig(str(server.kubeconfig))
    served = {r["kind"] for r in client.get_json("/api/v1")["resources"]}
    if not {"Node", "Event"} <= served:
        client.close()
        pytest.skip("the API server does not serve core/v1 Node and Event yet "
                    "(the api branch registers them)")
    yield client
    client.close()


class Cluster:
    """One test's hollow nodes, namespace and scheduler; all removed afterwards."""

    def __init__(self, client):
        self.client = client
        self.prefix = f"n{uuid.uuid4().hex[:6]}-"
        self.ns = f"sched-{uuid.uuid4().hex[:8]}"
        self.nodes: list[str] = []
        self.scheduler: Scheduler | None = None
        client.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": self.ns}})

    def add_nodes(self, *nodes):
        for node in nodes:
            node["metadata"]["name"] = self.prefix + node["metadata"]["name"]
            node["metadata"]["labels"]["kubernetes.io/hostname"] = node["metadata"]["name"]
            self.nodes.append(node["metadata"]["name"])
        create_nodes(self.client, list(nodes))

    def start(self, doc: dict | None = None) -> Scheduler:
        config = SchedulerConfig.from_document(doc or {}, pod_initial_backoff=0.2,
                                               pod_max_backoff=1.0)
        self.scheduler = Scheduler(config, self.client).start()
        return self.scheduler

    def create_pod(self, name, **kw) -> dict:
        return self.client.create(pending_pod(name, self.ns, **kw))

    def pod(self, name) -> dict:
        return self.client.get("v1", "Pod", name, self.ns)

    def node_of(self, name) -> str | None:
        node = self.pod(name)["spec"].get("nodeName")
        return node.removeprefix(self.prefix) if node else None

    def wait_bound(self, *names, timeout=20.0) -> dict[str, str]:
        wait_for(lambda: all(self.pod(n)["spec"].get("nodeName") for n in names), timeout,
                 what=f"pods {names} to be bound")
        return {n: self.node_of(n) for n in names}

    def condition(self, name) -> dict | None:
        conditions = (self.pod(name).get("status") or {}).get("conditions") or ()
        return next((c for c in conditions if c["type"] == "PodScheduled"), None)

    def events(self, name) -> list[dict]:
        items = self.client.list("v1", "Event", self.ns)["items"]
        return [e for e in items if e["involvedObject"]["name"] == name]

    def close(self):
        if self.scheduler is not None:
            self.scheduler.stop()
        delete_nodes(self.client, self.nodes)
        self.client.delete("v1", "Namespace", self.ns)


@pytest.fixture
def cluster(client):
    cluster = Cluster(client)
    yield cluster
    cluster.close()


def test_a_pod_lands_only_where_every_filter_allows(cluster):
    cluster.add_nodes(
        hollow_node("small", cpu="1", labels={"disk": "ssd"}),
        hollow_node("cordoned", unschedulable=True, labels={"disk": "ssd"}),
        hollow_node("tainted", taints=[CP_TAINT], labels={"disk": "ssd"}),
        hollow_node("notready", ready="False", labels={"disk": "ssd"}),
        hollow_node("hdd", labels={"disk": "hdd"}),
        hollow_node("ported", labels={"disk": "ssd"}),
        hollow_node("right", labels={"disk": "ssd"}))
    cluster.start()
    cluster.create_pod("holder", host_port=8080, node_selector={
        "kubernetes.io/hostname": cluster.prefix + "ported"})
    assert cluster.wait_bound("holder") == {"holder": "ported"}

    cluster.create_pod("picky", cpu="2", host_port=8080, node_selector={"disk": "ssd"})
    assert cluster.wait_bound("picky") == {"picky": "right"}
    assert cluster.condition("picky")["status"] == "True"


def test_replicas_spread_across_nodes_by_default(cluster):
    cluster.add_nodes(*(hollow_node(f"w{i}") for i in range(4)))
    cluster.start()
    owner = {"name": "web-5d8f", "uid": str(uuid.uuid4())}
    names = [f"web-{i}" for i in range(8)]
    for name in names:
        cluster.create_pod(name, cpu="100m", memory="64Mi", owner=owner)
    placed = cluster.wait_bound(*names)
    assert sorted(Counter(placed.values()).values()) == [2, 2, 2, 2]


def test_a_burst_of_replicas_in_a_sampled_cluster_is_placed_in_batches_and_spread(cluster):
    # 200 nodes, 10% scored: windows of 100 rows, so replicas queued together are
    # placed two windows at a time (algorithm.schedule_many). Created before the
    # scheduler starts, they all wait in the queue at once.
    cluster.add_nodes(*(hollow_node(f"w{i:03}") for i in range(200)))
    owner = {"name": "web-5d8f", "uid": str(uuid.uuid4())}
    names = [f"web-{i}" for i in range(40)]
    for name in names:
        cluster.create_pod(name, cpu="100m", memory="64Mi", owner=owner)
    cluster.start({"percentageOfNodesToScore": 10})
    placed = cluster.wait_bound(*names)
    assert max(Counter(placed.values()).values()) == 1      # one replica per node


def test_pods_are_bin_packed_when_configured(cluster):
    cluster.add_nodes(*(hollow_node(f"w{i}", cpu="2") for i in range(4)))
    cluster.start({"profiles": [{
        "plugins": {"score": {"disabled": [{"name": "*"}],
                              "enabled": [{"name": "NodeResourcesFit"}]}},
        "pluginConfig": [{"name": "NodeResourcesFit",
                          "args": {"scoringStrategy": {"type": "MostAllocated"}}}]}]})
    names = [f"job-{i}" for i in range(8)]
    for name in names:
        cluster.create_pod(name, cpu="500m")
    placed = cluster.wait_bound(*names)
    assert sorted(Counter(placed.values()).values()) == [4, 4]


def test_an_unschedulable_pod_is_explained_in_its_condition_and_an_event(cluster):
    cluster.add_nodes(hollow_node("cp", taints=[CP_TAINT]), hollow_node("w1", cpu="1"),
                      hollow_node("w2", cpu="1"))
    cluster.start()
    cluster.create_pod("huge", cpu="2")
    expected = ("0/3 nodes are available: 1 node(s) had untolerated taint "
                "{node-role.kubernetes.io/control-plane: }, 2 Insufficient cpu. preemption: "
                "0/3 nodes are available: 1 Preemption is not helpful for scheduling, 2 No "
                "preemption victims found for incoming pod..")
    condition = wait_for(lambda: cluster.condition("huge"), what="PodScheduled condition")
    assert (condition["status"], condition["reason"], condition["message"]) == (
        "False", "Unschedulable", expected)
    event = wait_for(lambda: [e for e in cluster.events("huge")
                              if e["reason"] == "FailedScheduling"], what="the event")[0]
    assert (event["type"], event["message"], event["source"]["component"]) == (
        "Warning", expected, "default-scheduler")
    assert cluster.pod("huge")["spec"].get("nodeName") is None


def test_an_unschedulable_pod_is_retried_when_a_node_frees_up(cluster):
    cluster.add_nodes(hollow_node("only", cpu="1"))
    cluster.start()
    cluster.create_pod("first", cpu="800m")
    cluster.wait_bound("first")
    cluster.create_pod("second", cpu="800m")
    wait_for(lambda: (cluster.condition("second") or {}).get("reason") == "Unschedulable",
             what="second to be unschedulable")
    cluster.client.delete("v1", "Pod", "first", cluster.ns, grace_period_seconds=0)
    assert cluster.wait_bound("second") == {"second": "only"}


def test_an_unschedulable_pod_is_retried_when_a_node_is_added(cluster):
    cluster.add_nodes(hollow_node("tiny", cpu="500m"))
    cluster.start()
    cluster.create_pod("waiting", cpu="2")
    wait_for(lambda: cluster.condition("waiting"), what="waiting to be unschedulable")
    cluster.add_nodes(hollow_node("big", cpu="4"))
    assert cluster.wait_bound("waiting") == {"waiting": "big"}


def test_a_bound_pod_gets_a_scheduled_event(cluster):
    cluster.add_nodes(hollow_node("w"))
    cluster.start()
    cluster.create_pod("p")
    cluster.wait_bound("p")
    event = wait_for(lambda: [e for e in cluster.events("p") if e["reason"] == "Scheduled"],
                     what="the Scheduled event")[0]
    assert event["message"] == f"Successfully assigned {cluster.ns}/p to {cluster.prefix}w"


def test_pods_of_another_scheduler_are_left_alone(cluster):
    cluster.add_nodes(hollow_node("w"))
    scheduler = cluster.start()
    cluster.create_pod("theirs", scheduler_name="someone-else")
    cluster.create_pod("ours")
    cluster.wait_bound("ours")
    wait_for(lambda: scheduler.stats["bound"] >= 1)
    assert cluster.pod("theirs")["spec"].get("nodeName") is None
    assert cluster.condition("theirs") is None


def test_supernetes_scheduler_runs_as_its_own_process(cluster, server, tmp_path):
    cluster.add_nodes(hollow_node("w"))
    log = tmp_path / "scheduler.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [str(Path(sys.executable).parent / "supernetes"), "scheduler", "--kubeconfig",
             str(server.kubeconfig), "--log-level", "warning"], stdout=out, stderr=out,
            start_new_session=True)
    try:
        cluster.create_pod("remote")
        assert cluster.wait_bound("remote", timeout=30) == {"remote": "w"}
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(20)
    assert process.returncode in (0, -signal.SIGTERM), log.read_text()


def test_events_are_written_at_the_configured_rate_after_a_burst(cluster):
    # kube-scheduler's Events client is rate-limited (clientConnection qps/burst):
    # a burst of bindings gets its first events at once, the rest at `qps`.
    from supernetes.controlplane.scheduler.podinfo import PodInfo
    from supernetes.controlplane.scheduler.recorder import Recorder

    recorder = Recorder(cluster.client, qps=4, burst=3)
    recorder.start()
    try:
        started = time.monotonic()
        for i in range(12):
            pod = {"metadata": {"name": f"p{i}", "namespace": cluster.ns, "uid": f"uid-{i}"}}
            recorder.scheduled(PodInfo.identity(pod), "node-a")
        wait_for(lambda: recorder.written >= 5, 10, what="five events written")
        elapsed = time.monotonic() - started
        assert recorder.written <= 3 + 4 * elapsed + 1
        assert elapsed >= 0.4          # the 4th and 5th waited for tokens
    finally:
        recorder.stop()
    assert recorder.dropped == 0
    written = [e for e in cluster.client.list("v1", "Event", cluster.ns)["items"]
               if e["reason"] == "Scheduled"]
    assert len(written) == recorder.written

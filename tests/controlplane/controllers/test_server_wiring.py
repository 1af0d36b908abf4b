"""The controllers as users run them: inside `supernetes server` (the default), as
`supernetes controller-manager` beside a server started with --disable-controllers,
and two servers sharing one etcd with one active controller manager between them.

These start their own servers with the real default periods, so the dead-node test
also proves the promise of the defaults: a dead node's pods run elsewhere within 60 s
(20 s grace + 25 s toleration + rescheduling).
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from apiserverkit import ApiServer, Etcd, etcd_backend_available
from hollow import HollowKubelet, wait_for
from test_deployment import complete, deployment

from supernetes.controlplane.client import Client, NotFound

pytestmark = pytest.mark.slow

SUPERNETES = str(Path(sys.executable).parent / "supernetes")


def children(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def lease_holder(client, name: str) -> str:
    try:
        lease = client.get("coordination.k8s.io/v1", "Lease", name, "kube-system")
    except NotFound:
        return ""
    return (lease.get("spec") or {}).get("holderIdentity") or ""


def holder_pid(client, name: str) -> int | None:
    holder = lease_holder(client, name)
    parts = holder.split("_")
    return int(parts[1]) if len(parts) >= 2 and parts[1].isdigit() else None


class Cluster:
    """A namespace and hollow nodes on a server of the test's own."""

    def __init__(self, server: ApiServer, nodes: int):
        self.client = Client.from_kubeconfig(str(server.kubeconfig), pool_size=32)
        self.ns = f"w-{uuid.uuid4().hex[:6]}"
        self.client.create({"apiVersion": "v1", "kind": "Namespace",
                            "metadata": {"name": self.ns}})
        self.kubelet = HollowKubelet(self.client, interval=1.0).start()
        self.nodes = [f"n{uuid.uuid4().hex[:4]}-{i}" for i in range(nodes)]
        for name in self.nodes:
            self.kubelet.add_node(name)

    def close(self):
        self.kubelet.stop()
        self.client.close()


def test_server_runs_scheduler_and_controllers_and_moves_pods_off_a_dead_node(tmp_path):
    server = ApiServer(tmp_path / "data", components=True)
    server.start()
    cluster = None
    try:
        cluster = Cluster(server, 3)
        client, ns = cluster.client, cluster.ns
        wait_for(lambda: client.get("v1", "ServiceAccount", "default", ns), timeout=30,
                 what="the default ServiceAccount from the embedded controllers")
        client.create(deployment("web", 6), ns)
        wait_for(lambda: complete(client, ns, "web"), timeout=90,
                 what="a Deployment rolled out by the embedded scheduler and controllers")
        assert holder_pid(client, "supernetes-controller-manager") in children(
            server.process.pid)
        assert holder_pid(client, "kube-scheduler") in children(server.process.pid)

        victim = cluster.nodes[0]
        pods = client.list("v1", "Pod", ns, label_selector="app=web")["items"]
        assert any(p["spec"]["nodeName"] == victim for p in pods)
        killed = time.monotonic()
        cluster.kubelet.kill(victim)

        def moved():
            live = [p for p in client.list("v1", "Pod", ns, label_selector="app=web")["items"]
                    if not p["metadata"].get("deletionTimestamp")
                    and p["spec"].get("nodeName") not in (None, victim)
                    and any(c["type"] == "Ready" and c["status"] == "True"
                            for c in p["status"].get("conditions") or ())]
            return len(live) == 6
        wait_for(moved, timeout=75, interval=0.5, what="the pods running on the live nodes")
        elapsed = time.monotonic() - killed
        assert elapsed < 60, f"the dead node's pods took {elapsed:.1f} s to move"
        assert elapsed > 40, "moved before the grace period and toleration ran out"
    finally:
        if cluster is not None:
            cluster.close()
        server.stop()


def test_controller_manager_as_its_own_process(tmp_path):
    server = ApiServer(tmp_path / "data", extra_args=["--disable-controllers"],
                       components=True)
    server.start()
    log = open(tmp_path / "controller-manager.log", "wb")
    manager = subprocess.Popen([SUPERNETES, "controller-manager", "--kubeconfig",
                                str(server.kubeconfig), "--log-level", "warning"],
                               stdout=log, stderr=log, start_new_session=True)
    cluster = None
    try:
        cluster = Cluster(server, 2)
        client, ns = cluster.client, cluster.ns
        client.create(deployment("web", 3), ns)
        wait_for(lambda: complete(client, ns, "web"), timeout=90,
                 what="a Deployment rolled out by the separate controller manager")
        assert holder_pid(client, "supernetes-controller-manager") == manager.pid
    finally:
        if cluster is not None:
            cluster.close()
        manager.send_signal(signal.SIGTERM)
        manager.wait(20)
        log.close()
        server.stop()
    assert manager.returncode == 0


def test_controller_manager_refuses_bad_flags_in_one_line():
    result = subprocess.run([SUPERNETES, "controller-manager", "--controllers", "*,bogus",
                             "--kubeconfig", "/nonexistent"], capture_output=True, text=True,
                            timeout=30)
    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0
    assert "unknown controller 'bogus'" in result.stderr
    result = subprocess.run([SUPERNETES, "server", "--cluster-cidr", "10.0.0.0/33",
                             "--data-dir", "/nonexistent"], capture_output=True, text=True,
                            timeout=30)
    assert result.returncode == 1 and "cluster-cidr" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.skipif(not etcd_backend_available(), reason="needs etcd")
def test_two_servers_on_one_etcd_run_one_controller_manager(tmp_path):
    etcd = Etcd(tmp_path / "etcd")
    etcd.start()
    verbose = ["--log-level", "info"]
    first = ApiServer(tmp_path / "a", etcd.url, extra_args=verbose, components=True)
    second = ApiServer(tmp_path / "b", etcd.url, extra_args=verbose, components=True)
    cluster = None
    try:
        first.start()
        with Client.from_kubeconfig(str(first.kubeconfig)) as probe:
            wait_for(lambda: holder_pid(probe, "supernetes-controller-manager") in children(
                first.process.pid), timeout=30, what="the first server's manager leading")
        second.start()
        cluster = Cluster(second, 2)          # talks to the server that stays
        client, ns = cluster.client, cluster.ns
        client.create(deployment("web", 2), ns)
        wait_for(lambda: complete(client, ns, "web"), timeout=90,
                 what="2 replicas, made by the first server's controllers")
        assert holder_pid(client, "supernetes-controller-manager") in children(
            first.process.pid)
        # The second server's controllers never ran: it is a candidate only.
        assert "controller-manager: running" in first.log_path.read_text()
        assert "controller-manager: running" not in second.log_path.read_text()

        stopping = time.monotonic()
        first.stop()                          # releases its Leases on the way out
        wait_for(lambda: holder_pid(client, "supernetes-controller-manager") in children(
            second.process.pid), timeout=30, what="the second server's manager leading")
        # Released, not expired: well before the 15 s Lease duration.
        assert time.monotonic() - stopping < 13
        wait_for(lambda: holder_pid(client, "kube-scheduler") in children(
            second.process.pid), timeout=30, what="the second server's scheduler leading")
        client.scale("apps/v1", "Deployment", "web", 3, ns)
        wait_for(lambda: complete(client, ns, "web"), timeout=90,
                 what="the new leader scaling the Deployment")
        assert client.get("apps/v1", "Deployment", "web", ns)["status"]["readyReplicas"] == 3
    finally:
        if cluster is not None:
            cluster.close()
        for server in (first, second):
            server.stop()
        etcd.stop()

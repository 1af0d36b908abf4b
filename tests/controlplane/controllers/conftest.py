"""Controller tests: a real API server, the controllers and the scheduler, hollow nodes.

Per test module: one `supernetes server` (HTTPS, SQLite, tmp data dir, ephemeral
port) without its embedded components, and in this process a ControllerManager
with short periods and the scheduler, both through the client package as they
run in production. Per test: a namespace and a HollowKubelet whose nodes are
removed afterwards. Tests in a module run one after the other, so the scheduler
only ever sees the nodes of the running test.
"""

from __future__ import annotations

import os
import sys
import uuid

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from apiserverkit import ApiServer
from hollow import HollowKubelet

from supernetes.controlplane.client import Client, NotFound
from supernetes.controlplane.controllers import (
    ControllerManager,
    ControllerManagerConfig,
)
from supernetes.controlplane.scheduler import Scheduler, SchedulerConfig

# Fast, but not so fast that a loaded 2-core machine trips over its own timing.
TEST_CONFIG = dict(node_monitor_period=0.5, node_monitor_grace_period=4.0,
                   node_startup_grace_period=10.0, node_eviction_rate=10.0,
                   job_backoff_base=0.2, job_backoff_max=2.0, daemon_backoff_base=0.2,
                   daemon_backoff_max=2.0, resync_period=30.0, orphaned_pod_quarantine=1.0)
SERVER_ARGS = ["--disable-namespace-finalizer", "--default-not-ready-toleration-seconds",
               "2", "--default-unreachable-toleration-seconds", "2"]


def start_server(data_dir, store_url=None, extra=()) -> ApiServer:
    server = ApiServer(data_dir, store_url, extra_args=[*SERVER_ARGS, *extra])
    server.start()
    return server


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = start_server(tmp_path_factory.mktemp("controllers-apiserver") / "data")
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def client(server):
    with Client.from_kubeconfig(str(server.kubeconfig), pool_size=64) as c:
        yield c


@pytest.fixture(scope="module")
def manager(client):
    config = ControllerManagerConfig(**TEST_CONFIG)
    mgr = ControllerManager(config, client).start(sync_timeout=60)
    yield mgr
    mgr.stop()


@pytest.fixture(scope="module")
def scheduler(client):
    config = SchedulerConfig.from_document({}, pod_initial_backoff=0.2, pod_max_backoff=1.0,
                                           record_scheduled_events=False)
    sched = Scheduler(config, client).start()
    yield sched
    sched.stop()


@pytest.fixture
def ns(client):
    name = f"c-{uuid.uuid4().hex[:8]}"
    client.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
    yield name
    try:
        client.delete("v1", "Namespace", name)
    except NotFound:
        pass


@pytest.fixture
def kubelet(client, manager, scheduler):
    """A hollow kubelet; its nodes are removed when the test ends."""
    hollow = HollowKubelet(client, interval=0.5).start()
    hollow.prefix = f"h{uuid.uuid4().hex[:5]}-"
    yield hollow
    hollow.stop()

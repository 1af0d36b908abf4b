"""The controller manager: every enabled controller on one client and one informer set.

    run(config, stop)                 supernetes controller-manager, and the in-process
      [leader election]               start of `supernetes server`
        ControllerManager.start()
          build each enabled controller (its setup() asks the shared factory for
          informers and adds handlers) -> start the informers -> wait for their first
          list -> start each controller's workers and periodic loop
        ... until `stop` is set or the Lease is lost
        ControllerManager.stop()      queues shut down, workers joined, watches closed

Controllers share informers through one `InformerFactory`: the ReplicaSet,
Deployment, Job, DaemonSet, endpoints and node controllers hold one pod watch
together, not six. With leader election, of several managers sharing an API server
(or several `supernetes server` processes sharing one etcd) only the holder of the
`kube-system/supernetes-controller-manager` Lease runs controllers; the others wait
as candidates. A manager that loses the Lease stops its controllers and, like
kube-controller-manager, does not start them again: `run` returns and the process
manager restarts it as a fresh candidate.
"""

from __future__ import annotations

import logging
import os
import socket
import threading

from supernetes.controlplane.client import Client, InformerFactory, LeaderElector

from .base import Context, Controller
from .config import ControllerManagerConfig
from .daemonset import DaemonSetController
from .deployment import DeploymentController
from .endpoints import EndpointsController
from .endpointslice import EndpointSliceController
from .events import EventRecorder
from .garbagecollector import GarbageCollector
from .job import JobController
from .namespace import NamespaceController
from .nodeipam import NodeIpamController
from .nodelifecycle import NodeLifecycleController
from .podgc import PodGCController
from .replicaset import ReplicaSetController
from .serviceaccount import ServiceAccountController
from .tainteviction import TaintEvictionController
from .ttlafterfinished import TTLAfterFinishedController

log = logging.getLogger(__name__)

# name -> class. The HorizontalPodAutoscaler controller takes its place here (and in
# config.KNOWN_CONTROLLERS) when the metrics pipeline exists to feed it.
CONTROLLERS: dict[str, type[Controller]] = {
    "serviceaccount": ServiceAccountController,
    "namespace": NamespaceController,
    "garbagecollector": GarbageCollector,
    "replicaset": ReplicaSetController,
    "deployment": DeploymentController,
    "job": JobController,
    "ttl-after-finished": TTLAfterFinishedController,
    "daemonset": DaemonSetController,
    "endpoints": EndpointsController,
    "endpointslice": EndpointSliceController,
    "nodeipam": NodeIpamController,
    "nodelifecycle": NodeLifecycleController,
    "taint-eviction": TaintEvictionController,
    "podgc": PodGCController,
}

SYNC_TIMEOUT = 120.0


class ControllerManager:
    def __init__(self, config: ControllerManagerConfig, client):
        config.validate()
        self.config = config
        self.client = client
        self.informers = InformerFactory(client, resync_period=config.resync_period)
        self.recorder = EventRecorder(client)
        self.context = Context(client, self.informers, config, self.recorder)
        self.controllers: dict[str, Controller] = {}
        self._stop = threading.Event()

    def start(self, sync_timeout: float = SYNC_TIMEOUT) -> ControllerManager:
        for name in self.config.enabled():
            self.controllers[name] = CONTROLLERS[name](self.context)
        self.recorder.start()
        self.informers.start()
        if not self.informers.wait_for_sync(sync_timeout):
            log.warning("controller-manager: informers not synced after %ss; starting anyway",
                        sync_timeout)
        for name, controller in self.controllers.items():
            controller.start(self.config.workers_for(name), self._stop)
        log.info("controller-manager: running %s against %s", ", ".join(self.controllers),
                 self.client.server)
        return self

    def stop(self) -> None:
        self._stop.set()
        for controller in self.controllers.values():
            controller.queue.shutdown()
        self.informers.stop()
        for controller in self.controllers.values():
            controller.stop(timeout=2.0)
        self.recorder.stop()

    def __getitem__(self, name: str) -> Controller:
        return self.controllers[name]


def run(config: ControllerManagerConfig, client=None, stop: threading.Event | None = None) -> None:
    """Run the controllers until `stop` is set (or forever); with leader election, only
    while holding the Lease."""
    config.validate()
    own_client = client is None
    if client is None:
        client = Client.from_kubeconfig(config.kubeconfig, pool_size=64)
    stop = stop or threading.Event()
    try:
        if not config.leader_elect:
            _serve(config, client, stop)
            return
        elector = LeaderElector(
            client, config.lease_name, namespace=config.lease_namespace,
            identity=f"{socket.gethostname()}_{os.getpid()}_{id(stop):x}",
            lease_duration=config.lease_duration, renew_deadline=config.renew_deadline,
            retry_period=config.retry_period,
            on_started_leading=lambda lost: _serve(config, client, stop, lost))
        watcher = threading.Thread(target=lambda: (stop.wait(), elector.stop()), daemon=True,
                                   name="controller-manager-stop")
        watcher.start()
        elector.run()
    finally:
        if own_client:
            client.close()


def _serve(config: ControllerManagerConfig, client, stop: threading.Event,
           lost: threading.Event | None = None) -> None:
    manager = ControllerManager(config, client).start()
    try:
        while not stop.wait(0.5) and not (lost is not None and lost.is_set()):
            pass
    finally:
        manager.stop()

"""SuperController: the reconcile loops of the control plane (kube-controller-manager).

Each controller is level-triggered: shared informers feed keys into its work
queue, workers call `sync(key)`, which compares what is wanted with what is there
and moves one step closer; an exception requeues the key with back-off, and
status is written last. Everything goes through `supernetes.controlplane.client`
(REST, informers, work queue, leader election), never the store, so the same code
runs inside `supernetes server` and as `supernetes controller-manager` against a
remote API server.

    manager.py          ControllerManager and run(config): informers, controllers,
                        leader election (Lease kube-system/supernetes-controller-manager)
    config.py           ControllerManagerConfig (kube-controller-manager's flags)
    base.py             the Controller shape: queue, workers, sync(key)
    replicaset.py       replicas of a pod template (adoption, scale-down order, status)
    deployment/         rolling and recreate rollouts, revisions, rollback, conditions
    job.py              pods to completion (jobutil.py: counting, indexes)
    ttlafterfinished.py finished Jobs removed after ttlSecondsAfterFinished
    daemonset.py        one pod per eligible node (daemonsetutil.py: placement, rollout)
    endpoints.py        Endpoints of each Service (endpointsutil.py: shared rules)
    endpointslice.py    the same as discovery.k8s.io EndpointSlices
    garbagecollector.py ownerReferences: background, foreground, orphan (gcgraph.py)
    namespace.py        a deleted namespace is emptied, then finalized
    serviceaccount.py   a `default` ServiceAccount in every namespace
    nodelifecycle.py    heartbeats, Unknown nodes, condition and NoExecute taints
    tainteviction.py    pods leave NoExecute-tainted nodes after their toleration
    nodeipam.py         a pod CIDR per node
    podgc.py            pods of deleted nodes, and too many finished pods

The HorizontalPodAutoscaler controller arrives with the metrics pipeline: it is one
more module and one line in manager.CONTROLLERS.

Helpers: podutil (pod facts, scale-down order), claims (adoption), podcontrol
(creating pods in slow-start batches), expectations, hashing (pod-template-hash),
scheduling (taints, affinity), events (the EventRecorder), backoff, ratelimiter.
Errors: see errors.py.
"""

from .config import KNOWN_CONTROLLERS, ControllerManagerConfig
from .errors import ConfigError, ControllerError, SyncError
from .manager import CONTROLLERS, ControllerManager, run

__all__ = ["CONTROLLERS", "KNOWN_CONTROLLERS", "ConfigError", "ControllerError",
           "ControllerManager", "ControllerManagerConfig", "SyncError", "run"]

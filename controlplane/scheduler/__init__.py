"""The scheduler: binds pending pods to nodes.

    config.py       KubeSchedulerConfiguration file -> SchedulerConfig, profiles
    scheduler.py    Scheduler (informers, loop, binder, recorder) and run(config)
    algorithm.py    one decision: filter, sample, score, pick
    plugins/        the filter and score plugins, one per file
    framework.py    the plugin interfaces
    nodetable.py    nodes as NumPy columns; columns.py the coded label/taint/port columns
    cache.py        pods per node, with the assume cache
    queue.py        active / backoff / unschedulable queues
    diagnosis.py    FitError: why a pod fits nowhere, in Kubernetes' words
    binder.py       bindings sent in parallel; recorder.py conditions and Events

It talks to the API server only through `supernetes.controlplane.client`, so it runs
inside `supernetes server` or as `supernetes scheduler --kubeconfig ...` alike.
"""

from .config import SchedulerConfig
from .errors import ConfigError, PodSpecError, SchedulerError
from .scheduler import Scheduler, run

__all__ = ["ConfigError", "PodSpecError", "Scheduler", "SchedulerConfig", "SchedulerError", "run"]

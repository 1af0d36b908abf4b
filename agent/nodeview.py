"""What the agent's HTTPS API sees of its node: containers, their logs, exec, stats, pods.

The seam between the API (`server.py`, `stats.py`) and the agent core. The
core hands `RuntimeNodeView` three things it owns anyway: its runtime (the
agent's `runtimes.base.ContainerRuntime`: superc or another OCI runtime, with
`list`, `info`, `stats`, `exec_stream`), the root of the log files, and a
callable listing the pod objects bound to the node (its informer cache).
Everything else is read from the runtime: every container the agent made
carries its pod's namespace, name and UID, its container name and attempt
number in OCI annotations (`ocispec.py`), so a freshly restarted agent resolves
exactly what the old one made.

Which instance a request means, as the kubelet decides it: the newest attempt
of the container in the pod's current UID; with `previous`, the newest older
attempt that left a log (the container itself may be gone: its log file is
what `kubectl logs --previous` reads). Errors say what kubectl users know:

    ViewError
     ├── PodNotFound           no such pod on this node          (404)
     └── ContainerUnavailable  the request cannot be served      (400)
         not valid for the pod, waiting to start, no previous instance
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

from .logs import container_log_path, format_time
from .ocispec import ANNOTATION
from .runtimes.base import RUNNING, ContainerRuntimeError

GONE = "gone"


class ViewError(Exception):
    code = 500


class PodNotFound(ViewError):
    code = 404


class ContainerUnavailable(ViewError):
    code = 400


@dataclass(frozen=True)
class ContainerRef:
    """One instance (one attempt) of one container of a pod on this node."""

    id: str | None              # the runtime's container id; None when only its log is left
    namespace: str
    pod: str
    pod_uid: str
    name: str
    attempt: int
    status: str                 # the runtime's: created | running | exited; or gone
    log_path: str
    init: bool = False
    created: str = ""           # RFC 3339, as the runtime recorded it
    pid: int = 0

    @property
    def running(self) -> bool:
        return self.status == RUNNING


def ref_from_info(info, logs_root: str) -> ContainerRef | None:
    """The ref for one runtime container (a ContainerInfo), or None if the agent did not
    make it."""
    notes = info.annotations or {}
    uid = notes.get(f"{ANNOTATION}.pod.uid")
    name = notes.get(f"{ANNOTATION}.container.name")
    if not uid or not name:
        return None
    namespace = notes.get(f"{ANNOTATION}.pod.namespace", "default")
    pod = notes.get(f"{ANNOTATION}.pod.name", "")
    try:
        attempt = int(notes.get(f"{ANNOTATION}.container.attempt", "0"))
    except ValueError:
        attempt = 0
    created = format_time(int(info.created_at * 1e9)) if info.created_at else ""
    return ContainerRef(id=info.id, namespace=namespace, pod=pod, pod_uid=uid, name=name,
                        attempt=attempt, status=info.status,
                        log_path=container_log_path(logs_root, namespace, pod, uid, name,
                                                    attempt),
                        init=notes.get(f"{ANNOTATION}.container.init") == "true",
                        created=created, pid=info.pid or 0)


def logged_attempts(logs_root: str, namespace: str, pod: str, uid: str, name: str) -> set[int]:
    """The attempts of a container that left a log file (rotated ones count)."""
    folder = os.path.dirname(container_log_path(logs_root, namespace, pod, uid, name, 0))
    try:
        names = os.listdir(folder)
    except FileNotFoundError:
        return set()
    return {int(n.split(".")[0]) for n in names if n.split(".")[0].isdigit()}


class RuntimeNodeView:
    def __init__(self, runtime, logs_root: str, pods: Callable[[], list[dict]] = list,
                 metrics=None) -> None:
        self.runtime = runtime
        self.logs_root = logs_root
        self._pods = pods
        self.metrics = metrics

    # -- what runs here ------------------------------------------------------------------

    def pods(self) -> list[dict]:
        """The pod objects bound to this node, as the agent core knows them."""
        return list(self._pods())

    def containers(self) -> list[ContainerRef]:
        """Every container instance the agent made, whatever its state."""
        refs = (ref_from_info(info, self.logs_root) for info in self.runtime.list())
        return [ref for ref in refs if ref is not None]

    def is_running(self, ref: ContainerRef) -> bool:
        if ref.id is None:
            return False
        try:
            return self.runtime.info(ref.id).status == RUNNING
        except ContainerRuntimeError:     # deleted meanwhile
            return False

    def stats(self, ref: ContainerRef):
        return self.runtime.stats(ref.id)

    def exec(self, ref: ContainerRef, args: list[str], stdio, tty: bool):
        """Start `args` in the container: the runtime's streamed exec handle."""
        return self.runtime.exec_stream(ref.id, args, stdin=stdio.stdin, stdout=stdio.stdout,
                                        stderr=stdio.stderr, tty=tty)

    # -- which instance a request means ----------------------------------------------------

    def resolve(self, namespace: str, pod: str, container: str,
                previous: bool = False) -> ContainerRef:
        pod_obj = next((p for p in self.pods()
                        if (p.get("metadata") or {}).get("namespace") == namespace
                        and p["metadata"].get("name") == pod), None)
        mine = [r for r in self.containers() if r.namespace == namespace and r.pod == pod]
        if pod_obj is not None:
            uid = pod_obj["metadata"].get("uid", "")
            spec = pod_obj.get("spec") or {}
            names = [c.get("name") for c in (*(spec.get("initContainers") or ()),
                                             *(spec.get("containers") or ()))]
            if container not in names:
                raise ContainerUnavailable(f"container {container} is not valid for pod {pod}")
        elif mine:
            uid = max(mine, key=lambda r: r.created).pod_uid
        else:
            raise PodNotFound(f'pods "{pod}" not found')
        instances = {r.attempt: r for r in mine if r.pod_uid == uid and r.name == container}
        attempts = set(instances) | logged_attempts(self.logs_root, namespace, pod, uid,
                                                    container)
        if not attempts:
            raise ContainerUnavailable(f'container "{container}" in pod "{pod}" is waiting '
                                       f"to start: ContainerCreating")
        attempt = max(attempts)
        if previous:
            older = [a for a in attempts if a < attempt]
            if not older:
                raise ContainerUnavailable(f'previous terminated container "{container}" in '
                                           f'pod "{pod}" not found')
            attempt = max(older)
        if attempt in instances:
            return instances[attempt]
        return ContainerRef(id=None, namespace=namespace, pod=pod, pod_uid=uid, name=container,
                            attempt=attempt, status=GONE,
                            log_path=container_log_path(self.logs_root, namespace, pod, uid,
                                                        container, attempt))

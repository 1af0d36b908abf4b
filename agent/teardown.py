"""Removing what a container or a whole pod left on the node, in reverse order of making.

    container(agent, id)   runtime delete (-f), the rootfs snapshot released, the
                           bundle directory and the attempt's log file removed
    pod(agent, uid)        every container, the probes, the veth and the IP,
                           /dev/shm, the sandbox's namespaces, the volumes, the
                           pod's directories and logs, its cgroup directories

Both are idempotent (a second call finds nothing to do) and refuse to delete
through a mount point (`fsutil.py`). They run once every container has stopped;
a container still running is force-deleted (SIGKILL), which the graceful path
in `terminate.py` makes the exception.
"""

from __future__ import annotations

import contextlib
import logging
import os

from . import cgroups, fsutil
from .containers import ATTEMPT, NAME, POD_NAME, POD_NAMESPACE
from .runtimes.base import ContainerNotFound, ContainerRuntimeError
from .starter import bundle_dir, log_path

log = logging.getLogger(__name__)


def container(agent, container_id: str) -> None:
    info = agent.index.info(container_id)
    try:
        agent.runtime.delete(container_id, force=True)
    except ContainerNotFound:
        pass
    except ContainerRuntimeError as exc:
        log.warning("deleting container %s: %s", container_id, exc)
        raise
    agent.terminator.forget(container_id)
    agent.release_rootfs(container_id)
    uid = (info.annotations.get("io.supernetes.pod.uid") if info else None)
    directory = info.bundle if info and info.bundle else (
        bundle_dir(agent.pod_dir(uid), container_id) if uid else None)
    if directory:
        fsutil.unmount_below(directory)
        fsutil.remove_tree(directory)
    if info is not None and uid:
        notes = info.annotations
        owner = {"metadata": {"uid": uid, "name": notes.get(POD_NAME, ""),
                              "namespace": notes.get(POD_NAMESPACE, "default")}}
        path = log_path(agent.config.logs_dir, owner, notes.get(NAME, ""),
                        int(notes.get(ATTEMPT, 0) or 0))
        for name in (path, *(f"{path}.{n}" for n in range(1, agent.config.log_max_files + 1))):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(name)
    agent.index.forget(container_id)


def pod(agent, uid: str) -> None:
    for info in agent.index.infos(uid):
        container(agent, info.id)
    agent.probes.remove_pod(uid)
    agent.remove_network(uid)
    agent.remove_shm(uid)
    agent.sandboxes.remove(uid)
    agent.volumes.teardown(uid)
    local = agent.local_pod(uid)
    directory = agent.pod_dir(uid)
    fsutil.unmount_below(directory)
    fsutil.remove_tree(directory)
    if local is not None:
        meta = local["metadata"]
        logs = os.path.join(agent.config.logs_dir,
                            f"{meta.get('namespace', 'default')}_{meta['name']}_{uid}")
        fsutil.remove_tree(logs)
    cgroups.remove_pod(agent.config.cgroup_parent, uid)
    agent.forget_pod(uid)

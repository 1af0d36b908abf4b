"""Local storage eviction: a pod outgrowing an emptyDir sizeLimit or ephemeral-storage limit.

A tmpfs emptyDir (`medium: Memory`) is capped by the kernel (its `size=`); a
disk-backed one is a plain directory on the node, so the kubelet enforces its
`sizeLimit` the way its eviction manager's `localStorageEviction` does: it
measures each volume's usage periodically and, when a volume exceeds its limit,
evicts the pod. The pod syncer (`sync.py`) asks `check()` at most every
`period()` seconds per pod; an eviction is then carried out like the kubelet's
`evictPod`:

    an Event      Warning Evicted  Usage of EmptyDir volume "scratch" exceeds
                                   the limit "1Mi".
    the pod       killed whole with a grace of EVICTION_GRACE seconds, never
                  restarted; its status becomes phase Failed, reason Evicted
                  and that message (`podstatus.py`), which is also how a
                  restarted agent knows the pod stays evicted.

Usage is measured as `du` does, in allocated blocks (`st_blocks * 512`), by an
`os.scandir` walk that stays on the volume's file system (a mount below the
volume is not the volume's usage) and counts a hard-linked inode once. The walk
costs a `getdents` per directory and an `lstat` per entry (a directory entry
carries no block count), about what `du` itself costs (bench/eviction.py); no
process is started per check.

`resources.limits.ephemeral-storage` is checked too, as the kubelet does on a
node without a separate image file system. A container's usage is the writable
layer of its rootfs (the snapshot's upper dir, or its whole copy) plus its log
files; a pod's is its containers' plus its disk-backed emptyDirs. The checks,
in the kubelet's order, each with its message:

    emptyDir   over its sizeLimit        Usage of EmptyDir volume "scratch"
                                         exceeds the limit "1Mi".
    pod        over the sum of its       Pod ephemeral local storage usage
               containers' limits        exceeds the total limit of containers 1Mi.
    container  over its own limit        Container app exceeded its local
                                         ephemeral storage limit "1Mi".

(So a pod of one container over its limit gets the pod message, as in Kubernetes.)
"""

from __future__ import annotations

import os
from collections.abc import Callable
from stat import S_ISDIR

from supernetes.controlplane.api.quantity import (
    BINARY_SI,
    DECIMAL_SI,
    format_quantity,
    int_value,
    quantity_format,
)

EVICTION_PERIOD = 10.0  # the kubelet's eviction monitoring interval
EVICTION_GRACE = 1.0    # the kubelet's immediateEvictionGracePeriodSeconds
REASON = "Evicted"


def period(sync_frequency: float) -> float:
    """How often a pod's local storage is measured (never less often than it is synced)."""
    return min(EVICTION_PERIOD, sync_frequency)


def disk_usage(path: str) -> int:
    """Bytes allocated below `path` (inclusive), on `path`'s own file system."""
    try:
        top = os.lstat(path)
    except FileNotFoundError:
        return 0
    total = top.st_blocks * 512
    seen: set[tuple[int, int]] = set()
    stack = [path]
    while stack:
        try:
            entries = os.scandir(stack.pop())
        except (FileNotFoundError, NotADirectoryError):
            continue  # removed while we walked: it no longer uses space
        with entries:
            for entry in entries:
                try:
                    st = entry.stat(follow_symlinks=False)
                except FileNotFoundError:
                    continue
                if st.st_dev != top.st_dev:
                    continue  # a mount point below the volume: another file system
                if S_ISDIR(st.st_mode):
                    stack.append(entry.path)
                elif st.st_nlink > 1:
                    if (st.st_dev, st.st_ino) in seen:
                        continue
                    seen.add((st.st_dev, st.st_ino))
                total += st.st_blocks * 512
    return total


def limited_empty_dirs(pod: dict) -> list[tuple[str, str]]:
    """(volume name, sizeLimit) of each disk-backed emptyDir with a positive limit."""
    limited = []
    for volume in (pod.get("spec") or {}).get("volumes") or []:
        empty_dir = volume.get("emptyDir")
        if empty_dir is None or empty_dir.get("medium") == "Memory":
            continue  # a tmpfs is capped by the kernel
        limit = empty_dir.get("sizeLimit")
        if limit and int_value(limit) > 0:
            limited.append((volume["name"], str(limit)))
    return limited


def storage_limits(pod: dict, kind: str = "containers") -> dict[str, str]:
    """Container name -> its `limits.ephemeral-storage`, for containers that have one."""
    limits = {}
    for container in (pod.get("spec") or {}).get(kind) or []:
        limit = ((container.get("resources") or {}).get("limits") or {}).get(
            "ephemeral-storage")
        if limit and int_value(limit) > 0:
            limits[container["name"]] = str(limit)
    return limits


def pod_storage_limit(pod: dict) -> str | None:
    """The pod's limit, as the kubelet's PodLimits: the app containers' sum, or the
    largest init container's limit if that is more."""
    app, init = storage_limits(pod), storage_limits(pod, "initContainers")
    if not app and not init:
        return None
    total = max(sum(int_value(v) for v in app.values()),
                max((int_value(v) for v in init.values()), default=0))
    written = [*app.values(), *init.values()]
    binary = any(quantity_format(v) == BINARY_SI for v in written)
    return format_quantity(total, BINARY_SI if binary else DECIMAL_SI)


def needs_watching(pod: dict) -> bool:
    return bool(limited_empty_dirs(pod) or pod_storage_limit(pod))


def _disk_empty_dirs(pod: dict) -> list[str]:
    return [v["name"] for v in (pod.get("spec") or {}).get("volumes") or []
            if "emptyDir" in v and (v["emptyDir"] or {}).get("medium") != "Memory"]


def check(pod: dict, empty_dir_path: Callable[[str], str],
          container_usage: Callable[[str], int]) -> str | None:
    """The eviction message if the pod exceeds a local storage limit, else None.

    `empty_dir_path(volume)` says where an emptyDir lives on this node;
    `container_usage(container)` measures a container's writable layer and logs.
    """
    volumes: dict[str, int] = {}
    for name, limit in limited_empty_dirs(pod):
        volumes[name] = disk_usage(empty_dir_path(name))
        if volumes[name] > int_value(limit):
            return f'Usage of EmptyDir volume "{name}" exceeds the limit "{limit}".'
    pod_limit = pod_storage_limit(pod)
    if pod_limit is None:
        return None
    spec = pod.get("spec") or {}
    containers = {c["name"]: container_usage(c["name"])
                  for c in [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]}
    for name in _disk_empty_dirs(pod):
        if name not in volumes:
            volumes[name] = disk_usage(empty_dir_path(name))
    if sum(containers.values()) + sum(volumes.values()) > int_value(pod_limit):
        return f"Pod ephemeral local storage usage exceeds the total limit of containers " \
               f"{pod_limit}."
    for name, limit in storage_limits(pod).items():
        if containers[name] > int_value(limit):
            return f'Container {name} exceeded its local ephemeral storage limit "{limit}".'
    return None


def evicted_message(pod: dict) -> str | None:
    """The message of an eviction the API already records for this pod, if any."""
    status = pod.get("status") or {}
    if status.get("phase") == "Failed" and status.get("reason") == REASON:
        return status.get("message") or REASON
    return None

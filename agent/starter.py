"""Starting one attempt of one container: image -> environment -> bundle -> create -> start.

The container part of the pod sync, for one `StartContainer` action:

  1. the image, by its pull policy (`images.py`), or ErrImagePull/ImagePullBackOff;
  2. the environment (`envvars.py`: env, envFrom, fieldRef, resourceFieldRef,
     service links), or CreateContainerConfigError;
  3. the bundle directory `<pod dir>/containers/<id>/`: a writable overlay
     snapshot of the image as rootfs, an empty termination-log, and config.json
     from `ocispec.py` with the pod's namespaces, volumes, /etc files, /dev/shm,
     resources and OOM score (`resources.py`), and the annotations that tell a
     restarted agent who this container is;
  4. create and start through the runtime, its output going to
     `<logs>/<namespace>_<pod>_<uid>/<container>/<attempt>.log`, or
     RunContainerError; then the time it started is written down;
  5. the postStart hook, if any: when it fails, the container is killed
     (FailedPostStartHook), as the kubelet does.

A failure undoes what this attempt made (no half-made bundle or snapshot stays)
and is raised as `StartError(reason, message)` for the pod's status and events.
"""

from __future__ import annotations

import os
import shutil
import signal
import time
from dataclasses import dataclass

from supernetes.controlplane.api.quantity import parse_quantity
from supernetes.rootfs import bundle as bundles
from supernetes.rootfs.errors import RootfsError

from . import cgroups, containers, hooks, resources
from .envvars import ContainerConfigError, container_env
from .images import ImagePullError
from .logs import container_log_path
from .ocispec import ContainerSpecError, container_config
from .runtimes.base import ContainerRuntimeError


class StartError(Exception):
    """A container could not be started; `reason` is its waiting reason."""

    def __init__(self, reason: str, message: str, retry_at: float | None = None):
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.retry_at = retry_at


@dataclass
class PodContext:
    """What every container of the pod shares, made by the earlier sync steps."""

    pod: dict
    pod_dir: str
    logs_dir: str
    namespaces: dict[str, str | None]
    volume_paths: dict[str, str]
    etc_files: dict[str, str]
    shm_path: str | None
    pod_ip: str | None
    host_ip: str | None
    netns: str | None


def log_path(logs_dir: str, pod: dict, name: str, attempt: int) -> str:
    meta = pod["metadata"]
    return container_log_path(logs_dir, meta.get("namespace", "default"), meta["name"],
                              meta["uid"], name, attempt)


def bundle_dir(pod_dir: str, container_id: str) -> str:
    return os.path.join(pod_dir, "containers", container_id)


class ContainerStarter:
    def __init__(self, agent):
        self.agent = agent  # the NodeAgent: runtime, images, lookups, config

    def start(self, ctx: PodContext, container: dict, init: bool, attempt: int,
              restart_streak: int) -> str:
        """Start the container; its runtime ID. Raises StartError."""
        agent = self.agent
        pod = ctx.pod
        try:
            image, pulled = agent.images.ensure(container.get("image", ""),
                                                container.get("imagePullPolicy", "IfNotPresent"))
        except ImagePullError as exc:
            raise StartError(exc.reason, exc.message, exc.retry_at) from exc
        if pulled:
            agent.record(pod, "Normal", "Pulled", f'Successfully pulled image '
                         f'"{container.get("image")}"', container["name"], init)
        try:
            env = container_env(pod, container, get_configmap=agent.get_configmap,
                                get_secret=agent.get_secret, pod_ip=ctx.pod_ip,
                                host_ip=ctx.host_ip, service_env=agent.service_env(pod),
                                node_allocatable=agent.allocatable,
                                parse_quantity=parse_quantity)
        except (ContainerConfigError, ValueError) as exc:
            raise StartError("CreateContainerConfigError", str(exc)) from exc

        cid = containers.container_id(pod, container["name"], attempt)
        directory = bundle_dir(ctx.pod_dir, cid)
        self._discard(cid, directory)  # a leftover of an agent that died half-way
        os.makedirs(directory)
        try:
            self._make_bundle(ctx, container, cid, directory, image, env, attempt,
                              restart_streak)
            try:
                agent.runtime.create(cid, directory,
                                     log_path=log_path(ctx.logs_dir, pod, container["name"],
                                                       attempt),
                                     log_max_size=agent.config.log_max_size,
                                     log_max_files=agent.config.log_max_files)
            except ContainerRuntimeError as exc:
                agent.metrics.runtime_errors.inc("create_container")
                raise StartError("RunContainerError", str(exc)) from exc
        except BaseException:
            self._discard(cid, directory)
            raise
        try:
            agent.runtime.start(cid)
        except ContainerRuntimeError as exc:
            agent.metrics.runtime_errors.inc("start_container")
            self._remove_container(cid, directory)
            raise StartError("RunContainerError", str(exc)) from exc
        _write(os.path.join(directory, containers.STARTED_FILE), repr(time.time()))
        agent.pleg_refresh(cid)
        agent.record(pod, "Normal", "Started", f"Started container {container['name']}",
                     container["name"], init)
        self._post_start(ctx, container, cid)
        return cid

    def _make_bundle(self, ctx: PodContext, container: dict, cid: str, directory: str,
                     image, env: list[tuple[str, str]], attempt: int, streak: int) -> None:
        agent = self.agent
        pod = ctx.pod
        try:
            rootfs = agent.images.service.prepare_rootfs(cid, image.name,
                                                         os.path.join(directory, "rootfs"))
            base = bundles.generate(image.config, rootfs, bundles.Overrides(user="0"),
                                    root_path="rootfs")
            image_user = None
            if image.config.config.get("User"):
                image_user = bundles.resolve_user(rootfs, image.config.config["User"])
        except RootfsError as exc:
            raise StartError("CreateContainerError", str(exc)) from exc
        termination_log = os.path.join(directory, containers.TERMINATION_LOG)
        open(termination_log, "w").close()
        os.chmod(termination_log, 0o666)
        try:
            config = container_config(
                pod, container, base=base, image_config=image.config.config,
                rootfs="rootfs", env=env, namespaces=ctx.namespaces,
                volume_paths=ctx.volume_paths, etc_files=ctx.etc_files, shm_path=ctx.shm_path,
                termination_log=termination_log, attempt=attempt, restart_streak=streak,
                cgroups_path=cgroups.container_path(agent.config.cgroup_parent,
                                                    pod["metadata"]["uid"], cid),
                resources=resources.linux_resources(container, agent.config.pod_pids_limit),
                oom_score_adj=max(resources.oom_score_adj(pod, container, agent.node_memory),
                                  agent.oom_score_floor),
                image_user=image_user, image_id=image.id)
        except ContainerSpecError as exc:
            raise StartError("CreateContainerConfigError", str(exc)) from exc
        bundles.write(directory, config)

    def _post_start(self, ctx: PodContext, container: dict, cid: str) -> None:
        handler = (container.get("lifecycle") or {}).get("postStart")
        if not handler:
            return
        grace = float(ctx.pod["spec"].get("terminationGracePeriodSeconds", 30) or 30)
        ok, message = hooks.run(handler, container, runtime=self.agent.runtime,
                                container_id=cid, pod_ip=ctx.pod_ip, pod_netns=ctx.netns,
                                timeout=grace)
        if ok:
            return
        self.agent.record(ctx.pod, "Warning", "FailedPostStartHook", message,
                          container["name"], False)
        try:
            self.agent.runtime.kill(cid, signal.SIGKILL)
        except ContainerRuntimeError:
            pass

    # --- undo ---------------------------------------------------------------------------

    def _remove_container(self, cid: str, directory: str) -> None:
        try:
            self.agent.runtime.delete(cid, force=True)
        except ContainerRuntimeError:
            pass
        self._discard(cid, directory)

    def _discard(self, cid: str, directory: str) -> None:
        """Remove a bundle and its snapshot that never became a running container."""
        try:
            self.agent.runtime.info(cid)
        except ContainerRuntimeError:
            pass
        else:
            try:
                self.agent.runtime.delete(cid, force=True)
            except ContainerRuntimeError:
                pass
        self.agent.release_rootfs(cid)
        if os.path.isdir(directory):
            shutil.rmtree(directory, ignore_errors=True)


def _write(path: str, text: str) -> None:
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)

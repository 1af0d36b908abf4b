"""Checks on a converted `Config`: a flat list of functions, each one rule.

Last of the three configuration layers (spec.py -> config.py -> validate.py), like
libcontainer's `configs/validate`. Every rule that relates two fields, or a field
to the machine (the rootfs exists, a namespace path exists), lives here as one
small function; `validate()` runs them all before anything is created, so a bad
bundle never leaves a state directory, a cgroup or a mount behind.
"""

from __future__ import annotations

import os

from . import linux
from .config import Config
from .errors import ConfigError

# Spelled out rather than a regular expression: `re` is not on superc's import path.
_ID_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_+-.")


def check_id(container_id: str) -> None:
    """runc's rule: letters, digits, _ + - and dots; never a path."""
    if not container_id or not _ID_CHARS.issuperset(container_id) or container_id in (".", ".."):
        raise ConfigError(f"invalid container ID {container_id!r}: use letters, digits and _+-.")


def _check_id(c: Config) -> None:
    check_id(c.id)


def _check_rootfs(c: Config) -> None:
    if not os.path.isdir(c.rootfs):
        raise ConfigError(f"root.path: rootfs {c.rootfs} does not exist or is not a directory")


def _check_process(c: Config) -> None:
    if not c.process.args:
        raise ConfigError("process.args: empty (the container needs a program to run)")
    if not c.process.cwd.startswith("/"):
        raise ConfigError(f"process.cwd: {c.process.cwd!r} is not an absolute path")
    if c.process.oom_score_adj is not None and not -1000 <= c.process.oom_score_adj <= 1000:
        raise ConfigError(f"process.oomScoreAdj: {c.process.oom_score_adj} is outside -1000..1000")


def _check_namespaces(c: Config) -> None:
    seen = set()
    for ns in c.namespaces:
        if ns.kind in seen:
            raise ConfigError(f"linux.namespaces: {ns.type!r} is listed twice")
        seen.add(ns.kind)
        if ns.path is not None and not os.path.exists(ns.path):
            raise ConfigError(f"linux.namespaces: {ns.type} namespace path {ns.path} "
                              "does not exist")
    if linux.CLONE_NEWNS not in seen:
        raise ConfigError("linux.namespaces: a container needs a mount namespace "
                          "(superc sets up its root with pivot_root)")


def _check_user_namespace(c: Config) -> None:
    userns = _own(c, linux.CLONE_NEWUSER)
    if userns and not (c.uid_mappings and c.gid_mappings):
        raise ConfigError("linux.uidMappings/gidMappings: a new user namespace needs both")
    if not userns and (c.uid_mappings or c.gid_mappings):
        raise ConfigError("linux.uidMappings: ID mappings need a new user namespace")


def _check_hostname(c: Config) -> None:
    if (c.hostname or c.domainname) and not _own(c, linux.CLONE_NEWUTS):
        raise ConfigError("hostname: setting a hostname needs a private UTS namespace")


def _check_sysctl(c: Config) -> None:
    # runc's rules: a sysctl may only touch what a namespace of the container isolates.
    ipc = ("kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem", "kernel.shmall",
           "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced")
    for key in c.sysctl:
        if key in ipc or key.startswith("fs.mqueue."):
            needed, name = linux.CLONE_NEWIPC, "ipc"
        elif key.startswith("net."):
            needed, name = linux.CLONE_NEWNET, "network"
        elif key in ("kernel.hostname", "kernel.domainname"):
            needed, name = linux.CLONE_NEWUTS, "uts"
        else:
            raise ConfigError(f"linux.sysctl: {key} is not namespaced and cannot be set "
                              "inside a container")
        if not any(ns.kind == needed for ns in c.namespaces):
            raise ConfigError(f"linux.sysctl: {key} needs the container's own {name} namespace")


def _check_mounts(c: Config) -> None:
    for m in c.mounts:
        if m.device == "bind":
            if not m.source:
                raise ConfigError(f"mounts: bind mount on {m.destination} has no source")
            if not os.path.exists(m.source):
                raise ConfigError(f"mounts: bind source {m.source} does not exist")
        if m.destination == "/":
            raise ConfigError("mounts: cannot mount over the container's root; use root.path")


def _check_paths(c: Config) -> None:
    for field, paths in (("maskedPaths", c.masked_paths), ("readonlyPaths", c.readonly_paths)):
        for path in paths:
            if not path.startswith("/"):
                raise ConfigError(f"linux.{field}: {path!r} is not an absolute path")
    for dev in c.devices:
        if not dev.path.startswith("/dev/"):
            raise ConfigError(f"linux.devices: {dev.path!r} is not below /dev")


def _check_hooks(c: Config) -> None:
    for kind in ("create_runtime", "create_container", "start_container", "prestart",
                 "poststart", "poststop"):
        for hook in getattr(c.hooks, kind):
            if not hook.path.startswith("/"):
                raise ConfigError(f"hooks: {hook.path!r} is not an absolute path")


def _own(c: Config, kind: int) -> bool:
    """Does the container get a new namespace of this kind (not joined by path)?"""
    return any(ns.kind == kind and ns.path is None for ns in c.namespaces)


CHECKS = (_check_id, _check_rootfs, _check_process, _check_namespaces, _check_user_namespace,
          _check_hostname, _check_sysctl, _check_mounts, _check_paths, _check_hooks)


def validate(c: Config) -> None:
    """Run every check; the first failure raises ConfigError."""
    for check in CHECKS:
        check(c)

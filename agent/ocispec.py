"""From a pod's container to an OCI runtime config (config.json), as kubelet + containerd do.

`container_config()` is pure: it takes the pod, the container, the image's config
(Entrypoint, Cmd, Env, WorkingDir, User), the runtime's default config and the
node-side paths the pod already has (sandbox namespaces, volume directories, the
pod's /etc files, its shared /dev/shm) and returns the config dict that `superc`
(or runc) runs. The rules users rely on:

  command/args  `command` replaces the image's Entrypoint (and drops its Cmd);
                `args` replaces Cmd; `$(VAR)` expands from the container's env.
  env           the image's Env first, the pod's env over it.
  user          securityContext runAsUser/runAsGroup (container over pod), else
                the image's User; supplementalGroups are added.
  capabilities  containerd's default set, plus `add`, minus `drop`; privileged
                gets every capability and no masked or read-only /proc paths.
  namespaces    network, IPC and UTS are the pod sandbox's (joined by path; a
                hostNetwork pod keeps the node's network); PID, mount and cgroup
                are the container's own.
  mounts        the runtime's defaults; the pod's /dev/shm, /etc/hosts,
                /etc/hostname and /etc/resolv.conf; each volumeMount as a bind
                mount (readOnly, subPath, mountPropagation); the termination log.
  annotations   who the container is (pod UID, container name, attempt, restart
                streak, spec hash), which is how a restarted agent recognises it.
"""

from __future__ import annotations

import copy
import os

from .envvars import expand_command
from .observed import spec_hash

# containerd's default capability set for containers (what `docker run` gets too)
DEFAULT_CAPABILITIES = [
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW",
    "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
]
ALL_CAPABILITIES = DEFAULT_CAPABILITIES + [
    "CAP_DAC_READ_SEARCH", "CAP_LINUX_IMMUTABLE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN",
    "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_LEASE", "CAP_AUDIT_CONTROL", "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ",
    "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
]
PROPAGATION = {None: "rprivate", "None": "rprivate", "HostToContainer": "rslave",
               "Bidirectional": "rshared"}
ANNOTATION = "io.supernetes"


class ContainerSpecError(Exception):
    """The container cannot be turned into a runnable config (CreateContainerConfigError)."""


def process_args(container: dict, image_config: dict, env: list[tuple[str, str]]) -> list[str]:
    entrypoint = image_config.get("Entrypoint") or []
    cmd = image_config.get("Cmd") or []
    if container.get("command"):
        words = list(container["command"]) + list(container.get("args") or [])
    elif container.get("args"):
        words = list(entrypoint) + list(container["args"])
    else:
        words = list(entrypoint) + list(cmd)
    if not words:
        raise ContainerSpecError("no command specified")
    return expand_command(words, env)


def _capability(name: str) -> str:
    name = name.upper()
    return name if name.startswith("CAP_") else "CAP_" + name


def capabilities(security: dict) -> list[str]:
    if security.get("privileged"):
        return list(ALL_CAPABILITIES)
    caps = security.get("capabilities") or {}
    drop = {_capability(c) for c in caps.get("drop") or []}
    if "CAP_ALL" in drop:
        chosen: list[str] = []
    else:
        chosen = [c for c in DEFAULT_CAPABILITIES if c not in drop]
    for cap in caps.get("add") or []:
        cap = _capability(cap)
        if cap == "CAP_ALL":
            chosen = [c for c in ALL_CAPABILITIES if c not in drop]
        elif cap not in chosen:
            chosen.append(cap)
    return chosen


def _user(pod_security: dict, security: dict, image_config: dict) -> dict:
    uid = security.get("runAsUser", pod_security.get("runAsUser"))
    gid = security.get("runAsGroup", pod_security.get("runAsGroup"))
    if uid is None:
        image_user = image_config.get("User") or "0"
        user_part, _, group_part = image_user.partition(":")
        if not user_part.isdigit() or (group_part and not group_part.isdigit()):
            raise ContainerSpecError(
                f"image user {image_user!r} is a name: set securityContext.runAsUser")
        uid = int(user_part)
        if gid is None and group_part:
            gid = int(group_part)
    user = {"uid": int(uid), "gid": int(gid if gid is not None else 0)}
    groups = pod_security.get("supplementalGroups") or []
    if pod_security.get("fsGroup") is not None:
        groups = [*groups, pod_security["fsGroup"]]
    if groups:
        user["additionalGids"] = [int(g) for g in groups]
    return user


def _volume_mounts(container: dict, volume_paths: dict[str, str]) -> list[dict]:
    mounts = []
    for vm in container.get("volumeMounts") or []:
        name = vm["name"]
        if name not in volume_paths:
            raise ContainerSpecError(f'volumeMount "{name}": no volume of that name')
        source = volume_paths[name]
        sub = vm.get("subPath") or ""
        if sub:
            if sub.startswith("/") or ".." in sub.split("/"):
                raise ContainerSpecError(f"subPath {sub!r} must be relative and stay inside")
            source = os.path.join(source, sub)
        options = ["rbind", PROPAGATION[vm.get("mountPropagation")]]
        options.append("ro" if vm.get("readOnly") else "rw")
        mounts.append({"destination": vm["mountPath"], "type": "bind", "source": source,
                       "options": options})
    return mounts


def container_config(pod: dict, container: dict, *, base: dict, image_config: dict,
                     rootfs: str, env: list[tuple[str, str]], namespaces: dict[str, str | None],
                     volume_paths: dict[str, str], etc_files: dict[str, str],
                     shm_path: str | None, termination_log: str | None,
                     attempt: int, restart_streak: int, cgroups_path: str,
                     resources: dict | None = None) -> dict:
    """The OCI config for one attempt of one container of a pod (see module doc)."""
    spec = pod.get("spec", {})
    meta = pod.get("metadata", {})
    pod_security = spec.get("securityContext") or {}
    security = container.get("securityContext") or {}
    privileged = bool(security.get("privileged"))
    config = copy.deepcopy(base)

    image_env = [tuple(e.split("=", 1)) for e in image_config.get("Env") or [] if "=" in e]
    merged = dict(image_env)
    merged.update(dict(env))
    caps = capabilities(security)
    config["process"] = {
        "terminal": bool(container.get("tty")),
        "user": _user(pod_security, security, image_config),
        "args": process_args(container, image_config, list(merged.items())),
        "env": [f"{k}={v}" for k, v in merged.items()],
        "cwd": container.get("workingDir") or image_config.get("WorkingDir") or "/",
        "capabilities": {kind: list(caps) for kind in
                         ("bounding", "effective", "permitted")},
        "noNewPrivileges": security.get("allowPrivilegeEscalation") is False,
        "rlimits": base.get("process", {}).get("rlimits", []),
    }
    config["root"] = {"path": rootfs, "readonly": bool(security.get("readOnlyRootFilesystem"))}
    config.pop("hostname", None)  # the pod's UTS namespace already has its name

    linux = config.setdefault("linux", {})
    wanted = [{"type": "pid"}, {"type": "mount"}, {"type": "cgroup"}]
    for kind, oci in (("net", "network"), ("ipc", "ipc"), ("uts", "uts")):
        path = namespaces.get(kind)
        if path:
            wanted.append({"type": oci, "path": path})
    linux["namespaces"] = wanted
    linux["cgroupsPath"] = cgroups_path
    if resources:
        linux["resources"] = resources
    sysctls = {s["name"]: s["value"] for s in pod_security.get("sysctls") or []}
    if sysctls:
        linux["sysctl"] = sysctls
    if privileged:
        linux["maskedPaths"] = []
        linux["readonlyPaths"] = []

    mounts = [m for m in config.get("mounts", []) if m["destination"] != "/dev/shm"
              or shm_path is None]
    if privileged:
        for m in mounts:
            if m.get("type") in ("sysfs", "cgroup"):
                m["options"] = [o for o in m.get("options", []) if o != "ro"] + ["rw"]
    if shm_path:
        mounts.append({"destination": "/dev/shm", "type": "bind", "source": shm_path,
                       "options": ["rbind", "rprivate", "rw", "nosuid", "nodev", "noexec"]})
    for destination, source in sorted(etc_files.items()):
        mounts.append({"destination": destination, "type": "bind", "source": source,
                       "options": ["rbind", "rprivate", "rw"]})
    if termination_log:
        path = container.get("terminationMessagePath") or "/dev/termination-log"
        mounts.append({"destination": path, "type": "bind", "source": termination_log,
                       "options": ["rbind", "rprivate", "rw"]})
    mounts += _volume_mounts(container, volume_paths)
    config["mounts"] = mounts

    config["annotations"] = {
        **config.get("annotations", {}),
        f"{ANNOTATION}.pod.uid": meta.get("uid", ""),
        f"{ANNOTATION}.pod.name": meta.get("name", ""),
        f"{ANNOTATION}.pod.namespace": meta.get("namespace", "default"),
        f"{ANNOTATION}.container.name": container["name"],
        f"{ANNOTATION}.container.attempt": str(attempt),
        f"{ANNOTATION}.container.restart-streak": str(restart_streak),
        f"{ANNOTATION}.container.spec-hash": spec_hash(container),
        f"{ANNOTATION}.container.init": str(any(
            c["name"] == container["name"] for c in spec.get("initContainers") or [])).lower(),
    }
    return config

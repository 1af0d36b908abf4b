"""OCI runtime bundles from an image config plus per-container overrides.

The mapping is the one of the image spec's conversion.md (what umoci and
containerd do): Entrypoint + Cmd -> process.args, Env -> process.env, WorkingDir ->
process.cwd, User -> process.user (names resolved in the image's own /etc/passwd
and /etc/group), Labels -> annotations, ExposedPorts and StopSignal -> the
`org.opencontainers.image.exposedPorts` / `stopSignal` annotations. Overrides
follow Kubernetes: `command` replaces the Entrypoint (and drops the image's Cmd),
`args` replaces the Cmd.

The rest of config.json is the default a runc user knows: new pid, ipc, uts,
mount, network and cgroup namespaces, /proc, /dev, /dev/pts, /dev/shm,
/dev/mqueue, read-only /sys and cgroupfs, Docker's default capability set,
masked and read-only /proc paths. The runtime or the agent adjusts the
resulting dict (namespace paths, cgroups, resources) before writing it.
"""

import dataclasses
import json
import os

from . import safefs
from .errors import BundleError, UnpackError
from .oci import ImageConfig

OCI_VERSION = "1.0.2"
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
DEFAULT_CAPS = [
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW",
    "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
]
MASKED_PATHS = [
    "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
    "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi",
    "/sys/firmware", "/sys/devices/virtual/powercap",
]
READONLY_PATHS = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]


@dataclasses.dataclass
class Overrides:
    command: list[str] | None = None
    args: list[str] | None = None
    env: dict[str, str] = dataclasses.field(default_factory=dict)
    working_dir: str | None = None
    user: str | None = None
    hostname: str | None = None
    terminal: bool = False
    read_only: bool = False
    no_new_privileges: bool = False
    annotations: dict[str, str] = dataclasses.field(default_factory=dict)
    mounts: list[dict] = dataclasses.field(default_factory=list)


def process_args(config: dict, overrides: Overrides) -> list[str]:
    entrypoint = list(config.get("Entrypoint") or [])
    cmd = list(config.get("Cmd") or [])
    if overrides.command is not None:
        args = list(overrides.command) + list(overrides.args or [])
    elif overrides.args is not None:
        args = entrypoint + list(overrides.args)
    else:
        args = entrypoint + cmd
    if not args:
        raise BundleError("no command to run: the image has no Entrypoint or Cmd and none "
                          "was given")
    return args


def process_env(config: dict, overrides: Overrides) -> list[str]:
    env: dict[str, str] = {}
    for item in config.get("Env") or []:
        key, _, value = item.partition("=")
        env[key] = value
    env.update(overrides.env)
    env.setdefault("PATH", DEFAULT_PATH)
    if overrides.terminal:
        env.setdefault("TERM", "xterm")
    return [f"{k}={v}" for k, v in env.items()]


def _read_db(rootfs: str, name: str) -> list[list[str]]:
    """Lines of /etc/passwd or /etc/group of the image, read without following symlinks."""
    try:
        with safefs.Tree(rootfs) as tree:
            etc = tree.dir_fd(("etc",))
            fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=etc)
            with open(fd, encoding="utf-8", errors="replace") as f:
                text = f.read(1 << 20)
    except (OSError, UnpackError):
        return []  # no such file, or a symlink we will not follow: no names to resolve
    return [line.split(":") for line in text.splitlines() if line and not line.startswith("#")]


def resolve_user(rootfs: str, spec: str | None) -> dict:
    """`uid`, `uid:gid`, `name` or `name:group` -> {"uid", "gid", "additionalGids"}."""
    spec = (spec or "").strip()
    if not spec:
        return {"uid": 0, "gid": 0}
    user, _, group = spec.partition(":")
    passwd = [p for p in _read_db(rootfs, "passwd") if len(p) >= 4]
    entry = None
    if user.isdigit():
        uid = int(user)
        entry = next((p for p in passwd if p[2] == user), None)
    else:
        entry = next((p for p in passwd if p[0] == user), None)
        if entry is None:
            raise BundleError(f"user {user!r} is not in the image's /etc/passwd")
        uid = _number(entry[2], f"uid of {user!r}")
    gid = _number(entry[3], f"gid of {user!r}") if entry else 0
    groups = [g for g in _read_db(rootfs, "group") if len(g) >= 3]
    if group:
        if group.isdigit():
            gid = int(group)
        else:
            match = next((g for g in groups if g[0] == group), None)
            if match is None:
                raise BundleError(f"group {group!r} is not in the image's /etc/group")
            gid = _number(match[2], f"gid of group {group!r}")
    result = {"uid": uid, "gid": gid}
    if entry is not None:
        extra = sorted({_number(g[2], f"gid of group {g[0]!r}") for g in groups
                        if len(g) >= 4 and entry[0] in g[3].split(",")} - {gid})
        if extra:
            result["additionalGids"] = extra
    return result


def _number(text: str, what: str) -> int:
    try:
        return int(text)
    except ValueError as exc:
        raise BundleError(f"{what} is not a number: {text!r}") from exc


def annotations(image: ImageConfig, overrides: Overrides) -> dict[str, str]:
    config = image.config
    out = dict(config.get("Labels") or {})
    if config.get("ExposedPorts"):
        out["org.opencontainers.image.exposedPorts"] = ",".join(sorted(config["ExposedPorts"]))
    if config.get("StopSignal"):
        out["org.opencontainers.image.stopSignal"] = config["StopSignal"]
    for key in ("os", "architecture", "author", "created"):
        if image.raw.get(key):
            out[f"org.opencontainers.image.{key}"] = image.raw[key]
    out.update(overrides.annotations)
    return out


def generate(image: ImageConfig, rootfs: str, overrides: Overrides | None = None,
             root_path: str | None = None) -> dict:
    """The config.json for running `image` on the unpacked (or mounted) `rootfs`."""
    overrides = overrides or Overrides()
    config = image.config
    cwd = overrides.working_dir or config.get("WorkingDir") or "/"
    if not cwd.startswith("/"):
        raise BundleError(f"working directory {cwd!r} is not absolute")
    user = resolve_user(rootfs, overrides.user if overrides.user is not None
                        else config.get("User"))
    caps = list(DEFAULT_CAPS)
    privileged_sets = caps if user["uid"] == 0 else []
    return {
        "ociVersion": OCI_VERSION,
        "process": {
            "terminal": overrides.terminal,
            "user": user,
            "args": process_args(config, overrides),
            "env": process_env(config, overrides),
            "cwd": cwd,
            "capabilities": {"bounding": caps, "effective": privileged_sets,
                             "permitted": privileged_sets},
            "noNewPrivileges": overrides.no_new_privileges,
        },
        "root": {"path": root_path or rootfs, "readonly": overrides.read_only},
        "hostname": overrides.hostname or "container",
        "mounts": _default_mounts() + list(overrides.mounts),
        "linux": {
            "namespaces": [{"type": t} for t in ("pid", "network", "ipc", "uts", "mount",
                                                 "cgroup")],
            "maskedPaths": list(MASKED_PATHS),
            "readonlyPaths": list(READONLY_PATHS),
            "resources": {"devices": [{"allow": False, "access": "rwm"}]},
        },
        "annotations": annotations(image, overrides),
    }


def _default_mounts() -> list[dict]:
    nosuid = ["nosuid", "noexec", "nodev"]
    return [
        {"destination": "/proc", "type": "proc", "source": "proc"},
        {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
         "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
        {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
         "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
        {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
         "options": nosuid + ["mode=1777", "size=65536k"]},
        {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue", "options": nosuid},
        {"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": nosuid + ["ro"]},
        {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
         "options": nosuid + ["relatime", "ro"]},
    ]


def write(bundle_dir: str, spec: dict) -> str:
    """Write config.json into `bundle_dir` (atomically); return its path."""
    os.makedirs(bundle_dir, exist_ok=True)
    path = os.path.join(bundle_dir, "config.json")
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(spec, f, indent=2)
    os.rename(tmp, path)
    return path

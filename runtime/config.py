"""The runtime's own configuration, converted once from the OCI spec.

Second of the three configuration layers (spec.py -> config.py -> validate.py),
like libcontainer's `specconv`: names become kernel numbers (namespace types become
CLONE_* flags, "ro,nosuid" becomes MS_RDONLY|MS_NOSUID plus leftover mount data,
capability and rlimit names become numbers), relative paths become absolute, and
the resource block becomes the cgroup interface's `Resources`. After this point no
code looks at strings from config.json again, and everything the container's init
needs is in one `Config` that the forked child inherits.

Conversion errors (an unknown namespace type, a capability that does not exist) are
`ConfigError`s naming the config.json field; cross-field rules (hostname needs a
UTS namespace, ...) are checks in `validate.py`.
"""

from __future__ import annotations

import os

from . import linux, spec
from .cgroups.base import DeviceRule, Resources
from .errors import ConfigError
from .record import Record

NAMESPACE_TYPES = {
    "pid": linux.CLONE_NEWPID, "network": linux.CLONE_NEWNET, "mount": linux.CLONE_NEWNS,
    "ipc": linux.CLONE_NEWIPC, "uts": linux.CLONE_NEWUTS, "cgroup": linux.CLONE_NEWCGROUP,
    "user": linux.CLONE_NEWUSER, "time": linux.CLONE_NEWTIME,
}
# The names of the files under /proc/<pid>/ns/ for each type.
NS_PROC_NAMES = {
    linux.CLONE_NEWPID: "pid", linux.CLONE_NEWNET: "net", linux.CLONE_NEWNS: "mnt",
    linux.CLONE_NEWIPC: "ipc", linux.CLONE_NEWUTS: "uts", linux.CLONE_NEWCGROUP: "cgroup",
    linux.CLONE_NEWUSER: "user", linux.CLONE_NEWTIME: "time",
}

# option -> (clear instead of set, flag); runc's parseMountOptions table.
_MOUNT_FLAGS = {
    "async": (True, linux.MS_SYNCHRONOUS), "atime": (True, linux.MS_NOATIME),
    "bind": (False, linux.MS_BIND), "defaults": (False, 0), "dev": (True, linux.MS_NODEV),
    "diratime": (True, linux.MS_NODIRATIME), "dirsync": (False, linux.MS_DIRSYNC),
    "exec": (True, linux.MS_NOEXEC), "mand": (False, linux.MS_MANDLOCK),
    "noatime": (False, linux.MS_NOATIME), "nodev": (False, linux.MS_NODEV),
    "nodiratime": (False, linux.MS_NODIRATIME), "noexec": (False, linux.MS_NOEXEC),
    "nomand": (True, linux.MS_MANDLOCK), "norelatime": (True, linux.MS_RELATIME),
    "nostrictatime": (True, linux.MS_STRICTATIME), "nosuid": (False, linux.MS_NOSUID),
    "nosymfollow": (False, linux.MS_NOSYMFOLLOW), "rbind": (False, linux.MS_BIND | linux.MS_REC),
    "relatime": (False, linux.MS_RELATIME), "remount": (False, linux.MS_REMOUNT),
    "ro": (False, linux.MS_RDONLY), "rw": (True, linux.MS_RDONLY),
    "strictatime": (False, linux.MS_STRICTATIME), "suid": (True, linux.MS_NOSUID),
    "symfollow": (True, linux.MS_NOSYMFOLLOW), "sync": (False, linux.MS_SYNCHRONOUS),
}
PROPAGATION = {
    "private": linux.MS_PRIVATE, "rprivate": linux.MS_PRIVATE | linux.MS_REC,
    "shared": linux.MS_SHARED, "rshared": linux.MS_SHARED | linux.MS_REC,
    "slave": linux.MS_SLAVE, "rslave": linux.MS_SLAVE | linux.MS_REC,
    "unbindable": linux.MS_UNBINDABLE, "runbindable": linux.MS_UNBINDABLE | linux.MS_REC,
}

# The device nodes every container gets when /dev is a fresh tmpfs (runc's defaults),
# as (path, type, major, minor).
DEFAULT_DEVICES = (
    ("/dev/null", "c", 1, 3), ("/dev/zero", "c", 1, 5), ("/dev/full", "c", 1, 7),
    ("/dev/random", "c", 1, 8), ("/dev/urandom", "c", 1, 9), ("/dev/tty", "c", 5, 0),
)
# What the device cgroup always allows on top of config.json's rules (runc's
# AllowedDevices): the default nodes, mknod of anything, ptys, /dev/console, tun.
_ALWAYS_ALLOWED = (
    ("c", None, None, "m"), ("b", None, None, "m"), ("c", 1, 3, "rwm"), ("c", 1, 5, "rwm"),
    ("c", 1, 7, "rwm"), ("c", 1, 8, "rwm"), ("c", 1, 9, "rwm"), ("c", 5, 0, "rwm"),
    ("c", 5, 1, "rwm"), ("c", 5, 2, "rwm"), ("c", 136, None, "rwm"), ("c", 10, 200, "rwm"),
)


class Namespace(Record):
    kind: int  # one CLONE_NEW* flag
    type: str  # its OCI name, for messages
    path: str | None = None  # join this existing namespace instead of making one


class IDMap(Record):
    container_id: int
    host_id: int
    size: int


class MountEntry(Record):
    source: str | None
    destination: str  # absolute, as seen inside the container
    device: str  # the filesystem type, or "bind"
    flags: int  # MS_* flags, MS_BIND|MS_REC for rbind
    propagation: tuple = ()  # MS_SHARED, MS_SLAVE|MS_REC, ... applied after mounting
    data: str | None = None  # what is left of the options: "mode=755,size=65536k"


class DeviceNode(Record):
    path: str
    type: str  # "c", "b" or "p"
    major: int
    minor: int
    mode: int = 0o666
    uid: int = 0
    gid: int = 0


class Caps(Record):
    bounding: frozenset
    effective: frozenset
    inheritable: frozenset
    permitted: frozenset
    ambient: frozenset


class ProcessConfig(Record):
    args: list[str]
    env: list[str]
    cwd: str
    uid: int = 0
    gid: int = 0
    additional_gids: list[int]
    umask: int = 0o022
    rlimits: list[tuple[int, int, int]]  # (RLIMIT_*, soft, hard)
    caps: Caps
    no_new_privs: bool = False
    oom_score_adj: int | None = None
    terminal: bool = False
    console_size: tuple[int, int] | None = None


class Config(Record):
    id: str
    bundle: str
    rootfs: str
    readonly_rootfs: bool = False
    hostname: str | None = None
    domainname: str | None = None
    namespaces: list[Namespace]
    uid_mappings: list[IDMap]
    gid_mappings: list[IDMap]
    mounts: list[MountEntry]
    devices: list[DeviceNode]
    masked_paths: list[str]
    readonly_paths: list[str]
    sysctl: dict[str, str]
    rootfs_propagation: int = 0  # 0: runc's default, MS_SLAVE|MS_REC
    resources: Resources
    cgroups_path: str | None = None
    process: ProcessConfig
    hooks: spec.Hooks
    annotations: dict[str, str]
    oci_version: str = ""
    spec_process: dict  # config.json's raw "process": exec's defaults


def from_spec(s: spec.Spec, bundle: str, container_id: str) -> Config:
    """Convert a parsed spec into the runtime's config (no checks across fields)."""
    bundle = os.path.abspath(bundle)
    if s.process is None:
        raise ConfigError("config.json: process: missing (a container needs a process)")
    lx = s.linux
    return Config(
        id=container_id,
        bundle=bundle,
        rootfs=os.path.normpath(os.path.join(bundle, s.root.path)),
        readonly_rootfs=s.root.readonly,
        hostname=s.hostname,
        domainname=s.domainname,
        namespaces=[_namespace(ns, i) for i, ns in enumerate(lx.namespaces)],
        uid_mappings=[IDMap(container_id=m.container_id, host_id=m.host_id, size=m.size)
                      for m in lx.uid_mappings],
        gid_mappings=[IDMap(container_id=m.container_id, host_id=m.host_id, size=m.size)
                      for m in lx.gid_mappings],
        mounts=[mount_entry(m, bundle, i) for i, m in enumerate(s.mounts)],
        devices=[_device(d, i) for i, d in enumerate(lx.devices)],
        masked_paths=list(lx.masked_paths),
        readonly_paths=list(lx.readonly_paths),
        sysctl=dict(lx.sysctl),
        rootfs_propagation=_rootfs_propagation(lx.rootfs_propagation),
        resources=resources_from_spec(lx.resources, lx.devices),
        cgroups_path=lx.cgroups_path or None,
        process=process_from_spec(s.process),
        hooks=s.hooks,
        annotations=dict(s.annotations),
        oci_version=s.oci_version,
        spec_process=s.raw.get("process") or {},
    )


def process_from_spec(p: spec.Process, where: str = "process") -> ProcessConfig:
    """Convert a spec process (config.json's, or exec's) into the runtime's form."""
    rlimits = []
    for i, r in enumerate(p.rlimits):
        number = linux.RLIMITS.get(r.type)
        if number is None:
            raise ConfigError(f"config.json: {where}.rlimits[{i}].type: unknown rlimit {r.type!r}")
        if r.soft > r.hard:
            raise ConfigError(f"config.json: {where}.rlimits[{i}]: soft limit {r.soft} "
                              f"is above the hard limit {r.hard}")
        rlimits.append((number, r.soft, r.hard))
    umask = p.user.umask if p.user.umask is not None else 0o022
    return ProcessConfig(
        args=list(p.args), env=list(p.env), cwd=p.cwd,
        uid=p.user.uid, gid=p.user.gid, additional_gids=list(p.user.additional_gids),
        umask=umask, rlimits=rlimits, caps=_caps(p.capabilities, where),
        no_new_privs=p.no_new_privileges, oom_score_adj=p.oom_score_adj,
        terminal=p.terminal, console_size=p.console_size,
    )


def parse_mount_options(options: list[str]) -> tuple[int, tuple, str | None]:
    """Split OCI mount options into (MS_* flags, propagation flags, data string)."""
    flags, propagation, data = 0, [], []
    for option in options:
        if option in _MOUNT_FLAGS:
            clear, flag = _MOUNT_FLAGS[option]
            flags = flags & ~flag if clear else flags | flag
        elif option in PROPAGATION:
            propagation.append(PROPAGATION[option])
        elif option.startswith("x-") or option == "tmpcopyup":
            continue  # userspace annotations (mount(8)'s x-*), not for the kernel
        else:
            data.append(option)
    return flags, tuple(propagation), ",".join(data) or None


def mount_entry(m: spec.Mount, bundle: str, index: int = 0) -> MountEntry:
    flags, propagation, data = parse_mount_options(m.options)
    device = m.type or ""
    if device == "bind" or flags & linux.MS_BIND:
        device = "bind"
        flags |= linux.MS_BIND
    if not device:
        raise ConfigError(f"config.json: mounts[{index}].type: missing (and not a bind mount)")
    source = m.source
    if device == "bind" and source and not os.path.isabs(source):
        source = os.path.join(bundle, source)  # runc resolves relative binds in the bundle
    destination = m.destination if m.destination.startswith("/") else "/" + m.destination
    return MountEntry(source=source, destination=os.path.normpath(destination), device=device,
                      flags=flags, propagation=propagation, data=data)


def resources_from_spec(r: spec.Resources | None, devices: list[spec.Device]) -> Resources:
    """OCI linux.resources -> the cgroup interface's Resources (+ the always-allowed nodes)."""
    out = Resources()
    rules = []
    if r is not None:
        out.memory_limit = r.memory_limit
        out.memory_reservation = r.memory_reservation
        out.memory_swap = r.memory_swap
        out.cpu_shares = r.cpu_shares
        out.cpu_quota = r.cpu_quota
        out.cpu_period = r.cpu_period
        out.cpuset_cpus = r.cpu_cpus
        out.cpuset_mems = r.cpu_mems
        out.pids_limit = r.pids_limit
        for i, d in enumerate(r.devices):
            kind = d.type or "a"
            if kind not in ("a", "c", "b"):
                raise ConfigError(f"config.json: linux.resources.devices[{i}].type: "
                                  f"expected a, c or b, got {kind!r}")
            rules.append(DeviceRule(allow=d.allow, type=kind, major=d.major, minor=d.minor,
                                    access=d.access or "rwm"))
    if rules:
        rules.extend(DeviceRule(allow=True, type=t, major=ma, minor=mi, access=acc)
                     for t, ma, mi, acc in _ALWAYS_ALLOWED)
        rules.extend(DeviceRule(allow=True, type=d.type if d.type != "u" else "c",
                                major=d.major, minor=d.minor, access="rwm")
                     for d in devices if d.type in ("c", "u", "b"))
        out.devices = rules
    return out


def _namespace(ns: spec.Namespace, index: int) -> Namespace:
    kind = NAMESPACE_TYPES.get(ns.type)
    if kind is None:
        known = ", ".join(sorted(NAMESPACE_TYPES))
        raise ConfigError(f"config.json: linux.namespaces[{index}].type: unknown namespace "
                          f"type {ns.type!r} (known: {known})")
    return Namespace(kind=kind, type=ns.type, path=ns.path)


def _device(d: spec.Device, index: int) -> DeviceNode:
    kind = "c" if d.type == "u" else d.type
    if kind not in ("c", "b", "p"):
        raise ConfigError(f"config.json: linux.devices[{index}].type: expected c, b, u or p, "
                          f"got {d.type!r}")
    mode = d.file_mode if d.file_mode is not None else 0o666
    return DeviceNode(path=d.path, type=kind, major=d.major, minor=d.minor, mode=mode & 0o7777,
                      uid=d.uid or 0, gid=d.gid or 0)


def _rootfs_propagation(value: str | None) -> int:
    if value is None:
        return 0
    if value not in PROPAGATION:
        raise ConfigError(f"config.json: linux.rootfsPropagation: unknown value {value!r} "
                          f"(known: {', '.join(sorted(PROPAGATION))})")
    return PROPAGATION[value]


def _caps(c: spec.Capabilities | None, where: str) -> Caps:
    # No capabilities block means no capabilities at all, as in runc.
    sets = {}
    for kind in ("bounding", "effective", "inheritable", "permitted", "ambient"):
        names = getattr(c, kind) if c is not None else None
        numbers = set()
        for i, name in enumerate(names or ()):
            number = linux.CAPABILITIES.get(name.upper() if name.upper().startswith("CAP_")
                                            else "CAP_" + name.upper())
            if number is None:
                raise ConfigError(f"config.json: {where}.capabilities.{kind}[{i}]: "
                                  f"unknown capability {name!r}")
            numbers.add(number)
        sets[kind] = frozenset(numbers)
    return Caps(**sets)

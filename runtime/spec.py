"""The OCI runtime spec (config.json), parsed into plain typed objects.

This is the first of the three configuration layers (as in runc/libcontainer):

    config.json --spec.load()--> Spec --config.from_spec()--> Config --validate.validate()

Here we only check *shapes*: that `process.args` is a list of strings, that
`linux.namespaces[2].type` is a string, and so on. Every problem becomes a
`ConfigError` naming the JSON path (`config.json: process.args[0]: expected a
string`). What the values mean (is "pdi" a namespace type? does the rootfs
exist?) is the business of `config.py` and `validate.py`.

Field names follow the spec's JSON keys in snake_case. Parts of the spec that
superc does not implement (seccomp, apparmor, selinux labels, blockIO, hugepage
and network resources, intelRdt) are read and ignored, as runc ignores what a
platform lacks.
"""

from __future__ import annotations

import os

from . import fastjson
from .errors import ConfigError
from .record import Record


class Root(Record):
    path: str
    readonly: bool = False


class Mount(Record):
    destination: str
    type: str | None = None
    source: str | None = None
    options: list[str]


class User(Record):
    uid: int = 0
    gid: int = 0
    umask: int | None = None
    additional_gids: list[int]


class Capabilities(Record):
    bounding: list[str] | None = None
    effective: list[str] | None = None
    inheritable: list[str] | None = None
    permitted: list[str] | None = None
    ambient: list[str] | None = None


class Rlimit(Record):
    type: str
    hard: int
    soft: int


class Process(Record):
    terminal: bool = False
    console_size: tuple[int, int] | None = None  # (height, width)
    user: User
    args: list[str]
    env: list[str]
    cwd: str = "/"
    capabilities: Capabilities | None = None
    rlimits: list[Rlimit]
    no_new_privileges: bool = False
    oom_score_adj: int | None = None


class Hook(Record):
    path: str
    args: list[str]
    env: list[str]
    timeout: int | None = None


class Hooks(Record):
    create_runtime: list[Hook]
    create_container: list[Hook]
    start_container: list[Hook]
    prestart: list[Hook]
    poststart: list[Hook]
    poststop: list[Hook]


class Namespace(Record):
    type: str
    path: str | None = None


class IDMapping(Record):
    container_id: int
    host_id: int
    size: int


class Device(Record):
    path: str
    type: str
    major: int = 0
    minor: int = 0
    file_mode: int | None = None
    uid: int | None = None
    gid: int | None = None


class DeviceCgroup(Record):
    allow: bool
    type: str | None = None
    major: int | None = None
    minor: int | None = None
    access: str | None = None


class Resources(Record):
    memory_limit: int | None = None
    memory_reservation: int | None = None
    memory_swap: int | None = None
    cpu_shares: int | None = None
    cpu_quota: int | None = None
    cpu_period: int | None = None
    cpu_cpus: str | None = None
    cpu_mems: str | None = None
    pids_limit: int | None = None
    devices: list[DeviceCgroup]


class Linux(Record):
    namespaces: list[Namespace]
    uid_mappings: list[IDMapping]
    gid_mappings: list[IDMapping]
    resources: Resources | None = None
    cgroups_path: str | None = None
    devices: list[Device]
    masked_paths: list[str]
    readonly_paths: list[str]
    sysctl: dict[str, str]
    rootfs_propagation: str | None = None


class Spec(Record):
    oci_version: str
    root: Root
    mounts: list[Mount]
    process: Process | None = None
    hostname: str | None = None
    domainname: str | None = None
    hooks: Hooks
    annotations: dict[str, str]
    linux: Linux
    raw: dict  # the parsed JSON itself; exec takes its defaults from raw["process"]


def load(bundle: str) -> Spec:
    """Read and parse `<bundle>/config.json`."""
    path = os.path.join(bundle, "config.json")
    try:
        with open(path, "rb") as f:
            raw = fastjson.loads(f.read())
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: no such file (is {bundle!r} an OCI bundle?)") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from exc
    except ValueError as exc:
        raise ConfigError(f"{path}: not valid JSON: {exc}") from exc
    return parse(raw)


def parse(raw: object) -> Spec:
    """Turn the decoded JSON of a config.json into a `Spec`."""
    d = _obj(raw, "config.json")
    root = _obj(d.get("root"), "root") if "root" in d else None
    if root is None:
        raise ConfigError("config.json: root: missing (the spec requires root.path)")
    linux = _obj(d.get("linux", {}), "linux")
    return Spec(
        oci_version=_str(d, "ociVersion", "", default=""),
        root=Root(path=_str(root, "path", "root", required=True),
                  readonly=_bool(root, "readonly", "root")),
        mounts=[_mount(m, f"mounts[{i}]") for i, m in enumerate(_list(d, "mounts", ""))],
        process=parse_process(d["process"], "process") if d.get("process") is not None else None,
        hostname=_str(d, "hostname", ""),
        domainname=_str(d, "domainname", ""),
        hooks=_hooks(_obj(d.get("hooks", {}), "hooks")),
        annotations=_str_map(d, "annotations", ""),
        linux=_linux(linux),
        raw=d,
    )


def parse_process(value: object, where: str = "process") -> Process:
    """Parse a `process` object: config.json's, or the one `exec --process` reads."""
    p = _obj(value, where)
    user = _obj(p.get("user", {}), f"{where}.user")
    size = p.get("consoleSize")
    console_size = None
    if size is not None:
        size = _obj(size, f"{where}.consoleSize")
        console_size = (_int(size, "height", f"{where}.consoleSize", default=0),
                        _int(size, "width", f"{where}.consoleSize", default=0))
    caps = p.get("capabilities")
    capabilities = None
    if caps is not None:
        caps = _obj(caps, f"{where}.capabilities")
        kinds = ("bounding", "effective", "inheritable", "permitted", "ambient")
        capabilities = Capabilities(**{
            k: _str_list(caps, k, f"{where}.capabilities") if k in caps else None for k in kinds
        })
    args = _str_list(p, "args", where)
    return Process(
        terminal=_bool(p, "terminal", where),
        console_size=console_size,
        user=User(uid=_int(user, "uid", f"{where}.user", default=0),
                  gid=_int(user, "gid", f"{where}.user", default=0),
                  umask=_int(user, "umask", f"{where}.user"),
                  additional_gids=_int_list(user, "additionalGids", f"{where}.user")),
        args=args,
        env=_str_list(p, "env", where),
        cwd=_str(p, "cwd", where, default="/"),
        capabilities=capabilities,
        rlimits=[_rlimit(r, f"{where}.rlimits[{i}]")
                 for i, r in enumerate(_list(p, "rlimits", where))],
        no_new_privileges=_bool(p, "noNewPrivileges", where),
        oom_score_adj=_int(p, "oomScoreAdj", where),
    )


def _rlimit(value: object, where: str) -> Rlimit:
    r = _obj(value, where)
    return Rlimit(type=_str(r, "type", where, required=True),
                  hard=_int(r, "hard", where, required=True),
                  soft=_int(r, "soft", where, required=True))


def _mount(value: object, where: str) -> Mount:
    m = _obj(value, where)
    return Mount(destination=_str(m, "destination", where, required=True),
                 type=_str(m, "type", where),
                 source=_str(m, "source", where),
                 options=_str_list(m, "options", where))


def _hooks(h: dict) -> Hooks:
    def hooks(key: str) -> list[Hook]:
        out = []
        for i, item in enumerate(_list(h, key, "hooks")):
            where = f"hooks.{key}[{i}]"
            item = _obj(item, where)
            out.append(Hook(path=_str(item, "path", where, required=True),
                            args=_str_list(item, "args", where),
                            env=_str_list(item, "env", where),
                            timeout=_int(item, "timeout", where)))
        return out

    return Hooks(create_runtime=hooks("createRuntime"), create_container=hooks("createContainer"),
                 start_container=hooks("startContainer"), prestart=hooks("prestart"),
                 poststart=hooks("poststart"), poststop=hooks("poststop"))


def _linux(d: dict) -> Linux:
    namespaces = []
    for i, ns in enumerate(_list(d, "namespaces", "linux")):
        where = f"linux.namespaces[{i}]"
        ns = _obj(ns, where)
        namespaces.append(Namespace(type=_str(ns, "type", where, required=True),
                                    path=_str(ns, "path", where) or None))
    devices = []
    for i, dev in enumerate(_list(d, "devices", "linux")):
        where = f"linux.devices[{i}]"
        dev = _obj(dev, where)
        devices.append(Device(path=_str(dev, "path", where, required=True),
                              type=_str(dev, "type", where, required=True),
                              major=_int(dev, "major", where, default=0),
                              minor=_int(dev, "minor", where, default=0),
                              file_mode=_int(dev, "fileMode", where),
                              uid=_int(dev, "uid", where), gid=_int(dev, "gid", where)))
    resources = _resources(_obj(d["resources"], "linux.resources")) if d.get("resources") else None
    return Linux(namespaces=namespaces,
                 uid_mappings=_idmaps(d, "uidMappings"), gid_mappings=_idmaps(d, "gidMappings"),
                 resources=resources,
                 cgroups_path=_str(d, "cgroupsPath", "linux"),
                 devices=devices,
                 masked_paths=_str_list(d, "maskedPaths", "linux"),
                 readonly_paths=_str_list(d, "readonlyPaths", "linux"),
                 sysctl=_str_map(d, "sysctl", "linux"),
                 rootfs_propagation=_str(d, "rootfsPropagation", "linux") or None)


def _idmaps(d: dict, key: str) -> list[IDMapping]:
    out = []
    for i, m in enumerate(_list(d, key, "linux")):
        where = f"linux.{key}[{i}]"
        m = _obj(m, where)
        out.append(IDMapping(container_id=_int(m, "containerID", where, required=True),
                             host_id=_int(m, "hostID", where, required=True),
                             size=_int(m, "size", where, required=True)))
    return out


def _resources(r: dict) -> Resources:
    w = "linux.resources"
    mem = _obj(r.get("memory", {}), f"{w}.memory")
    cpu = _obj(r.get("cpu", {}), f"{w}.cpu")
    pids = _obj(r.get("pids", {}), f"{w}.pids")
    devices = []
    for i, dev in enumerate(_list(r, "devices", w)):
        where = f"{w}.devices[{i}]"
        dev = _obj(dev, where)
        devices.append(DeviceCgroup(allow=_bool(dev, "allow", where, required=True),
                                    type=_str(dev, "type", where),
                                    major=_int(dev, "major", where),
                                    minor=_int(dev, "minor", where),
                                    access=_str(dev, "access", where)))
    return Resources(
        memory_limit=_int(mem, "limit", f"{w}.memory"),
        memory_reservation=_int(mem, "reservation", f"{w}.memory"),
        memory_swap=_int(mem, "swap", f"{w}.memory"),
        cpu_shares=_int(cpu, "shares", f"{w}.cpu"),
        cpu_quota=_int(cpu, "quota", f"{w}.cpu"),
        cpu_period=_int(cpu, "period", f"{w}.cpu"),
        cpu_cpus=_str(cpu, "cpus", f"{w}.cpu") or None,
        cpu_mems=_str(cpu, "mems", f"{w}.cpu") or None,
        pids_limit=_int(pids, "limit", f"{w}.pids"),
        devices=devices,
    )


# --- shape checks: each names the JSON path of the offending value ---------------------

def _where(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def _fail(where: str, expected: str, value: object) -> ConfigError:
    shown = fastjson.dumps(value)
    shown = shown if len(shown) < 40 else type(value).__name__
    return ConfigError(f"config.json: {where}: expected {expected}, got {shown}")


def _obj(value: object, where: str) -> dict:
    if not isinstance(value, dict):
        raise _fail(where, "an object", value)
    return value


def _list(d: dict, key: str, where: str) -> list:
    value = d.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise _fail(_where(where, key), "a list", value)
    return value


def _str(d: dict, key: str, where: str, default: str | None = None,
         required: bool = False) -> str | None:
    value = d.get(key)
    if value is None:
        if required:
            raise ConfigError(f"config.json: {_where(where, key)}: missing")
        return default
    if not isinstance(value, str):
        raise _fail(_where(where, key), "a string", value)
    return value


def _int(d: dict, key: str, where: str, default: int | None = None,
         required: bool = False) -> int | None:
    value = d.get(key)
    if value is None:
        if required:
            raise ConfigError(f"config.json: {_where(where, key)}: missing")
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        raise _fail(_where(where, key), "an integer", value)
    return value


def _bool(d: dict, key: str, where: str, required: bool = False) -> bool:
    value = d.get(key)
    if value is None:
        if required:
            raise ConfigError(f"config.json: {_where(where, key)}: missing")
        return False
    if not isinstance(value, bool):
        raise _fail(_where(where, key), "true or false", value)
    return value


def _str_list(d: dict, key: str, where: str) -> list[str]:
    items = _list(d, key, where)
    for i, item in enumerate(items):
        if not isinstance(item, str):
            raise _fail(f"{_where(where, key)}[{i}]", "a string", item)
    return list(items)


def _int_list(d: dict, key: str, where: str) -> list[int]:
    items = _list(d, key, where)
    for i, item in enumerate(items):
        if isinstance(item, bool) or not isinstance(item, int):
            raise _fail(f"{_where(where, key)}[{i}]", "an integer", item)
    return list(items)


def _str_map(d: dict, key: str, where: str) -> dict[str, str]:
    value = d.get(key)
    if value is None:
        return {}
    value = _obj(value, _where(where, key))
    for k, v in value.items():
        if not isinstance(v, str):
            raise _fail(f"{_where(where, key)}.{k}", "a string", v)
    return dict(value)

"""`superctl create`: from files, or the generators kubectl has for common objects.

    superctl create -f app.yaml [--save-config]
    superctl create namespace team
    superctl create deployment web --image=nginx [--replicas=3] [--port=80] [-- cmd args]
    superctl create configmap cfg --from-literal=k=v --from-file=[key=]path --from-env-file=f
    superctl create secret generic creds --from-literal=password=s3cret [--type=Opaque]

`--dry-run=client -o yaml` prints what would be sent, byte for byte what kubectl
prints for the same command (so generated manifests can be compared or committed).
"""

from __future__ import annotations

import base64
import os
import re

from supernetes.controlplane.client import ApiError

from .context import CtlError, Ctx
from .errors import format_error
from .flags import add_dry_run, dry_run_suffix
from .targets import load_files

LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


def register(sub, parent) -> None:
    p = sub.add_parser("create", parents=[parent], help="Create a resource from a file or stdin",
                       description="Create a resource from a file, stdin or a generator.")
    p.add_argument("-f", "--filename", action="append", default=[])
    p.add_argument("-R", "--recursive", action="store_true")
    p.add_argument("--save-config", action="store_true",
                   help="record the configuration for later `apply`")
    _common(p)
    p.set_defaults(func=from_files)
    gens = p.add_subparsers(dest="generator", metavar="KIND")
    ns = gens.add_parser("namespace", aliases=["ns"], parents=[parent], help="a namespace")
    ns.add_argument("name")
    _common(ns)
    ns.set_defaults(func=generated, build=_namespace)
    dep = gens.add_parser("deployment", aliases=["deploy"], parents=[parent], help="a deployment")
    dep.add_argument("name")
    dep.add_argument("--image", action="append", required=True, help="container image (repeat)")
    dep.add_argument("-r", "--replicas", type=int, default=1)
    dep.add_argument("--port", type=int, default=-1, help="the first container's port")
    dep.add_argument("command", nargs="*", help="command for the container (after --)")
    _common(dep)
    dep.set_defaults(func=generated, build=_deployment)
    cm = gens.add_parser("configmap", aliases=["cm"], parents=[parent], help="a config map")
    cm.add_argument("name")
    _data_flags(cm)
    _common(cm)
    cm.set_defaults(func=generated, build=_configmap)
    secret = gens.add_parser("secret", parents=[parent], help="a secret")
    ssub = secret.add_subparsers(dest="secret_type", metavar="TYPE", required=True)
    generic = ssub.add_parser("generic", parents=[parent], help="a secret from literals/files")
    generic.add_argument("name")
    generic.add_argument("--type", dest="secret_kind", help="the secret's type")
    _data_flags(generic)
    _common(generic)
    generic.set_defaults(func=generated, build=_secret)


def _common(p) -> None:
    p.add_argument("-o", "--output", help="json|yaml|name|jsonpath=...")
    add_dry_run(p)


def _data_flags(p) -> None:
    p.add_argument("--from-literal", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--from-file", action="append", default=[], metavar="[KEY=]PATH")
    p.add_argument("--from-env-file", action="append", default=[], metavar="PATH")


def _meta(name: str) -> dict:
    return {"creationTimestamp": None, "name": name}


def _namespace(a) -> dict:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": _meta(a.name), "spec": {},
            "status": {}}


def _container_name(image: str, taken: set) -> str:
    base = image.rsplit("/", 1)[-1].split("@", 1)[0].split(":", 1)[0]
    name = re.sub(r"[^a-z0-9-]", "-", base.lower()).strip("-") or "container"
    while name in taken:
        name = f"{name}-{os.urandom(3).hex()[:5]}"
    taken.add(name)
    return name


def _deployment(a) -> dict:
    labels = {"app": a.name}
    containers, taken = [], set()
    for i, image in enumerate(a.image):
        container: dict = {"image": image, "name": _container_name(image, taken),
                           "resources": {}}
        if i == 0 and a.command:
            container["command"] = list(a.command)
        if i == 0 and a.port >= 0:
            container["ports"] = [{"containerPort": a.port}]
        containers.append(container)
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {**_meta(a.name), "labels": labels},
            "spec": {"replicas": a.replicas, "selector": {"matchLabels": labels},
                     "strategy": {},
                     "template": {"metadata": {"creationTimestamp": None, "labels": labels},
                                  "spec": {"containers": containers}}},
            "status": {}}


def _collect_data(a) -> dict[str, bytes]:
    if a.from_env_file and (a.from_file or a.from_literal):
        raise CtlError("from-env-file cannot be combined with from-file or from-literal")
    data: dict[str, bytes] = {}

    def put(key: str, value: bytes) -> None:
        if key in data:
            raise CtlError(f'cannot add key "{key}", another key by that name already exists')
        data[key] = value

    for literal in a.from_literal:
        key, sep, value = literal.partition("=")
        if not sep or not key:
            raise CtlError(f'invalid literal source {literal}, expected key=value')
        put(key, value.encode())
    for source in a.from_file:
        key, sep, path = source.partition("=")
        if not sep:
            key, path = os.path.basename(source), source
        if os.path.isdir(path):
            for name in sorted(os.listdir(path)):
                full = os.path.join(path, name)
                if os.path.isfile(full):
                    put(name, _read_bytes(full))
        else:
            put(key, _read_bytes(path))
    for path in a.from_env_file:
        for number, line in enumerate(_read_bytes(path).decode().splitlines(), 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            key, sep, value = line.partition("=")
            if not sep:
                value = os.environ.get(key, "")
            if not key:
                raise CtlError(f"{path}:{number}: invalid line {line!r}")
            data[key] = value.encode()
    return data


def _read_bytes(path: str) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as exc:
        raise CtlError(f"error reading {path}: {exc.strerror}") from exc


def _configmap(a) -> dict:
    data, binary = {}, {}
    for key, value in _collect_data(a).items():
        try:
            data[key] = value.decode("utf-8")
        except UnicodeDecodeError:
            binary[key] = base64.b64encode(value).decode()
    obj: dict = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": _meta(a.name)}
    if binary:
        obj["binaryData"] = binary
    if data:
        obj["data"] = data
    return obj


def _secret(a) -> dict:
    data = {k: base64.b64encode(v).decode() for k, v in _collect_data(a).items()}
    obj: dict = {"apiVersion": "v1", "kind": "Secret", "metadata": _meta(a.name)}
    if data:
        obj["data"] = data
    if a.secret_kind:
        obj["type"] = a.secret_kind
    return obj


def generated(ctx: Ctx) -> int:
    a = ctx.args
    obj = a.build(a)
    if ctx.namespace_explicit and obj["kind"] != "Namespace":
        obj["metadata"]["namespace"] = ctx.namespace     # as kubectl does with -n
    return 0 if _create(ctx, obj, "") else 1


def from_files(ctx: Ctx) -> int:
    a = ctx.args
    if not a.filename:
        raise CtlError("must specify one of -f and -k, or a generator such as "
                       "`superctl create deployment`")
    failures = 0
    for manifest in load_files(ctx, a.filename, a.recursive):
        obj = manifest.obj
        if a.save_config:
            from .apply import with_last_applied
            obj = with_last_applied(obj)
        if not _create(ctx, obj, manifest.source):
            failures += 1
    return 1 if failures else 0


def _create(ctx: Ctx, obj: dict, source: str) -> bool:
    a = ctx.args
    info = ctx.resolve_kind(obj)
    namespace = ctx.namespace if info.namespaced else None
    obj_ns = (obj.get("metadata") or {}).get("namespace")
    if info.namespaced and obj_ns and ctx.namespace_explicit and obj_ns != ctx.namespace:
        raise CtlError(f'the namespace from the provided object "{obj_ns}" does not match the '
                       f'namespace "{ctx.namespace}". You must pass \'--namespace={obj_ns}\' to '
                       "perform this operation.")
    if a.dry_run == "client":
        result = obj
    else:
        try:
            result = ctx.client.resource_for(info).create(obj, obj_ns or namespace,
                                                          dry_run=a.dry_run == "server")
        except ApiError as exc:
            ctx.warn(format_error(exc))
            return False
    if a.output:
        from .get import print_objects
        print_objects(ctx, [(info, result)], a.output, single=True)
    else:
        name = (result.get("metadata") or {}).get("name", "")
        ctx.print(f"{info.kind_name}/{name} created{dry_run_suffix(a.dry_run)}")
    return True

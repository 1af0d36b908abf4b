"""`superctl apply -f`: make the server's objects match files, as client-side kubectl apply.

For each object in the files (a file, a directory, `-` for stdin; multi-document
YAML and Lists are unpacked):
  * it is stamped with `kubectl.kubernetes.io/last-applied-configuration`: its own
    JSON as kubectl writes it (keys sorted, `"annotations":{}` kept, trailing newline),
    so kubectl and superctl can take turns applying the same object;
  * absent on the server: created                      -> `deployment.apps/web created`
  * present: a three-way patch (`threeway`) from the last applied configuration,
    this one and the server's object; strategic merge for the built-in types, JSON
    merge patch for others; empty -> `unchanged`, else sent -> `configured`. A 409
    (someone wrote in between) is retried on the fresh object, as kubectl does.
`--server-side` sends the object as an apply patch instead and lets the server merge.
"""

from __future__ import annotations

import copy
import json

from supernetes.controlplane.api import registry
from supernetes.controlplane.client import ApiError, Conflict, NotFound

from . import printers
from .context import CtlError, Ctx
from .errors import format_error
from .flags import add_dry_run, dry_run_suffix
from .targets import load_files
from .threeway import three_way

LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
RETRIES = 5


def register(sub, parent) -> None:
    p = sub.add_parser("apply", parents=[parent], help="Apply a configuration by file or stdin",
                       description="Apply a configuration to resources by file name or stdin. "
                                   "The resource is created if it does not exist yet.")
    p.add_argument("-f", "--filename", action="append", default=[], required=True,
                   help="file, directory, or - for stdin (repeatable)")
    p.add_argument("-R", "--recursive", action="store_true")
    p.add_argument("-o", "--output", help="json|yaml|name|jsonpath=...")
    p.add_argument("--server-side", action="store_true",
                   help="let the server merge (server-side apply)")
    p.add_argument("--force-conflicts", action="store_true",
                   help="server-side: take over fields other managers own")
    p.add_argument("--field-manager", default="kubectl-client-side-apply",
                   help="the name that owns the fields this apply sets")
    add_dry_run(p)
    p.set_defaults(func=run)


def go_json(obj) -> str:
    """JSON as Go's encoder writes an unstructured object: sorted, compact, HTML-safe."""
    text = json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    for char, escape in (("&", "\\u0026"), ("<", "\\u003c"), (">", "\\u003e")):
        text = text.replace(char, escape)
    return text + "\n"


def with_last_applied(obj: dict, namespace: str | None = None) -> dict:
    """A copy of `obj` carrying its own configuration in the last-applied annotation."""
    out = copy.deepcopy(obj)
    meta = out.setdefault("metadata", {})
    if namespace and not meta.get("namespace"):
        meta["namespace"] = namespace
    annotations = dict(meta.get("annotations") or {})
    annotations.pop(LAST_APPLIED, None)
    meta["annotations"] = annotations
    config = go_json(out)
    annotations[LAST_APPLIED] = config
    return out


def run(ctx: Ctx) -> int:
    a = ctx.args
    failures = 0
    for manifest in load_files(ctx, a.filename, a.recursive):
        try:
            result, verb, info = apply_one(ctx, manifest.obj)
        except ApiError as exc:
            ctx.warn(format_error(exc))
            failures += 1
            continue
        if a.output:
            from .get import print_objects
            print_objects(ctx, [(info, result)], a.output, single=True)
        else:
            name = (result.get("metadata") or {}).get("name", "")
            ctx.print(f"{info.kind_name}/{name} {verb}{dry_run_suffix(a.dry_run)}")
        ctx.out.flush()
    return 1 if failures else 0


def apply_one(ctx: Ctx, obj: dict):
    a = ctx.args
    info = ctx.resolve_kind(obj)
    meta = obj.get("metadata") or {}
    name = meta.get("name")
    if not name:
        raise CtlError("error when retrieving current configuration: resource name may not be "
                       "empty")
    namespace = None
    if info.namespaced:
        obj_ns = meta.get("namespace")
        if obj_ns and ctx.namespace_explicit and obj_ns != ctx.namespace:
            raise CtlError(f'the namespace from the provided object "{obj_ns}" does not match '
                           f'the namespace "{ctx.namespace}". You must pass '
                           f"'--namespace={obj_ns}' to perform this operation.")
        namespace = obj_ns or ctx.namespace
    resource = ctx.client.resource_for(info)
    server_dry = a.dry_run == "server"
    if a.server_side:
        result = resource.patch(name, obj, namespace, patch_type="apply",
                                field_manager=a.field_manager if a.field_manager !=
                                "kubectl-client-side-apply" else "superctl",
                                force=a.force_conflicts or None, dry_run=server_dry)
        return result, "serverside-applied", info
    modified = with_last_applied(obj, namespace)
    rt = registry.by_kind(info.api_version, info.kind)
    schema = rt.schema if rt is not None else None
    for attempt in range(RETRIES):
        try:
            current = resource.get(name, namespace)
        except NotFound:
            if a.dry_run == "client":
                return modified, "created", info
            return resource.create(modified, namespace, dry_run=server_dry), "created", info
        annotation = ((current.get("metadata") or {}).get("annotations") or {}).get(LAST_APPLIED)
        if annotation is None:
            ctx.warn(f"Warning: resource {info.qualified}/{name} is missing the {LAST_APPLIED} "
                     "annotation which is required by superctl apply. superctl apply should only "
                     "be used on resources created declaratively by either superctl create "
                     "--save-config or superctl apply. The missing annotation will be patched "
                     "automatically.")
        original = _parse(annotation)
        patch = three_way(original, modified, current, schema)
        if not patch:
            return current, "unchanged", info
        if a.dry_run == "client":
            return current, "configured", info
        try:
            result = resource.patch(name, patch, namespace,
                                    patch_type="strategic" if schema is not None else "merge",
                                    dry_run=server_dry)
            return result, "configured", info
        except Conflict:
            if attempt == RETRIES - 1:
                raise
    raise CtlError("apply: gave up after repeated conflicts")  # pragma: no cover


def _parse(annotation: str | None) -> dict | None:
    if not annotation:
        return None
    try:
        value = json.loads(annotation)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


__all__ = ["LAST_APPLIED", "go_json", "printers", "register", "with_last_applied"]

"""`label` and `annotate`: change metadata with a merge patch, as kubectl does.

    superctl label pods web-0 tier=frontend            add (refused if it would overwrite)
    superctl label pods web-0 tier=backend --overwrite
    superctl label pods web-0 tier-                    remove
    superctl annotate deploy/web note='hello' --all / -l app=web / -f file
    superctl label pods web-0 --list                   show them

Keys and values are checked here (kubectl's wording) before anything is sent.
"""

from __future__ import annotations

import re

from supernetes.controlplane.client import NotFound

from .context import CtlError, Ctx
from .errors import format_error
from .targets import Target, from_args, load_files

_NAME = r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?"
_PREFIX = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*"
LABEL_KEY = re.compile(rf"^({_PREFIX}/)?{_NAME}$")
LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")


def register(sub, parent) -> None:
    for verb, what in (("label", "labels"), ("annotate", "annotations")):
        p = sub.add_parser(verb, parents=[parent], help=f"Update the {what} on a resource",
                           description=f"Update the {what} on one or more resources.")
        p.add_argument("args", nargs="*", metavar="TYPE NAME KEY=VAL ... KEY-")
        p.add_argument("--overwrite", action="store_true", help="allow replacing existing values")
        p.add_argument("--all", action="store_true", help="every object of the type")
        p.add_argument("-l", "--selector", help="objects matching this label selector")
        p.add_argument("-A", "--all-namespaces", action="store_true")
        p.add_argument("-f", "--filename", action="append", default=[])
        p.add_argument("--list", action="store_true", help=f"print the {what}")
        p.add_argument("--resource-version", help="only if the object is still at this version")
        p.add_argument("-o", "--output", help="print the changed objects: json|yaml|name")
        p.add_argument("--dry-run", choices=["none", "client", "server"], default="none")
        p.set_defaults(func=run, field=what)


def _split(words: list[str]) -> tuple[list[str], dict[str, str], list[str]]:
    resources, changes, removals = [], {}, []
    for word in words:
        if "=" in word:
            key, _, value = word.partition("=")
            changes[key] = value
        elif word.endswith("-") and len(word) > 1 and "/" not in word[-2:]:
            removals.append(word[:-1])
        else:
            resources.append(word)
    return resources, changes, removals


def run(ctx: Ctx) -> int:
    a = ctx.args
    verb = "label" if a.field == "labels" else "annotate"
    resources, changes, removals = _split(a.args)
    if not a.list and not changes and not removals:
        raise CtlError(f"at least one {a.field[:-1]} update is required")
    for key in changes.keys() | set(removals):
        if a.field == "labels" and not LABEL_KEY.match(key):
            raise CtlError(f'invalid label spec: {key}: name part must consist of alphanumeric '
                           "characters, '-', '_' or '.', and must start and end with an "
                           "alphanumeric character")
    if a.field == "labels":
        for key, value in changes.items():
            if len(value) > 63 or not LABEL_VALUE.match(value):
                raise CtlError(f'invalid label value: "{key}={value}": a valid label must be an '
                               "empty string or consist of alphanumeric characters, '-', '_' "
                               "or '.', and must start and end with an alphanumeric character")
    objects = _objects(ctx, resources)
    failures = 0
    for info, obj in objects:
        meta = obj.get("metadata") or {}
        current = meta.get(a.field) or {}
        if a.list:
            for key, value in sorted(current.items()):
                ctx.print(f"{key}={value}")
            continue
        for key, value in changes.items():
            if key in current and current[key] != value and not a.overwrite:
                raise CtlError(f"'{key}' already has a value ({current[key]}), and "
                               "--overwrite is false")
        patch_meta: dict = {a.field: {**{k: v for k, v in changes.items()},
                                      **{k: None for k in removals}}}
        if a.resource_version:
            patch_meta["resourceVersion"] = a.resource_version
        updated = {**current, **changes}
        for key in removals:
            updated.pop(key, None)
        resource = ctx.client.resource_for(info)
        try:
            result = resource.patch(meta["name"], {"metadata": patch_meta},
                                    meta.get("namespace"), patch_type="merge",
                                    dry_run=a.dry_run == "server") \
                if a.dry_run != "client" else obj
        except NotFound as exc:
            ctx.warn(format_error(exc))
            failures += 1
            continue
        if a.output:
            from .get import print_objects
            print_objects(ctx, [(info, result)], a.output, single=True)
            continue
        suffix = {"client": " (dry run)", "server": " (server dry run)"}.get(a.dry_run, "")
        ctx.print(f"{info.kind_name}/{meta['name']} {_verb_done(verb, current, updated, a)}"
                  f"{suffix}")
    return 1 if failures else 0


def _verb_done(verb: str, before: dict, after: dict, a) -> str:
    if verb == "annotate":
        return "annotated"
    if before == after:
        return "not labeled"
    if not a.overwrite and len(after) < len(before):
        return "unlabeled"
    return "labeled"


def _objects(ctx: Ctx, resources: list[str]) -> list:
    a = ctx.args
    namespace = None if a.all_namespaces else ctx.namespace
    out = []
    if a.filename:
        for manifest in load_files(ctx, a.filename):
            info = ctx.client.mapper.for_kind(manifest.obj["apiVersion"], manifest.obj["kind"])
            meta = manifest.obj.get("metadata") or {}
            out.append((info, ctx.client.resource_for(info).get(
                meta["name"], meta.get("namespace") or ctx.namespace)))
        return out
    targets: list[Target] = from_args(ctx, resources, verb="label")
    for target in targets:
        resource = ctx.client.resource_for(target.info)
        if target.names:
            if a.all or a.selector:
                raise CtlError("cannot set --all or --selector and name at the same time")
            out.extend((target.info, resource.get(n, ctx.namespace)) for n in target.names)
        elif a.all or a.selector:
            result = resource.list(namespace, label_selector=a.selector)
            out.extend((target.info, item) for item in result.get("items") or [])
        else:
            raise CtlError("resource(s) were provided, but no name was specified")
    return out

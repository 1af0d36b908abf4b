"""`superctl delete`: by name, by file, by selector or all of a type; waits like kubectl.

    superctl delete pod web-0                 graceful (the pod's own grace period)
    superctl delete -f app.yaml
    superctl delete pods -l app=web --grace-period=5
    superctl delete pods --all --wait=false
    superctl delete pod web-0 --force --grace-period=0
    superctl delete deploy web --cascade=orphan

By default it waits (`--wait`, up to `--timeout`) until each object is really
gone: a terminating pod or an object with finalizers is not deleted yet. The
wait is a watch on the object's name, so it ends the moment the server says so,
and it checks the uid, so a new object of the same name does not fool it.
"""

from __future__ import annotations

import time

from supernetes.controlplane.client import ApiError, ConnectionFailed, NotFound
from supernetes.controlplane.client.watch import DELETED

from .context import CtlError, Ctx
from .errors import format_error
from .flags import add_bool, add_dry_run, dry_run_suffix, duration
from .targets import from_args, load_files

CASCADE = {"background": "Background", "foreground": "Foreground", "orphan": "Orphan",
           "true": "Background", "false": "Orphan"}


def register(sub, parent) -> None:
    p = sub.add_parser("delete", parents=[parent], help="Delete resources",
                       description="Delete resources by file names, stdin, resources and "
                                   "names, or by resources and label selector.")
    p.add_argument("resources", nargs="*", metavar="TYPE NAME | TYPE/NAME")
    p.add_argument("-f", "--filename", action="append", default=[])
    p.add_argument("-R", "--recursive", action="store_true")
    p.add_argument("-l", "--selector")
    p.add_argument("--field-selector")
    p.add_argument("--all", action="store_true", help="every object of the type")
    p.add_argument("-A", "--all-namespaces", action="store_true")
    p.add_argument("--grace-period", type=int, default=-1,
                   help="seconds to let the object terminate (-1: its own default)")
    p.add_argument("--now", action="store_true", help="grace period of 1 second")
    p.add_argument("--force", action="store_true", help="delete at once (with --grace-period=0)")
    p.add_argument("--cascade", default="background",
                   choices=sorted(CASCADE), help="what happens to dependents")
    add_bool(p, "--wait", True, "wait until the objects are gone")
    p.add_argument("--timeout", type=duration("--timeout"), default=0.0,
                   help="how long to wait (0: a week, as kubectl)")
    p.add_argument("--ignore-not-found", action="store_true")
    p.add_argument("-o", "--output", help="name: print only the names")
    add_dry_run(p)
    p.set_defaults(func=run)


def _collect(ctx: Ctx) -> list:
    """(info, name, namespace) for everything to delete."""
    a = ctx.args
    if a.filename:
        out = []
        for manifest in load_files(ctx, a.filename, a.recursive):
            info = ctx.client.mapper.for_kind(manifest.obj["apiVersion"], manifest.obj["kind"])
            meta = manifest.obj.get("metadata") or {}
            ns = (meta.get("namespace") or ctx.namespace) if info.namespaced else None
            out.append((info, meta.get("name"), ns))
        return out
    out = []
    namespace = None if a.all_namespaces else ctx.namespace
    for target in from_args(ctx, a.resources, verb="delete"):
        if target.names:
            if a.all or a.selector:
                raise CtlError("name cannot be provided when a selector or --all is specified")
            out.extend((target.info, name, ctx.namespace if target.info.namespaced else None)
                       for name in target.names)
            continue
        if not (a.all or a.selector or a.field_selector):
            raise CtlError("resource(s) were provided, but no name was specified")
        listing = ctx.client.resource_for(target.info).list(
            namespace, label_selector=a.selector, field_selector=a.field_selector)
        for item in listing.get("items") or []:
            meta = item["metadata"]
            out.append((target.info, meta["name"], meta.get("namespace")))
    return out


def run(ctx: Ctx) -> int:
    a = ctx.args
    grace = a.grace_period
    if a.now:
        grace = 1
    if a.force:
        grace = 0 if grace < 0 else grace
        ctx.warn("Warning: Immediate deletion does not wait for confirmation that the running "
                 "resource has been terminated. The resource may continue to run on the "
                 "cluster indefinitely.")
    elif grace == 0:
        grace = 1       # kubectl: --grace-period=0 without --force means "as fast as safe"
    targets = _collect(ctx)
    if not targets:
        ctx.warn("No resources found")
        return 0
    failures, waiting = 0, []
    for info, name, namespace in targets:
        resource = ctx.client.resource_for(info)
        try:
            if a.dry_run == "client":
                result = {}
            else:
                result = resource.delete(name, namespace,
                                         grace_period_seconds=grace if grace >= 0 else None,
                                         propagation_policy=CASCADE[a.cascade],
                                         dry_run=a.dry_run == "server")
        except NotFound as exc:
            if not a.ignore_not_found:
                ctx.warn(format_error(exc))
                failures += 1
            continue
        if a.output == "name":
            ctx.print(f"{info.kind_name}/{name}")
        else:
            ctx.print(f'{info.kind_name} "{name}" deleted{dry_run_suffix(a.dry_run)}')
        ctx.out.flush()
        uid = (result.get("metadata") or {}).get("uid") if result.get("kind") != "Status" \
            else (result.get("details") or {}).get("uid")
        waiting.append((info, name, namespace, uid))
    if a.wait and a.dry_run == "none" and waiting:
        timeout = a.timeout or 7 * 24 * 3600
        deadline = time.monotonic() + timeout
        for info, name, namespace, uid in waiting:
            if not wait_deleted(ctx, info, name, namespace, uid, deadline):
                raise CtlError(f'timed out waiting for the condition on {info.plural}/{name}')
    return 1 if failures else 0


def wait_deleted(ctx: Ctx, info, name: str, namespace: str | None, uid: str | None,
                 deadline: float) -> bool:
    """True once the object (this uid) is gone; False at the deadline."""
    resource = ctx.client.resource_for(info)
    while time.monotonic() < deadline:
        try:
            current = resource.get(name, namespace)
        except NotFound:
            return True
        if uid and current["metadata"].get("uid") != uid:
            return True
        left = max(1, int(deadline - time.monotonic()))
        try:
            with resource.watch(namespace, name=name, timeout_seconds=min(left, 60),
                                resource_version=current["metadata"]["resourceVersion"]) as watch:
                for event in watch:
                    if event.type == DELETED:
                        return True
        except (ConnectionFailed, ApiError):
            time.sleep(0.5)         # the watch broke or is not served: poll instead
    return False

"""`superctl scale`: set replicas through the scale subresource, as kubectl does.

    superctl scale deployment/web --replicas=5
    superctl scale --replicas=3 --current-replicas=2 rs web-7d9f
    superctl scale --replicas=0 deploy -l app=web
"""

from __future__ import annotations

from .context import CtlError, Ctx
from .flags import add_dry_run, dry_run_suffix
from .targets import from_args, load_files


def register(sub, parent) -> None:
    p = sub.add_parser("scale", parents=[parent], help="Set a new size for a resource",
                       description="Set a new size for a deployment, replica set or job.")
    p.add_argument("resources", nargs="*", metavar="TYPE NAME | TYPE/NAME")
    p.add_argument("--replicas", type=int, required=True, help="the new number of replicas")
    p.add_argument("--current-replicas", type=int, default=-1,
                   help="only scale if the current size is this")
    p.add_argument("--resource-version", help="only scale if the object is at this version")
    p.add_argument("-l", "--selector")
    p.add_argument("--all", action="store_true")
    p.add_argument("-f", "--filename", action="append", default=[])
    p.add_argument("-o", "--output", help="name: print only the names")
    add_dry_run(p)
    p.set_defaults(func=run)


def run(ctx: Ctx) -> int:
    a = ctx.args
    if a.replicas < 0:
        raise CtlError("The --replicas=COUNT flag is required, and COUNT must be greater than "
                       "or equal to 0")
    pairs = []
    if a.filename:
        for manifest in load_files(ctx, a.filename):
            info = ctx.client.mapper.for_kind(manifest.obj["apiVersion"], manifest.obj["kind"])
            pairs.append((info, manifest.obj["metadata"]["name"]))
    else:
        for target in from_args(ctx, a.resources, verb="scale"):
            if target.names:
                pairs.extend((target.info, name) for name in target.names)
            elif a.all or a.selector:
                items = ctx.client.resource_for(target.info).list(
                    ctx.namespace, label_selector=a.selector).get("items") or []
                pairs.extend((target.info, item["metadata"]["name"]) for item in items)
            else:
                raise CtlError("resource(s) were provided, but no name was specified")
    if not pairs:
        raise CtlError("no objects passed to scale")
    for info, name in pairs:
        if "scale" not in info.subresources and info.subresources:
            raise CtlError(f'{info.qualified} "{name}" cannot be scaled: it has no scale '
                           "subresource")
        resource = ctx.client.resource_for(info)
        if a.current_replicas >= 0:
            current = resource.get(name, ctx.namespace, subresource="scale")
            replicas = (current.get("spec") or {}).get("replicas", 0)
            if replicas != a.current_replicas:
                raise CtlError(f"Expected replicas to be {a.current_replicas}, was {replicas}")
        if a.dry_run != "client":
            patch: dict = {"spec": {"replicas": a.replicas}}
            if a.resource_version:
                patch["metadata"] = {"resourceVersion": a.resource_version}
            resource.patch(name, patch, ctx.namespace, patch_type="merge", subresource="scale",
                           dry_run=a.dry_run == "server")
        if a.output == "name":
            ctx.print(f"{info.kind_name}/{name}")
        else:
            ctx.print(f"{info.kind_name}/{name} scaled{dry_run_suffix(a.dry_run)}")
    return 0

"""`superctl describe`: a readable account of objects, with their recent events.

kubectl describes on the client: it fetches the object and the events whose
`involvedObject` is that object, and prints them with tabwriter alignment. Pods,
Deployments, ReplicaSets and Nodes get their own layouts (`describers`); every
other kind the generic one kubectl uses for unknown types (keys in Title Case,
nested sections indented).
"""

from __future__ import annotations

from supernetes.controlplane.api import tables
from supernetes.controlplane.client import NotFound

from . import describers, tabwriter
from .context import CtlError, Ctx
from .errors import format_error
from .targets import from_args, load_files


def register(sub, parent) -> None:
    p = sub.add_parser("describe", parents=[parent], help="Show details of resources",
                       description="Show details of a specific resource or group of resources.")
    p.add_argument("resources", nargs="*", metavar="TYPE [NAME_PREFIX] | TYPE/NAME")
    p.add_argument("-l", "--selector")
    p.add_argument("-A", "--all-namespaces", action="store_true")
    p.add_argument("-f", "--filename", action="append", default=[])
    p.add_argument("--show-events", type=lambda s: s.lower() != "false", default=True,
                   help="include events (default true)")
    p.set_defaults(func=run)


def run(ctx: Ctx) -> int:
    a = ctx.args
    namespace = None if a.all_namespaces else ctx.namespace
    found, failures = [], 0
    if a.filename:
        for manifest in load_files(ctx, a.filename):
            info = ctx.resolve_kind(manifest.obj)
            meta = manifest.obj.get("metadata") or {}
            found.append((info, meta.get("name"), meta.get("namespace") or ctx.namespace, None))
    else:
        for target in from_args(ctx, a.resources, verb="describe"):
            resource = ctx.client.resource_for(target.info)
            if target.names and "/" in " ".join(a.resources):
                found.extend((target.info, n, ctx.namespace, None) for n in target.names)
                continue
            items = resource.list(namespace, label_selector=a.selector).get("items") or []
            if target.names:
                # kubectl describe TYPE NAME: an exact name, else every name with that prefix.
                for name in target.names:
                    exact = [i for i in items if i["metadata"]["name"] == name]
                    matches = exact or [i for i in items if i["metadata"]["name"].startswith(name)]
                    if not matches:
                        found.append((target.info, name, ctx.namespace, None))
                    found.extend((target.info, i["metadata"]["name"],
                                  i["metadata"].get("namespace"), i) for i in matches)
            else:
                found.extend((target.info, i["metadata"]["name"],
                              i["metadata"].get("namespace"), i) for i in items)
    if not found:
        ctx.warn(f"No resources found in {namespace} namespace." if namespace
                 else "No resources found")
        return 0
    first = True
    for info, name, ns, obj in found:
        resource = ctx.client.resource_for(info)
        try:
            obj = obj or resource.get(name, ns)
        except NotFound as exc:
            ctx.warn(format_error(exc))
            failures += 1
            continue
        obj.setdefault("kind", info.kind)
        obj.setdefault("apiVersion", info.api_version)
        if not first:
            ctx.print()
        first = False
        lines = describers.describe(ctx, info, obj)
        if a.show_events and obj.get("kind") not in describers.NO_EVENTS:
            lines += event_lines(ctx, obj)
        ctx.out.write(tabwriter.render(lines))
    return 1 if failures else 0


def related_events(ctx: Ctx, obj: dict) -> list[dict]:
    meta = obj.get("metadata") or {}
    try:
        listing = ctx.client.resource("v1", "Event").list(meta.get("namespace") or None)
    except (NotFound, CtlError):
        return []
    events = []
    for event in listing.get("items") or []:
        involved = event.get("involvedObject") or {}
        if involved.get("uid") and meta.get("uid"):
            if involved["uid"] != meta["uid"]:
                continue
        elif (involved.get("kind"), involved.get("name")) != (obj.get("kind"), meta.get("name")):
            continue
        events.append(event)
    events.sort(key=_event_time)
    return events


def _event_time(event: dict) -> str:
    series = event.get("series") or {}
    return (series.get("lastObservedTime") or event.get("lastTimestamp") or
            event.get("eventTime") or event["metadata"].get("creationTimestamp") or "")


def event_lines(ctx: Ctx, obj: dict) -> list[str]:
    events = related_events(ctx, obj)
    if not events:
        return ["Events:\t<none>"]
    lines = ["Events:", "  Type\tReason\tAge\tFrom\tMessage", "  ----\t------\t----\t----\t-------"]
    for event in events:
        first = event.get("firstTimestamp") or event.get("eventTime") or \
            event["metadata"].get("creationTimestamp")
        last = _event_time(event)
        count = (event.get("series") or {}).get("count") or event.get("count") or 1
        age = tables.since(last)
        if count > 1:
            age = f"{age} (x{count} over {tables.since(first)})"
        source = event.get("source") or {}
        origin = source.get("component") or event.get("reportingComponent") or \
            event.get("reportingController") or ""
        if source.get("host"):
            origin = f"{origin}, {source['host']}"
        message = " ".join((event.get("message") or "").split())
        lines.append(f"  {event.get('type', '')}\t{event.get('reason', '')}\t{age}\t{origin}\t"
                     f"{message}")
    return lines

"""`superctl events`: what happened, oldest first, as `kubectl events` prints it.

    superctl events [-A | -n NS] [--for pod/web-0] [--types Warning] [-w] [-o json|yaml]

Columns: LAST SEEN, TYPE, REASON, OBJECT (`Kind/name`), MESSAGE; a repeated event
shows `5m (x3 over 10m)`. `-w` keeps printing new ones as they come.
"""

from __future__ import annotations

from supernetes.controlplane.api import tables
from supernetes.controlplane.client.watch import BOOKMARK, DELETED

from . import printers
from .context import CtlError, Ctx
from .describe import _event_time


def register(sub, parent) -> None:
    p = sub.add_parser("events", parents=[parent], help="List events",
                       description="Display events, oldest first.")
    p.add_argument("-A", "--all-namespaces", action="store_true")
    p.add_argument("--for", dest="for_object", metavar="TYPE/NAME",
                   help="only the events of this object")
    p.add_argument("--types", help="only these types, e.g. Warning or Normal,Warning")
    p.add_argument("-w", "--watch", action="store_true", help="keep printing new events")
    p.add_argument("-o", "--output", choices=["json", "yaml"])
    p.add_argument("--no-headers", action="store_true")
    p.set_defaults(func=run)


def _filter(ctx: Ctx):
    a = ctx.args
    kind = name = None
    if a.for_object:
        type_name, _, name = a.for_object.partition("/")
        if not name:
            raise CtlError(f"--for must be in resource/name form: {a.for_object!r}")
        kind = ctx.resolve(type_name).kind
    types = {t.strip().lower() for t in a.types.split(",")} if a.types else None

    def keep(event: dict) -> bool:
        involved = event.get("involvedObject") or {}
        if kind and (involved.get("kind") != kind or involved.get("name") != name):
            return False
        return not types or (event.get("type") or "").lower() in types
    return keep


def row(event: dict, with_namespace: bool) -> list[str]:
    involved = event.get("involvedObject") or {}
    last = _event_time(event)
    count = (event.get("series") or {}).get("count") or event.get("count") or 1
    seen = tables.since(last)
    if count > 1:
        first = event.get("firstTimestamp") or event.get("eventTime") or last
        seen = f"{seen} (x{count} over {tables.since(first)})"
    cells = [seen, event.get("type", ""), event.get("reason", ""),
             f"{involved.get('kind', '')}/{involved.get('name', '')}",
             " ".join((event.get("message") or "").split())]
    if with_namespace:
        cells.insert(0, event["metadata"].get("namespace", ""))
    return cells


def run(ctx: Ctx) -> int:
    a = ctx.args
    namespace = None if a.all_namespaces else ctx.namespace
    keep = _filter(ctx)
    events_api = ctx.client.resource("v1", "Event")
    listing = events_api.list_all(namespace)
    events = sorted((e for e in listing.get("items") or [] if keep(e)), key=_event_time)
    if a.output:
        for e in events:
            e.setdefault("apiVersion", "v1")
            e.setdefault("kind", "Event")
        doc = printers.as_list(events)
        ctx.out.write(printers.to_json(doc) if a.output == "json" else printers.to_yaml(doc))
    elif events:
        head = ["LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]
        if a.all_namespaces:
            head.insert(0, "NAMESPACE")
        rows = ([] if a.no_headers else [head]) + [row(e, a.all_namespaces) for e in events]
        ctx.out.write(printers.layout(rows))
    elif not a.watch:
        ctx.warn("No events found in " + (f"{namespace} namespace." if namespace else
                                          "any namespace."))
    ctx.out.flush()
    if not a.watch:
        return 0
    version = (listing.get("metadata") or {}).get("resourceVersion")
    try:
        with events_api.watch(namespace, resource_version=version) as watch:
            for event in watch:
                if event.type in (BOOKMARK, DELETED) or not keep(event.object):
                    continue
                ctx.out.write(printers.layout([row(event.object, a.all_namespaces)]))
                ctx.out.flush()
    except KeyboardInterrupt:
        return 0
    return 0

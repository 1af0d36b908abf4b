"""`get -w`: after the table, one row per change, in the table's own columns.

The watch asks for Table events; a server that sends plain objects instead gets
them tabulated locally (`tabulate`). Rows are padded to the widths of the table
printed first, so the columns stay aligned as kubectl's mostly do. With
`-o json|yaml|name` each changed object is printed whole. Ctrl-C ends it quietly.
"""

from __future__ import annotations

from supernetes.controlplane.client.watch import BOOKMARK

from . import printers
from .context import Ctx
from .targets import Target


def watch_table(ctx: Ctx, target: Target, namespace: str | None) -> int:
    a = ctx.args
    resource = ctx.client.resource_for(target.info)
    name = target.names[0] if target.names else None
    output = a.output or ""
    table_mode = output in ("", "wide")
    listing = resource.list(namespace if not name else (namespace or ctx.namespace),
                            label_selector=a.selector, field_selector=a.field_selector, limit=1)
    version = (listing.get("metadata") or {}).get("resourceVersion")
    from .get import table_options
    opts = table_options(ctx, target, False)
    widths: list[int] = []
    headers_printed = not a.watch_only or a.no_headers
    try:
        with resource.watch(namespace if not name else (namespace or ctx.namespace),
                            resource_version=version, label_selector=a.selector,
                            field_selector=a.field_selector, name=name,
                            as_table=table_mode) as watch:
            for event in watch:
                if event.type == BOOKMARK:
                    continue
                if not table_mode:
                    _print_object(ctx, target, event.object, output)
                    continue
                table = event.object if event.object.get("kind") == "Table" else \
                    _local(target, event.object)
                rows = printers.table_rows(table, opts, headers=not headers_printed)
                headers_printed = True
                if a.output_watch_events:
                    rows = [["EVENT", *r] if i == 0 and len(rows) > 1 else [event.type, *r]
                            for i, r in enumerate(rows)]
                ctx.out.write(_aligned(rows, widths))
                ctx.out.flush()
    except KeyboardInterrupt:
        return 0
    return 0


def _local(target: Target, obj: dict) -> dict:
    from .tabulate import local_table
    return local_table(target.info, [obj])


def _aligned(rows: list[list[str]], widths: list[int]) -> str:
    for row in rows:
        for i, cell in enumerate(row[:-1]):
            if i >= len(widths):
                widths.append(0)
            widths[i] = max(widths[i], len(cell) + 3, 6)
    return "".join("".join(c.ljust(widths[i]) for i, c in enumerate(row[:-1])) +
                   (row[-1] if row else "") + "\n" for row in rows)


def _print_object(ctx: Ctx, target: Target, obj: dict, output: str) -> None:
    from .get import print_objects
    print_objects(ctx, [(target, obj)], output, single=True)
    ctx.out.flush()

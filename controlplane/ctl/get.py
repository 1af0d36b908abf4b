"""`superctl get`: the server renders the Table, we lay it out as kubectl does.

Tables are asked for with `Accept: application/json;as=Table;...`; `-o json|yaml|
name|jsonpath|custom-columns` ask for plain objects instead. Several kinds print
one table each, their names prefixed by kind (`pod/web`); a name that does not
exist is reported (`Error from server (NotFound): ...`) after the others are
printed, and the exit status is 1. `-w` prints the table, then a row per change.
"""

from __future__ import annotations

from supernetes.controlplane.client import ApiError, NotFound

from . import jsonpath, printers
from .context import CtlError, Ctx
from .errors import format_error
from .targets import Target, from_args, load_files

OBJECT_FORMATS = ("json", "yaml", "name")


def register(sub, parent) -> None:
    p = sub.add_parser("get", parents=[parent], help="Display one or many resources",
                       description="Display one or many resources.")
    p.add_argument("resources", nargs="*", metavar="TYPE[.VERSION][.GROUP] [NAME | -l label]")
    p.add_argument("-o", "--output", help="json|yaml|wide|name|jsonpath=...|custom-columns=...")
    p.add_argument("-l", "--selector", help="label selector (e.g. -l key1=value1,key2=value2)")
    p.add_argument("--field-selector", help="field selector (e.g. status.phase=Running)")
    p.add_argument("-A", "--all-namespaces", action="store_true",
                   help="list across all namespaces")
    p.add_argument("-w", "--watch", action="store_true", help="after listing, watch for changes")
    p.add_argument("--watch-only", action="store_true", help="watch for changes, list nothing")
    p.add_argument("--output-watch-events", action="store_true",
                   help="print the type of each watch event")
    p.add_argument("--no-headers", action="store_true", help="omit the column headers")
    p.add_argument("--show-labels", action="store_true", help="add a LABELS column")
    p.add_argument("-L", "--label-columns", action="append", default=[],
                   help="add a column with the value of this label (repeatable, or a,b)")
    p.add_argument("--sort-by", help="sort by a JSONPath expression (e.g. .metadata.name)")
    p.add_argument("--ignore-not-found", action="store_true",
                   help="print nothing for objects that do not exist")
    p.add_argument("-f", "--filename", action="append", default=[],
                   help="get the objects in these files")
    p.add_argument("-R", "--recursive", action="store_true", help="descend into directories")
    p.add_argument("--chunk-size", type=int, default=500, help="list in pages of this many")
    p.set_defaults(func=run)


def run(ctx: Ctx) -> int:
    a = ctx.args
    targets = _targets(ctx)
    output = a.output or ""
    namespace = None if a.all_namespaces else ctx.namespace
    if (a.watch or a.watch_only) and (len(targets) != 1 or len(targets[0].names) > 1):
        raise CtlError("you may only specify a single resource type and name to watch")
    failures: list[str] = []
    if output in ("", "wide"):
        printed = _print_tables(ctx, targets, namespace, failures)
    else:
        printed = _print_objects(ctx, targets, namespace, failures, output)
    for failure in failures:
        ctx.warn(failure)
    if not printed and not failures and not (a.watch or a.watch_only) and not output:
        ctx.warn(_no_resources(targets, namespace, a.all_namespaces))
    ctx.out.flush()
    if a.watch or a.watch_only:
        from .watching import watch_table
        return watch_table(ctx, targets[0], namespace)
    return 1 if failures else 0


def _targets(ctx: Ctx) -> list[Target]:
    a = ctx.args
    if a.filename:
        targets: list[Target] = []
        for manifest in load_files(ctx, a.filename, a.recursive):
            info = ctx.client.mapper.for_kind(manifest.obj["apiVersion"], manifest.obj["kind"])
            name = manifest.obj.get("metadata", {}).get("name")
            if targets and targets[-1].info == info:
                targets[-1].names.append(name)
            else:
                targets.append(Target(info, [name]))
        return targets
    if a.selector and any("/" in w for w in a.resources):
        raise CtlError("name cannot be provided when a selector is specified")
    return from_args(ctx, a.resources)


def _no_resources(targets, namespace, all_namespaces) -> str:
    if all_namespaces or not any(t.info.namespaced for t in targets):
        return "No resources found"
    return f"No resources found in {namespace} namespace."


def _label_columns(values: list[str]) -> list[str]:
    return [key for value in values for key in value.split(",") if key]


def table_options(ctx: Ctx, target: Target, several_kinds: bool) -> printers.TableOptions:
    a = ctx.args
    return printers.TableOptions(
        wide=a.output == "wide", no_headers=a.no_headers,
        with_namespace=bool(a.all_namespaces and target.info.namespaced),
        kind_prefix=target.info.kind_name if several_kinds else "",
        show_labels=a.show_labels, label_columns=_label_columns(a.label_columns))


def fetch_table(ctx: Ctx, target: Target, namespace, failures: list[str]) -> dict | None:
    a = ctx.args
    resource = ctx.client.resource_for(target.info)
    include = "Object" if a.sort_by else None
    if not target.names:
        table = resource.list(namespace, label_selector=a.selector,
                              field_selector=a.field_selector, limit=None, as_table=True,
                              include_object=include)
        return _ensure_table(ctx, target, table)
    tables = []
    for name in target.names:
        try:
            tables.append(_ensure_table(ctx, target, resource.get(
                name, namespace or ctx.namespace, as_table=True, include_object=include)))
        except NotFound as exc:
            if not a.ignore_not_found:
                failures.append(format_error(exc))
    if not tables:
        return None
    merged = dict(tables[0])
    merged["rows"] = [row for t in tables for row in t.get("rows") or []]
    return merged


def _ensure_table(ctx: Ctx, target: Target, doc: dict) -> dict:
    """A server that ignored the Table request sent objects: tabulate them here."""
    if doc.get("kind") == "Table":
        return doc
    from .tabulate import local_table
    return local_table(target.info, doc.get("items") if "items" in doc else [doc])


def _print_tables(ctx: Ctx, targets, namespace, failures) -> bool:
    a = ctx.args
    several = len(targets) > 1 or "all" in (a.resources[:1] or [""])[0].split(",")
    printed = False
    for target in targets:
        if a.watch_only:
            continue
        table = fetch_table(ctx, target, namespace, failures)
        if not table or not table.get("rows"):
            continue
        if a.sort_by:
            steps = jsonpath.relaxed(a.sort_by)
            table["rows"].sort(key=lambda r: _sort_key(jsonpath.evaluate(steps, r.get("object"))))
        if printed:
            ctx.print()
        ctx.out.write(printers.layout(printers.table_rows(
            table, table_options(ctx, target, several))))
        printed = True
    return printed


def _sort_key(values: list):
    value = values[0] if values else None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return (0, value, "")
    return (1, 0, "" if value is None else jsonpath.to_text(value))


def _print_objects(ctx: Ctx, targets, namespace, failures, output: str) -> bool:
    a = ctx.args
    objs, single = [], len(targets) == 1 and len(targets[0].names) == 1
    for target in targets:
        resource = ctx.client.resource_for(target.info)
        if target.names:
            for name in target.names:
                try:
                    objs.append((target, resource.get(name, namespace or ctx.namespace)))
                except NotFound as exc:
                    if not a.ignore_not_found:
                        failures.append(format_error(exc))
        else:
            single = False
            result = resource.list_all(namespace, label_selector=a.selector,
                                       field_selector=a.field_selector, page_size=a.chunk_size)
            for item in result.get("items") or []:
                item.setdefault("apiVersion", target.info.api_version)
                item.setdefault("kind", target.info.kind)
                objs.append((target, item))
    if a.sort_by:
        steps = jsonpath.relaxed(a.sort_by)
        objs.sort(key=lambda pair: _sort_key(jsonpath.evaluate(steps, pair[1])))
    if not objs and failures:
        return False
    print_objects(ctx, objs, output, single)
    return bool(objs)


def print_objects(ctx: Ctx, objs: list, output: str, single: bool) -> None:
    """Print (target-or-info, object) pairs in an object format (-o json|yaml|name|...)."""
    plain = [obj for _, obj in objs]
    document = plain[0] if single and plain else printers.as_list(plain)
    kind, _, arg = output.partition("=")
    if output == "json":
        ctx.out.write(printers.to_json(document))
    elif output == "yaml":
        ctx.out.write(printers.to_yaml(document))
    elif output == "name":
        for target, obj in objs:
            info = getattr(target, "info", target)
            ctx.print(printers.name_of(obj, info.kind_name))
    elif kind in ("jsonpath", "jsonpath-as-json"):
        if not arg:
            raise CtlError("template format specified but no template given")
        try:
            text = jsonpath.render(arg, document)
        except (jsonpath.JSONPathError, ValueError) as exc:
            raise CtlError(f"error parsing jsonpath {arg}, {exc}") from exc
        ctx.out.write(text)
    elif kind == "custom-columns":
        try:
            ctx.out.write(printers.custom_columns(arg, plain, ctx.args.no_headers))
        except (jsonpath.JSONPathError, ValueError) as exc:
            raise CtlError(str(exc)) from exc
    else:
        raise CtlError(f'unable to match a printer suitable for the output format "{output}", '
                       "allowed formats are: custom-columns,json,jsonpath,name,wide,yaml")


def check_output(output: str | None) -> None:
    if output and output.partition("=")[0] not in (*OBJECT_FORMATS, "wide", "jsonpath",
                                                   "jsonpath-as-json", "custom-columns"):
        raise CtlError(f'unable to match a printer suitable for the output format "{output}", '
                       "allowed formats are: custom-columns,json,jsonpath,name,wide,yaml")


__all__ = ["ApiError", "register", "run", "print_objects"]

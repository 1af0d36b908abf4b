"""`superctl config`: read and change kubeconfig files as kubectl does.

    view [--minify] [--raw] [--flatten] [-o yaml|json|jsonpath=...]
    current-context | use-context NAME | get-contexts [NAME] [-o name] [--no-headers]
    set-context [NAME | --current] [--namespace NS] [--cluster C] [--user U]
    delete-context NAME | rename-context OLD NEW

`view` shows the merged configuration of every file kubectl would read, secrets
redacted (DATA+OMITTED, REDACTED) unless `--raw`. Changes are written to the
file that defines the entry, or the file that holds current-context.
"""

from __future__ import annotations

import argparse
import base64
import copy

from supernetes.controlplane.client.kubeconfig import Kubeconfig, write_file

from . import jsonpath, printers
from .context import CtlError, Ctx

SECRET_DATA = ("certificate-authority-data", "client-certificate-data", "client-key-data")
SECRET_TEXT = ("token", "password")


def register(sub, parent) -> None:
    p = sub.add_parser("config", parents=[parent], help="Modify kubeconfig files",
                       description="Modify kubeconfig files.")
    csub = p.add_subparsers(dest="config_verb", metavar="SUBCOMMAND", required=True)
    v = csub.add_parser("view", parents=[parent], help="Display merged kubeconfig settings")
    v.add_argument("--minify", action="store_true", help="only the current context's entries")
    v.add_argument("--raw", action="store_true", help="show secrets as they are")
    v.add_argument("--flatten", action="store_true", help="inline referenced files as data")
    v.add_argument("-o", "--output", default="yaml", help="yaml|json|jsonpath=...")
    v.set_defaults(func=view)
    c = csub.add_parser("current-context", parents=[parent], help="Display the current context")
    c.set_defaults(func=current_context)
    u = csub.add_parser("use-context", parents=[parent], help="Set the current context")
    u.add_argument("name")
    u.set_defaults(func=use_context)
    g = csub.add_parser("get-contexts", parents=[parent], help="Describe contexts")
    g.add_argument("name", nargs="?")
    g.add_argument("-o", "--output", choices=["name"], help="name: only the context names")
    g.add_argument("--no-headers", action="store_true")
    g.set_defaults(func=get_contexts)
    # set-context's --cluster/--user/--namespace name the context's fields, not the
    # global overrides, so it takes only --kubeconfig from the global flags.
    s = csub.add_parser("set-context", help="Set a context entry")
    s.add_argument("--kubeconfig", default=argparse.SUPPRESS, help="the kubeconfig file")
    s.add_argument("name", nargs="?")
    s.add_argument("--current", action="store_true", help="modify the current context")
    s.add_argument("--cluster", dest="ctx_cluster", help="the context's cluster")
    s.add_argument("--user", dest="ctx_user", help="the context's user")
    s.add_argument("--namespace", dest="ctx_namespace", help="the context's namespace")
    s.set_defaults(func=set_context)
    d = csub.add_parser("delete-context", parents=[parent], help="Delete a context")
    d.add_argument("name")
    d.set_defaults(func=delete_context)
    r = csub.add_parser("rename-context", parents=[parent], help="Rename a context")
    r.add_argument("old")
    r.add_argument("new")
    r.set_defaults(func=rename_context)


def _merged(config: Kubeconfig) -> dict:
    return {"apiVersion": "v1", "kind": "Config", "preferences": {},
            "clusters": [{"name": n, "cluster": c} for n, c in config.clusters.items()],
            "users": [{"name": n, "user": u} for n, u in config.users.items()],
            "contexts": [{"name": n, "context": c} for n, c in config.contexts.items()],
            "current-context": config.current_context}


def view(ctx: Ctx) -> int:
    a = ctx.args
    config = ctx.kubeconfig()
    doc = copy.deepcopy(_merged(config))
    if a.minify:
        name = a.context or config.current_context
        if not name:
            raise CtlError("current-context must exist in order to minify")
        context = config.contexts.get(name) or {}
        doc["contexts"] = [c for c in doc["contexts"] if c["name"] == name]
        doc["clusters"] = [c for c in doc["clusters"] if c["name"] == context.get("cluster")]
        doc["users"] = [u for u in doc["users"] if u["name"] == context.get("user")]
        doc["current-context"] = name
    if a.flatten:
        _flatten(doc)
    if not a.raw:
        _redact(doc)
    output = a.output or "yaml"
    if output == "yaml":
        ctx.out.write(printers.to_yaml(doc))
    elif output == "json":
        ctx.out.write(printers.to_json(doc))
    elif output.startswith("jsonpath="):
        ctx.out.write(jsonpath.render(output.partition("=")[2], doc))
    else:
        raise CtlError(f'unable to match a printer suitable for the output format "{output}"')
    return 0


def _flatten(doc: dict) -> None:
    for section, inner, keys in (("clusters", "cluster", ("certificate-authority",)),
                                 ("users", "user", ("client-certificate", "client-key"))):
        for entry in doc[section]:
            body = entry[inner]
            for key in keys:
                path = body.pop(key, None)
                if path:
                    try:
                        with open(path, "rb") as f:
                            body[f"{key}-data"] = base64.b64encode(f.read()).decode()
                    except OSError as exc:
                        raise CtlError(f"cannot read {path}: {exc.strerror}") from exc


def _redact(doc: dict) -> None:
    for section, inner in (("clusters", "cluster"), ("users", "user")):
        for entry in doc[section]:
            body = entry[inner]
            for key in SECRET_DATA:
                if body.get(key):
                    body[key] = "DATA+OMITTED"
            for key in SECRET_TEXT:
                if body.get(key):
                    body[key] = "REDACTED"


def current_context(ctx: Ctx) -> int:
    config = ctx.kubeconfig()
    if not config.current_context:
        raise CtlError("current-context is not set")
    ctx.print(config.current_context)
    return 0


def use_context(ctx: Ctx) -> int:
    config = ctx.kubeconfig()
    name = ctx.args.name
    if name not in config.contexts:
        raise CtlError(f'no context exists with the name: "{name}"')
    target = config.destination()
    target.data["current-context"] = name
    write_file(target)
    ctx.print(f'Switched to context "{name}".')
    return 0


def get_contexts(ctx: Ctx) -> int:
    a = ctx.args
    config = ctx.kubeconfig()
    names = list(config.contexts)
    if a.name:
        if a.name not in config.contexts:
            raise CtlError(f"context {a.name} not found")
        names = [a.name]
    if a.output == "name":
        for name in names:
            ctx.print(name)
        return 0
    rows = [] if a.no_headers else [["CURRENT", "NAME", "CLUSTER", "AUTHINFO", "NAMESPACE"]]
    for name in sorted(names):
        c = config.contexts[name]
        rows.append(["*" if name == config.current_context else "", name,
                     c.get("cluster", ""), c.get("user", ""), c.get("namespace", "")])
    ctx.out.write(printers.layout(rows))
    return 0


def set_context(ctx: Ctx) -> int:
    a = ctx.args
    config = ctx.kubeconfig()
    name = config.current_context if a.current else a.name
    if not name:
        raise CtlError("you must specify a non-empty context name or --current")
    target = config.destination("contexts", name)
    entries = target.data.setdefault("contexts", [])
    entry = next((e for e in entries if e.get("name") == name), None)
    existed = entry is not None
    if entry is None:
        entry = {"name": name, "context": {}}
        entries.append(entry)
    body = entry.setdefault("context", {}) or {}
    entry["context"] = body
    for key, value in (("cluster", a.ctx_cluster), ("user", a.ctx_user),
                       ("namespace", a.ctx_namespace)):
        if value is not None:
            body[key] = value
    write_file(target)
    ctx.print(f'Context "{name}" {"modified" if existed else "created"}.')
    return 0


def delete_context(ctx: Ctx) -> int:
    config = ctx.kubeconfig()
    name = ctx.args.name
    if name not in config.contexts:
        raise CtlError(f"cannot delete context {name}, not in {', '.join(config.paths)}")
    target = config.destination("contexts", name)
    target.data["contexts"] = [e for e in target.data.get("contexts") or []
                               if e.get("name") != name]
    write_file(target)
    if config.current_context == name:
        ctx.warn("warning: this removed your active context, use \"superctl config "
                 "use-context\" to select a different one")
    ctx.print(f"deleted context {name} from {target.path}")
    return 0


def rename_context(ctx: Ctx) -> int:
    a = ctx.args
    config = ctx.kubeconfig()
    if a.old not in config.contexts:
        raise CtlError(f'cannot rename the context "{a.old}", it\'s not in '
                       f"{', '.join(config.paths)}")
    if a.new in config.contexts:
        raise CtlError(f'cannot rename the context "{a.old}", the context "{a.new}" already '
                       "exists")
    target = config.destination("contexts", a.old)
    for entry in target.data.get("contexts") or []:
        if entry.get("name") == a.old:
            entry["name"] = a.new
    for kc_file in config.files:
        if kc_file.data.get("current-context") == a.old:
            kc_file.data["current-context"] = a.new
            if kc_file is not target:
                write_file(kc_file)
    write_file(target)
    ctx.print(f'Context "{a.old}" renamed to "{a.new}".')
    return 0

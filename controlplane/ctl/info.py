"""`version`, `cluster-info` and `api-resources`: what is this server and what does it serve."""

from __future__ import annotations

import platform

from supernetes import __version__

from . import printers
from .context import CtlError, Ctx


def register(sub, parent) -> None:
    v = sub.add_parser("version", parents=[parent], help="Print the client and server version")
    v.add_argument("--client", action="store_true", help="the client version only")
    v.add_argument("-o", "--output", choices=["json", "yaml"], help="json or yaml")
    v.set_defaults(func=version)
    c = sub.add_parser("cluster-info", parents=[parent], help="Display cluster information")
    c.set_defaults(func=cluster_info)
    r = sub.add_parser("api-resources", parents=[parent],
                       help="Print the resource types the server serves")
    r.add_argument("--namespaced", choices=["true", "false"], help="only (non-)namespaced")
    r.add_argument("--api-group", help="only this group (\"\" for core)")
    r.add_argument("-o", "--output", choices=["wide", "name"])
    r.add_argument("--no-headers", action="store_true")
    r.set_defaults(func=api_resources)


def client_version() -> dict:
    major, minor, *_ = (__version__.split(".") + ["0", "0"])
    return {"major": major, "minor": minor, "gitVersion": f"v{__version__}",
            "goVersion": f"python{platform.python_version()}", "compiler": "cpython",
            "platform": f"{platform.system().lower()}/{_arch()}"}


def _arch() -> str:
    machine = platform.machine()
    return {"x86_64": "amd64", "aarch64": "arm64"}.get(machine, machine)


def version(ctx: Ctx) -> int:
    a = ctx.args
    doc = {"clientVersion": client_version()}
    if not a.client:
        doc["serverVersion"] = ctx.client.version()
    if a.output == "json":
        ctx.out.write(printers.to_json(doc))
    elif a.output == "yaml":
        ctx.out.write(printers.to_yaml(doc))
    else:
        ctx.print(f"Client Version: {doc['clientVersion']['gitVersion']}")
        if "serverVersion" in doc:
            ctx.print(f"Server Version: {doc['serverVersion'].get('gitVersion', '')}")
    return 0


def cluster_info(ctx: Ctx) -> int:
    client = ctx.client
    client.version()          # fails with kubectl's message when the server is unreachable
    bold = ctx.out.isatty()

    def paint(text, code):
        return f"\033[{code}m{text}\033[0m" if bold else text

    ctx.print(f"{paint('Supernetes control plane', '0;32')} is running at "
              f"{paint(client.server, '0;33')}")
    services = client.resource("v1", "Service").list(
        "kube-system", label_selector="kubernetes.io/cluster-service=true")
    for svc in services.get("items") or []:
        meta = svc["metadata"]
        name = meta.get("labels", {}).get("kubernetes.io/name") or meta["name"]
        port = (svc.get("spec", {}).get("ports") or [{}])[0]
        suffix = f":{port['name']}" if port.get("name") else ""
        url = (f"{client.server}/api/v1/namespaces/kube-system/services/"
               f"{meta['name']}{suffix}/proxy")
        ctx.print(f"{paint(name, '0;32')} is running at {paint(url, '0;33')}")
    return 0


def api_resources(ctx: Ctx) -> int:
    a = ctx.args
    infos = ctx.client.mapper.discover()
    if not infos:
        raise CtlError("the server returned no resources")
    seen, rows = set(), []
    for info in infos:
        if (info.group, info.plural) in seen:
            continue
        seen.add((info.group, info.plural))
        if a.namespaced and info.namespaced != (a.namespaced == "true"):
            continue
        if a.api_group is not None and info.group != a.api_group:
            continue
        rows.append(info)
    rows.sort(key=lambda i: (i.group, i.plural))
    if a.output == "name":
        for info in rows:
            ctx.print(info.qualified)
        return 0
    head = ["NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND"]
    if a.output == "wide":
        head += ["VERBS", "CATEGORIES"]
    table = [] if a.no_headers else [head]
    for info in rows:
        row = [info.plural, ",".join(info.short_names), info.api_version,
               str(info.namespaced).lower(), info.kind]
        if a.output == "wide":
            row += [f"[{' '.join(info.verbs)}]", ",".join(info.categories)]
        table.append(row)
    ctx.out.write(printers.layout(table))
    return 0

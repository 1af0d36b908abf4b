"""`superctl top nodes|pods`: CPU and memory in use, from the node agents' summaries.

Each node agent serves the kubelet's Summary API (`/stats/summary`), reached
through the API server's node proxy: `/api/v1/nodes/NAME/proxy/stats/summary`.
From it:

    top nodes   NAME  CPU(cores)  CPU%  MEMORY(bytes)  MEMORY%
                node.cpu.usageNanoCores and node.memory.workingSetBytes, the
                percentages against the Node's status.allocatable
    top pods    NAME  CPU(cores)  MEMORY(bytes)   (per container with --containers)
                the sum over each pod's containers

Nodes whose agent does not answer are reported on stderr and left out, as
kubectl does for nodes metrics-server has no data for.
"""

from __future__ import annotations

from supernetes.controlplane.api.quantity import parse_quantity
from supernetes.controlplane.client import ApiError, ClientError

from . import printers
from .context import CtlError, Ctx


def register(sub, parent) -> None:
    p = sub.add_parser("top", parents=[parent], help="Display resource (CPU/memory) usage")
    tsub = p.add_subparsers(dest="top_verb", metavar="nodes|pods", required=True)
    n = tsub.add_parser("nodes", aliases=["node", "no"], parents=[parent],
                        help="CPU and memory of nodes")
    n.add_argument("name", nargs="?")
    n.add_argument("-l", "--selector")
    n.add_argument("--sort-by", choices=["cpu", "memory"])
    n.add_argument("--no-headers", action="store_true")
    n.set_defaults(func=top_nodes)
    p2 = tsub.add_parser("pods", aliases=["pod", "po"], parents=[parent],
                         help="CPU and memory of pods")
    p2.add_argument("name", nargs="?")
    p2.add_argument("-A", "--all-namespaces", action="store_true")
    p2.add_argument("-l", "--selector")
    p2.add_argument("--containers", action="store_true", help="one row per container")
    p2.add_argument("--sort-by", choices=["cpu", "memory"])
    p2.add_argument("--no-headers", action="store_true")
    p2.set_defaults(func=top_pods)


def millicores(nano: int | float | None) -> int:
    return int((nano or 0) // 1_000_000)


def mebibytes(count: int | float | None) -> int:
    return int((count or 0) // (1024 * 1024))


def summaries(ctx: Ctx, nodes: list[dict]) -> dict[str, dict]:
    found = {}
    for node in nodes:
        name = node["metadata"]["name"]
        try:
            found[name] = ctx.client.get_json(f"/api/v1/nodes/{name}/proxy/stats/summary")
        except (ApiError, ClientError) as exc:
            ctx.warn(f"warning: no metrics for node {name}: {exc}")
    if not found:
        raise CtlError("metrics not available yet: no node agent answered "
                       "/api/v1/nodes/NAME/proxy/stats/summary")
    return found


def node_rows(nodes: list[dict], stats: dict[str, dict]) -> list[list]:
    rows = []
    for node in nodes:
        name = node["metadata"]["name"]
        summary = stats.get(name)
        if summary is None:
            continue
        usage = summary.get("node") or {}
        cpu = millicores((usage.get("cpu") or {}).get("usageNanoCores"))
        memory = (usage.get("memory") or {}).get("workingSetBytes") or 0
        allocatable = (node.get("status") or {}).get("allocatable") or {}
        cpu_total = float(parse_quantity(allocatable.get("cpu", "0"))) * 1000
        mem_total = float(parse_quantity(allocatable.get("memory", "0")))
        rows.append([name, cpu, _percent(cpu, cpu_total), memory, _percent(memory, mem_total)])
    return rows


def _percent(used: float, total: float) -> str:
    return f"{int(used * 100 / total)}%" if total else "<unknown>"


def top_nodes(ctx: Ctx) -> int:
    a = ctx.args
    nodes_api = ctx.client.resource("v1", "Node")
    nodes = [nodes_api.get(a.name)] if a.name else \
        nodes_api.list(label_selector=a.selector)["items"]
    rows = node_rows(nodes, summaries(ctx, nodes))
    if a.sort_by:
        rows.sort(key=lambda r: r[1] if a.sort_by == "cpu" else r[3], reverse=True)
    table = [] if a.no_headers else [["NAME", "CPU(cores)", "CPU%", "MEMORY(bytes)",
                                      "MEMORY%"]]
    table += [[r[0], f"{r[1]}m", r[2], f"{mebibytes(r[3])}Mi", r[4]] for r in rows]
    ctx.out.write(printers.layout(table))
    return 0


def pod_rows(stats: dict[str, dict], namespace: str | None, wanted: set | None,
             per_container: bool) -> list[list]:
    rows = []
    for summary in stats.values():
        for pod in summary.get("pods") or []:
            ref = pod.get("podRef") or {}
            if namespace and ref.get("namespace") != namespace:
                continue
            if wanted is not None and (ref.get("namespace"), ref.get("name")) not in wanted:
                continue
            containers = pod.get("containers") or []
            if per_container:
                for c in containers:
                    rows.append([ref.get("namespace"), ref.get("name"), c.get("name"),
                                 millicores((c.get("cpu") or {}).get("usageNanoCores")),
                                 (c.get("memory") or {}).get("workingSetBytes") or 0])
            else:
                cpu = sum((c.get("cpu") or {}).get("usageNanoCores") or 0 for c in containers)
                memory = sum((c.get("memory") or {}).get("workingSetBytes") or 0
                             for c in containers)
                rows.append([ref.get("namespace"), ref.get("name"), None, millicores(cpu),
                             memory])
    return rows


def top_pods(ctx: Ctx) -> int:
    a = ctx.args
    namespace = None if a.all_namespaces else ctx.namespace
    pods_api = ctx.client.resource("v1", "Pod")
    if a.name:
        pods = [pods_api.get(a.name, namespace)]
    else:
        pods = pods_api.list(namespace, label_selector=a.selector)["items"]
    wanted = {(p["metadata"]["namespace"], p["metadata"]["name"]) for p in pods}
    node_names = {(p.get("spec") or {}).get("nodeName") for p in pods} - {None, ""}
    nodes = [{"metadata": {"name": n}} for n in sorted(node_names)]
    if not nodes:
        raise CtlError("metrics not available yet: none of the pods runs on a node")
    rows = pod_rows(summaries(ctx, nodes), namespace, wanted, a.containers)
    if a.sort_by:
        rows.sort(key=lambda r: r[3] if a.sort_by == "cpu" else r[4], reverse=True)
    head = (["NAMESPACE"] if a.all_namespaces else []) + \
        (["POD", "NAME"] if a.containers else ["NAME"]) + ["CPU(cores)", "MEMORY(bytes)"]
    table = [] if a.no_headers else [head]
    for ns, pod, container, cpu, memory in rows:
        row = ([ns] if a.all_namespaces else []) + ([pod, container] if a.containers else [pod])
        table.append(row + [f"{cpu}m", f"{mebibytes(memory)}Mi"])
    ctx.out.write(printers.layout(table))
    return 0

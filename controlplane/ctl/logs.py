"""`superctl logs`: a container's output, through the API server's `pods/NAME/log`.

    superctl logs web-0 [-c app] [-f] [-p] [--tail 20] [--since 5m] [--timestamps]
    superctl logs deploy/web             the first pod of its selector
    superctl logs web-0 --all-containers

The API server proxies the request to the node agent that runs the pod (the
agent serves the log; until one does, the server's answer is printed as an
error). Like kubectl, a pod with several containers and no `-c` uses its
`kubectl.kubernetes.io/default-container`, else the first, and says so on stderr.
"""

from __future__ import annotations

import sys

from supernetes.controlplane.api import meta as api_meta

from .context import CtlError, Ctx
from .flags import duration

DEFAULT_CONTAINER = "kubectl.kubernetes.io/default-container"


def register(sub, parent) -> None:
    p = sub.add_parser("logs", parents=[parent], help="Print the logs for a container in a pod")
    p.add_argument("target", metavar="POD | TYPE/NAME")
    p.add_argument("container_arg", nargs="?", metavar="CONTAINER")
    p.add_argument("-c", "--container")
    p.add_argument("--all-containers", action="store_true")
    p.add_argument("-f", "--follow", action="store_true", help="stream the log")
    p.add_argument("-p", "--previous", action="store_true",
                   help="the previous instance of the container")
    p.add_argument("--tail", type=int, default=-1, help="only the last N lines")
    p.add_argument("--since", type=duration("--since"), help="only newer than (5s, 2m, 3h)")
    p.add_argument("--since-time", help="only newer than this RFC 3339 time")
    p.add_argument("--timestamps", action="store_true", help="prefix each line with its time")
    p.add_argument("--limit-bytes", type=int)
    p.add_argument("--prefix", action="store_true", help="prefix lines with pod/container")
    p.set_defaults(func=run)


def pod_for(ctx: Ctx, target: str) -> dict:
    """The pod a `logs`/`exec` argument means: a pod name, `pod/x`, or `deploy/x` etc."""
    kind, sep, name = target.partition("/")
    pods = ctx.client.resource("v1", "Pod")
    if not sep:
        return pods.get(target, ctx.namespace)
    info = ctx.resolve(kind)
    if info.kind == "Pod":
        return pods.get(name, ctx.namespace)
    owner = ctx.client.resource_for(info).get(name, ctx.namespace)
    selector = (owner.get("spec") or {}).get("selector")
    if isinstance(selector, dict) and "matchLabels" not in selector and \
            "matchExpressions" not in selector:
        selector = {"matchLabels": selector}       # Services select with a plain map
    if not selector:
        raise CtlError(f"cannot find the pods of {info.kind_name}/{name}: it has no selector")
    items = [p for p in pods.list(ctx.namespace)["items"]
             if selector_matches(selector, (p.get("metadata") or {}).get("labels") or {})]
    if not items:
        raise CtlError(f"no pods found for {info.kind_name}/{name}")
    # kubectl prefers running, ready, older pods.
    items.sort(key=lambda p: ((p.get("status") or {}).get("phase") != "Running",
                              not api_meta.condition_true(p.get("status"), "Ready"),
                              p["metadata"].get("creationTimestamp", "")))
    if len(items) > 1:
        ctx.warn(f"Found {len(items)} pods, using pod/{items[0]['metadata']['name']}")
    return items[0]


def selector_matches(selector: dict, labels: dict) -> bool:
    """A metav1.LabelSelector (matchLabels + matchExpressions) against labels."""
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
        if op == "In" and labels.get(key) not in values or \
                op == "NotIn" and key in labels and labels[key] in values or \
                op == "Exists" and key not in labels or \
                op == "DoesNotExist" and key in labels:
            return False
    return True


def default_container(ctx: Ctx, pod: dict, requested: str | None) -> str:
    names = [c["name"] for c in (pod.get("spec") or {}).get("containers") or []]
    if requested:
        every = names + [c["name"] for c in (pod.get("spec") or {}).get("initContainers") or []]
        if requested not in every:
            raise CtlError(f'container {requested} is not valid for pod '
                           f'{pod["metadata"]["name"]}')
        return requested
    annotated = ((pod.get("metadata") or {}).get("annotations") or {}).get(DEFAULT_CONTAINER)
    if annotated in names:
        return annotated
    if not names:
        raise CtlError(f"pod {pod['metadata']['name']} has no containers")
    if len(names) > 1:
        ctx.warn(f'Defaulted container "{names[0]}" out of: {", ".join(names)}')
    return names[0]


def run(ctx: Ctx) -> int:
    a = ctx.args
    pod = pod_for(ctx, a.target)
    name, namespace = pod["metadata"]["name"], pod["metadata"]["namespace"]
    if a.all_containers:
        containers = [c["name"] for c in (pod.get("spec") or {}).get("containers") or []]
    else:
        containers = [default_container(ctx, pod, a.container or a.container_arg)]
    out = getattr(ctx.out, "buffer", None) or sys.stdout.buffer
    for container in containers:
        stream = ctx.client.pod_logs(
            name, namespace, container=container, follow=a.follow, previous=a.previous,
            tail_lines=a.tail if a.tail >= 0 else None,
            since_seconds=int(a.since) if a.since else None, since_time=a.since_time,
            timestamps=a.timestamps, limit_bytes=a.limit_bytes)
        prefix = f"[pod/{name}/{container}] ".encode() if a.prefix else b""
        try:
            with stream:
                pending = b""
                for chunk in stream.chunks():
                    if not prefix:
                        out.write(chunk)
                    else:
                        pending += chunk
                        *lines, pending = pending.split(b"\n")
                        out.writelines(prefix + line + b"\n" for line in lines)
                    out.flush()
                if pending:
                    out.write(prefix + pending)
        except KeyboardInterrupt:
            return 0
    out.flush()
    return 0

"""`cordon`, `uncordon` and `drain`: take a node out of scheduling and empty it.

drain, as kubectl does it: cordon; list the node's pods; refuse (unless told)
to remove pods no controller would recreate (`--force`), pods with emptyDir data
(`--delete-emptydir-data`) and DaemonSet pods (`--ignore-daemonsets` skips
them: their controller would put them straight back); then evict each pod through
`pods/NAME/eviction` (which honours disruption budgets: a 429 is retried every 5
s), or delete it when the server has no eviction subresource or
`--disable-eviction` is given; and wait until every pod is gone or `--timeout`.
"""

from __future__ import annotations

import time

from supernetes.controlplane.api import meta as api_meta
from supernetes.controlplane.client import ApiError, NotFound, TooManyRequests

from .context import CtlError, Ctx
from .delete import wait_deleted
from .flags import add_dry_run, duration

MIRROR = "kubernetes.io/config.mirror"


def register(sub, parent) -> None:
    for verb, text in (("cordon", "Mark node as unschedulable"),
                       ("uncordon", "Mark node as schedulable")):
        p = sub.add_parser(verb, parents=[parent], help=text)
        p.add_argument("nodes", nargs="*")
        p.add_argument("-l", "--selector")
        add_dry_run(p)
        p.set_defaults(func=cordon if verb == "cordon" else uncordon)
    d = sub.add_parser("drain", parents=[parent], help="Drain node in preparation for maintenance")
    d.add_argument("nodes", nargs="*")
    d.add_argument("-l", "--selector")
    d.add_argument("--ignore-daemonsets", action="store_true", help="skip DaemonSet pods")
    d.add_argument("--delete-emptydir-data", action="store_true",
                   help="also remove pods using emptyDir volumes (their data is lost)")
    d.add_argument("--force", action="store_true",
                   help="also remove pods that no controller manages")
    d.add_argument("--grace-period", type=int, default=-1)
    d.add_argument("--timeout", type=duration("--timeout"), default=0.0)
    d.add_argument("--disable-eviction", action="store_true",
                   help="delete pods instead of evicting them (bypasses disruption budgets)")
    d.add_argument("--pod-selector", help="only pods matching this label selector")
    add_dry_run(d)
    d.set_defaults(func=drain)


def _nodes(ctx: Ctx) -> list[str]:
    a = ctx.args
    if a.nodes:
        return a.nodes
    if a.selector:
        items = ctx.client.resource("v1", "Node").list(label_selector=a.selector)["items"]
        return [n["metadata"]["name"] for n in items]
    raise CtlError("resource(s) were provided, but no name was specified")


def _set_unschedulable(ctx: Ctx, name: str, value: bool) -> None:
    nodes = ctx.client.resource("v1", "Node")
    node = nodes.get(name)
    word = "cordoned" if value else "uncordoned"
    if bool((node.get("spec") or {}).get("unschedulable")) == value:
        ctx.print(f"node/{name} already {word}")
        return
    if ctx.args.dry_run != "client":
        nodes.patch(name, {"spec": {"unschedulable": value or None}}, patch_type="merge",
                    dry_run=ctx.args.dry_run == "server")
    suffix = {"client": " (dry run)", "server": " (server dry run)"}.get(ctx.args.dry_run, "")
    ctx.print(f"node/{name} {word}{suffix}")


def cordon(ctx: Ctx) -> int:
    for name in _nodes(ctx):
        _set_unschedulable(ctx, name, True)
    return 0


def uncordon(ctx: Ctx) -> int:
    for name in _nodes(ctx):
        _set_unschedulable(ctx, name, False)
    return 0


def classify(pods: list[dict], a) -> tuple[list[dict], list[str], list[str]]:
    """(pods to remove, warnings, errors) as kubectl's drain filters decide."""
    remove, warnings, errors = [], {}, {}
    for pod in pods:
        meta, status = pod["metadata"], pod.get("status") or {}
        ident = f"{meta.get('namespace')}/{meta['name']}"
        if MIRROR in (meta.get("annotations") or {}):
            continue
        if status.get("phase") in ("Succeeded", "Failed"):
            remove.append(pod)
            continue
        owner = api_meta.controller_of(pod)
        if owner and owner.get("kind") == "DaemonSet":
            if a.ignore_daemonsets:
                warnings.setdefault("ignoring DaemonSet-managed Pods", []).append(ident)
            else:
                errors.setdefault("cannot delete DaemonSet-managed Pods (use --ignore-daemonsets "
                                  "to ignore)", []).append(ident)
            continue
        if not owner:
            if a.force:
                warnings.setdefault("deleting Pods that declare no controller", []).append(ident)
            else:
                errors.setdefault("cannot delete Pods that declare no controller (use --force "
                                  "to override)", []).append(ident)
                continue
        if any("emptyDir" in v for v in (pod.get("spec") or {}).get("volumes") or []):
            if a.delete_emptydir_data:
                warnings.setdefault("deleting Pods with local storage", []).append(ident)
            else:
                errors.setdefault("cannot delete Pods with local storage (use "
                                  "--delete-emptydir-data to override)", []).append(ident)
                continue
        remove.append(pod)
    return (remove, [f"{k}: {', '.join(v)}" for k, v in warnings.items()],
            [f"{k}: {', '.join(v)}" for k, v in errors.items()])


def drain(ctx: Ctx) -> int:
    a = ctx.args
    pods_api = ctx.client.resource("v1", "Pod")
    use_eviction = not a.disable_eviction and "eviction" in pods_api.info.subresources
    for name in _nodes(ctx):
        _set_unschedulable(ctx, name, True)
        pods = pods_api.list(None, field_selector=f"spec.nodeName={name}",
                             label_selector=a.pod_selector)["items"]
        pods = [p for p in pods if (p.get("spec") or {}).get("nodeName") == name]
        remove, warnings, errors = classify(pods, a)
        if errors:
            raise CtlError(f'unable to drain node "{name}" due to error: {"; ".join(errors)}')
        for warning in warnings:
            ctx.warn(f"Warning: {warning}")
        if a.dry_run == "client":
            for pod in remove:
                ctx.print(f"evicting pod {pod['metadata']['namespace']}/"
                          f"{pod['metadata']['name']} (dry run)")
            ctx.print(f"node/{name} drained (dry run)")
            continue
        deadline = time.monotonic() + (a.timeout or 7 * 24 * 3600)
        grace = a.grace_period if a.grace_period >= 0 else None
        for pod in remove:
            _remove(ctx, pod, use_eviction, grace, deadline)
        for pod in remove:
            meta = pod["metadata"]
            left = deadline - time.monotonic()
            if left <= 0 or not wait_deleted(ctx, pods_api.info, meta["name"], meta["namespace"],
                                             meta.get("uid"), deadline):
                raise CtlError(f'unable to drain node "{name}": drain did not complete within '
                               f"{a.timeout:g}s")
            ctx.print(f"pod/{meta['name']} {'evicted' if use_eviction else 'deleted'}")
        ctx.print(f"node/{name} drained")
    return 0


def _remove(ctx: Ctx, pod: dict, evict: bool, grace, deadline: float) -> None:
    meta = pod["metadata"]
    ns, name = meta["namespace"], meta["name"]
    if evict:
        ctx.print(f"evicting pod {ns}/{name}")
    ctx.out.flush()
    while True:
        try:
            if evict:
                ctx.client.evict(name, ns, grace_period_seconds=grace)
            else:
                ctx.client.resource("v1", "Pod").delete(name, ns, grace_period_seconds=grace)
            return
        except NotFound:
            return
        except TooManyRequests as exc:
            if time.monotonic() > deadline:
                raise CtlError(f"error when evicting pods/{name} -n {ns}: {exc.message}") from exc
            ctx.warn(f'error when evicting pods/"{name}" -n "{ns}" (will retry after 5s): '
                     f"{exc.message}")
            time.sleep(5)
        except ApiError:
            raise

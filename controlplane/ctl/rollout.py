"""`superctl rollout status|history|undo|restart|pause|resume`, computed as kubectl does
from a Deployment and the ReplicaSets it owns.

  status    follows the Deployment (a watch) and prints kubectl's progress messages
            until the rollout finishes, fails its progress deadline, or --timeout
  history   one row per ReplicaSet revision (`deployment.kubernetes.io/revision`) with
            its `kubernetes.io/change-cause`; `--revision=N` shows that pod template
  undo      puts the template of revision N (default: the previous one) back, with
            the JSON patch kubectl sends; the controller then rolls forward to it
  restart   stamps `kubectl.kubernetes.io/restartedAt` on the pod template
DaemonSets have `status` and `restart`.
"""

from __future__ import annotations

import copy
import time
from datetime import datetime

from supernetes.controlplane.api import meta as api_meta
from supernetes.controlplane.client import ConnectionFailed

from . import describers, tabwriter
from .context import CtlError, Ctx
from .flags import add_bool, duration
from .targets import from_args

REVISION = "deployment.kubernetes.io/revision"
CHANGE_CAUSE = "kubernetes.io/change-cause"
SKIPPED_ANNOTATIONS = {"kubectl.kubernetes.io/last-applied-configuration", REVISION,
                       "deployment.kubernetes.io/revision-history",
                       "deployment.kubernetes.io/desired-replicas",
                       "deployment.kubernetes.io/max-replicas",
                       "deprecated.deployment.rollback.to"}


def register(sub, parent) -> None:
    p = sub.add_parser("rollout", parents=[parent], help="Manage the rollout of a resource")
    rsub = p.add_subparsers(dest="rollout_verb", metavar="SUBCOMMAND", required=True)
    for verb, text in (("status", "Show the status of the rollout"),
                       ("history", "View rollout history"),
                       ("undo", "Undo a previous rollout"),
                       ("restart", "Restart a resource"),
                       ("pause", "Mark the resource as paused"),
                       ("resume", "Resume a paused resource")):
        v = rsub.add_parser(verb, parents=[parent], help=text)
        v.add_argument("resources", nargs="+", metavar="TYPE NAME | TYPE/NAME")
        if verb == "status":
            add_bool(v, "--watch", True, "follow the rollout until it is done")
            v.add_argument("-w", dest="watch", action="store_true")
            v.add_argument("--timeout", type=duration("--timeout"), default=0.0)
            v.add_argument("--revision", type=int, default=0)
        if verb == "history":
            v.add_argument("--revision", type=int, default=0)
        if verb == "undo":
            v.add_argument("--to-revision", type=int, default=0)
        v.set_defaults(func=globals()[verb])


def _targets(ctx: Ctx, allowed: tuple[str, ...]):
    out = []
    for target in from_args(ctx, ctx.args.resources, verb="rollout"):
        if target.info.kind not in allowed:
            raise CtlError(f"no {ctx.args.rollout_verb} is supported for {target.info.kind} "
                           f"(only {', '.join(allowed)})")
        if not target.names:
            raise CtlError("rollout needs a name: superctl rollout VERB TYPE NAME")
        out.extend((target.info, name) for name in target.names)
    return out


# -- status ------------------------------------------------------------------------------


def deployment_status(d: dict) -> tuple[str, bool]:
    name = d["metadata"]["name"]
    spec, status = d.get("spec") or {}, d.get("status") or {}
    if d["metadata"].get("generation", 0) > status.get("observedGeneration", 0):
        return "Waiting for deployment spec update to be observed...", False
    progressing = api_meta.get_condition(status, "Progressing")
    if progressing and progressing.get("reason") == "ProgressDeadlineExceeded":
        raise CtlError(f'deployment "{name}" exceeded its progress deadline')
    replicas = spec.get("replicas", 1)
    updated = status.get("updatedReplicas", 0)
    if updated < replicas:
        return (f'Waiting for deployment "{name}" rollout to finish: {updated} out of '
                f"{replicas} new replicas have been updated..."), False
    if status.get("replicas", 0) > updated:
        return (f'Waiting for deployment "{name}" rollout to finish: '
                f"{status.get('replicas', 0) - updated} old replicas are pending "
                "termination..."), False
    available = status.get("availableReplicas", 0)
    if available < updated:
        return (f'Waiting for deployment "{name}" rollout to finish: {available} of {updated} '
                "updated replicas are available..."), False
    return f'deployment "{name}" successfully rolled out', True


def daemonset_status(ds: dict) -> tuple[str, bool]:
    name = ds["metadata"]["name"]
    if ((ds.get("spec") or {}).get("updateStrategy") or {}).get("type") == "OnDelete":
        raise CtlError("rollout status is only available for RollingUpdate strategy type")
    status = ds.get("status") or {}
    if ds["metadata"].get("generation", 0) > status.get("observedGeneration", 0):
        return "Waiting for daemon set spec update to be observed...", False
    desired = status.get("desiredNumberScheduled", 0)
    updated = status.get("updatedNumberScheduled", 0)
    if updated < desired:
        return (f'Waiting for daemon set "{name}" rollout to finish: {updated} out of '
                f"{desired} new pods have been updated..."), False
    available = status.get("numberAvailable", 0)
    if available < desired:
        return (f'Waiting for daemon set "{name}" rollout to finish: {available} of {desired} '
                "updated pods are available..."), False
    return f'daemon set "{name}" successfully rolled out', True


def status(ctx: Ctx) -> int:
    a = ctx.args
    deadline = time.monotonic() + (a.timeout or 7 * 24 * 3600)
    for info, name in _targets(ctx, ("Deployment", "DaemonSet")):
        viewer = deployment_status if info.kind == "Deployment" else daemonset_status
        resource = ctx.client.resource_for(info)
        last = None
        while True:
            obj = resource.get(name, ctx.namespace)
            message, done = viewer(obj)
            if message != last:
                ctx.print(message)
                ctx.out.flush()
                last = message
            if done or not a.watch:
                break
            left = deadline - time.monotonic()
            if left <= 0:
                raise CtlError("timed out waiting for the condition")
            _wait_for_change(resource, name, ctx.namespace, obj, min(left, 30.0))
    return 0


def _wait_for_change(resource, name, namespace, obj, timeout: float) -> None:
    try:
        with resource.watch(namespace, name=name, timeout_seconds=max(1, int(timeout)),
                            resource_version=obj["metadata"]["resourceVersion"]) as watch:
            for _ in watch:
                return
    except ConnectionFailed:
        time.sleep(1)


# -- history and undo --------------------------------------------------------------------


def _owned_replicasets(ctx: Ctx, deploy: dict) -> list[dict]:
    items = ctx.client.resource("apps/v1", "ReplicaSet").list(
        deploy["metadata"].get("namespace")).get("items") or []
    return [rs for rs in items if api_meta.is_owned_by(rs, deploy)]


def _revision(rs: dict) -> int:
    try:
        return int(((rs.get("metadata") or {}).get("annotations") or {}).get(REVISION, "0"))
    except ValueError:
        return 0


def _template_of(rs: dict) -> dict:
    template = copy.deepcopy((rs.get("spec") or {}).get("template") or {})
    labels = (template.get("metadata") or {}).get("labels") or {}
    labels.pop("pod-template-hash", None)
    return template


def history(ctx: Ctx) -> int:
    a = ctx.args
    for info, name in _targets(ctx, ("Deployment",)):
        deploy = ctx.client.resource_for(info).get(name, ctx.namespace)
        by_revision = {}
        for rs in _owned_replicasets(ctx, deploy):
            by_revision[_revision(rs)] = rs
        if a.revision:
            rs = by_revision.get(a.revision)
            if rs is None:
                raise CtlError(f"unable to find the specified revision {a.revision}")
            ctx.print(f"{info.kind_name}/{name} with revision #{a.revision}")
            template = _template_of(rs)
            cause = (rs["metadata"].get("annotations") or {}).get(CHANGE_CAUSE)
            if cause:
                template.setdefault("metadata", {}).setdefault("annotations", {})[
                    CHANGE_CAUSE] = cause
            lines = describers._template(template)
            ctx.out.write(tabwriter.render(lines))
            ctx.print()
            continue
        ctx.print(f"{info.kind_name}/{name} ")
        lines = ["REVISION\tCHANGE-CAUSE"]
        for revision in sorted(by_revision):
            cause = (by_revision[revision]["metadata"].get("annotations") or {}).get(
                CHANGE_CAUSE) or "<none>"
            lines.append(f"{revision}\t{cause}")
        ctx.out.write(tabwriter.render(lines))
        ctx.print()
    return 0


def undo(ctx: Ctx) -> int:
    a = ctx.args
    for info, name in _targets(ctx, ("Deployment",)):
        resource = ctx.client.resource_for(info)
        deploy = resource.get(name, ctx.namespace)
        if (deploy.get("spec") or {}).get("paused"):
            raise CtlError("you cannot rollback a paused deployment; resume it first with "
                           "'superctl rollout resume' and try again")
        sets = _owned_replicasets(ctx, deploy)
        revisions = sorted({_revision(rs) for rs in sets})
        if not revisions:
            raise CtlError(f'no rollout history found for deployment "{name}"')
        wanted = a.to_revision
        if not wanted:
            if len(revisions) < 2:
                raise CtlError(f'no rollout history found for deployment "{name}"')
            wanted = revisions[-2]
        target = next((rs for rs in sets if _revision(rs) == wanted), None)
        if target is None:
            raise CtlError(f"unable to find specified revision {wanted} in history")
        template = _template_of(target)
        if template == (deploy.get("spec") or {}).get("template"):
            ctx.print(f"{info.kind_name}/{name} skipped rollback (current template already "
                      f"matches revision {wanted})")
            continue
        annotations = {k: v for k, v in (deploy["metadata"].get("annotations") or {}).items()}
        for key, value in (target["metadata"].get("annotations") or {}).items():
            if key not in SKIPPED_ANNOTATIONS:
                annotations[key] = value
        # kubectl replaces both; "add" is RFC 6902's replace-or-create, which also works
        # before a controller has ever annotated the Deployment.
        patch = [{"op": "replace", "path": "/spec/template", "value": template},
                 {"op": "add", "path": "/metadata/annotations", "value": annotations}]
        resource.patch(name, patch, ctx.namespace, patch_type="json")
        ctx.print(f"{info.kind_name}/{name} rolled back")
    return 0


# -- restart, pause, resume ----------------------------------------------------------------


def _rfc3339_now() -> str:
    now = datetime.now().astimezone()
    text = now.isoformat(timespec="seconds")
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def restart(ctx: Ctx) -> int:
    for info, name in _targets(ctx, ("Deployment", "DaemonSet")):
        resource = ctx.client.resource_for(info)
        if info.kind == "Deployment" and \
                (resource.get(name, ctx.namespace).get("spec") or {}).get("paused"):
            raise CtlError("can't restart paused deployment (run rollout resume first)")
        patch = {"spec": {"template": {"metadata": {"annotations": {
            "kubectl.kubernetes.io/restartedAt": _rfc3339_now()}}}}}
        resource.patch(name, patch, ctx.namespace, patch_type="strategic")
        ctx.print(f"{info.kind_name}/{name} restarted")
    return 0


def _set_paused(ctx: Ctx, paused: bool) -> int:
    word = "paused" if paused else "resumed"
    for info, name in _targets(ctx, ("Deployment",)):
        resource = ctx.client.resource_for(info)
        current = resource.get(name, ctx.namespace)
        if bool((current.get("spec") or {}).get("paused")) == paused:
            raise CtlError(f"{info.kind_name}/{name} is already {word}" if paused else
                           f"{info.kind_name}/{name} is not paused")
        resource.patch(name, {"spec": {"paused": paused}}, ctx.namespace, patch_type="merge")
        ctx.print(f"{info.kind_name}/{name} {word}")
    return 0


def pause(ctx: Ctx) -> int:
    return _set_paused(ctx, True)


def resume(ctx: Ctx) -> int:
    return _set_paused(ctx, False)

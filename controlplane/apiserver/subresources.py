"""Subresources that are not just "the status part": scale, binding, eviction,
namespace finalize, and the seam for log and exec.

    {deployments,replicasets}/scale   GET/PUT/PATCH an autoscaling/v1 Scale that
                                      reads and writes the parent's spec.replicas
    pods/binding                      POST a Binding: the scheduler sets spec.nodeName
                                      (once: a bound pod is a 409) and PodScheduled
    pods/eviction                     POST an Eviction: a graceful delete
    namespaces/finalize               PUT: replace spec.finalizers (the namespace
                                      lifecycle removes "kubernetes" this way)
    pods/log, pods/exec, nodes/proxy  proxied to the node's agent (`nodeproxy.py`)

Also here: namespace admission for creates (the namespace must exist and not
be terminating), as Kubernetes' NamespaceLifecycle plugin does: from the watch
cache, except for namespaces this server deleted moments ago, which are looked
up in the store (the cache may not have seen the deletion yet). And the default
NoExecute tolerations of new pods (DefaultTolerationSeconds).
"""

from __future__ import annotations

from ..api import registry
from ..api.errors import FieldError
from ..store import base as store
from . import authz, codec, errors, objects, patching, requestio, resources, strategy


def admit_namespace(ctx: resources.Ctx) -> None:
    ns_rt = registry.lookup("", "v1", "namespaces")
    entry = ctx.server.cacher.namespace_exists(ns_rt, ctx.namespace)
    if entry is None or ctx.server.recently_deleted(ctx.namespace):
        # The cache may be a few milliseconds behind a namespace just created.
        kv = ctx.store.get(objects.key(ns_rt, None, ctx.namespace))
        if kv is None:
            raise errors.not_found(ns_rt, ctx.namespace)
        ns_obj = codec.loads(kv.value)
    else:
        ns_obj = entry.object() if entry.fields.get("status.phase") == "Terminating" else {}
    if ns_obj and strategy.namespace_terminating(ns_obj):
        raise errors.ApiError(403, "Forbidden",
                              f'{ctx.rt.plural} "{ctx.name or ""}" is forbidden: unable to '
                              f"create new content in namespace {ctx.namespace} because it "
                              f"is being terminated",
                              {"kind": ctx.rt.plural, "causes": [{
                                  "reason": "NamespaceTerminating",
                                  "message": f"namespace {ctx.namespace} is being "
                                             f"terminated", "field": "metadata.namespace"}]})


NOT_READY_TAINT = "node.kubernetes.io/not-ready"
UNREACHABLE_TAINT = "node.kubernetes.io/unreachable"


def default_tolerations(pod, config) -> None:
    """A new pod tolerates the not-ready and unreachable NoExecute taints for a while
    (unless it says otherwise), so the pods of a dead node are evicted after that."""
    spec = pod.get("spec") if isinstance(pod, dict) else None
    if not isinstance(spec, dict):
        return
    tolerations = spec.get("tolerations")
    if tolerations is None:
        tolerations = []
    if not isinstance(tolerations, list):
        return                          # validation names the field
    for key, seconds in ((NOT_READY_TAINT, config.default_not_ready_toleration_seconds),
                         (UNREACHABLE_TAINT, config.default_unreachable_toleration_seconds)):
        if any(isinstance(t, dict) and t.get("key") in (key, None, "") and
               t.get("effect") in ("NoExecute", None, "") for t in tolerations):
            continue
        tolerations.append({"key": key, "operator": "Exists", "effect": "NoExecute",
                            "tolerationSeconds": seconds})
    spec["tolerations"] = tolerations


def dispatch(ctx: resources.Ctx, method: str, view):
    sub = ctx.sub
    # Reaching into a container is `create`, whatever the method (Kubernetes 1.31+):
    # a websocket exec is a GET, and `get` must not grant it.
    verb = "create" if sub in authz.CONNECT else authz.verb_of(method, False, False)
    authz.authorize(ctx.server, ctx.user, verb, ctx.rt, ctx.namespace, ctx.name, sub)
    if sub == "scale":
        if method == "GET":
            return requestio.respond(scale_of(ctx, resources.get(ctx)), 200, ctx)
        ctx.field_validation = requestio.field_validation(ctx.args)
        if method == "PUT":
            return requestio.respond(set_scale(ctx, requestio.decoded_body(ctx)), 200, ctx)
        if method == "PATCH":
            return requestio.respond(patch_scale(ctx), 200, ctx)
    elif sub == "binding" and method == "POST":
        return requestio.respond(bind(ctx, requestio.decoded_body(ctx)), 201, ctx)
    elif sub == "eviction" and method == "POST":
        requestio.decoded_body(ctx)
        resources.delete(ctx, resources.DeleteOptions())
        return requestio.respond(errors.success(ctx.rt, ctx.name), 201, ctx)
    elif sub in ("log", "exec", "attach", "portforward", "proxy"):
        proxy = ctx.server.node_proxy
        if proxy is None:
            raise errors.unavailable(f"pods/{sub} is served by the node agent, and no node "
                                     f"agent proxy is configured")
        return proxy(ctx, ctx.request)
    raise errors.method_not_allowed(method, ctx.request.path)


def _dict(value) -> dict:
    """A sub-object of a client's body, or {} when it is missing or not an object."""
    return value if isinstance(value, dict) else {}


# -- scale ----------------------------------------------------------------------------

def _selector_text(obj: dict) -> str:
    selector = (obj.get("spec") or {}).get("selector") or {}
    parts = [f"{k}={v}" for k, v in sorted((selector.get("matchLabels") or {}).items())]
    for expr in selector.get("matchExpressions") or ():
        values = ",".join(expr.get("values") or ())
        op = expr.get("operator")
        if op == "Exists":
            parts.append(expr["key"])
        elif op == "DoesNotExist":
            parts.append("!" + expr["key"])
        else:
            parts.append(f"{expr['key']} {op.lower()} ({values})")
    return ",".join(parts)


def scale_of(ctx: resources.Ctx, obj: dict) -> dict:
    meta = obj["metadata"]
    return {"kind": "Scale", "apiVersion": "autoscaling/v1",
            "metadata": {k: meta[k] for k in ("name", "namespace", "uid", "resourceVersion",
                                              "creationTimestamp") if k in meta},
            "spec": {"replicas": (obj.get("spec") or {}).get("replicas", 1)},
            "status": {"replicas": (obj.get("status") or {}).get("replicas", 0),
                       "selector": _selector_text(obj)}}


def _write_replicas(ctx: resources.Ctx, replicas, expected_rv: int | None) -> dict:
    if not isinstance(replicas, int) or isinstance(replicas, bool) or replicas < 0:
        raise errors.invalid(ctx.rt, ctx.name, [FieldError(
            "FieldValueInvalid", "spec.replicas", "must be greater than or equal to 0",
            replicas)])

    def change(old: dict) -> dict:
        new = objects.decode_stored(objects.encode_for_store(old), 0)
        new.setdefault("spec", {})["replicas"] = replicas
        return resources.finish_update(ctx, new, old, status_only=False)

    obj, _ = resources.update_loop(ctx, change, expected_rv=expected_rv)
    return scale_of(ctx, obj)


def set_scale(ctx: resources.Ctx, body) -> dict:
    if not isinstance(body, dict) or body.get("kind") not in (None, "Scale"):
        raise errors.bad_request("the body must be an autoscaling/v1 Scale")
    expected = objects.parse_revision(_dict(body.get("metadata")).get("resourceVersion"))
    return _write_replicas(ctx, _dict(body.get("spec")).get("replicas"), expected)


def patch_scale(ctx: resources.Ctx) -> dict:
    data, content_type = requestio.body(ctx)
    kind = codec.media_type(content_type)
    current = scale_of(ctx, resources.get(ctx))
    patch_doc = codec.decode(data, kind)
    # A Scale has no merge keys: a strategic patch of it is a merge patch.
    flavour = patching.MERGE_PATCH if kind == patching.STRATEGIC else kind
    if flavour not in patching.SUPPORTED:
        raise errors.unsupported_media_type(kind)
    scaled = patching._apply(ctx.rt, flavour, current, patch_doc)
    pinned = isinstance(patch_doc, dict) and "resourceVersion" in _dict(patch_doc.get("metadata"))
    expected = objects.parse_revision(_dict(scaled.get("metadata")).get("resourceVersion")) \
        if pinned else None
    return _write_replicas(ctx, _dict(scaled.get("spec")).get("replicas"), expected)


# -- binding ------------------------------------------------------------------------------

def bind(ctx: resources.Ctx, body) -> dict:
    """Set spec.nodeName and PodScheduled=True, once.

    A scheduler sends one binding per pod it places, so this is the busiest write
    of a scheduling cluster: it reads the pod, decodes it once, sets the two
    fields (and the Binding's annotations, copied onto the pod as Kubernetes
    does) and writes it back under the revision it read (a lost race reads
    again), with none of an update's re-validation - a binding changes nothing
    a user wrote. Preconditions as Kubernetes': the Binding's metadata.uid, when
    given, must be the pod's (a pod deleted and created again under the same name
    is not the one that was scheduled); a bound or deleting pod is a 409.
    """
    if not isinstance(body, dict) or body.get("kind") not in (None, "Binding"):
        raise errors.bad_request("the body must be a v1 Binding")
    target = _dict(body.get("target"))
    node = target.get("name")
    if not node or not isinstance(node, str):
        raise errors.invalid(ctx.rt, ctx.name, [FieldError(
            "FieldValueRequired", "target.name", "a node name is required")])
    body_meta = _dict(body.get("metadata"))
    body_name = body_meta.get("name")
    if body_name and body_name != ctx.name:
        raise errors.bad_request(f"the name of the object ({body_name}) does not match the "
                                 f"name on the URL ({ctx.name})")
    uid = body_meta.get("uid")
    annotations = body_meta.get("annotations") or {}
    if not isinstance(annotations, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in annotations.items()):
        raise errors.bad_request("metadata.annotations of a Binding must map strings to "
                                 "strings")
    # As Kubernetes' GuaranteedUpdate does with its watch cache: first try the
    # cached copy, which costs no store read; the write is guarded by the copy's
    # revision, so a stale copy only costs a retry, and a precondition that fails
    # on the copy is judged again on the store's.
    cached = None if ctx.dry_run else _cached_pod(ctx)
    for _ in range(resources.UPDATE_ATTEMPTS):
        from_cache = cached is not None
        kv = cached if from_cache else resources.fetch(ctx)
        cached = None
        pod = codec.loads(kv.value)
        try:
            _assign(ctx, pod, node, uid, annotations)
        except errors.ApiError:
            if from_cache:
                continue
            raise
        if ctx.dry_run:
            break
        try:
            ctx.store.update(ctx.key, objects.encode_for_store(pod), kv.mod_revision)
        except (store.RevisionConflict, store.KeyNotFound):
            continue
        except store.StoreError as exc:
            raise errors.from_store(exc, ctx.rt, ctx.name) from exc
        break
    else:
        raise errors.conflict(ctx.rt, ctx.name, "too many concurrent updates; try again")
    return errors.success(ctx.rt, ctx.name)


def _cached_pod(ctx: resources.Ctx) -> store.KeyValue | None:
    """The watch cache's copy of the pod (its bytes carry the resourceVersion, which
    the stored form drops again), or None if the cache has not seen it."""
    entry = ctx.server.cacher.for_type(ctx.rt).state.get(ctx.key)
    if entry is None:
        return None
    return store.KeyValue(ctx.key, entry.data, 0, entry.revision)


def _assign(ctx: resources.Ctx, pod: dict, node: str, uid, annotations: dict) -> None:
    meta = pod["metadata"]
    if uid and meta.get("uid") != uid:
        raise errors.conflict(ctx.rt, ctx.name, f"Precondition failed: UID in precondition: "
                                                f"{uid}, UID in object meta: {meta.get('uid')}")
    if meta.get("deletionTimestamp"):
        raise errors.conflict(ctx.rt, ctx.name, "pod is being deleted, cannot be assigned "
                                                "to a host")
    spec = pod.setdefault("spec", {})
    if spec.get("nodeName"):
        raise errors.conflict(ctx.rt, ctx.name, f"pod {ctx.name} is already assigned to "
                                                f"node \"{spec['nodeName']}\"")
    spec["nodeName"] = node
    if annotations:         # copied onto the pod, as Kubernetes does
        meta.setdefault("annotations", {}).update(annotations)
    status = pod.setdefault("status", {})
    conditions = [c for c in status.get("conditions") or ()
                  if c.get("type") != "PodScheduled"]
    conditions.append({"type": "PodScheduled", "status": "True",
                       "lastProbeTime": None, "lastTransitionTime": objects.now()})
    status["conditions"] = conditions


# -- namespace finalize ---------------------------------------------------------------------

def finalize(ctx: resources.Ctx, body) -> dict:
    if not isinstance(body, dict):
        raise errors.bad_request("the body must be a Namespace")
    finalizers = _dict(body.get("spec")).get("finalizers") or []
    if not isinstance(finalizers, list) or not all(isinstance(f, str) for f in finalizers):
        raise errors.bad_request("spec.finalizers must be a list of strings")

    def change(old: dict) -> dict:
        old.setdefault("spec", {})["finalizers"] = list(finalizers)
        return old

    obj, _ = resources.update_loop(ctx, change)
    return obj

"""The one resource view: parse a Kubernetes path, authorise, dispatch to a verb.

Every type is served by this view, driven by the api registry, so a new type
needs no route. Paths, as Kubernetes lays them out:

    /api/v1/{plural}                                  cluster-scoped collection, or a
                                                      namespaced type across namespaces
    /api/v1/{plural}/{name}[/{sub}]                   cluster-scoped object
    /api/v1/namespaces/{ns}/{plural}                  namespaced collection
    /api/v1/namespaces/{ns}/{plural}/{name}[/{sub}]   namespaced object
    /apis/{group}/{version}/...                       the same for other groups

(`/api/v1/namespaces/{name}/status` and `/finalize` are the Namespace's own
subresources.) The view stays lean, because every request passes through it:
no body is parsed before it is needed, and list and watch responses are built
from cached bytes.
"""

from __future__ import annotations

from flask import Response, current_app, g, request

from ..api import registry
from . import (
    authz,
    codec,
    errors,
    lists,
    patching,
    requestio,
    resources,
    selection,
    subresources,
    tables,
)

_NAMESPACE_SUBS = ("status", "finalize")
_NOT_FOUND = "the server could not find the requested resource"


def _parse(rest: str):
    """(plural, namespace, name, sub) from the path after /api/v1 or /apis/g/v."""
    parts = rest.split("/")
    if "" in parts or any(p in (".", "..") for p in parts):
        raise errors.ApiError(404, "NotFound", _NOT_FOUND)
    if parts[0] == "namespaces" and len(parts) >= 3 and parts[2] not in _NAMESPACE_SUBS:
        if len(parts) > 5:
            raise errors.ApiError(404, "NotFound", _NOT_FOUND)
        return parts[2], parts[1], (parts[3] if len(parts) > 3 else None), \
            (parts[4] if len(parts) > 4 else None)
    if len(parts) > 3:
        raise errors.ApiError(404, "NotFound", _NOT_FOUND)
    return parts[0], None, (parts[1] if len(parts) > 1 else None), \
        (parts[2] if len(parts) > 2 else None)


def _resource_parts(path: str, query: str):
    """(plural, namespace, name, sub) of a resource path that is no watch, else None."""
    if path.startswith("/api/"):
        rest = path[len("/api/"):].partition("/")[2]
    elif path.startswith("/apis/"):
        rest = path[len("/apis/"):].split("/", 2)[-1] if path.count("/") > 3 else ""
    else:
        return None
    if not rest or "watch" in query:
        return None
    try:
        return _parse(rest)
    except errors.ApiError:
        return None


def reads_one_object(path: str, query: str) -> bool:
    """Whether a GET of `path` reads one object (or its status or scale) and nothing
    else: no list, no watch, no proxy to a node agent. (The worker serves those on
    its poller thread when the store reads locally: see worker.py.)"""
    parts = _resource_parts(path, query)
    return parts is not None and parts[2] is not None and parts[3] in (None, "status", "scale")


# Subresources whose responses come from a node agent, streamed or upgraded.
_FROM_NODE_AGENT = frozenset({"exec", "attach", "portforward", "proxy", "log"})


def writes_one_response(path: str, query: str) -> bool:
    """Whether a request with a body to `path` is answered with one document the app
    builds whole: a write of a resource or subresource (binding, eviction, status...),
    nothing streamed from a node agent. (The worker parses those itself: worker.py.)"""
    parts = _resource_parts(path, query)
    return parts is not None and parts[3] not in _FROM_NODE_AGENT


def resource_view(version: str, rest: str, group: str = "") -> Response:
    """The Flask view of every resource path (most requests come by `fastlane.py`)."""
    return serve(current_app.extensions["supernetes"], g.user, request._get_current_object(),
                 version, rest, group)


def serve(server, user, req, version: str, rest: str, group: str = "") -> Response:
    """Answer one request to a resource path, as `user`; `req` is werkzeug's request."""
    plural, namespace, name, sub = _parse(rest)
    rt = registry.lookup(group, version, plural)
    if rt is None or (namespace is not None and not rt.namespaced) or (
            rt.namespaced and namespace is None and name is not None):
        raise errors.ApiError(404, "NotFound", _NOT_FOUND)
    if sub is not None and sub not in rt.subresources:
        raise errors.ApiError(404, "NotFound", _NOT_FOUND)
    # Parsing an empty query string still costs a MultiDict: most requests have none.
    args = req.args if req.environ.get("QUERY_STRING") else requestio.NO_QUERY
    method = req.method
    watching = args.get("watch") in ("true", "1")
    collection = name is None
    verb = authz.verb_of(method, collection, watching)
    ctx = resources.Ctx(server, user, rt, namespace, name, sub, args, req)
    ctx.dry_run = requestio.dry_run(args)
    view = codec.negotiate(req.environ.get("HTTP_ACCEPT"))

    if collection:
        return _collection(ctx, method, verb, view, watching)
    if sub is not None and sub not in ("status", "finalize"):
        return subresources.dispatch(ctx, method, view)
    if method not in ("GET", "PUT", "PATCH", "DELETE") or (
            sub is not None and method == "DELETE"):
        raise errors.method_not_allowed(method, req.path)
    authz.authorize(server, ctx.user, verb, rt, namespace, name, sub)
    if method == "GET":
        if view is codec.PLAIN:
            return Response(resources.get_json(ctx), 200, content_type="application/json")
        return requestio.respond(resources.get(ctx), 200, ctx, view)
    if method == "DELETE":
        options = requestio.delete_options(ctx)
        obj = resources.delete(ctx, options)
        return requestio.respond(obj, 200, ctx, view)
    ctx.field_validation = requestio.field_validation(args)
    requestio.field_manager(args)
    if method == "PUT":
        if sub == "finalize":
            body = requestio.decoded_body(ctx)
            return requestio.respond(subresources.finalize(ctx, body), 200, ctx, view)
        obj, created = resources.update(ctx, requestio.decoded_body(ctx))
        return requestio.respond(obj, 201 if created else 200, ctx, view)
    if sub == "finalize":
        raise errors.method_not_allowed(method, req.path)
    data, content_type = requestio.body(ctx)
    return requestio.respond(patching.patch(ctx, data, content_type), 200, ctx, view)


def _collection(ctx: resources.Ctx, method: str, verb: str, view, watching: bool):
    rt, args = ctx.rt, ctx.args
    if method == "POST":
        if rt.namespaced and ctx.namespace is None:
            raise errors.method_not_allowed(method, ctx.request.path)
        ctx.field_validation = requestio.field_validation(args)
        requestio.field_manager(args)
        body = requestio.decoded_body(ctx)
        meta = body.get("metadata") if isinstance(body, dict) else None
        body_name = meta.get("name") if isinstance(meta, dict) else None
        authz.authorize(ctx.server, ctx.user, "create", rt, ctx.namespace,
                        body_name if isinstance(body_name, str) else None, None)
        if rt.namespaced:
            subresources.admit_namespace(ctx)
        if rt.group == "" and rt.kind == "Pod":
            subresources.default_tolerations(body, ctx.server.config)
        return requestio.respond(resources.create(ctx, body), 201, ctx, view)
    filter_ = selection.compile_filter(rt, ctx.namespace, args.get("labelSelector"),
                                       args.get("fieldSelector"))
    authz.authorize(ctx.server, ctx.user, verb, rt, ctx.namespace, None, None,
                    pinned_name=filter_.match_name())
    if method == "GET":
        include = tables.check_include(args.get("includeObject"))
        if watching:
            streamer = lists.watch(ctx, filter_, view, include,
                                   ctx.request.environ.get("gunicorn.socket"))
            return Response(streamer.stream(), 200, content_type="application/json",
                            direct_passthrough=True)
        result = lists.list_(ctx, filter_)
        return Response(result.render(rt, view, include), 200,
                        content_type="application/json")
    if method == "DELETE":
        if rt.namespaced and ctx.namespace is None:
            raise errors.method_not_allowed(method, ctx.request.path)
        options = requestio.delete_options(ctx)
        return requestio.respond(lists.delete_collection(ctx, filter_, options), 200, ctx)
    raise errors.method_not_allowed(method, ctx.request.path)

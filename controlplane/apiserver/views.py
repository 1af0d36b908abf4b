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
from werkzeug.datastructures import ImmutableMultiDict

from ..api import registry
from . import (
    authz,
    codec,
    errors,
    lists,
    objects,
    patching,
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


def respond(obj: dict, code: int = 200, ctx: resources.Ctx | None = None,
            view=codec.PLAIN) -> Response:
    if view.table and obj.get("kind") != "Status" and ctx is not None:
        obj = tables.table(ctx.rt, [obj], tables.check_include(request.args.get(
            "includeObject")), view.table_version)
    elif view.partial and obj.get("kind") != "Status":
        obj = tables.partial(obj, view.table_version)
    response = Response(codec.dumps(obj), code, content_type="application/json")
    if ctx is not None and ctx.warnings:
        for warning in ctx.warnings:
            response.headers.add("Warning", f'299 - "{warning}"')
    return response


def _field_validation(args) -> str:
    value = args.get("fieldValidation") or "Warn"
    if value not in ("Strict", "Warn", "Ignore"):
        raise errors.bad_request(f'fieldValidation: Unsupported value: "{value}": supported '
                                 f'values: "Ignore", "Strict", "Warn"')
    return value


def _dry_run(args) -> bool:
    values = args.getlist("dryRun")
    for value in values:
        if value != "All":
            raise errors.bad_request(f'dryRun: Unsupported value: "{value}": supported '
                                     f'values: "All"')
    return bool(values)


def _field_manager(args) -> None:
    manager = args.get("fieldManager")
    if manager is not None and (len(manager) > 128 or not manager.isprintable()):
        raise errors.bad_request("fieldManager: must be at most 128 printable characters")


def _body():
    data = codec.read_body(request.stream, request.content_length)
    return data, request.headers.get("Content-Type")


def _decoded_body(ctx: resources.Ctx):
    data, content_type = _body()
    return codec.decode(data, content_type, strict=ctx.field_validation == "Strict")


def _delete_options(ctx: resources.Ctx) -> resources.DeleteOptions:
    args = ctx.args
    options = resources.DeleteOptions()
    data, content_type = _body()
    body = codec.decode(data, content_type) if data.strip() else {}
    if not isinstance(body, dict):
        raise errors.bad_request("DeleteOptions must be an object")
    if body.get("dryRun"):
        ctx.dry_run = body["dryRun"] == ["All"] or ctx.dry_run
    grace = args.get("gracePeriodSeconds", body.get("gracePeriodSeconds"))
    if grace is not None:
        try:
            options.grace = int(grace)
        except (TypeError, ValueError):
            raise errors.bad_request("gracePeriodSeconds must be an integer") from None
    options.propagation = args.get("propagationPolicy") or body.get("propagationPolicy")
    if body.get("orphanDependents") is True and not options.propagation:
        options.propagation = "Orphan"
    preconditions = body.get("preconditions") or {}
    if not isinstance(preconditions, dict):
        raise errors.bad_request("preconditions must be an object")
    options.uid = preconditions.get("uid")
    options.resource_version = objects.parse_revision(preconditions.get("resourceVersion"))
    return options


_NO_ARGS = ImmutableMultiDict()


def resource_view(version: str, rest: str, group: str = "") -> Response:
    server = current_app.extensions["supernetes"]
    req = request._get_current_object()       # one proxy lookup, not one per attribute
    plural, namespace, name, sub = _parse(rest)
    rt = registry.lookup(group, version, plural)
    if rt is None or (namespace is not None and not rt.namespaced) or (
            rt.namespaced and namespace is None and name is not None):
        raise errors.ApiError(404, "NotFound", _NOT_FOUND)
    if sub is not None and sub not in rt.subresources:
        raise errors.ApiError(404, "NotFound", _NOT_FOUND)
    # Parsing an empty query string still costs a MultiDict: most requests have none.
    args = req.args if req.environ.get("QUERY_STRING") else _NO_ARGS
    method = req.method
    watching = args.get("watch") in ("true", "1")
    collection = name is None
    verb = authz.verb_of(method, collection, watching)
    ctx = resources.Ctx(server, g.user, rt, namespace, name, sub, args)
    ctx.dry_run = _dry_run(args)
    view = codec.negotiate(req.environ.get("HTTP_ACCEPT"))

    if collection:
        return _collection(ctx, method, verb, view, watching)
    if sub is not None and sub not in ("status", "finalize"):
        return subresources.dispatch(ctx, method, view)
    if method not in ("GET", "PUT", "PATCH", "DELETE") or (
            sub is not None and method == "DELETE"):
        raise errors.method_not_allowed(method, request.path)
    authz.authorize(server, ctx.user, verb, rt, namespace, name, sub)
    if method == "GET":
        if view is codec.PLAIN:
            return Response(resources.get_json(ctx), 200, content_type="application/json")
        return respond(resources.get(ctx), 200, ctx, view)
    if method == "DELETE":
        options = _delete_options(ctx)
        obj = resources.delete(ctx, options)
        return respond(obj, 200, ctx, view)
    ctx.field_validation = _field_validation(args)
    _field_manager(args)
    if method == "PUT":
        if sub == "finalize":
            return respond(subresources.finalize(ctx, _decoded_body(ctx)), 200, ctx, view)
        obj, created = resources.update(ctx, _decoded_body(ctx))
        return respond(obj, 201 if created else 200, ctx, view)
    if sub == "finalize":
        raise errors.method_not_allowed(method, request.path)
    data, content_type = _body()
    return respond(patching.patch(ctx, data, content_type), 200, ctx, view)


def _collection(ctx: resources.Ctx, method: str, verb: str, view, watching: bool):
    rt, args = ctx.rt, ctx.args
    if method == "POST":
        if rt.namespaced and ctx.namespace is None:
            raise errors.method_not_allowed(method, request.path)
        ctx.field_validation = _field_validation(args)
        _field_manager(args)
        body = _decoded_body(ctx)
        meta = body.get("metadata") if isinstance(body, dict) else None
        body_name = meta.get("name") if isinstance(meta, dict) else None
        authz.authorize(ctx.server, ctx.user, "create", rt, ctx.namespace,
                        body_name if isinstance(body_name, str) else None, None)
        if rt.namespaced:
            subresources.admit_namespace(ctx)
        if rt.group == "" and rt.kind == "Pod":
            subresources.default_tolerations(body, ctx.server.config)
        return respond(resources.create(ctx, body), 201, ctx, view)
    filter_ = selection.compile_filter(rt, ctx.namespace, args.get("labelSelector"),
                                       args.get("fieldSelector"))
    authz.authorize(ctx.server, ctx.user, verb, rt, ctx.namespace, None, None,
                    pinned_name=filter_.match_name())
    if method == "GET":
        include = tables.check_include(args.get("includeObject"))
        if watching:
            streamer = lists.watch(ctx, filter_, view, include,
                                   request.environ.get("gunicorn.socket"))
            return Response(streamer.stream(), 200, content_type="application/json",
                            direct_passthrough=True)
        result = lists.list_(ctx, filter_)
        return Response(result.render(rt, view, include), 200,
                        content_type="application/json")
    if method == "DELETE":
        if rt.namespaced and ctx.namespace is None:
            raise errors.method_not_allowed(method, request.path)
        options = _delete_options(ctx)
        return respond(lists.delete_collection(ctx, filter_, options), 200, ctx)
    raise errors.method_not_allowed(method, request.path)

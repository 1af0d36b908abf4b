"""Request helpers shared by the resource views: bodies, query options, responses.

Kept apart from `views.py` so that the subresource handlers use the same
reading of bodies and options as the main verbs without importing the views.
"""

from __future__ import annotations

from flask import Response
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.wrappers import Request as WerkzeugRequest

from . import codec, errors, objects, resources, tables


class Query(ImmutableMultiDict):
    """A request's query parameters, as werkzeug parses them, with a cheap `get`.

    werkzeug answers `get` of an absent key by raising and catching a
    BadRequestKeyError, an HTTPException that takes microseconds to build, and
    every request asks for half a dozen options it mostly does not send (watch,
    dryRun, fieldValidation, fieldManager...)."""

    def get(self, key, default=None, type=None):
        if key not in self:
            return default
        return super().get(key, default, type)


class Request(WerkzeugRequest):
    """werkzeug's request, its query parsed into a `Query`."""

    parameter_storage_class = Query


NO_QUERY = Query()


def respond(obj: dict, code: int = 200, ctx: resources.Ctx | None = None,
            view=codec.PLAIN) -> Response:
    if view.table and obj.get("kind") != "Status" and ctx is not None:
        obj = tables.table(ctx.rt, [obj], tables.check_include(ctx.args.get(
            "includeObject")), view.table_version)
    elif view.partial and obj.get("kind") != "Status":
        obj = tables.partial(obj, view.table_version)
    response = Response(codec.dumps(obj), code, content_type="application/json")
    if ctx is not None and ctx.warnings:
        for warning in ctx.warnings:
            response.headers.add("Warning", f'299 - "{warning}"')
    return response


def field_validation(args) -> str:
    value = args.get("fieldValidation") or "Warn"
    if value not in ("Strict", "Warn", "Ignore"):
        raise errors.bad_request(f'fieldValidation: Unsupported value: "{value}": supported '
                                 f'values: "Ignore", "Strict", "Warn"')
    return value


def dry_run(args) -> bool:
    values = args.getlist("dryRun")
    for value in values:
        if value != "All":
            raise errors.bad_request(f'dryRun: Unsupported value: "{value}": supported '
                                     f'values: "All"')
    return bool(values)


def field_manager(args) -> None:
    manager = args.get("fieldManager")
    if manager is not None and (len(manager) > 128 or not manager.isprintable()):
        raise errors.bad_request("fieldManager: must be at most 128 printable characters")


def body(ctx: resources.Ctx):
    request = ctx.request
    data = codec.read_body(request.stream, request.content_length)
    return data, request.headers.get("Content-Type")


def decoded_body(ctx: resources.Ctx):
    data, content_type = body(ctx)
    return codec.decode(data, content_type, strict=ctx.field_validation == "Strict")


def delete_options(ctx: resources.Ctx) -> resources.DeleteOptions:
    args = ctx.args
    options = resources.DeleteOptions()
    data, content_type = body(ctx)
    options_body = codec.decode(data, content_type) if data.strip() else {}
    if not isinstance(options_body, dict):
        raise errors.bad_request("DeleteOptions must be an object")
    if options_body.get("dryRun"):
        ctx.dry_run = options_body["dryRun"] == ["All"] or ctx.dry_run
    grace = args.get("gracePeriodSeconds", options_body.get("gracePeriodSeconds"))
    if grace is not None:
        try:
            options.grace = int(grace)
        except (TypeError, ValueError):
            raise errors.bad_request("gracePeriodSeconds must be an integer") from None
    options.propagation = args.get("propagationPolicy") or options_body.get("propagationPolicy")
    if options_body.get("orphanDependents") is True and not options.propagation:
        options.propagation = "Orphan"
    preconditions = options_body.get("preconditions") or {}
    if not isinstance(preconditions, dict):
        raise errors.bad_request("preconditions must be an object")
    options.uid = preconditions.get("uid")
    options.resource_version = objects.parse_revision(preconditions.get("resourceVersion"))
    return options

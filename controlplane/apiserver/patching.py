"""PATCH: pick the patch flavour from the Content-Type and apply it in the update loop.

    application/json-patch+json             RFC 6902 operations
    application/merge-patch+json            RFC 7386 merge patch
    application/strategic-merge-patch+json  Kubernetes' strategic merge (what
                                            client-side `kubectl apply` sends)
    application/apply-patch+yaml            server-side apply: not yet (415)

The patch is applied to the current object inside `resources.update_loop`, so a
concurrent writer makes us re-read and re-apply rather than lose its change;
a patch that pins `metadata.resourceVersion` gets a 409 instead. The patch
algorithms themselves live in `api.patch`; server-side apply will add a fourth
flavour here that also records field managers.
"""

from __future__ import annotations

from ..api import patch as patchlib
from ..api.errors import PatchError
from . import codec, errors, objects, resources

JSON_PATCH = "application/json-patch+json"
MERGE_PATCH = "application/merge-patch+json"
STRATEGIC = "application/strategic-merge-patch+json"
APPLY = "application/apply-patch+yaml"
SUPPORTED = (JSON_PATCH, MERGE_PATCH, STRATEGIC)


def _apply(rt, kind: str, obj: dict, patch) -> dict:
    try:
        if kind == JSON_PATCH:
            if not isinstance(patch, list):
                raise errors.bad_request("a JSON patch must be a list of operations")
            result = patchlib.json_patch(obj, patch)
        elif kind == MERGE_PATCH:
            if not isinstance(patch, dict):
                raise errors.bad_request("a merge patch must be a JSON object")
            result = patchlib.json_merge_patch(obj, patch)
        else:
            if not isinstance(patch, dict):
                raise errors.bad_request("a strategic merge patch must be a JSON object")
            result = patchlib.strategic_merge_patch(rt, obj, patch)
    except PatchError as exc:
        reason = "BadRequest" if exc.code == 400 else "Invalid"
        raise errors.ApiError(exc.code, reason, str(exc)) from exc
    except RecursionError as exc:
        raise errors.bad_request("the patch nests too deeply") from exc
    if not isinstance(result, dict) or not isinstance(result.get("metadata"), dict):
        raise errors.ApiError(422, "Invalid", "the patch removed the object's metadata")
    return result


def patch(ctx: resources.Ctx, body: bytes, content_type: str | None) -> dict:
    kind = codec.media_type(content_type)
    if kind == APPLY:
        raise errors.ApiError(415, "UnsupportedMediaType",
                              "server-side apply is not supported yet: use client-side "
                              "`kubectl apply` (without --server-side)")
    if kind not in SUPPORTED:
        raise errors.ApiError(415, "UnsupportedMediaType",
                              f"the patch content type {kind or 'none'} is not supported: "
                              f"use one of {', '.join(SUPPORTED)}")
    patch_doc = codec.decode(body, kind)
    pinned = None
    if isinstance(patch_doc, dict) and isinstance(patch_doc.get("metadata"), dict):
        pinned = objects.parse_revision(patch_doc["metadata"].get("resourceVersion"))
    status_only = ctx.sub == "status"

    def change(old: dict) -> dict:
        base = objects.decode_stored(objects.encode_for_store(old), 0)
        base["metadata"].pop("resourceVersion", None)
        new = _apply(ctx.rt, kind, base, patch_doc)
        new = resources.check_incoming(ctx, new, url_name=ctx.name)
        if new["apiVersion"] != ctx.rt.api_version or new["kind"] != ctx.rt.kind:
            raise errors.bad_request("a patch may not change apiVersion or kind")
        return resources.finish_update(ctx, new, old, status_only=status_only)

    obj, _ = resources.update_loop(ctx, change, expected_rv=pinned)
    return obj

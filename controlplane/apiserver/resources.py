"""The verbs on one object: create, get, update (PUT), patch, delete.

This is the metadata machinery of the API server, the same for every type:
uid, generateName, creationTimestamp, resourceVersion (the store's
mod_revision), generation (bumped when anything but metadata and status
changes), deletionTimestamp with finalizers and graceful deletion, optimistic
concurrency (a stale resourceVersion is a 409), status subresources that
change only status while the main resource ignores status, dryRun, and
fieldValidation (unknown fields refused, warned about or ignored). What
differs per kind is asked of `strategy.py`; what an object may contain is
asked of the type (`rt.default`, `rt.validate`, `schema.unknown_fields`); what
a kind reserves outside its object (a Service's cluster IP) of `writehooks.py`.

Every write is a compare-and-swap on the revision that was read: `update_loop`
reads, applies a change, and retries on a lost race unless the client pinned
a resourceVersion, as Kubernetes' GuaranteedUpdate does.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..api import schema
from ..api.errors import FieldError
from ..store import base as store
from . import errors, objects, strategy, writehooks

UPDATE_ATTEMPTS = 16
_SERVER_OWNED = ("uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds",
                 "generation", "selfLink", "resourceVersion")


@dataclass
class Ctx:
    """One request against one resource, as the views parsed it."""

    server: object                      # app.Server: store, cacher, config
    user: object                        # auth.User
    rt: object                          # api.registry.ResourceType
    namespace: str | None
    name: str | None
    sub: str | None
    args: object                        # the query parameters (a MultiDict)
    request: object = None              # the HTTP request (werkzeug's), for its body;
                                        # None when the server acts on its own
    dry_run: bool = False
    field_validation: str = "Warn"
    warnings: list[str] = field(default_factory=list)

    @property
    def store(self) -> store.Store:
        return self.server.store

    @property
    def key(self) -> str:
        return objects.key(self.rt, self.namespace, self.name)


# -- incoming bodies ----------------------------------------------------------------

def check_incoming(ctx: Ctx, obj, *, url_name: str | None) -> dict:
    """Check a create/update body against the URL it was sent to; fill what it omits."""
    rt = ctx.rt
    if not isinstance(obj, dict):
        raise errors.bad_request(f"the body must be a {rt.kind} object")
    api_version, kind = obj.get("apiVersion"), obj.get("kind")
    if api_version is None and kind is None:
        obj["apiVersion"], obj["kind"] = rt.api_version, rt.kind
    elif api_version != rt.api_version:
        raise errors.bad_request(f"the API version in the data ({api_version}) does not "
                                 f"match the expected API version ({rt.api_version})")
    elif kind != rt.kind:
        raise errors.bad_request(f"the kind in the data ({kind}) does not match the "
                                 f"expected kind ({rt.kind})")
    meta = obj.setdefault("metadata", {})
    if not isinstance(meta, dict):
        raise errors.bad_request("metadata must be an object")
    for key_ in ("labels", "annotations"):
        value = meta.get(key_)
        if value is not None and not (isinstance(value, dict) and all(
                isinstance(v, str) for v in value.values())):
            raise errors.invalid(rt, meta.get("name", ""), [_type_error(
                f"metadata.{key_}", "must be a map of strings")])
    if rt.namespaced:
        body_ns = meta.get("namespace")
        if body_ns and body_ns != ctx.namespace:
            raise errors.bad_request("the namespace of the provided object does not match "
                                     "the namespace sent on the request")
        meta["namespace"] = ctx.namespace
    else:
        meta.pop("namespace", None)
    if url_name is not None:
        body_name = meta.get("name")
        if body_name and body_name != url_name:
            raise errors.bad_request(f"the name of the object ({body_name}) does not match "
                                     f"the name on the URL ({url_name})")
        meta["name"] = url_name
    _check_unknown_fields(ctx, obj)
    return obj


def _type_error(path: str, detail: str):
    return FieldError("FieldValueTypeInvalid", path, detail)


def _check_unknown_fields(ctx: Ctx, obj: dict) -> None:
    if ctx.field_validation == "Ignore":
        return
    unknown = [p.lstrip(".") for p in schema.unknown_fields(ctx.rt, obj)]
    if not unknown:
        return
    if ctx.field_validation == "Strict":
        listed = ", ".join(f'unknown field "{p}"' for p in unknown)
        raise errors.bad_request(f"strict decoding error: {listed}")
    ctx.warnings.extend(f'unknown field "{p}"' for p in unknown)


def _validate(ctx: Ctx, obj: dict, old: dict | None, well_typed: bool) -> None:
    problems = ctx.rt.validate(obj, old, ctx.sub if ctx.sub == "status" else "",
                               well_typed=well_typed)
    if problems:
        raise errors.invalid(ctx.rt, obj["metadata"].get("name", ""), problems)


# -- create ---------------------------------------------------------------------------

def create(ctx: Ctx, obj: dict) -> dict:
    rt = ctx.rt
    obj = check_incoming(ctx, obj, url_name=None)
    meta = obj["metadata"]
    for owned in _SERVER_OWNED:
        meta.pop(owned, None)
    meta.pop("managedFields", None)
    generate = meta.get("generateName") if not meta.get("name") else None
    if generate is not None and not isinstance(generate, str):
        raise errors.invalid(rt, "", [FieldError(
            "FieldValueTypeInvalid", "metadata.generateName", "must be a string",
            value=generate)])
    if not meta.get("name") and not generate:
        raise errors.invalid(rt, "", [FieldError(
            "FieldValueRequired", "metadata.name", "name or generateName is required")])
    meta["uid"] = objects.new_uid()
    meta["creationTimestamp"] = objects.now()
    if strategy.uses_generation(rt):
        meta["generation"] = 1
    well_typed = rt.default(obj)
    strategy.prepare_create(rt, obj, well_typed=well_typed)
    for attempt in range(8 if generate else 1):
        if generate:
            meta["name"] = objects.generate_name(generate)
        _validate(ctx, obj, None, well_typed)
        ctx.name = meta["name"]
        finish = writehooks.of(ctx).begin_create(ctx, obj)
        if ctx.dry_run:
            finish(False)
            return obj
        try:
            revision = ctx.store.create(ctx.key, objects.encode_for_store(obj))
        except store.KeyExists as exc:
            finish(False)
            if generate and attempt < 7:
                continue
            raise errors.already_exists(rt, meta["name"]) from exc
        except store.StoreError as exc:
            finish(False)
            raise errors.from_store(exc, rt, meta["name"]) from exc
        finish(True)
        meta["resourceVersion"] = str(revision)
        return obj
    raise AssertionError("unreachable")


# -- get --------------------------------------------------------------------------------

def fetch(ctx: Ctx) -> store.KeyValue:
    """The stored object at the request's key; 404 when there is none."""
    try:
        kv = ctx.store.get(ctx.key)
    except store.StoreError as exc:
        raise errors.from_store(exc, ctx.rt, ctx.name) from exc
    if kv is None:
        raise errors.not_found(ctx.rt, ctx.name)
    return kv


def read(ctx: Ctx) -> tuple[dict, store.KeyValue]:
    kv = fetch(ctx)
    return objects.decode_stored(kv.value, kv.mod_revision), kv


def get(ctx: Ctx) -> dict:
    return read(ctx)[0]


def get_json(ctx: Ctx) -> bytes:
    """GET's fast path: the stored bytes with the resourceVersion spliced in."""
    kv = fetch(ctx)
    return objects.with_revision(kv.value, kv.mod_revision)


# -- update -------------------------------------------------------------------------------

def finish_update(ctx: Ctx, new: dict, old: dict, *, status_only: bool) -> dict:
    """Apply the machinery to an updated object: what the client may not change stays."""
    rt = ctx.rt
    if status_only:
        result = objects.decode_stored(objects.encode_for_store(old), 0)
        result["status"] = new.get("status", {})
        new = result
    new["apiVersion"], new["kind"] = rt.api_version, rt.kind
    meta, old_meta = new["metadata"], old["metadata"]
    for owned in _SERVER_OWNED:
        if owned in old_meta:
            meta[owned] = old_meta[owned]
        else:
            meta.pop(owned, None)
    meta.pop("managedFields", None)
    meta["name"] = old_meta["name"]
    if rt.namespaced:
        meta["namespace"] = old_meta.get("namespace")
    if rt.has_status and not status_only:
        if "status" in old:
            new["status"] = old["status"]
        else:
            new.pop("status", None)
    well_typed = rt.default(new)
    rt.prepare_for_update(new, old, well_typed=well_typed)
    if "generation" in old_meta and (
            objects.content_without_meta(new) != objects.content_without_meta(old)):
        meta["generation"] = old_meta["generation"] + 1
    if old_meta.get("deletionTimestamp"):
        added = set(meta.get("finalizers") or ()) - set(old_meta.get("finalizers") or ())
        if added:
            raise errors.invalid(rt, old_meta["name"], [FieldError(
                "FieldValueForbidden", "metadata.finalizers",
                "no new finalizers can be added if the object is being deleted")])
    _validate(ctx, new, old, well_typed)
    return new


def update_loop(ctx: Ctx, change, *, expected_rv: int | None = None,
                create_missing=None) -> tuple[dict, bool]:
    """Read, change, compare-and-swap; retry lost races. Returns (object, created).

    `change(old)` returns the new object (the machinery is applied after it).
    `create_missing()` returns a body to create when the object does not exist
    (PUT's create-on-update), or None for a 404.
    """
    for _ in range(UPDATE_ATTEMPTS):
        try:
            kv = ctx.store.get(ctx.key)
        except store.StoreError as exc:
            raise errors.from_store(exc, ctx.rt, ctx.name) from exc
        if kv is None:
            if create_missing is not None:
                body = create_missing()
                if body is not None:
                    return create(ctx, body), True
            raise errors.not_found(ctx.rt, ctx.name)
        if expected_rv is not None and expected_rv != kv.mod_revision:
            raise errors.conflict(ctx.rt, ctx.name)
        old = objects.decode_stored(kv.value, kv.mod_revision)
        new = change(objects.decode_stored(kv.value, kv.mod_revision))
        finish = writehooks.of(ctx).begin_update(ctx, new, old)
        data = objects.encode_for_store(new)
        if data == kv.value:
            finish(False)
            return old, False                       # nothing changed: no write, no event
        if ctx.dry_run:
            finish(False)
            return new, False
        try:
            revision = ctx.store.update(ctx.key, data, kv.mod_revision)
        except store.RevisionConflict:
            finish(False)
            if expected_rv is not None:
                raise errors.conflict(ctx.rt, ctx.name) from None
            continue
        except store.KeyNotFound:
            finish(False)
            continue
        except store.StoreError as exc:
            finish(False)
            raise errors.from_store(exc, ctx.rt, ctx.name) from exc
        finish(True)
        new["metadata"]["resourceVersion"] = str(revision)
        if _finalized(new):
            _delete_now(ctx, revision, new)
        return new, False
    raise errors.conflict(ctx.rt, ctx.name, "too many concurrent updates; try again")


def update(ctx: Ctx, body: dict) -> tuple[dict, bool]:
    """PUT: replace the object (or its status, for the status subresource)."""
    body = check_incoming(ctx, body, url_name=ctx.name)
    status_only = ctx.sub == "status"
    expected = objects.parse_revision(body["metadata"].get("resourceVersion"))

    def change(old: dict) -> dict:
        return finish_update(ctx, body, old, status_only=status_only)

    def create_missing():
        if status_only or not strategy.allow_create_on_update(ctx.rt):
            return None
        return body

    return update_loop(ctx, change, expected_rv=expected, create_missing=create_missing)


# -- delete ---------------------------------------------------------------------------------

def _finalized(obj: dict) -> bool:
    """Marked for deletion, no finalizer left, no grace period running: remove it."""
    meta = obj["metadata"]
    return bool(meta.get("deletionTimestamp")) and not meta.get("finalizers") and \
        not meta.get("deletionGracePeriodSeconds") and not _namespace_finalizers(obj)


def _namespace_finalizers(obj: dict) -> bool:
    return obj.get("kind") == "Namespace" and bool((obj.get("spec") or {}).get("finalizers"))


def _delete_now(ctx: Ctx, revision: int, obj: dict) -> None:
    try:
        ctx.store.delete(ctx.key, revision)
    except (store.KeyNotFound, store.RevisionConflict):
        return                                      # someone else changed or removed it
    except store.StoreError as exc:
        raise errors.from_store(exc, ctx.rt, ctx.name) from exc
    writehooks.of(ctx).after_delete(ctx, obj)


@dataclass
class DeleteOptions:
    grace: int | None = None
    propagation: str | None = None
    uid: str | None = None
    resource_version: int | None = None


def delete(ctx: Ctx, options: DeleteOptions) -> dict:
    """Delete now, or mark for deletion when finalizers or a grace period say wait."""
    rt = ctx.rt
    extra = strategy.finalizers_for_propagation(options.propagation)
    for _ in range(UPDATE_ATTEMPTS):
        obj, kv = read(ctx)
        meta = obj["metadata"]
        if options.uid is not None and options.uid != meta.get("uid"):
            raise errors.conflict(rt, ctx.name, f"Precondition failed: UID in precondition: "
                                  f"{options.uid}, UID in object meta: {meta.get('uid')}")
        if options.resource_version is not None and options.resource_version != kv.mod_revision:
            raise errors.conflict(rt, ctx.name, "Precondition failed: ResourceVersion in "
                                  f"precondition: {options.resource_version}, ResourceVersion "
                                  f"in object meta: {kv.mod_revision}")
        grace = strategy.grace_period(rt, obj, options.grace)
        finalizers = list(meta.get("finalizers") or ())
        if not meta.get("deletionTimestamp"):
            finalizers += [f for f in extra if f not in finalizers]
        waiting = finalizers or grace > 0 or _namespace_finalizers(obj)
        if not waiting:
            if ctx.dry_run:
                return obj
            try:
                ctx.store.delete(ctx.key, kv.mod_revision)
            except (store.RevisionConflict, store.KeyNotFound):
                continue
            except store.StoreError as exc:
                raise errors.from_store(exc, rt, ctx.name) from exc
            writehooks.of(ctx).after_delete(ctx, obj)
            return obj
        current = meta.get("deletionGracePeriodSeconds")
        if meta.get("deletionTimestamp") and (current is None or grace >= current):
            return obj                              # already being deleted, no sooner
        meta["deletionTimestamp"] = objects.later(grace)
        meta["deletionGracePeriodSeconds"] = grace
        if finalizers:
            meta["finalizers"] = finalizers
        if strategy.is_kind(rt, "", "Namespace"):
            obj.setdefault("status", {})["phase"] = "Terminating"
            ctx.server.namespace_deleted(ctx.name)
        if ctx.dry_run:
            return obj
        try:
            revision = ctx.store.update(ctx.key, objects.encode_for_store(obj), kv.mod_revision)
        except (store.RevisionConflict, store.KeyNotFound):
            continue
        except store.StoreError as exc:
            raise errors.from_store(exc, rt, ctx.name) from exc
        meta["resourceVersion"] = str(revision)
        return obj
    raise errors.conflict(rt, ctx.name, "too many concurrent updates; try again")

"""Collections: list (with selectors, pagination and resourceVersion semantics),
watch, and deletecollection.

Where a list is served from:

    resourceVersion   resourceVersionMatch   served from
    unset             -                      the watch cache once it has caught up
                                             with the store's current revision
                                             (a consistent read), else the store
    "0"               -                      the watch cache as it is (any version)
    N                 NotOlderThan / unset   the watch cache once it has seen N
    N                 Exact                  the store at revision N (410 if compacted)
    continue token    -                      the store at the token's revision

A first page from the cache carries a continue token with the cache's revision,
so the next pages are read from the store at that same revision: the pages
form one consistent snapshot, as in Kubernetes. The token is opaque to clients
(base64 of the revision and the last key, relative to the list's prefix) and a
410 Expired once that revision has been compacted.

Lists from the cache are assembled from the cached JSON bytes without decoding
a single object, which is what makes a 1000-pod list cheap.
"""

from __future__ import annotations

import base64
import binascii
import json

from ..store import base as store
from . import codec, errors, objects, resources, selection, tables
from .watch import Streamer, WatchRequest

CONSISTENT_WAIT = 0.5           # seconds a list waits for the cache to catch up
NOT_OLDER_WAIT = 3.0            # Kubernetes waits up to 3 s for a future resourceVersion


def encode_continue(revision: int, prefix: str, last_key: str) -> str:
    raw = json.dumps({"v": 1, "rv": revision, "start": last_key[len(prefix):]})
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_continue(token: str, prefix: str) -> tuple[int, str]:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        data = json.loads(raw)
        revision, start = int(data["rv"]), str(data["start"])
    except (binascii.Error, ValueError, KeyError, TypeError) as exc:
        raise errors.bad_request(f"continue key is not valid: {exc}") from exc
    if revision <= 0 or not start:
        raise errors.bad_request("continue key is not valid: bad revision or key")
    return revision, prefix + start


class ListResult:
    """Items as cached bytes (fast path) or decoded objects, plus list metadata."""

    def __init__(self, revision: int, entries=None, objs=None, raw=None,
                 cont: str | None = None):
        self.revision = revision
        self.entries = entries            # cache entries (their JSON is ready)
        self.objs = objs or []            # decoded objects
        self.raw = raw or []              # JSON bytes
        self.cont = cont

    def meta(self) -> dict:
        meta = {"resourceVersion": str(self.revision)}
        if self.cont:
            meta["continue"] = self.cont
        return meta

    def objects(self) -> list[dict]:
        if self.entries is not None:
            return [e.object() for e in self.entries]
        return [codec.loads(r) for r in self.raw] + self.objs

    def render(self, rt, view, include: str) -> bytes:
        if view.table:
            return codec.dumps(tables.table(rt, self.objects(), include, view.table_version,
                                            self.meta()))
        if view.partial:
            return codec.dumps(tables.partial_list(self.objects(), self.meta(),
                                                   view.table_version))
        head = codec.dumps({"kind": rt.kind + "List", "apiVersion": rt.api_version,
                            "metadata": self.meta()})[:-1] + b',"items":['
        if self.entries is not None:
            items = [e.data for e in self.entries]
        else:
            items = self.raw + [codec.dumps(o) for o in self.objs]
        # One join, so a large list is copied once.
        parts = [head]
        for item in items:
            parts += (item, b",")
        if items:
            parts[-1] = b"]}"
        else:
            parts.append(b"]}")
        return b"".join(parts)


def _int_arg(args, name: str) -> int | None:
    value = args.get(name)
    if value in (None, ""):
        return None
    try:
        number = int(value)
    except ValueError:
        raise errors.bad_request(f'invalid {name} "{value}": must be an integer') from None
    if number < 0:
        raise errors.bad_request(f"{name} must not be negative")
    return number


def list_(ctx: resources.Ctx, filter_: selection.Filter) -> ListResult:
    args, cacher, rt = ctx.args, ctx.server.cacher, ctx.rt
    rv = objects.parse_revision(args.get("resourceVersion"))
    match = args.get("resourceVersionMatch") or None
    limit = _int_arg(args, "limit") or 0
    token = args.get("continue") or None
    prefix = objects.list_prefix(rt, filter_.namespace)
    if match not in (None, "Exact", "NotOlderThan"):
        raise errors.bad_request(f'resourceVersionMatch: Unsupported value: "{match}"')
    if match and rv is None:
        raise errors.bad_request("resourceVersionMatch is forbidden unless resourceVersion "
                                 "is provided")
    if token:
        if rv not in (None, 0):
            raise errors.bad_request("specifying resource version is not allowed when "
                                     "using continue")
        revision, start = decode_continue(token, prefix)
        return _from_store(ctx, filter_, prefix, revision, start, limit)
    if match == "Exact":
        if rv == 0:
            raise errors.bad_request('resourceVersionMatch "Exact" is forbidden for '
                                     'resourceVersion "0"')
        return _from_store(ctx, filter_, prefix, rv, None, limit)
    if rv == 0:
        cached = True
    elif rv is None:
        cached = cacher.fresh(CONSISTENT_WAIT)
    else:
        cached = cacher.wait_for(rv, NOT_OLDER_WAIT)
        if not cached and ctx.store.revision() < rv:
            raise errors.timeout(f"Too large resource version: {rv}, current: "
                                 f"{ctx.store.revision()}")
    if not cached:
        return _from_store(ctx, filter_, prefix, 0, None, limit)
    entries, revision = cacher.snapshot(rt, filter_)
    cont = None
    if limit and len(entries) > limit and rv != 0:
        entries = entries[:limit]
        cont = encode_continue(revision, prefix, entries[-1].key)
    return ListResult(revision, entries=entries, cont=cont)


def _from_store(ctx, filter_, prefix: str, revision: int, start: str | None,
                limit: int) -> ListResult:
    """Read a list (or one page) from the store; `revision` 0 means current."""
    rt = ctx.rt
    batch = max(limit, 256) if limit else 0
    raw: list[bytes] = []                 # unfiltered lists never parse an object
    found: list[dict] = []
    cont = None
    while True:
        try:
            kvs, revision = ctx.store.list(prefix, start_after=start, limit=batch,
                                           revision=revision)
        except store.Compacted as exc:
            raise errors.expired(
                "The provided continue parameter is too old to display a consistent list "
                "result. You can start a new list without the continue parameter."
                if start else f"too old resource version: {exc.requested} "
                              f"({exc.compacted})") from exc
        except store.StoreError as exc:
            raise errors.from_store(exc, rt, "") from exc
        for i, kv in enumerate(kvs):
            if filter_.everything:
                raw.append(objects.with_revision(kv.value, kv.mod_revision))
            else:
                obj = objects.decode_stored(kv.value, kv.mod_revision)
                meta = obj["metadata"]
                if not filter_.matches(meta.get("namespace", ""), meta.get("labels") or {},
                                       selection.field_values(rt, obj)):
                    continue
                found.append(obj)
            if limit and len(raw) + len(found) == limit:
                if i < len(kvs) - 1 or len(kvs) == batch:
                    cont = encode_continue(revision, prefix, kv.key)
                return ListResult(revision, objs=found, raw=raw, cont=cont)
        if not batch or len(kvs) < batch:
            return ListResult(revision, objs=found, raw=raw)
        start = kvs[-1].key


def watch(ctx: resources.Ctx, filter_: selection.Filter, view, include: str,
          socket) -> Streamer:
    args, cacher = ctx.args, ctx.server.cacher
    rv = objects.parse_revision(args.get("resourceVersion"))
    timeout = _int_arg(args, "timeoutSeconds")
    bookmarks = args.get("allowWatchBookmarks") in ("true", "1")
    send_initial = args.get("sendInitialEvents")
    initial = rv in (None, 0) or send_initial == "true"
    if send_initial == "true" and args.get("resourceVersionMatch") != "NotOlderThan":
        raise errors.bad_request("sendInitialEvents requires resourceVersionMatch=NotOlderThan")
    if rv is None or (initial and rv):
        cacher.wait_for(rv or ctx.store.revision(), NOT_OLDER_WAIT)
    elif rv and not cacher.wait_for(rv, NOT_OLDER_WAIT) and ctx.store.revision() < rv:
        raise errors.timeout(f"Too large resource version: {rv}, current: "
                             f"{ctx.store.revision()}")
    request = WatchRequest(ctx.rt, filter_, view, revision=None if initial else rv,
                           initial=initial, timeout=timeout, bookmarks=bookmarks,
                           initial_end_bookmark=send_initial == "true" and bookmarks,
                           socket=socket, include=include,
                           bookmark_interval=ctx.server.config.bookmark_interval)
    return Streamer(cacher, request)


def delete_collection(ctx: resources.Ctx, filter_: selection.Filter,
                      options: resources.DeleteOptions) -> dict:
    result = _from_store(ctx, filter_, objects.list_prefix(ctx.rt, filter_.namespace),
                         0, None, 0)
    deleted = []
    for obj in result.objects():
        meta = obj["metadata"]
        ctx.namespace = meta.get("namespace") if ctx.rt.namespaced else None
        ctx.name = meta["name"]
        try:
            deleted.append(resources.delete(ctx, options))
        except errors.ApiError as exc:
            if exc.code != 404:         # gone meanwhile: that is what was asked
                raise
    return {"kind": ctx.rt.kind + "List", "apiVersion": ctx.rt.api_version,
            "metadata": {"resourceVersion": str(result.revision)}, "items": deleted}

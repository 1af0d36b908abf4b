"""The etcd v3 backend: the store for users who outgrow one machine.

Every call is one request to etcd's JSON gateway (etcd_client.py). The guarded
writes are transactions whose compare clause is the guard, so they are atomic in
etcd and several API server processes can share one cluster safely:

    create      compare create_revision(key) == 0        then put
    update      compare mod_revision(key) == expected    then put
                (or create_revision(key) > 0 with no expected revision)
    delete      the same compares                        then delete, returning prev_kv

A failed compare reads the key back in the same transaction, to tell KeyNotFound
from RevisionConflict and to name the current revision. Watches go through the
process's hub, fed by one etcd watch (etcd_watch.py). Compaction is etcd's own
(`/v3/kv/compaction`), driven by the same background compactor as SQLite, every
five minutes by default as kube-apiserver does; defragmenting etcd's file is left
to its operator, as with Kubernetes.
"""

from __future__ import annotations

from collections.abc import Callable

from .base import (
    Compacted,
    FutureRevision,
    KeyExists,
    KeyNotFound,
    KeyValue,
    RevisionConflict,
    Store,
    Unavailable,
    Watch,
    check_key,
)
from .compactor import Compactor
from .etcd_client import EtcdClient, GatewayError, b64, kv_from, range_end
from .etcd_watch import Feed, StreamWatch
from .hub import Hub
from .watcher import OutOfRing


class EtcdStore(Store):
    def __init__(self, endpoints: list[str], *, timeout: float = 10.0,
                 retention: float = 300.0, max_revisions: int = 0,
                 compact_interval: float = 300.0, ring_size: int = 4096,
                 max_pending: int = 10_000):
        self._client = EtcdClient(endpoints, timeout)
        self._closed = False
        self._max_pending = max_pending
        try:
            self._hub = Hub(self.revision(), None, ring_size=ring_size, max_pending=max_pending)
            self._feed = Feed(self._client, self._hub)
        except BaseException:
            self._client.close()
            raise
        self._compactor = None
        if compact_interval > 0:
            self._compactor = Compactor(self, retention=retention, max_revisions=max_revisions,
                                        interval=compact_interval)

    # -- reads -------------------------------------------------------------------

    def get(self, key: str) -> KeyValue | None:
        kvs = self._call("kv/range", {"key": b64(key)}).get("kvs")
        return kv_from(kvs[0]) if kvs else None

    def list(self, prefix: str, *, start_after: str | None = None, limit: int = 0,
             revision: int = 0) -> tuple[list[KeyValue], int]:
        first = prefix
        if start_after is not None and start_after >= prefix:
            first = start_after + "\0"        # the smallest key after start_after
        body: dict = {"key": b64(first or "\0"), "range_end": range_end(prefix)}
        if limit:
            body["limit"] = limit
        if revision:
            body["revision"] = revision
        try:
            answer = self._call("kv/range", body)
        except GatewayError as exc:
            if exc.compacted:
                raise Compacted(revision, self._client.compacted_below(revision)) from exc
            if exc.future:
                raise FutureRevision(revision, self.revision()) from exc
            raise
        items = [kv_from(raw) for raw in answer.get("kvs", ())]
        return items, revision or int(answer["header"]["revision"])

    def revision(self) -> int:
        answer = self._call("kv/range", {"key": b64("\0"), "count_only": True})
        return int(answer["header"]["revision"])

    # -- writes ------------------------------------------------------------------

    def create(self, key: str, value: bytes) -> int:
        check_key(key)
        answer = self._txn(key, _compare(key, "CREATE", "EQUAL", 0),
                           {"request_put": {"key": b64(key), "value": b64(value)}})
        if not answer.get("succeeded"):
            raise KeyExists(key)
        return int(answer["header"]["revision"])

    def update(self, key: str, value: bytes, expected_revision: int = 0) -> int:
        check_key(key)
        answer = self._txn(key, _guard(key, expected_revision),
                           {"request_put": {"key": b64(key), "value": b64(value)}})
        if not answer.get("succeeded"):
            self._guard_failed(key, answer)
        return int(answer["header"]["revision"])

    def delete(self, key: str, expected_revision: int = 0) -> tuple[int, KeyValue]:
        check_key(key)
        answer = self._txn(key, _guard(key, expected_revision),
                           {"request_delete_range": {"key": b64(key), "prev_kv": True}})
        if not answer.get("succeeded"):
            self._guard_failed(key, answer)
        deleted = answer["responses"][0]["response_delete_range"]
        return int(answer["header"]["revision"]), kv_from(deleted["prev_kvs"][0])

    def compact(self, revision: int) -> None:
        try:
            self._call("kv/compaction", {"revision": revision})
        except GatewayError as exc:
            if exc.future:
                raise FutureRevision(revision, self.revision()) from exc
            if not exc.compacted:     # compacted already, maybe by another process
                raise
        self._hub.compacted(revision)

    # -- watches -----------------------------------------------------------------

    def watch(self, prefix: str, from_revision: int, *,
              index: tuple[str, str] | None = None) -> Watch:
        if self._closed:
            raise Unavailable("store is closed")
        try:
            return self._hub.watch(prefix, from_revision, index)
        except OutOfRing:
            select = self._hub.selector(index) if index else None
            return StreamWatch(self._client, prefix, from_revision, self._max_pending, select)

    def add_index(self, name: str, function: Callable[[KeyValue], str | None]) -> None:
        self._hub.add_index(name, function)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._compactor is not None:
            self._compactor.stop()
        self._feed.close()
        self._hub.close()
        self._client.close()

    # -- internals ---------------------------------------------------------------

    def _call(self, method: str, body: dict) -> dict:
        if self._closed:
            raise Unavailable("store is closed")
        return self._client.call(method, body)

    def _txn(self, key: str, compare: dict, then: dict) -> dict:
        return self._call("kv/txn", {"compare": [compare], "success": [then],
                                     "failure": [{"request_range": {"key": b64(key)}}]})

    def _guard_failed(self, key: str, answer: dict) -> None:
        kvs = answer["responses"][0]["response_range"].get("kvs")
        if not kvs:
            raise KeyNotFound(key)
        raise RevisionConflict(key, kv_from(kvs[0]).mod_revision)


def _compare(key: str, target: str, result: str, revision: int) -> dict:
    field = {"CREATE": "create_revision", "MOD": "mod_revision"}[target]
    return {"key": b64(key), "target": target, "result": result, field: str(revision)}


def _guard(key: str, expected_revision: int) -> dict:
    if expected_revision:
        return _compare(key, "MOD", "EQUAL", expected_revision)
    return _compare(key, "CREATE", "GREATER", 0)     # the key exists

"""The store interface (SuperCache): a versioned key-value store with watch.

Modelled on etcd v3, which both backends must be able to implement: one global
revision counter bumped by every write; each key remembers the revision that
created it and the revision that last modified it; reads can be served at the
current revision; watches replay every change after a given revision, in order,
with no gap and no duplicate, until that revision has been compacted away.

Keys are strings such as `/registry/pods/default/web-1`; values are bytes (the
API server stores JSON). The API server's `resourceVersion` is a key's
`mod_revision`, and a list's `resourceVersion` is the store revision it was read at.

Errors (all `StoreError`):

    StoreError
    +-- KeyExists        create() of a key that exists
    +-- KeyNotFound      update()/delete() of a key that does not exist
    +-- RevisionConflict update()/delete() whose expected revision is stale
    +-- Compacted        watch() or list() at a revision older than what is kept
    +-- FutureRevision   list() at a revision the store has not reached yet
    +-- Unavailable      the backend cannot be reached (etcd down, disk error)

Compaction follows etcd exactly: after compact(C) the state at C stays readable
(list at revision >= C works, below raises Compacted) and so do the events from C
on (watch from revision >= C - 1 works, below raises Compacted).
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Iterator
from dataclasses import dataclass


class StoreError(Exception):
    """Base of every store error."""


class KeyExists(StoreError):
    pass


class KeyNotFound(StoreError):
    pass


class RevisionConflict(StoreError):
    def __init__(self, key: str, current: int):
        super().__init__(f"{key}: revision conflict (current revision {current})")
        self.key = key
        self.current = current


class Compacted(StoreError):
    def __init__(self, requested: int, compacted: int):
        super().__init__(f"revision {requested} is compacted (oldest kept: {compacted})")
        self.requested = requested
        self.compacted = compacted


class FutureRevision(StoreError):
    def __init__(self, requested: int, current: int):
        super().__init__(f"revision {requested} is newer than the store (current {current})")
        self.requested = requested
        self.current = current


class Unavailable(StoreError):
    pass


def check_key(key: str) -> str:
    """Refuse what cannot be a key, in the caller's thread, before any I/O."""
    if not isinstance(key, str) or not key:
        raise TypeError(f"store keys are non-empty strings, not {key!r}")
    return key


@dataclass(frozen=True)
class KeyValue:
    key: str
    value: bytes
    create_revision: int
    mod_revision: int


@dataclass(frozen=True)
class Event:
    """One change. `type` is "PUT" (create or update) or "DELETE".

    `kv.mod_revision` is the revision of the change; on DELETE `kv.value` is the
    last value the key had and `kv.mod_revision` is the revision of the delete.
    `prev` is the value before the change (None for a create).
    """

    type: str
    kv: KeyValue
    prev: KeyValue | None = None


class Watch(abc.ABC):
    """An open watch: iterate to receive events; close() from any thread ends it.

    Iteration ends when the watch (or its store) is closed. It raises Compacted when
    the watch fell so far behind that the events it still needs are gone (the API
    server answers 410 Gone and the client relists), Unavailable when the backend
    was lost.

    `next(timeout)` is the same stream with a deadline, for callers that must act
    while no event comes (an API server sending bookmarks or honouring
    `timeoutSeconds`); `revision` says how far the stream is known to be complete.
    """

    def __iter__(self) -> Iterator[Event]:
        while (event := self.next()) is not None:
            yield event

    @abc.abstractmethod
    def next(self, timeout: float | None = None) -> Event | None:
        """The next event; None when `timeout` seconds pass first or the watch is closed."""

    @property
    @abc.abstractmethod
    def revision(self) -> int:
        """Every event at or below this revision has been returned (a bookmark is safe)."""

    @property
    @abc.abstractmethod
    def closed(self) -> bool: ...

    @abc.abstractmethod
    def close(self) -> None: ...


class Store(abc.ABC):
    """The one seam between the API server and its storage."""

    # Reads answer from this machine in microseconds (no network round trip): the
    # API server may then serve a GET without handing it to a thread (SQLite: yes).
    local_reads = False

    @abc.abstractmethod
    def get(self, key: str) -> KeyValue | None: ...

    @abc.abstractmethod
    def list(self, prefix: str, *, start_after: str | None = None, limit: int = 0,
             revision: int = 0) -> tuple[list[KeyValue], int]:
        """Keys under `prefix` in key order, after `start_after`, at most `limit` (0 = all).

        Read at `revision` (0 = current) and return (items, revision read at), so a
        paginated list stays one consistent snapshot. Raises Compacted when
        `revision` is older than the oldest kept, FutureRevision when it is newer
        than the store.
        """

    @abc.abstractmethod
    def create(self, key: str, value: bytes) -> int:
        """Create `key`; return the new revision. Raises KeyExists."""

    @abc.abstractmethod
    def update(self, key: str, value: bytes, expected_revision: int = 0) -> int:
        """Replace `key` if its mod_revision equals `expected_revision` (0 = any).

        Returns the new revision. Raises KeyNotFound or RevisionConflict.
        """

    @abc.abstractmethod
    def delete(self, key: str, expected_revision: int = 0) -> tuple[int, KeyValue]:
        """Delete `key` (guarded like update).

        Returns (revision of the delete, the key as it was before it).
        """

    @abc.abstractmethod
    def watch(self, prefix: str, from_revision: int, *,
              index: tuple[str, str] | None = None) -> Watch:
        """Every event under `prefix` with revision > `from_revision`, then live ones.

        Raises Compacted when events after `from_revision` are no longer kept. To
        watch only what happens from now on, pass `revision()` (or the revision a
        list returned, which is how an informer avoids a gap between list and watch).

        `index=(name, value)` narrows the watch to the events whose key has `value`
        in the index `name` (see add_index) before or after the change, so a key
        moving out of the selection is seen too. This is how hundreds of node
        agents each watch their own pods without every pod event being handed to
        every one of them; the caller still applies its full selector.
        """

    @abc.abstractmethod
    def add_index(self, name: str, function: Callable[[KeyValue], str | None]) -> None:
        """Make `name` usable in watch(index=...): `function(kv)` is the key's value
        in that index (None: in none). It runs once per change, never per watcher;
        an exception counts as None.
        """

    @abc.abstractmethod
    def revision(self) -> int:
        """The current global revision."""

    @abc.abstractmethod
    def compact(self, revision: int) -> None:
        """Forget history older than `revision`; current values are kept.

        Afterwards list() below `revision` and watch() from below `revision - 1`
        raise Compacted. Compacting to a revision at or below an earlier compaction
        does nothing; a revision newer than the store raises FutureRevision.
        """

    @abc.abstractmethod
    def close(self) -> None: ...

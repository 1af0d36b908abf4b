"""The informer's local copy of a resource: a thread-safe store with indexes.

Objects are kept by key (`namespace/name`, or `name` for cluster-scoped ones) and,
for each index, by the values an index function returns for them: `namespace`
is always there; a scheduler adds `spec.nodeName` with

    cache.add_index("node", lambda pod: [pod["spec"].get("nodeName", "")])

and then asks `cache.by_index("node", "node-1")`. Index functions return a list
because one object may sit under several values (a pod under each of its PVCs).

Readers get the stored dicts themselves, not copies: they are shared by every
reader, so callers must never mutate them (copy.deepcopy before changing one,
as sample-controller's `DeepCopy` rule says). Only the informer writes.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable

IndexFunc = Callable[[dict], Iterable[str]]


def object_key(obj: dict) -> str:
    meta = obj.get("metadata") or {}
    namespace = meta.get("namespace")
    return f"{namespace}/{meta.get('name', '')}" if namespace else meta.get("name", "")


def split_key(key: str) -> tuple[str | None, str]:
    namespace, sep, name = key.rpartition("/")
    return (namespace if sep else None), name


def namespace_index(obj: dict) -> list[str]:
    return [(obj.get("metadata") or {}).get("namespace") or ""]


class Indexer:
    def __init__(self, indexers: dict[str, IndexFunc] | None = None):
        self._lock = threading.RLock()
        self._items: dict[str, dict] = {}
        self._indexers: dict[str, IndexFunc] = {"namespace": namespace_index}
        self._indexers.update(indexers or {})
        # index name -> value -> set of keys
        self._indices: dict[str, dict[str, set[str]]] = {name: {} for name in self._indexers}

    # -- reads ---------------------------------------------------------------------

    def get(self, key: str) -> dict | None:
        with self._lock:
            return self._items.get(key)

    def get_by_name(self, name: str, namespace: str | None = None) -> dict | None:
        return self.get(f"{namespace}/{name}" if namespace else name)

    def list(self) -> list[dict]:
        with self._lock:
            return list(self._items.values())

    def keys(self) -> list[str]:
        with self._lock:
            return list(self._items)

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)

    def __contains__(self, key: str) -> bool:
        with self._lock:
            return key in self._items

    def by_index(self, index: str, value: str) -> list[dict]:
        with self._lock:
            keys = self._indices[index].get(value, ())
            return [self._items[k] for k in keys]

    def index_keys(self, index: str, value: str) -> list[str]:
        with self._lock:
            return sorted(self._indices[index].get(value, ()))

    def index_values(self, index: str) -> list[str]:
        with self._lock:
            return [v for v, keys in self._indices[index].items() if keys]

    # -- writes (the informer's) -----------------------------------------------------

    def has_index(self, name: str) -> bool:
        with self._lock:
            return name in self._indexers

    def add_index(self, name: str, func: IndexFunc) -> None:
        with self._lock:
            if name in self._indexers:
                raise ValueError(f"index {name!r} exists")
            self._indexers[name] = func
            self._indices[name] = {}
            for key, obj in self._items.items():
                for value in func(obj) or ():
                    self._indices[name].setdefault(value, set()).add(key)

    def put(self, obj: dict) -> dict | None:
        """Store `obj`; returns what it replaced."""
        key = object_key(obj)
        with self._lock:
            old = self._items.get(key)
            if old is not None:
                self._unindex(key, old)
            self._items[key] = obj
            self._index(key, obj)
            return old

    def remove(self, obj_or_key) -> dict | None:
        key = obj_or_key if isinstance(obj_or_key, str) else object_key(obj_or_key)
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._unindex(key, old)
            return old

    def replace(self, objs: list[dict]) -> dict[str, dict]:
        """Swap in a fresh list; returns the previous contents by key."""
        with self._lock:
            previous = self._items
            self._items = {}
            self._indices = {name: {} for name in self._indexers}
            for obj in objs:
                key = object_key(obj)
                self._items[key] = obj
                self._index(key, obj)
            return previous

    def _index(self, key: str, obj: dict) -> None:
        for name, func in self._indexers.items():
            for value in func(obj) or ():
                self._indices[name].setdefault(value, set()).add(key)

    def _unindex(self, key: str, obj: dict) -> None:
        for name, func in self._indexers.items():
            index = self._indices[name]
            for value in func(obj) or ():
                keys = index.get(value)
                if keys is not None:
                    keys.discard(key)
                    if not keys:
                        del index[value]

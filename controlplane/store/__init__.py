"""SuperCache: a versioned key-value store with watch (SQLite or etcd).

`open_store(url)` is the one way in:

    sqlite:///var/lib/supernetes/state.db   the embedded default: everything after
                                            `sqlite://` is the path
    etcd://10.0.0.1:2379,10.0.0.2:2379      an etcd v3 cluster, through its JSON gateway

Options go in the query string, e.g. `sqlite:///state.db?retention=600`:

    retention         seconds of history kept for watches to resume (300)
    max_revisions     most changes kept in the history, whatever their age
                      (SQLite 50000, etcd 0 = unbounded: etcd has its own quota)
    compact_interval  seconds between compaction rounds, 0 = never compact (30, etcd 300)
    timeout           etcd only: seconds per request (10)
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

from .base import (
    Compacted,
    Event,
    FutureRevision,
    KeyExists,
    KeyNotFound,
    KeyValue,
    RevisionConflict,
    Store,
    StoreError,
    Unavailable,
    Watch,
)

__all__ = [
    "Compacted", "Event", "FutureRevision", "KeyExists", "KeyNotFound", "KeyValue",
    "RevisionConflict", "Store", "StoreError", "Unavailable", "Watch", "open_store",
]

_OPTIONS = {"retention": float, "max_revisions": int, "compact_interval": float,
            "timeout": float}


def open_store(url: str, **options) -> Store:
    """Open the store that `url` names; keyword options override the query string."""
    scheme, _, rest = url.partition("://")
    if not rest:
        raise StoreError(f"bad store URL {url!r}: expected sqlite:///path or etcd://host:port")
    location, _, query = rest.partition("?")
    parsed = _parse_options(url, query)
    parsed.update(options)
    if scheme == "sqlite":
        if not location:
            raise StoreError(f"bad store URL {url!r}: expected sqlite:///path/state.db")
        if "timeout" in parsed:
            raise StoreError(f"bad store URL {url!r}: timeout is an etcd option")
        from .sqlite import SqliteStore
        return SqliteStore(location, **parsed)
    if scheme == "etcd":
        endpoints = []
        for hostport in location.rstrip("/").split(","):
            split = urlsplit(f"http://{hostport}")
            try:
                port = split.port
            except ValueError:
                port = None
            if not split.hostname or port is None or split.path:
                raise StoreError(f"bad store URL {url!r}: {hostport!r} is not host:port")
            endpoints.append(f"http://{hostport}")
        from .etcd import EtcdStore
        return EtcdStore(endpoints, **parsed)
    raise StoreError(f"bad store URL {url!r}: the scheme must be sqlite or etcd")


def _parse_options(url: str, query: str) -> dict:
    options = {}
    for name, text in parse_qsl(query, keep_blank_values=True):
        if name not in _OPTIONS:
            raise StoreError(f"bad store URL {url!r}: unknown option {name!r}"
                             f" (known: {', '.join(sorted(_OPTIONS))})")
        try:
            options[name] = _OPTIONS[name](text)
        except ValueError:
            raise StoreError(f"bad store URL {url!r}: {name}={text!r} is not a number") from None
    return options

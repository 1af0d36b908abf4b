"""Informers: a resource's list+watch kept in a local cache, with change callbacks.

One thread per informer runs client-go's reflector loop:

    list (paged, one snapshot) -> replace the cache -> handlers see the difference
    watch from the list's resourceVersion -> apply each event -> handlers
    watch ended (server timeout)          -> watch again from the last version seen
    watch broke (server gone, reset)      -> back off, watch again from there
    410 Gone (history compacted)          -> relist at once
    any other error                       -> back off, relist

Bookmarks only move the resume point. A second thread, when `resync_period` is
set, hands every cached object to `on_update(obj, obj)` now and then, so a
level-triggered controller revisits everything even if no event comes.

Handlers run on the informer's thread, one at a time per informer, and must be
quick: the sample-controller shape is "compute a key, put it in a work queue".
A handler added after the first list is told `on_add` for what is already cached.
Handler exceptions are logged and never stop the informer. Cached objects are
shared: never mutate them.

`InformerFactory` hands out one shared informer per (kind, namespace, selectors),
so a scheduler and five controllers in one process hold one pod watch, not six.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from .cache import Indexer, IndexFunc, object_key
from .errors import ApiError, ClientError, ConnectionFailed, Gone
from .ratelimit import Backoff
from .watch import BOOKMARK, DELETED

# Jitter from a generator of our own: the global one is the caller's (tests seed it).
_random = random.Random()

log = logging.getLogger(__name__)


@dataclass
class Handler:
    on_add: Callable[[dict], None] | None = None
    on_update: Callable[[dict, dict], None] | None = None
    on_delete: Callable[[dict], None] | None = None


def _rv(obj: dict | None) -> str:
    return ((obj or {}).get("metadata") or {}).get("resourceVersion", "")


class Informer:
    def __init__(self, client, api_version: str, kind: str, *, namespace: str | None = None,
                 label_selector: str | None = None, field_selector: str | None = None,
                 resync_period: float = 0.0, indexers: dict[str, IndexFunc] | None = None,
                 page_size: int = 500, watch_timeout: tuple[int, int] = (300, 600),
                 backoff: Backoff | None = None):
        self.api_version, self.kind = api_version, kind
        self.resource = client.resource(api_version, kind)
        self.namespace = namespace
        self.label_selector, self.field_selector = label_selector, field_selector
        self.resync_period = resync_period
        self.page_size = page_size
        self.watch_timeout = watch_timeout
        self.backoff = backoff or Backoff(initial=0.5, maximum=30.0)
        self.cache = Indexer(indexers)
        self.last_sync_resource_version = ""
        self.relists = 0                  # full lists done (1 after the first sync)
        self._handlers: list[Handler] = []
        self._dispatch = threading.RLock()
        self._stop = threading.Event()
        self._synced = threading.Event()
        self._watch_lock = threading.Lock()
        self._watch = None
        self._threads: list[threading.Thread] = []

    def __repr__(self) -> str:
        return f"<Informer {self.api_version} {self.kind} ns={self.namespace or '*'}>"

    # -- the consumer's side ---------------------------------------------------------

    def add_handler(self, on_add=None, on_update=None, on_delete=None) -> Handler:
        handler = Handler(on_add, on_update, on_delete)
        with self._dispatch:
            self._handlers.append(handler)
            if self._synced.is_set() and on_add:
                for obj in self.cache.list():
                    self._call(on_add, obj)
        return handler

    def add_index(self, name: str, func: IndexFunc) -> None:
        self.cache.add_index(name, func)

    def has_synced(self) -> bool:
        return self._synced.is_set()

    def wait_for_sync(self, timeout: float | None = None) -> bool:
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self._synced.is_set():
            if self._stop.is_set():
                return False
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                return False
            self._synced.wait(0.1 if left is None else min(0.1, left))
        return True

    def start(self) -> Informer:
        if self._threads:
            return self
        name = f"informer-{self.kind.lower()}"
        self._threads.append(threading.Thread(target=self._run, name=name, daemon=True))
        if self.resync_period > 0:
            self._threads.append(threading.Thread(target=self._resync_loop,
                                                  name=f"{name}-resync", daemon=True))
        for thread in self._threads:
            thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        with self._watch_lock:
            if self._watch is not None:
                self._watch.stop()
        for thread in self._threads:
            if thread is not threading.current_thread():
                thread.join(timeout)

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    # -- the reflector loop ----------------------------------------------------------

    def _run(self) -> None:
        resume: str | None = None
        while not self._stop.is_set():
            try:
                if resume is None:
                    resume = self._list()
                resume = self._watch_from(resume)
                continue
            except Gone as exc:
                log.info("%r: %s; relisting", self, exc.message)
                resume = None
                continue
            except ConnectionFailed as exc:
                # Keep the resume point: a restarted server with the same store
                # continues the history; if not, the next watch says 410.
                log.warning("%r: %s", self, exc)
            except (ApiError, ClientError) as exc:
                log.warning("%r: %s; relisting", self, exc)
                resume = None
            except Exception:
                log.exception("%r: unexpected error; relisting", self)
                resume = None
            self._stop.wait(self.backoff.next())

    def _list(self) -> str:
        result = self.resource.list_all(self.namespace, page_size=self.page_size,
                                        label_selector=self.label_selector,
                                        field_selector=self.field_selector)
        items = [self._typed(obj) for obj in result.get("items") or []]
        version = (result.get("metadata") or {}).get("resourceVersion", "")
        self.relists += 1
        with self._dispatch:
            previous = self.cache.replace(items)
            for obj in items:
                old = previous.pop(object_key(obj), None)
                if old is None:
                    self._notify("on_add", obj)
                elif _rv(old) != _rv(obj):
                    self._notify("on_update", old, obj)
            for old in previous.values():
                self._notify("on_delete", old)
            self.last_sync_resource_version = version
            self._synced.set()
        self.backoff.reset()
        return version

    def _watch_from(self, version: str) -> str:
        low, high = self.watch_timeout
        watch = self.resource.watch(self.namespace, resource_version=version,
                                    label_selector=self.label_selector,
                                    field_selector=self.field_selector, allow_bookmarks=True,
                                    timeout_seconds=_random.randint(low, high))
        with self._watch_lock:
            self._watch = watch
            if self._stop.is_set():
                watch.stop()
        started, events = time.monotonic(), 0
        try:
            for event in watch:
                events += 1
                if event.type != BOOKMARK:
                    self._apply(event.type, self._typed(event.object))
                version = event.resource_version or version
                self.last_sync_resource_version = version
        finally:
            with self._watch_lock:
                self._watch = None
            watch.stop()
        if not self._stop.is_set() and events == 0 and time.monotonic() - started < 1.0:
            # A watch that ends at once with nothing to say is a server in trouble.
            raise ConnectionFailed(self.resource.client.server, "the watch closed immediately")
        self.backoff.reset()
        return version

    def _apply(self, event_type: str, obj: dict) -> None:
        with self._dispatch:
            if event_type == DELETED:
                old = self.cache.remove(obj)
                if old is not None:
                    self._notify("on_delete", obj)
                return
            old = self.cache.put(obj)
            if old is None:
                self._notify("on_add", obj)
            else:
                self._notify("on_update", old, obj)

    def _resync_loop(self) -> None:
        while not self._stop.wait(self.resync_period):
            if not self._synced.is_set():
                continue
            with self._dispatch:
                for obj in self.cache.list():
                    self._notify("on_update", obj, obj)

    # -- helpers -------------------------------------------------------------------

    def _typed(self, obj: dict) -> dict:
        # List items come without apiVersion/kind; owner references and logs want them.
        if "kind" not in obj:
            obj["kind"] = self.kind
            obj["apiVersion"] = self.api_version
        return obj

    def _notify(self, which: str, *args) -> None:
        for handler in self._handlers:
            func = getattr(handler, which)
            if func is not None:
                self._call(func, *args)

    def _call(self, func, *args) -> None:
        try:
            func(*args)
        except Exception:
            log.exception("%r: event handler %r failed", self, func)


class InformerFactory:
    """Shared informers for one client: one per (kind, namespace, selectors)."""

    def __init__(self, client, *, resync_period: float = 0.0, namespace: str | None = None):
        self.client = client
        self.resync_period = resync_period
        self.namespace = namespace
        self._informers: dict[tuple, Informer] = {}
        self._lock = threading.Lock()
        self._started = False

    def informer(self, api_version: str, kind: str, *, namespace: str | None = None,
                 label_selector: str | None = None, field_selector: str | None = None,
                 indexers: dict[str, IndexFunc] | None = None) -> Informer:
        namespace = namespace or self.namespace
        key = (api_version, kind, namespace, label_selector, field_selector)
        with self._lock:
            informer = self._informers.get(key)
            if informer is None:
                informer = Informer(self.client, api_version, kind, namespace=namespace,
                                    label_selector=label_selector, field_selector=field_selector,
                                    resync_period=self.resync_period)
                self._informers[key] = informer
                if self._started:
                    informer.start()
        for name, func in (indexers or {}).items():
            if not informer.cache.has_index(name):
                informer.add_index(name, func)
        return informer

    def start(self) -> None:
        with self._lock:
            self._started = True
            informers = list(self._informers.values())
        for informer in informers:
            informer.start()

    def wait_for_sync(self, timeout: float | None = None) -> bool:
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._lock:
            informers = list(self._informers.values())
        for informer in informers:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            if not informer.wait_for_sync(left):
                return False
        return True

    def stop(self) -> None:
        with self._lock:
            informers = list(self._informers.values())
        for informer in informers:
            informer._stop.set()
        for informer in informers:
            informer.stop()

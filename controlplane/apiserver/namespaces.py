"""Namespace lifecycle: the built-in namespaces, and emptying deleted ones.

On start the server makes sure `default`, `kube-system`, `kube-public` and
`kube-node-lease` exist, as a Kubernetes cluster has them.

Deleting a namespace marks it Terminating (it carries the `kubernetes`
finalizer in spec.finalizers from its creation). This loop, the API-server end
of Kubernetes' namespace controller, then deletes every object in it (pods
gracefully, so the node agents stop their containers), and once nothing is
left removes the finalizer through `namespaces/{name}/finalize`, which lets the
namespace go. It polls the watch cache, which costs nothing while no namespace
is terminating.
"""

from __future__ import annotations

import logging
import threading

from werkzeug.datastructures import MultiDict

from ..api import registry
from . import auth, errors, lists, objects, resources, selection, strategy

log = logging.getLogger(__name__)

BUILT_IN = ("default", "kube-system", "kube-public", "kube-node-lease")
SYSTEM_USER = auth.User("system:apiserver", "admin", (auth.MASTERS,))


def _ctx(server, rt, namespace=None, name=None) -> resources.Ctx:
    return resources.Ctx(server, SYSTEM_USER, rt, namespace, name, None, MultiDict())


def ensure_built_in(server) -> None:
    rt = registry.lookup("", "v1", "namespaces")
    for name in BUILT_IN:
        if server.store.get(objects.key(rt, None, name)) is not None:
            continue
        try:
            resources.create(_ctx(server, rt), {"apiVersion": "v1", "kind": "Namespace",
                                                "metadata": {"name": name}})
        except errors.ApiError as exc:
            if exc.code != 409:               # another API server made it first
                raise


class NamespaceFinalizer:
    INTERVAL = 0.5

    def __init__(self, server):
        self.server = server
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, name="namespace-finalizer",
                                       daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.stopped.set()
        self.thread.join(timeout=5)

    def _run(self) -> None:
        ns_rt = registry.lookup("", "v1", "namespaces")
        cache = self.server.cacher.for_type(ns_rt)
        while not self.stopped.wait(self.INTERVAL):
            terminating = [e.name for e in list(cache.state.values())
                           if e.fields.get("status.phase") == "Terminating"]
            for name in terminating:
                try:
                    self._empty(ns_rt, name)
                except errors.ApiError as exc:
                    log.warning("emptying namespace %s: %s", name, exc.message)
                except Exception:
                    log.exception("emptying namespace %s failed", name)

    def _empty(self, ns_rt, name: str) -> None:
        remaining = 0
        for rt in registry.all_types():
            if not rt.namespaced:
                continue
            filter_ = selection.Filter(namespace=name)
            entries, _ = self.server.cacher.snapshot(rt, filter_)
            if not entries:
                continue
            remaining += len(entries)
            ctx = _ctx(self.server, rt, name)
            lists.delete_collection(ctx, filter_, resources.DeleteOptions())
        if remaining:
            return                              # look again once the deletions landed
        ctx = _ctx(self.server, ns_rt, None, name)

        def change(old: dict) -> dict:
            finalizers = (old.get("spec") or {}).get("finalizers") or []
            old.setdefault("spec", {})["finalizers"] = [
                f for f in finalizers if f != strategy.NAMESPACE_FINALIZER]
            return old

        try:
            resources.update_loop(ctx, change)
        except errors.ApiError as exc:
            if exc.code != 404:
                raise

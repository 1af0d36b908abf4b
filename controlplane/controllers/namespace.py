"""The namespace controller: a deleted namespace takes everything in it along.

Deleting a namespace marks it Terminating (deletionTimestamp, status.phase); it
carries the `kubernetes` finalizer in spec.finalizers from its creation. Then:

    sync(name):
      1. read the namespace afresh; nothing to do unless it is Terminating and still
         carries our finalizer
      2. for every namespaced resource the server serves (discovery, so a type added
         later is covered too): delete the collection in the namespace
      3. count what is left (pods stay until their node agent stopped them; objects
         with finalizers until their controllers let go), and say so in the status
         conditions kubectl shows: NamespaceContentRemaining,
         NamespaceFinalizersRemaining, NamespaceDeletionContentFailure, ...
      4. when nothing is left: remove `kubernetes` through namespaces/NAME/finalize,
         and the API server removes the namespace

The API server refuses new objects in a Terminating namespace, so the count only
goes down. While something is left the namespace is looked at again shortly.
"""

from __future__ import annotations

import copy
import logging
import time
from collections import Counter

from supernetes.controlplane.api.meta import parse_time
from supernetes.controlplane.client import ApiError, NotFound

from . import podutil
from .base import Controller, handlers
from .errors import SyncError

log = logging.getLogger(__name__)

FINALIZER = "kubernetes"


def _terminating(ns: dict) -> bool:
    return podutil.terminating(ns) or (ns.get("status") or {}).get("phase") == "Terminating"


class NamespaceController(Controller):
    name = "namespace"
    component = "namespace-controller"

    def setup(self) -> None:
        self.namespaces = self.informer("v1", "Namespace")
        self.namespaces.add_handler(**handlers(self._changed, on_delete=lambda ns: None))
        self.namespace_resource = self.resource("v1", "Namespace")
        self._discovered_at = 0.0

    def _changed(self, ns: dict) -> None:
        if _terminating(ns):
            self.enqueue(ns)

    def _resources(self):
        """Namespaced resources that can be listed and deleted, one version each."""
        mapper = self.client.mapper
        if time.monotonic() - self._discovered_at > self.config.discovery_refresh:
            mapper.invalidate()
            self._discovered_at = time.monotonic()
        seen, chosen = set(), []
        for info in mapper.discover():
            if not info.namespaced or (info.group, info.plural) in seen:
                continue
            if info.verbs and not {"list", "delete"} <= set(info.verbs):
                continue
            seen.add((info.group, info.plural))
            chosen.append(info)
        return chosen

    def sync(self, key: str) -> None:
        try:
            ns = self.namespace_resource.get(key)
        except NotFound:
            return
        if not _terminating(ns) or FINALIZER not in ((ns.get("spec") or {}).get("finalizers")
                                                      or ()):
            return
        remaining: dict[str, int] = {}
        finalizers: Counter = Counter()
        failures: list[str] = []
        latest_deadline = 0.0
        for info in self._resources():
            resource = self.client.resource_for(info)
            try:
                items = resource.list(key).get("items") or []
                if not items:
                    continue
                if any(not podutil.terminating(i) for i in items):
                    if not info.verbs or "deletecollection" in info.verbs:
                        resource.delete_collection(key)
                    else:
                        for item in items:
                            self._delete_one(resource, item, key)
                    items = resource.list(key).get("items") or []
            except ApiError as exc:
                failures.append(f"{info.qualified}: {exc.message}")
                continue
            if not items:
                continue
            remaining[f"{info.plural}.{info.group}"] = len(items)
            for item in items:
                finalizers.update(podutil.meta(item).get("finalizers") or ())
                stamp = parse_time(podutil.meta(item).get("deletionTimestamp"))
                if stamp is not None:
                    latest_deadline = max(latest_deadline, stamp.timestamp())
        self._write_conditions(ns, remaining, finalizers, failures)
        if failures:
            raise SyncError(f"deleting the content of namespace {key}: {failures[0]}")
        if remaining:
            # Look again around when the slowest graceful deletion should be done.
            wait = latest_deadline - time.time() if latest_deadline else 1.0
            self.enqueue_after(key, min(max(wait, 1.0), 10.0))
            return
        self._finalize(key)

    def _delete_one(self, resource, item: dict, namespace: str) -> None:
        try:
            resource.delete(podutil.meta(item)["name"], namespace)
        except NotFound:
            pass

    def _write_conditions(self, ns: dict, remaining: dict, finalizers: Counter,
                          failures: list[str]) -> None:
        status = copy.deepcopy(ns.get("status") or {})
        now = podutil.now()
        conditions = [
            ("NamespaceDeletionDiscoveryFailure", "False", "ResourcesDiscovered",
             "All resources successfully discovered"),
            ("NamespaceDeletionGroupVersionParsingFailure", "False", "ParsedGroupVersions",
             "All legacy kube types successfully parsed"),
            ("NamespaceDeletionContentFailure", "True", "ContentDeletionFailed",
             "Failed to delete all resource types, " + "; ".join(failures)) if failures else
            ("NamespaceDeletionContentFailure", "False", "ContentDeleted",
             "All content successfully deleted, may be waiting on finalization"),
            ("NamespaceContentRemaining", "True", "SomeResourcesRemain",
             "Some resources are remaining: " + ", ".join(
                 f"{name} has {count} resource instances"
                 for name, count in sorted(remaining.items()))) if remaining else
            ("NamespaceContentRemaining", "False", "ContentRemoved",
             "All content successfully removed"),
            ("NamespaceFinalizersRemaining", "True", "SomeFinalizersRemain",
             "Some content in the namespace has finalizers remaining: " + ", ".join(
                 f"{name} in {count} resource instances"
                 for name, count in sorted(finalizers.items()))) if finalizers else
            ("NamespaceFinalizersRemaining", "False", "ContentHasNoFinalizers",
             "All content-preserving finalizers finished"),
        ]
        for kind, state, reason, message in conditions:
            podutil.set_condition(status, podutil.condition(kind, state, reason, message, now))
        status["phase"] = "Terminating"
        if status == (ns.get("status") or {}):
            return
        updated = copy.deepcopy(ns)
        updated["status"] = status
        try:
            self.namespace_resource.replace(updated, subresource="status")
        except NotFound:
            pass

    def _finalize(self, name: str) -> None:
        try:
            ns = self.namespace_resource.get(name)
        except NotFound:
            return
        spec = ns.setdefault("spec", {})
        spec["finalizers"] = [f for f in spec.get("finalizers") or () if f != FINALIZER]
        try:
            self.namespace_resource.replace(ns, subresource="finalize")
        except NotFound:
            return
        log.info("namespace: %s is empty; finalized", name)

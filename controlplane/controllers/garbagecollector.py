"""The garbage collector: dependents follow their owners (ownerReferences).

Deleting an owner, by propagationPolicy (the API server records the policy as a
finalizer on the owner):

    Background  the owner goes at once; each dependent whose owners are all gone is
                deleted next (with its own dependents in the background)
    Foreground  the owner stays, with deletionTimestamp and the foregroundDeletion
                finalizer; its dependents are deleted (those that have dependents of
                their own, in the foreground too); once no dependent with
                blockOwnerDeletion is left, the finalizer is removed and the owner goes
    Orphan      the owner stays with the orphan finalizer until every dependent has
                lost its reference to it; then the finalizer is removed

`sync((DELETE, uid))` is Kubernetes' attemptToDeleteItem: read the object afresh and
classify its owners as solid (exists, not deleting in the foreground), dangling
(absent, or another uid under that name) or waiting (deleting in the foreground).
A solid owner keeps the object (dangling and waiting references are removed from
it); otherwise it is deleted. An owner only counts as absent after the API server
says so: the graph may lag, a live read cannot. `sync((ORPHAN, uid))` strips the
owner's references from its dependents, then the orphan finalizer.

Watches every resource the server lists, watches and deletes (discovery), except
Events. Writes are patches pinned to the resourceVersion read, and deletions carry
a uid precondition, so the collector never acts on an object that changed under it.
"""

from __future__ import annotations

import logging
import threading

from supernetes.controlplane.client import ClientError, Conflict, NotFound, UnknownResource

from . import podutil
from .base import Controller
from .errors import SyncError
from .gcgraph import DELETE, FOREGROUND, ORPHAN, ORPHAN_WORK, Graph, GraphBuilder, Node

log = logging.getLogger(__name__)

IGNORED = {("", "events"), ("events.k8s.io", "events"), ("", "bindings")}
NEEDED_VERBS = {"list", "watch", "delete"}


class GarbageCollector(Controller):
    name = "garbagecollector"
    component = "garbage-collector-controller"

    def setup(self) -> None:
        self.graph = Graph()
        self.builder = GraphBuilder(self.graph, self.queue.add, self._namespaced)
        self.monitored = []
        for info in self.client.mapper.discover():
            if (info.group, info.plural) in IGNORED:
                continue
            if info.verbs and not set(info.verbs) >= NEEDED_VERBS:
                continue
            informer = self.informer(info.api_version, info.kind)
            informer.add_handler(lambda o: self.builder.observe("add", o),
                                 self._updated,
                                 lambda o: self.builder.observe("delete", o))
            self.monitored.append(info)

    def _updated(self, old: dict, new: dict) -> None:
        if podutil.meta(old).get("resourceVersion") == podutil.meta(new).get("resourceVersion") \
                and not podutil.terminating(new):
            return                      # a resync of a live object: nothing new to learn
        self.builder.observe("update", new, old)

    def _namespaced(self, api_version: str, kind: str) -> bool:
        try:
            return self.client.mapper.for_kind(api_version, kind).namespaced
        except UnknownResource:
            return True

    def run_extra(self, stop: threading.Event) -> None:
        self.builder.run(stop)

    # -- reading objects ---------------------------------------------------------------

    def _resource(self, node: Node):
        return self.client.resource(node.api_version, node.kind)

    def _get(self, node: Node) -> dict | None:
        """The object as the API server has it now, or None if it is not `node` any more."""
        try:
            obj = self._resource(node).get(node.name, node.namespace)
        except NotFound:
            return None
        return obj if podutil.uid(obj) == node.uid else None

    def _owner_state(self, dependent: Node, ref: dict) -> str:
        """'solid', 'dangling' or 'waiting' for one ownerReference of `dependent`."""
        owner = self.graph.get(ref["uid"])
        if owner is not None and not owner.virtual:
            return "waiting" if owner.deleting_dependents else "solid"
        api_version, kind = ref.get("apiVersion", ""), ref.get("kind", "")
        try:
            info = self.client.mapper.for_kind(api_version, kind)
        except UnknownResource:
            return "solid"              # cannot tell: never delete on a doubt
        if info.namespaced and not dependent.namespace:
            return "dangling"           # a cluster-scoped object cannot have such an owner
        namespace = dependent.namespace if info.namespaced else None
        try:
            obj = self.client.resource_for(info).get(ref.get("name", ""), namespace)
        except NotFound:
            return "dangling"
        if podutil.uid(obj) != ref["uid"]:
            return "dangling"
        deleting = podutil.terminating(obj) and FOREGROUND in (
            podutil.meta(obj).get("finalizers") or ())
        return "waiting" if deleting else "solid"

    # -- the work ----------------------------------------------------------------------------

    def sync(self, key) -> None:
        work, uid = key
        node = self.graph.get(uid)
        if node is None:
            return
        if work == ORPHAN_WORK:
            self.orphan_dependents(node)
        else:
            self.attempt_to_delete(node)

    def attempt_to_delete(self, node: Node) -> None:
        latest = self._get(node)
        if latest is None:
            # Gone (or never was): the graph learns it, its dependents are looked at.
            self.builder.forget_virtual(node)
            return
        meta = podutil.meta(latest)
        finalizers = meta.get("finalizers") or ()
        if podutil.terminating(latest) and FOREGROUND not in finalizers:
            return                      # on its way out already
        if podutil.terminating(latest):
            self.process_deleting_dependents(node, latest)
            return
        refs = [r for r in meta.get("ownerReferences") or () if r.get("uid")]
        if not refs:
            return
        states = {r["uid"]: self._owner_state(node, r) for r in refs}
        solid = [u for u, s in states.items() if s == "solid"]
        if solid:
            stale = {u for u, s in states.items() if s != "solid"}
            if stale:
                kept = [r for r in refs if r["uid"] not in stale]
                self._patch_meta(node, latest, {"ownerReferences": kept})
            return
        if "waiting" in states.values() and self.graph.dependents(node.uid):
            # Its owner waits for it in the foreground, and it has dependents: it goes
            # in the foreground too, so the owner waits for the whole subtree.
            self._delete(node, "Foreground")
            return
        if ORPHAN in finalizers:
            policy = "Orphan"
        elif FOREGROUND in finalizers:
            policy = "Foreground"
        else:
            policy = "Background"
        self._delete(node, policy)

    def process_deleting_dependents(self, node: Node, latest: dict) -> None:
        blocking = self.graph.blocking_dependents(node.uid)
        if not blocking:
            finalizers = [f for f in podutil.meta(latest).get("finalizers") or ()
                          if f != FOREGROUND]
            self._patch_meta(node, latest, {"finalizers": finalizers})
            return
        for dep in blocking:
            if not dep.deleting_dependents:
                self.queue.add((DELETE, dep.uid))

    def orphan_dependents(self, owner: Node) -> None:
        failures = []
        for dep in self.graph.dependents(owner.uid):
            for _ in range(5):
                latest = self._get(dep)
                if latest is None:
                    break
                refs = podutil.meta(latest).get("ownerReferences") or []
                kept = [r for r in refs if r.get("uid") != owner.uid]
                if len(kept) == len(refs):
                    break
                try:
                    self._patch_meta(dep, latest, {"ownerReferences": kept})
                    break
                except Conflict:
                    continue
                except ClientError as exc:
                    failures.append(exc)
                    break
        if failures:
            raise SyncError(f"orphaning the dependents of {owner.describe()}: "
                            f"{failures[0]}") from failures[0]
        latest = self._get(owner)
        if latest is None:
            return
        finalizers = podutil.meta(latest).get("finalizers") or []
        if ORPHAN in finalizers:
            self._patch_meta(owner, latest, {"finalizers": [f for f in finalizers
                                                            if f != ORPHAN]})

    # -- writes ---------------------------------------------------------------------------------

    def _patch_meta(self, node: Node, latest: dict, changes: dict) -> None:
        patch = {"metadata": dict(changes, resourceVersion=podutil.meta(latest).get(
            "resourceVersion"))}
        try:
            self._resource(node).patch(node.name, patch, node.namespace, patch_type="merge")
        except NotFound:
            pass

    def _delete(self, node: Node, policy: str) -> None:
        log.info("garbagecollector: deleting %s (propagation %s)", node.describe(), policy)
        try:
            self._resource(node).delete(node.name, node.namespace, propagation_policy=policy,
                                        preconditions={"uid": node.uid})
        except NotFound:
            pass

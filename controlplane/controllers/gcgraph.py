"""The garbage collector's graph: every object with its owners and its dependents.

One node per uid: identity (apiVersion, kind, namespace, name), the object's
ownerReferences, the uids of its dependents, and its deletion state:

    deleting             deletionTimestamp set
    deleting_dependents  deletionTimestamp and the foregroundDeletion finalizer: the
                         object waits until its blocking dependents are gone
    virtual              named as an owner by some object but never observed itself:
                         it may not exist at all, which the collector checks

`GraphBuilder` folds informer events into the graph on one thread (so the graph is
only ever changed in one place) and tells the collector what to look at:

    an object is deleted                -> its dependents (their owner may be gone)
                                           and its owners waiting for dependents
    an owner appears only as a reference -> the virtual owner (does it exist?)
    an object gets the orphan finalizer -> orphan its dependents
    an object gets foregroundDeletion   -> its dependents, then itself
    a dependent drops or unblocks a ref  -> the owner it no longer blocks
"""

from __future__ import annotations

import logging
import queue
import threading
from dataclasses import dataclass, field

from . import podutil

log = logging.getLogger(__name__)

FOREGROUND = "foregroundDeletion"
ORPHAN = "orphan"
DELETE, ORPHAN_WORK = "delete", "orphan"


@dataclass
class Node:
    uid: str
    api_version: str
    kind: str
    namespace: str | None
    name: str
    owners: list[dict] = field(default_factory=list)
    dependents: set[str] = field(default_factory=set)
    deleting: bool = False
    deleting_dependents: bool = False
    virtual: bool = False

    def ref_to(self, owner_uid: str) -> dict | None:
        for ref in self.owners:
            if ref.get("uid") == owner_uid:
                return ref
        return None

    def describe(self) -> str:
        where = f"{self.namespace}/" if self.namespace else ""
        return f"{self.kind} {where}{self.name} ({self.uid})"


def finalizers(obj: dict) -> list[str]:
    return list(podutil.meta(obj).get("finalizers") or ())


def _state(obj: dict) -> tuple[bool, bool]:
    deleting = podutil.terminating(obj)
    return deleting, deleting and FOREGROUND in finalizers(obj)


class Graph:
    """The nodes; every method takes the lock, callers get copies of what they read."""

    def __init__(self):
        self.lock = threading.RLock()
        self.nodes: dict[str, Node] = {}

    def get(self, uid: str) -> Node | None:
        with self.lock:
            return self.nodes.get(uid)

    def dependents(self, uid: str) -> list[Node]:
        with self.lock:
            node = self.nodes.get(uid)
            if node is None:
                return []
            return [self.nodes[d] for d in node.dependents if d in self.nodes]

    def blocking_dependents(self, uid: str) -> list[Node]:
        """Dependents whose reference to `uid` has blockOwnerDeletion: true."""
        return [dep for dep in self.dependents(uid)
                if (dep.ref_to(uid) or {}).get("blockOwnerDeletion")]

    def __len__(self) -> int:
        with self.lock:
            return len(self.nodes)


class GraphBuilder:
    def __init__(self, graph: Graph, enqueue, namespaced):
        """`enqueue((DELETE|ORPHAN_WORK, uid))` hands work to the collector;
        `namespaced(api_version, kind)` says whether an owner kind lives in namespaces."""
        self.graph = graph
        self.enqueue = enqueue
        self.namespaced = namespaced
        self.changes: queue.Queue = queue.Queue()

    # -- fed by informer handlers (any thread) --------------------------------------------

    def observe(self, event: str, obj: dict, old: dict | None = None) -> None:
        self.changes.put((event, obj, old))

    def forget_virtual(self, node: Node) -> None:
        """The collector found a virtual node does not exist: treat it as deleted."""
        self.changes.put(("absent", node, None))

    # -- the graph thread -------------------------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                event, obj, old = self.changes.get(timeout=0.5)
            except queue.Empty:
                continue
            try:
                with self.graph.lock:
                    if event == "absent":
                        self._remove(obj)
                    elif event == "delete":
                        node = self.graph.nodes.get(podutil.uid(obj))
                        if node is not None:
                            self._remove(node)
                    else:
                        self._upsert(obj, old)
            except Exception:
                log.exception("garbagecollector: processing a graph change failed")

    def _upsert(self, obj: dict, old: dict | None) -> None:
        meta = podutil.meta(obj)
        uid = meta.get("uid")
        if not uid:
            return
        owners = [dict(r) for r in meta.get("ownerReferences") or () if r.get("uid")]
        deleting, deleting_dependents = _state(obj)
        node = self.graph.nodes.get(uid)
        if node is None:
            node = Node(uid, obj.get("apiVersion", ""), obj.get("kind", ""),
                        meta.get("namespace"), meta.get("name", ""), owners=owners)
            self.graph.nodes[uid] = node
            self._link(node, owners)
        else:
            if node.virtual:
                node.virtual = False
                node.api_version, node.kind = obj.get("apiVersion", ""), obj.get("kind", "")
                node.namespace, node.name = meta.get("namespace"), meta.get("name", "")
            if owners != node.owners:
                self._relink(node, owners)
        node.deleting, node.deleting_dependents = deleting, deleting_dependents
        if deleting and ORPHAN in finalizers(obj):
            self.enqueue((ORPHAN_WORK, uid))
        if deleting_dependents:
            for dep in node.dependents:
                self.enqueue((DELETE, dep))
            self.enqueue((DELETE, uid))
        elif deleting and node.owners:
            # A dependent on its way out may be what an owner waits for.
            for ref in node.owners:
                owner = self.graph.nodes.get(ref["uid"])
                if owner is not None and owner.deleting_dependents:
                    self.enqueue((DELETE, owner.uid))

    def _link(self, node: Node, refs: list[dict]) -> None:
        for ref in refs:
            owner = self.graph.nodes.get(ref["uid"])
            if owner is None:
                api_version, kind = ref.get("apiVersion", ""), ref.get("kind", "")
                owner = Node(ref["uid"], api_version, kind,
                             node.namespace if self.namespaced(api_version, kind) else None,
                             ref.get("name", ""), virtual=True)
                self.graph.nodes[owner.uid] = owner
                self.enqueue((DELETE, owner.uid))     # does it exist at all?
            owner.dependents.add(node.uid)

    def _relink(self, node: Node, owners: list[dict]) -> None:
        old = {r["uid"]: r for r in node.owners}
        new = {r["uid"]: r for r in owners}
        for uid, ref in old.items():
            unblocked = ref.get("blockOwnerDeletion") and not (new.get(uid) or {}).get(
                "blockOwnerDeletion")
            if uid not in new:
                owner = self.graph.nodes.get(uid)
                if owner is not None:
                    owner.dependents.discard(node.uid)
            if unblocked:
                owner = self.graph.nodes.get(uid)
                if owner is not None and owner.deleting_dependents:
                    self.enqueue((DELETE, uid))
        node.owners = owners
        self._link(node, [r for uid, r in new.items() if uid not in old])

    def _remove(self, node: Node) -> None:
        current = self.graph.nodes.get(node.uid)
        if current is None:
            return
        del self.graph.nodes[node.uid]
        for ref in current.owners:
            owner = self.graph.nodes.get(ref["uid"])
            if owner is None:
                continue
            owner.dependents.discard(current.uid)
            if owner.deleting_dependents:
                self.enqueue((DELETE, owner.uid))
            if owner.virtual and not owner.dependents:
                del self.graph.nodes[owner.uid]
        for dep in current.dependents:
            self.enqueue((DELETE, dep))

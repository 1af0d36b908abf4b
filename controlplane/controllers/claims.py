"""Adoption and release: which objects a controller owns (Kubernetes' ControllerRefManager).

Ownership is the `ownerReferences` entry with `controller: true`. For a controller
(a ReplicaSet) and candidate objects (the pods of its namespace):

    owned by us, selector matches      -> ours
    owned by us, selector stopped matching -> released (our reference removed),
                                              unless we are being deleted
    owned by someone else              -> never touched
    orphan, selector matches           -> adopted (our reference added), unless we
                                          or it are being deleted, and only after a
                                          fresh read confirms we still exist
                                          (`can_adopt`), so a controller deleted a
                                          moment ago adopts nothing

Both writes are strategic merge patches on `ownerReferences` (merge key `uid`),
pinned to the candidate's resourceVersion: a concurrent change makes it a 409 and
the sync retries on fresh data instead of acting on a stale copy.
"""

from __future__ import annotations

from collections.abc import Callable

from supernetes.controlplane.api.meta import owner_reference
from supernetes.controlplane.client import NotFound

from . import podutil


class ControllerRefManager:
    def __init__(self, resource, owner: dict, matches: Callable[[dict], bool],
                 can_adopt: Callable[[], None]):
        """`resource` is the ResourceClient of the candidates; `can_adopt` raises if the
        owner may not adopt (it is gone or being deleted), and is called at most once."""
        self.resource = resource
        self.owner = owner
        self.matches = matches
        self._can_adopt = can_adopt
        self._adopt_checked = False
        self._adopt_refused = False

    def claim(self, candidates: list[dict]) -> list[dict]:
        """The candidates that are ours after adopting and releasing."""
        owner_uid = podutil.uid(self.owner)
        owner_deleting = podutil.terminating(self.owner)
        claimed = []
        for obj in candidates:
            ref = podutil.controller_ref(obj)
            if ref is not None:
                if ref.get("uid") != owner_uid:
                    continue
                if self.matches(obj):
                    claimed.append(obj)
                elif not owner_deleting:
                    self._release(obj)
                continue
            if owner_deleting or podutil.terminating(obj) or not self.matches(obj):
                continue
            if podutil.meta(obj).get("namespace") != podutil.meta(self.owner).get("namespace"):
                continue
            adopted = self._adopt(obj)
            if adopted is not None:
                claimed.append(adopted)
        return claimed

    def _adopt(self, obj: dict) -> dict | None:
        if not self._adopt_checked:
            try:
                self._can_adopt()
            except NotFound:
                # Deleted a moment ago (our cache has not seen it yet): adopt nothing.
                self._adopt_refused = True
            self._adopt_checked = True
        if self._adopt_refused:
            return None
        meta = podutil.meta(obj)
        patch = {"metadata": {"ownerReferences": [owner_reference(self.owner)],
                              "resourceVersion": meta.get("resourceVersion"),
                              "uid": meta.get("uid")}}
        try:
            return self.resource.patch(meta["name"], patch, meta.get("namespace"))
        except NotFound:
            return None                 # gone meanwhile: nothing to own

    def _release(self, obj: dict) -> None:
        meta = podutil.meta(obj)
        patch = {"metadata": {"ownerReferences": [{"$patch": "delete",
                                                   "uid": podutil.uid(self.owner)}],
                              "resourceVersion": meta.get("resourceVersion"),
                              "uid": meta.get("uid")}}
        try:
            self.resource.patch(meta["name"], patch, meta.get("namespace"))
        except NotFound:
            pass


def recheck_owner(resource, owner: dict) -> Callable[[], None]:
    """A `can_adopt` that reads the owner afresh: it must exist with the same uid and not
    be being deleted (Kubernetes' RecheckDeletionTimestamp)."""
    from .errors import SyncError

    def check() -> None:
        meta = podutil.meta(owner)
        fresh = resource.get(meta["name"], meta.get("namespace"))
        if podutil.uid(fresh) != meta.get("uid"):
            raise SyncError(f"original {owner.get('kind')} {meta.get('namespace')}/"
                            f"{meta['name']} is gone: got uid {podutil.uid(fresh)}, "
                            f"wanted {meta.get('uid')}")
        if podutil.terminating(fresh):
            raise SyncError(f"{owner.get('kind')} {meta.get('namespace')}/{meta['name']} "
                            f"is being deleted: it adopts nothing")
    return check

"""Creating and deleting pods for a controller (Kubernetes' RealPodControl), in bursts.

`pod_from_template` stamps a pod out of a template: the template's labels,
annotations and finalizers, `generateName: <owner>-`, the owner as controller
reference, the spec copied. `PodControl` sends the creations and deletions and
records the Events users know (`SuccessfulCreate`, `FailedCreate`,
`SuccessfulDelete`, `FailedDelete`).

`slow_start_batch` sends many creations in batches of 1, 2, 4, 8, ... in parallel and
stops at the first batch with a failure: when every creation would fail (a quota,
an admission rule, a terminating namespace), one request fails, not five hundred.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from supernetes.controlplane.api.meta import owner_reference
from supernetes.controlplane.client import ApiError, NotFound

from . import podutil

MAX_PARALLEL = 16


def pod_from_template(template: dict, owner: dict, *, name: str | None = None,
                      extra_labels: dict | None = None) -> dict:
    template = copy.deepcopy(template or {})
    tmeta = template.get("metadata") or {}
    ometa = podutil.meta(owner)
    meta: dict = {"namespace": ometa.get("namespace"),
                  "labels": dict(tmeta.get("labels") or {}, **(extra_labels or {})),
                  "ownerReferences": [owner_reference(owner)]}
    if name:
        meta["name"] = name
    else:
        meta["generateName"] = f"{ometa['name']}-"
    if tmeta.get("annotations"):
        meta["annotations"] = dict(tmeta["annotations"])
    if tmeta.get("finalizers"):
        meta["finalizers"] = list(tmeta["finalizers"])
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta,
            "spec": template.get("spec") or {}}


def namespace_terminating(exc: ApiError) -> bool:
    """The namespace is being deleted: creating in it is refused, and that is fine."""
    causes = exc.details.get("causes") or ()
    return exc.code == 403 and any(c.get("reason") == "NamespaceTerminating" for c in causes)


def slow_start_batch(count: int, create: Callable[[int], None],
                     initial: int = 1) -> tuple[int, Exception | None]:
    """Call `create(i)` for i in range(count) in doubling parallel batches; stop after a
    batch with a failure. Returns (successes, the first error or None)."""
    done, successes, batch = 0, 0, min(count, initial)
    while done < count:
        indexes = range(done, done + batch)
        errors: list[Exception] = []
        if batch == 1:
            outcomes = [_attempt(create, indexes[0])]
        else:
            with ThreadPoolExecutor(min(batch, MAX_PARALLEL)) as pool:
                outcomes = list(pool.map(lambda i: _attempt(create, i), indexes))
        for outcome in outcomes:
            if outcome is None:
                successes += 1
            else:
                errors.append(outcome)
        done += batch
        if errors:
            return successes, errors[0]
        batch = min(2 * batch, count - done)
    return successes, None


def _attempt(create, index: int) -> Exception | None:
    try:
        create(index)
        return None
    except Exception as exc:        # reported by the caller, after the whole batch
        return exc


class PodControl:
    def __init__(self, client, event: Callable[[dict, str, str, str], None]):
        self.pods = client.resource("v1", "Pod")
        self.event = event

    def create(self, pod: dict, owner: dict) -> dict | None:
        """Create; None when the namespace is terminating (nothing to do there)."""
        try:
            created = self.pods.create(pod, podutil.meta(pod).get("namespace"))
        except ApiError as exc:
            if namespace_terminating(exc):
                return None
            self.event(owner, "Warning", "FailedCreate", f"Error creating: {exc.message}")
            raise
        self.event(owner, "Normal", "SuccessfulCreate",
                   f"Created pod: {created['metadata']['name']}")
        return created

    def delete(self, pod: dict, owner: dict, *, grace: int | None = None) -> bool:
        """Delete; False when it was already gone (no event will say so)."""
        meta = podutil.meta(pod)
        try:
            self.pods.delete(meta["name"], meta.get("namespace"), grace_period_seconds=grace,
                             preconditions={"uid": meta.get("uid")})
        except NotFound:
            return False
        except ApiError as exc:
            if exc.code == 409:         # a pod of the same name but another uid: ours is gone
                return False
            self.event(owner, "Warning", "FailedDelete",
                       f"Error deleting: {exc.message}")
            raise
        self.event(owner, "Normal", "SuccessfulDelete", f"Deleted pod: {meta['name']}")
        return True


def parallel(items: list, func: Callable, limit: int = MAX_PARALLEL) -> list:
    """Apply `func` to every item concurrently; returns the exceptions raised (in order)."""
    if not items:
        return []
    if len(items) == 1:
        outcome = _attempt(func, items[0])
        return [outcome] if outcome is not None else []
    with ThreadPoolExecutor(min(len(items), limit)) as pool:
        outcomes = list(pool.map(lambda item: _attempt(func, item), items))
    return [o for o in outcomes if o is not None]

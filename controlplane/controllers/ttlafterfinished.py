"""The TTL-after-finished controller: a finished Job with ttlSecondsAfterFinished goes.

A Job that is Complete or Failed and sets `spec.ttlSecondsAfterFinished` is deleted
that many seconds after it finished (its completionTime, or the time of its Failed
condition), in the foreground, so its pods go first. Before deleting, the Job is
read afresh: a TTL changed meanwhile (or a Job made to run again) wins.
"""

from __future__ import annotations

import time

from supernetes.controlplane.api.meta import parse_time
from supernetes.controlplane.client import NotFound

from . import jobutil, podutil
from .base import Controller, handlers


def _expiry(job: dict) -> float | None:
    """When the Job may be deleted (epoch seconds), or None if it may not."""
    ttl = (job.get("spec") or {}).get("ttlSecondsAfterFinished")
    cond = jobutil.finished_condition(job)
    if ttl is None or cond is None or podutil.terminating(job):
        return None
    finished = parse_time((job.get("status") or {}).get("completionTime")) or \
        parse_time(cond.get("lastTransitionTime"))
    if finished is None:
        return None
    return finished.timestamp() + ttl


class TTLAfterFinishedController(Controller):
    name = "ttl-after-finished"
    component = "ttl-after-finished-controller"

    def setup(self) -> None:
        self.jobs = self.informer("batch/v1", "Job")
        self.jobs.add_handler(**handlers(self._changed, on_delete=lambda job: None))
        self.job_resource = self.resource("batch/v1", "Job")

    def _changed(self, job: dict) -> None:
        if _expiry(job) is not None:
            self.enqueue(job)

    def sync(self, key: str) -> None:
        job = self.jobs.cache.get(key)
        if job is None or _expiry(job) is None:
            return
        left = _expiry(job) - time.time()
        if left > 0:
            self.enqueue_after(key, left)
            return
        meta = podutil.meta(job)
        try:
            fresh = self.job_resource.get(meta["name"], meta.get("namespace"))
        except NotFound:
            return
        expiry = _expiry(fresh)
        if expiry is None or expiry > time.time():
            if expiry is not None:
                self.enqueue_after(key, expiry - time.time())
            return
        try:
            self.job_resource.delete(meta["name"], meta.get("namespace"),
                                     propagation_policy="Foreground",
                                     preconditions={"uid": podutil.uid(fresh),
                                                    "resourceVersion": podutil.meta(fresh).get(
                                                        "resourceVersion")})
        except NotFound:
            pass

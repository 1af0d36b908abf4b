"""Pure helpers of the Job controller: pod outcomes, indexes, conditions, back-off.

A Job's pods carry the `batch.kubernetes.io/job-tracking` finalizer from their
creation, so a finished pod cannot vanish before the Job has counted it. Counting
is Kubernetes' three steps, each written before the next starts, so a crash at any
point neither loses nor double-counts a pod:

    1. the uids of newly finished pods go into status.uncountedTerminatedPods
    2. their finalizers are removed
    3. uncounted uids whose pods no longer hold the finalizer move into
       status.succeeded / status.failed (and completedIndexes, for Indexed Jobs)

A pod counts as failed when its phase is Failed, or when it was deleted before it
succeeded (evicted from a dead node, deleted by hand).
"""

from __future__ import annotations

from . import podutil

TRACKING_FINALIZER = "batch.kubernetes.io/job-tracking"
COMPLETION_INDEX = "batch.kubernetes.io/job-completion-index"


def tracked(pod: dict) -> bool:
    return TRACKING_FINALIZER in (podutil.meta(pod).get("finalizers") or ())


def outcome(pod: dict) -> str | None:
    """"succeeded", "failed", or None while the pod may still run."""
    if podutil.phase(pod) == "Succeeded":
        return "succeeded"
    if podutil.phase(pod) == "Failed" or podutil.terminating(pod):
        return "failed"
    return None


def completion_index(pod: dict) -> int | None:
    value = (podutil.meta(pod).get("annotations") or {}).get(COMPLETION_INDEX) or \
        podutil.labels(pod).get(COMPLETION_INDEX)
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def parse_indexes(text: str | None) -> set[int]:
    """"0-2,5" -> {0, 1, 2, 5}."""
    found: set[int] = set()
    for part in (text or "").split(","):
        part = part.strip()
        if not part:
            continue
        low, _, high = part.partition("-")
        try:
            found.update(range(int(low), int(high or low) + 1))
        except ValueError:
            continue
    return found


def format_indexes(indexes: set[int]) -> str:
    """{0, 1, 2, 5} -> "0-2,5" (Kubernetes' compressed interval list)."""
    parts, ordered, i = [], sorted(indexes), 0
    while i < len(ordered):
        j = i
        while j + 1 < len(ordered) and ordered[j + 1] == ordered[j] + 1:
            j += 1
        parts.append(str(ordered[i]) if i == j else f"{ordered[i]}-{ordered[j]}")
        i = j + 1
    return ",".join(parts)


def finished_condition(job: dict) -> dict | None:
    for kind in ("Complete", "Failed"):
        cond = podutil.get_condition(job, kind)
        if cond is not None and cond.get("status") == "True":
            return cond
    return None


def restarts_on_failure(job: dict, active: list[dict]) -> int:
    """Container restarts of the active pods: with restartPolicy OnFailure a failing
    container restarts in place, and each restart counts against backoffLimit."""
    template = ((job.get("spec") or {}).get("template") or {}).get("spec") or {}
    if template.get("restartPolicy") != "OnFailure":
        return 0
    total = 0
    for pod in active:
        status = pod.get("status") or {}
        for key in ("initContainerStatuses", "containerStatuses"):
            total += sum(s.get("restartCount") or 0 for s in status.get(key) or ())
    return total

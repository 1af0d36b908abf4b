"""The agent's view of the runtime: which container is which attempt of which pod.

The runtime knows containers by ID; the agent needs "attempt 3 of container `web`
of pod 5f1c...". That mapping lives in the annotations every container carries
from its config.json (`ocispec.py`), so it survives an agent restart, and this
module turns a runtime's `ContainerInfo` into the `ContainerRecord` the pure
functions read. Two facts are not the runtime's to know, and live as files in
the container's bundle directory, written by the agent:

    <bundle>/started            when `start` returned (epoch seconds)
    <bundle>/termination-log    what the container wrote to its termination
                                message path (bind-mounted in), read once it exits

`ContainerIndex` is the in-memory table the PLEG keeps current (pleg.py): every
known container by ID and by pod UID. Readers get immutable records.
"""

from __future__ import annotations

import os
import threading

from .observed import CREATED, EXITED, RUNNING, ContainerRecord
from .ocispec import ANNOTATION
from .runtimes.base import CREATED as RT_CREATED
from .runtimes.base import EXITED as RT_EXITED
from .runtimes.base import ContainerInfo

POD_UID = f"{ANNOTATION}.pod.uid"
POD_NAME = f"{ANNOTATION}.pod.name"
POD_NAMESPACE = f"{ANNOTATION}.pod.namespace"
NAME = f"{ANNOTATION}.container.name"
ATTEMPT = f"{ANNOTATION}.container.attempt"
STREAK = f"{ANNOTATION}.container.restart-streak"
SPEC_HASH = f"{ANNOTATION}.container.spec-hash"
IMAGE_ID = f"{ANNOTATION}.container.image-id"
INIT = f"{ANNOTATION}.container.init"
STARTED_FILE = "started"
TERMINATION_LOG = "termination-log"
MAX_MESSAGE = 4096  # the kubelet's limit for a termination message
# A stopped container whose exit nobody recorded (its monitor was killed): the
# kubelet's reason and code for a container whose state was lost.
UNKNOWN_REASON, UNKNOWN_CODE = "ContainerStatusUnknown", 137


def container_id(pod: dict, name: str, attempt: int) -> str:
    """A readable, unique runtime ID: <container>_<pod>_<uid prefix>_<attempt>."""
    meta = pod["metadata"]
    return f"{name[:63]}_{meta['name'][:40]}_{meta['uid'][:8]}_{attempt}"


def pod_uid(info: ContainerInfo) -> str | None:
    return info.annotations.get(POD_UID) or None


def _read(path: str, limit: int = 64) -> str | None:
    try:
        with open(path, "rb") as f:
            return f.read(limit).decode(errors="replace")
    except OSError:
        return None


def started_at(info: ContainerInfo) -> float | None:
    text = _read(os.path.join(info.bundle, STARTED_FILE)) if info.bundle else None
    try:
        return float(text) if text else None
    except ValueError:
        return None


def termination_message(info: ContainerInfo) -> str:
    if not info.bundle:
        return ""
    return (_read(os.path.join(info.bundle, TERMINATION_LOG), MAX_MESSAGE) or "").strip()


def record_of(info: ContainerInfo) -> ContainerRecord | None:
    """The record of a container the agent made; None for anybody else's."""
    notes = info.annotations
    if not notes.get(POD_UID) or not notes.get(NAME):
        return None
    if info.status == RT_EXITED:
        state = EXITED
    elif info.status == RT_CREATED:
        state = CREATED
    else:
        state = RUNNING
    started = started_at(info)
    if started is None and state != CREATED:
        started = info.created_at  # the agent died between start and writing it down
    exit_code, reason, message = None, None, ""
    if state == EXITED:
        exit_code = info.exit_code
        if info.unknown_exit or exit_code is None:
            exit_code, reason = UNKNOWN_CODE, UNKNOWN_REASON
        elif info.oom_killed:
            reason = "OOMKilled"
        message = termination_message(info)
    return ContainerRecord(
        id=info.id, name=notes[NAME], attempt=_int(notes.get(ATTEMPT)), state=state,
        init=notes.get(INIT) == "true", exit_code=exit_code, reason=reason,
        started_at=started, finished_at=info.finished_at if state == EXITED else None,
        spec_hash=notes.get(SPEC_HASH, ""), restart_streak=_int(notes.get(STREAK)),
        image_id=notes.get(IMAGE_ID, ""), message=message,
    )


def _int(text: str | None) -> int:
    try:
        return int(text or 0)
    except ValueError:
        return 0


class ContainerIndex:
    """Every container of the agent's pods, by ID and by pod UID (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._infos: dict[str, ContainerInfo] = {}
        self._records: dict[str, ContainerRecord] = {}
        self._by_pod: dict[str, set[str]] = {}

    def put(self, info: ContainerInfo) -> tuple[ContainerRecord | None, bool]:
        """Store the newest info; (its record, whether the record changed)."""
        record = record_of(info)
        uid = pod_uid(info)
        with self._lock:
            old = self._records.get(info.id)
            self._infos[info.id] = info
            if record is None or uid is None:
                return None, False
            self._records[info.id] = record
            self._by_pod.setdefault(uid, set()).add(info.id)
        return record, old != record

    def forget(self, container_id: str) -> None:
        with self._lock:
            info = self._infos.pop(container_id, None)
            self._records.pop(container_id, None)
            uid = pod_uid(info) if info else None
            if uid and uid in self._by_pod:
                self._by_pod[uid].discard(container_id)
                if not self._by_pod[uid]:
                    del self._by_pod[uid]

    def records(self, uid: str) -> tuple[ContainerRecord, ...]:
        with self._lock:
            ids = sorted(self._by_pod.get(uid, ()))
            return tuple(self._records[i] for i in ids)

    def infos(self, uid: str) -> list[ContainerInfo]:
        with self._lock:
            return [self._infos[i] for i in sorted(self._by_pod.get(uid, ()))]

    def info(self, container_id: str) -> ContainerInfo | None:
        with self._lock:
            return self._infos.get(container_id)

    def pod_uids(self) -> set[str]:
        with self._lock:
            return set(self._by_pod)

    def ids(self) -> set[str]:
        with self._lock:
            return set(self._infos)

    def all_infos(self) -> list[ContainerInfo]:
        with self._lock:
            return list(self._infos.values())

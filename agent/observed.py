"""What the agent observes of a pod on its node: plain records, no behaviour.

The pod workers read the runtime (every container the agent made carries its
pod UID, container name, attempt number and restart streak in OCI annotations)
and the sandbox, and condense them into a `PodObserved`. The pure functions in
`actions.py` (what to do) and `podstatus.py` (what to report) take it as input,
which is what makes them testable without a kernel and makes the agent
restart-safe: a fresh agent observes the same records a dead one left behind.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

CREATED, RUNNING, EXITED = "created", "running", "exited"


@dataclass(frozen=True)
class ContainerRecord:
    """One instance (one attempt) of one container of a pod."""

    id: str
    name: str
    attempt: int  # 0 for the first start; the restart count is the newest attempt
    state: str  # CREATED | RUNNING | EXITED
    init: bool = False
    exit_code: int | None = None
    reason: str | None = None  # "OOMKilled" when the kernel killed it for memory
    started_at: float | None = None  # epoch seconds
    finished_at: float | None = None
    spec_hash: str = ""  # hash of the container spec it was made from
    restart_streak: int = 0  # quick exits in a row before this attempt (for back-off)
    image_id: str = ""


@dataclass(frozen=True)
class PodObserved:
    sandbox_ready: bool = False
    sandbox_created_at: float | None = None  # epoch seconds
    records: tuple[ContainerRecord, ...] = field(default_factory=tuple)

    def latest(self, name: str) -> ContainerRecord | None:
        """The newest attempt of container `name`, or None if it never ran."""
        mine = [r for r in self.records if r.name == name]
        return max(mine, key=lambda r: r.attempt) if mine else None

    def older(self, name: str) -> list[ContainerRecord]:
        """Every attempt of `name` but the newest (kept only until pruned)."""
        newest = self.latest(name)
        return [r for r in self.records if r.name == name and r is not newest]


def spec_hash(container: dict) -> str:
    """A stable hash of a container's spec: a change means "restart it"."""
    encoded = json.dumps(container, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(encoded).hexdigest()[:16]

"""Crash-loop back-off, computed from the records alone.

Kubernetes restarts a crashing container at once the first time, then waits 10 s,
20 s, 40 s ... up to 5 minutes, and forgets the streak once a container has run
for 10 minutes. The kubelet keeps that streak in memory; we keep it on the
container itself (the `restart_streak` annotation written when it is created), so
an agent that restarts knows exactly as much as the one that died.

    streak after an exit = previous streak + 1   if it ran less than `reset_after`
                         = 1                     otherwise
    delay before the next start = 0                                   for streak 1
                                = min(initial * 2 ** (streak - 2), maximum)  after

Tests shorten the periods through `BackoffPolicy`; the defaults are Kubernetes'.
"""

from __future__ import annotations

from dataclasses import dataclass

from .observed import ContainerRecord


@dataclass(frozen=True)
class BackoffPolicy:
    initial: float = 10.0
    maximum: float = 300.0
    reset_after: float = 600.0

    def streak_after(self, record: ContainerRecord) -> int:
        ran = (record.finished_at or 0) - (record.started_at or record.finished_at or 0)
        return record.restart_streak + 1 if ran < self.reset_after else 1

    def delay_after(self, record: ContainerRecord) -> float:
        streak = self.streak_after(record)
        if streak <= 1:
            return 0.0
        return min(self.initial * 2 ** (streak - 2), self.maximum)

    def ready_at(self, record: ContainerRecord) -> float:
        """When a restart of the exited `record` may begin (epoch seconds)."""
        return (record.finished_at or 0) + self.delay_after(record)

"""A container as the lifecycle operations see it, and the state machine they obey.

The OCI runtime spec gives a container four statuses: creating -> created ->
running -> stopped (runc adds paused, a running container whose cgroup is
frozen). The status is never stored as the truth; it is *derived* from what the
kernel and the state directory say, as runc does:

    exit.json written by the monitor, or the init is gone     -> stopped
    state.json still says "creating"                          -> creating
    exec.fifo still there (the init waits for `start`)        -> created
    the cgroup is frozen                                      -> paused
    otherwise                                                 -> running

Each operation names the statuses it may act on (`TRANSITIONS`); `require()`
raises `InvalidStateError` for an illegal move, e.g. `start` on a running
container. The init is identified by PID *and* its start time (field 22 of
/proc/<pid>/stat), so a recycled PID is never mistaken for the container.
"""

from __future__ import annotations

import fcntl
import os
import time

from .errors import InvalidStateError
from .state import MONITOR_LOCK, StateDir

CREATING, CREATED, RUNNING, PAUSED, STOPPED = "creating", "created", "running", "paused", "stopped"

# Between the init's death and exit.json there is the monitor's reaping and writing.
EXIT_RECORD_GRACE = 2.0

# operation -> statuses it is allowed from (delete -f and kill --all widen these).
TRANSITIONS = {
    "start": {CREATED},
    "kill": {CREATED, RUNNING, PAUSED},
    "exec": {CREATED, RUNNING},
    "pause": {CREATED, RUNNING},
    "resume": {PAUSED},
    "update": {CREATED, RUNNING, PAUSED},
    "delete": {CREATED, STOPPED},
    "delete -f": {CREATING, CREATED, RUNNING, PAUSED, STOPPED},
}


def process_start_time(pid: int) -> int | None:
    """Start time of `pid` in clock ticks since boot, or None if it is gone or a zombie."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return None
    # The command name (field 2) may contain spaces and parentheses: split after the last ")".
    fields = stat[stat.rfind(b")") + 2:].split()
    if fields[0] in (b"Z", b"X"):
        return None
    return int(fields[19])


class Container:
    """One container, loaded from its state directory."""

    def __init__(self, sd: StateDir, data: dict) -> None:
        self.dir = sd
        self.data = data

    @classmethod
    def load(cls, root: str, container_id: str) -> Container:
        sd = StateDir.open(root, container_id)
        return cls(sd, sd.read_state())

    @property
    def id(self) -> str:
        return self.dir.id

    @property
    def pid(self) -> int:
        return self.data.get("pid") or 0

    def init_alive(self) -> bool:
        pid = self.pid
        return bool(pid) and process_start_time(pid) == self.data.get("pid_start")

    def exit_record(self) -> dict | None:
        """exit.json; when the init is gone but its monitor still writing, waits for it."""
        record = self.dir.read_exit()
        deadline = time.monotonic() + EXIT_RECORD_GRACE
        while record is None and self.monitor_alive() and time.monotonic() < deadline:
            time.sleep(0.002)
            record = self.dir.read_exit()
        return record

    def monitor_alive(self) -> bool:
        """Does the monitor still hold its lock (is it alive)?"""
        try:
            fd = os.open(self.dir.file(MONITOR_LOCK), os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            return False
        except BlockingIOError:
            return True
        finally:
            os.close(fd)

    def status(self) -> str:
        if self.data.get("status") == CREATING:
            return CREATING
        if self.dir.read_exit() is not None or not self.init_alive():
            return STOPPED
        if self.dir.has_fifo():
            return CREATED
        paths = self.data.get("cgroup_paths")
        if paths:
            from . import cgroup_link

            if cgroup_link.is_frozen(paths):
                return PAUSED
        return RUNNING

    def require(self, operation: str) -> str:
        """Raise InvalidStateError unless `operation` is legal now; returns the status."""
        status = self.status()
        if status not in TRANSITIONS[operation]:
            verb = operation.split()[0]
            raise InvalidStateError(f"cannot {verb} container {self.id!r}: it is {status}"
                                    + _hint(operation, status))
        return status

    def oci_state(self) -> dict:
        """The state JSON of the OCI runtime spec (plus runc's and superc's extras)."""
        status = self.status()
        out = {
            "ociVersion": self.data.get("oci_version") or "1.0.2",
            "id": self.id,
            "status": status,
            "pid": self.pid if status in (CREATED, RUNNING, PAUSED) else 0,
            "bundle": self.data.get("bundle", ""),
            "rootfs": self.data.get("rootfs", ""),
            "created": self.data.get("created", ""),
            "owner": "",
            "annotations": self.data.get("annotations") or {},
        }
        if status == STOPPED:
            record = self.exit_record()
            if record is not None:
                out["exitCode"] = record.get("exitCode")
                out["signal"] = record.get("signal")
                out["oomKilled"] = bool(record.get("oomKilled"))
                out["finished"] = record.get("finished")
        return out


def _hint(operation: str, status: str) -> str:
    if operation == "delete" and status in (RUNNING, PAUSED):
        return " (stop it first, or use delete -f)"
    if operation == "start" and status in (RUNNING, STOPPED):
        return " (start only acts on a created container)"
    return ""


def pid_is(pid: int, start: int | None) -> bool:
    """Is `pid` still the very process that had start time `start`?"""
    return bool(pid) and start is not None and process_start_time(pid) == start


def now_rfc3339() -> str:
    t = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{int(t % 1 * 1e9):09d}Z"

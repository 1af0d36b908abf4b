"""PID 1 of a lab machine: boots it, supervises its services, reaps, shuts it down.

The lab starts it as

    nsenter --net=<machine netns> -- unshare --pid --fork --kill-child --mount --uts
        --propagation slave --mount-proc -- python -m supernetes.lab.nodeinit SPEC

so it is the first process of a new PID namespace, with a mount namespace
(a slave copy of the host's: host mounts still appear, its own never leak out)
and a host name of its own. SPEC is a JSON file the lab wrote:

    hostname   the machine's name (the agent's default node name)
    tmpfs      directories that get a fresh tmpfs: the volatile run dir (/run on a
               real machine), so nothing in it survives a reboot
    keep       paths that must stay reachable: the lab's data dir, the Python
               installation (mounts holding them are never dropped)
    env        the environment of every service (and of `lab exec`)
    services   [{name, argv, log, restart, fds}]: started in order, restarted after
               a failure with a back-off (systemd's Restart=always); `fds` are
               descriptors the init inherited and hands on (the API relay's socket)
    stopTimeout  seconds services get to exit on shutdown
    bootedFile   written once the machine is booted and its services started

Boot. The mount namespace starts as a copy of everything the host had mounted,
including the files that pin other namespaces (other machines' network
namespaces, other programs' test namespaces). A copy is a reference: it would
keep those namespaces alive after their owner unpins them. So the init first
drops every nsfs mount, and every mount under the temporary directory that
does not hold the lab's data dir (other programs' scratch mounts).

Run. One thread, no fork (subprocess execs at once): signals arrive through a
wakeup pipe, the loop reaps every child (as PID 1 it inherits every orphan of
the machine), restarts services that died, and sleeps until the next restart.

Shutdown (SIGTERM from `lab node stop`): SIGTERM to the services, newest first,
waiting up to stopTimeout; then SIGTERM to every process left in the machine
(kill(-1) from PID 1 reaches exactly its namespace), a short grace, and exit.
When PID 1 exits the kernel kills whatever remains. SIGKILL from the host
(`lab node kill`) skips all of it, as pulling the plug does.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import time

from supernetes.runtime import linux

RESTART_INITIAL, RESTART_MAX = 1.0, 10.0
GRACE_AFTER_SERVICES = 3.0


def say(message: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} nodeinit: {message}", flush=True)


# --- boot --------------------------------------------------------------------------------

def _mounts() -> list[tuple[str, str]]:
    found = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            found.append((fields[4].replace("\\040", " "), fields[fields.index("-") + 1]))
    return found


def _holds(point: str, path: str) -> bool:
    return path == point or path.startswith(point.rstrip("/") + "/")


def drop_foreign_mounts(keep: list[str]) -> None:
    tmp = tempfile.gettempdir()
    for point, fstype in sorted(_mounts(), key=lambda m: len(m[0]), reverse=True):
        foreign = fstype == "nsfs" or (_holds(tmp, point) and point != tmp
                                       and not any(_holds(point, k) for k in keep))
        if foreign:
            with contextlib.suppress(OSError):
                linux.umount2(point, linux.MNT_DETACH)


def boot(spec: dict) -> None:
    drop_foreign_mounts(spec["keep"])
    for path in spec.get("tmpfs", []):
        os.makedirs(path, exist_ok=True)
        linux.mount("tmpfs", path, "tmpfs", linux.MS_NOSUID | linux.MS_NODEV, "mode=0755")
    linux.sethostname(spec["hostname"])
    os.environ.update(spec.get("env", {}))


# --- services ----------------------------------------------------------------------------

class Service:
    def __init__(self, spec: dict):
        self.name = spec["name"]
        self.argv = spec["argv"]
        self.log = spec["log"]
        self.restart = spec.get("restart", True)
        self.fds = tuple(spec.get("fds", ()))   # inherited descriptors it must keep
        self.pid: int | None = None
        self.backoff = RESTART_INITIAL
        self.due = 0.0           # when to (re)start it
        self.started = 0.0

    def start(self) -> None:
        with open(self.log, "ab") as log:
            process = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=log,
                                       stderr=log, start_new_session=True,
                                       pass_fds=self.fds)
        self.pid = process.pid
        process.returncode = 0   # reaped by the init's loop, never by Popen
        self.started = time.monotonic()
        say(f"started {self.name} (pid {self.pid})")

    def exited(self, status: int, now: float) -> None:
        code = os.waitstatus_to_exitcode(status)
        say(f"{self.name} (pid {self.pid}) exited with {code}")
        self.pid = None
        if now - self.started > 60:
            self.backoff = RESTART_INITIAL    # it ran a good while: a fresh failure
        self.due = now + self.backoff
        self.backoff = min(self.backoff * 2, RESTART_MAX)


class Init:
    def __init__(self, spec: dict):
        self.services = [Service(s) for s in spec.get("services", [])]
        self.stop_timeout = float(spec.get("stopTimeout", 30))
        self.wake_r, wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        signal.set_wakeup_fd(wake_w)
        for signum in (signal.SIGCHLD, signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: None)   # a handler, so the wakeup fd is written

    def run(self, booted_file: str | None = None) -> int:
        for service in self.services:
            service.start()
        if booted_file:
            with open(booted_file, "w") as f:
                f.write(f"{time.time()}\n")
        while True:
            now = time.monotonic()
            due = [s.due for s in self.services if s.pid is None and s.restart]
            timeout = max(0.0, min(due) - now) if due else None
            signals = self._wait(timeout)
            self.reap()
            if signal.SIGTERM in signals or signal.SIGINT in signals:
                return self.shutdown()
            now = time.monotonic()
            for service in self.services:
                if service.pid is None and service.restart and service.due <= now:
                    service.start()

    def _wait(self, timeout: float | None) -> set[int]:
        with contextlib.suppress(InterruptedError):
            select.select([self.wake_r], [], [], timeout)
        try:
            return set(os.read(self.wake_r, 512))
        except BlockingIOError:
            return set()

    def reap(self) -> bool:
        """Collect every exited child; False once there is no child left at all."""
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return False
            if pid == 0:
                return True
            for service in self.services:
                if service.pid == pid:
                    service.exited(status, time.monotonic())

    def shutdown(self) -> int:
        say("shutting down")
        for service in reversed(self.services):
            service.restart = False
            if service.pid is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(service.pid, signal.SIGTERM)
        self._drain(lambda: any(s.pid is not None for s in self.services), self.stop_timeout)
        with contextlib.suppress(ProcessLookupError):
            os.kill(-1, signal.SIGTERM)   # from PID 1: every other process of the machine
        self._drain(lambda: True, GRACE_AFTER_SERVICES)
        say("powering off")
        return 0

    def _drain(self, waiting, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while waiting() and time.monotonic() < deadline:
            if not self.reap():
                return
            self._wait(min(0.2, max(0.0, deadline - time.monotonic())))


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    with open(argv[0]) as f:
        spec = json.load(f)
    if os.getpid() != 1:
        print("nodeinit: must run as PID 1 of a new PID namespace", file=sys.stderr)
        return 2
    say("booting")
    boot(spec)
    say(f"{spec['hostname']} booted")
    return Init(spec).run(booted_file=spec.get("bootedFile"))


if __name__ == "__main__":
    sys.exit(main())

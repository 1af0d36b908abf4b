"""Fixtures for the cgroup driver tests: real child processes and real cgroups.

`spawn(code)` starts a Python child that first waits for a line on stdin, so the
test can put it into a cgroup (and set limits) *before* it does its work; it
then runs `code`. Children run `python3 -S` (no site, no venv): a bare
interpreter starts in a few milliseconds here and in about a second inside the
software-emulated VM.

`reap` and `wait_for` are helper functions handed out as fixtures (test modules
cannot import this conftest under pytest's importlib mode).

`cgroup` is a created container cgroup on whatever this machine has, made the
way the runtime makes it (`factory.new_manager`, below the test's own cgroup):
its v1 parameter runs on the hybrid development machines, its v2 parameter
inside the VM harness (tests/vm). Teardown kills what is left and destroys it.
"""

from __future__ import annotations

import os
import selectors
import subprocess
import sys
import time

import pytest

from supernetes.runtime.cgroups import factory
from supernetes.runtime.cgroups.base import Manager

PYTHON = "/usr/bin/python3"

_PRELUDE = "import os, sys, time\nsys.stdin.readline()\n"


class Child:
    """A real process that starts its work when told to (`go`)."""

    def __init__(self, code: str, venv: bool = False):
        # venv=True: the project's own interpreter, which can import supernetes
        # (slower to start than a bare `python3 -S`).
        command = [sys.executable] if venv else [PYTHON, "-S"]
        self.popen = subprocess.Popen(
            [*command, "-c", _PRELUDE + code],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            text=True)
        self.pid = self.popen.pid

    def go(self) -> None:
        self.send("go")

    def send(self, line: str) -> None:
        assert self.popen.stdin is not None
        self.popen.stdin.write(line + "\n")
        self.popen.stdin.flush()

    def line(self, timeout: float = 30.0) -> str:
        """The next line the child prints (fails the test after `timeout`)."""
        assert self.popen.stdout is not None
        with selectors.DefaultSelector() as selector:
            selector.register(self.popen.stdout, selectors.EVENT_READ)
            if not selector.select(timeout):
                raise AssertionError(f"child {self.pid} printed nothing within {timeout}s")
        return self.popen.stdout.readline().strip()

    def wait(self, timeout: float = 30.0) -> int:
        return self.popen.wait(timeout)

    def close(self) -> None:
        if self.popen.poll() is None:
            self.popen.kill()
        self.popen.wait()
        for stream in (self.popen.stdin, self.popen.stdout):
            if stream is not None:
                try:
                    stream.close()
                except BrokenPipeError:
                    pass


@pytest.fixture
def spawn():
    children: list[Child] = []

    def start(code: str, venv: bool = False) -> Child:
        child = Child(code, venv)
        children.append(child)
        return child

    yield start
    for child in children:
        child.close()


@pytest.fixture(name="reap")
def reap_fixture():
    return reap


@pytest.fixture(name="wait_for")
def wait_for_fixture():
    return wait_for


def unique(prefix: str = "sn-cg") -> str:
    return f"{prefix}-{os.urandom(4).hex()}"


def reap(pids: list[int]) -> None:
    """Collect those of `pids` that are (or became, via the subreaper) our children."""
    for pid in pids:
        try:
            os.waitpid(pid, 0)
        except ChildProcessError:
            pass


def wait_for(predicate, timeout: float = 10.0, interval: float = 0.02) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)
    return True


def tear_down(manager: Manager) -> None:
    if manager.exists():
        if manager.frozen():
            manager.thaw()
        pids = manager.pids()
        manager.kill()
        reap(pids)
        manager.destroy()


@pytest.fixture(params=[
    pytest.param(1, marks=pytest.mark.cgroup_v1, id="v1"),
    pytest.param(2, marks=pytest.mark.cgroup_v2, id="v2"),
])
def cgroup(request):
    manager = factory.new_manager(unique())
    assert manager.version == request.param
    manager.create()
    yield manager
    tear_down(manager)

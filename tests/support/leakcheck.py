"""The leak check: every test that touches the kernel must leave it as it found it.

A pytest plugin. For each test marked `root` it snapshots, before setup and after
teardown, what a test can leave behind on this machine:

    mounts      /proc/self/mountinfo (mount points under this session's scope)
    cgroups     every directory below this session's own cgroup, per hierarchy
    netns       named network namespaces in /run/netns
    links       network interfaces of the host's namespace
    processes   descendants of the pytest process (pytest is made a child
                subreaper, so daemonised grandchildren stay visible), except
                inside PID namespaces that predate the test (a lab's machines)
    rules       iptables-save / nft rulesets of the host's namespace (when installed)

and fails the test (an error in its teardown) with a list of what leaked. It then
removes what it can (kills the processes, unmounts, deletes the namespaces, links
and cgroups), so one leaky test does not fail the rest of the suite.

Scope. Several test sessions may run on one machine at once, so the check only
looks at what this session can own:
  * at start, pytest moves itself one level *down* into a cgroup of its own
    (`<own cgroup>/sn-test-<pid>`) on every hierarchy of a v1/hybrid host; the runtime
    creates containers below the caller's cgroup, so this session's container
    cgroups all live below it, and the check walks only that subtree. (On a pure
    cgroup v2 machine pytest stays where it is: a cgroup holding processes could
    not delegate controllers to its children.)
  * mounts count when their mount point lies below this session's temporary
    directory or below the project's default state roots.
  * netns, links and rules are machine-wide, so they are checked only for tests
    marked `netns` (and not at all with SUPERNETES_LEAKCHECK_NETWORK=0, for
    developers running suites side by side).
  * a new process counts only if it is still alive after a short grace: the daemon
    of a module-wide fixture runs short commands of its own at any moment.
Higher-scoped fixtures (a module-wide cluster, a session-wide registry) are set
up before the first snapshot of a test and torn down after its last, so what they
hold is never reported against a test.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass, fields

import pytest

CGROUP_ROOT = "/sys/fs/cgroup"
STATE_ROOTS = ("/run/superc", "/run/supernetes", "/var/lib/supernetes")
SESSION_CGROUP = f"sn-test-{os.getpid()}"


@dataclass(frozen=True)
class Snapshot:
    mounts: frozenset[str]
    cgroups: frozenset[str]
    netns: frozenset[str]
    links: frozenset[str]
    processes: frozenset[str]
    rules: frozenset[str]

    def leaked_since(self, before: Snapshot) -> dict[str, list[str]]:
        leaked = {}
        for f in fields(self):
            new = sorted(getattr(self, f.name) - getattr(before, f.name))
            if new:
                leaked[f.name] = new
        return leaked


# --- the session's own cgroup -------------------------------------------------


def _own_cgroups() -> dict[str, str]:
    """Absolute directory of this process's cgroup per mounted hierarchy."""
    own = {}
    with open("/proc/self/cgroup") as f:
        for line in f:
            _, controllers, path = line.rstrip("\n").split(":", 2)
            for name in (controllers or "unified").split(","):
                name = name.removeprefix("name=")
                base = os.path.join(CGROUP_ROOT, name)
                if controllers == "" and not os.path.ismount(base):
                    base = CGROUP_ROOT  # pure cgroup v2
                if os.path.isdir(base):
                    own[name] = base + path.rstrip("/")
    return own


def _pure_v2() -> bool:
    return os.path.exists(os.path.join(CGROUP_ROOT, "cgroup.controllers"))


def enter_session_cgroup() -> dict[str, str]:
    """Move pytest one level down into its own cgroup on every hierarchy of a v1/hybrid host.

    The named `systemd` hierarchy and hybrid's controller-less cgroup2 included: the
    runtime makes container cgroups there too, and only a session cgroup keeps them
    apart from another session's.
    """
    moved = {}
    if _pure_v2():
        return moved
    for name, directory in _own_cgroups().items():
        target = os.path.join(directory, SESSION_CGROUP)
        try:
            os.makedirs(target, exist_ok=True)
            if name == "cpuset":  # a v1 cpuset cgroup takes no task until it has cpus and mems
                for knob in ("cpuset.cpus", "cpuset.mems"):
                    with open(os.path.join(directory, knob)) as src, \
                            open(os.path.join(target, knob), "w") as dst:
                        dst.write(src.read())
            with open(os.path.join(target, "cgroup.procs"), "w") as f:
                f.write(str(os.getpid()))
            moved[name] = directory
        except OSError:
            with contextlib.suppress(OSError):
                os.rmdir(target)
    return moved


def leave_session_cgroup(moved: dict[str, str]) -> None:
    for parent in moved.values():
        with contextlib.suppress(OSError):
            with open(os.path.join(parent, "cgroup.procs"), "w") as f:
                f.write(str(os.getpid()))
            os.rmdir(os.path.join(parent, SESSION_CGROUP))


# --- snapshots ----------------------------------------------------------------


def _mounts(scopes: tuple[str, ...]) -> frozenset[str]:
    found = set()
    with open("/proc/self/mountinfo") as f:
        for line in f:
            parts = line.split()
            point = parts[4].replace("\\040", " ")
            fstype = parts[parts.index("-") + 1]
            if any(point == s or point.startswith(s.rstrip("/") + "/") for s in scopes):
                found.add(f"{point} ({fstype})")
    return frozenset(found)


def _cgroups() -> frozenset[str]:
    """Cgroups below this session's own, never inside another test session's.

    Only the hierarchies pytest moved down in are walked: where it could not (the
    named systemd hierarchy, an empty cgroup2 beside v1), its cgroup is a root that
    other sessions and agents on the machine use too. On a pure v2 machine pytest
    moves nowhere, and its own cgroup is walked.
    """
    found = set()
    own = _own_cgroups()
    entered = {name: d for name, d in own.items() if os.path.basename(d) == SESSION_CGROUP}
    for directory in (entered or own).values():
        for dirpath, dirnames, _ in os.walk(directory):
            dirnames[:] = [d for d in dirnames
                           if not (d.startswith("sn-test-") and d != SESSION_CGROUP)]
            for d in dirnames:
                found.add(os.path.join(dirpath, d))
    return frozenset(found)


def _netns() -> frozenset[str]:
    try:
        return frozenset(os.listdir("/run/netns"))
    except FileNotFoundError:
        return frozenset()


def _links() -> frozenset[str]:
    return frozenset(os.listdir("/sys/class/net"))


def _children() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    return children


def _descendants() -> list[int]:
    children = _children()
    found, todo = [], [os.getpid()]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _describe(pid: int) -> str | None:
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            cmdline = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return None
    state = stat.rsplit(")", 1)[1].split()[0]
    if state == "Z":
        return None
    comm = stat[stat.index("(") + 1 : stat.rindex(")")]
    return f"{pid} {cmdline or comm}"


def _reap_zombie_children() -> None:
    """Collect our exited children so only live processes count (by PID, never -1)."""
    for pid in _children().get(os.getpid(), []):
        with contextlib.suppress(ChildProcessError, OSError), open(f"/proc/{pid}/stat") as f:
            if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                os.waitpid(pid, os.WNOHANG)


def _pid_namespace(pid: int) -> str | None:
    try:
        return os.readlink(f"/proc/{pid}/ns/pid")
    except OSError:
        return None


def pid_namespaces() -> frozenset[str]:
    """The PID namespaces our descendants live in, other than our own."""
    own = _pid_namespace(os.getpid())
    return frozenset(ns for ns in map(_pid_namespace, _descendants()) if ns and ns != own)


def _processes(machines: frozenset[str] = frozenset()) -> frozenset[str]:
    """Our live descendants, except those inside `machines`: PID namespaces that
    existed before the test, i.e. a lab machine of a longer-lived fixture, whose own
    comings and goings (an agent's short-lived `nft`) are not the test's doing. A
    container the test leaks there still shows, as its cgroup."""
    _reap_zombie_children()
    pids = [pid for pid in _descendants() if _pid_namespace(pid) not in machines]
    return frozenset(d for d in map(_describe, pids) if d)


def _rules() -> frozenset[str]:
    lines: set[str] = set()
    if shutil.which("iptables-save"):
        out = subprocess.run(["iptables-save"], capture_output=True, text=True).stdout
        lines |= {f"iptables: {ln}" for ln in out.splitlines()
                  if ln and not ln.startswith(("#", ":"))}
    if shutil.which("nft"):
        out = subprocess.run(["nft", "list", "tables"], capture_output=True, text=True).stdout
        lines |= {f"nft: {ln}" for ln in out.splitlines() if ln}
    return frozenset(lines)


def snapshot(scopes: tuple[str, ...], network: bool = True,
             machines: frozenset[str] = frozenset()) -> Snapshot:
    """What exists now; without `network`, the machine-wide network objects are left out.

    Processes inside the PID namespaces in `machines` (lab machines that predate the
    test) are not the test's own.
    """
    return Snapshot(
        mounts=_mounts(scopes),
        cgroups=_cgroups(),
        netns=_netns() if network else frozenset(),
        links=_links() if network else frozenset(),
        processes=_processes(machines),
        rules=_rules() if network else frozenset(),
    )


def settle(leaked: dict[str, list[str]], grace: float = 2.0) -> dict[str, list[str]]:
    """Drop the new processes that end within `grace` seconds.

    A daemon of a longer-lived fixture (a module's Superlet) runs short commands of
    its own at any moment (`nft list tables` for its service proxy); one caught in
    the after-snapshot is not a leak. A leaked process is one that stays.
    """
    if "processes" not in leaked:
        return leaked
    deadline = time.monotonic() + grace
    alive = leaked["processes"]
    while alive and time.monotonic() < deadline:
        _reap_zombie_children()
        alive = [e for e in alive if _describe(int(e.split()[0])) == e]
        if alive:
            time.sleep(0.05)
    settled = {kind: items for kind, items in leaked.items() if kind != "processes"}
    if alive:
        settled["processes"] = alive
    return settled


# --- cleanup of what leaked ---------------------------------------------------


def clean_up(leaked: dict[str, list[str]]) -> None:
    for entry in leaked.get("processes", []):
        with contextlib.suppress(ProcessLookupError):
            os.kill(int(entry.split()[0]), signal.SIGKILL)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and any(
        os.path.exists(f"/proc/{e.split()[0]}") for e in leaked.get("processes", [])
    ):
        _reap_zombie_children()
        time.sleep(0.02)
    for entry in sorted(leaked.get("mounts", []), key=len, reverse=True):
        subprocess.run(["umount", "-l", entry.rsplit(" (", 1)[0]], capture_output=True)
    for name in leaked.get("netns", []):
        subprocess.run(["ip", "netns", "delete", name], capture_output=True)
    for name in leaked.get("links", []):
        subprocess.run(["ip", "link", "delete", name], capture_output=True)
    for path in sorted(leaked.get("cgroups", []), key=len, reverse=True):
        for _ in range(50):
            try:
                os.rmdir(path)
                break
            except FileNotFoundError:
                break
            except OSError:
                time.sleep(0.02)


# --- the plugin ---------------------------------------------------------------


class LeakCheck:
    def __init__(self) -> None:
        self.moved: dict[str, str] = {}

    def pytest_configure(self, config: pytest.Config) -> None:
        if os.geteuid() != 0:
            return
        import prctl  # python-prctl: the child subreaper keeps orphans in our tree

        prctl.set_child_subreaper(True)
        self.moved = enter_session_cgroup()

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        leave_session_cgroup(self.moved)

    @pytest.fixture(autouse=True)
    def _leak_check(self, request: pytest.FixtureRequest, tmp_path_factory):
        if request.node.get_closest_marker("root") is None or os.geteuid() != 0:
            yield
            return
        scopes = (str(tmp_path_factory.getbasetemp()), *STATE_ROOTS)
        # Network namespaces, links and rules are machine-wide: other sessions make
        # them at any moment. Only tests that say they make some (`netns`) are checked
        # for them, so a test that makes none never reports, nor deletes, another's.
        # Developers running several suites side by side on one machine turn the
        # network part off (SUPERNETES_LEAKCHECK_NETWORK=0); CI never does.
        network = (request.node.get_closest_marker("netns") is not None
                   and os.environ.get("SUPERNETES_LEAKCHECK_NETWORK") != "0")
        machines = pid_namespaces()
        before = snapshot(scopes, network, machines)
        yield
        leaked = settle(snapshot(scopes, network, machines).leaked_since(before))
        if leaked:
            clean_up(leaked)
            report = "\n".join(
                f"  {kind}:\n" + "\n".join(f"    {item}" for item in items)
                for kind, items in leaked.items()
            )
            pytest.fail(f"the test leaked kernel objects or processes:\n{report}",
                        pytrace=False)

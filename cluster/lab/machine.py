"""One lab machine: boot it, stop it, pull its plug, enter it.

A machine is a network namespace (pinned, plugged into the lab switch) and the
process tree of its init (nodeinit.py). `boot()` writes the init's spec and
starts, from this process:

    nsenter --net=<netns> -- unshare --pid --fork --kill-child --mount --uts \\
        --propagation slave --mount-proc -- python -m supernetes.lab.nodeinit <spec>

`nsenter` moves into the machine's network namespace and becomes `unshare`,
which makes the other namespaces and forks the init into them (a new PID
namespace only applies to children); `--kill-child` makes the init die with it.
That `unshare` process (the launcher) is recorded in lab.json as `pid`, the
init as `init`. While the launcher lives, the machine runs.

    stop()    SIGTERM to the init: services stop, then everything else (nodeinit.py)
    kill()    SIGKILL to the init: the kernel kills the whole PID namespace at once
    then      forget(): sweep the agent's cgroups, remove the network namespace
    exec()    nsenter into all of its namespaces, with the machine's environment

PIDs are checked before any signal: a PID in lab.json is only ours if its
command line still names this machine's spec file (PIDs are reused).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from . import LabError, cgroupsweep, netplumb
from .state import LabState


class Machine:
    def __init__(self, state: LabState, name: str):
        self.state = state
        self.name = name
        self.config = state.config
        self.hostname = self.config.hostname(name)
        self.dir = state.machine_dir(name)
        self.netns = self.config.netns_path(name)
        self.spec_path = self.dir / "init.json"
        self.console = self.dir / "console.log"

    @property
    def record(self) -> dict:
        return self.state.machines.setdefault(self.name, {})

    # --- looking ---------------------------------------------------------------------------

    def _ours(self, pid: int | None) -> bool:
        """Is `pid` alive and running this machine's spec? (Not while it execs: its
        command line reads empty then; see `_alive`.)"""
        if not _alive(pid):
            return False
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                return str(self.spec_path).encode() in f.read()
        except OSError:
            return False

    def running(self) -> bool:
        return self._ours(self.record.get("pid"))

    @property
    def init_pid(self) -> int | None:
        pid = self.record.get("init")
        return pid if self._ours(pid) else None

    # --- boot --------------------------------------------------------------------------------

    def boot(self, services: list[dict], env: dict[str, str], tmpfs: list[str],
             pass_fds: tuple[int, ...] = (), timeout: float = 30.0) -> None:
        """Start the init with `services`; returns once it runs (not once they are up)."""
        if self.running():
            return
        self.dir.mkdir(parents=True, exist_ok=True)
        booted = self.dir / "booted"
        booted.unlink(missing_ok=True)
        # this installation's commands (superlet, superctl...) first on the machine's PATH
        path = os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        env = {"PATH": f"{Path(sys.executable).parent}:{path}", **env}
        spec = {"hostname": self.hostname, "tmpfs": tmpfs, "env": env,
                "keep": [str(self.state.data), sys.prefix],
                "services": services, "stopTimeout": 20, "bootedFile": str(booted)}
        self.spec_path.write_text(json.dumps(spec, indent=2) + "\n")
        argv = ["nsenter", f"--net={self.netns}", "--",
                "unshare", "--pid", "--fork", "--kill-child", "--mount", "--uts",
                "--propagation", "slave", "--mount-proc", "--",
                sys.executable, "-m", "supernetes.lab.nodeinit", str(self.spec_path)]
        with open(self.console, "ab") as console:
            console.write(f"{time.strftime('%H:%M:%S')} lab: launching\n".encode())
            console.flush()
            launcher = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=console,
                                        stderr=console, start_new_session=True,
                                        pass_fds=pass_fds)
        launcher.returncode = 0   # its exit is observed through /proc, never by Popen
        self.state.machines[self.name] = {"pid": launcher.pid, "booted": time.time()}
        self.state.save()
        init = self._wait_for_init(launcher.pid, booted, timeout)
        self.record.update(init=init, cgroups=cgroupsweep.cgroup_dirs(init))
        self.state.save()

    def _wait_for_init(self, launcher: int, booted: Path, timeout: float) -> int:
        deadline = time.monotonic() + timeout
        init = None
        while time.monotonic() < deadline:
            if init is None:
                try:
                    children = Path(f"/proc/{launcher}/task/{launcher}/children").read_text()
                except OSError:
                    children = ""
                if children.split() and self._ours(int(children.split()[0])):
                    init = int(children.split()[0])
            if init is not None and booted.exists():
                return init
            if not _alive(launcher):   # (it execs nsenter -> unshare: no _ours here)
                break
            time.sleep(0.02)
        try:
            tail = self.console.read_text(errors="replace").strip().splitlines()[-1]
        except (OSError, IndexError):
            tail = ""
        raise LabError(f"machine {self.hostname} did not boot: {tail} (see {self.console})")

    # --- power -------------------------------------------------------------------------------

    def stop(self, timeout: float = 30.0) -> None:
        """A clean shutdown; pulls the plug if it takes longer than `timeout` (or if
        the machine never finished booting: it has no init to ask)."""
        init = self.init_pid
        if init is not None:
            os.kill(init, signal.SIGTERM)
            if not self._wait_gone(timeout):
                self.kill()
        elif self.running():
            self.kill()
        self.forget()

    def kill(self) -> None:
        """Pull the plug: every process of the machine dies at once."""
        init = self.init_pid
        if init is not None:
            os.kill(init, signal.SIGKILL)
        launcher = self.record.get("pid")
        if self._ours(launcher) and not self._wait_gone(10.0):
            os.kill(launcher, signal.SIGKILL)
            self._wait_gone(10.0)
        self.forget()

    def _wait_gone(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while _alive(self.record.get("pid")):
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.05)
        return True

    def forget(self) -> None:
        """After death: what outlives the processes (cgroups, the network namespace)."""
        if self.running():
            raise LabError(f"machine {self.hostname} still runs (pid {self.record['pid']})")
        left = cgroupsweep.sweep(self.record.get("cgroups", []),
                                 cgroupsweep.agent_parent(self.hostname))
        if left:
            raise LabError(f"machine {self.hostname}: cgroups still busy: {', '.join(left)}")
        netplumb.unpin(self.netns)
        self.record.pop("pid", None)
        self.record.pop("init", None)
        self.state.save()

    # --- entering ----------------------------------------------------------------------------

    def exec_argv(self, argv: list[str]) -> list[str]:
        init = self.init_pid
        if init is None:
            raise LabError(f"machine {self.hostname} is not running "
                           f"(`supernetes lab node start {self.name}`)")
        return ["nsenter", f"--target={init}", "--net", "--mount", "--pid", "--uts",
                f"--wd={os.getcwd()}", "--", *argv]

    def environment(self) -> dict[str, str]:
        try:
            spec = json.loads(self.spec_path.read_text())
        except (OSError, ValueError):
            return dict(os.environ)
        return {**os.environ, **spec.get("env", {})}


def _alive(pid: int | None) -> bool:
    """Is `pid` a live process? A zombie is dead (and reaped here if it is our child)."""
    if not pid:
        return False
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            zombie = f.read().rsplit(b")", 1)[1].split()[0] == b"Z"
    except OSError:
        return False
    if zombie:
        try:
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            pass
    return not zombie

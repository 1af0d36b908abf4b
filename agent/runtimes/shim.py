"""The shim: one small process per container run by an OCI runtime binary (runc).

`runc create` returns once the container exists, and its init is then nobody's
child we could wait for: the exit status would be lost, and nobody would read
the container's output. containerd keeps a shim per container and CRI-O a
conmon for exactly this; this is ours. It is started by the agent with
fork + exec (subprocess), so the threaded agent never forks Python itself, and:

  1. forks once and lets the first process exit, so the shim is re-parented away
     from the agent: killing or restarting the agent leaves it (and the
     container) alone;
  2. becomes a child subreaper and runs `runc create` with two pipes as the
     container's stdout and stderr (runc passes its own stdio to the init), so
     the init, orphaned when `runc create` exits, is re-parented to the shim;
  3. reports "ok <init pid>" (or "error <runc's reason>") on the pipe the agent
     reads, then lets go of it;
  4. copies the pipes into the container's log in the CRI format with rotation
     (the very code superc's monitor uses, runtime/logcopy.py), until the init
     has exited and the pipes are drained;
  5. writes `exit.json` (exit code, 128+signal when killed, whether the kernel
     OOM-killed something in the container's memory cgroup, the time) into its
     state directory, and exits.

Usage (the agent builds this command line; see ocicli.py):

    python -m supernetes.agent.runtimes.shim --runtime runc --root R --id ID \\
        --bundle B --state-dir S --log P [--log-max-size N] [--log-max-files K] \\
        [--oom-file F]
"""

from __future__ import annotations

import argparse
import json
import os
import select
import subprocess
import sys
import time

READ_CHUNK = 65536


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="superlet-shim")
    parser.add_argument("--runtime", required=True)
    parser.add_argument("--root", required=True)
    parser.add_argument("--id", required=True)
    parser.add_argument("--bundle", required=True)
    parser.add_argument("--state-dir", required=True)
    parser.add_argument("--log", required=True)
    parser.add_argument("--log-max-size", type=int, default=10 * 2**20)
    parser.add_argument("--log-max-files", type=int, default=5)
    parser.add_argument("--oom-file", default=None,
                        help="memory.oom_control (v1) or memory.events (v2) of the container")
    args = parser.parse_args(argv)
    if os.fork() != 0:
        os._exit(0)  # the agent reaps us at once; our child carries on, orphaned
    os.setsid()
    import prctl

    prctl.set_child_subreaper(True)
    report = os.fdopen(os.dup(1), "w")
    _detach_stdio(os.path.join(args.state_dir, "shim.log"))
    try:
        init_pid, stdout_r, stderr_r = _create(args)
    except _CreateFailed as exc:
        report.write(f"error {exc}\n")
        report.close()
        return 1
    _write(os.path.join(args.state_dir, "shim.pid"), str(os.getpid()))
    report.write(f"ok {init_pid}\n")
    report.close()
    status = _copy_logs_until_exit(args, init_pid, stdout_r, stderr_r)
    code, sig = _exit_code(status)
    record = {"exitCode": code, "signal": sig, "oomKilled": _oom_killed(args.oom_file),
              "finished": time.time()}
    _write(os.path.join(args.state_dir, "exit.json"), json.dumps(record))
    return 0


class _CreateFailed(Exception):
    pass


def _create(args) -> tuple[int, int, int]:
    """`runc create` with our pipes as the container's stdout and stderr."""
    stdout_r, stdout_w = os.pipe2(os.O_CLOEXEC)
    stderr_r, stderr_w = os.pipe2(os.O_CLOEXEC)
    pid_file = os.path.join(args.state_dir, "pid")
    runtime_log = os.path.join(args.state_dir, "runtime.log")
    command = [args.runtime, "--root", args.root, "--log", runtime_log, "--log-format",
               "json", "create", "--bundle", args.bundle, "--pid-file", pid_file, args.id]
    with open(os.devnull, "rb") as null:
        process = subprocess.Popen(command, stdin=null, stdout=stdout_w, stderr=stderr_w)
    os.close(stdout_w)
    os.close(stderr_w)
    # Until create returns, the pipes carry only the runtime's own words (the init
    # waits for `start` before it runs anything of the user's): keep them for an error.
    said = b""
    while process.poll() is None:
        ready, _, _ = select.select([stderr_r], [], [], 0.05)
        if ready:
            said += os.read(stderr_r, READ_CHUNK)
    if process.returncode != 0:
        ready, _, _ = select.select([stderr_r], [], [], 0)
        if ready:
            said += os.read(stderr_r, READ_CHUNK)
        reason = _runtime_error(runtime_log) or said.decode(errors="replace").strip()
        raise _CreateFailed(reason.replace("\n", " ") or
                            f"{args.runtime} create exited with {process.returncode}")
    try:
        with open(pid_file) as f:
            return int(f.read().strip()), stdout_r, stderr_r
    except (OSError, ValueError) as exc:
        raise _CreateFailed(f"{args.runtime} create wrote no pid file: {exc}") from exc


def _runtime_error(path: str) -> str:
    """The last error runc logged (its JSON log has one object per line)."""
    message = ""
    try:
        with open(path) as f:
            for line in f:
                try:
                    entry = json.loads(line)
                except ValueError:
                    continue
                if entry.get("level") in ("error", "fatal"):
                    message = entry.get("msg", "")
    except OSError:
        pass
    return message


def _copy_logs_until_exit(args, init_pid: int, stdout_r: int, stderr_r: int) -> int:
    """superc's monitor and this shim write logs with the same code (runtime/logcopy.py)."""
    from supernetes.runtime import logcopy

    log = logcopy.CriLog(args.log, args.log_max_size, args.log_max_files)
    try:
        return logcopy.copy_until_exit(log, stdout_r, stderr_r, init_pid)
    finally:
        log.close()


def _exit_code(status: int) -> tuple[int, int | None]:
    code = os.waitstatus_to_exitcode(status)
    return (128 - code, -code) if code < 0 else (code, None)


def _oom_killed(path: str | None) -> bool:
    if not path:
        return False
    try:
        with open(path) as f:
            for line in f:
                key, _, value = line.partition(" ")
                if key == "oom_kill":
                    return int(value) > 0
    except (OSError, ValueError):
        pass
    return False


def _detach_stdio(log: str) -> None:
    """Let go of the agent's descriptors; our own complaints go to the shim's log."""
    null = os.open(os.devnull, os.O_RDWR)
    errors = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.dup2(null, 0)
    os.dup2(null, 1)
    os.dup2(errors, 2)
    os.close(null)
    os.close(errors)


def _write(path: str, text: str) -> None:
    tmp = f"{path}.tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)


if __name__ == "__main__":
    sys.exit(main())

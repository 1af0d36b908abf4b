"""`superc`: the command line, with runc's command layout and exit codes.

A thin entry: parse the flags, turn them into arguments of one `api.Runtime`
method, call it, print the result. Every error the runtime raises on purpose
(`SupercError`, `CgroupError`) becomes one line on stderr and exit status 1;
`run` and `exec` in the foreground exit with the container process's status
(128+signal when it was killed).

`--explain` (global, or after create/start/run/exec) prints every primitive step
on stderr as it happens: syscalls with their arguments, cgroup files written,
capabilities dropped.

Only the modules a command needs are imported: `superc run` must not be slower
than `runc run`. The lifecycle commands (create, start, run, state, kill, delete)
are parsed by hand when the command line is plain (`_parse_fast`); argparse,
which costs more CPU to load and build than a whole container start takes in
Python, parses everything else and answers --help and mistakes.
"""

from __future__ import annotations

import gc
import os
import sys

from . import explain
from .errors import SupercError
from .state import DEFAULT_ROOT

# Annotations only; argparse is imported where a parser is built.
TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse

_SUFFIXES = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}


def main(argv: list[str] | None = None) -> None:
    """The console script: run the command, then leave without interpreter teardown.

    superc is a short-lived process: the garbage collector only costs time (and,
    in the forked monitor and init, copy-on-write page faults), and tearing down
    every module at exit costs ~4 ms. Nothing is left to clean up once `run`
    returns, so we flush and `os._exit`.
    """
    gc.disable()
    code = run(argv)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def run(argv: list[str] | None = None) -> int:
    """Parse the command line and run the command; its exit status."""
    argv = sys.argv[1:] if argv is None else argv
    args = _parse_fast(argv) or _parser(_command_in(argv)).parse_args(argv)
    if not getattr(args, "command", None):
        _parser().print_usage(sys.stderr)
        return 2
    if args.explain:
        explain.enable(2)
    from .cgroups.base import CgroupError

    try:
        return args.handler(args) or 0
    except (SupercError, CgroupError) as exc:
        print(f"superc: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except OSError as exc:
        where = f": {exc.filename}" if exc.filename else ""
        print(f"superc: {exc.strerror or exc}{where}", file=sys.stderr)
        return 1


def _runtime(args: argparse.Namespace):
    from .api import Runtime

    return Runtime(root=args.root, cgroup_root=args.cgroup_root)


# --- commands ---------------------------------------------------------------------------

def _spec(args: argparse.Namespace) -> None:
    from .specgen import write_spec

    write_spec(args.bundle)


def _create(args: argparse.Namespace) -> None:
    _runtime(args).create(args.id, args.bundle, pid_file=args.pid_file,
                          console=args.console_socket)


def _start(args: argparse.Namespace) -> None:
    _runtime(args).start(args.id)


def _run(args: argparse.Namespace) -> int:
    return _runtime(args).run(args.id, args.bundle, detach=args.detach, pid_file=args.pid_file,
                              console=args.console_socket, forward_signals=not args.detach)


def _state(args: argparse.Namespace) -> None:
    import json

    print(json.dumps(_runtime(args).state(args.id), indent=2))


def _kill(args: argparse.Namespace) -> None:
    _runtime(args).kill(args.id, args.signal, all_processes=args.all)


def _delete(args: argparse.Namespace) -> None:
    _runtime(args).delete(args.id, force=args.force)


def _list(args: argparse.Namespace) -> None:
    import json

    states = _runtime(args).list()
    if args.quiet:
        for s in states:
            print(s["id"])
    elif args.format == "json":
        print(json.dumps(states))
    else:
        rows = [("ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER")]
        rows += [(s["id"], str(s["pid"]), s["status"], s["bundle"], s["created"], s["owner"])
                 for s in states]
        _table(rows)


def _exec(args: argparse.Namespace) -> int:
    import json

    from . import execute

    rt = _runtime(args)
    container = rt.container(args.id)
    process_json = None
    if args.process:
        try:
            with open(args.process, "rb") as f:
                process_json = json.load(f)
        except (OSError, ValueError) as exc:
            raise SupercError(f"--process {args.process}: {exc}") from exc
    command = args.command_args[1:] if args.command_args[:1] == ["--"] else args.command_args
    if not command and process_json is None:
        raise SupercError("exec: no command given (superc exec ID -- CMD...)")
    process = execute.process_for_exec(container, command, env=args.env, cwd=args.cwd,
                                       user=args.user, tty=args.tty or None,
                                       process_json=process_json)
    proxy = console = None
    if process.terminal and args.console_socket is None and not args.detach:
        from . import stdio

        proxy, console = stdio.console_pair()
    handle = rt.exec(args.id, process, console=args.console_socket or console)
    if args.pid_file:
        with open(args.pid_file, "w") as f:
            f.write(str(handle.pid))
    if args.detach:
        return 0
    if proxy is not None:
        from . import stdio

        os.close(console)
        master = stdio.recv_master(proxy)
        proxy.close()
        stdio.proxy(master)
        os.close(master)
    _forward_to(handle.pid)
    return execute.wait(handle)


def _ps(args: argparse.Namespace) -> None:
    pids = _runtime(args).ps(args.id)
    if args.format == "json":
        import json

        print(json.dumps(pids))
        return
    rows = [("PID", "CMD")]
    for pid in pids:
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read().rstrip(b"\0").replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            cmd = "?"
        rows.append((str(pid), cmd))
    _table(rows)


def _pause(args: argparse.Namespace) -> None:
    _runtime(args).pause(args.id)


def _resume(args: argparse.Namespace) -> None:
    _runtime(args).resume(args.id)


def _update(args: argparse.Namespace) -> None:
    from .cgroups.base import Resources

    res = Resources()
    res.memory_limit = _bytes(args.memory, "--memory")
    res.memory_reservation = _bytes(args.memory_reservation, "--memory-reservation")
    res.memory_swap = _bytes(args.memory_swap, "--memory-swap")
    res.cpu_shares = args.cpu_shares
    res.cpu_period = args.cpu_period
    res.cpu_quota = args.cpu_quota
    res.cpuset_cpus = args.cpuset_cpus
    res.pids_limit = args.pids_limit
    if args.cpus is not None:
        period = args.cpu_period or 100000
        res.cpu_period, res.cpu_quota = period, int(round(args.cpus * period))
    if res == Resources():
        raise SupercError("update: nothing to change (see superc update --help)")
    _runtime(args).update(args.id, res)


def _spawner(args: argparse.Namespace) -> None:
    from .spawner import serve

    serve(args.socket, root=args.root, cgroup_root=args.cgroup_root)


# --- helpers -----------------------------------------------------------------------------

def _forward_to(pid: int) -> None:
    import signal

    def forward(signum: int, _frame: object) -> None:
        try:
            os.kill(pid, signum)
        except ProcessLookupError:
            pass

    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT):
        signal.signal(sig, forward)


def _bytes(value: str | None, flag: str) -> int | None:
    if value is None:
        return None
    text = value.strip().lower().removesuffix("b")
    try:
        if text == "-1":
            return -1
        if text and text[-1] in _SUFFIXES:
            return int(float(text[:-1]) * _SUFFIXES[text[-1]])
        return int(text)
    except ValueError:
        raise SupercError(f"{flag} {value!r}: expected bytes like 33554432, 32m or 1g") from None


def _table(rows: list[tuple[str, ...]]) -> None:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("   ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())


# --- the command line ---------------------------------------------------------------------
# Building argparse's parser for every command costs ~5 ms, a fifth of runc's whole
# `run`; so each command's flags are added by its own function, and a command line
# naming one command builds only that one (`superc --help` builds them all).

def _args_spec(c: argparse.ArgumentParser) -> None:
    c.add_argument("--bundle", "-b", default=".", help="bundle directory (default: .)")


def _args_create(c: argparse.ArgumentParser, run: bool = False) -> None:
    c.add_argument("--bundle", "-b", default=".", help="bundle directory (default: .)")
    c.add_argument("--pid-file", help="write the container's PID to this file")
    c.add_argument("--console-socket", metavar="PATH",
                   help="unix socket to send the terminal's master to")
    if run:
        c.add_argument("--detach", "-d", action="store_true",
                       help="return after starting the container")
    c.add_argument("id", help="container ID")


def _args_run(c: argparse.ArgumentParser) -> None:
    _args_create(c, run=True)


def _args_id(c: argparse.ArgumentParser) -> None:
    c.add_argument("id", help="container ID")


def _args_kill(c: argparse.ArgumentParser) -> None:
    c.add_argument("--all", "-a", action="store_true",
                   help="signal every process of the container")
    c.add_argument("id", help="container ID")
    c.add_argument("signal", nargs="?", default="SIGTERM", help="name (TERM, SIGKILL) or number")


def _args_delete(c: argparse.ArgumentParser) -> None:
    c.add_argument("--force", "-f", action="store_true", help="kill it first if it runs")
    c.add_argument("id", help="container ID")


def _args_list(c: argparse.ArgumentParser) -> None:
    c.add_argument("--format", "-f", choices=("table", "json"), default="table")
    c.add_argument("--quiet", "-q", action="store_true", help="print only the IDs")


def _args_exec(c: argparse.ArgumentParser) -> None:
    import argparse

    c.add_argument("--tty", "-t", action="store_true", help="allocate a terminal")
    c.add_argument("--detach", "-d", action="store_true", help="do not wait for the process")
    c.add_argument("--env", "-e", action="append", default=[], metavar="KEY=VALUE",
                   help="set an environment variable (repeatable)")
    c.add_argument("--cwd", help="working directory inside the container")
    c.add_argument("--user", "-u", metavar="UID[:GID]", help="run as this user")
    c.add_argument("--process", "-p", metavar="FILE",
                   help="an OCI process.json describing the process")
    c.add_argument("--pid-file", help="write the process's PID to this file")
    c.add_argument("--console-socket", metavar="PATH",
                   help="unix socket to send the terminal's master to")
    c.add_argument("id", help="container ID")
    c.add_argument("command_args", nargs=argparse.REMAINDER, metavar="-- CMD",
                   help="the command and its arguments")


def _args_ps(c: argparse.ArgumentParser) -> None:
    c.add_argument("--format", "-f", choices=("table", "json"), default="table")
    c.add_argument("id", help="container ID")


def _args_update(c: argparse.ArgumentParser) -> None:
    c.add_argument("--memory", help="memory limit in bytes (suffixes k, m, g); -1 = none")
    c.add_argument("--memory-reservation", help="memory soft limit in bytes")
    c.add_argument("--memory-swap", help="memory+swap limit in bytes; -1 = none")
    c.add_argument("--cpus", type=float, help="CPUs' worth of time, e.g. 0.5")
    c.add_argument("--cpu-quota", type=int, help="CPU microseconds per period (-1 = none)")
    c.add_argument("--cpu-period", type=int, help="CPU period in microseconds")
    c.add_argument("--cpu-shares", type=int, help="relative CPU weight")
    c.add_argument("--cpuset-cpus", help="CPUs to run on, e.g. 0-1")
    c.add_argument("--pids-limit", type=int, help="maximum number of processes (-1 = none)")
    c.add_argument("id", help="container ID")


def _args_spawner(c: argparse.ArgumentParser) -> None:
    c.add_argument("--socket", required=True, help="unix socket path to listen on")


# name -> (handler, help, flags, takes --explain)
COMMANDS = {
    "spec": (_spec, "write a default config.json (runc's defaults) into the bundle",
             _args_spec, False),
    "create": (_create, "create a container; its process waits for `start`", _args_create, True),
    "start": (_start, "start a created container", _args_id, True),
    "run": (_run, "create and start a container; in the foreground, wait and delete it, "
            "exiting with its status", _args_run, True),
    "state": (_state, "print a container's state (OCI state JSON)", _args_id, False),
    "kill": (_kill, "send a signal (default SIGTERM) to a container's init", _args_kill, False),
    "delete": (_delete, "delete a container (a running one only with --force)", _args_delete,
               False),
    "list": (_list, "list containers", _args_list, False),
    "exec": (_exec, "run a process in a running container", _args_exec, True),
    "ps": (_ps, "list the processes of a container", _args_ps, False),
    "pause": (_pause, "freeze every process of a container", _args_id, False),
    "resume": (_resume, "thaw a paused container", _args_id, False),
    "update": (_update, "change a running container's resource limits", _args_update, False),
    "spawner": (_spawner, "serve the warm path for a multi-threaded caller (the agent) on a "
                "unix socket", _args_spawner, False),
}
_GLOBAL_WITH_VALUE = ("--root", "--cgroup-root")


def _command_in(argv: list[str]) -> str | None:
    """The command a command line names, skipping the global flags; None if unclear."""
    skip = False
    for arg in argv:
        if skip:
            skip = False
        elif arg in _GLOBAL_WITH_VALUE:
            skip = True
        elif arg.startswith(tuple(f"{flag}=" for flag in _GLOBAL_WITH_VALUE)) or \
                arg == "--explain":
            continue
        else:
            return arg if arg in COMMANDS else None
    return None


def _parser(only: str | None = None) -> argparse.ArgumentParser:
    """superc's parser; with `only`, just that command's subparser is built."""
    import argparse

    p = argparse.ArgumentParser(prog="superc", description="An OCI runtime built from Linux "
                                "primitives (runc's command layout).")
    p.add_argument("--root", default=DEFAULT_ROOT,
                   help=f"directory for container state (default {DEFAULT_ROOT})")
    p.add_argument("--cgroup-root", default=None, metavar="CGROUP",
                   help="cgroup to create containers below (default: superc's own cgroup)")
    p.add_argument("--explain", action="store_true",
                   help="print every primitive step (syscalls, cgroup writes) as it happens")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    for name, (handler, text, add_flags, explainable) in COMMANDS.items():
        if only is not None and name != only:
            continue
        c = sub.add_parser(name, help=text, description=text)
        c.set_defaults(handler=handler)
        if explainable:
            c.add_argument("--explain", action="store_true", default=argparse.SUPPRESS,
                           help="print every primitive step as it happens")
        add_flags(c)
    return p


# --- the fast path: plain lifecycle command lines, parsed by hand ------------------------
# argparse costs ~11 ms of CPU before it has parsed anything (it imports re, gettext,
# locale and shutil, and builds the parser): a third of what `runc run` takes in all.
# The commands a caller such as the agent or containerd issues all the time take a
# handful of flags, so `_parse_fast` reads those when they are spelled exactly as in
# this table (also `--flag=value`). On anything else (--help, an abbreviation, a
# value that looks like a flag, a mistake) it returns None and argparse parses the
# command line, answering as it always does. Both give the same attributes.

_CREATE_FLAGS = {"--bundle": ("bundle", "."), "-b": ("bundle", "."),
                 "--pid-file": ("pid_file", None), "--console-socket": ("console_socket", None),
                 "--explain": ("explain", False)}
# command -> ({flag: (attribute, default)}, positionals, default of the optional last one);
# a flag whose default is False is a switch, every other flag takes a value.
_FAST = {
    "create": (_CREATE_FLAGS, ("id",), None),
    "run": ({**_CREATE_FLAGS, "--detach": ("detach", False), "-d": ("detach", False)},
            ("id",), None),
    "start": ({"--explain": ("explain", False)}, ("id",), None),
    "state": ({}, ("id",), None),
    "kill": ({"--all": ("all", False), "-a": ("all", False)}, ("id", "signal"), "SIGTERM"),
    "delete": ({"--force": ("force", False), "-f": ("force", False)}, ("id",), None),
}
_GLOBAL_FLAGS = {"--root": ("root", DEFAULT_ROOT), "--cgroup-root": ("cgroup_root", None),
                 "--explain": ("explain", False)}


class _Args:
    """The attributes argparse's Namespace would hold for the same command line."""


def _parse_fast(argv: list[str]) -> _Args | None:
    args = _Args()
    for attribute, default in _GLOBAL_FLAGS.values():
        setattr(args, attribute, default)
    rest = _take_flags(argv, _GLOBAL_FLAGS, args)
    if not rest or rest[0] not in _FAST:
        return None
    args.command = rest[0]
    flags, positionals, optional_default = _FAST[args.command]
    for attribute, default in flags.values():
        if attribute != "explain":  # the global --explain counts too
            setattr(args, attribute, default)
    given: list[str] = []
    rest = rest[1:]
    while rest:
        rest = _take_flags(rest, flags, args)
        if rest is None:
            return None
        if rest:  # a positional; flags may follow it, as argparse allows
            given.append(rest[0])
            rest = rest[1:]
    required = len(positionals) - (optional_default is not None)
    if not required <= len(given) <= len(positionals):
        return None
    if len(given) < len(positionals):
        given.append(optional_default)
    for name, value in zip(positionals, given, strict=True):
        setattr(args, name, value)
    args.handler = COMMANDS[args.command][0]
    return args


def _take_flags(argv: list[str], flags: dict, args: _Args) -> list[str] | None:
    """Set the leading flags of `argv` found in `flags` on `args`; the rest of argv.

    None if a leading argument looks like a flag but is not one we parse by hand.
    """
    i = 0
    while i < len(argv) and argv[i].startswith("-") and argv[i] != "-":
        flag, eq, value = argv[i].partition("=")
        if flag not in flags:
            return None
        attribute, default = flags[flag]
        if default is False:  # a switch
            if eq:
                return None
            value = True
        elif not eq:
            i += 1
            if i == len(argv) or argv[i].startswith("-"):
                return None
            value = argv[i]
        setattr(args, attribute, value)
        i += 1
    return argv[i:]


if __name__ == "__main__":
    main()

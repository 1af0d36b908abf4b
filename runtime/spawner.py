"""The warm path: a single-threaded process that forks containers for a threaded caller.

The agent is multi-threaded, and a threaded process must not fork() (a lock held by
another thread at that instant stays locked forever in the child). So the agent
starts one *spawner* before it starts any thread (`SpawnerClient.launch`), and asks
it to create, start, run, exec and delete containers over a unix socket. The
spawner runs the very same `api.Runtime` methods as the CLI; it is faster only
because everything is already imported, parsed and warm.

Protocol: SOCK_SEQPACKET (message boundaries for free), one JSON request per
message, descriptors (stdio pipes, log files) alongside with SCM_RIGHTS:

    {"op": "create", "id": ..., "bundle": ..., "stdio": [S, S, S], "pid_file": ...,
     "log": null | [path, max size, max files],
     "console": null | "/path/to.sock" | "return"}
        S is null (inherit the spawner's), {"fd": i} (the i-th passed descriptor)
        or {"path": p}; "return" sends the pty master back with the reply
    {"op": "run", ...same...}          reply when the container has exited: its code
    {"op": "start" | "delete", "id": ..., "force": bool}
    {"op": "exec", "id": ..., "process": {OCI process}, "stdio": [...], "wait": bool,
     "console": null | "return"}     not waited: {"pid", "waiter"} (+ the pty master)
    {"op": "wait", "waiter": pid}     the exit code of an exec that was not waited for
    reply: {"ok": true, "result": ...} or {"ok": false, "error": "...", "type": "ContainerNotFound"}

`run` and a waited `exec` do not block the spawner: their reply is sent when the
monitor (or exec waiter) exits and SIGCHLD wakes the loop. Operations that do not
fork (state, list, kill, ps, pause, resume, update, stats, wait) the client does
itself, in its own thread, through a local `Runtime`.

The spawner dies with its parent (PR_SET_PDEATHSIG); the containers do not: their
monitors are re-parented, and a restarted agent finds them in the state root.
"""

from __future__ import annotations

import gc
import json
import os
import selectors
import signal
import socket
import time

from . import config as _config
from . import errors, security, spec
from .api import Runtime
from .cgroups.base import CgroupError
from .container import Container
from .stdio import Stdio, console_pair, recv_master

_MAX_MESSAGE = 1 << 16
_MAX_FDS = 8


class SpawnerClient:
    """The library API for threaded callers: same methods as `api.Runtime`."""

    def __init__(self, socket_path: str, root: str, cgroup_root: str | None = None,
                 process: object | None = None) -> None:
        self.socket_path = socket_path
        self.local = Runtime(root=root, cgroup_root=cgroup_root)
        self.process = process  # the subprocess.Popen of a spawner we launched

    @classmethod
    def launch(cls, socket_path: str, root: str, cgroup_root: str | None = None,
               timeout: float = 10.0) -> SpawnerClient:
        """Start a spawner (call this before starting threads) and connect to it."""
        import subprocess
        import sys

        argv = [sys.executable, "-m", "supernetes.runtime.cli", "--root", root]
        if cgroup_root:
            argv += ["--cgroup-root", cgroup_root]
        argv += ["spawner", "--socket", socket_path]
        process = subprocess.Popen(argv, stdin=subprocess.DEVNULL)
        client = cls(socket_path, root, cgroup_root, process)
        deadline = time.monotonic() + timeout
        while True:
            try:
                client._call({"op": "ping"})
                return client
            except errors.SpawnerError:
                if process.poll() is not None or time.monotonic() > deadline:
                    process.kill()
                    process.wait()
                    raise
                time.sleep(0.005)

    def close(self) -> None:
        """Stop a spawner we launched (its containers keep running)."""
        if self.process is not None:
            self.process.terminate()
            self.process.wait()
            self.process = None

    # --- forwarded: these fork or run hooks ------------------------------------------------

    def create(self, container_id: str, bundle: str, *, stdio: Stdio | None = None,
               pid_file: str | None = None, console: str | None = None) -> dict:
        return self._call(_lifecycle("create", container_id, bundle, pid_file, console), stdio)

    def run(self, container_id: str, bundle: str, *, stdio: Stdio | None = None,
            pid_file: str | None = None) -> int:
        """Create, start, wait and delete; the container's exit code."""
        return self._call(_lifecycle("run", container_id, bundle, pid_file, None), stdio)

    def start(self, container_id: str) -> list[str]:
        return self._call({"op": "start", "id": container_id})

    def delete(self, container_id: str, force: bool = False) -> list[str]:
        return self._call({"op": "delete", "id": container_id, "force": force})

    def exec(self, container_id: str, process: dict, *, stdio: Stdio | None = None,
             wait: bool = True, console: str | None = None) -> int | dict:
        """Run an OCI `process` in the container.

        Waited: its exit code. Not waited: {"pid", "waiter"}, and `wait_exec(waiter)`
        gives the exit code later. With a terminal, `console="return"` (not waited)
        adds the pty master: {"result": {...}, "console": fd} (kubectl exec -it).
        """
        return self._call({"op": "exec", "id": container_id, "process": process,
                           "wait": wait, "console": console}, stdio)

    def wait_exec(self, waiter: int) -> int:
        """The exit code of an exec started with wait=False (blocks until it exits)."""
        return self._call({"op": "wait", "waiter": waiter})

    # --- local: no fork ----------------------------------------------------------------------

    def state(self, container_id: str) -> dict:
        return self.local.state(container_id)

    def list(self) -> list[dict]:
        return self.local.list()

    def kill(self, container_id: str, sig: str | int = "SIGTERM",
             all_processes: bool = False) -> None:
        self.local.kill(container_id, sig, all_processes)

    def wait(self, container_id: str, timeout: float | None = None) -> dict:
        return self.local.wait(container_id, timeout)

    def ps(self, container_id: str) -> list[int]:
        return self.local.ps(container_id)

    def pause(self, container_id: str) -> None:
        self.local.pause(container_id)

    def resume(self, container_id: str) -> None:
        self.local.resume(container_id)

    def update(self, container_id: str, resources: object) -> None:
        self.local.update(container_id, resources)

    def stats(self, container_id: str) -> object:
        return self.local.stats(container_id)

    def _call(self, request: dict, stdio: Stdio | None = None) -> object:
        request = dict(request)
        fds: list[int] = []
        if stdio is not None:
            request["stdio"] = [_encode_stdio(s, fds) for s in (stdio.stdin, stdio.stdout,
                                                               stdio.stderr)]
            if stdio.log:
                request["log"] = [stdio.log, stdio.log_max_size, stdio.log_max_files]
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            try:
                sock.connect(self.socket_path)
                socket.send_fds(sock, [json.dumps(request).encode()], fds)
                data, got, _, _ = socket.recv_fds(sock, _MAX_MESSAGE, _MAX_FDS)
            except OSError as exc:
                raise errors.SpawnerError(f"spawner at {self.socket_path}: "
                                          f"{exc.strerror or exc}") from exc
        finally:
            sock.close()
        if not data:
            raise errors.SpawnerError("the spawner closed the connection without a reply")
        reply = json.loads(data)
        if not reply.get("ok"):
            cls = getattr(errors, reply.get("type", ""), None)
            if not (isinstance(cls, type) and issubclass(cls, errors.SupercError)):
                cls = errors.SpawnerError
            raise cls(reply.get("error", "spawner failure"))
        if got:
            return {"result": reply.get("result"), "console": got[0]}
        return reply.get("result")


def _lifecycle(op: str, container_id: str, bundle: str, pid_file: str | None,
               console: str | None) -> dict:
    return {"op": op, "id": container_id, "bundle": bundle, "pid_file": pid_file,
            "console": console}


def _encode_stdio(value: int | str | None, fds: list[int]) -> dict | None:
    if value is None:
        return None
    if isinstance(value, int):
        fds.append(value)
        return {"fd": len(fds) - 1}
    return {"path": value}


# --- the server ------------------------------------------------------------------------------

class _Server:
    def __init__(self, path: str, runtime: Runtime) -> None:
        self.runtime = runtime
        self.waiters: dict[int, object] = {}  # child pid -> callback(wait status)
        self.unclaimed: dict[int, int | None] = {}  # exec waiter -> its status, once known
        self.selector = selectors.DefaultSelector()
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        if os.path.exists(path):
            os.unlink(path)  # a spawner before us died and left its socket
        self.listener.bind(path)
        os.chmod(path, 0o600)
        self.listener.listen(64)
        self.listener.setblocking(False)
        self.wakeup_r, wakeup_w = socket.socketpair()
        self.wakeup_r.setblocking(False)
        wakeup_w.setblocking(False)
        self._wakeup_w = wakeup_w
        signal.set_wakeup_fd(wakeup_w.fileno())
        signal.signal(signal.SIGCHLD, lambda *_: None)
        self.selector.register(self.listener, selectors.EVENT_READ, self._accept)
        self.selector.register(self.wakeup_r, selectors.EVENT_READ, self._reap)

    def serve_forever(self) -> None:
        while True:
            for key, _ in self.selector.select():
                key.data(key.fileobj)

    def _accept(self, listener: socket.socket) -> None:
        try:
            conn, _ = listener.accept()
        except BlockingIOError:
            return
        conn.setblocking(True)
        self.selector.register(conn, selectors.EVENT_READ, self._request)

    def _request(self, conn: socket.socket) -> None:
        self.selector.unregister(conn)
        try:
            data, fds, _, _ = socket.recv_fds(conn, _MAX_MESSAGE, _MAX_FDS)
        except OSError:
            conn.close()
            return
        if not data:
            conn.close()
            return
        try:
            self._handle(conn, json.loads(data), fds)
        except BaseException as exc:
            _reply(conn, error=exc)
        finally:
            for fd in fds:
                os.close(fd)

    def _handle(self, conn: socket.socket, req: dict, fds: list[int]) -> None:
        op = req.get("op")
        rt = self.runtime
        if op == "ping":
            _reply(conn, result="pong")
        elif op in ("create", "run"):
            stdio = _decode_stdio(req.get("stdio"), fds)
            if req.get("log"):  # the monitor writes a CRI log (logcopy.py)
                path, max_size, max_files = req["log"]
                stdio = Stdio(stdin=stdio.stdin if stdio else None, log=path,
                              log_max_size=max_size, log_max_files=max_files)
            console, proxy = req.get("console"), None
            if console == "return":
                proxy, console = console_pair()
            try:
                if op == "create":
                    state = rt.create(req["id"], req["bundle"], stdio=stdio,
                                      pid_file=req.get("pid_file"), console=console)
                else:
                    container = rt.start_run(req["id"], req["bundle"], stdio=stdio,
                                             pid_file=req.get("pid_file"), console=console)
            finally:
                if proxy is not None:
                    os.close(console)
            master = recv_master(proxy) if proxy is not None else None
            if op == "create":
                _reply(conn, result=state, fds=[master] if master is not None else [])
                return
            self.waiters[container.data["monitor_pid"]] = \
                lambda status: self._finish_run(conn, container, status)
        elif op == "start":
            _reply(conn, result=rt.start(req["id"]))
        elif op == "delete":
            _reply(conn, result=rt.delete(req["id"], force=bool(req.get("force"))))
        elif op == "exec":
            process = _config.process_from_spec(spec.parse_process(req["process"]))
            proxy = console = None
            if req.get("console") == "return":
                proxy, console = console_pair()
            try:
                handle = rt.exec(req["id"], process, console=console,
                                 stdio=_decode_stdio(req.get("stdio"), fds))
            finally:
                if proxy is not None:
                    os.close(console)
            master = recv_master(proxy) if proxy is not None else None
            if not req.get("wait", True):
                # The caller collects the exit code later with {"op": "wait"}.
                self.unclaimed[handle.waiter] = None
                _reply(conn, result={"pid": handle.pid, "waiter": handle.waiter},
                       fds=[master] if master is not None else [])
                return
            self.waiters[handle.waiter] = lambda status: _reply(conn, result=_code(status))
        elif op == "wait":
            waiter = int(req["waiter"])
            if waiter not in self.unclaimed:
                raise errors.SpawnerError(f"no exec waiter {waiter} to wait for")
            status = self.unclaimed.pop(waiter)
            if status is not None:
                _reply(conn, result=_code(status))
            else:
                self.waiters[waiter] = lambda status: _reply(conn, result=_code(status))
        else:
            raise errors.SpawnerError(f"unknown operation {op!r}")

    def _finish_run(self, conn: socket.socket, container: Container, status: int) -> None:
        try:
            _reply(conn, result=self.runtime.finish_run(container, status))
        except BaseException as exc:
            _reply(conn, error=exc)

    def _reap(self, wakeup: socket.socket) -> None:
        try:
            while wakeup.recv(4096):
                pass
        except BlockingIOError:
            pass
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            callback = self.waiters.pop(pid, None)
            if callback is not None:
                callback(status)
            elif pid in self.unclaimed:
                self.unclaimed[pid] = status  # until someone asks


def _code(status: int) -> int:
    code = os.waitstatus_to_exitcode(status)
    return 128 - code if code < 0 else code


def _decode_stdio(items: list | None, fds: list[int]) -> Stdio | None:
    if not items:
        return None
    values = []
    for item in items:
        if item is None:
            values.append(None)
        elif "fd" in item:
            values.append(fds[item["fd"]])
        else:
            values.append(item["path"])
    return Stdio(stdin=values[0], stdout=values[1], stderr=values[2])


def _reply(conn: socket.socket, *, result: object = None, error: BaseException | None = None,
           fds: list[int] | None = None) -> None:
    if error is None:
        message = {"ok": True, "result": result}
    else:
        known = isinstance(error, (errors.SupercError, CgroupError))
        message = {"ok": False, "type": type(error).__name__,
                   "error": str(error) if known else f"{type(error).__name__}: {error}"}
    try:
        socket.send_fds(conn, [json.dumps(message).encode()], fds or [])
    except OSError:
        pass  # the client went away; the container lives on regardless
    finally:
        for fd in fds or []:
            os.close(fd)
        conn.close()


def serve(socket_path: str, root: str, cgroup_root: str | None = None) -> None:
    """The spawner's main loop (`superc spawner --socket PATH`); never returns."""
    parent = os.getppid()
    security.set_pdeathsig(signal.SIGTERM)
    if os.getppid() != parent:
        return  # our parent died before we could ask to follow it
    # Warm up: everything create and exec need is imported now, not per request.
    from . import create, execute, init, monitor, nsexec, setns_init  # noqa: F401
    from .cgroups import factory  # noqa: F401

    # The CLI runs without a garbage collector; a long-lived server needs one. What
    # is loaded by now lives forever: freeze it, so collections (in us, and in every
    # forked child) never walk those objects and copy their pages.
    gc.enable()
    gc.collect()
    gc.freeze()
    _Server(socket_path, Runtime(root=root, cgroup_root=cgroup_root)).serve_forever()

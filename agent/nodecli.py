"""The node CLI: `superlet ps | logs | exec | inspect | status | reset`.

What `crictl` is to a kubelet node: the pods and containers of this node, read
from the agent's local state and the runtime (`localstate.py`), never from the
API server, so they answer when the control plane is down or the agent is
stopped. `exec` hands the terminal to the runtime's own CLI (`superc exec`,
`runc exec`), which already knows how to proxy a tty.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time

from .config import AgentConfig
from .localstate import LocalState
from .logs import read_logs
from .podstatus import rfc3339
from .starter import log_path


def _config(args) -> AgentConfig:
    return AgentConfig(root_dir=args.root_dir, run_dir=args.run_dir, runtime=args.runtime)


def _age(epoch: float | None) -> str:
    if not epoch:
        return "-"
    seconds = int(time.time() - epoch)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _table(rows: list[list[str]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("   ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)
                               ).rstrip() for row in rows)


def ps(args) -> int:
    state = LocalState(_config(args))
    rows = [["POD", "UID", "IP", "CONTAINER", "ATTEMPT", "STATE", "EXIT", "AGE", "ID"]]
    for pod in state.pods():
        name = f"{pod.namespace}/{pod.name}"
        if not pod.containers:
            rows.append([name, pod.uid[:8], pod.ip or "-", "-", "-", "-", "-", "-", "-"])
        for c in pod.containers:
            record = c.record
            if record is None or (not args.all and record.state == "exited" and any(
                    o.record and o.record.name == record.name and o.record.attempt >
                    record.attempt for o in pod.containers)):
                continue
            exit_code = "" if record.exit_code is None else str(record.exit_code)
            if record.reason:
                exit_code += f" ({record.reason})"
            rows.append([name, pod.uid[:8], pod.ip or "-", record.name, str(record.attempt),
                         record.state, exit_code or "-", _age(record.started_at or
                                                              c.info.created_at), c.info.id])
    print(_table(rows))
    return 0


def logs(args) -> int:
    state = LocalState(_config(args))
    pod = state.find(args.pod)
    names = sorted({c.record.name for c in pod.containers if c.record})
    name = args.container or (names[0] if len(names) == 1 else None)
    if name is None:
        raise LookupError(f"pod {pod.namespace}/{pod.name} has containers {', '.join(names)}: "
                          "choose one with -c")
    attempts = sorted(c.record.attempt for c in pod.containers
                      if c.record and c.record.name == name)
    if not attempts:
        raise LookupError(f"container {name!r} of {pod.namespace}/{pod.name} never ran")
    if args.previous and len(attempts) < 2:
        raise LookupError(f"previous terminated container {name!r} not found")
    attempt = attempts[-2] if args.previous else attempts[-1]
    owner = {"metadata": {"namespace": pod.namespace, "name": pod.name, "uid": pod.uid}}
    path = log_path(_config(args).logs_dir, owner, name, attempt)
    running = next((c for c in pod.containers if c.record and c.record.name == name and
                    c.record.attempt == attempt), None)

    def still_running() -> bool:
        try:
            return state.runtime.info(running.info.id).status != "exited"
        except Exception:
            return False

    out = sys.stdout.buffer
    for chunk in read_logs(path, tail=args.tail, timestamps=args.timestamps,
                           follow=args.follow, still_running=still_running):
        out.write(chunk)
        out.flush()
    return 0


def exec_(args) -> int:
    config = _config(args)
    state = LocalState(config)
    pod = state.find(args.pod)
    live = [c for c in pod.containers if c.record and c.record.state == "running"
            and (not args.container or c.record.name == args.container)]
    if not live:
        raise LookupError(f"no running container {args.container or ''} in pod "
                          f"{pod.namespace}/{pod.name}".replace("  ", " "))
    if len({c.record.name for c in live}) > 1:
        raise LookupError("the pod has several running containers: choose one with -c")
    command = list(args.argv)
    if not command:
        raise LookupError("no command given (superlet exec POD -- CMD ...)")
    runtime = config.runtime
    if runtime == "superc":
        binary = sys.executable
        argv = [binary, "-m", "supernetes.runtime.cli", "--root", config.runtime_root, "exec"]
    else:
        binary = shutil.which(runtime) or runtime
        argv = [binary, "--root", os.path.join(config.runtime_root, "state"), "exec"]
    if args.tty:
        argv.append("--tty")
    argv += [live[-1].info.id, "--", *command] if runtime == "superc" else \
        [live[-1].info.id, *command]
    os.execv(binary, argv)
    return 1  # not reached


def inspect(args) -> int:
    state = LocalState(_config(args))
    pod = state.find(args.pod)
    out = {
        "uid": pod.uid, "namespace": pod.namespace, "name": pod.name, "podIP": pod.ip,
        "spec": (pod.pod or {}).get("spec"),
        "containers": [{
            "id": c.info.id, "name": c.record.name if c.record else None,
            "attempt": c.record.attempt if c.record else None, "state": c.info.status,
            "pid": c.info.pid, "exitCode": c.info.exit_code, "oomKilled": c.info.oom_killed,
            "created": rfc3339(c.info.created_at),
            "started": rfc3339(c.record.started_at) if c.record else None,
            "finished": rfc3339(c.info.finished_at), "bundle": c.info.bundle,
            "annotations": c.info.annotations,
        } for c in pod.containers],
    }
    print(json.dumps(out, indent=2))
    return 0


def status(args) -> int:
    config = _config(args)
    state = LocalState(config)
    node = state.node
    if not node:
        print(f"no agent has run with root dir {config.root_dir}")
        return 1
    pid = node.get("pid", 0)
    alive = bool(pid) and os.path.exists(f"/proc/{pid}")
    pods = state.pods()
    containers = [c for p in pods for c in p.containers]
    running = sum(1 for c in containers if c.info.status == "running")
    lines = [
        ("node", node.get("nodeName", "?")),
        ("agent", f"running (pid {pid})" if alive else "not running"),
        ("server", node.get("server", "?")),
        ("runtime", node.get("runtime", "?")),
        ("pod CIDR", node.get("podCIDR", "?")),
        ("node IP", node.get("nodeIP", "?")),
        ("pods", str(len(pods))),
        ("containers", f"{running} running, {len(containers) - running} other"),
        ("root dir", config.root_dir),
    ]
    width = max(len(k) for k, _ in lines)
    for key, value in lines:
        print(f"{key.ljust(width)}  {value}")
    return 0


def reset_(args) -> int:
    from .reset import reset

    config = _config(args)
    node = LocalState(config).node
    pid = node.get("pid", 0)
    if pid and pid != os.getpid() and os.path.exists(f"/proc/{pid}/cmdline") and not args.force:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            if b"superlet" in f.read():
                raise RuntimeError(f"the agent is still running (pid {pid}): stop it first, "
                                   "or pass --force")
    for line in reset(config, everything=args.all):
        print(f"removed {line}")
    return 0


def register(subparsers, add_roots) -> None:
    p = subparsers.add_parser("ps", help="pods and containers on this node")
    add_roots(p)
    p.add_argument("-a", "--all", action="store_true", help="also superseded attempts")
    p.set_defaults(func=ps)

    p = subparsers.add_parser("logs", help="a container's log, from the node's files")
    add_roots(p)
    p.add_argument("pod", help="NAME, NAMESPACE/NAME or a UID prefix")
    p.add_argument("-c", "--container", default=None)
    p.add_argument("-f", "--follow", action="store_true")
    p.add_argument("-p", "--previous", action="store_true")
    p.add_argument("--tail", type=int, default=None)
    p.add_argument("--timestamps", action="store_true")
    p.set_defaults(func=logs)

    p = subparsers.add_parser("exec", help="run a command in a pod's container")
    add_roots(p)
    p.add_argument("-c", "--container", default=None)
    p.add_argument("-t", "--tty", action="store_true")
    p.add_argument("pod")
    p.add_argument("argv", nargs="*", metavar="-- CMD", help="the command and its arguments")
    p.set_defaults(func=exec_)

    p = subparsers.add_parser("inspect", help="everything the node knows about a pod (JSON)")
    add_roots(p)
    p.add_argument("pod")
    p.set_defaults(func=inspect)

    p = subparsers.add_parser("status", help="the agent and this node at a glance")
    add_roots(p)
    p.set_defaults(func=status)

    p = subparsers.add_parser("reset", help="remove every container, pod, network and "
                                            "cgroup the agent made on this node")
    add_roots(p)
    p.add_argument("--all", action="store_true",
                   help="also the credentials, images and logs (the whole root dir)")
    p.add_argument("--force", action="store_true", help="even if the agent seems to run")
    p.set_defaults(func=reset_)

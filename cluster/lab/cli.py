"""`supernetes lab ...`: the lab's command line.

    supernetes lab up [--nodes 3] [--name lab] [--data-dir D] [--backend host-gw|vxlan] ...
    supernetes lab status | kubeconfig | stop | down
    supernetes lab node stop|start|kill NODE
    supernetes lab exec NODE -- CMD [ARG...]

Each verb parses its flags and calls one function of lab.py; a LabError is one
line on stderr and exit code 1. Every verb but `up` finds the lab through its
data dir (default /var/lib/supernetes/labs/<name>).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

from .config import (
    BACKENDS,
    DEFAULT_NAME,
    DEFAULT_NETNS_DIR,
    DEFAULT_SUBNET,
    LabConfig,
    default_data_dir,
)


def _where(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--name", default=DEFAULT_NAME,
                        help="the lab's name, prefix of its machines' names "
                             "(default: %(default)s)")
    parser.add_argument("--data-dir", default=None,
                        help="the lab's state (default: /var/lib/supernetes/labs/NAME)")


def register(subparsers) -> None:
    lab = subparsers.add_parser(
        "lab", help="a multi-node cluster on this machine, in network namespaces",
        description="A whole cluster on one machine, kind-style with plain namespaces: a "
                    "control plane machine and N nodes, each a network namespace (plus PID, "
                    "mount and UTS namespaces) on a lab switch of its own. Nodes join as "
                    "remote machines do: `superlet run --server URL --token-file F`.")
    verbs = lab.add_subparsers(dest="verb", metavar="VERB", required=True)

    up = verbs.add_parser("up", help="build the lab (or boot what is not running)",
                          description="Build a lab and wait until every node is Ready; on "
                                      "an existing lab, boot whatever is not running.")
    _where(up)
    # None = not given: a new lab takes the default, a resumed one keeps its own
    up.add_argument("--nodes", type=int, default=None, help="nodes (default: 3)")
    up.add_argument("--backend", choices=BACKENDS, default=None,
                    help="cross-node pod networking (default: host-gw)")
    up.add_argument("--subnet", default=None,
                    help="the lab's own network, inside its namespaces only "
                         f"(default: {DEFAULT_SUBNET})")
    up.add_argument("--netns-dir", default=None,
                    help="where the machines' network namespaces are pinned (default: "
                         f"{DEFAULT_NETNS_DIR}, so `ip netns exec lab-node1 ...` works)")
    up.add_argument("--outside-access", action="store_true", default=None,
                    help="give the lab a way out: a link from the host onto the lab's switch "
                         "and masquerade of the lab subnet (off: no traffic can leave)")
    up.add_argument("--api-port", type=int, default=0,
                    help="the host port (127.0.0.1) the API server is published on "
                         "(default: any free port)")
    up.add_argument("--runtime", default="superc", help="the nodes' OCI runtime "
                                                        "(default: %(default)s)")
    up.add_argument("--node-monitor-grace-period", type=float, default=20.0, metavar="S",
                    help="seconds without a heartbeat before a node is Unknown "
                         "(default: %(default)s)")
    up.add_argument("--pod-eviction-timeout", type=int, default=25, metavar="S",
                    help="seconds pods stay on a not-ready or unreachable node "
                         "(default: %(default)s)")
    up.add_argument("--server-arg", action="append", default=[], metavar="ARG",
                    help="an extra `supernetes server` argument (repeatable; "
                         "--server-arg=--flag=value)")
    up.add_argument("--agent-arg", action="append", default=[], metavar="ARG",
                    help="an extra `superlet run` argument (repeatable)")
    up.add_argument("--timeout", type=float, default=120.0,
                    help="seconds to wait for the cluster (default: %(default)s)")
    up.set_defaults(lab_func=_up)

    for name, func, text in (("status", _status, "the machines and their nodes"),
                             ("kubeconfig", _kubeconfig,
                              "print the path of the lab's admin kubeconfig"),
                             ("stop", _stop, "power every machine off, keep the data dir"),
                             ("down", _down, "remove everything the lab made")):
        verb = verbs.add_parser(name, help=text, description=text[0].upper() + text[1:] + ".")
        _where(verb)
        verb.set_defaults(lab_func=func)

    node = verbs.add_parser("node", help="stop, start or kill one machine",
                            description="stop: a clean shutdown; kill: pull the plug (every "
                                        "process at once); start: boot it again.")
    node.add_argument("action", choices=["stop", "start", "kill"])
    node.add_argument("machine", metavar="NODE", help="node1, lab-node1, cp...")
    _where(node)
    node.set_defaults(lab_func=_node)

    execute = verbs.add_parser("exec", help="run a command inside a machine",
                               description="Run CMD inside a machine's namespaces, with "
                                           "its environment (on cp, KUBECONFIG is set).")
    execute.add_argument("machine", metavar="NODE")
    execute.add_argument("argv", nargs=argparse.REMAINDER, metavar="-- CMD")
    _where(execute)
    execute.set_defaults(lab_func=_exec)
    lab.set_defaults(func=_dispatch)


def _data_dir(args) -> str:
    return args.data_dir or default_data_dir(args.name)


def _state(args):
    from .state import LabState
    return LabState.load(_data_dir(args))


def _up(args) -> int:
    from .lab import up

    given = {"nodes": args.nodes, "backend": args.backend, "subnet": args.subnet,
             "netns_dir": args.netns_dir, "outside_access": args.outside_access}
    explicit = {field for field, value in given.items() if value is not None}
    config = LabConfig(name=args.name, data_dir=_data_dir(args),
                       **{field: given[field] for field in explicit}, api_port=args.api_port,
                       runtime=args.runtime,
                       node_monitor_grace_period=args.node_monitor_grace_period,
                       pod_eviction_timeout=args.pod_eviction_timeout,
                       server_args=args.server_arg, agent_args=args.agent_arg,
                       timeout=args.timeout)
    up(config, explicit=explicit)
    return 0


def _status(args) -> int:
    from .lab import status

    state = _state(args)
    print(f"{'MACHINE':<16} {'ROLE':<14} {'ADDRESS':<16} {'STATE':<9} READY")
    for row in status(state):
        print(f"{row['machine']:<16} {row['role']:<14} {row['address']:<16} "
              f"{'running' if row['running'] else 'stopped':<9} {row['ready']}")
    print(f"kubeconfig: {state.kubeconfig} (API on 127.0.0.1:{state.api_port})")
    return 0


def _kubeconfig(args) -> int:
    state = _state(args)
    if not state.kubeconfig.exists():
        print(f"supernetes lab: lab {state.config.name} has no kubeconfig yet "
              "(is it up?)", file=sys.stderr)
        return 1
    print(state.kubeconfig)
    return 0


def _stop(args) -> int:
    from .lab import stop

    stop(_state(args))
    return 0


def _down(args) -> int:
    from .lab import down

    for line in down(_data_dir(args)):
        print(f"removed {line}")
    return 0


def _node(args) -> int:
    from . import lab

    state = _state(args)
    {"stop": lab.node_stop, "start": lab.node_start, "kill": lab.node_kill}[args.action](
        state, args.machine)
    return 0


def _exec(args) -> int:
    from .lab import exec_argv

    command = args.argv[1:] if args.argv[:1] == ["--"] else args.argv
    if not command:
        print("supernetes lab exec: no command (lab exec NODE -- CMD ...)", file=sys.stderr)
        return 2
    argv, env = exec_argv(_state(args), args.machine, command)
    return subprocess.run(argv, env=env).returncode


def _dispatch(args) -> int:
    from . import LabError

    try:
        return args.lab_func(args)
    except LabError as exc:
        print(f"supernetes lab: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"supernetes lab {args.verb}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def main(argv: list[str] | None = None) -> int:
    """`python -m supernetes.lab.cli ...` (the `supernetes lab` subcommand, standalone)."""
    parser = argparse.ArgumentParser(prog="supernetes")
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["lab", *(sys.argv[1:] if argv is None else argv)])
    return args.func(args)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())

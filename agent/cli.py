"""The `superlet` command: the node agent, and the node's own view of its pods.

    superlet run --server URL --token-file F    join the cluster and run the agent
                 [...]                          (or --token T, which `ps` shows)
    superlet ps | logs | exec | inspect | status  what this node runs, read from the
                                                  local state (root dir, runtime),
                                                  so they work with the API down
    superlet reset                              stop and remove everything the agent
                                                made on this node (kubeadm reset)
    superlet image ...                          the node's image store (rootfs-tools)

Each subcommand parses its flags into a config and calls one function
(`node.run`, `nodecli.*`); errors are one line on stderr and a non-zero exit.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

from supernetes.rootfs import cli as image_cli

from .backoff import BackoffPolicy
from .config import DEFAULT_ROOT_DIR, DEFAULT_RUN_DIR, AgentConfig, parse_taint


def _add_roots(parser: argparse.ArgumentParser) -> None:
    # The environment may move both roots (as KUBECONFIG moves kubectl's config): a
    # lab machine sets them once, so every superlet command there finds its node.
    parser.add_argument("--root-dir", default=os.environ.get("SUPERLET_ROOT_DIR",
                                                             DEFAULT_ROOT_DIR),
                        help="persistent state: credentials, images, pods, logs "
                             f"(default: $SUPERLET_ROOT_DIR or {DEFAULT_ROOT_DIR})")
    parser.add_argument("--run-dir", default=os.environ.get("SUPERLET_RUN_DIR",
                                                            DEFAULT_RUN_DIR),
                        help="volatile state: sandboxes, runtime state "
                             f"(default: $SUPERLET_RUN_DIR or {DEFAULT_RUN_DIR})")
    parser.add_argument("--runtime", default="superc",
                        help="superc (default), runc, or the path of an OCI runtime binary")


def _add_run(subparsers) -> None:
    run = subparsers.add_parser(
        "run", help="join the cluster and run the node agent",
        description="Join the cluster with a bootstrap token (once; the node credential is "
                    "kept under the root dir), register the Node and run its pods until "
                    "SIGTERM. Containers keep running when the agent stops.")
    run.add_argument("--server", default="", help="the API server, https://HOST:PORT")
    token = run.add_mutually_exclusive_group()
    token.add_argument("--token", default="", help="the bootstrap token (server's "
                                                   "DATA_DIR/tokens/bootstrap); any user "
                                                   "sees it in `ps`: prefer --token-file")
    token.add_argument("--token-file", default=None, metavar="PATH",
                       help="a file holding the bootstrap token (read at start)")
    run.add_argument("--ca-file", default=None, help="the cluster CA, to verify the server "
                                                     "already while joining")
    run.add_argument("--node-name", default=None, help="default: the host name")
    _add_roots(run)
    run.add_argument("--node-ip", default=None, help="the address the node announces "
                                                     "(default: the one routing to the server)")
    run.add_argument("--pod-cidr", default=None,
                     help="this node's pod range, until the control plane allocates one")
    run.add_argument("--cluster-cidr", default="10.244.0.0/16")
    run.add_argument("--service-cidr", default="10.96.0.0/12")
    run.add_argument("--cluster-dns", action="append", default=[],
                     help="the cluster DNS server for ClusterFirst pods (repeatable; "
                          "default: the ClusterIP of the kube-system/kube-dns Service)")
    run.add_argument("--ingress-port", type=int, default=80,
                     help="the node port the Ingress proxy serves, 0 for none "
                          "(default: %(default)s)")
    run.add_argument("--ingress-bind", default="0.0.0.0",
                     help="the address the Ingress proxy listens on (default: %(default)s)")
    run.add_argument("--cluster-domain", default="cluster.local")
    run.add_argument("--bridge", default="super0")
    run.add_argument("--network-backend", default="host-gw",
                     choices=["host-gw", "vxlan", "none"],
                     help="how pods reach other nodes' pods: host-gw (a route per node; "
                          "nodes on one L2 segment), vxlan (an overlay; any network) or "
                          "none (left to something else) (default: %(default)s)")
    run.add_argument("--port", type=int, default=10250,
                     help="the agent's HTTPS port, 0 for any (default: %(default)s)")
    run.add_argument("--max-pods", type=int, default=110)
    run.add_argument("--pod-pids-limit", type=int, default=-1,
                     help="pids limit of every container, -1 for none (default: %(default)s)")
    run.add_argument("--node-label", action="append", default=[], metavar="KEY=VALUE")
    run.add_argument("--register-with-taints", action="append", default=[], type=_taint,
                     metavar="KEY[=VALUE]:EFFECT",
                     help="a taint the Node gets when it is first registered, e.g. "
                          "node-role.kubernetes.io/control-plane:NoSchedule (repeatable)")
    run.add_argument("--insecure-registry", action="append", default=[], metavar="HOST:PORT")
    run.add_argument("--workers", type=int, default=8, help="pod worker threads")
    run.add_argument("--relist-period", type=float, default=1.0,
                     help="seconds between looks at the runtime (default: %(default)s)")
    run.add_argument("--sync-frequency", type=float, default=60.0,
                     help="every pod is synced at least this often, in seconds")
    run.add_argument("--node-status-period", type=float, default=10.0)
    run.add_argument("--crash-backoff", type=float, nargs=2, default=(10.0, 300.0),
                     metavar=("INITIAL", "MAX"),
                     help="restart back-off in seconds (default: 10 300)")
    run.add_argument("--image-gc-high", type=float, default=0.85)
    run.add_argument("--image-gc-low", type=float, default=0.80)
    run.add_argument("--log-level", default="info",
                     choices=["debug", "info", "warning", "error"])
    run.set_defaults(func=_run)


def _taint(text: str) -> dict:
    try:
        return parse_taint(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def config_from_args(args) -> AgentConfig:
    labels = {}
    for item in args.node_label:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ValueError(f"--node-label {item!r}: expected KEY=VALUE")
        labels[key] = value
    initial, maximum = args.crash_backoff
    token = args.token
    if args.token_file is not None:
        token = read_token_file(args.token_file)
    config = AgentConfig(
        server_url=args.server, token=token, ca_file=args.ca_file,
        root_dir=args.root_dir, run_dir=args.run_dir, runtime=args.runtime,
        node_ip=args.node_ip, pod_cidr=args.pod_cidr, cluster_cidr=args.cluster_cidr,
        service_cidr=args.service_cidr, cluster_dns=tuple(args.cluster_dns),
        ingress_port=args.ingress_port, ingress_bind=args.ingress_bind,
        cluster_domain=args.cluster_domain, bridge=args.bridge,
        network_backend=args.network_backend, server_port=args.port,
        max_pods=args.max_pods, pod_pids_limit=args.pod_pids_limit, labels=labels,
        insecure_registries=tuple(args.insecure_registry), workers=args.workers,
        relist_period=args.relist_period, sync_frequency=args.sync_frequency,
        node_status_period=args.node_status_period,
        crash_backoff=BackoffPolicy(initial=initial, maximum=maximum),
        image_backoff=BackoffPolicy(initial=initial, maximum=maximum),
        image_gc_high=args.image_gc_high, image_gc_low=args.image_gc_low)
    config.taints = tuple(args.register_with_taints)
    if args.node_name:
        config.node_name = args.node_name
    return config


def read_token_file(path: str) -> str:
    """The bootstrap token in `path` (surrounding white space stripped)."""
    try:
        with open(path, encoding="utf-8") as f:
            token = f.read().strip()
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ValueError(f"--token-file {path}: {reason}") from exc
    if not token:
        raise ValueError(f"--token-file {path}: the file is empty")
    if any(c.isspace() for c in token):
        raise ValueError(f"--token-file {path}: expected one token, found several words")
    return token


def _run(args) -> int:
    from .join import JoinError
    from .node import run
    from .runtimes.base import ContainerRuntimeError

    logging.basicConfig(level=args.log_level.upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        return run(config_from_args(args))
    except (JoinError, ContainerRuntimeError, ValueError, OSError, TimeoutError) as exc:
        print(f"superlet: {exc}", file=sys.stderr)
        return 1


def main(argv: list[str] | None = None) -> int:
    from . import nodecli
    from .runtimes.base import ContainerRuntimeError

    parser = argparse.ArgumentParser(prog="superlet", description=__doc__.splitlines()[0])
    subparsers = parser.add_subparsers(dest="subcommand", metavar="COMMAND", required=True)
    _add_run(subparsers)
    nodecli.register(subparsers, _add_roots)
    image_cli.register(subparsers)
    argv = list(sys.argv[1:] if argv is None else argv)
    tail: list[str] = []
    if argv[:1] == ["exec"] and "--" in argv:  # `exec POD -c C -- CMD...`, as kubectl
        cut = argv.index("--")
        argv, tail = argv[:cut], argv[cut + 1:]
    args = parser.parse_args(argv)
    if tail:
        args.argv = list(args.argv) + tail
    if args.func in (_run,) or getattr(args.func, "__module__", "") != nodecli.__name__:
        return args.func(args)
    try:
        return args.func(args)
    except (LookupError, RuntimeError, OSError, ContainerRuntimeError) as exc:
        print(f"superlet {args.subcommand}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())

"""The `supernetes` command: composes the control plane and the agent."""

import argparse
import sys

from . import __version__, dnscli
from .lab import cli as lab_cli


def _add_server(subparsers) -> None:
    server = subparsers.add_parser(
        "server", help="run the control plane: the API server, scheduler, controllers, DNS",
        description="Run the API server (HTTPS, Kubernetes-compatible), with the scheduler, "
                    "the controllers and the cluster DNS server in the same process (the "
                    "scheduler and controllers elect a leader through a Lease, so servers "
                    "sharing one etcd do not both act). On first start "
                    "it makes a CA, a serving certificate and tokens under the data dir; the "
                    "admin kubeconfig DATA_DIR/admin.kubeconfig appears once it serves.")
    server.add_argument("--data-dir", default="/var/lib/supernetes",
                        help="certificates, tokens, kubeconfigs, the SQLite store "
                             "(default: %(default)s)")
    server.add_argument("--store", default=None,
                        help="sqlite:///PATH or etcd://HOST:PORT[,HOST:PORT] "
                             "(default: sqlite:///DATA_DIR/state.db)")
    server.add_argument("--bind", default="0.0.0.0", help="address to listen on "
                                                          "(default: %(default)s)")
    server.add_argument("--port", type=int, default=6443,
                        help="HTTPS port, 0 for any free port (default: %(default)s)")
    server.add_argument("--advertise-address", action="append", default=[],
                        help="a name or address clients use to reach this server (for the "
                             "certificate and kubeconfigs); repeatable")
    server.add_argument("--threads", type=int, default=1024,
                        help="request threads; each open watch holds one "
                             "(default: %(default)s)")
    server.add_argument("--bookmark-interval", type=float, default=60.0,
                        help="seconds between watch bookmarks (default: %(default)s)")
    server.add_argument("--service-cidr", default="10.96.0.0/12", type=_service_cidr,
                        help="the range ClusterIPs are allocated from; its first address is "
                             "the `kubernetes` Service's (default: %(default)s)")
    server.add_argument("--service-node-port-range", default="30000-32767",
                        type=_node_port_range,
                        help="the range NodePorts are allocated from (default: %(default)s)")
    server.add_argument("--log-level", default="info",
                        choices=["debug", "info", "warning", "error"])
    server.add_argument("--access-log", action="store_true", help="log every request")
    server.add_argument("--disable-scheduler", action="store_true",
                        help="do not run the scheduler in this process (run `supernetes "
                             "scheduler` elsewhere)")
    server.add_argument("--disable-controllers", action="store_true",
                        help="do not run the controllers in this process (run `supernetes "
                             "controller-manager` elsewhere)")
    server.add_argument("--disable-namespace-finalizer", action="store_true",
                        help="with --disable-controllers: leave emptying deleted namespaces "
                             "to a separate controller-manager's namespace controller")
    server.add_argument("--default-not-ready-toleration-seconds", type=int, default=25,
                        metavar="S", help="new pods tolerate a not-ready node this long "
                                          "(default: %(default)s)")
    server.add_argument("--default-unreachable-toleration-seconds", type=int, default=25,
                        metavar="S", help="new pods tolerate an unreachable node this long "
                                          "(default: %(default)s)")
    _add_controller_options(server)
    dnscli.add_server_options(server)
    server.set_defaults(func=_run_server)


def _service_cidr(text: str) -> str:
    from .controlplane.apiserver.allocator import IPRange
    try:
        return str(IPRange(text))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _node_port_range(text: str) -> str:
    from .controlplane.apiserver.allocator import PortRange
    try:
        return str(PortRange(text))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _run_server(args) -> int:
    from pathlib import Path

    from . import embedded
    from .controlplane.apiserver import ServeError, ServerConfig, run
    from .controlplane.controllers import ControllerError, ControllerManagerConfig

    try:
        ControllerManagerConfig(**_controller_settings(args)).validate()
    except ControllerError as exc:
        print(f"supernetes server: {exc}", file=sys.stderr)
        return 1
    components = []
    if not args.disable_scheduler:
        components.append(embedded.scheduler())
    if not args.disable_controllers:
        components.append(embedded.controllers(_controller_settings(args)))
    try:
        dns = dnscli.server_component(args)
    except ValueError as exc:
        print(f"supernetes server: {exc}", file=sys.stderr)
        return 1
    if dns is not None:
        components.append(dns)
    config = ServerConfig(data_dir=Path(args.data_dir), store_url=args.store, bind=args.bind,
                          port=args.port, advertise_addresses=tuple(args.advertise_address),
                          threads=args.threads, bookmark_interval=args.bookmark_interval,
                          service_cidr=args.service_cidr,
                          node_port_range=args.service_node_port_range,
                          log_level=args.log_level,
                          access_log=args.access_log,
                          default_not_ready_toleration_seconds=(
                              args.default_not_ready_toleration_seconds),
                          default_unreachable_toleration_seconds=(
                              args.default_unreachable_toleration_seconds),
                          components=tuple(components),
                          namespace_finalizer=(args.disable_controllers and
                                               not args.disable_namespace_finalizer))
    try:
        run(config)
    except ServeError as exc:
        print(f"supernetes server: {exc}", file=sys.stderr)
        return 1
    return 0


def _add_controller_options(parser) -> None:
    """kube-controller-manager's flags that matter here, shared by `server` and
    `controller-manager`."""
    parser.add_argument("--controllers", default="*",
                        help="controllers to run: '*' for all, 'name' to add, '-name' to "
                             "remove, comma-separated (default: %(default)s)")
    parser.add_argument("--node-monitor-grace-period", type=float, default=20.0, metavar="S",
                        help="seconds without a heartbeat before a node is Unknown "
                             "(default: %(default)s)")
    parser.add_argument("--node-monitor-period", type=float, default=1.0, metavar="S",
                        help="seconds between node health checks (default: %(default)s)")
    parser.add_argument("--cluster-cidr", default="10.244.0.0/16",
                        help="pod network, cut into one CIDR per node (default: %(default)s)")
    parser.add_argument("--node-cidr-mask-size", type=int, default=24,
                        help="prefix length of each node's pod CIDR (default: %(default)s)")
    parser.add_argument("--allocate-node-cidrs", default="true", choices=["true", "false"],
                        help="give every node a pod CIDR (default: %(default)s)")


def _controller_settings(args) -> dict:
    return {"controllers": tuple(args.controllers.split(",")),
            "node_monitor_grace_period": args.node_monitor_grace_period,
            "node_monitor_period": args.node_monitor_period,
            "cluster_cidr": args.cluster_cidr,
            "node_cidr_mask_size": args.node_cidr_mask_size,
            "allocate_node_cidrs": args.allocate_node_cidrs == "true"}


def _add_controller_manager(subparsers) -> None:
    manager = subparsers.add_parser(
        "controller-manager", help="run the controllers against an API server",
        description="Run the reconcile loops (ReplicaSets, Deployments, Jobs, DaemonSets, "
                    "nodes, endpoints, garbage collection, namespaces...) as their own "
                    "process against a (remote) API server. `supernetes server` runs the "
                    "same controllers in-process.")
    manager.add_argument("--kubeconfig", default=None,
                         help="kubeconfig to reach the API server (default: $KUBECONFIG, "
                              "then ~/.kube/config)")
    manager.add_argument("--leader-elect", default="true", choices=["true", "false"],
                         help="take the kube-system/supernetes-controller-manager Lease first, "
                              "so that only one of several managers acts (default: "
                              "%(default)s)")
    _add_controller_options(manager)
    manager.add_argument("--log-level", default="info",
                         choices=["debug", "info", "warning", "error"])
    manager.set_defaults(func=_run_controller_manager)


def _run_controller_manager(args) -> int:
    from .controlplane.client import ClientError
    from .controlplane.controllers import ControllerError, ControllerManagerConfig, run
    from .foreground import run_component

    def make_config() -> ControllerManagerConfig:
        config = ControllerManagerConfig(kubeconfig=args.kubeconfig,
                                         leader_elect=args.leader_elect == "true",
                                         **_controller_settings(args))
        config.validate()
        return config

    return run_component("supernetes controller-manager", args.log_level,
                         (ControllerError, ClientError), make_config, run)


def _add_scheduler(subparsers) -> None:
    scheduler = subparsers.add_parser(
        "scheduler", help="run the scheduler against an API server",
        description="Bind pending pods to nodes, as its own process against a (remote) API "
                    "server. `supernetes server` runs the same scheduler in-process.")
    scheduler.add_argument("--kubeconfig", default=None,
                           help="kubeconfig to reach the API server (default: $KUBECONFIG, "
                                "then ~/.kube/config)")
    scheduler.add_argument("--config", default=None, metavar="FILE",
                           help="a KubeSchedulerConfiguration file (profiles, plugins, weights)")
    scheduler.add_argument("--parallelism", type=int, default=None,
                           help="concurrent binding requests (default: 16)")
    scheduler.add_argument("--leader-elect", action="store_true", default=None,
                           help="take the kube-system/kube-scheduler Lease first, so that only "
                                "one of several schedulers acts")
    scheduler.add_argument("--log-level", default="info",
                           choices=["debug", "info", "warning", "error"])
    scheduler.set_defaults(func=_run_scheduler)


def _run_scheduler(args) -> int:
    from .controlplane.client import ClientError
    from .controlplane.scheduler import SchedulerConfig, SchedulerError, run
    from .foreground import run_component

    overrides = dict(kubeconfig=args.kubeconfig, parallelism=args.parallelism,
                     leader_elect=args.leader_elect)

    def make_config() -> SchedulerConfig:
        if args.config:
            return SchedulerConfig.load(args.config, **overrides)
        return SchedulerConfig.from_document({}, **overrides)

    return run_component("supernetes scheduler", args.log_level,
                         (SchedulerError, ClientError), make_config, run)


def _add_up(subparsers) -> None:
    up = subparsers.add_parser(
        "up", help="start a single-node cluster on this machine (server with scheduler "
                   "and controllers, a superlet and the cluster DNS)",
        description="Start the API server (with the scheduler and controllers inside) and "
                    "a Superlet on this machine, with a busybox image built offline, then "
                    "the cluster DNS on the node's pod gateway address, where pods reach "
                    "it through the kube-dns ClusterIP. "
                    "The admin kubeconfig is DATA_DIR/admin.kubeconfig (and "
                    "/etc/supernetes/admin.kubeconfig for the default data dir).")
    up.add_argument("--data-dir", default="/var/lib/supernetes",
                    help="all state and logs (default: %(default)s)")
    up.add_argument("--netns", default=None, metavar="NAME",
                    help="run the whole cluster inside network namespace NAME (made if "
                         "missing); the machine's own network is not touched")
    up.add_argument("--runtime", default="superc", help="superc (default) or runc")
    up.add_argument("--port", type=int, default=6443, help="the API server's port")
    up.add_argument("--pod-cidr", default=None,
                    help="the node's pod range (default: allocated by the control plane)")
    up.add_argument("--node-name", default=None, help="default: the host name")
    up.add_argument("--demo", action="store_true",
                    help="then run `supernetes demo` (3 httpd replicas, pages fetched)")
    up.set_defaults(func=_run_up)

    down = subparsers.add_parser(
        "down", help="stop and remove everything `supernetes up` made",
        description="Stop the cluster's processes and remove its containers, mounts, "
                    "network (links, routes, rules, the namespace if up made it), cgroups "
                    "and files.")
    down.add_argument("--data-dir", default="/var/lib/supernetes")
    down.add_argument("--netns", default=None, metavar="NAME")
    down.set_defaults(func=_run_down)

    demo = subparsers.add_parser(
        "demo", help="deploy 3 busybox httpd replicas on the cluster `up` made and fetch "
                     "their pages")
    demo.add_argument("--data-dir", default="/var/lib/supernetes")
    demo.set_defaults(func=_run_demo)


def _run_up(args) -> int:
    from .up import UpError, up

    try:
        state = up(args.data_dir, netns=args.netns, runtime=args.runtime, port=args.port,
                   pod_cidr=args.pod_cidr, node_name=args.node_name)
    except (UpError, OSError) as exc:
        print(f"supernetes up: {exc}", file=sys.stderr)
        return 1
    kubeconfig = f"{state['dataDir']}/admin.kubeconfig"
    prefix = f"ip netns exec {args.netns} " if args.netns else ""
    print(f"cluster up: kubeconfig {kubeconfig}")
    print(f"  {prefix}superctl --kubeconfig {kubeconfig} get nodes")
    print(f"  supernetes down{' --netns ' + args.netns if args.netns else ''} "
          f"--data-dir {state['dataDir']}")
    if args.demo:
        args.data_dir = state["dataDir"]
        return _run_demo(args)
    return 0


def _run_down(args) -> int:
    from .up import UpError, down

    try:
        for line in down(args.data_dir, netns=args.netns):
            print(f"removed {line}")
    except (UpError, OSError) as exc:
        print(f"supernetes down: {exc}", file=sys.stderr)
        return 1
    return 0


def _run_demo(args) -> int:
    from .demo import demo
    from .up import UpError

    try:
        demo(args.data_dir)
    except (UpError, OSError) as exc:
        print(f"supernetes demo: {exc}", file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="supernetes", description=__doc__)
    parser.add_argument("--version", action="version", version=f"supernetes {__version__}")
    subparsers = parser.add_subparsers(dest="command")
    _add_server(subparsers)
    _add_scheduler(subparsers)
    _add_controller_manager(subparsers)
    _add_up(subparsers)
    dnscli.register(subparsers)
    lab_cli.register(subparsers)
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())

"""The `supernetes` command: composes the control plane and the agent."""

import argparse
import sys

from . import __version__


def _add_server(subparsers) -> None:
    server = subparsers.add_parser(
        "server", help="run the control plane: the API server over HTTPS",
        description="Run the API server (HTTPS, Kubernetes-compatible). On first start it "
                    "makes a CA, a serving certificate and tokens under the data dir; the "
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
    server.add_argument("--log-level", default="info",
                        choices=["debug", "info", "warning", "error"])
    server.add_argument("--access-log", action="store_true", help="log every request")
    server.set_defaults(func=_run_server)


def _run_server(args) -> int:
    from pathlib import Path

    from .controlplane.apiserver import ServeError, ServerConfig, run

    config = ServerConfig(data_dir=Path(args.data_dir), store_url=args.store, bind=args.bind,
                          port=args.port, advertise_addresses=tuple(args.advertise_address),
                          threads=args.threads, bookmark_interval=args.bookmark_interval,
                          log_level=args.log_level,
                          access_log=args.access_log)
    try:
        run(config)
    except ServeError as exc:
        print(f"supernetes server: {exc}", file=sys.stderr)
        return 1
    return 0


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
    import logging
    import signal
    import threading

    from .controlplane.client import ClientError
    from .controlplane.scheduler import SchedulerConfig, SchedulerError, run

    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(message)s")
    overrides = dict(kubeconfig=args.kubeconfig, parallelism=args.parallelism,
                     leader_elect=args.leader_elect)
    try:
        if args.config:
            config = SchedulerConfig.load(args.config, **overrides)
        else:
            config = SchedulerConfig.from_document({}, **overrides)
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        run(config, stop=stop)
    except (SchedulerError, ClientError) as exc:
        print(f"supernetes scheduler: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0


def _add_dns(subparsers) -> None:
    dns = subparsers.add_parser(
        "dns", help="run the cluster DNS server against an API server",
        description="Answer <svc>.<ns>.svc.<domain>, SRV, headless and pod names from the "
                    "API server's Services, EndpointSlices and Pods, forward other names to "
                    "the upstream resolvers, and publish the kube-dns Service pointing at "
                    "this server. `supernetes server` runs the same server in-process.")
    dns.add_argument("--kubeconfig", default=None,
                     help="kubeconfig to reach the API server (default: $KUBECONFIG, then "
                          "~/.kube/config)")
    _add_dns_options(dns, prefix="")
    dns.add_argument("--log-level", default="info",
                     choices=["debug", "info", "warning", "error"])
    dns.set_defaults(func=_run_dns)


def _add_dns_options(parser, prefix: str) -> None:
    """The DNS server's flags; `supernetes server` has them as --cluster-dns-*."""
    parser.add_argument(f"--{prefix}bind", default=None, metavar="ADDR[:PORT]",
                        help="where to listen, UDP and TCP (default: the advertised address "
                             "port 53; with none, DNS is not served)" if prefix else
                             "where to listen, UDP and TCP (default: 0.0.0.0:53)")
    parser.add_argument(f"--{prefix}advertise", default=None, metavar="IP",
                        help="the address pods reach the server on, published as the "
                             "kube-dns Service's endpoint (default: the bind address)")
    parser.add_argument(f"--{prefix}ip" if prefix else "--service-ip", default="10.96.0.10",
                        metavar="IP",
                        help="the kube-dns Service's ClusterIP, which pods are told to ask "
                             "(default: %(default)s)")
    parser.add_argument("--cluster-domain", default="cluster.local",
                        help="the cluster's DNS domain (default: %(default)s)")
    parser.add_argument(f"--{prefix}ttl", type=int, default=5,
                        help="seconds on cluster answers (default: %(default)s)")
    parser.add_argument(f"--{prefix}upstream", action="append", default=[],
                        metavar="IP[:PORT]", help="forward other names here (repeatable; "
                                                  "default: the nameservers of --"
                                                  f"{prefix}resolv-conf)")
    parser.add_argument(f"--{prefix}resolv-conf", default="/etc/resolv.conf", metavar="PATH",
                        help="where the upstream resolvers are read from; '' for none "
                             "(other names are then refused)")


def _dns_config(args, prefix: str, bind_default: str | None):
    from .controlplane.dns import DNSConfig
    from .controlplane.dns.config import parse_address

    def arg(name):
        return getattr(args, (prefix + name).replace("-", "_"))

    bind = arg("bind") or bind_default
    if bind is None:
        return None
    address = parse_address(bind)
    return DNSConfig(kubeconfig=getattr(args, "kubeconfig", None), bind=address.host,
                     port=address.port, advertise=arg("advertise"),
                     service_ip=arg("ip" if prefix else "service-ip"),
                     domain=args.cluster_domain, ttl=arg("ttl"),
                     upstreams=tuple(arg("upstream")), resolv_conf=arg("resolv-conf") or None)


def _run_dns(args) -> int:
    import logging
    import signal
    import threading

    from .controlplane.client import ClientError
    from .controlplane.dns import DNSError, run

    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(message)s")
    try:
        config = _dns_config(args, "", "0.0.0.0:53")
        config.validate()
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        run(config, stop=stop)
    except (DNSError, ClientError) as exc:
        print(f"supernetes dns: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="supernetes", description=__doc__)
    parser.add_argument("--version", action="version", version=f"supernetes {__version__}")
    subparsers = parser.add_subparsers(dest="command")
    _add_server(subparsers)
    _add_scheduler(subparsers)
    _add_dns(subparsers)
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())

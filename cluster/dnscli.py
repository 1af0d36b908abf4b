"""The cluster DNS server's command line: `supernetes dns`, and its part of `supernetes server`.

    supernetes dns --kubeconfig K [--bind ADDR[:PORT]] [--advertise IP] ...
        the DNS server as its own process against a (remote) API server

    supernetes server ... [--cluster-dns-bind ADDR[:PORT]] [--cluster-dns-ip IP]
                          [--cluster-domain D] [--dns-upstream IP[:PORT]]
                          [--dns-resolv-conf PATH] [--disable-dns]
        the same server as a component of the API server's process (embedded.py),
        listening by default on the address the server publishes for pods (the
        first non-loopback --advertise-address, else --bind), port 53; a server
        with no such address serves no DNS and says so. Its kube-dns Service gets
        the ClusterIP --cluster-dns-ip, by default the tenth address of the
        service CIDR (10.96.0.10), as kubeadm does.
"""

from __future__ import annotations

import ipaddress


def register(subparsers) -> None:
    dns = subparsers.add_parser(
        "dns", help="run the cluster DNS server against an API server",
        description="Answer <svc>.<ns>.svc.<domain>, SRV, headless and pod names from the "
                    "API server's Services, EndpointSlices and Pods, forward other names to "
                    "the upstream resolvers, and publish the kube-dns Service pointing at "
                    "this server. `supernetes server` runs the same server in-process.")
    dns.add_argument("--kubeconfig", default=None,
                     help="kubeconfig to reach the API server (default: $KUBECONFIG, then "
                          "~/.kube/config)")
    dns.add_argument("--bind", default="0.0.0.0:53", metavar="ADDR[:PORT]",
                     help="where to listen, UDP and TCP (default: %(default)s)")
    dns.add_argument("--advertise", default=None, metavar="IP",
                     help="the address pods reach this server on, published as the kube-dns "
                          "Service's endpoint (default: the bind address, unless loopback or "
                          "the wildcard)")
    dns.add_argument("--service-ip", default="10.96.0.10", metavar="IP",
                     help="the kube-dns Service's ClusterIP, which pods are told to ask "
                          "(default: %(default)s)")
    _common(dns, "")
    dns.add_argument("--log-level", default="info",
                     choices=["debug", "info", "warning", "error"])
    dns.set_defaults(func=_run)


def _common(parser, prefix: str) -> None:
    parser.add_argument("--cluster-domain", default="cluster.local",
                        help="the cluster's DNS domain (default: %(default)s)")
    parser.add_argument(f"--{prefix}upstream", action="append", default=[],
                        metavar="IP[:PORT]", help="forward other names here (repeatable; "
                        f"default: the nameservers of --{prefix}resolv-conf)")
    parser.add_argument(f"--{prefix}resolv-conf", default="/etc/resolv.conf", metavar="PATH",
                        help="where the upstream resolvers are read from; '' for none (other "
                             "names are then refused) (default: %(default)s)")


def add_server_options(parser) -> None:
    parser.add_argument("--cluster-dns-bind", default=None, metavar="ADDR[:PORT]",
                        help="where the cluster DNS server listens (default: the address "
                             "published for pods, port 53; with none, no DNS is served)")
    parser.add_argument("--cluster-dns-ip", default=None, metavar="IP",
                        help="the kube-dns Service's ClusterIP (default: the tenth address "
                             "of --service-cidr, 10.96.0.10)")
    _common(parser, "dns-")
    parser.add_argument("--disable-dns", action="store_true",
                        help="do not run the cluster DNS server in this process")


def _config(args, *, bind: str, advertise: str | None, service_ip: str, upstreams,
            resolv_conf: str, kubeconfig: str | None = None):
    from supernetes.controlplane.dns import DNSConfig
    from supernetes.controlplane.dns.config import parse_address

    address = parse_address(bind)
    return DNSConfig(kubeconfig=kubeconfig, bind=address.host, port=address.port,
                     advertise=advertise, service_ip=service_ip, domain=args.cluster_domain,
                     upstreams=tuple(upstreams), resolv_conf=resolv_conf or None)


def server_component(args):
    """The embedded DNS component for `supernetes server`, or None when DNS is off.
    Raises ValueError (a DNSConfigError) for a bad flag."""
    if args.disable_dns:
        return None
    from supernetes.controlplane.apiserver.kubernetes_service import endpoint_address

    from . import embedded

    class _Server:                   # endpoint_address reads these two fields
        advertise_addresses = tuple(args.advertise_address)
        bind = args.bind

    published = endpoint_address(_Server)
    bind = args.cluster_dns_bind or (f"{published}:53" if published else None)
    if bind is None:
        return embedded.no_dns("the server has no address a pod can reach (pass "
                               "--advertise-address, or --cluster-dns-bind)")
    network = ipaddress.ip_network(args.service_cidr, strict=False)
    service_ip = args.cluster_dns_ip or str(network.network_address + 10)
    config = _config(args, bind=bind, advertise=published, service_ip=service_ip,
                     upstreams=args.dns_upstream, resolv_conf=args.dns_resolv_conf)
    config.validate()
    return embedded.dns(config)


def _run(args) -> int:
    from supernetes.controlplane.client import ClientError
    from supernetes.controlplane.dns import DNSError, run

    from .foreground import run_component

    def make_config():
        config = _config(args, bind=args.bind, advertise=args.advertise,
                         service_ip=args.service_ip, upstreams=args.upstream,
                         resolv_conf=args.resolv_conf, kubeconfig=args.kubeconfig)
        config.validate()
        return config

    return run_component("supernetes dns", args.log_level, (DNSError, ClientError),
                         make_config, run)

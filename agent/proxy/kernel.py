"""What the proxy asks of the kernel besides its table: a route, and conntrack.

  * The service route. The node keeps `unreachable 10.96.0.0/12` so that nothing
    for a Service leaks out through the default route (network/node.py). But a
    connection the node itself opens to a ClusterIP is routed before the
    nat-output chain can DNAT it, and "unreachable" fails it at connect(). So the
    proxy adds `10.96.0.0/12 dev super0 metric 1024`, preferred over the
    unreachable route: the node's connections then leave from the bridge's
    address, get DNATed to an endpoint and are routed again. Nothing for an
    address without a Service leaves either: the proxy's cluster-ips-check
    rejects it after DNAT.
  * conntrack: a UDP "connection" lives on in conntrack after its endpoint went
    away, and would keep sending a client's datagrams (DNS!) to a dead pod; as
    kube-proxy does, the proxy deletes the entries NATed to removed endpoints.
"""

from __future__ import annotations

import logging
import socket
import subprocess

from ..network import netns as netns_mod

log = logging.getLogger(__name__)

SERVICE_ROUTE_METRIC = 1024  # better than the node's unreachable route (4096)


def ensure_service_route(netns: str | None, cidr: str, bridge: str) -> None:
    with netns_mod.route_socket(netns) as ipr:
        found = ipr.link_lookup(ifname=bridge)
        if not found:
            raise OSError(f"no bridge {bridge} on this node (is the node network set up?)")
        for route in _our_routes(ipr, cidr):
            if route.get_attr("RTA_OIF") == found[0]:
                return
        ipr.route("replace", dst=cidr, oif=found[0], priority=SERVICE_ROUTE_METRIC)


def remove_service_route(netns: str | None, cidr: str) -> None:
    with netns_mod.route_socket(netns) as ipr:
        for route in _our_routes(ipr, cidr):
            ipr.route("del", dst=cidr, oif=route.get_attr("RTA_OIF"),
                      priority=SERVICE_ROUTE_METRIC)


def _our_routes(ipr, cidr: str) -> list:
    address, _, length = cidr.partition("/")
    return [r for r in ipr.get_routes(family=socket.AF_INET, table=254)
            if r.get_attr("RTA_DST") == address and r["dst_len"] == int(length)
            and r.get_attr("RTA_PRIORITY") == SERVICE_ROUTE_METRIC]


def forget_udp_flows(netns: str | None, destination: str, endpoint: str,
                     port: int | None = None) -> None:
    """Delete UDP conntrack entries to `destination` (or to node port `port`) that
    were NATed to `endpoint`."""
    args = ["conntrack", "-D", "-p", "udp", "--dst-nat", endpoint]
    args += ["--orig-port-dst", str(port)] if port else ["--orig-dst", destination]
    result = netns_mod.run_in(netns, subprocess.run, args, capture_output=True, text=True)
    # conntrack exits 1 when nothing matched, which is the common case.
    if result.returncode not in (0, 1):
        log.warning("%s: %s", " ".join(args), result.stderr.strip())

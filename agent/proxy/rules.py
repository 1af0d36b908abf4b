"""The proxy's nftables table, rendered whole from the ServicePorts (pure).

The shape is kube-proxy's nftables mode, with names a learner can read. A new
connection to a Service goes:

    nat-prerouting / nat-output -> services
        ip daddr . proto . port  in @service-ips        (ClusterIPs, external and LB IPs)
        proto . port             in @service-nodeports  (when the address is the node's)
      -> svc-default/web/tcp/http      pick an endpoint: a known client's first
                                       (affinity-... sets, filled by the kernel and
                                       kept across rewrites), else numgen random
         (ext-default/web/tcp/http     NodePort/LB/external traffic: masquerade, then the
                                       svc- chain; with externalTrafficPolicy Local only
                                       this node's endpoints, client address kept)
      -> ep-default/web/tcp/http/10.244.1.5/8080
                                       masquerade if the pod is calling itself (hairpin),
                                       remember the client (affinity), DNAT
    nat-postrouting -> masquerading    SNAT what was marked 0x4000 on the way

and the filter chains (priority -110, before anything else) refuse at once
what no rule would deliver: a Service without endpoints (@no-endpoint-services,
@no-endpoint-nodeports), a Service address on a port it does not serve, or an
unallocated address of the service CIDR (cluster-ips-check, after DNAT).
Traffic between pods keeps its source address: only external traffic,
traffic from outside the pod network and hairpin traffic is masqueraded.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from ..network.nfttable import Chain, Named, Table
from .model import Endpoint, ServicePort

log = logging.getLogger(__name__)

TABLE = ("ip", "supernetes-proxy")
MASQ_MARK = 0x4000

BASE_CHAINS = """\
chain nat-prerouting {
  type nat hook prerouting priority dstnat; policy accept;
  jump services
}
chain nat-output {
  type nat hook output priority -100; policy accept;
  jump services
}
chain nat-postrouting {
  type nat hook postrouting priority srcnat; policy accept;
  jump masquerading
}
chain filter-forward {
  type filter hook forward priority -110; policy accept;
  ct state new jump service-endpoints-check
  ct state new jump cluster-ips-check
}
chain filter-input {
  type filter hook input priority -110; policy accept;
  ct state new jump nodeport-endpoints-check
  ct state new jump service-endpoints-check
}
chain filter-output {
  type filter hook output priority -110; policy accept;
  ct state new jump service-endpoints-check
}
chain filter-output-post-dnat {
  type filter hook output priority -90; policy accept;
  ct state new jump cluster-ips-check
}
chain mark-for-masquerade {
  meta mark set meta mark | 0x4000
}
chain masquerading {
  meta mark & 0x4000 == 0 return
  meta mark set meta mark ^ 0x4000
  masquerade fully-random
}
chain reject-chain {
  comment "no endpoint: refuse at once rather than let the client wait"
  reject
}
chain services {
  ip daddr . meta l4proto . th dport vmap @service-ips
  fib daddr type local ip daddr != 127.0.0.0/8 meta l4proto . th dport vmap @service-nodeports
}
chain service-endpoints-check {
  ip daddr . meta l4proto . th dport vmap @no-endpoint-services
}
chain nodeport-endpoints-check {
  fib daddr type local ip daddr != 127.0.0.0/8 meta l4proto . th dport vmap @no-endpoint-nodeports
}
"""


@dataclass(frozen=True)
class RuleConfig:
    cluster_cidr: str = "10.244.0.0/16"
    service_cidr: str = "10.96.0.0/12"
    node_name: str = ""


def svc_chain(sp: ServicePort) -> str:
    return f"svc-{sp.key}"


def ext_chain(sp: ServicePort) -> str:
    return f"ext-{sp.key}"


def ep_chain(sp: ServicePort, ep: Endpoint) -> str:
    return f"ep-{sp.key}/{ep.ip}/{ep.port}"


def affinity_set(sp: ServicePort, ep: Endpoint) -> str:
    # The timeout is part of the name: a rewrite keeps a set that exists (and the
    # clients it learned), so a new timeout must make a new set.
    return f"affinity-{sp.affinity_timeout}s-{sp.key}/{ep.ip}/{ep.port}"


def is_affinity_set(name: str) -> bool:
    return name.startswith("affinity-")


def _base_chains() -> dict[str, Chain]:
    """BASE_CHAINS as data: a line ending in ';' or starting with 'comment' is the head."""
    chains, name = {}, None
    for line in BASE_CHAINS.splitlines():
        line = line.strip()
        if line.startswith("chain "):
            name = line.split()[1]
            chains[name] = Chain()
        elif line == "}":
            name = None
        elif line.endswith(";") or line.startswith("comment "):
            chains[name].head.append(line)
        else:
            chains[name].rules.append(line)
    return chains


def _base_table(config: RuleConfig) -> Table:
    table = Table(*TABLE, comment=f"service proxy of node {config.node_name or '?'}: "
                  "generated by supernetes.agent.proxy")
    table.sets["cluster-ips"] = Named("set", ["type ipv4_addr",
                                              'comment "every proxied ClusterIP"'])
    for name, kind in (("service-ips", "ipv4_addr . inet_proto . inet_service"),
                       ("service-nodeports", "inet_proto . inet_service"),
                       ("no-endpoint-services", "ipv4_addr . inet_proto . inet_service"),
                       ("no-endpoint-nodeports", "inet_proto . inet_service")):
        table.sets[name] = Named("map", [f"type {kind} : verdict"])
    table.chains = _base_chains()
    table.chains["cluster-ips-check"] = Chain(rules=[
        'ip daddr @cluster-ips reject comment "a Service address, but a port it does not '
        'serve"',
        f'ip daddr {config.service_cidr} reject comment "no Service has this address"'])
    return table


class _Fragment:
    """What one ServicePort adds to the table: its chains, sets and elements."""

    def __init__(self):
        self.chains: dict[str, Chain] = {}
        self.sets: dict[str, Named] = {}
        self.elements: list[tuple[str, str, str, str]] = []   # (set, key, verdict, owner)

    def element(self, name: str, key: str, verdict: str, owner: str) -> None:
        self.elements.append((name, key, verdict, owner))

    def chain(self, name: str, lines: list[str]) -> None:
        head = [line for line in lines if line.startswith("comment ")]
        self.chains[name] = Chain(head, [line for line in lines if line not in head])

    def affinity(self, name: str, timeout: int) -> None:
        self.sets[name] = Named("set", ["type ipv4_addr", "flags dynamic,timeout",
                                        f"timeout {timeout}s"])


class Renderer:
    """Builds the table, remembering each ServicePort's fragment: with 1000 Services,
    one that changed is rendered again, not all of them."""

    def __init__(self, config: RuleConfig):
        self.config = config
        self._fragments: dict[ServicePort, _Fragment] = {}

    def build(self, ports: list[ServicePort]) -> Table:
        """The table as data (network/nfttable.py): written whole, or diffed against
        the last version. Comments on the table and its chains never change; the
        elements' comments may."""
        table = _base_table(self.config)
        fragments: dict[ServicePort, _Fragment] = {}
        owners: dict[tuple[str, str], str] = {}
        for sp in sorted(ports, key=lambda p: p.key):
            fragment = self._fragments.get(sp)
            if fragment is None:
                fragment = _Fragment()
                _service_port(fragment, sp, self.config)
            fragments[sp] = fragment
            table.chains.update(fragment.chains)
            table.sets.update(fragment.sets)
            for name, key, verdict, owner in fragment.elements:
                # Two Services may claim one external address and port: the first keeps
                # it (a duplicate element would make nft refuse the whole table).
                if name != "cluster-ips" and (name, key) in owners:
                    log.warning("%s: %s is already taken by %s; ignored", owner, key,
                                owners[(name, key)])
                    continue
                owners[(name, key)] = owner
                table.sets[name].elements[key] = f' comment "{owner}"' + (
                    f" : {verdict}" if verdict else "")
        self._fragments = fragments
        for name, named in table.sets.items():
            order = (lambda k: _ip_order(k)) if name == "cluster-ips" else None
            named.elements = {k: named.elements[k] for k in sorted(named.elements, key=order)}
        return table


def build(ports: list[ServicePort], config: RuleConfig) -> Table:
    return Renderer(config).build(ports)


def render(ports: list[ServicePort], config: RuleConfig) -> str:
    """The table's body in nft's syntax."""
    return build(ports, config).body()


def _ip_order(ip: str):
    return tuple(int(part) for part in ip.split("."))


def _service_port(t: _Fragment, sp: ServicePort, config: RuleConfig) -> None:
    proto = sp.protocol.lower()
    t.element("cluster-ips", sp.cluster_ip, "", f"{sp.namespace}/{sp.service}")
    usable = sp.usable()
    external = bool(sp.node_port or sp.external_ips)
    if not usable:
        reject = "goto reject-chain"
        t.element("no-endpoint-services", f"{sp.cluster_ip} . {proto} . {sp.port}", reject,
                  sp.display)
        for ip in sp.external_ips:
            t.element("no-endpoint-services", f"{ip} . {proto} . {sp.port}", reject, sp.display)
        if sp.node_port:
            t.element("no-endpoint-nodeports", f"{proto} . {sp.node_port}", reject, sp.display)
        return
    t.element("service-ips", f"{sp.cluster_ip} . {proto} . {sp.port}",
              f"goto {svc_chain(sp)}", sp.display)
    lines = [f'comment "{sp.display} ({sp.protocol}): pick an endpoint"',
             f"ip daddr {sp.cluster_ip} {proto} dport {sp.port} ip saddr != "
             f"{config.cluster_cidr} jump mark-for-masquerade comment \"from outside the pod "
             f'network: replies must come back through this node"']
    t.chain(svc_chain(sp), lines + _pick(sp, usable))
    local = sp.usable(config.node_name) if sp.external_local else ()
    for ep in sorted(set(usable) | set(local)):
        _endpoint(t, sp, ep, proto)
    if external:
        for ip in sp.external_ips:
            t.element("service-ips", f"{ip} . {proto} . {sp.port}", f"goto {ext_chain(sp)}",
                      sp.display)
        if sp.node_port:
            t.element("service-nodeports", f"{proto} . {sp.node_port}", f"goto {ext_chain(sp)}",
                      sp.display)
        t.chain(ext_chain(sp), _external(sp, config))


def _pick(sp: ServicePort, endpoints: tuple[Endpoint, ...]) -> list[str]:
    """Rules choosing one of `endpoints`: a known client's endpoint, else a random one."""
    lines = []
    if sp.affinity_timeout:
        for ep in endpoints:
            lines.append(f"ip saddr @{affinity_set(sp, ep)} goto {ep_chain(sp, ep)}")
    if len(endpoints) == 1:
        return lines + [f"goto {ep_chain(sp, endpoints[0])}"]
    choices = ", ".join(f"{i} : goto {ep_chain(sp, ep)}" for i, ep in enumerate(endpoints))
    return lines + [f"numgen random mod {len(endpoints)} vmap {{ {choices} }}"]


def _endpoint(t: _Fragment, sp: ServicePort, ep: Endpoint, proto: str) -> None:
    lines = [f"ip saddr {ep.ip} jump mark-for-masquerade comment \"hairpin: the pod reaches "
             f'itself through its Service"']
    if sp.affinity_timeout:
        name = affinity_set(sp, ep)
        lines.append(f"update @{name} {{ ip saddr }}")
        t.affinity(name, sp.affinity_timeout)
    lines.append(f"meta l4proto {proto} dnat to {ep.ip}:{ep.port}")
    t.chain(ep_chain(sp, ep), lines)


def _external(sp: ServicePort, config: RuleConfig) -> list[str]:
    """The ext- chain: NodePort, external and load-balancer traffic. (Its comment
    stays the same whatever the policy: a chain's comment is written once.)"""
    head = f'comment "{sp.display}: NodePort, external and load-balancer traffic"'
    if not sp.external_local:
        return [head, 'jump mark-for-masquerade comment "externalTrafficPolicy Cluster: '
                'masquerade, then any endpoint"', f"goto {svc_chain(sp)}"]
    lines = [head,
             f'ip saddr {config.cluster_cidr} goto {svc_chain(sp)} comment "pods: as through '
             f'the ClusterIP"',
             "fib saddr type local jump mark-for-masquerade",
             f'fib saddr type local goto {svc_chain(sp)} comment "this node: as through the '
             f'ClusterIP"']
    local = sp.usable(config.node_name)
    if not local:
        return lines + ['drop comment "externalTrafficPolicy Local, and no endpoint on this '
                        'node"']
    return lines + _pick(sp, local)

"""Which traffic the NetworkPolicies allow, per pod of this node, as plain data (pure).

Kubernetes' rules, in the order they apply:

  * A pod is *isolated* for ingress (egress) when some NetworkPolicy of its
    namespace selects it (`spec.podSelector`, `{}` selects all) and lists
    Ingress (Egress) in `policyTypes`. A pod no policy isolates allows all.
  * An isolated pod allows what the union of those policies' rules allows;
    nothing else (policies only ever add allowances, their order is irrelevant).
  * A rule allows traffic from (to) any of its peers on any of its ports; a
    missing or empty `from`/`to` means every peer, missing or empty `ports`
    every port.
  * Peers: `podSelector` alone selects pods of the policy's namespace;
    `namespaceSelector` alone every pod of the namespaces it selects; both,
    the selected pods of the selected namespaces; `ipBlock` a CIDR minus its
    `except` CIDRs.
  * Ports: a number, a range (`port`..`endPort`), or a name: a named port is
    the container port of that name on the pod that receives the traffic - the
    isolated pod for ingress, each peer pod for egress (an ipBlock peer has no
    named ports).

Pods without an IP, with hostNetwork, or finished (Succeeded/Failed, whose IP
may already be someone else's) are neither enforced nor peers; of two pods
claiming one IP, the newer one counts. The result,
`PodRules`, is what rules.py renders: per pod, the allowed (peer, ports) pairs.
"""

from __future__ import annotations

import ipaddress
import logging
from dataclasses import dataclass

from supernetes.controlplane.api import selectors
from supernetes.controlplane.api.errors import SelectorError

log = logging.getLogger(__name__)

NAME_LABEL = "kubernetes.io/metadata.name"


@dataclass(frozen=True)
class PodInfo:
    namespace: str
    name: str
    ip: str
    node: str
    labels: dict
    ports: tuple[tuple[str, str, int], ...]      # (name, protocol, containerPort)
    created: str = ""                             # creationTimestamp (RFC 3339 sorts)

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"

    def named_port(self, name: str, protocol: str) -> int | None:
        for port_name, port_protocol, number in self.ports:
            if port_name == name and port_protocol == protocol:
                return number
        return None


@dataclass(frozen=True)
class Ports:
    """(protocol, first, last) triples; None means every port of every protocol."""
    ranges: tuple[tuple[str, int, int], ...] | None


@dataclass(frozen=True)
class Allow:
    """One allowance: from (to) these addresses, on these ports.

    `cidrs` is None for "every address"; `except_cidrs` only with an ipBlock;
    `by_address` lists (address, protocol, port) for egress named ports, which
    differ per peer pod."""
    policy: str                                   # namespace/name, for the comment
    rule: int
    cidrs: tuple[str, ...] | None
    except_cidrs: tuple[str, ...] = ()
    ports: Ports = Ports(None)
    by_address: tuple[tuple[str, str, int], ...] = ()


@dataclass(frozen=True)
class PodRules:
    pod: PodInfo
    ingress: tuple[Allow, ...] | None              # None: not isolated
    egress: tuple[Allow, ...] | None


def pod_info(pod: dict) -> PodInfo | None:
    meta, spec = pod.get("metadata") or {}, pod.get("spec") or {}
    status = pod.get("status") or {}
    ip = status.get("podIP")
    if not ip or spec.get("hostNetwork") or status.get("phase") in ("Succeeded", "Failed"):
        return None
    try:
        if ipaddress.ip_address(ip).version != 4:
            return None
    except ValueError:
        return None
    ports = tuple((p["name"], p.get("protocol", "TCP"), int(p["containerPort"]))
                  for c in spec.get("containers") or [] for p in c.get("ports") or []
                  if p.get("name") and p.get("containerPort"))
    return PodInfo(meta.get("namespace", ""), meta.get("name", ""), ip,
                   spec.get("nodeName") or "", dict(meta.get("labels") or {}), ports,
                   meta.get("creationTimestamp") or "")


def newest_per_address(pods: list[PodInfo]) -> list[PodInfo]:
    """One pod per IP: a deleted pod's object can outlive its sandbox while a new
    pod already has the address; the newest is the one using it."""
    by_ip: dict[str, PodInfo] = {}
    for pod in sorted(pods, key=lambda p: (p.created, p.key)):
        by_ip[pod.ip] = pod
    return list(by_ip.values())


def namespace_labels(ns: dict) -> dict:
    meta = ns.get("metadata") or {}
    return {NAME_LABEL: meta.get("name", ""), **(meta.get("labels") or {})}


def _selector(obj: dict | None) -> selectors.LabelSelector:
    return selectors.from_label_selector_object(obj)


class Cluster:
    """The pods and namespaces policies are evaluated against."""

    def __init__(self, pods: list[PodInfo], namespaces: dict[str, dict]):
        self.pods = pods
        self.namespaces = namespaces                 # name -> labels

    def peer_pods(self, policy_ns: str, peer: dict) -> list[PodInfo]:
        pod_sel, ns_sel = peer.get("podSelector"), peer.get("namespaceSelector")
        pods_match = _selector(pod_sel if pod_sel is not None else {})
        if ns_sel is None:
            spaces = {policy_ns}
        else:
            ns_match = _selector(ns_sel)
            spaces = {n for n, labels in self.namespaces.items() if ns_match.matches(labels)}
        return [p for p in self.pods if p.namespace in spaces and pods_match.matches(p.labels)]


def _ports(rule_ports: list | None, target: PodInfo | None) -> Ports | None:
    """The rule's ports as ranges (named ones resolved on `target`); None: none resolve."""
    if not rule_ports:
        return Ports(None)
    ranges = []
    for port in rule_ports:
        protocol = port.get("protocol", "TCP")
        value = port.get("port")
        if value is None:
            ranges += [(protocol, 0, 65535)]
        elif isinstance(value, int):
            ranges.append((protocol, value, int(port.get("endPort") or value)))
        elif target is not None and (number := target.named_port(value, protocol)):
            ranges.append((protocol, number, number))
    return Ports(tuple(ranges)) if ranges else None


def _allows(policy: dict, direction: str, target: PodInfo, cluster: Cluster) -> list[Allow]:
    meta = policy.get("metadata") or {}
    policy_ns, name = meta.get("namespace", ""), f"{meta.get('namespace')}/{meta.get('name')}"
    peers_key = "from" if direction == "ingress" else "to"
    found = []
    for i, rule in enumerate((policy.get("spec") or {}).get(direction) or []):
        peers = rule.get(peers_key) or []
        if direction == "ingress":
            ports = _ports(rule.get("ports"), target)
            if ports is None:
                continue
            if not peers:
                found.append(Allow(name, i, None, ports=ports))
            for peer in peers:
                block = peer.get("ipBlock")
                if block:
                    found.append(Allow(name, i, (block["cidr"],), tuple(block.get("except")
                                                                        or ()), ports))
                else:
                    ips = tuple(sorted(p.ip for p in cluster.peer_pods(policy_ns, peer)))
                    if ips:
                        found.append(Allow(name, i, ips, ports=ports))
            continue
        if not peers:
            # Every destination: named ports cannot be resolved per peer here, so
            # they are resolved on every pod that has them.
            found += _egress_to_pods(name, i, rule.get("ports"), cluster.pods, everywhere=True)
            continue
        for peer in peers:
            block = peer.get("ipBlock")
            if block:
                ports = _ports(rule.get("ports"), None)
                if ports is not None:
                    found.append(Allow(name, i, (block["cidr"],),
                                       tuple(block.get("except") or ()), ports))
            else:
                found += _egress_to_pods(name, i, rule.get("ports"),
                                         cluster.peer_pods(policy_ns, peer))
    return found


def _egress_to_pods(name: str, i: int, rule_ports: list | None, pods: list[PodInfo],
                    everywhere: bool = False) -> list[Allow]:
    """Allowances to `pods` (to anywhere, if `everywhere`): numbered ports as one
    allowance, named ones resolved on each pod as (address, protocol, port)."""
    rule_ports = rule_ports or []
    named = [p for p in rule_ports if isinstance(p.get("port"), str)]
    numbered = [p for p in rule_ports if not isinstance(p.get("port"), str)]
    allows = []
    if numbered or not named:
        cidrs = None if everywhere else tuple(sorted(p.ip for p in pods))
        if cidrs != ():
            allows.append(Allow(name, i, cidrs, ports=_ports(numbered, None) or Ports(None)))
    by_address = {(pod.ip, port.get("protocol", "TCP"), number)
                  for pod in pods for port in named
                  if (number := pod.named_port(port["port"], port.get("protocol", "TCP")))}
    if by_address:
        allows.append(Allow(name, i, (), by_address=tuple(sorted(by_address))))
    return allows


def _selects(spec: dict, pod: PodInfo) -> bool:
    try:
        return _selector(spec.get("podSelector") or {}).matches(pod.labels)
    except SelectorError:
        return False


def evaluate(policies: list[dict], pods: list[PodInfo], namespaces: dict[str, dict],
             node: str) -> list[PodRules]:
    """The rules of every pod on `node` that some policy isolates."""
    pods = newest_per_address(pods)
    cluster = Cluster(pods, namespaces)
    result = []
    for pod in sorted((p for p in pods if p.node == node), key=lambda p: p.key):
        ingress = egress = None
        for policy in policies:
            meta, spec = policy.get("metadata") or {}, policy.get("spec") or {}
            if meta.get("namespace") != pod.namespace or not _selects(spec, pod):
                continue
            types = spec.get("policyTypes") or ["Ingress"]
            try:
                more_in = _allows(policy, "ingress", pod, cluster)
                more_out = _allows(policy, "egress", pod, cluster)
            except (SelectorError, KeyError, TypeError, ValueError) as exc:
                # Fail closed: the pod is isolated as the policy says, allowed nothing more.
                log.warning("network policy %s/%s: %s; it allows nothing",
                            meta.get("namespace"), meta.get("name"), exc)
                more_in = more_out = []
            if "Ingress" in types:
                ingress = (ingress or ()) + tuple(more_in)
            if "Egress" in types:
                egress = (egress or ()) + tuple(more_out)
        if ingress is not None or egress is not None:
            result.append(PodRules(pod, ingress, egress))
    return result

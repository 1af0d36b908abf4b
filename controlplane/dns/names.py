"""What a query name asks for: the shapes of Kubernetes' DNS schema, parsed.

Pure string work, no cluster state: `parse(name, zone)` says which record the
name would be (if it existed), and `records.py` looks it up.

    cluster.local                                 Apex (SOA, NS)
    dns-version.cluster.local                     Version (TXT "1.1.0", the spec's)
    ns.dns.cluster.local                          NameServer (the kube-dns address)
    web.default.svc.cluster.local                 Service
    web-0.web.default.svc.cluster.local           Endpoint (a hostname or 10-244-1-5)
    _http._tcp.web.default.svc.cluster.local      Port (SRV of a named port)
    10-244-1-5.default.pod.cluster.local          Pod
    svc.cluster.local, default.svc.cluster.local,
    _tcp.web.default.svc.cluster.local, ...       Branch: a name with names below it
                                                  (NOERROR with no data, not NXDOMAIN)
    anything else under the zone                  Unknown (NXDOMAIN)
    5.1.244.10.in-addr.arpa                       Reverse (PTR, when the IP is ours)
    everything else                               Outside (forwarded upstream)

Names are compared in lower case (DNS is case-insensitive); the answer keeps the
asker's spelling.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

SPEC_VERSION = "1.1.0"
PROTOCOLS = {"_tcp": "TCP", "_udp": "UDP", "_sctp": "SCTP"}


@dataclass(frozen=True)
class Apex:
    pass


@dataclass(frozen=True)
class Version:
    pass


@dataclass(frozen=True)
class NameServer:
    pass


@dataclass(frozen=True)
class Service:
    namespace: str
    name: str


@dataclass(frozen=True)
class Endpoint:
    namespace: str
    service: str
    label: str                  # the endpoint's hostname, or its dashed IP


@dataclass(frozen=True)
class Port:
    namespace: str
    service: str
    port: str                   # the port's name, without the underscore
    protocol: str               # TCP, UDP or SCTP


@dataclass(frozen=True)
class Pod:
    namespace: str
    ip: str


@dataclass(frozen=True)
class Branch:
    """An empty non-terminal: it exists exactly when something below it does."""
    kind: str                   # "fixed" (svc, pod, dns), "namespace", "service"
    namespace: str = ""
    service: str = ""


@dataclass(frozen=True)
class Unknown:
    pass


@dataclass(frozen=True)
class Reverse:
    ip: str


@dataclass(frozen=True)
class Outside:
    pass


def dashed_ip(ip: str) -> str:
    return ip.replace(".", "-").replace(":", "-")


def undash_ip(label: str) -> str | None:
    """`10-244-1-5` -> `10.244.1.5`; None if the label is not a dashed IPv4 address."""
    text = label.replace("-", ".")
    try:
        return str(ipaddress.IPv4Address(text))
    except ValueError:
        return None


def parse(name: str, zone: str):
    name = name.lower().rstrip(".")
    if name == zone:
        return Apex()
    if not name.endswith("." + zone):
        return _reverse(name)
    labels = name[: -len(zone) - 1].split(".")
    top = labels[-1]
    if top == "svc":
        return _service_name(labels[:-1])
    if top == "pod":
        return _pod_name(labels[:-1])
    if labels == ["dns-version"]:
        return Version()
    if labels == ["dns"]:
        return Branch("fixed")
    if labels == ["ns", "dns"]:
        return NameServer()
    return Unknown()


def _service_name(labels: list[str]):
    if not labels:
        return Branch("fixed")
    namespace = labels[-1]
    if len(labels) == 1:
        return Branch("namespace", namespace)
    service = labels[-2]
    if len(labels) == 2:
        return Service(namespace, service)
    first = labels[-3]
    if len(labels) == 3:
        if first in PROTOCOLS:
            return Branch("service", namespace, service)
        return Endpoint(namespace, service, first)
    if len(labels) == 4 and first in PROTOCOLS and labels[0].startswith("_") \
            and len(labels[0]) > 1:
        return Port(namespace, service, labels[0][1:], PROTOCOLS[first])
    return Unknown()


def _pod_name(labels: list[str]):
    if not labels:
        return Branch("fixed")
    if len(labels) == 1:
        return Branch("namespace", labels[0])
    if len(labels) == 2:
        ip = undash_ip(labels[0])
        if ip is not None:
            return Pod(labels[1], ip)
    return Unknown()


def _reverse(name: str):
    if not name.endswith(".in-addr.arpa"):
        return Outside()
    octets = name.removesuffix(".in-addr.arpa").split(".")
    if len(octets) != 4:
        return Outside()
    try:
        return Reverse(str(ipaddress.IPv4Address(".".join(reversed(octets)))))
    except ValueError:
        return Outside()

"""The cluster DNS server's configuration: one object, filled by flags or a test.

    kubeconfig     how to reach the API server (the informers read Services,
                   EndpointSlices, Endpoints and Pods through the client package)
    bind, port     where to listen, UDP and TCP both (port 0: any free port)
    domain         the cluster domain (`cluster.local`), answered with authority
    ttl            seconds on every cluster answer; also the SOA minimum, so that a
                   negative answer is cached no longer than a positive one
    upstreams      where other names are forwarded (`IP` or `IP:PORT`); empty means
                   the nameservers of `resolv_conf`; none at all means such names
                   are REFUSED
    publish        keep the `kube-dns` Service (kube-system, ClusterIP `service_ip`)
                   and its endpoints pointing at `advertise:port`, so pods reach this
                   server through each node's service proxy
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from .errors import DNSConfigError

DNS_PORT = 53


@dataclass(frozen=True)
class Upstream:
    host: str
    port: int = DNS_PORT

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


def parse_address(text: str, default_port: int = DNS_PORT) -> Upstream:
    """`1.2.3.4`, `1.2.3.4:5353`, `[::1]:53` or `::1` -> Upstream; DNSConfigError if bad."""
    text = text.strip()
    host, port = text, default_port
    if text.startswith("["):
        host, closed, rest = text[1:].partition("]")
        if not closed:
            raise DNSConfigError(f"{text!r}: an unclosed [")
        if rest:
            port = _port(text, rest.removeprefix(":"))
    elif text.count(":") == 1:
        host, _, port_text = text.partition(":")
        port = _port(text, port_text)
    try:
        ipaddress.ip_address(host)
    except ValueError as exc:
        raise DNSConfigError(f"{text!r} is not an IP address (with an optional :port)") \
            from exc
    return Upstream(host, port)


def _port(text: str, port_text: str) -> int:
    if not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
        raise DNSConfigError(f"bad port in {text!r}")
    return int(port_text)


def read_resolv_conf(path: str) -> list[Upstream]:
    """The `nameserver` lines of a resolv.conf; a missing file has none."""
    found = []
    try:
        with open(path) as f:
            for line in f:
                words = line.split()
                if len(words) >= 2 and words[0] == "nameserver":
                    try:
                        found.append(parse_address(words[1]))
                    except DNSConfigError:
                        continue        # not an address: the resolver would skip it too
    except OSError:
        pass
    return found


@dataclass
class DNSConfig:
    kubeconfig: str | None = None
    bind: str = "0.0.0.0"
    port: int = DNS_PORT
    domain: str = "cluster.local"
    ttl: int = 5
    upstreams: tuple[str, ...] = ()
    resolv_conf: str | None = "/etc/resolv.conf"
    forward_timeout: float = 2.0          # per upstream try
    cache_size: int = 10000               # forwarded answers kept
    cache_max_ttl: int = 3600
    max_udp_size: int = 1232              # what we announce in EDNS (the DNS flag day's)
    publish: bool = True
    service_ip: str = "10.96.0.10"
    service_name: str = "kube-dns"
    service_namespace: str = "kube-system"
    advertise: str | None = None          # the address pods are sent to; None: bind's

    def validate(self) -> None:
        parse_address(self.bind, self.port)
        if not 0 <= self.port <= 65535:
            raise DNSConfigError(f"port {self.port} is out of range")
        labels = self.domain.strip(".").split(".")
        if not all(labels) or any(len(label) > 63 for label in labels):
            raise DNSConfigError(f"cluster domain {self.domain!r} is not a domain name")
        if self.ttl < 0 or self.ttl > 3600:
            raise DNSConfigError(f"ttl {self.ttl} must be within 0..3600 seconds")
        for text in self.upstreams:
            parse_address(text)
        for address in (self.service_ip, self.advertise):
            if address is not None:
                try:
                    ipaddress.ip_address(address)
                except ValueError as exc:
                    raise DNSConfigError(f"{address!r} is not an IP address") from exc

    @property
    def zone(self) -> str:
        """The domain in lower case, without the trailing dot."""
        return self.domain.strip(".").lower()

    def upstream_servers(self) -> list[Upstream]:
        if self.upstreams:
            return [parse_address(text) for text in self.upstreams]
        return read_resolv_conf(self.resolv_conf) if self.resolv_conf else []

    def published_address(self) -> str | None:
        """The endpoint the kube-dns Service gets: never loopback (a pod cannot be sent
        to its node's 127.0.0.1) nor the wildcard."""
        candidate = self.advertise or self.bind
        try:
            address = ipaddress.ip_address(candidate)
        except ValueError:
            return None
        if address.is_loopback or address.is_unspecified:
            return None
        return str(address)

"""Answers for the cluster zone, following Kubernetes' DNS specification (1.1.0).

`Zone.answer(qname, qtype)` turns a parsed name (names.py) and the cluster's state
(view.py) into the records of one response, or None when the name is not ours
(the server then forwards it upstream):

    Service, ClusterIP          A/AAAA: the ClusterIP
    Service, headless           A/AAAA: every ready endpoint's address
    Service, ExternalName       CNAME to spec.externalName (followed at once when
                                the target is a cluster name; the server resolves
                                an outside target upstream)
    SRV on a Service name       one record per port (CoreDNS answers it too)
    _port._proto.<service>      SRV: ClusterIP -> `0 100 <port> <svc>.<ns>.svc.<zone>`;
                                headless -> one per ready endpoint, target its
                                hostname (or dashed IP) below the Service, with the
                                addresses in the additional section
    <hostname>.<service>        A: the endpoint of a headless Service with that
                                hostname (pod spec.hostname + subdomain) or dashed IP
    <a-b-c-d>.<ns>.pod          A: when a pod in <ns> has that IP
    apex                        SOA, NS (ns.dns.<zone>, whose A is the DNS Service IP)
    dns-version                 TXT "1.1.0"
    PTR for a ClusterIP or an endpoint address    the names above; other addresses
                                                  are forwarded

A name that does not exist is NXDOMAIN; a name that exists without records of the
asked type (AAAA of an IPv4 Service, A of a namespace) is NOERROR with no answer.
Both carry the zone's SOA in the authority section, whose minimum (the TTL) bounds
how long a resolver caches the negative answer (RFC 2308).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

from dnslib import AAAA, CNAME, NS, PTR, QTYPE, RCODE, RR, SOA, SRV, TXT, A

from . import names

ADDRESS_TYPES = {QTYPE.A: 4, QTYPE.AAAA: 6}


@dataclass
class Answer:
    rcode: int = RCODE.NOERROR
    answer: list = field(default_factory=list)
    authority: list = field(default_factory=list)
    additional: list = field(default_factory=list)
    chase: str | None = None      # a CNAME target outside the zone, to resolve upstream


def _version(ip: str) -> int:
    return ipaddress.ip_address(ip).version


def _address_rr(name: str, ip: str, ttl: int) -> RR:
    rdata, rtype = (A(ip), QTYPE.A) if _version(ip) == 4 else (AAAA(ip), QTYPE.AAAA)
    return RR(name, rtype, ttl=ttl, rdata=rdata)


class Zone:
    def __init__(self, view, domain: str, ttl: int, service_ip: str,
                 dns_service: tuple[str, str] = ("kube-system", "kube-dns")):
        self.view = view
        self.zone = domain.strip(".").lower()
        self.ttl = ttl
        self.service_ip = service_ip
        self.dns_service = dns_service

    # -- the entry point -----------------------------------------------------------

    def answer(self, qname: str, qtype: int) -> Answer | None:
        parsed = names.parse(qname, self.zone)
        if isinstance(parsed, names.Outside):
            return None
        if isinstance(parsed, names.Reverse):
            return self._reverse(qname, qtype, parsed.ip)
        handler = getattr(self, "_" + type(parsed).__name__.lower())
        return handler(qname, qtype, parsed)

    # -- helpers -------------------------------------------------------------------

    def soa(self) -> RR:
        times = (self.view.serial, 7200, 1800, 86400, self.ttl)
        return RR(self.zone + ".", QTYPE.SOA, ttl=self.ttl,
                  rdata=SOA(f"ns.dns.{self.zone}.", f"hostmaster.{self.zone}.", times))

    def _empty(self, rcode: int = RCODE.NOERROR) -> Answer:
        return Answer(rcode, authority=[self.soa()])

    def _nxdomain(self) -> Answer:
        return self._empty(RCODE.NXDOMAIN)

    def _addresses(self, qname: str, qtype: int, ips: list[str]) -> Answer:
        wanted = {ADDRESS_TYPES[qtype]} if qtype in ADDRESS_TYPES else \
            {4, 6} if qtype == QTYPE.ANY else set()
        records = [_address_rr(qname, ip, self.ttl) for ip in dict.fromkeys(ips)
                   if _version(ip) in wanted]
        return Answer(answer=records) if records else self._empty()

    def _fqdn(self, *labels: str) -> str:
        return ".".join((*labels, self.zone)) + "."

    def _dns_ips(self) -> list[str]:
        svc = self.view.service(*self.dns_service)
        ips = [ip for ip in (svc or {}).get("spec", {}).get("clusterIPs") or () if ip != "None"]
        return ips or [self.service_ip]

    # -- the zone's own names ------------------------------------------------------

    def _apex(self, qname: str, qtype: int, _parsed) -> Answer:
        ns_name = self._fqdn("ns", "dns")
        ns = RR(qname, QTYPE.NS, ttl=self.ttl, rdata=NS(ns_name))
        glue = [_address_rr(ns_name, ip, self.ttl) for ip in self._dns_ips()]
        if qtype == QTYPE.SOA:
            return Answer(answer=[self.soa()])
        if qtype == QTYPE.NS:
            return Answer(answer=[ns], additional=glue)
        if qtype == QTYPE.ANY:
            return Answer(answer=[self.soa(), ns], additional=glue)
        return self._empty()

    def _version(self, qname: str, qtype: int, _parsed) -> Answer:
        if qtype in (QTYPE.TXT, QTYPE.ANY):
            return Answer(answer=[RR(qname, QTYPE.TXT, ttl=self.ttl,
                                     rdata=TXT(names.SPEC_VERSION))])
        return self._empty()

    def _nameserver(self, qname: str, qtype: int, _parsed) -> Answer:
        return self._addresses(qname, qtype, self._dns_ips())

    def _branch(self, qname: str, qtype: int, parsed: names.Branch) -> Answer:
        exists = {"fixed": True,
                  "namespace": self.view.has_namespace(parsed.namespace),
                  "service": self.view.service(parsed.namespace, parsed.service) is not None}
        return self._empty() if exists[parsed.kind] else self._nxdomain()

    def _unknown(self, qname: str, qtype: int, _parsed) -> Answer:
        return self._nxdomain()

    # -- Services --------------------------------------------------------------------

    def _service(self, qname: str, qtype: int, parsed: names.Service) -> Answer:
        svc = self.view.service(parsed.namespace, parsed.name)
        if svc is None:
            return self._nxdomain()
        spec = svc.get("spec") or {}
        if spec.get("type") == "ExternalName":
            return self._external_name(qname, qtype, spec.get("externalName", ""))
        if qtype == QTYPE.SRV:
            found = self._srv(parsed.namespace, parsed.name, svc, qname, None, None)
            return found if found.answer else self._empty()
        if spec.get("clusterIP") == "None":
            ready = [e.ip for e in self.view.service_endpoints(parsed.namespace, parsed.name)
                     if e.ready]
            return self._addresses(qname, qtype, ready)
        ips = [ip for ip in spec.get("clusterIPs") or [spec.get("clusterIP")]
               if ip and ip != "None"]
        return self._addresses(qname, qtype, ips)

    def _external_name(self, qname: str, qtype: int, target: str) -> Answer:
        target = target.rstrip(".") + "."
        cname = RR(qname, QTYPE.CNAME, ttl=self.ttl, rdata=CNAME(target))
        if qtype == QTYPE.CNAME:
            return Answer(answer=[cname])
        inside = names.parse(target, self.zone)
        if isinstance(inside, names.Outside | names.Reverse):
            return Answer(answer=[cname], chase=target)
        # A cluster name: followed here, one step, and only to a Service that is no
        # ExternalName itself (so two ExternalNames naming each other cannot loop).
        svc = self.view.service(inside.namespace, inside.name) \
            if isinstance(inside, names.Service) else None
        if svc is None or (svc.get("spec") or {}).get("type") == "ExternalName":
            return Answer(answer=[cname])
        inner = self._service(target, qtype, inside)
        return Answer(inner.rcode, [cname, *inner.answer], inner.authority, inner.additional)

    def _port(self, qname: str, qtype: int, parsed: names.Port) -> Answer:
        svc = self.view.service(parsed.namespace, parsed.service)
        if svc is None:
            return self._nxdomain()
        found = self._srv(parsed.namespace, parsed.service, svc, qname, parsed.port,
                          parsed.protocol)
        if not found.answer:
            return self._nxdomain()
        return found if qtype in (QTYPE.SRV, QTYPE.ANY) else self._empty()

    def _srv(self, namespace: str, name: str, svc: dict, qname: str,
             port_name: str | None, protocol: str | None) -> Answer:
        """SRV records for one named port (or all ports when port_name is None)."""
        spec = svc.get("spec") or {}
        ports = [p for p in spec.get("ports") or ()
                 if port_name is None or ((p.get("name") or "").lower() == port_name
                                          and (p.get("protocol") or "TCP") == protocol)]
        result = Answer()
        if spec.get("clusterIP") != "None":
            target = self._fqdn(name, namespace, "svc")
            ips = [ip for ip in spec.get("clusterIPs") or [spec.get("clusterIP")]
                   if ip and ip != "None"]
            for port in ports:
                result.answer.append(RR(qname, QTYPE.SRV, ttl=self.ttl,
                                        rdata=SRV(0, 100, port["port"], target)))
            if result.answer:
                result.additional = [_address_rr(target, ip, self.ttl) for ip in ips]
            return result
        wanted = {((p.get("name") or "").lower(), p.get("protocol") or "TCP") for p in ports}
        ready = [e for e in self.view.service_endpoints(namespace, name) if e.ready]
        records = []
        for endpoint in ready:
            target = self._fqdn(endpoint.hostname or names.dashed_ip(endpoint.ip), name,
                                namespace, "svc")
            for port_label, proto, number in endpoint.ports:
                if (port_label.lower(), proto) in wanted:
                    records.append((target, number, endpoint.ip))
        weight = max(1, 100 // len(records)) if records else 0
        for target, number, ip in records:
            result.answer.append(RR(qname, QTYPE.SRV, ttl=self.ttl,
                                    rdata=SRV(0, weight, number, target)))
            result.additional.append(_address_rr(target, ip, self.ttl))
        return result

    def _endpoint(self, qname: str, qtype: int, parsed: names.Endpoint) -> Answer:
        svc = self.view.service(parsed.namespace, parsed.service)
        if svc is None or (svc.get("spec") or {}).get("clusterIP") != "None":
            return self._nxdomain()
        ips = [e.ip for e in self.view.service_endpoints(parsed.namespace, parsed.service)
               if e.ready and parsed.label in (e.hostname.lower(), names.dashed_ip(e.ip))]
        return self._addresses(qname, qtype, ips) if ips else self._nxdomain()

    # -- pods and reverse lookups ----------------------------------------------------

    def _pod(self, qname: str, qtype: int, parsed: names.Pod) -> Answer:
        if not self.view.pod_has_ip(parsed.namespace, parsed.ip):
            return self._nxdomain()
        return self._addresses(qname, qtype, [parsed.ip])

    def _reverse(self, qname: str, qtype: int, ip: str) -> Answer | None:
        targets = []
        for svc in self.view.services_with_ip(ip):
            meta = svc.get("metadata") or {}
            targets.append(self._fqdn(meta.get("name", ""), meta.get("namespace", ""), "svc"))
        for es in self.view.slices_with_ip(ip):
            meta = es.get("metadata") or {}
            service = (meta.get("labels") or {}).get("kubernetes.io/service-name")
            svc = self.view.service(meta.get("namespace", ""), service or "")
            if svc is None or (svc.get("spec") or {}).get("clusterIP") != "None":
                continue
            for endpoint in es.get("endpoints") or ():
                if ip in (endpoint.get("addresses") or ()):
                    label = endpoint.get("hostname") or names.dashed_ip(ip)
                    targets.append(self._fqdn(label, service, meta.get("namespace", ""),
                                              "svc"))
        if not targets:
            return None
        if qtype not in (QTYPE.PTR, QTYPE.ANY):
            return Answer()
        return Answer(answer=[RR(qname, QTYPE.PTR, ttl=self.ttl, rdata=PTR(t))
                              for t in dict.fromkeys(targets)])

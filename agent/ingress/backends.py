"""A Service port -> the addresses to send a request to, and whose turn it is.

The proxy sends requests straight to the pods (as ingress-nginx does), not through
the ClusterIP: one hop less, and it can try the next pod when one refuses.

    resolve(service, slices, port)
      no such Service            -> Unavailable("service ns/web not found")
      ExternalName               -> Unavailable (not proxied)
      no such port on it         -> Unavailable("service ns/web has no port 8080")
      otherwise                  -> the ready endpoints' (ip, port), the port found in
                                    each EndpointSlice by the Service port's name (the
                                    endpoints controller already resolved named
                                    targetPorts), TCP only

`RoundRobin` hands out the endpoints of each backend in turn, so that successive
requests spread over the pods; a failed connection moves on to the next one.
"""

from __future__ import annotations

import itertools
import threading


class Unavailable(Exception):
    """The backend has nowhere to send a request; the message says why (the 503 page)."""


def service_port(service: dict, port: int | str) -> dict | None:
    for sp in (service.get("spec") or {}).get("ports") or ():
        if (isinstance(port, int) and sp.get("port") == port) or \
                (isinstance(port, str) and sp.get("name") == port):
            return sp
    return None


def resolve(service: dict | None, slices: list[dict], port: int | str,
            where: str) -> list[tuple[str, int]]:
    if service is None:
        raise Unavailable(f"service {where} not found")
    spec = service.get("spec") or {}
    if spec.get("type") == "ExternalName":
        raise Unavailable(f"service {where} is an ExternalName service, which the Ingress "
                          "proxy does not serve")
    sp = service_port(service, port)
    if sp is None or (sp.get("protocol") or "TCP") != "TCP":
        raise Unavailable(f"service {where} has no TCP port {port}")
    name = sp.get("name") or ""
    found: dict[tuple[str, int], None] = {}
    for es in sorted(slices, key=lambda s: (s.get("metadata") or {}).get("name", "")):
        if es.get("addressType", "IPv4") not in ("IPv4", "IPv6"):
            continue
        number = next((p.get("port") for p in es.get("ports") or ()
                       if (p.get("name") or "") == name and
                       (p.get("protocol") or "TCP") == "TCP"), None)
        if not number:
            continue
        for endpoint in es.get("endpoints") or ():
            if (endpoint.get("conditions") or {}).get("ready") is False:
                continue
            for address in (endpoint.get("addresses") or ())[:1]:
                found[(address, number)] = None
    if not found:
        raise Unavailable(f"service {where} has no ready endpoint")
    return list(found)


class RoundRobin:
    def __init__(self):
        self._counters: dict[str, itertools.count] = {}
        self._lock = threading.Lock()

    def order(self, key: str, endpoints: list[tuple[str, int]]) -> list[tuple[str, int]]:
        """All endpoints, starting with the one whose turn it is."""
        with self._lock:
            counter = self._counters.setdefault(key, itertools.count())
            start = next(counter) % len(endpoints)
        return endpoints[start:] + endpoints[:start]

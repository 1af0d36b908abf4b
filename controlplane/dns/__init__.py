"""SuperDNS: the cluster DNS server (what CoreDNS is to Kubernetes).

Pods resolve `web`, `web.default`, `web.default.svc.cluster.local` (through the
search path their node agent writes into /etc/resolv.conf), headless Services to
their ready pods, SRV records for named ports and `1-2-3-4.ns.pod.cluster.local`;
every other name goes to the node's upstream resolver. The server reads the
cluster through the client package only, so it runs inside `supernetes server`
(a component, like the scheduler) or on its own (`supernetes dns`).

    config     DNSConfig: address, domain, TTL, upstreams, the kube-dns Service
    names      a query name -> which kind of cluster name it is (pure)
    view       informers on Services, EndpointSlices, Endpoints and Pods
    records    the cluster zone's answers (Kubernetes' DNS spec)
    cache      forwarded answers kept as wire bytes, served with aged TTLs
    forward    the upstream resolvers: UDP, TCP on truncation, one query in flight
    server     UDP + TCP on an asyncio loop; truncation; response codes
    publish    the kube-dns Service and its endpoints pointing at this server
    errors     DNSError > DNSConfigError, DNSBindError

`run(config, stop)` blocks until `stop` is set; `ClusterDNS(client, config)` is
the same as an object (tests, the embedded component).
"""

from __future__ import annotations

import logging
import threading

from supernetes.controlplane.client import Client

from .config import DNSConfig
from .errors import DNSBindError, DNSConfigError, DNSError
from .publish import Publisher
from .records import Zone
from .server import DNSServer
from .view import ClusterView

log = logging.getLogger(__name__)

__all__ = ["ClusterDNS", "DNSBindError", "DNSConfig", "DNSConfigError", "DNSError",
           "DNSServer", "run"]


class ClusterDNS:
    """The view, the server and the publisher, started and stopped together."""

    def __init__(self, client, config: DNSConfig, sockets: tuple | None = None):
        config.validate()
        self.client = client
        self.config = config
        self.view = ClusterView(client)
        self.zone = Zone(self.view, config.domain, config.ttl, config.service_ip,
                         (config.service_namespace, config.service_name))
        self.server = DNSServer(config, self.zone, sockets)
        self.publisher: Publisher | None = None

    @property
    def port(self) -> int:
        return self.server.port

    def start(self, sync_timeout: float = 60.0) -> ClusterDNS:
        if not self.view.start(sync_timeout):
            log.warning("cluster DNS: the informers did not sync within %.0f s; answering "
                        "from what they have", sync_timeout)
        try:
            self.server.start()
        except DNSError:
            self.view.stop()
            raise
        if self.config.publish:
            self.publisher = Publisher(
                self.client, name=self.config.service_name,
                namespace=self.config.service_namespace, service_ip=self.config.service_ip,
                address=self.config.published_address(), port=self.server.port)
            self.view.on_change(self.publisher.changed)
            self.publisher.start()
        return self

    def stop(self) -> None:
        if self.publisher is not None:
            self.publisher.stop()
        self.server.stop()
        self.view.stop()


def run(config: DNSConfig, stop: threading.Event | None = None) -> None:
    """Serve until `stop` is set (or forever)."""
    stop = stop or threading.Event()
    with Client.from_kubeconfig(config.kubeconfig) as client:
        dns = ClusterDNS(client, config).start()
        try:
            stop.wait()
        finally:
            dns.stop()

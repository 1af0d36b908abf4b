"""The Ingress controller: networking.k8s.io/v1 Ingress rules served by every Superlet.

Each node agent runs a small HTTP/1.1 reverse proxy on a node port (80 by
default) that sends requests for the hosts and paths of the cluster's Ingresses
straight to the ready pods of the Services they name, as ingress-nginx run as a
DaemonSet with hostPort does. Ours are the Ingresses of class `supernetes` (the
cluster's default class, which the API server creates).

    routes       Ingresses + IngressClasses -> a routing table (pure)
    backends     a Service port -> its ready endpoints; round robin
    http1        message heads and streamed bodies
    upstream     keep-alive connections to the pods
    proxy        the asyncio reverse proxy: 404, 502, 503, 504 pages, WebSockets
    status       status.loadBalancer.ingress: the nodes that serve Ingress
    controller   IngressController(client, IngressConfig): all of the above
    errors       IngressError > IngressBindError
"""

from .controller import IngressConfig, IngressController
from .errors import IngressBindError, IngressError

__all__ = ["IngressBindError", "IngressConfig", "IngressController", "IngressError"]

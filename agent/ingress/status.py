"""Ingress status: the addresses that serve an Ingress, in status.loadBalancer.ingress.

Every Superlet runs the Ingress proxy, so an Ingress is reachable on every node
that runs it. Each node says so by an annotation on its own Node
(`ingress.supernetes.io/http-port: "80"`, set once its listener is up), and the
addresses are the InternalIPs of the Ready Nodes carrying it, sorted. Every
node's controller computes the same list from the same Nodes and writes it only
where an Ingress shows something else, so they agree without electing a leader
(a node whose view lags for a moment writes once more when it catches up).
`kubectl get ingress` then shows the ADDRESS column as it would in Kubernetes.
"""

from __future__ import annotations

import logging

from supernetes.controlplane.client import ApiError, ClientError

log = logging.getLogger(__name__)

PORT_ANNOTATION = "ingress.supernetes.io/http-port"


def _ready(node: dict) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in (node.get("status") or {}).get("conditions") or ())


def _internal_ip(node: dict) -> str | None:
    addresses = (node.get("status") or {}).get("addresses") or ()
    for kind in ("InternalIP", "ExternalIP"):
        for address in addresses:
            if address.get("type") == kind and address.get("address"):
                return address["address"]
    return None


def serving_addresses(nodes: list[dict]) -> list[str]:
    found = {_internal_ip(n) for n in nodes if _ready(n) and
             PORT_ANNOTATION in ((n.get("metadata") or {}).get("annotations") or {})}
    return sorted(a for a in found if a)


def load_balancer(addresses: list[str], port: int) -> list[dict]:
    ports = [] if port == 80 else [{"port": port, "protocol": "TCP"}]
    return [dict({"ip": a}, **({"ports": ports} if ports else {})) for a in addresses]


def announce(client, node_name: str, port: int) -> None:
    """Mark our Node as serving Ingress on `port`."""
    client.patch("v1", "Node", node_name,
                 {"metadata": {"annotations": {PORT_ANNOTATION: str(port)}}},
                 patch_type="merge")


def publish(client, ingresses: list[dict], wanted: list[dict]) -> int:
    """Write `wanted` into every Ingress that shows something else; how many were written."""
    resource = client.resource("networking.k8s.io/v1", "Ingress")
    written = 0
    for ing in ingresses:
        current = ((ing.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
        if current == wanted:
            continue
        meta = ing.get("metadata") or {}
        try:
            resource.patch(meta.get("name"), {"status": {"loadBalancer": {"ingress": wanted}}},
                           meta.get("namespace"), patch_type="merge", subresource="status")
            written += 1
        except ApiError as exc:
            if exc.code != 404:                 # deleted meanwhile: nothing to say
                log.warning("ingress %s/%s status: %s", meta.get("namespace"),
                            meta.get("name"), exc.message)
        except ClientError as exc:
            log.warning("ingress status: %s", exc)
            break
    return written

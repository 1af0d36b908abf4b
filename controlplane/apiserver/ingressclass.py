"""The built-in IngressClass `supernetes`: the class every node's Ingress proxy serves.

On start the server makes sure an IngressClass named `supernetes` exists, with
controller `supernetes.io/ingress-controller` and marked the cluster's default
class (so an Ingress that names no class is served, as k3s does with Traefik).
It is created once and never rewritten: a user may edit it (say, drop the
default mark) or delete it and the change stays until the next server start.
"""

from __future__ import annotations

import logging

from ..api import registry
from . import errors, namespaces, objects, resources

log = logging.getLogger(__name__)

NAME = "supernetes"
CONTROLLER = "supernetes.io/ingress-controller"
DEFAULT_ANNOTATION = "ingressclass.kubernetes.io/is-default-class"


def ensure_default_class(server) -> None:
    rt = registry.lookup("networking.k8s.io", "v1", "ingressclasses")
    if server.store.get(objects.key(rt, None, NAME)) is not None:
        return
    body = {"apiVersion": "networking.k8s.io/v1", "kind": "IngressClass",
            "metadata": {"name": NAME, "annotations": {DEFAULT_ANNOTATION: "true"},
                         "labels": {"app.kubernetes.io/managed-by": "supernetes"}},
            "spec": {"controller": CONTROLLER}}
    try:
        resources.create(namespaces._ctx(server, rt), body)
    except errors.ApiError as exc:
        if exc.code != 409:                   # another API server made it first
            log.warning("the %s IngressClass: %s", NAME, exc.message)

"""Authorization: may this user do this verb on this resource?

Roles (see `auth.py` for how a user gets one):

    admin      everything
    viewer     get, list, watch on everything but secrets and the subresources that
               reach into workloads (exec, attach, portforward, proxy), as
               Kubernetes' `view` role; it may read pods/log and nodes' stats/metrics
    node       Kubernetes' Node authorizer + NodeRestriction, for system:node:<name>:
               - nodes: read all (not their proxy); create, update, patch, delete
                 only its own Node (and its status)
               - leases in kube-node-lease: only the one named after it
               - pods: read all; update/patch the status of, and delete, only pods
                 bound to it (spec.nodeName); nothing else
               - configmaps, secrets, persistentvolumeclaims, serviceaccounts: get
                 (or list/watch pinned to one name with fieldSelector
                 metadata.name=...) only those a pod bound to it refers to
               - services, endpoints, endpointslices, namespaces, networkpolicies:
                 read (the node's service proxy and network-policy enforcer)
               - ingresses and ingressclasses: read; ingresses/status: update,
                 patch (every node runs an Ingress proxy, agent/ingress, and
                 publishes the nodes serving it in the Ingress' status)
               - events: create, update, patch
    bootstrap  nothing but the join endpoint

Refusals are 403 Status objects in Kubernetes' words. The pods a node runs are
read from the watch cache, so this check costs no store round trip.
"""

from __future__ import annotations

from ..api import registry
from . import errors, objects

READ = frozenset({"get", "list", "watch"})
# Subresources that run something in a container: authorised as `create`.
CONNECT = frozenset({"exec", "attach", "portforward"})
_NOT_VIEWABLE = CONNECT | {"proxy"}
NODE_LEASE_NAMESPACE = "kube-node-lease"
# What each node's service proxy and network-policy enforcer watch.
_NODE_READABLE = {("", "services"), ("", "endpoints"), ("", "namespaces"),
                  ("discovery.k8s.io", "endpointslices"),
                  ("networking.k8s.io", "networkpolicies")}
_INGRESS = ("networking.k8s.io", "ingresses")
_INGRESS_CLASSES = ("networking.k8s.io", "ingressclasses")
_POD_REFERENCED = {("", "configmaps"), ("", "secrets"), ("", "persistentvolumeclaims"),
                   ("", "serviceaccounts")}


def verb_of(method: str, collection: bool, watch: bool) -> str:
    if method in ("GET", "HEAD"):
        if watch:
            return "watch"
        return "list" if collection else "get"
    if method == "POST":
        return "create"
    if method == "PUT":
        return "update"
    if method == "PATCH":
        return "patch"
    if method == "DELETE":
        return "deletecollection" if collection else "delete"
    return method.lower()


def authorize(server, user, verb: str, rt, namespace: str | None, name: str | None,
              sub: str | None, pinned_name: str | None = None) -> None:
    """Raise a 403 ApiError unless `user` may do this."""
    if user.role == "admin":
        return
    resource = rt.plural + (f"/{sub}" if sub else "")
    if user.role == "viewer" and verb in READ and rt.plural != "secrets" and \
            sub not in _NOT_VIEWABLE:
        return
    if user.role == "node" and _node_allows(server, user.node, verb, rt, namespace, name, sub,
                                            pinned_name):
        return
    raise errors.forbidden(user.name, verb, resource, rt.group, name or "", namespace or "")


def _node_allows(server, node: str, verb: str, rt, namespace, name, sub, pinned) -> bool:
    what = (rt.group, rt.plural)
    if what == ("", "nodes"):
        return (verb in READ and sub in (None, "status")) or \
            (verb in ("create", "update", "patch", "delete") and name == node)
    if what == ("coordination.k8s.io", "leases"):
        return namespace == NODE_LEASE_NAMESPACE and name == node
    if what == ("", "pods"):
        if verb in READ and sub in (None, "status"):
            return True
        if (sub == "status" and verb in ("update", "patch")) or (sub is None and
                                                                 verb == "delete"):
            return _pod_node(server, namespace, name) == node
        return False
    if what in _NODE_READABLE:
        return verb in READ
    if what in (_INGRESS, _INGRESS_CLASSES):
        return (verb in READ and sub is None) or (
            what == _INGRESS and sub == "status" and verb in ("get", "update", "patch"))
    if what in (("", "events"), ("events.k8s.io", "events")):
        return verb in ("create", "update", "patch")
    if what in _POD_REFERENCED:
        target = name if verb == "get" else pinned if verb in ("list", "watch") else None
        return target is not None and _referenced(server, node, namespace, rt.plural, target)
    return False


def _pod_node(server, namespace: str, name: str) -> str | None:
    rt = registry.lookup("", "v1", "pods")
    entry = server.cacher.for_type(rt).state.get(objects.key(rt, namespace, name))
    return entry.fields.get("spec.nodeName") if entry is not None else None


def _referenced(server, node: str, namespace: str, plural: str, target: str) -> bool:
    rt = registry.lookup("", "v1", "pods")
    cache = server.cacher.for_type(rt)
    for entry in list(cache.state.values()):
        if entry.namespace == namespace and entry.fields.get("spec.nodeName") == node \
                and target in pod_references(entry.object()).get(plural, ()):
            return True
    return False


def pod_references(pod: dict) -> dict[str, set[str]]:
    """The configmaps, secrets, claims and service account a pod refers to."""
    refs: dict[str, set[str]] = {"configmaps": set(), "secrets": set(),
                                 "persistentvolumeclaims": set(), "serviceaccounts": set()}
    spec = pod.get("spec") or {}
    refs["serviceaccounts"].add(spec.get("serviceAccountName") or "default")
    for secret in spec.get("imagePullSecrets") or ():
        refs["secrets"].add(secret.get("name", ""))
    for volume in spec.get("volumes") or ():
        if "configMap" in volume:
            refs["configmaps"].add(volume["configMap"].get("name", ""))
        if "secret" in volume:
            refs["secrets"].add(volume["secret"].get("secretName", ""))
        if "persistentVolumeClaim" in volume:
            refs["persistentvolumeclaims"].add(volume["persistentVolumeClaim"].get(
                "claimName", ""))
        for source in (volume.get("projected") or {}).get("sources") or ():
            if "configMap" in source:
                refs["configmaps"].add(source["configMap"].get("name", ""))
            if "secret" in source:
                refs["secrets"].add(source["secret"].get("name", ""))
    containers = [*(spec.get("containers") or ()), *(spec.get("initContainers") or ()),
                  *(spec.get("ephemeralContainers") or ())]
    for container in containers:
        for env in container.get("env") or ():
            source = env.get("valueFrom") or {}
            if "configMapKeyRef" in source:
                refs["configmaps"].add(source["configMapKeyRef"].get("name", ""))
            if "secretKeyRef" in source:
                refs["secrets"].add(source["secretKeyRef"].get("name", ""))
        for env_from in container.get("envFrom") or ():
            if "configMapRef" in env_from:
                refs["configmaps"].add(env_from["configMapRef"].get("name", ""))
            if "secretRef" in env_from:
                refs["secrets"].add(env_from["secretRef"].get("name", ""))
    return refs

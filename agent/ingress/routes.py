"""Ingress rules -> a routing table: which Service port a (host, path) goes to.

Pure functions of API objects, so every rule of the Ingress specification is
unit-tested without a network:

    which Ingresses    those whose spec.ingressClassName names one of our classes
                       (an IngressClass whose spec.controller is ours, or our own
                       class name), the legacy `kubernetes.io/ingress.class`
                       annotation, and those naming no class when one of ours is
                       the cluster's default class
    host               exact (case-insensitive, the port dropped) before a wildcard
                       `*.example.com` (one label exactly); a host with rules uses
                       only its own paths; any other host uses the rules that name
                       no host
    path               the longest matching path wins; on a tie Exact beats Prefix,
                       then the oldest Ingress. Prefix matches whole path elements
                       (`/foo` matches `/foo`, `/foo/` and `/foo/bar`, never
                       `/foobar`; a trailing slash in the rule is ignored);
                       ImplementationSpecific is treated as Prefix; the query string
                       is never part of the path
    nothing matched    the oldest of our Ingresses' spec.defaultBackend, else none
                       (the proxy answers 404)
"""

from __future__ import annotations

from dataclasses import dataclass, field

CLASS_ANNOTATION = "kubernetes.io/ingress.class"
DEFAULT_CLASS_ANNOTATION = "ingressclass.kubernetes.io/is-default-class"


@dataclass(frozen=True)
class Backend:
    namespace: str
    service: str
    port: int | str               # the Service port's number or name
    ingress: str                  # namespace/name of the Ingress that asked for it

    def __str__(self) -> str:
        return f"{self.namespace}/{self.service}:{self.port}"


@dataclass(frozen=True)
class PathRule:
    path: str                     # as written; Prefix rules compare it without a trailing /
    exact: bool
    backend: Backend
    age: tuple                    # (creationTimestamp, namespace/name): older sorts first

    def matches(self, path: str) -> bool:
        if self.exact:
            return path == self.path
        prefix = self.path.rstrip("/")
        return not prefix or path == prefix or path.startswith(prefix + "/")

    def order(self) -> tuple:
        return (-len(self.path.rstrip("/") if not self.exact else self.path),
                not self.exact, self.age)


@dataclass
class RouteTable:
    hosts: dict[str, list[PathRule]] = field(default_factory=dict)
    wildcards: dict[str, list[PathRule]] = field(default_factory=dict)  # key: "example.com"
    any_host: list[PathRule] = field(default_factory=list)
    default: Backend | None = None
    ingresses: tuple[str, ...] = ()           # the Ingresses served, namespace/name

    def route(self, host: str, path: str) -> Backend | None:
        host = normalize_host(host)
        rules = self.hosts.get(host)
        if rules is None and "." in host:
            label, _, parent = host.partition(".")
            rules = self.wildcards.get(parent) if label else None
        if rules is None:
            rules = self.any_host
        path = path.split("?", 1)[0] or "/"
        for rule in rules:
            if rule.matches(path):
                return rule.backend
        return self.default


def normalize_host(host: str) -> str:
    host = host.strip().lower()
    if host.startswith("["):                     # [::1]:8080
        return host.partition("]")[0] + "]"
    return host.rpartition(":")[0] if host.count(":") == 1 else host.rstrip(".")


def _meta(obj: dict) -> dict:
    return obj.get("metadata") or {}


def our_classes(classes: list[dict], controller: str, class_name: str) -> tuple[set, bool]:
    """(names of the classes we serve, whether one of them is the default class)."""
    names, default = {class_name}, False
    for ic in classes:
        if (ic.get("spec") or {}).get("controller") == controller:
            names.add(_meta(ic).get("name"))
            if (_meta(ic).get("annotations") or {}).get(DEFAULT_CLASS_ANNOTATION) == "true":
                default = True
    return names, default


def is_ours(ing: dict, names: set, default: bool) -> bool:
    wanted = (ing.get("spec") or {}).get("ingressClassName") or \
        (_meta(ing).get("annotations") or {}).get(CLASS_ANNOTATION)
    return wanted in names if wanted else default


def _backend(ing: dict, backend: dict | None) -> Backend | None:
    service = (backend or {}).get("service")
    if not service:
        return None            # a `resource` backend: nothing a proxy can send traffic to
    port = service.get("port") or {}
    meta = _meta(ing)
    return Backend(meta.get("namespace", ""), service.get("name", ""),
                   port.get("number") or port.get("name") or 0,
                   f"{meta.get('namespace')}/{meta.get('name')}")


def build(ingresses: list[dict], names: set, default: bool) -> RouteTable:
    table = RouteTable()
    served = sorted((i for i in ingresses if is_ours(i, names, default)),
                    key=lambda i: (_meta(i).get("creationTimestamp") or "",
                                   _meta(i).get("namespace", ""), _meta(i).get("name", "")))
    for ing in served:
        meta = _meta(ing)
        age = (meta.get("creationTimestamp") or "", f"{meta.get('namespace')}/{meta.get('name')}")
        spec = ing.get("spec") or {}
        if table.default is None:
            table.default = _backend(ing, spec.get("defaultBackend"))
        for rule in spec.get("rules") or ():
            host = normalize_host(rule.get("host") or "")
            if not host:
                target = table.any_host
            elif host.startswith("*."):
                target = table.wildcards.setdefault(host[2:], [])
            else:
                target = table.hosts.setdefault(host, [])
            for entry in (rule.get("http") or {}).get("paths") or ():
                backend = _backend(ing, entry.get("backend"))
                if backend is not None:
                    target.append(PathRule(entry.get("path") or "/",
                                           entry.get("pathType") == "Exact", backend, age))
    for rules in (*table.hosts.values(), *table.wildcards.values(), table.any_host):
        rules.sort(key=PathRule.order)
    table.ingresses = tuple(f"{_meta(i).get('namespace')}/{_meta(i).get('name')}"
                            for i in served)
    return table

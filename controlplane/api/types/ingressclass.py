"""networking.k8s.io/v1 IngressClass: which controller serves an Ingress.

An Ingress names its class in `spec.ingressClassName`; the IngressClass says which
controller implements it (`spec.controller`, a domain-prefixed path such as
`supernetes.io/ingress-controller`, immutable once set). The annotation
`ingressclass.kubernetes.io/is-default-class: "true"` makes a class the one for
Ingresses that name none. Cluster-scoped, no status.
"""

from __future__ import annotations

from .. import errors, tables
from .. import validation as v
from ..registry import ResourceType, register
from ..schema import STRING, Field, Struct
from .metav1 import top_level

NET = "io.k8s.api.networking.v1."
DEFAULT_CLASS_ANNOTATION = "ingressclass.kubernetes.io/is-default-class"

INGRESS_CLASS = top_level(NET + "IngressClass", "IngressClass represents the class of the "
                          "Ingress, referenced by the Ingress Spec.",
                          ("networking.k8s.io", "v1", "IngressClass"),
    Struct(NET + "IngressClassSpec", "IngressClassSpec provides information about the class "
           "of an Ingress.", {
        "controller": Field(STRING, "controller refers to the name of the controller that "
                            "should handle this class, e.g. \"supernetes.io/ingress-"
                            "controller\". It must be a domain-prefixed path and is "
                            "immutable."),
        "parameters": Field(Struct(NET + "IngressClassParametersReference", "a reference to "
                                   "a resource with additional configuration for the "
                                   "controller.", {
            "apiGroup": Field(STRING, "apiGroup is the group for the resource being "
                              "referenced."),
            "kind": Field(STRING, "kind is the type of resource being referenced.",
                          required=True),
            "name": Field(STRING, "name is the name of resource being referenced.",
                          required=True),
            "scope": Field(STRING, "scope represents if this refers to a cluster or "
                           "namespace scoped resource: \"Cluster\" or \"Namespace\"."),
            "namespace": Field(STRING, "namespace of the resource being referenced, when "
                               "scope is \"Namespace\"."),
        }), "parameters is a link to a custom resource containing additional configuration "
            "for the controller."),
    }), spec_doc="spec is the desired state of the IngressClass.")


def _controller(path: str, value: str) -> list:
    if not value:
        return []
    domain, slash, rest = value.partition("/")
    if not slash or not rest or v.dns1123_subdomain(domain) or len(value) > 250:
        return [errors.invalid(path, value, "must be a domain-prefixed path (such as "
                               "\"acme.io/foo\")")]
    return []


def validate(obj: dict, old: dict | None = None, subresource: str = "") -> list:
    found = v.meta_for(obj, old, namespaced=False)
    spec = obj.get("spec") or {}
    found += _controller("spec.controller", spec.get("controller") or "")
    if old is not None:
        found += v.immutable("spec.controller", spec.get("controller"),
                             (old.get("spec") or {}).get("controller"))
    parameters = spec.get("parameters")
    if parameters is not None:
        scope = parameters.get("scope", "Cluster")
        found += v.one_of("spec.parameters.scope", scope, ["Cluster", "Namespace"])
        if scope == "Namespace" and not parameters.get("namespace"):
            found.append(errors.required("spec.parameters.namespace", "`parameters.scope` is "
                                         "set to 'Namespace'"))
    return found


def _row(obj: dict) -> list:
    spec = obj.get("spec") or {}
    parameters = spec.get("parameters") or {}
    shown = f"{parameters.get('kind')}/{parameters.get('name')}" if parameters else "<none>"
    return [tables.name(obj), spec.get("controller", ""), shown, tables.age(obj)]


INGRESS_CLASSES = register(ResourceType(
    "networking.k8s.io", "v1", "IngressClass", "ingressclasses", "ingressclass", False,
    INGRESS_CLASS, has_status=False, validator=validate,
    tabler=lambda objs, wide=True: tables.build(
        [tables.NAME, tables.column("Controller", "string", "Controller that is going to "
                                    "handle this class"),
         tables.column("Parameters", "string", "A reference to a resource with additional "
                       "parameters"), tables.AGE], _row, objs, wide)))

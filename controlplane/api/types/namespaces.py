"""core/v1 Namespace: a cluster-scoped name space for namespaced objects.

Defaulting labels every named namespace `kubernetes.io/metadata.name=<name>`;
creation sets `spec.finalizers: [kubernetes]` and `status.phase: Active`, as
Kubernetes' namespace strategy does (the namespace controller empties a
Terminating namespace, then drops the finalizer).
"""

from __future__ import annotations

from .. import tables
from .. import validation as v
from ..registry import ResourceType, register
from ..schema import STRING, TIME, Field, ListOf, Struct
from .metav1 import top_level

CORE = "io.k8s.api.core.v1."
NAME_LABEL = "kubernetes.io/metadata.name"

NAMESPACE_CONDITION = Struct(CORE + "NamespaceCondition", "NamespaceCondition contains "
                             "details about state of namespace.", {
    "type": Field(STRING, "Type of namespace controller condition.", required=True),
    "status": Field(STRING, "Status of the condition, one of True, False, Unknown.",
                    required=True),
    "lastTransitionTime": Field(TIME, "Last time the condition transitioned from one status "
                                "to another."),
    "reason": Field(STRING, "Unique, one-word, CamelCase reason for the condition's last "
                    "transition."),
    "message": Field(STRING, "Human-readable message indicating details about last "
                     "transition."),
})

NAMESPACE = top_level(CORE + "Namespace", "Namespace provides a scope for Names. Use of "
                      "multiple namespaces is optional.", ("", "v1", "Namespace"),
    Struct(CORE + "NamespaceSpec", "NamespaceSpec describes the attributes on a Namespace.", {
        "finalizers": Field(ListOf(STRING, list_type="atomic"), "Finalizers is an opaque "
                            "list of values that must be empty to permanently remove object "
                            "from storage."),
    }),
    Struct(CORE + "NamespaceStatus", "NamespaceStatus is information about the current "
           "status of a Namespace.", {
        "phase": Field(STRING, "Phase is the current lifecycle phase of the namespace: "
                       "Active or Terminating."),
        "conditions": Field(ListOf(NAMESPACE_CONDITION, merge_key="type", strategy="merge",
                                   list_type="map", map_keys=("type",)),
                            "Represents the latest available observations of a namespace's "
                            "current state."),
    }),
    "Spec defines the behavior of the Namespace.",
    "Status describes the current status of a Namespace.")


def default(ns: dict) -> None:
    meta = ns.setdefault("metadata", {})
    if isinstance(meta, dict) and meta.get("name"):
        labels = meta.get("labels")
        if not isinstance(labels, dict):
            labels = meta["labels"] = {}
        labels[NAME_LABEL] = meta["name"]
    status = ns.get("status")
    if isinstance(status, dict) and not status.get("phase"):
        status["phase"] = "Active"


def prepare(ns: dict, old: dict | None) -> None:
    if old is None:
        finalizers = ns.setdefault("spec", {}).setdefault("finalizers", [])
        if "kubernetes" not in finalizers:
            finalizers.append("kubernetes")
        ns["status"] = {"phase": "Active"}


def validate(ns: dict, old: dict | None = None, subresource: str = "") -> list:
    found = v.meta_for(ns, old, namespaced=False, check_name=v.dns1123_label)
    status = ns.get("status") or {}
    if status.get("phase"):
        found += v.one_of("status.phase", status["phase"], ["Active", "Terminating"])
    for i, fin in enumerate((ns.get("spec") or {}).get("finalizers") or []):
        found += v.each(f"spec.finalizers[{i}]", fin, v.label_key)
    return found


COLUMNS = [
    tables.NAME,
    tables.column("Status", "string", "The status of the namespace"),
    tables.AGE,
]


def table(objs: list[dict], wide: bool = True):
    return tables.build(COLUMNS, lambda ns: [tables.name(ns),
                                             (ns.get("status") or {}).get("phase", ""),
                                             tables.age(ns)], objs, wide)


def fields(ns: dict, path: str) -> str | None:
    if path == "status.phase":
        return (ns.get("status") or {}).get("phase", "")
    return None


NAMESPACES = register(ResourceType(
    "", "v1", "Namespace", "namespaces", "namespace", False, NAMESPACE, short_names=("ns",),
    subresources=("status", "finalize"), defaulter=default, validator=validate,
    preparer=prepare, tabler=table, fields=fields, field_paths=("status.phase",)))

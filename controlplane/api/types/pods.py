"""core/v1 Pod, plus the kinds its subresources speak: Binding (pods/binding and
the `bindings` resource) and policy/v1 Eviction (pods/eviction).

Defaulting: the schema's constants, then `podspec_defaults.default_pod`.
Validation on create: metadata and the whole spec; on update, Kubernetes' rule
that a pod's spec is immutable except container images, activeDeadlineSeconds
(set or lowered), added tolerations and a negative grace period set to 1; on a
status update, the status alone. `prepare_for_create` resets the status to
Pending with the QoS class, as the pod strategy does.
"""

from __future__ import annotations

import copy

from .. import errors, meta
from .. import validation as v
from ..errors import FieldError
from ..quantity import parse_quantity
from ..registry import ResourceType, kind_only, register
from ..schema import STRING, Field, Struct
from . import pod_table
from . import podspec_validation as psv
from .metav1 import DELETE_OPTIONS, OBJECT_META, OBJECT_REFERENCE, top_level
from .podspec import POD_SPEC
from .podspec_defaults import default_pod
from .podstatus import POD_STATUS

POD = top_level("io.k8s.api.core.v1.Pod", (
    "Pod is a collection of containers that can run on a host. This resource is created by "
    "clients and scheduled onto hosts."), ("", "v1", "Pod"), POD_SPEC, POD_STATUS,
    "Specification of the desired behavior of the pod.",
    "Most recently observed status of the pod. This data may not be up to date. Populated "
    "by the system. Read-only.")

PHASES = ["Pending", "Running", "Succeeded", "Failed", "Unknown"]
UPDATABLE = ("pod updates may not change fields other than `spec.containers[*].image`,"
             "`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` "
             "(only additions to existing tolerations),`spec.terminationGracePeriodSeconds` "
             "(allow it to be set to 1 if it was previously negative)")


def qos_class(pod: dict) -> str:
    """Guaranteed, Burstable or BestEffort, from the containers' cpu/memory resources."""
    spec = pod.get("spec") or {}
    any_set = False
    guaranteed = True
    for ctr in (spec.get("containers") or []) + (spec.get("initContainers") or []):
        res = ctr.get("resources") or {}
        requests, limits = res.get("requests") or {}, res.get("limits") or {}
        for name in ("cpu", "memory"):
            request, limit = requests.get(name), limits.get(name)
            if (request is not None and parse_quantity(request) != 0) or (
                    limit is not None and parse_quantity(limit) != 0):
                any_set = True
            if limit is None or (request is not None and
                                 parse_quantity(request) != parse_quantity(limit)):
                guaranteed = False
    if not any_set:
        return "BestEffort"
    return "Guaranteed" if guaranteed else "Burstable"


def _prepare(pod: dict, old: dict | None) -> None:
    if old is None:
        pod["status"] = {"phase": "Pending", "qosClass": qos_class(pod)}


def _diff(new, old, path: str, out: list[str]) -> None:
    if isinstance(new, dict) and isinstance(old, dict):
        for key in sorted(set(new) | set(old)):
            _diff(new.get(key), old.get(key), f"{path}.{key}", out)
    elif isinstance(new, list) and isinstance(old, list) and len(new) == len(old):
        for i, (a, b) in enumerate(zip(new, old, strict=True)):
            _diff(a, b, f"{path}[{i}]", out)
    elif new != old:
        out.append(f"  {path}: {old!r} -> {new!r}")


def _tolerations_only_added(new: list, old: list) -> bool:
    if new == old:                      # most updates leave them alone
        return True

    def strip(tol: dict) -> dict:
        return {k: val for k, val in tol.items() if k != "tolerationSeconds"}
    remaining = [strip(t) for t in new]
    for tol in old:
        if strip(tol) not in remaining:
            return False
        remaining.remove(strip(tol))
    return True


def _spec_update(spec: dict, old_spec: dict) -> list[FieldError]:
    found: list[FieldError] = []
    # `munged` is the new spec with what may change set back to the old values; it
    # is compared, never stored, so only the levels changed here are copied.
    munged = dict(spec)
    for key in ("containers", "initContainers"):
        new_list, old_list = munged.get(key) or [], old_spec.get(key) or []
        if new_list and len(new_list) == len(old_list):
            munged[key] = new_list = [dict(ctr) if isinstance(ctr, dict) else ctr
                                      for ctr in new_list]
            for ctr, old_ctr in zip(new_list, old_list, strict=True):
                if isinstance(ctr, dict) and "image" in old_ctr:
                    ctr["image"] = old_ctr["image"]
    deadline, old_deadline = spec.get("activeDeadlineSeconds"), old_spec.get(
        "activeDeadlineSeconds")
    if deadline is None and old_deadline is not None:
        found.append(errors.invalid("spec.activeDeadlineSeconds", None,
                                    "must not update from a positive integer to nil value"))
    elif deadline is not None and old_deadline is not None and deadline > old_deadline:
        found.append(errors.invalid("spec.activeDeadlineSeconds", deadline,
                                    "must be less than or equal to previous value"))
    _set_or_drop(munged, "activeDeadlineSeconds", old_deadline)
    if _tolerations_only_added(spec.get("tolerations") or [], old_spec.get("tolerations") or []):
        _set_or_drop(munged, "tolerations", old_spec.get("tolerations"))
    else:
        found.append(errors.forbidden("spec.tolerations", "existing toleration can not be "
                                      "modified except its tolerationSeconds"))
    old_grace = old_spec.get("terminationGracePeriodSeconds")
    if old_grace is not None and old_grace < 0 and spec.get("terminationGracePeriodSeconds") == 1:
        munged["terminationGracePeriodSeconds"] = old_grace
    if munged != old_spec:
        changes: list[str] = []
        _diff(munged, old_spec, "spec", changes)
        found.append(errors.forbidden("spec", UPDATABLE + "\n" + "\n".join(changes)))
    return found


def _set_or_drop(spec: dict, key: str, value) -> None:
    if value is None:
        spec.pop(key, None)
    else:
        spec[key] = copy.deepcopy(value)


def validate_status(status: dict, path: str = "status") -> list[FieldError]:
    found: list[FieldError] = []
    if status.get("phase"):
        found += v.one_of(f"{path}.phase", status["phase"], PHASES)
    if status.get("nominatedNodeName"):
        found += v.each(f"{path}.nominatedNodeName", status["nominatedNodeName"],
                        v.dns1123_subdomain)
    ips = status.get("podIPs") or []
    for i, entry in enumerate(ips):
        found += psv.ip_address(f"{path}.podIPs[{i}].ip", entry.get("ip"))
    if status.get("podIP") and ips and ips[0].get("ip") != status["podIP"]:
        found.append(errors.invalid(f"{path}.podIPs[0].ip", ips[0].get("ip"),
                                    "must be equal to podIP"))
    for key in ("initContainerStatuses", "containerStatuses"):
        for i, cs in enumerate(status.get(key) or []):
            found += v.name(f"{path}.{key}[{i}].name", cs.get("name", ""), v.dns1123_label)
            found += v.non_negative(f"{path}.{key}[{i}].restartCount", cs.get("restartCount"))
    return found


def validate(pod: dict, old: dict | None = None, subresource: str = "") -> list[FieldError]:
    found = v.meta_for(pod, old, namespaced=True)
    if subresource == "status":
        found += validate_status(pod.get("status") or {})
        if old is not None and old.get("status", {}).get("phase") in ("Succeeded", "Failed") \
                and (pod.get("status") or {}).get("phase") not in ("Succeeded", "Failed"):
            found.append(errors.forbidden("status.phase", "cannot transition from a terminal "
                                          "phase to a non-terminal phase"))
        return found
    found += psv.pod_spec(pod.get("spec"))
    if old is not None and isinstance(pod.get("spec"), dict):
        found += _spec_update(pod["spec"], old.get("spec") or {})
    return found


# The selectable fields read straight from spec or status: (part, key).
_SIMPLE_FIELDS = {
    "spec.nodeName": ("spec", "nodeName"),
    "spec.restartPolicy": ("spec", "restartPolicy"),
    "spec.schedulerName": ("spec", "schedulerName"),
    "spec.serviceAccountName": ("spec", "serviceAccountName"),
    "status.phase": ("status", "phase"),
    "status.podIP": ("status", "podIP"),
    "status.nominatedNodeName": ("status", "nominatedNodeName"),
}


def fields(pod: dict, path: str) -> str | None:
    # Asked once per selectable field of every pod event the watch cache takes in.
    if path == "spec.hostNetwork":
        return "true" if (pod.get("spec") or {}).get("hostNetwork") else "false"
    where = _SIMPLE_FIELDS.get(path)
    if where is None:
        return None
    part, key = where
    return (pod.get(part) or {}).get(key, "")


PODS = register(ResourceType(
    "", "v1", "Pod", "pods", "pod", True, POD, short_names=("po",), categories=("all",),
    subresources=("status", "binding", "eviction", "log", "exec", "attach", "portforward"),
    defaulter=default_pod, validator=validate, preparer=_prepare, tabler=pod_table.table,
    fields=fields, field_paths=("spec.nodeName", "spec.restartPolicy", "spec.schedulerName",
                                "spec.serviceAccountName", "spec.hostNetwork", "status.phase",
                                "status.podIP", "status.nominatedNodeName")))

BINDING = Struct("io.k8s.api.core.v1.Binding", (
    "Binding ties one object to another; for example, a pod is bound to a node by a "
    "scheduler."), {
    "apiVersion": Field(STRING, "APIVersion defines the versioned schema of this object."),
    "kind": Field(STRING, "Kind is a string value representing the REST resource."),
    "metadata": Field(OBJECT_META, "Standard object's metadata."),
    "target": Field(OBJECT_REFERENCE, "The target object that you want to bind to the "
                    "standard object.", required=True),
}, ("", "v1", "Binding"))


def validate_binding(binding: dict, old: dict | None = None,
                     subresource: str = "") -> list[FieldError]:
    target = binding.get("target") or {}
    found: list[FieldError] = []
    if target.get("kind") and target["kind"] != "Node":
        found.append(errors.not_supported("target.kind", target["kind"], ["Node", "<empty>"]))
    if not target.get("name"):
        found.append(errors.required("target.name"))
    return found


BINDINGS = register(ResourceType(
    "", "v1", "Binding", "bindings", "binding", True, BINDING, has_status=False,
    verbs=("create",), validator=validate_binding))


def apply_binding(pod: dict, binding: dict, when: str | None = None) -> None:
    """Bind `pod` to the node a validated Binding names, in place (the scheduler's POST
    to pods/binding). Raises `Conflict` if the pod is already bound or being deleted."""
    name = (pod.get("metadata") or {}).get("name", "")
    spec = pod.setdefault("spec", {})
    if (pod.get("metadata") or {}).get("deletionTimestamp"):
        raise errors.Conflict(f"pod {name} is being deleted, cannot be assigned to a host")
    if spec.get("nodeName"):
        raise errors.Conflict(f"pod {name} is already assigned to node "
                              f"\"{spec['nodeName']}\"")
    spec["nodeName"] = binding["target"]["name"]
    annotations = (binding.get("metadata") or {}).get("annotations")
    if annotations:
        pod.setdefault("metadata", {}).setdefault("annotations", {}).update(annotations)
    meta.set_condition(pod.setdefault("status", {}), "PodScheduled", "True", when=when)


EVICTION = Struct("io.k8s.api.policy.v1.Eviction", (
    "Eviction evicts a pod from its node subject to certain policies and safety "
    "constraints."), {
    "apiVersion": Field(STRING, "APIVersion defines the versioned schema of this object."),
    "kind": Field(STRING, "Kind is a string value representing the REST resource."),
    "metadata": Field(OBJECT_META, "ObjectMeta describes the pod that is being evicted."),
    "deleteOptions": Field(DELETE_OPTIONS, "DeleteOptions may be provided"),
}, ("policy", "v1", "Eviction"))
kind_only("policy", "v1", "Eviction", EVICTION)

"""Validation of a whole pod spec (pods and pod templates), with Kubernetes' messages.

`pod_spec(spec, path)` checks volumes (`volume_validation.py`), every container (through
`container_validation.py`), name uniqueness across containers and init
containers, restart and DNS policies, scheduling constraints (nodeSelector,
affinity, tolerations, topology spread) and the pod security context.
`template(tmpl, path)` adds the template's metadata.
"""

from __future__ import annotations

import ipaddress

from .. import errors
from .. import validation as v
from ..errors import FieldError
from . import container_validation as cv
from .volume_validation import volumes

RESTART_POLICIES = ["Always", "OnFailure", "Never"]
DNS_POLICIES = ["ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"]
TAINT_EFFECTS = ["NoSchedule", "PreferNoSchedule", "NoExecute"]
NODE_SELECTOR_OPERATORS = ["DoesNotExist", "Exists", "Gt", "In", "Lt", "NotIn"]
MAX_INT32 = 2**31 - 1


def tolerations(path: str, items) -> list[FieldError]:
    found: list[FieldError] = []
    for i, tol in enumerate(items or []):
        here = f"{path}[{i}]"
        key, op = tol.get("key", ""), tol.get("operator", "Equal")
        if key:
            found += v.each(f"{here}.key", key, v.label_key)
        elif op != "Exists":
            found.append(errors.invalid(f"{here}.operator", op, "operator must be Exists when "
                                        "`key` is empty, which means \"match all values and "
                                        "all keys\""))
        if tol.get("tolerationSeconds") is not None and tol.get("effect") != "NoExecute":
            found.append(errors.invalid(f"{here}.effect", tol.get("effect", ""),
                                        "effect must be 'NoExecute' when `tolerationSeconds` "
                                        "is set"))
        if op == "Equal":
            found += v.each(f"{here}.value", tol.get("value", ""), v.label_value)
        elif op == "Exists":
            if tol.get("value"):
                found.append(errors.invalid(f"{here}.operator", tol,
                                            "value must be empty when `operator` is 'Exists'"))
        else:
            found.append(errors.not_supported(f"{here}.operator", op, ["Equal", "Exists"]))
        if tol.get("effect"):
            found += v.one_of(f"{here}.effect", tol["effect"], TAINT_EFFECTS)
    return found


def _node_selector_terms(path: str, terms) -> list[FieldError]:
    found: list[FieldError] = []
    for i, term in enumerate(terms or []):
        for kind in ("matchExpressions", "matchFields"):
            for j, req in enumerate(term.get(kind) or []):
                here = f"{path}[{i}].{kind}[{j}]"
                op, values = req.get("operator"), req.get("values") or []
                found += v.one_of(f"{here}.operator", op, NODE_SELECTOR_OPERATORS)
                if kind == "matchExpressions":
                    found += v.each(f"{here}.key", req.get("key", ""), v.label_key)
                if op in ("In", "NotIn") and not values:
                    found.append(errors.required(f"{here}.values", "must be specified when "
                                                 "`operator` is 'In' or 'NotIn'"))
                elif op in ("Exists", "DoesNotExist") and values:
                    found.append(errors.forbidden(f"{here}.values", "may not be specified "
                                                  "when `operator` is 'Exists' or "
                                                  "'DoesNotExist'"))
                elif op in ("Gt", "Lt") and (len(values) != 1
                                             or not values[0].lstrip("-").isdigit()):
                    found.append(errors.required(f"{here}.values", "must be specified single "
                                                 "value when `operator` is 'Lt' or 'Gt'"))
    return found


def _weight(path: str, weight) -> list[FieldError]:
    if weight is None or not 1 <= weight <= 100:
        return [errors.invalid(path, weight, v.range_error(1, 100))]
    return []


def _pod_affinity_term(path: str, term: dict) -> list[FieldError]:
    found = v.label_selector(f"{path}.labelSelector", term.get("labelSelector"))
    found += v.label_selector(f"{path}.namespaceSelector", term.get("namespaceSelector"))
    if not term.get("topologyKey"):
        found.append(errors.required(f"{path}.topologyKey", "can not be empty"))
    else:
        found += v.each(f"{path}.topologyKey", term["topologyKey"], v.label_key)
    for i, ns in enumerate(term.get("namespaces") or []):
        found += v.each(f"{path}.namespaces[{i}]", ns, v.dns1123_label)
    return found


def affinity(path: str, aff: dict | None) -> list[FieldError]:
    if aff is None:
        return []
    found: list[FieldError] = []
    node = aff.get("nodeAffinity") or {}
    required = node.get("requiredDuringSchedulingIgnoredDuringExecution")
    if required is not None:
        here = f"{path}.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution"
        terms = required.get("nodeSelectorTerms") or []
        if not terms:
            found.append(errors.required(f"{here}.nodeSelectorTerms", "must have at least one "
                                         "node selector term"))
        found += _node_selector_terms(f"{here}.nodeSelectorTerms", terms)
    for i, pref in enumerate(node.get("preferredDuringSchedulingIgnoredDuringExecution") or []):
        here = f"{path}.nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution[{i}]"
        found += _weight(f"{here}.weight", pref.get("weight"))
        found += _node_selector_terms(f"{here}.preference", [pref.get("preference") or {}])
    for kind in ("podAffinity", "podAntiAffinity"):
        section = aff.get(kind) or {}
        for i, term in enumerate(section.get("requiredDuringSchedulingIgnoredDuringExecution")
                                 or []):
            found += _pod_affinity_term(
                f"{path}.{kind}.requiredDuringSchedulingIgnoredDuringExecution[{i}]", term)
        for i, wt in enumerate(section.get("preferredDuringSchedulingIgnoredDuringExecution")
                               or []):
            here = f"{path}.{kind}.preferredDuringSchedulingIgnoredDuringExecution[{i}]"
            found += _weight(f"{here}.weight", wt.get("weight"))
            found += _pod_affinity_term(f"{here}.podAffinityTerm", wt.get("podAffinityTerm")
                                        or {})
    return found


def _topology_spread(path: str, constraints) -> list[FieldError]:
    found: list[FieldError] = []
    for i, tsc in enumerate(constraints or []):
        here = f"{path}[{i}]"
        skew = tsc.get("maxSkew")
        if skew is None or skew <= 0:
            found.append(errors.invalid(f"{here}.maxSkew", skew, "must be greater than zero"))
        if not tsc.get("topologyKey"):
            found.append(errors.required(f"{here}.topologyKey", "can not be empty"))
        found += v.one_of(f"{here}.whenUnsatisfiable", tsc.get("whenUnsatisfiable"),
                          ["DoNotSchedule", "ScheduleAnyway"])
        found += v.label_selector(f"{here}.labelSelector", tsc.get("labelSelector"))
    return found


def _dns(path: str, spec: dict) -> list[FieldError]:
    policy = spec.get("dnsPolicy")
    found = v.one_of(f"{path}.dnsPolicy", policy, DNS_POLICIES) if policy else [
        errors.required(f"{path}.dnsPolicy")]
    config = spec.get("dnsConfig")
    if policy == "None" and not (config or {}).get("nameservers"):
        found.append(errors.required(f"{path}.dnsConfig", "must provide `dnsConfig` when "
                                     "`dnsPolicy` is None") if config is None else
                     errors.required(f"{path}.dnsConfig.nameservers", "must provide at least "
                                     "one DNS nameserver when `dnsPolicy` is None"))
    for i, server in enumerate((config or {}).get("nameservers") or []):
        found += ip_address(f"{path}.dnsConfig.nameservers[{i}]", server)
    if len((config or {}).get("nameservers") or []) > 3:
        found.append(errors.invalid(f"{path}.dnsConfig.nameservers", config["nameservers"],
                                    "must not have more than 3 nameservers"))
    return found


def ip_address(path: str, text) -> list[FieldError]:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return [errors.invalid(path, text, "must be a valid IP address, (e.g. 10.9.8.7 or "
                               "2001:db8::ffff)")]
    return []


def _unique_host_ports(spec: dict, path: str) -> list[FieldError]:
    """No two containers may claim the same host port (Kubernetes'
    AccumulateUniqueHostPorts, with its `hostIP/protocol/port` key)."""
    found: list[FieldError] = []
    seen: set[str] = set()
    for key in ("initContainers", "containers"):
        for i, ctr in enumerate(spec.get(key) or []):
            for j, port in enumerate(ctr.get("ports") or []):
                host_port = port.get("hostPort")
                if not host_port:
                    continue
                claim = f"{port.get('hostIP', '')}/{port.get('protocol', 'TCP')}/{host_port}"
                if claim in seen:
                    found.append(errors.duplicate(f"{path}.{key}[{i}].ports[{j}].hostPort",
                                                  claim))
                seen.add(claim)
    return found


def pod_spec(spec: dict | None, path: str = "spec") -> list[FieldError]:
    """Every rule of a PodSpec that does not depend on the object around it."""
    if spec is None:
        return [errors.required(path)]
    found, volume_names = volumes(f"{path}.volumes", spec.get("volumes"))
    host_network = bool(spec.get("hostNetwork"))
    containers = spec.get("containers") or []
    if not containers:
        found.append(errors.required(f"{path}.containers"))
    names: set[str] = set()
    for key, init in (("initContainers", True), ("containers", False)):
        for i, ctr in enumerate(spec.get(key) or []):
            here = f"{path}.{key}[{i}]"
            found += cv.container(here, ctr, volume_names, init=init, host_network=host_network)
            name = ctr.get("name")
            if name and name in names:
                found.append(errors.duplicate(f"{here}.name", name))
            names.add(name)
    found += _unique_host_ports(spec, path)
    restart = spec.get("restartPolicy")
    found += (v.one_of(f"{path}.restartPolicy", restart, RESTART_POLICIES) if restart
              else [errors.required(f"{path}.restartPolicy")])
    found += _dns(path, spec)
    found += v.labels(f"{path}.nodeSelector", spec.get("nodeSelector"))
    for key in ("serviceAccountName", "nodeName"):
        if spec.get(key):
            found += v.each(f"{path}.{key}", spec[key], v.dns1123_subdomain)
    for key in ("hostname", "subdomain"):
        if spec.get(key):
            found += v.each(f"{path}.{key}", spec[key], v.dns1123_label)
    grace = spec.get("terminationGracePeriodSeconds")
    found += v.non_negative(f"{path}.terminationGracePeriodSeconds", grace)
    deadline = spec.get("activeDeadlineSeconds")
    if deadline is not None and not 1 <= deadline <= MAX_INT32:
        found.append(errors.invalid(f"{path}.activeDeadlineSeconds", deadline,
                                    v.range_error(1, MAX_INT32)))
    found += tolerations(f"{path}.tolerations", spec.get("tolerations"))
    found += affinity(f"{path}.affinity", spec.get("affinity"))
    found += _topology_spread(f"{path}.topologySpreadConstraints",
                              spec.get("topologySpreadConstraints"))
    found += cv.security_context(f"{path}.securityContext", spec.get("securityContext"))
    for i, alias in enumerate(spec.get("hostAliases") or []):
        found += ip_address(f"{path}.hostAliases[{i}].ip", alias.get("ip"))
    for i, gate in enumerate(spec.get("readinessGates") or []):
        found += v.each(f"{path}.readinessGates[{i}].conditionType",
                        gate.get("conditionType", ""), v.label_key)
    for i, secret in enumerate(spec.get("imagePullSecrets") or []):
        if not secret.get("name"):
            found.append(errors.required(f"{path}.imagePullSecrets[{i}].name"))
    if spec.get("preemptionPolicy") is not None:
        found += v.one_of(f"{path}.preemptionPolicy", spec["preemptionPolicy"],
                          ["Never", "PreemptLowerPriority"])
    if spec.get("os") is not None:
        found += v.one_of(f"{path}.os.name", spec["os"].get("name"), ["linux", "windows"])
    return found


def template(tmpl: dict | None, path: str = "spec.template") -> list[FieldError]:
    """A PodTemplateSpec: labels and annotations of its metadata, then its spec."""
    if tmpl is None:
        return [errors.required(path)]
    meta = tmpl.get("metadata") or {}
    found = v.labels(f"{path}.metadata.labels", meta.get("labels"))
    found += v.annotations(f"{path}.metadata.annotations", meta.get("annotations"))
    found += pod_spec(tmpl.get("spec"), f"{path}.spec")
    return found

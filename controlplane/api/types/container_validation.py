"""Validation of one container: name, image, ports, env, resources, probes,
lifecycle hooks, volume mounts and security context, with Kubernetes' messages.

`podspec_validation.py` calls `container` for every container of a pod spec,
passing the set of volume names so that volume mounts can be checked against it.
"""

from __future__ import annotations

import re

from .. import errors
from .. import validation as v
from ..errors import FieldError
from ..quantity import canonical_quantity, parse_quantity

PULL_POLICIES = ["Always", "IfNotPresent", "Never"]
PROTOCOLS = ["SCTP", "TCP", "UDP"]
TERMINATION_MESSAGE_POLICIES = ["File", "FallbackToLogsOnError"]
MOUNT_PROPAGATIONS = ["Bidirectional", "HostToContainer", "None"]
ENV_FIELD_PATHS = ["metadata.annotations", "metadata.labels", "metadata.name",
                   "metadata.namespace", "metadata.uid", "spec.nodeName",
                   "spec.serviceAccountName", "status.hostIP", "status.hostIPs",
                   "status.podIP", "status.podIPs"]
RESOURCE_FIELD_REFS = ["limits.cpu", "limits.ephemeral-storage", "limits.memory",
                       "requests.cpu", "requests.ephemeral-storage", "requests.memory"]
_STANDARD_RESOURCES = {"cpu", "memory", "ephemeral-storage"}
_SUBSCRIPTED_FIELD = re.compile(r"^metadata\.(labels|annotations)\['(.+)'\]$")


def _port_or_name(path: str, port) -> list[FieldError]:
    if isinstance(port, int):
        return v.port_number(path, port)
    if isinstance(port, str):
        if not port:
            return [errors.required(path)]
        return v.each(path, port, v.port_name)
    return [errors.required(path)]


def handler(path: str, hook: dict | None, kinds: tuple[str, ...]) -> list[FieldError]:
    """A probe or lifecycle handler: exactly one of `kinds`, each well formed."""
    if hook is None:
        return []
    present = [k for k in kinds if hook.get(k) is not None]
    found: list[FieldError] = []
    if not present:
        return [errors.required(path, "must specify a handler type")]
    if len(present) > 1:
        found.append(errors.forbidden(f"{path}.{present[1]}",
                                      "may not specify more than 1 handler type"))
    if hook.get("exec") is not None and not (hook["exec"].get("command") or []):
        found.append(errors.required(f"{path}.exec.command"))
    http = hook.get("httpGet")
    if http is not None:
        found += _port_or_name(f"{path}.httpGet.port", http.get("port"))
        found += v.one_of(f"{path}.httpGet.scheme", http.get("scheme", "HTTP"), ["HTTP", "HTTPS"])
        for i, header in enumerate(http.get("httpHeaders") or []):
            if not re.match(r"^[-A-Za-z0-9]+$", header.get("name", "")):
                found.append(errors.invalid(
                    f"{path}.httpGet.httpHeaders[{i}].name", header.get("name", ""),
                    v.regex_error("a valid HTTP header must consist of alphanumeric "
                                  "characters or '-'", "[-A-Za-z0-9]+", "X-Header-Name")))
    tcp = hook.get("tcpSocket")
    if tcp is not None:
        found += _port_or_name(f"{path}.tcpSocket.port", tcp.get("port"))
    grpc = hook.get("grpc")
    if grpc is not None:
        found += v.port_number(f"{path}.grpc.port", grpc.get("port"))
    sleep = hook.get("sleep")
    if sleep is not None and not 0 <= (sleep.get("seconds") or 0) <= 2**31 - 1:
        found.append(errors.invalid(f"{path}.sleep.seconds", sleep.get("seconds"),
                                    v.range_error(0, 2**31 - 1)))
    return found


def probe(path: str, spec: dict | None, liveness_like: bool) -> list[FieldError]:
    if spec is None:
        return []
    found = handler(path, spec, ("exec", "httpGet", "tcpSocket", "grpc"))
    for key in ("initialDelaySeconds", "timeoutSeconds", "periodSeconds",
                "successThreshold", "failureThreshold"):
        found += v.non_negative(f"{path}.{key}", spec.get(key))
    if liveness_like and spec.get("successThreshold", 1) != 1:
        found.append(errors.invalid(f"{path}.successThreshold", spec.get("successThreshold"),
                                    "must be 1"))
    tgps = spec.get("terminationGracePeriodSeconds")
    if tgps is not None and tgps <= 0:
        found.append(errors.invalid(f"{path}.terminationGracePeriodSeconds", tgps,
                                    "must be greater than 0"))
    return found


def _resource_name(path: str, name: str) -> list[FieldError]:
    if name in _STANDARD_RESOURCES or name.startswith("hugepages-"):
        return []
    reasons = v.label_key(name)
    if reasons:
        return [errors.invalid(path, name, r) for r in reasons]
    if "/" not in name:
        return [errors.invalid(path, name, "must be a standard resource type or fully "
                               "qualified")]
    return []


def _overcommit_allowed(name: str) -> bool:
    """Only native resources other than hugepages may have requests below limits."""
    native = "/" not in name or name.startswith("kubernetes.io/")
    return native and not name.startswith("hugepages-")


def resources(path: str, spec: dict | None) -> list[FieldError]:
    spec = spec or {}
    found: list[FieldError] = []
    parsed: dict[str, dict] = {"limits": {}, "requests": {}}
    for kind in ("limits", "requests"):
        for name, value in (spec.get(kind) or {}).items():
            here = f"{path}.{kind}[{name}]"
            found += _resource_name(here, name)
            problems = v.quantity(here, value)
            found += problems
            if not problems:
                parsed[kind][name] = parse_quantity(value)
    limits = parsed["limits"]
    for name, request in parsed["requests"].items():
        shown = canonical_quantity(spec["requests"][name])
        limit = limits.get(name)
        if limit is None:
            if not _overcommit_allowed(name):
                found.append(errors.required(f"{path}.limits", "Limit must be set for non "
                                             "overcommitable resources"))
            continue
        limit_text = canonical_quantity(spec["limits"][name])
        if request != limit and not _overcommit_allowed(name):
            found.append(errors.invalid(f"{path}.requests", shown,
                                        f"must be equal to {name} limit of {limit_text}"))
        elif request > limit:
            found.append(errors.invalid(f"{path}.requests", shown,
                                        f"must be less than or equal to {name} limit of "
                                        f"{limit_text}"))
    return found


def env(path: str, variables) -> list[FieldError]:
    found: list[FieldError] = []
    for i, var in enumerate(variables or []):
        here = f"{path}[{i}]"
        name = var.get("name", "")
        if not name:
            found.append(errors.required(f"{here}.name"))
        else:
            found += v.each(f"{here}.name", name, v.env_var_name)
        source = var.get("valueFrom")
        if source is None:
            continue
        if var.get("value"):
            found.append(errors.invalid(f"{here}.valueFrom", "",
                                        "may not be specified when `value` is not empty"))
        kinds = [k for k in ("fieldRef", "resourceFieldRef", "configMapKeyRef", "secretKeyRef")
                 if source.get(k) is not None]
        if not kinds:
            found.append(errors.invalid(f"{here}.valueFrom", "",
                                        "must specify one of: `fieldRef`, `resourceFieldRef`, "
                                        "`configMapKeyRef` or `secretKeyRef`"))
        elif len(kinds) > 1:
            found.append(errors.invalid(f"{here}.valueFrom", "",
                                        "may not have more than one field specified at a time"))
        field_ref = source.get("fieldRef")
        if field_ref is not None:
            found += _field_ref(f"{here}.valueFrom.fieldRef", field_ref)
        resource_ref = source.get("resourceFieldRef")
        if resource_ref is not None:
            found += v.one_of(f"{here}.valueFrom.resourceFieldRef.resource",
                              resource_ref.get("resource", ""), RESOURCE_FIELD_REFS)
        for kind in ("configMapKeyRef", "secretKeyRef"):
            ref = source.get(kind)
            if ref is not None:
                if not ref.get("key"):
                    found.append(errors.required(f"{here}.valueFrom.{kind}.key"))
                else:
                    found += v.each(f"{here}.valueFrom.{kind}.key", ref["key"], v.config_map_key)
                if not ref.get("name"):
                    found.append(errors.required(f"{here}.valueFrom.{kind}.name"))
    return found


def _field_ref(path: str, ref: dict) -> list[FieldError]:
    field_path = ref.get("fieldPath", "")
    if not field_path:
        return [errors.required(f"{path}.fieldPath")]
    if ref.get("apiVersion", "v1") != "v1":
        return [errors.not_supported(f"{path}.apiVersion", ref.get("apiVersion"), ["v1"])]
    match = _SUBSCRIPTED_FIELD.match(field_path)
    if match:
        return v.each(f"{path}.fieldPath", match.group(2).lower(), v.label_key)
    if field_path in ("metadata.labels", "metadata.annotations"):
        return [errors.not_supported(f"{path}.fieldPath", field_path, ENV_FIELD_PATHS)]
    return v.one_of(f"{path}.fieldPath", field_path, ENV_FIELD_PATHS)


def env_from(path: str, sources) -> list[FieldError]:
    found: list[FieldError] = []
    for i, source in enumerate(sources or []):
        here = f"{path}[{i}]"
        kinds = [k for k in ("configMapRef", "secretRef") if source.get(k) is not None]
        if not kinds:
            found.append(errors.invalid(here, "", "must specify one of: `configMapRef` or "
                                        "`secretRef`"))
        elif len(kinds) > 1:
            found.append(errors.invalid(here, "", "may not have more than one field "
                                        "specified at a time"))
        for kind in kinds:
            if not source[kind].get("name"):
                found.append(errors.required(f"{here}.{kind}.name"))
        if source.get("prefix"):
            found += v.each(f"{here}.prefix", source["prefix"] + "a", v.env_var_name)
    return found


def volume_mounts(path: str, mounts, volumes: set[str]) -> list[FieldError]:
    found: list[FieldError] = []
    seen_paths: set[str] = set()
    for i, mount in enumerate(mounts or []):
        here = f"{path}[{i}]"
        name, mount_path = mount.get("name", ""), mount.get("mountPath", "")
        if not name:
            found.append(errors.required(f"{here}.name"))
        elif name not in volumes:
            found.append(errors.not_found(f"{here}.name", name))
        if not mount_path:
            found.append(errors.required(f"{here}.mountPath"))
        elif mount_path in seen_paths:
            found.append(errors.invalid(f"{here}.mountPath", mount_path, "must be unique"))
        seen_paths.add(mount_path)
        sub_path = mount.get("subPath", "")
        if sub_path:
            found += relative_path(f"{here}.subPath", sub_path)
        if mount.get("mountPropagation") is not None:
            found += v.one_of(f"{here}.mountPropagation", mount["mountPropagation"],
                              MOUNT_PROPAGATIONS)
    return found


def relative_path(path: str, target: str) -> list[FieldError]:
    found = []
    if target.startswith("/"):
        found.append(errors.invalid(path, target, "must be a relative path"))
    if ".." in target.split("/"):
        found.append(errors.invalid(path, target, "must not contain '..'"))
    return found


def ports(path: str, container_ports, host_network: bool) -> list[FieldError]:
    found: list[FieldError] = []
    names: set[str] = set()
    for i, port in enumerate(container_ports or []):
        here = f"{path}[{i}]"
        name = port.get("name")
        if name:
            found += v.each(f"{here}.name", name, v.port_name)
            if name in names:
                found.append(errors.duplicate(f"{here}.name", name))
            names.add(name)
        found += v.port_number(f"{here}.containerPort", port.get("containerPort"))
        host_port = port.get("hostPort")
        if host_port:
            found += v.port_number(f"{here}.hostPort", host_port)
            if host_network and host_port != port.get("containerPort"):
                found.append(errors.invalid(f"{here}.containerPort", port.get("containerPort"),
                                            "must match `hostPort` when `hostNetwork` is true"))
        found += v.one_of(f"{here}.protocol", port.get("protocol", "TCP"), PROTOCOLS)
    return found


def security_context(path: str, ctx: dict | None) -> list[FieldError]:
    if ctx is None:
        return []
    found: list[FieldError] = []
    for key in ("runAsUser", "runAsGroup"):
        value = ctx.get(key)
        if value is not None and not 0 <= value <= 2**31 - 1:
            found.append(errors.invalid(f"{path}.{key}", value, v.range_error(0, 2**31 - 1)))
    if ctx.get("procMount") is not None:
        found += v.one_of(f"{path}.procMount", ctx["procMount"], ["Default", "Unmasked"])
    if ctx.get("privileged") and ctx.get("allowPrivilegeEscalation") is False:
        found.append(errors.invalid(path, ctx.get("allowPrivilegeEscalation"),
                                    "cannot set `allowPrivilegeEscalation` to false and "
                                    "`privileged` to true"))
    return found


def container(path: str, ctr: dict, volumes: set[str], *, init: bool = False,
              host_network: bool = False) -> list[FieldError]:
    """Every rule of one container (name uniqueness is checked by the pod spec)."""
    found = v.name(f"{path}.name", ctr.get("name", ""), v.dns1123_label)
    if not ctr.get("image") or not str(ctr["image"]).strip():
        found.append(errors.required(f"{path}.image"))
    if ctr.get("imagePullPolicy") is not None:
        found += v.one_of(f"{path}.imagePullPolicy", ctr["imagePullPolicy"], PULL_POLICIES)
    if ctr.get("terminationMessagePolicy") is not None:
        found += v.one_of(f"{path}.terminationMessagePolicy", ctr["terminationMessagePolicy"],
                          TERMINATION_MESSAGE_POLICIES)
    found += ports(f"{path}.ports", ctr.get("ports"), host_network)
    found += env(f"{path}.env", ctr.get("env"))
    found += env_from(f"{path}.envFrom", ctr.get("envFrom"))
    found += resources(f"{path}.resources", ctr.get("resources"))
    found += volume_mounts(f"{path}.volumeMounts", ctr.get("volumeMounts"), volumes)
    restart = ctr.get("restartPolicy")
    if restart is not None:
        if not init:
            found.append(errors.forbidden(f"{path}.restartPolicy",
                                          "may not be set for non-init containers"))
        else:
            found += v.one_of(f"{path}.restartPolicy", restart, ["Always"])
    sidecar = init and restart == "Always"
    for key, liveness_like in (("livenessProbe", True), ("readinessProbe", False),
                               ("startupProbe", True)):
        if ctr.get(key) is None:
            continue
        if init and not sidecar:
            found.append(errors.forbidden(f"{path}.{key}", "may not be set for init "
                                          "containers without restartPolicy=Always"))
        else:
            found += probe(f"{path}.{key}", ctr[key], liveness_like)
    lifecycle = ctr.get("lifecycle") or {}
    for key in ("postStart", "preStop"):
        found += handler(f"{path}.lifecycle.{key}", lifecycle.get(key),
                         ("exec", "httpGet", "tcpSocket", "sleep"))
    found += security_context(f"{path}.securityContext", ctr.get("securityContext"))
    if ctr.get("stdinOnce") and not ctr.get("stdin"):
        found.append(errors.invalid(f"{path}.stdinOnce", True,
                                    "must be false when `stdin` is false"))
    return found

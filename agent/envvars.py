"""A container's environment, resolved as the kubelet resolves it.

Sources, lowest precedence first:

  1. service links (`FOO_SERVICE_HOST`, ...) when `enableServiceLinks` is on;
     they only fill names nothing else sets;
  2. `envFrom`: every key of a ConfigMap or Secret, with an optional prefix;
  3. `env`, in order: a literal `value`, or `valueFrom` a field of the pod
     (`fieldRef`), one key of a ConfigMap or Secret, or a resource of the
     container (`resourceFieldRef`, in the units of its divisor).

Literal values expand `$(NAME)` from what is defined before them (and the service
links); a reference to an undefined name stays as written, and `$$` escapes a `$`.
A missing ConfigMap, Secret or key that is not `optional` is a
`ContainerConfigError`, which the pod reports as `CreateContainerConfigError`
with the kubelet's message.

The objects come through two lookups (`get_configmap(namespace, name)`,
`get_secret(namespace, name)`, each returning the object or None), so this
module never talks to the API itself.
"""

from __future__ import annotations

import base64
import math
import re
from collections.abc import Callable
from fractions import Fraction

Lookup = Callable[[str, str], dict | None]

_REFERENCE = re.compile(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)")


class ContainerConfigError(Exception):
    """The container cannot be configured yet (reason CreateContainerConfigError)."""


def expand(text: str, defined: dict[str, str]) -> str:
    """Kubernetes' `$(VAR)` expansion: unknown names stay, `$$` becomes `$`."""

    def replace(match: re.Match) -> str:
        if match.group(0) == "$$":
            return "$"
        name = match.group(1)
        return defined.get(name, match.group(0))

    return _REFERENCE.sub(replace, text)


def _secret_value(secret: dict, key: str) -> str | None:
    if key in secret.get("stringData", {}):
        return secret["stringData"][key]
    raw = secret.get("data", {}).get(key)
    return None if raw is None else base64.b64decode(raw).decode(errors="replace")


def _source(kind: str, namespace: str, name: str, lookup: Lookup, optional: bool) -> dict | None:
    obj = lookup(namespace, name)
    if obj is None and not optional:
        raise ContainerConfigError(f'{kind.lower()} "{name}" not found')
    return obj


def field_value(pod: dict, path: str, pod_ip: str | None, host_ip: str | None) -> str:
    meta, spec = pod.get("metadata", {}), pod.get("spec", {})
    simple = {
        "metadata.name": meta.get("name", ""),
        "metadata.namespace": meta.get("namespace", ""),
        "metadata.uid": meta.get("uid", ""),
        "spec.nodeName": spec.get("nodeName", ""),
        "spec.serviceAccountName": spec.get("serviceAccountName", ""),
        "status.hostIP": host_ip or "",
        "status.hostIPs": host_ip or "",
        "status.podIP": pod_ip or "",
        "status.podIPs": pod_ip or "",
    }
    if path in simple:
        return simple[path]
    match = re.fullmatch(r"metadata\.(labels|annotations)\['([^']*)'\]", path)
    if match:
        return meta.get(match.group(1), {}).get(match.group(2), "")
    raise ContainerConfigError(f"unsupported fieldRef path {path!r}")


def resource_value(container: dict, resource: str, divisor: str | None,
                   node_allocatable: dict[str, str], parse_quantity) -> str:
    """`limits.cpu` etc. in units of `divisor`, rounded up; limits default to the node's."""
    kind, _, name = resource.partition(".")
    resources = container.get("resources", {})
    raw = resources.get(kind, {}).get(name)
    if raw is None and kind == "limits":
        raw = node_allocatable.get(name)
    if raw is None:
        raw = "0"
    unit = parse_quantity(divisor or "1")
    return str(math.ceil(Fraction(parse_quantity(raw)) / Fraction(unit)))


def container_env(pod: dict, container: dict, *, get_configmap: Lookup, get_secret: Lookup,
                  pod_ip: str | None = None, host_ip: str | None = None,
                  service_env: dict[str, str] | None = None,
                  node_allocatable: dict[str, str] | None = None,
                  parse_quantity=None) -> list[tuple[str, str]]:
    """The container's environment as (name, value) pairs, in definition order."""
    namespace = pod.get("metadata", {}).get("namespace", "default")
    env: dict[str, str] = {}

    for source in container.get("envFrom") or []:
        prefix = source.get("prefix", "")
        if "configMapRef" in source:
            ref = source["configMapRef"]
            cm = _source("ConfigMap", namespace, ref["name"], get_configmap,
                         ref.get("optional", False))
            for key, value in (cm or {}).get("data", {}).items():
                env[prefix + key] = value
        elif "secretRef" in source:
            ref = source["secretRef"]
            secret = _source("Secret", namespace, ref["name"], get_secret,
                             ref.get("optional", False))
            for key in {**(secret or {}).get("data", {}), **(secret or {}).get("stringData", {})}:
                env[prefix + key] = _secret_value(secret, key)

    services = service_env if pod.get("spec", {}).get("enableServiceLinks", True) else {}
    services = services or {}
    for var in container.get("env") or []:
        name = var["name"]
        source = var.get("valueFrom")
        if source is None:
            env[name] = expand(var.get("value", ""), {**services, **env})
        elif "fieldRef" in source:
            env[name] = field_value(pod, source["fieldRef"]["fieldPath"], pod_ip, host_ip)
        elif "resourceFieldRef" in source:
            ref = source["resourceFieldRef"]
            target = container
            if ref.get("containerName"):
                target = next((c for c in pod["spec"].get("containers", [])
                               if c["name"] == ref["containerName"]), container)
            env[name] = resource_value(target, ref["resource"], ref.get("divisor"),
                                       node_allocatable or {}, parse_quantity)
        elif "configMapKeyRef" in source:
            ref = source["configMapKeyRef"]
            cm = _source("ConfigMap", namespace, ref["name"], get_configmap,
                         ref.get("optional", False))
            value = (cm or {}).get("data", {}).get(ref["key"])
            if value is None and cm is not None and not ref.get("optional", False):
                raise ContainerConfigError(
                    f"couldn't find key {ref['key']} in ConfigMap {namespace}/{ref['name']}")
            if value is not None:
                env[name] = value
        elif "secretKeyRef" in source:
            ref = source["secretKeyRef"]
            secret = _source("Secret", namespace, ref["name"], get_secret,
                             ref.get("optional", False))
            value = _secret_value(secret, ref["key"]) if secret is not None else None
            if value is None and secret is not None and not ref.get("optional", False):
                raise ContainerConfigError(
                    f"couldn't find key {ref['key']} in Secret {namespace}/{ref['name']}")
            if value is not None:
                env[name] = value

    for name, value in services.items():
        env.setdefault(name, value)
    return list(env.items())


def expand_command(words: list[str], env: list[tuple[str, str]]) -> list[str]:
    """`command` and `args` get the same `$(VAR)` expansion, from the final environment."""
    defined = dict(env)
    return [expand(word, defined) for word in words]

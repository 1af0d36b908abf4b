"""What a pod asks of a node: its effective resource requests, as Kubernetes computes them.

A pod's request for a resource is the larger of

- the sum over its regular containers plus its sidecars (init containers with
  `restartPolicy: Always`, which keep running next to the app), and
- the peak of the init phase: each ordinary init container runs alone, but next to
  the sidecars started before it,

plus `spec.overhead` (the runtime's own cost, set by a RuntimeClass). Pod-level
`spec.resources.requests`, where given, replaces the container sum for that resource.
This is `resourcehelper.PodRequests` in Kubernetes.

Scoring uses a second figure, the *non-zero* request: a container that states no
CPU or memory request is counted as 100m CPU and 200 MiB, so that best-effort pods
still spread instead of piling onto one node (Kubernetes' `NonMissingContainerRequests`).

Units are those of the node table: CPU in millicores, everything else in whole
units (bytes), `pods` in pods. Quantities are parsed once per distinct string.
"""

from __future__ import annotations

import functools

from supernetes.controlplane.api.quantity import int_value, milli_value

from .errors import PodSpecError

CPU = "cpu"
MEMORY = "memory"
EPHEMERAL_STORAGE = "ephemeral-storage"
PODS = "pods"

DEFAULT_MILLI_CPU_REQUEST = 100
DEFAULT_MEMORY_REQUEST = 200 * 1024 * 1024
_NON_MISSING = {CPU: DEFAULT_MILLI_CPU_REQUEST, MEMORY: DEFAULT_MEMORY_REQUEST}

# Resources that are not requested by pods (hugepages are, but are rare here) or are
# accounted elsewhere; `pods` is the implicit one-per-pod request.
_IGNORED = {PODS}


@functools.lru_cache(maxsize=4096)
def amount(resource: str, text) -> int:
    """One quantity in the table's unit for `resource` (CPU in millicores)."""
    try:
        return milli_value(text) if resource == CPU else int_value(text)
    except (ValueError, TypeError) as exc:
        raise PodSpecError(f"invalid quantity {text!r} for {resource}: {exc}") from exc


def resource_list(raw) -> dict[str, int]:
    """A `ResourceList` (`{"cpu": "250m", "memory": "64Mi"}`) in table units."""
    if not raw:
        return {}
    if not isinstance(raw, dict):
        raise PodSpecError(f"resource list must be a mapping, not {type(raw).__name__}")
    return {name: amount(name, value) for name, value in raw.items() if name not in _IGNORED}


def _container_requests(container: dict, non_missing: bool) -> dict[str, int]:
    reqs = resource_list((container.get("resources") or {}).get("requests"))
    if non_missing:
        for name, default in _NON_MISSING.items():
            reqs.setdefault(name, default)
    return reqs


def _add(into: dict[str, int], other: dict[str, int]) -> None:
    for name, value in other.items():
        into[name] = into.get(name, 0) + value


def _max(into: dict[str, int], other: dict[str, int]) -> None:
    for name, value in other.items():
        if value > into.get(name, 0):
            into[name] = value


def pod_requests(spec: dict, non_missing: bool = False) -> dict[str, int]:
    """The pod's effective requests per resource (see the module docstring)."""
    reqs: dict[str, int] = {}
    for container in spec.get("containers") or ():
        _add(reqs, _container_requests(container, non_missing))

    sidecars: dict[str, int] = {}
    init_peak: dict[str, int] = {}
    for container in spec.get("initContainers") or ():
        own = _container_requests(container, non_missing)
        if container.get("restartPolicy") == "Always":
            _add(reqs, own)
            _add(sidecars, own)
            during = dict(sidecars)
        else:
            during = dict(own)
            _add(during, sidecars)
        _max(init_peak, during)
    _max(reqs, init_peak)

    pod_level = resource_list((spec.get("resources") or {}).get("requests"))
    reqs.update(pod_level)
    _add(reqs, resource_list(spec.get("overhead")))
    return {name: value for name, value in reqs.items() if value}


def host_ports(spec: dict) -> list[tuple[str, str, int]]:
    """(hostIP, protocol, hostPort) the pod claims on its node.

    Containers and sidecars count; with `hostNetwork` every container port is a host
    port (the API server defaults hostPort to containerPort then, but an object written
    before defaulting may lack it).
    """
    host_network = bool(spec.get("hostNetwork"))
    containers = list(spec.get("containers") or ())
    containers += [c for c in spec.get("initContainers") or ()
                   if c.get("restartPolicy") == "Always"]
    ports = []
    for container in containers:
        for port in container.get("ports") or ():
            number = port.get("hostPort") or (port.get("containerPort") if host_network else 0)
            if number:
                ip = port.get("hostIP") or "0.0.0.0"
                ports.append((ip, port.get("protocol") or "TCP", int(number)))
    return ports

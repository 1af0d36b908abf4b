"""A pod, read once into what scheduling needs, so no plugin walks the pod dict again.

`PodInfo.shape` is the part of the pod that node-static filters depend on (node
selector, required node affinity, tolerations): pods of one shape - the replicas of
one Deployment - share the masks those filters compute (`framework.Framework`).
`PodInfo.kind` adds everything else a filter or a row-local score reads (profile,
requests, host ports, preferred affinity): pods of one kind are placed in batches
(`algorithm.Algorithm.schedule_many`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import orjson

from .resources import CPU, MEMORY, host_ports, pod_requests

TERMINAL_PHASES = ("Succeeded", "Failed")


def controller_uid(meta: dict) -> str | None:
    for ref in meta.get("ownerReferences") or ():
        if ref.get("controller"):
            return ref.get("uid") or f"{ref.get('kind')}/{ref.get('name')}"
    return None


def _shape_key(parts: list) -> str:
    try:
        return orjson.dumps(parts, option=orjson.OPT_SORT_KEYS).decode()
    except TypeError:        # what orjson will not write (integers beyond 64 bits)
        return json.dumps(parts, sort_keys=True, separators=(",", ":"))


@dataclass(slots=True, eq=False)
class PodInfo:
    key: str                                  # "namespace/name"
    namespace: str
    name: str
    uid: str
    scheduler_name: str
    priority: int
    preemption_never: bool
    requests: dict[str, int]                  # effective requests, table units
    nonzero: tuple[int, int]                  # cpu, memory with 100m / 200Mi defaults
    ports: list[tuple[str, str, int]]         # (hostIP, protocol, hostPort)
    node_selector: dict[str, str]
    required_terms: list[dict] | None         # nodeSelectorTerms, ORed; None = no affinity
    preferred_terms: list[dict]               # [{weight, preference}]
    tolerations: list[dict]
    owner: str | None                         # controller ownerReference uid
    node_name: str
    phase: str
    deleting: bool
    raw: dict | None = field(default=None, repr=False)
    _shape: str | None = field(default=None, repr=False)
    _kind: str | None = field(default=None, repr=False)

    @property
    def shape(self) -> str:
        """The static-filter key, made when first asked for: a bound pod (most of the
        pod events a scheduler sees) never needs one."""
        if self._shape is None:
            self._shape = _shape_key([self.node_selector, self.required_terms,
                                      self.tolerations])
        return self._shape

    @property
    def kind(self) -> str:
        """What pods placed in one batch must share: all but who they are, their
        priority and their owner (which only PodTopologySpread reads, pod by pod)."""
        if self._kind is None:
            self._kind = _shape_key([self.scheduler_name, self.shape, self.requests,
                                     list(self.nonzero), self.ports, self.preferred_terms])
        return self._kind

    @classmethod
    def from_pod(cls, pod: dict) -> PodInfo:
        """Read a Pod object. Raises PodSpecError for requests that are not quantities."""
        meta, spec, status = pod["metadata"], pod.get("spec") or {}, pod.get("status") or {}
        namespace = meta.get("namespace") or "default"
        nonzero = pod_requests(spec, non_missing=True)
        affinity = (spec.get("affinity") or {}).get("nodeAffinity") or {}
        required = affinity.get("requiredDuringSchedulingIgnoredDuringExecution")
        return cls(
            key=f"{namespace}/{meta['name']}",
            namespace=namespace,
            name=meta["name"],
            uid=meta.get("uid", ""),
            scheduler_name=spec.get("schedulerName") or "default-scheduler",
            priority=int(spec.get("priority") or 0),
            preemption_never=spec.get("preemptionPolicy") == "Never",
            requests=pod_requests(spec),
            nonzero=(nonzero.get(CPU, 0), nonzero.get(MEMORY, 0)),
            ports=host_ports(spec),
            node_selector=dict(spec.get("nodeSelector") or {}),
            required_terms=(required or {}).get("nodeSelectorTerms") if required else None,
            preferred_terms=list(
                affinity.get("preferredDuringSchedulingIgnoredDuringExecution") or ()),
            tolerations=list(spec.get("tolerations") or ()),
            owner=controller_uid(meta),
            node_name=spec.get("nodeName") or "",
            phase=status.get("phase") or "",
            deleting=bool(meta.get("deletionTimestamp")),
            raw=pod,
        )

    @classmethod
    def identity(cls, pod: dict) -> PodInfo:
        """Only who the pod is, for reporting on a pod whose spec cannot be read."""
        meta = pod["metadata"]
        namespace = meta.get("namespace") or "default"
        return cls(key=f"{namespace}/{meta['name']}", namespace=namespace, name=meta["name"],
                   uid=meta.get("uid", ""), scheduler_name="", priority=0,
                   preemption_never=False, requests={}, nonzero=(0, 0), ports=[],
                   node_selector={}, required_terms=None, preferred_terms=[], tolerations=[],
                   owner=None, node_name="", phase="", deleting=False)

    @property
    def terminal(self) -> bool:
        return self.phase in TERMINAL_PHASES

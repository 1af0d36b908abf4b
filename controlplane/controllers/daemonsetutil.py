"""DaemonSet rules that need no API: where a daemon pod belongs, and what a
rolling update may replace next.

Eligibility (Kubernetes' NodeShouldRunDaemonPod): the pod template, with the
tolerations every daemon pod gets (not-ready and unreachable NoExecute for ever,
the pressure and unschedulable NoSchedule taints, network-unavailable for
host-network pods), must match the node's labels (nodeSelector, required node
affinity); an untolerated NoSchedule taint keeps a new pod off but lets a running
one stay; an untolerated NoExecute taint does neither.

Rolling update, as Kubernetes' `rollingUpdate` (update.go), per node holding at
most one old and one new pod:
  maxSurge 0    delete old pods while (unavailable nodes) < maxUnavailable, old pods
                that are unavailable anyway first; the manage step then creates the
                new pod on each freed node
  maxSurge > 0  create the new pod next to an available old one on up to maxSurge
                nodes; delete the old pod once its new neighbour is available
Both numbers are ints or percentages of the nodes that should run the pod, rounded
up; if both come to 0, maxUnavailable is 1.
"""

from __future__ import annotations

import copy
import math

from . import podutil, scheduling

REVISION_LABEL = "controller-revision-hash"

DAEMON_TOLERATIONS = [
    {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute"},
    {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute"},
    {"key": "node.kubernetes.io/disk-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/memory-pressure", "operator": "Exists",
     "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/pid-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/unschedulable", "operator": "Exists", "effect": "NoSchedule"},
]
HOST_NETWORK_TOLERATION = {"key": "node.kubernetes.io/network-unavailable",
                           "operator": "Exists", "effect": "NoSchedule"}


def template_spec(ds: dict) -> dict:
    return ((ds.get("spec") or {}).get("template") or {}).get("spec") or {}


def daemon_pod_spec(ds: dict) -> dict:
    """The template's pod spec with the daemon tolerations added (none duplicated)."""
    spec = copy.deepcopy(template_spec(ds))
    tolerations = list(spec.get("tolerations") or [])
    wanted = list(DAEMON_TOLERATIONS)
    if spec.get("hostNetwork"):
        wanted.append(HOST_NETWORK_TOLERATION)
    for toleration in wanted:
        if not any(t.get("key") == toleration["key"] and t.get("effect") == toleration["effect"]
                   for t in tolerations):
            tolerations.append(dict(toleration))
    spec["tolerations"] = tolerations
    return spec


def should_run(pod_spec: dict, node: dict) -> tuple[bool, bool]:
    """(should a new daemon pod be placed here, may a running one stay)."""
    name = (node.get("metadata") or {}).get("name", "")
    if pod_spec.get("nodeName") and pod_spec["nodeName"] != name:
        return False, False
    if not scheduling.node_matches(pod_spec, node):
        return False, False
    taints = (node.get("spec") or {}).get("taints") or []
    tolerations = pod_spec.get("tolerations") or []
    if scheduling.untolerated(taints, tolerations, ("NoExecute",)):
        return False, False
    if scheduling.untolerated(taints, tolerations, ("NoSchedule",)):
        return False, True
    return True, True


def budget(ds: dict, desired: int) -> tuple[int, int]:
    """(maxSurge, maxUnavailable) in nodes."""
    rolling = ((ds.get("spec") or {}).get("updateStrategy") or {}).get("rollingUpdate") or {}

    def scaled(value, default) -> int:
        value = default if value is None else value
        if isinstance(value, str) and value.endswith("%"):
            return math.ceil(int(value[:-1]) * desired / 100)
        return int(value)

    surge, unavailable = scaled(rolling.get("maxSurge"), 0), scaled(
        rolling.get("maxUnavailable"), 1)
    if surge == 0 and unavailable == 0:
        unavailable = 1
    return surge, unavailable


def split(pods: list[dict], revision: str) -> tuple[dict | None, dict | None, bool]:
    """(new pod, old pod, ok) on one node; not ok with several of either kind."""
    new = old = None
    for pod in pods:
        if podutil.labels(pod).get(REVISION_LABEL) == revision:
            if new is not None:
                return None, None, False
            new = pod
        else:
            if old is not None:
                return None, None, False
            old = pod
    return new, old, True


def rolling_plan(ds: dict, by_node: dict[str, list[dict]], revision: str, desired: int,
                 min_ready: int, now) -> tuple[list[dict], list[str]]:
    """(old pods to delete, nodes to create a new pod on) for this step."""
    surge, unavailable = budget(ds, desired)
    to_delete: list[dict] = []
    if surge == 0:
        busy, replaceable, candidates = 0, [], []
        for pods in by_node.values():
            new, old, ok = split(pods, revision)
            if not ok or (new is None) == (old is None):
                busy += 1               # the manage step fixes this node first
            elif new is not None:
                busy += not podutil.is_available(new, min_ready, now)
            elif not podutil.is_available(old, min_ready, now):
                replaceable.append(old)
            elif busy < unavailable:
                candidates.append(old)
        room = min(max(unavailable - busy, 0), len(candidates))
        return replaceable + candidates[:room], []
    surging, allowed, candidates = 0, [], []
    for node, pods in by_node.items():
        new, old, ok = split(pods, revision)
        if not ok:
            surging += 1
            continue
        if old is None:
            continue
        if not podutil.is_available(old, min_ready, now):
            if new is None:
                allowed.append(node)
        elif new is not None:
            surging += 1
            if podutil.is_available(new, min_ready, now):
                to_delete.append(old)
        elif surging < surge:
            candidates.append(node)
    room = min(max(surge - surging, 0), len(candidates))
    return to_delete, allowed + candidates[:room]

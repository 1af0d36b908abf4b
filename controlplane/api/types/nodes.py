"""core/v1 Node: a machine running a Superlet, which registers it and reports its
status (capacity, conditions, addresses, system info) through nodes/status.

`kubectl get nodes` shows STATUS as kubectl does (`Ready`, `NotReady`, `Unknown`,
with `,SchedulingDisabled` when cordoned) and ROLES from the
`node-role.kubernetes.io/<role>` labels.
"""

from __future__ import annotations

import copy

from .. import errors, tables
from .. import validation as v
from ..registry import ResourceType, register
from ..schema import (
    BOOL,
    INT32,
    INT64,
    QUANTITY,
    STRING,
    TIME,
    Field,
    ListOf,
    MapOf,
    Struct,
)
from .metav1 import top_level
from .podspec_validation import TAINT_EFFECTS, ip_address

CORE = "io.k8s.api.core.v1."
ROLE_PREFIX = "node-role.kubernetes.io/"

TAINT = Struct(CORE + "Taint", "The node this Taint is attached to has the \"effect\" on any "
               "pod that does not tolerate the Taint.", {
    "key": Field(STRING, "Required. The taint key to be applied to a node.", required=True),
    "value": Field(STRING, "The taint value corresponding to the taint key."),
    "effect": Field(STRING, "Required. The effect of the taint on pods that do not tolerate "
                    "the taint: NoSchedule, PreferNoSchedule and NoExecute.", required=True),
    "timeAdded": Field(TIME, "TimeAdded represents the time at which the taint was added."),
})

NODE_CONDITION = Struct(CORE + "NodeCondition", "NodeCondition contains condition information "
                        "for a node.", {
    "type": Field(STRING, "Type of node condition: Ready, MemoryPressure, DiskPressure, "
                  "PIDPressure, NetworkUnavailable.", required=True),
    "status": Field(STRING, "Status of the condition, one of True, False, Unknown.",
                    required=True),
    "lastHeartbeatTime": Field(TIME, "Last time we got an update on a given condition."),
    "lastTransitionTime": Field(TIME, "Last time the condition transit from one status to "
                                "another."),
    "reason": Field(STRING, "(brief) reason for the condition's last transition."),
    "message": Field(STRING, "Human readable message indicating details about last "
                     "transition."),
})

NODE_ADDRESS = Struct(CORE + "NodeAddress", "NodeAddress contains information for the node's "
                      "address.", {
    "type": Field(STRING, "Node address type, one of Hostname, ExternalIP or InternalIP.",
                  required=True),
    "address": Field(STRING, "The node address.", required=True),
})

NODE_SYSTEM_INFO = Struct(CORE + "NodeSystemInfo", "NodeSystemInfo is a set of ids/uuids to "
                          "uniquely identify the node.", {
    key: Field(STRING, doc, required=True) for key, doc in (
        ("machineID", "MachineID reported by the node (/etc/machine-id)."),
        ("systemUUID", "SystemUUID reported by the node."),
        ("bootID", "Boot ID reported by the node."),
        ("kernelVersion", "Kernel Version reported by the node from 'uname -r'."),
        ("osImage", "OS Image reported by the node from /etc/os-release."),
        ("containerRuntimeVersion", "ContainerRuntime Version reported by the node."),
        ("kubeletVersion", "Kubelet Version reported by the node."),
        ("kubeProxyVersion", "Deprecated: KubeProxy Version reported by the node."),
        ("operatingSystem", "The Operating System reported by the node"),
        ("architecture", "The Architecture reported by the node"),
    )
})

NODE_SPEC = Struct(CORE + "NodeSpec", "NodeSpec describes the attributes that a node is "
                   "created with.", {
    "podCIDR": Field(STRING, "PodCIDR represents the pod IP range assigned to the node."),
    "podCIDRs": Field(ListOf(STRING, strategy="merge", list_type="set"), "podCIDRs "
                      "represents the IP ranges assigned to the node for usage by Pods on "
                      "that node."),
    "providerID": Field(STRING, "ID of the node assigned by the cloud provider."),
    "unschedulable": Field(BOOL, "Unschedulable controls node schedulability of new pods. "
                           "By default, node is schedulable."),
    "taints": Field(ListOf(TAINT, list_type="atomic"), "If specified, the node's taints."),
    "externalID": Field(STRING, "Deprecated. Not all kubelets will set this field."),
})

NODE_STATUS = Struct(CORE + "NodeStatus", "NodeStatus is information about the current "
                     "status of a node.", {
    "capacity": Field(MapOf(QUANTITY), "Capacity represents the total resources of a node."),
    "allocatable": Field(MapOf(QUANTITY), "Allocatable represents the resources of a node "
                         "that are available for scheduling. Defaults to Capacity."),
    "phase": Field(STRING, "NodePhase is the recently observed lifecycle phase of the node. "
                   "Deprecated."),
    "conditions": Field(ListOf(NODE_CONDITION, merge_key="type", strategy="merge",
                               list_type="map", map_keys=("type",)),
                        "Conditions is an array of current observed node conditions."),
    "addresses": Field(ListOf(NODE_ADDRESS, merge_key="type", strategy="merge",
                              list_type="map", map_keys=("type",)),
                       "List of addresses reachable to the node."),
    "daemonEndpoints": Field(Struct(CORE + "NodeDaemonEndpoints", "NodeDaemonEndpoints lists "
                                    "ports opened by daemons running on the Node.", {
        "kubeletEndpoint": Field(Struct(CORE + "DaemonEndpoint", "DaemonEndpoint contains "
                                        "information about a single Daemon endpoint.", {
            "Port": Field(INT32, "Port number of the given endpoint.", required=True),
        }), "Endpoint on which Kubelet is listening."),
    }), "Endpoints of daemons running on the Node."),
    "nodeInfo": Field(NODE_SYSTEM_INFO, "Set of ids/uuids to uniquely identify the node."),
    "images": Field(ListOf(Struct(CORE + "ContainerImage", "Describe a container image", {
        "names": Field(ListOf(STRING, list_type="atomic"), "Names by which this image is "
                       "known."),
        "sizeBytes": Field(INT64, "The size of the image in bytes."),
    }), list_type="atomic"), "List of container images on this node"),
    "volumesInUse": Field(ListOf(STRING, list_type="atomic"), "List of attachable volumes in "
                          "use (mounted) by the node."),
    "volumesAttached": Field(ListOf(Struct(CORE + "AttachedVolume", "AttachedVolume "
                                           "describes a volume attached to a node", {
        "name": Field(STRING, "Name of the attached volume", required=True),
        "devicePath": Field(STRING, "DevicePath represents the device path where the volume "
                            "should be available", required=True),
    }), list_type="atomic"), "List of volumes that are attached to the node."),
})

NODE = top_level(CORE + "Node", "Node is a worker node in Kubernetes. Each node will have a "
                 "unique identifier in the cache (i.e. in etcd).", ("", "v1", "Node"),
                 NODE_SPEC, NODE_STATUS, "Spec defines the behavior of a node.",
                 "Most recently observed status of the node. Populated by the system.")


def default(node: dict) -> None:
    status = node.get("status")
    if isinstance(status, dict) and "allocatable" not in status and status.get("capacity"):
        status["allocatable"] = copy.deepcopy(status["capacity"])


def _taints(path: str, taints) -> list:
    found = []
    seen = set()
    for i, taint in enumerate(taints or []):
        here = f"{path}[{i}]"
        found += v.name(f"{here}.key", taint.get("key", ""), v.label_key)
        if taint.get("value"):
            found += v.each(f"{here}.value", taint["value"], v.label_value)
        found += v.one_of(f"{here}.effect", taint.get("effect"), TAINT_EFFECTS)
        pair = (taint.get("key"), taint.get("effect"))
        if pair in seen:
            found.append(errors.duplicate(here, f"{pair[0]}:{pair[1]}"))
        seen.add(pair)
    return found


def validate(node: dict, old: dict | None = None, subresource: str = "") -> list:
    found = v.meta_for(node, old, namespaced=False)
    spec, status = node.get("spec") or {}, node.get("status") or {}
    found += _taints("spec.taints", spec.get("taints"))
    if old is not None:
        old_spec = old.get("spec") or {}
        # podCIDR may be set once (by the node IPAM), never changed.
        if old_spec.get("podCIDR") and spec.get("podCIDR") != old_spec["podCIDR"]:
            found.append(errors.forbidden("spec.podCIDR", "node updates may not change "
                                          "podCIDR except from \"\" to valid"))
    for kind in ("capacity", "allocatable"):
        for name, value in (status.get(kind) or {}).items():
            found += v.quantity(f"status.{kind}[{name}]", value)
    for i, addr in enumerate(status.get("addresses") or []):
        if addr.get("type") in ("InternalIP", "ExternalIP"):
            found += ip_address(f"status.addresses[{i}].address", addr.get("address"))
    return found


def node_status(node: dict) -> str:
    """Ready / NotReady / Unknown, plus SchedulingDisabled when cordoned."""
    ready = None
    for cond in (node.get("status") or {}).get("conditions") or []:
        if cond.get("type") == "Ready":
            ready = cond.get("status")
    states = [{"True": "Ready", "False": "NotReady"}.get(ready, "Unknown")]
    if (node.get("spec") or {}).get("unschedulable"):
        states.append("SchedulingDisabled")
    return ",".join(states)


def roles(node: dict) -> str:
    found = set()
    for key, value in ((node.get("metadata") or {}).get("labels") or {}).items():
        if key.startswith(ROLE_PREFIX) and key[len(ROLE_PREFIX):]:
            found.add(key[len(ROLE_PREFIX):])
        elif key == "kubernetes.io/role" and value:
            found.add(value)
    return ",".join(sorted(found)) or "<none>"


def _address(node: dict, kind: str) -> str:
    for addr in (node.get("status") or {}).get("addresses") or []:
        if addr.get("type") == kind:
            return addr.get("address", "")
    return "<none>"


COLUMNS = [
    tables.NAME,
    tables.column("Status", "string", "The status of the node"),
    tables.column("Roles", "string", "The roles of the node"),
    tables.AGE,
    tables.column("Version", "string", "Kubelet Version reported by the node."),
    tables.column("Internal-IP", "string", "List of addresses reachable to the node.",
                  priority=1),
    tables.column("External-IP", "string", "List of addresses reachable to the node.",
                  priority=1),
    tables.column("OS-Image", "string", "OS Image reported by the node from "
                  "/etc/os-release.", priority=1),
    tables.column("Kernel-Version", "string", "Kernel Version reported by the node from "
                  "'uname -r'.", priority=1),
    tables.column("Container-Runtime", "string", "ContainerRuntime Version reported by the "
                  "node.", priority=1),
]


def _row(node: dict) -> list:
    info = (node.get("status") or {}).get("nodeInfo") or {}
    return [tables.name(node), node_status(node), roles(node), tables.age(node),
            info.get("kubeletVersion", ""), _address(node, "InternalIP"),
            _address(node, "ExternalIP"), info.get("osImage") or "<unknown>",
            info.get("kernelVersion") or "<unknown>",
            info.get("containerRuntimeVersion") or "<unknown>"]


def table(objs: list[dict], wide: bool = True):
    return tables.build(COLUMNS, _row, objs, wide)


def fields(node: dict, path: str) -> str | None:
    if path == "spec.unschedulable":
        return "true" if (node.get("spec") or {}).get("unschedulable") else "false"
    return None


NODES = register(ResourceType(
    "", "v1", "Node", "nodes", "node", False, NODE, short_names=("no",),
    subresources=("status", "proxy"), defaulter=default, validator=validate, tabler=table,
    fields=fields, field_paths=("spec.unschedulable",)))

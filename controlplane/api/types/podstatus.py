"""core/v1 PodStatus: phase, conditions, IPs and the state of every container,
as the node agent reports it through the pods/status subresource.
"""

from __future__ import annotations

from ..schema import BOOL, INT32, INT64, QUANTITY, STRING, TIME, Field, ListOf, MapOf, Struct
from .containers import RESOURCE_REQUIREMENTS

CORE = "io.k8s.api.core.v1."

POD_CONDITION = Struct(CORE + "PodCondition", "PodCondition contains details for the current "
                       "condition of this pod.", {
    "type": Field(STRING, "Type is the type of the condition: PodScheduled, "
                  "PodReadyToStartContainers, Initialized, ContainersReady, Ready.",
                  required=True),
    "observedGeneration": Field(INT64, "the .metadata.generation that the pod condition was "
                                "set based upon."),
    "status": Field(STRING, "Status is the status of the condition. Can be True, False, "
                    "Unknown.", required=True),
    "lastProbeTime": Field(TIME, "Last time we probed the condition."),
    "lastTransitionTime": Field(TIME, "Last time the condition transitioned from one status "
                                "to another."),
    "reason": Field(STRING, "Unique, one-word, CamelCase reason for the condition's last "
                    "transition."),
    "message": Field(STRING, "Human-readable message indicating details about last "
                     "transition."),
})

IP = Struct(CORE + "PodIP", "PodIP represents a single IP address allocated to the pod.", {
    "ip": Field(STRING, "IP is the IP address assigned to the pod", required=True),
})
HOST_IP = Struct(CORE + "HostIP", "HostIP represents a single IP address allocated to the "
                 "host.", {
    "ip": Field(STRING, "IP is the IP address assigned to the host", required=True),
})

STATE_WAITING = Struct(CORE + "ContainerStateWaiting", "ContainerStateWaiting is a waiting "
                       "state of a container.", {
    "reason": Field(STRING, "(brief) reason the container is not yet running, e.g. "
                    "ContainerCreating, ErrImagePull, CrashLoopBackOff."),
    "message": Field(STRING, "Message regarding why the container is not yet running."),
})
STATE_RUNNING = Struct(CORE + "ContainerStateRunning", "ContainerStateRunning is a running "
                       "state of a container.", {
    "startedAt": Field(TIME, "Time at which the container was last (re-)started"),
})
STATE_TERMINATED = Struct(CORE + "ContainerStateTerminated", "ContainerStateTerminated is a "
                          "terminated state of a container.", {
    "exitCode": Field(INT32, "Exit status from the last termination of the container",
                      required=True),
    "signal": Field(INT32, "Signal from the last termination of the container"),
    "reason": Field(STRING, "(brief) reason from the last termination of the container, "
                    "e.g. Completed, Error, OOMKilled."),
    "message": Field(STRING, "Message regarding the last termination of the container"),
    "startedAt": Field(TIME, "Time at which previous execution of the container started"),
    "finishedAt": Field(TIME, "Time at which the container last terminated"),
    "containerID": Field(STRING, "Container's ID in the format '<type>://<container_id>'"),
})
CONTAINER_STATE = Struct(CORE + "ContainerState", "ContainerState holds a possible state of "
                         "container. Only one of its members may be specified.", {
    "waiting": Field(STATE_WAITING, "Details about a waiting container"),
    "running": Field(STATE_RUNNING, "Details about a running container"),
    "terminated": Field(STATE_TERMINATED, "Details about a terminated container"),
})

VOLUME_MOUNT_STATUS = Struct(CORE + "VolumeMountStatus", "VolumeMountStatus shows status of "
                             "volume mounts.", {
    "name": Field(STRING, "Name corresponds to the name of the original VolumeMount.",
                  required=True),
    "mountPath": Field(STRING, "MountPath corresponds to the original VolumeMount.",
                       required=True),
    "readOnly": Field(BOOL, "ReadOnly corresponds to the original VolumeMount."),
    "recursiveReadOnly": Field(STRING, "RecursiveReadOnly must be set to Disabled, Enabled, "
                               "or unspecified."),
})

CONTAINER_STATUS = Struct(CORE + "ContainerStatus", "ContainerStatus contains details for "
                          "the current status of this container.", {
    "name": Field(STRING, "Name is a DNS_LABEL representing the unique name of the "
                  "container.", required=True),
    "state": Field(CONTAINER_STATE, "State holds details about the container's current "
                   "condition."),
    "lastState": Field(CONTAINER_STATE, "LastTerminationState holds the last termination "
                       "state of the container."),
    "ready": Field(BOOL, "Ready specifies whether the container is currently passing its "
                   "readiness check.", required=True),
    "restartCount": Field(INT32, "RestartCount holds the number of times the container has "
                          "been restarted.", required=True),
    "image": Field(STRING, "Image is the name of container image that the container is "
                   "running.", required=True),
    "imageID": Field(STRING, "ImageID is the image ID of the container's image.",
                     required=True),
    "containerID": Field(STRING, "ContainerID is the ID of the container in the format "
                         "'<type>://<container_id>'."),
    "started": Field(BOOL, "Started indicates whether the container has finished its "
                     "postStart lifecycle hook and passed its startup probe."),
    "allocatedResources": Field(MapOf(QUANTITY), "AllocatedResources represents the compute "
                                "resources allocated for this container by the node."),
    "resources": Field(RESOURCE_REQUIREMENTS, "Resources represents the compute resource "
                       "requests and limits that have been successfully enacted."),
    "volumeMounts": Field(ListOf(VOLUME_MOUNT_STATUS, merge_key="mountPath",
                                 strategy="merge", list_type="map",
                                 map_keys=("mountPath",)),
                          "Status of volume mounts."),
    "stopSignal": Field(STRING, "StopSignal reports the effective stop signal for this "
                        "container"),
})

POD_STATUS = Struct(CORE + "PodStatus", "PodStatus represents information about the status "
                    "of a pod. Status may trail the actual state of a system.", {
    "observedGeneration": Field(INT64, "the .metadata.generation that the pod status was set "
                                "based upon."),
    "phase": Field(STRING, "The phase of a Pod is a simple, high-level summary of where the "
                   "Pod is in its lifecycle: Pending, Running, Succeeded, Failed, Unknown."),
    "conditions": Field(ListOf(POD_CONDITION, merge_key="type", strategy="merge",
                               list_type="map", map_keys=("type",)),
                        "Current service state of pod."),
    "message": Field(STRING, "A human readable message indicating details about why the pod "
                     "is in this condition."),
    "reason": Field(STRING, "A brief CamelCase message indicating details about why the pod "
                    "is in this state. e.g. 'Evicted'"),
    "nominatedNodeName": Field(STRING, "nominatedNodeName is set only when this pod preempts "
                               "other pods on the node."),
    "hostIP": Field(STRING, "hostIP holds the IP address of the host to which the pod is "
                    "assigned."),
    "hostIPs": Field(ListOf(HOST_IP, list_type="atomic"), "hostIPs holds the IP addresses "
                     "allocated to the host."),
    "podIP": Field(STRING, "podIP address allocated to the pod. Routable at least within the "
                   "cluster. Empty if not yet allocated."),
    "podIPs": Field(ListOf(IP, merge_key="ip", strategy="merge", list_type="map",
                           map_keys=("ip",)),
                    "podIPs holds the IP addresses allocated to the pod."),
    "startTime": Field(TIME, "RFC 3339 date and time at which the object was acknowledged by "
                       "the Kubelet."),
    "initContainerStatuses": Field(ListOf(CONTAINER_STATUS, list_type="atomic"),
                                   "The list has one entry per init container in the "
                                   "manifest."),
    "containerStatuses": Field(ListOf(CONTAINER_STATUS, list_type="atomic"),
                               "The list has one entry per container in the manifest."),
    "ephemeralContainerStatuses": Field(ListOf(CONTAINER_STATUS, list_type="atomic"),
                                        "Status for any ephemeral containers that have run "
                                        "in this pod."),
    "qosClass": Field(STRING, "The Quality of Service (QOS) classification assigned to the "
                      "pod based on resource requirements: Guaranteed, Burstable or "
                      "BestEffort."),
    "resize": Field(STRING, "Status of resources resize desired for pod's containers."),
})

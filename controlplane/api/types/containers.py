"""core/v1 Container and what a container spec holds: ports, env, resources,
probes, lifecycle hooks, volume mounts and the security context.

Only the schema lives here; the pod spec's defaulting and validation (which walk
these structs) are in `podspec_defaults.py` and `podspec_validation.py`.
"""

from __future__ import annotations

from ..schema import (
    BOOL,
    INT32,
    INT64,
    INT_OR_STRING,
    QUANTITY,
    STRING,
    Field,
    ListOf,
    MapOf,
    Struct,
)
from .metav1 import LOCAL_OBJECT_REFERENCE

CORE = "io.k8s.api.core.v1."

CONTAINER_PORT = Struct(CORE + "ContainerPort", "ContainerPort represents a network port in "
                        "a single container.", {
    "name": Field(STRING, "If specified, this must be an IANA_SVC_NAME and unique within the "
                  "pod. Each named port in a pod must have a unique name."),
    "hostPort": Field(INT32, "Number of port to expose on the host. If specified, this must "
                      "be a valid port number, 0 < x < 65536."),
    "containerPort": Field(INT32, "Number of port to expose on the pod's IP address. This "
                           "must be a valid port number, 0 < x < 65536.", required=True),
    "protocol": Field(STRING, "Protocol for port. Must be UDP, TCP, or SCTP. Defaults to "
                      "\"TCP\".", default="TCP"),
    "hostIP": Field(STRING, "What host IP to bind the external port to."),
})

OBJECT_FIELD_SELECTOR = Struct(CORE + "ObjectFieldSelector", "ObjectFieldSelector selects an "
                               "APIVersioned field of an object.", {
    "apiVersion": Field(STRING, "Version of the schema the FieldPath is written in terms of, "
                        "defaults to \"v1\".", default="v1"),
    "fieldPath": Field(STRING, "Path of the field to select in the specified API version.",
                       required=True),
})

RESOURCE_FIELD_SELECTOR = Struct(CORE + "ResourceFieldSelector", "ResourceFieldSelector "
                                 "represents container resources (cpu, memory) and their "
                                 "output format.", {
    "containerName": Field(STRING, "Container name: required for volumes, optional for env "
                           "vars."),
    "resource": Field(STRING, "Required: resource to select.", required=True),
    "divisor": Field(QUANTITY, "Specifies the output format of the exposed resources, "
                     "defaults to \"1\"."),
})


def _key_selector(name: str, what: str) -> Struct:
    return Struct(CORE + name, f"Selects a key from a {what}.", {
        "name": Field(STRING, "Name of the referent."),
        "key": Field(STRING, f"The key of the {what} to select from.", required=True),
        "optional": Field(BOOL, f"Specify whether the {what} or its key must be defined."),
    })


ENV_VAR_SOURCE = Struct(CORE + "EnvVarSource", "EnvVarSource represents a source for the "
                        "value of an EnvVar.", {
    "fieldRef": Field(OBJECT_FIELD_SELECTOR, "Selects a field of the pod: metadata.name, "
                      "metadata.namespace, metadata.labels['<KEY>'], "
                      "metadata.annotations['<KEY>'], spec.nodeName, "
                      "spec.serviceAccountName, status.hostIP, status.podIP, status.podIPs."),
    "resourceFieldRef": Field(RESOURCE_FIELD_SELECTOR, "Selects a resource of the container: "
                              "only resources limits and requests are supported."),
    "configMapKeyRef": Field(_key_selector("ConfigMapKeySelector", "ConfigMap"),
                             "Selects a key of a ConfigMap."),
    "secretKeyRef": Field(_key_selector("SecretKeySelector", "secret"),
                          "Selects a key of a secret in the pod's namespace"),
})

ENV_VAR = Struct(CORE + "EnvVar", "EnvVar represents an environment variable present in a "
                 "Container.", {
    "name": Field(STRING, "Name of the environment variable.", required=True),
    "value": Field(STRING, "Variable references $(VAR_NAME) are expanded using the "
                   "previously defined environment variables in the container. Defaults to "
                   "\"\"."),
    "valueFrom": Field(ENV_VAR_SOURCE, "Source for the environment variable's value. Cannot "
                       "be used if value is not empty."),
})


def _env_source(name: str, what: str) -> Struct:
    return Struct(CORE + name, f"Selects a {what} to populate the environment variables with.",
                  {"name": Field(STRING, "Name of the referent."),
                   "optional": Field(BOOL, f"Specify whether the {what} must be defined")})


ENV_FROM_SOURCE = Struct(CORE + "EnvFromSource", "EnvFromSource represents the source of a "
                         "set of ConfigMaps or Secrets", {
    "prefix": Field(STRING, "Optional text to prepend to the name of each environment "
                    "variable."),
    "configMapRef": Field(_env_source("ConfigMapEnvSource", "ConfigMap"),
                          "The ConfigMap to select from"),
    "secretRef": Field(_env_source("SecretEnvSource", "Secret"), "The Secret to select from"),
})

RESOURCE_CLAIM = Struct(CORE + "ResourceClaim", "ResourceClaim references one entry in "
                        "PodSpec.ResourceClaims.", {
    "name": Field(STRING, "Name must match the name of one entry in "
                  "pod.spec.resourceClaims of the Pod where this field is used.",
                  required=True),
    "request": Field(STRING, "Request is the name chosen for a request in the referenced "
                     "claim."),
})

RESOURCE_REQUIREMENTS = Struct(CORE + "ResourceRequirements", "ResourceRequirements "
                               "describes the compute resource requirements.", {
    "limits": Field(MapOf(QUANTITY), "Limits describes the maximum amount of compute "
                    "resources allowed."),
    "requests": Field(MapOf(QUANTITY), "Requests describes the minimum amount of compute "
                      "resources required. If Requests is omitted for a container, it "
                      "defaults to Limits if that is explicitly specified."),
    "claims": Field(ListOf(RESOURCE_CLAIM, list_type="map", map_keys=("name",)),
                    "Claims lists the names of resources, defined in spec.resourceClaims, "
                    "that are used by this container."),
})

RESIZE_POLICY = Struct(CORE + "ContainerResizePolicy", "ContainerResizePolicy represents "
                       "resource resize policy for the container.", {
    "resourceName": Field(STRING, "Name of the resource to which this resource resize "
                          "policy applies: cpu, memory.", required=True),
    "restartPolicy": Field(STRING, "Restart policy to apply when specified resource is "
                           "resized: NotRequired or RestartContainer.", required=True),
})

VOLUME_MOUNT = Struct(CORE + "VolumeMount", "VolumeMount describes a mounting of a Volume "
                      "within a container.", {
    "name": Field(STRING, "This must match the Name of a Volume.", required=True),
    "readOnly": Field(BOOL, "Mounted read-only if true, read-write otherwise (false or "
                      "unspecified). Defaults to false."),
    "recursiveReadOnly": Field(STRING, "Whether read-only mounts are made recursively "
                               "read-only: Disabled, IfPossible or Enabled."),
    "mountPath": Field(STRING, "Path within the container at which the volume should be "
                       "mounted. Must not contain ':'.", required=True),
    "subPath": Field(STRING, "Path within the volume from which the container's volume "
                     "should be mounted. Defaults to \"\" (volume's root)."),
    "mountPropagation": Field(STRING, "Determines how mounts are propagated from the host to "
                              "container and the other way around: None, HostToContainer or "
                              "Bidirectional."),
    "subPathExpr": Field(STRING, "Expanded path within the volume from which the container's "
                         "volume should be mounted, with $(VAR_NAME) references."),
})

VOLUME_DEVICE = Struct(CORE + "VolumeDevice", "volumeDevice describes a mapping of a raw "
                       "block device within a container.", {
    "name": Field(STRING, "name must match the name of a persistentVolumeClaim in the pod",
                  required=True),
    "devicePath": Field(STRING, "devicePath is the path inside of the container that the "
                        "device will be mapped to.", required=True),
})

EXEC_ACTION = Struct(CORE + "ExecAction", "ExecAction describes a \"run in container\" "
                     "action.", {
    "command": Field(ListOf(STRING, list_type="atomic"), "Command is the command line to "
                     "execute inside the container; it is not run in a shell. Exit status "
                     "0 is treated as live/healthy and non-zero is unhealthy."),
})

HTTP_HEADER = Struct(CORE + "HTTPHeader", "HTTPHeader describes a custom header to be used "
                     "in HTTP probes", {
    "name": Field(STRING, "The header field name.", required=True),
    "value": Field(STRING, "The header field value", required=True),
})

HTTP_GET_ACTION = Struct(CORE + "HTTPGetAction", "HTTPGetAction describes an action based on "
                         "HTTP Get requests.", {
    "path": Field(STRING, "Path to access on the HTTP server.", default="/"),
    "port": Field(INT_OR_STRING, "Name or number of the port to access on the container. "
                  "Number must be in the range 1 to 65535.", required=True),
    "host": Field(STRING, "Host name to connect to, defaults to the pod IP."),
    "scheme": Field(STRING, "Scheme to use for connecting to the host. Defaults to HTTP.",
                    default="HTTP"),
    "httpHeaders": Field(ListOf(HTTP_HEADER, list_type="atomic"), "Custom headers to set in "
                         "the request. HTTP allows repeated headers."),
})

TCP_SOCKET_ACTION = Struct(CORE + "TCPSocketAction", "TCPSocketAction describes an action "
                           "based on opening a socket", {
    "port": Field(INT_OR_STRING, "Number or name of the port to access on the container.",
                  required=True),
    "host": Field(STRING, "Optional: Host name to connect to, defaults to the pod IP."),
})

GRPC_ACTION = Struct(CORE + "GRPCAction", "GRPCAction specifies an action involving a GRPC "
                     "service.", {
    "port": Field(INT32, "Port number of the gRPC service.", required=True),
    "service": Field(STRING, "Service is the name of the service to place in the gRPC "
                     "HealthCheckRequest."),
})

SLEEP_ACTION = Struct(CORE + "SleepAction", "SleepAction describes a \"sleep\" action.", {
    "seconds": Field(INT64, "Seconds is the number of seconds to sleep.", required=True),
})

PROBE = Struct(CORE + "Probe", "Probe describes a health check to be performed against a "
               "container to determine whether it is alive or ready to receive traffic.", {
    "exec": Field(EXEC_ACTION, "Exec specifies a command to execute in the container."),
    "httpGet": Field(HTTP_GET_ACTION, "HTTPGet specifies an HTTP GET request to perform."),
    "tcpSocket": Field(TCP_SOCKET_ACTION, "TCPSocket specifies a connection to a TCP port."),
    "grpc": Field(GRPC_ACTION, "GRPC specifies a GRPC HealthCheckRequest."),
    "initialDelaySeconds": Field(INT32, "Number of seconds after the container has started "
                                 "before liveness probes are initiated."),
    "timeoutSeconds": Field(INT32, "Number of seconds after which the probe times out. "
                            "Defaults to 1 second. Minimum value is 1.", default=1),
    "periodSeconds": Field(INT32, "How often (in seconds) to perform the probe. Default to "
                           "10 seconds. Minimum value is 1.", default=10),
    "successThreshold": Field(INT32, "Minimum consecutive successes for the probe to be "
                              "considered successful after having failed. Defaults to 1. "
                              "Must be 1 for liveness and startup.", default=1),
    "failureThreshold": Field(INT32, "Minimum consecutive failures for the probe to be "
                              "considered failed after having succeeded. Defaults to 3.",
                              default=3),
    "terminationGracePeriodSeconds": Field(INT64, "Optional duration in seconds the pod "
                                           "needs to terminate gracefully upon probe "
                                           "failure."),
})

LIFECYCLE_HANDLER = Struct(CORE + "LifecycleHandler", "LifecycleHandler defines a specific "
                           "action that should be taken in a lifecycle hook. One and only "
                           "one of the fields, except TCPSocket must be specified.", {
    "exec": Field(EXEC_ACTION, "Exec specifies a command to execute in the container."),
    "httpGet": Field(HTTP_GET_ACTION, "HTTPGet specifies an HTTP GET request to perform."),
    "tcpSocket": Field(TCP_SOCKET_ACTION, "Deprecated. Not supported as a LifecycleHandler."),
    "sleep": Field(SLEEP_ACTION, "Sleep represents a duration that the container should "
                   "sleep."),
})

LIFECYCLE = Struct(CORE + "Lifecycle", "Lifecycle describes actions that the management "
                   "system should take in response to container lifecycle events.", {
    "postStart": Field(LIFECYCLE_HANDLER, "PostStart is called immediately after a container "
                       "is created. If the handler fails, the container is terminated and "
                       "restarted according to its restart policy."),
    "preStop": Field(LIFECYCLE_HANDLER, "PreStop is called immediately before a container is "
                     "terminated. The container is killed after the handler completes or "
                     "the grace period ends."),
    "stopSignal": Field(STRING, "StopSignal defines which signal will be sent to a container "
                        "when it is being stopped."),
})

CAPABILITIES = Struct(CORE + "Capabilities", "Adds and removes POSIX capabilities from "
                      "running containers.", {
    "add": Field(ListOf(STRING, list_type="atomic"), "Added capabilities"),
    "drop": Field(ListOf(STRING, list_type="atomic"), "Removed capabilities"),
})

SE_LINUX_OPTIONS = Struct(CORE + "SELinuxOptions", "SELinuxOptions are the labels to be "
                          "applied to the container", {
    "user": Field(STRING, "User is a SELinux user label that applies to the container."),
    "role": Field(STRING, "Role is a SELinux role label that applies to the container."),
    "type": Field(STRING, "Type is a SELinux type label that applies to the container."),
    "level": Field(STRING, "Level is SELinux level label that applies to the container."),
})

WINDOWS_OPTIONS = Struct(CORE + "WindowsSecurityContextOptions", "Windows-specific options "
                         "and credentials.", {
    "gmsaCredentialSpecName": Field(STRING, "Name of the GMSA credential spec to use."),
    "gmsaCredentialSpec": Field(STRING, "The GMSA credential spec contents."),
    "runAsUserName": Field(STRING, "The UserName in Windows to run the entrypoint."),
    "hostProcess": Field(BOOL, "Whether a container should be run as a 'Host Process'."),
})

SECCOMP_PROFILE = Struct(CORE + "SeccompProfile", "SeccompProfile defines a pod/container's "
                         "seccomp profile settings. Only one profile source may be set.", {
    "type": Field(STRING, "type indicates which kind of seccomp profile will be applied: "
                  "Localhost, RuntimeDefault or Unconfined.", required=True),
    "localhostProfile": Field(STRING, "a profile defined in a file on the node; only with "
                              "type Localhost."),
})

APP_ARMOR_PROFILE = Struct(CORE + "AppArmorProfile", "AppArmorProfile defines a pod or "
                           "container's AppArmor settings.", {
    "type": Field(STRING, "type indicates which kind of AppArmor profile will be applied: "
                  "Localhost, RuntimeDefault or Unconfined.", required=True),
    "localhostProfile": Field(STRING, "a profile loaded on the node; only with type "
                              "Localhost."),
})

SECURITY_CONTEXT = Struct(CORE + "SecurityContext", "SecurityContext holds security "
                          "configuration that will be applied to a container.", {
    "capabilities": Field(CAPABILITIES, "The capabilities to add/drop when running "
                          "containers. Defaults to the default set of capabilities granted "
                          "by the container runtime."),
    "privileged": Field(BOOL, "Run container in privileged mode. Processes in privileged "
                        "containers are essentially equivalent to root on the host. "
                        "Defaults to false."),
    "seLinuxOptions": Field(SE_LINUX_OPTIONS, "The SELinux context to be applied to the "
                            "container."),
    "windowsOptions": Field(WINDOWS_OPTIONS, "The Windows specific settings."),
    "runAsUser": Field(INT64, "The UID to run the entrypoint of the container process. "
                       "Defaults to user specified in image metadata if unspecified."),
    "runAsGroup": Field(INT64, "The GID to run the entrypoint of the container process."),
    "runAsNonRoot": Field(BOOL, "Indicates that the container must run as a non-root user."),
    "readOnlyRootFilesystem": Field(BOOL, "Whether this container has a read-only root "
                                    "filesystem. Default is false."),
    "allowPrivilegeEscalation": Field(BOOL, "Controls whether a process can gain more "
                                      "privileges than its parent process "
                                      "(no_new_privs)."),
    "procMount": Field(STRING, "procMount denotes the type of proc mount to use for the "
                       "containers: Default or Unmasked."),
    "seccompProfile": Field(SECCOMP_PROFILE, "The seccomp options to use by this container."),
    "appArmorProfile": Field(APP_ARMOR_PROFILE, "appArmorProfile is the AppArmor options to "
                             "use by this container."),
})

_CONTAINER_FIELDS = {
    "name": Field(STRING, "Name of the container specified as a DNS_LABEL. Each container in "
                  "a pod must have a unique name (DNS_LABEL). Cannot be updated.",
                  required=True),
    "image": Field(STRING, "Container image name. This field is optional to allow higher "
                   "level config management to default or override container images in "
                   "workload controllers like Deployments and StatefulSets."),
    "command": Field(ListOf(STRING, list_type="atomic"), "Entrypoint array. Not executed "
                     "within a shell. The container image's ENTRYPOINT is used if this is "
                     "not provided. Cannot be updated."),
    "args": Field(ListOf(STRING, list_type="atomic"), "Arguments to the entrypoint. The "
                  "container image's CMD is used if this is not provided. Cannot be "
                  "updated."),
    "workingDir": Field(STRING, "Container's working directory. If not specified, the "
                        "container runtime's default will be used. Cannot be updated."),
    "ports": Field(ListOf(CONTAINER_PORT, merge_key="containerPort", strategy="merge",
                          list_type="map", map_keys=("containerPort", "protocol")),
                   "List of ports to expose from the container. Cannot be updated."),
    "envFrom": Field(ListOf(ENV_FROM_SOURCE, list_type="atomic"), "List of sources to "
                     "populate environment variables in the container. Cannot be updated."),
    "env": Field(ListOf(ENV_VAR, merge_key="name", strategy="merge", list_type="map",
                        map_keys=("name",)),
                 "List of environment variables to set in the container. Cannot be "
                 "updated."),
    "resources": Field(RESOURCE_REQUIREMENTS, "Compute Resources required by this "
                       "container.", default={}),
    "resizePolicy": Field(ListOf(RESIZE_POLICY, list_type="atomic"), "Resources resize "
                          "policy for the container."),
    "restartPolicy": Field(STRING, "RestartPolicy defines the restart behavior of individual "
                           "containers in a pod. Only \"Always\" is allowed, for init "
                           "containers that keep running (sidecars)."),
    "volumeMounts": Field(ListOf(VOLUME_MOUNT, merge_key="mountPath", strategy="merge",
                                 list_type="map", map_keys=("mountPath",)),
                          "Pod volumes to mount into the container's filesystem. Cannot be "
                          "updated."),
    "volumeDevices": Field(ListOf(VOLUME_DEVICE, merge_key="devicePath", strategy="merge",
                                  list_type="map", map_keys=("devicePath",)),
                           "volumeDevices is the list of block devices to be used by the "
                           "container."),
    "livenessProbe": Field(PROBE, "Periodic probe of container liveness. Container will be "
                           "restarted if the probe fails. Cannot be updated."),
    "readinessProbe": Field(PROBE, "Periodic probe of container service readiness. "
                            "Container will be removed from service endpoints if the probe "
                            "fails. Cannot be updated."),
    "startupProbe": Field(PROBE, "StartupProbe indicates that the Pod has successfully "
                          "initialized. If specified, no other probes are executed until "
                          "this completes successfully."),
    "lifecycle": Field(LIFECYCLE, "Actions that the management system should take in "
                       "response to container lifecycle events. Cannot be updated."),
    "terminationMessagePath": Field(STRING, "Path at which the file to which the "
                                    "container's termination message will be written is "
                                    "mounted. Defaults to /dev/termination-log.",
                                    default="/dev/termination-log"),
    "terminationMessagePolicy": Field(STRING, "Indicate how the termination message should "
                                      "be populated: File or FallbackToLogsOnError. "
                                      "Defaults to File.", default="File"),
    "imagePullPolicy": Field(STRING, "Image pull policy. One of Always, Never, IfNotPresent. "
                             "Defaults to Always if :latest tag is specified, or "
                             "IfNotPresent otherwise. Cannot be updated."),
    "securityContext": Field(SECURITY_CONTEXT, "SecurityContext defines the security options "
                             "the container should be run with."),
    "stdin": Field(BOOL, "Whether this container should allocate a buffer for stdin in the "
                   "container runtime. Default is false."),
    "stdinOnce": Field(BOOL, "Whether the container runtime should close the stdin channel "
                       "after it has been opened by a single attach. Default is false."),
    "tty": Field(BOOL, "Whether this container should allocate a TTY for itself, also "
                 "requires 'stdin' to be true. Default is false."),
}

CONTAINER = Struct(CORE + "Container", "A single application container that you want to run "
                   "within a pod.", dict(_CONTAINER_FIELDS))

EPHEMERAL_CONTAINER = Struct(CORE + "EphemeralContainer", "An EphemeralContainer is a "
                             "temporary container that you may add to an existing Pod for "
                             "user-initiated activities such as debugging.", {
    **_CONTAINER_FIELDS,
    "targetContainerName": Field(STRING, "If set, the name of the container from PodSpec "
                                 "that this ephemeral container targets."),
})

IMAGE_PULL_SECRETS = ListOf(LOCAL_OBJECT_REFERENCE, merge_key="name", strategy="merge",
                            list_type="map", map_keys=("name",))

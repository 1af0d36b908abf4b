"""core/v1 PodSpec and PodTemplateSpec: scheduling (nodeSelector, affinity,
tolerations, topology spread), the pod-level security context, DNS and the
containers and volumes of `containers.py` and `volumes.py`.

Pods, Deployments, ReplicaSets, DaemonSets and Jobs all embed this spec.
"""

from __future__ import annotations

from ..schema import BOOL, INT32, INT64, QUANTITY, STRING, Field, ListOf, MapOf, Struct
from .containers import (
    APP_ARMOR_PROFILE,
    CONTAINER,
    EPHEMERAL_CONTAINER,
    IMAGE_PULL_SECRETS,
    RESOURCE_REQUIREMENTS,
    SE_LINUX_OPTIONS,
    SECCOMP_PROFILE,
    WINDOWS_OPTIONS,
)
from .metav1 import LABEL_SELECTOR, OBJECT_META
from .volumes import VOLUME

CORE = "io.k8s.api.core.v1."

NODE_SELECTOR_REQUIREMENT = Struct(CORE + "NodeSelectorRequirement", (
    "A node selector requirement is a selector that contains values, a key, and an operator "
    "that relates the key and values."), {
    "key": Field(STRING, "The label key that the selector applies to.", required=True),
    "operator": Field(STRING, "Represents a key's relationship to a set of values: In, NotIn, "
                      "Exists, DoesNotExist, Gt and Lt.", required=True),
    "values": Field(ListOf(STRING, list_type="atomic"), "An array of string values."),
})

NODE_SELECTOR_TERM = Struct(CORE + "NodeSelectorTerm", "A null or empty node selector term "
                            "matches no objects. The requirements of them are ANDed.", {
    "matchExpressions": Field(ListOf(NODE_SELECTOR_REQUIREMENT, list_type="atomic"),
                              "A list of node selector requirements by node's labels."),
    "matchFields": Field(ListOf(NODE_SELECTOR_REQUIREMENT, list_type="atomic"),
                         "A list of node selector requirements by node's fields."),
})

NODE_SELECTOR = Struct(CORE + "NodeSelector", "A node selector represents the union of the "
                       "results of one or more label queries over a set of nodes.", {
    "nodeSelectorTerms": Field(ListOf(NODE_SELECTOR_TERM, list_type="atomic"),
                               "Required. A list of node selector terms. The terms are ORed.",
                               required=True),
})

NODE_AFFINITY = Struct(CORE + "NodeAffinity", "Node affinity is a group of node affinity "
                       "scheduling rules.", {
    "requiredDuringSchedulingIgnoredDuringExecution": Field(NODE_SELECTOR, (
        "If the affinity requirements specified by this field are not met at scheduling "
        "time, the pod will not be scheduled onto the node.")),
    "preferredDuringSchedulingIgnoredDuringExecution": Field(ListOf(Struct(
        CORE + "PreferredSchedulingTerm", "An empty preferred scheduling term matches all "
        "objects with implicit weight 0.", {
            "weight": Field(INT32, "Weight associated with matching the corresponding "
                            "nodeSelectorTerm, in the range 1-100.", required=True),
            "preference": Field(NODE_SELECTOR_TERM, "A node selector term, associated with "
                                "the corresponding weight.", required=True),
        }), list_type="atomic"), "The scheduler will prefer to schedule pods to nodes that "
        "satisfy the affinity expressions specified by this field."),
})

POD_AFFINITY_TERM = Struct(CORE + "PodAffinityTerm", "Defines a set of pods that this pod "
                           "should be co-located (affinity) or not co-located (anti-affinity) "
                           "with.", {
    "labelSelector": Field(LABEL_SELECTOR, "A label query over a set of resources, in this "
                           "case pods."),
    "namespaces": Field(ListOf(STRING, list_type="atomic"), "namespaces specifies a static "
                        "list of namespace names that the term applies to."),
    "topologyKey": Field(STRING, "This pod should be co-located (affinity) or not co-located "
                         "(anti-affinity) with the pods matching the labelSelector in the "
                         "specified namespaces, where co-located is defined as running on a "
                         "node whose value of the label with key topologyKey matches.",
                         required=True),
    "namespaceSelector": Field(LABEL_SELECTOR, "A label query over the set of namespaces "
                               "that the term applies to."),
    "matchLabelKeys": Field(ListOf(STRING, list_type="atomic"), "pod label keys to select "
                            "which pods will be taken into consideration."),
    "mismatchLabelKeys": Field(ListOf(STRING, list_type="atomic"), "pod label keys to "
                               "select which pods will be taken into consideration."),
})

WEIGHTED_POD_AFFINITY_TERM = Struct(CORE + "WeightedPodAffinityTerm", "The weights of all "
                                    "of the matched WeightedPodAffinityTerm fields are added "
                                    "per-node to find the most preferred node(s)", {
    "weight": Field(INT32, "weight associated with matching the corresponding "
                    "podAffinityTerm, in the range 1-100.", required=True),
    "podAffinityTerm": Field(POD_AFFINITY_TERM, "Required. A pod affinity term, associated "
                             "with the corresponding weight.", required=True),
})


def _pod_affinity(name: str, doc: str) -> Struct:
    return Struct(CORE + name, doc, {
        "requiredDuringSchedulingIgnoredDuringExecution": Field(
            ListOf(POD_AFFINITY_TERM, list_type="atomic"),
            "If the requirements specified by this field are not met at scheduling time, "
            "the pod will not be scheduled onto the node."),
        "preferredDuringSchedulingIgnoredDuringExecution": Field(
            ListOf(WEIGHTED_POD_AFFINITY_TERM, list_type="atomic"),
            "The scheduler will prefer to schedule pods to nodes that satisfy these "
            "expressions, but it may choose a node that violates them."),
    })


AFFINITY = Struct(CORE + "Affinity", "Affinity is a group of affinity scheduling rules.", {
    "nodeAffinity": Field(NODE_AFFINITY, "Describes node affinity scheduling rules for the "
                          "pod."),
    "podAffinity": Field(_pod_affinity("PodAffinity", "Pod affinity is a group of inter pod "
                                       "affinity scheduling rules."),
                         "Describes pod affinity scheduling rules (e.g. co-locate this pod "
                         "in the same node, zone, etc. as some other pod(s))."),
    "podAntiAffinity": Field(_pod_affinity("PodAntiAffinity", "Pod anti affinity is a group "
                                           "of inter pod anti affinity scheduling rules."),
                             "Describes pod anti-affinity scheduling rules (e.g. avoid "
                             "putting this pod in the same node, zone, etc. as some other "
                             "pod(s))."),
})

TOLERATION = Struct(CORE + "Toleration", "The pod this Toleration is attached to tolerates "
                    "any taint that matches the triple <key,value,effect> using the matching "
                    "operator <operator>.", {
    "key": Field(STRING, "Key is the taint key that the toleration applies to. Empty means "
                 "match all taint keys."),
    "operator": Field(STRING, "Operator represents a key's relationship to the value: "
                      "Exists or Equal. Defaults to Equal."),
    "value": Field(STRING, "Value is the taint value the toleration matches to."),
    "effect": Field(STRING, "Effect indicates the taint effect to match. Empty means match "
                    "all taint effects: NoSchedule, PreferNoSchedule or NoExecute."),
    "tolerationSeconds": Field(INT64, "The period of time the toleration (which must be of "
                               "effect NoExecute) tolerates the taint."),
})

TOPOLOGY_SPREAD_CONSTRAINT = Struct(CORE + "TopologySpreadConstraint", (
    "TopologySpreadConstraint specifies how to spread matching pods among the given "
    "topology."), {
    "maxSkew": Field(INT32, "MaxSkew describes the degree to which pods may be unevenly "
                     "distributed.", required=True),
    "topologyKey": Field(STRING, "TopologyKey is the key of node labels.", required=True),
    "whenUnsatisfiable": Field(STRING, "indicates how to deal with a pod if it doesn't "
                               "satisfy the spread constraint: DoNotSchedule or "
                               "ScheduleAnyway.", required=True),
    "labelSelector": Field(LABEL_SELECTOR, "LabelSelector is used to find matching pods."),
    "minDomains": Field(INT32, "MinDomains indicates a minimum number of eligible domains."),
    "nodeAffinityPolicy": Field(STRING, "Honor or Ignore the pod's nodeAffinity/nodeSelector "
                                "when calculating skew."),
    "nodeTaintsPolicy": Field(STRING, "Honor or Ignore node taints when calculating skew."),
    "matchLabelKeys": Field(ListOf(STRING, list_type="atomic"), "pod label keys to select "
                            "the pods over which spreading will be calculated."),
})

_NAME_VALUE = {"name": Field(STRING, "Name.", required=True), "value": Field(STRING, "Value.")}

POD_SECURITY_CONTEXT = Struct(CORE + "PodSecurityContext", "PodSecurityContext holds "
                              "pod-level security attributes and common container settings.", {
    "seLinuxOptions": Field(SE_LINUX_OPTIONS, "The SELinux context to be applied to all "
                            "containers."),
    "windowsOptions": Field(WINDOWS_OPTIONS, "The Windows specific settings applied to all "
                            "containers."),
    "runAsUser": Field(INT64, "The UID to run the entrypoint of the container process."),
    "runAsGroup": Field(INT64, "The GID to run the entrypoint of the container process."),
    "runAsNonRoot": Field(BOOL, "Indicates that the container must run as a non-root user."),
    "supplementalGroups": Field(ListOf(INT64, list_type="atomic"), "A list of groups applied "
                                "to the first process run in each container."),
    "supplementalGroupsPolicy": Field(STRING, "How supplemental groups of the first "
                                      "container processes are calculated: Merge or Strict."),
    "fsGroup": Field(INT64, "A special supplemental group that applies to all containers in "
                     "a pod; volumes are owned by it."),
    "sysctls": Field(ListOf(Struct(CORE + "Sysctl", "Sysctl defines a kernel parameter to be "
                                   "set", dict(_NAME_VALUE)), list_type="atomic"),
                     "Sysctls hold a list of namespaced sysctls used for the pod."),
    "fsGroupChangePolicy": Field(STRING, "behavior of changing ownership and permission of "
                                 "the volume: OnRootMismatch or Always."),
    "seccompProfile": Field(SECCOMP_PROFILE, "The seccomp options to use by the containers "
                            "in this pod."),
    "appArmorProfile": Field(APP_ARMOR_PROFILE, "appArmorProfile is the AppArmor options to "
                             "use by the containers in this pod."),
    "seLinuxChangePolicy": Field(STRING, "how the container's SELinux label is applied to "
                                 "all volumes: Recursive or MountOption."),
})

POD_DNS_CONFIG = Struct(CORE + "PodDNSConfig", "PodDNSConfig defines the DNS parameters of a "
                        "pod in addition to those generated from DNSPolicy.", {
    "nameservers": Field(ListOf(STRING, list_type="atomic"), "A list of DNS name server IP "
                         "addresses."),
    "searches": Field(ListOf(STRING, list_type="atomic"), "A list of DNS search domains for "
                      "host-name lookup."),
    "options": Field(ListOf(Struct(CORE + "PodDNSConfigOption", "PodDNSConfigOption defines "
                                   "DNS resolver options of a pod.", {
        "name": Field(STRING, "Name is this DNS resolver option's name."),
        "value": Field(STRING, "Value is this DNS resolver option's value."),
    }), list_type="atomic"), "A list of DNS resolver options."),
})

HOST_ALIAS = Struct(CORE + "HostAlias", "HostAlias holds the mapping between IP and hostnames "
                    "that will be injected as an entry in the pod's hosts file.", {
    "ip": Field(STRING, "IP address of the host file entry.", required=True),
    "hostnames": Field(ListOf(STRING, list_type="atomic"), "Hostnames for the above IP "
                       "address."),
})

POD_RESOURCE_CLAIM = Struct(CORE + "PodResourceClaim", "PodResourceClaim references exactly "
                            "one ResourceClaim.", {
    "name": Field(STRING, "Name uniquely identifies this resource claim inside the pod.",
                  required=True),
    "resourceClaimName": Field(STRING, "the name of a ResourceClaim object in the same "
                               "namespace as this pod."),
    "resourceClaimTemplateName": Field(STRING, "the name of a ResourceClaimTemplate object "
                                       "in the same namespace as this pod."),
})

POD_SPEC = Struct(CORE + "PodSpec", "PodSpec is a description of a pod.", {
    "volumes": Field(ListOf(VOLUME, merge_key="name", strategy="merge,retainKeys",
                            list_type="map", map_keys=("name",)),
                     "List of volumes that can be mounted by containers belonging to the "
                     "pod."),
    "initContainers": Field(ListOf(CONTAINER, merge_key="name", strategy="merge",
                                   list_type="map", map_keys=("name",)),
                            "List of initialization containers belonging to the pod. Init "
                            "containers are executed in order prior to containers being "
                            "started. Cannot be updated."),
    "containers": Field(ListOf(CONTAINER, merge_key="name", strategy="merge",
                               list_type="map", map_keys=("name",)),
                        "List of containers belonging to the pod. There must be at least "
                        "one container in a Pod. Cannot be updated.", required=True),
    "ephemeralContainers": Field(ListOf(EPHEMERAL_CONTAINER, merge_key="name",
                                        strategy="merge", list_type="map",
                                        map_keys=("name",)),
                                 "List of ephemeral containers run in this pod, added with "
                                 "the ephemeralcontainers subresource."),
    "restartPolicy": Field(STRING, "Restart policy for all containers within the pod. One of "
                           "Always, OnFailure, Never. Default to Always.",
                           default="Always"),
    "terminationGracePeriodSeconds": Field(INT64, "Optional duration in seconds the pod "
                                           "needs to terminate gracefully. Defaults to 30 "
                                           "seconds.", default=30),
    "activeDeadlineSeconds": Field(INT64, "Optional duration in seconds the pod may be active "
                                   "on the node relative to StartTime before the system "
                                   "will actively try to mark it failed and kill associated "
                                   "containers."),
    "dnsPolicy": Field(STRING, "Set DNS policy for the pod. Defaults to \"ClusterFirst\". "
                       "Valid values are 'ClusterFirstWithHostNet', 'ClusterFirst', 'Default' "
                       "or 'None'.", default="ClusterFirst"),
    "nodeSelector": Field(MapOf(STRING), "NodeSelector is a selector which must be true for "
                          "the pod to fit on a node."),
    "serviceAccountName": Field(STRING, "ServiceAccountName is the name of the "
                                "ServiceAccount to use to run this pod."),
    "serviceAccount": Field(STRING, "DeprecatedServiceAccount is a deprecated alias for "
                            "ServiceAccountName."),
    "automountServiceAccountToken": Field(BOOL, "AutomountServiceAccountToken indicates "
                                          "whether a service account token should be "
                                          "automatically mounted."),
    "nodeName": Field(STRING, "NodeName indicates in which node this pod is scheduled. If "
                      "empty, this pod is a candidate for scheduling by the scheduler."),
    "hostNetwork": Field(BOOL, "Host networking requested for this pod. Use the host's "
                         "network namespace. Default to false."),
    "hostPID": Field(BOOL, "Use the host's pid namespace. Optional: Default to false."),
    "hostIPC": Field(BOOL, "Use the host's ipc namespace. Optional: Default to false."),
    "shareProcessNamespace": Field(BOOL, "Share a single process namespace between all of "
                                   "the containers in a pod."),
    "securityContext": Field(POD_SECURITY_CONTEXT, "SecurityContext holds pod-level security "
                             "attributes and common container settings.", default={}),
    "imagePullSecrets": Field(IMAGE_PULL_SECRETS, "ImagePullSecrets is an optional list of "
                              "references to secrets in the same namespace to use for "
                              "pulling any of the images used by this PodSpec."),
    "hostname": Field(STRING, "Specifies the hostname of the Pod. If not specified, the "
                      "pod's hostname will be set to a system-defined value."),
    "subdomain": Field(STRING, "If specified, the fully qualified Pod hostname will be "
                       "\"<hostname>.<subdomain>.<pod namespace>.svc.<cluster domain>\"."),
    "affinity": Field(AFFINITY, "If specified, the pod's scheduling constraints"),
    "schedulerName": Field(STRING, "If specified, the pod will be dispatched by specified "
                           "scheduler. If not specified, the pod will be dispatched by "
                           "default scheduler.", default="default-scheduler"),
    "tolerations": Field(ListOf(TOLERATION, list_type="atomic"), "If specified, the pod's "
                         "tolerations."),
    "hostAliases": Field(ListOf(HOST_ALIAS, merge_key="ip", strategy="merge",
                                list_type="map", map_keys=("ip",)),
                         "HostAliases is an optional list of hosts and IPs that will be "
                         "injected into the pod's hosts file."),
    "priorityClassName": Field(STRING, "If specified, indicates the pod's priority."),
    "priority": Field(INT32, "The priority value, populated from PriorityClassName by "
                      "admission."),
    "dnsConfig": Field(POD_DNS_CONFIG, "Specifies the DNS parameters of a pod."),
    "readinessGates": Field(ListOf(Struct(CORE + "PodReadinessGate", "PodReadinessGate "
                                          "contains the reference to a pod condition", {
        "conditionType": Field(STRING, "ConditionType refers to a condition in the pod's "
                               "condition list with matching type.", required=True),
    }), list_type="atomic"), "If specified, all readiness gates will be evaluated for pod "
        "readiness."),
    "runtimeClassName": Field(STRING, "RuntimeClassName refers to a RuntimeClass object in "
                              "the node.k8s.io group."),
    "enableServiceLinks": Field(BOOL, "EnableServiceLinks indicates whether information "
                                "about services should be injected into pod's environment "
                                "variables. Optional: Defaults to true."),
    "preemptionPolicy": Field(STRING, "PreemptionPolicy is the Policy for preempting pods "
                              "with lower priority: Never or PreemptLowerPriority."),
    "overhead": Field(MapOf(QUANTITY), "Overhead represents the resource overhead associated "
                      "with running a pod for a given RuntimeClass."),
    "topologySpreadConstraints": Field(ListOf(TOPOLOGY_SPREAD_CONSTRAINT,
                                              merge_key="topologyKey", strategy="merge",
                                              list_type="map",
                                              map_keys=("topologyKey", "whenUnsatisfiable")),
                                       "TopologySpreadConstraints describes how a group of "
                                       "pods ought to spread across topology domains."),
    "setHostnameAsFQDN": Field(BOOL, "If true the pod's hostname will be configured as the "
                               "pod's FQDN, rather than the leaf name (the default)."),
    "os": Field(Struct(CORE + "PodOS", "PodOS defines the OS parameters of a pod.", {
        "name": Field(STRING, "Name is the name of the operating system: linux or windows.",
                      required=True),
    }), "Specifies the OS of the containers in the pod."),
    "hostUsers": Field(BOOL, "Use the host's user namespace. Optional: Default to true."),
    "schedulingGates": Field(ListOf(Struct(CORE + "PodSchedulingGate", "PodSchedulingGate is "
                                           "associated to a Pod to guard its scheduling.", {
        "name": Field(STRING, "Name of the scheduling gate.", required=True),
    }), merge_key="name", strategy="merge", list_type="map", map_keys=("name",)),
        "SchedulingGates is an opaque list of values that if specified will block scheduling "
        "the pod."),
    "resourceClaims": Field(ListOf(POD_RESOURCE_CLAIM, merge_key="name",
                                   strategy="merge,retainKeys", list_type="map",
                                   map_keys=("name",)),
                            "ResourceClaims defines which ResourceClaims must be allocated "
                            "and reserved before the Pod is allowed to start."),
    "resources": Field(RESOURCE_REQUIREMENTS, "Resources is the total amount of CPU and "
                       "Memory resources required by all containers in the pod."),
    "hostnameOverride": Field(STRING, "HostnameOverride specifies an explicit override for "
                              "the pod's hostname as perceived by the pod."),
})

POD_TEMPLATE_SPEC = Struct(CORE + "PodTemplateSpec", "PodTemplateSpec describes the data a "
                           "pod should have when created from a template", {
    "metadata": Field(OBJECT_META, "Standard object's metadata."),
    "spec": Field(POD_SPEC, "Specification of the desired behavior of the pod."),
})

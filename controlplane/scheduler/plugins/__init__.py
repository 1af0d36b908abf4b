"""The filter and score plugins, one per file, registered under their Kubernetes names.

    filter                       score
    NodeUnschedulable            NodeResourcesFit (LeastAllocated | MostAllocated |
    TaintToleration              RequestedToCapacityRatio)
    NodeAffinity                 NodeResourcesBalancedAllocation
    NodePorts                    TaintToleration (PreferNoSchedule)
    NodeResourcesFit             NodeAffinity (preferred terms)
                                 PodTopologySpread (replicas of one owner)
"""

from . import (  # noqa: F401  (imported to register them)
    balanced_allocation,
    node_affinity,
    node_ports,
    node_resources_fit,
    node_unschedulable,
    pod_topology_spread,
    taint_toleration,
)

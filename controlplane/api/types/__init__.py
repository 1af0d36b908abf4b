"""The resource families. Importing this package registers every type.

One module per family:

- core/v1: `pods` (spec in `podspec`, `containers`, `volumes`; status in
  `podstatus`; table in `pod_table`), `namespaces`, `nodes`, `services`,
  `endpoints` (also discovery.k8s.io EndpointSlice), `config` (ConfigMap,
  Secret, ServiceAccount), `events`;
- apps/v1: `apps` (Deployment, ReplicaSet), `daemonsets`; batch/v1: `batch`;
  coordination.k8s.io/v1: `coordination`; autoscaling: `autoscaling` (HPA v2,
  Scale v1); networking.k8s.io/v1: `networking` (Ingress, NetworkPolicy) and
  `ingressclass`;
- `machinery`: Status, Table, DeleteOptions, WatchEvent.

Shared meta/v1 structs are in `metav1`; rules shared by the template-based
workloads in `workloads`.
"""

from . import (  # noqa: F401  (imported for registration)
    apps,
    autoscaling,
    batch,
    config,
    coordination,
    daemonsets,
    endpoints,
    events,
    ingressclass,
    machinery,
    namespaces,
    networking,
    nodes,
    pods,
    services,
)

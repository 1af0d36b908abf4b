"""coordination.k8s.io/v1 Lease: node heartbeats (kube-node-lease) and leader
election. A lease is renewed by rewriting `spec.renewTime`; there is no status.
"""

from __future__ import annotations

from .. import tables
from .. import validation as v
from ..registry import ResourceType, register
from ..schema import INT32, MICRO_TIME, STRING, Field, Struct
from .metav1 import top_level

COORDINATION = "io.k8s.api.coordination.v1."

LEASE = top_level(COORDINATION + "Lease", "Lease defines a lease concept.",
                  ("coordination.k8s.io", "v1", "Lease"),
    Struct(COORDINATION + "LeaseSpec", "LeaseSpec is a specification of a Lease.", {
        "holderIdentity": Field(STRING, "holderIdentity contains the identity of the holder "
                                "of a current lease."),
        "leaseDurationSeconds": Field(INT32, "leaseDurationSeconds is a duration that "
                                      "candidates for a lease need to wait to force acquire "
                                      "it, measured against the time of last observed "
                                      "renewTime."),
        "acquireTime": Field(MICRO_TIME, "acquireTime is a time when the current lease was "
                             "acquired."),
        "renewTime": Field(MICRO_TIME, "renewTime is a time when the current holder of a "
                           "lease has last updated the lease."),
        "leaseTransitions": Field(INT32, "leaseTransitions is the number of transitions of "
                                  "a lease between holders."),
        "strategy": Field(STRING, "Strategy indicates the strategy for picking the leader "
                          "for coordinated leader election."),
        "preferredHolder": Field(STRING, "PreferredHolder signals to a lease holder that "
                                 "the lease has a more optimal holder and should be given "
                                 "up."),
    }), spec_doc="spec contains the specification of the Lease.")


def validate(lease: dict, old: dict | None = None, subresource: str = "") -> list:
    found = v.meta_for(lease, old, namespaced=True)
    spec = lease.get("spec") or {}
    found += v.positive("spec.leaseDurationSeconds", spec.get("leaseDurationSeconds"))
    found += v.non_negative("spec.leaseTransitions", spec.get("leaseTransitions"))
    return found


LEASES = register(ResourceType(
    "coordination.k8s.io", "v1", "Lease", "leases", "lease", True, LEASE, has_status=False,
    validator=validate,
    tabler=lambda objs, wide=True: tables.build(
        [tables.NAME, tables.column("Holder", "string", "The holder of the lease"),
         tables.AGE],
        lambda lease: [tables.name(lease),
                       (lease.get("spec") or {}).get("holderIdentity", ""), tables.age(lease)],
        objs, wide)))

"""apps/v1 Deployment, ReplicaSet and DaemonSet: pods stamped from a template.

Defaults as Kubernetes' apps/v1: replicas 1, Deployment strategy RollingUpdate
with maxUnavailable/maxSurge 25%, revisionHistoryLimit 10,
progressDeadlineSeconds 600; DaemonSet updateStrategy RollingUpdate with
maxUnavailable 1 and maxSurge 0. The selector must match the template's labels
and is immutable. Deployments and ReplicaSets serve the `scale` subresource
(`autoscaling.py` converts to and from `Scale`).
"""

from __future__ import annotations

from .. import errors, tables
from .. import validation as v
from ..registry import ResourceType, register
from ..schema import BOOL, INT32, INT64, INT_OR_STRING, STRING, TIME, Field, ListOf, Struct
from . import workloads as w
from .metav1 import LABEL_SELECTOR, top_level
from .podspec import POD_TEMPLATE_SPEC
from .podspec_defaults import default_template

APPS = "io.k8s.api.apps.v1."


def condition_struct(name: str, what: str, update_time: bool = True) -> Struct:
    fields = {
        "type": Field(STRING, f"Type of {what} condition.", required=True),
        "status": Field(STRING, "Status of the condition, one of True, False, Unknown.",
                        required=True),
        "lastTransitionTime": Field(TIME, "Last time the condition transitioned from one "
                                    "status to another."),
        "reason": Field(STRING, "The reason for the condition's last transition."),
        "message": Field(STRING, "A human readable message indicating details about the "
                         "transition."),
    }
    if update_time:
        fields["lastUpdateTime"] = Field(TIME, "The last time this condition was updated.")
    return Struct(APPS + name, f"{name} describes the state of a {what} at a certain point.",
                  fields)


_CONDITIONS_DOC = "Represents the latest available observations of its current state."


def conditions_field(struct: Struct) -> Field:
    return Field(ListOf(struct, merge_key="type", strategy="merge", list_type="map",
                        map_keys=("type",)), _CONDITIONS_DOC)


SELECTOR = Field(LABEL_SELECTOR, "Label selector for pods. Existing ReplicaSets whose pods "
                  "are selected by this will be the ones affected by this deployment. It "
                  "must match the pod template's labels.", required=True)
TEMPLATE = Field(POD_TEMPLATE_SPEC, "Template describes the pods that will be created.",
                  required=True)
MIN_READY = Field(INT32, "Minimum number of seconds for which a newly created pod should be "
                   "ready without any of its container crashing, for it to be considered "
                   "available. Defaults to 0.")
HISTORY = Field(INT32, "The number of old history to retain to allow rollback. Defaults "
                 "to 10.", default=10)

DEPLOYMENT_STRATEGY = Struct(APPS + "DeploymentStrategy", "DeploymentStrategy describes how "
                             "to replace existing pods with new ones.", {
    "type": Field(STRING, "Type of deployment. Can be \"Recreate\" or \"RollingUpdate\". "
                  "Default is RollingUpdate."),
    "rollingUpdate": Field(Struct(APPS + "RollingUpdateDeployment", "Spec to control the "
                                  "desired behavior of rolling update.", {
        "maxUnavailable": Field(INT_OR_STRING, "The maximum number of pods that can be "
                                "unavailable during the update. Value can be an absolute "
                                "number (ex: 5) or a percentage of desired pods (ex: 10%). "
                                "Defaults to 25%."),
        "maxSurge": Field(INT_OR_STRING, "The maximum number of pods that can be scheduled "
                          "above the desired number of pods. Defaults to 25%."),
    }), "Rolling update config params. Present only if DeploymentStrategyType = "
        "RollingUpdate."),
})

DEPLOYMENT = top_level(APPS + "Deployment", "Deployment enables declarative updates for "
                       "Pods and ReplicaSets.", ("apps", "v1", "Deployment"),
    Struct(APPS + "DeploymentSpec", "DeploymentSpec is the specification of the desired "
           "behavior of the Deployment.", {
        "replicas": Field(INT32, "Number of desired pods. Defaults to 1.", default=1),
        "selector": SELECTOR,
        "template": TEMPLATE,
        "strategy": Field(DEPLOYMENT_STRATEGY, "The deployment strategy to use to replace "
                          "existing pods with new ones.", default={}, strategy="retainKeys"),
        "minReadySeconds": MIN_READY,
        "revisionHistoryLimit": HISTORY,
        "paused": Field(BOOL, "Indicates that the deployment is paused."),
        "progressDeadlineSeconds": Field(INT32, "The maximum time in seconds for a "
                                         "deployment to make progress before it is "
                                         "considered to be failed. Defaults to 600s.",
                                         default=600),
    }),
    Struct(APPS + "DeploymentStatus", "DeploymentStatus is the most recently observed status "
           "of the Deployment.", {
        "observedGeneration": Field(INT64, "The generation observed by the deployment "
                                    "controller."),
        "replicas": Field(INT32, "Total number of non-terminating pods targeted by this "
                          "deployment (their labels match the selector)."),
        "updatedReplicas": Field(INT32, "Total number of non-terminating pods targeted by "
                                 "this deployment that have the desired template spec."),
        "readyReplicas": Field(INT32, "Total number of non-terminating pods targeted by this "
                               "Deployment with a Ready Condition."),
        "availableReplicas": Field(INT32, "Total number of available non-terminating pods "
                                   "(ready for at least minReadySeconds)."),
        "unavailableReplicas": Field(INT32, "Total number of unavailable pods targeted by "
                                     "this deployment."),
        "terminatingReplicas": Field(INT32, "Total number of terminating pods targeted by "
                                     "this deployment."),
        "conditions": conditions_field(condition_struct("DeploymentCondition", "deployment")),
        "collisionCount": Field(INT32, "Count of hash collisions for the Deployment."),
    }),
    "Specification of the desired behavior of the Deployment.",
    "Most recently observed status of the Deployment.")


def default_deployment(dep: dict) -> None:
    spec = dep.get("spec")
    if not isinstance(spec, dict):
        return
    default_template(spec.get("template"))
    strategy = spec.get("strategy")
    if isinstance(strategy, dict):
        strategy.setdefault("type", "RollingUpdate")
        if strategy["type"] == "RollingUpdate":
            rolling = strategy.get("rollingUpdate")
            if not isinstance(rolling, dict):
                rolling = strategy["rollingUpdate"] = {}
            rolling.setdefault("maxUnavailable", "25%")
            rolling.setdefault("maxSurge", "25%")


def _status_reset(obj: dict, old: dict | None) -> None:
    if old is None:
        obj["status"] = {}


def _counts(spec: dict, path: str = "spec") -> list:
    found = v.non_negative(f"{path}.replicas", spec.get("replicas"))
    found += v.non_negative(f"{path}.minReadySeconds", spec.get("minReadySeconds"))
    found += v.non_negative(f"{path}.revisionHistoryLimit", spec.get("revisionHistoryLimit"))
    return found


def validate_deployment(dep: dict, old: dict | None = None, subresource: str = "") -> list:
    found = v.meta_for(dep, old, namespaced=True)
    if subresource == "status":
        return found
    spec = dep.get("spec") or {}
    found += _counts(spec)
    found += w.selector_and_template(spec, "deployment")
    strategy = spec.get("strategy") or {}
    kind = strategy.get("type", "RollingUpdate")
    found += v.one_of("spec.strategy.type", kind, ["Recreate", "RollingUpdate"])
    rolling = strategy.get("rollingUpdate")
    if kind == "Recreate" and rolling is not None:
        found.append(errors.forbidden("spec.strategy.rollingUpdate", "may not be specified "
                                      "when strategy `type` is 'Recreate'"))
    elif rolling is not None:
        here = "spec.strategy.rollingUpdate"
        found += w.int_or_percent(f"{here}.maxUnavailable", rolling.get("maxUnavailable"))
        found += w.int_or_percent(f"{here}.maxSurge", rolling.get("maxSurge"))
        if w.is_zero(rolling.get("maxUnavailable")) and w.is_zero(rolling.get("maxSurge")):
            found.append(errors.invalid(f"{here}.maxUnavailable", rolling.get("maxUnavailable"),
                                        "may not be 0 when `maxSurge` is 0"))
    deadline = spec.get("progressDeadlineSeconds")
    if deadline is not None:
        found += v.positive("spec.progressDeadlineSeconds", deadline)
        if deadline <= (spec.get("minReadySeconds") or 0):
            found.append(errors.invalid("spec.progressDeadlineSeconds", deadline,
                                        "must be greater than minReadySeconds"))
    if old is not None:
        found += w.selector_immutable(spec, old.get("spec") or {})
    return found


def _deployment_row(dep: dict) -> list:
    spec, status = dep.get("spec") or {}, dep.get("status") or {}
    return [tables.name(dep), f"{status.get('readyReplicas', 0)}/{spec.get('replicas', 0)}",
            status.get("updatedReplicas", 0), status.get("availableReplicas", 0),
            tables.age(dep), *w.wide_cells(dep)]


DEPLOYMENT_COLUMNS = [
    tables.NAME,
    tables.column("Ready", "string", "Number of the pod with ready state"),
    tables.column("Up-to-date", "integer", "Total number of non-terminated pods targeted by "
                  "this deployment that have the desired template spec."),
    tables.column("Available", "integer", "Total number of available pods (ready for at "
                  "least minReadySeconds) targeted by this deployment."),
    tables.AGE,
    *w.WIDE_COLUMNS,
]

DEPLOYMENTS = register(ResourceType(
    "apps", "v1", "Deployment", "deployments", "deployment", True, DEPLOYMENT,
    short_names=("deploy",), categories=("all",), subresources=("status", "scale"),
    defaulter=default_deployment, validator=validate_deployment, preparer=_status_reset,
    tabler=lambda objs, wide=True: tables.build(DEPLOYMENT_COLUMNS, _deployment_row, objs,
                                                wide)))

REPLICA_SET = top_level(APPS + "ReplicaSet", "ReplicaSet ensures that a specified number of "
                        "pod replicas are running at any given time.",
                        ("apps", "v1", "ReplicaSet"),
    Struct(APPS + "ReplicaSetSpec", "ReplicaSetSpec is the specification of a ReplicaSet.", {
        "replicas": Field(INT32, "Replicas is the number of desired pods. Defaults to 1.",
                          default=1),
        "minReadySeconds": MIN_READY,
        "selector": SELECTOR,
        "template": TEMPLATE,
    }),
    Struct(APPS + "ReplicaSetStatus", "ReplicaSetStatus represents the current status of a "
           "ReplicaSet.", {
        "replicas": Field(INT32, "Replicas is the most recently observed number of "
                          "non-terminating pods.", required=True),
        "fullyLabeledReplicas": Field(INT32, "The number of non-terminating pods that have "
                                      "labels matching the labels of the pod template."),
        "readyReplicas": Field(INT32, "The number of non-terminating pods targeted by this "
                               "ReplicaSet with a Ready Condition."),
        "availableReplicas": Field(INT32, "The number of available non-terminating pods "
                                   "(ready for at least minReadySeconds)."),
        "terminatingReplicas": Field(INT32, "The number of terminating pods for this "
                                     "replica set."),
        "observedGeneration": Field(INT64, "ObservedGeneration reflects the generation of "
                                    "the most recently observed ReplicaSet."),
        "conditions": conditions_field(condition_struct("ReplicaSetCondition", "replica set",
                                                        False)),
    }),
    "Spec defines the specification of the desired behavior of the ReplicaSet.",
    "Status is the most recently observed status of the ReplicaSet.")


def default_replica_set(rs: dict) -> None:
    if isinstance(rs.get("spec"), dict):
        default_template(rs["spec"].get("template"))


def validate_replica_set(rs: dict, old: dict | None = None, subresource: str = "") -> list:
    found = v.meta_for(rs, old, namespaced=True)
    if subresource == "status":
        for key in ("replicas", "readyReplicas", "availableReplicas", "fullyLabeledReplicas"):
            found += v.non_negative(f"status.{key}", (rs.get("status") or {}).get(key))
        return found
    spec = rs.get("spec") or {}
    found += _counts(spec)
    found += w.selector_and_template(spec, "replicaset")
    if old is not None:
        found += w.selector_immutable(spec, old.get("spec") or {})
    return found


def _replica_set_row(rs: dict) -> list:
    spec, status = rs.get("spec") or {}, rs.get("status") or {}
    return [tables.name(rs), spec.get("replicas", 0), status.get("replicas", 0),
            status.get("readyReplicas", 0), tables.age(rs), *w.wide_cells(rs)]


REPLICA_SET_COLUMNS = [
    tables.NAME,
    tables.column("Desired", "integer", "Number of desired pods."),
    tables.column("Current", "integer", "Number of actual replicas."),
    tables.column("Ready", "integer", "The number of ready replicas for this replica set."),
    tables.AGE,
    *w.WIDE_COLUMNS,
]

REPLICA_SETS = register(ResourceType(
    "apps", "v1", "ReplicaSet", "replicasets", "replicaset", True, REPLICA_SET,
    short_names=("rs",), categories=("all",), subresources=("status", "scale"),
    defaulter=default_replica_set, validator=validate_replica_set, preparer=_status_reset,
    tabler=lambda objs, wide=True: tables.build(REPLICA_SET_COLUMNS, _replica_set_row, objs,
                                                wide),
    fields=lambda rs, path: (str((rs.get("status") or {}).get("replicas", 0))
                             if path == "status.replicas" else None),
    field_paths=("status.replicas",)))

"""apps/v1 DaemonSet: one pod per eligible node.

Defaults as Kubernetes: updateStrategy RollingUpdate with maxUnavailable 1 and
maxSurge 0, revisionHistoryLimit 10. The template must restart Always and its
labels must match the (immutable) selector.
"""

from __future__ import annotations

from .. import errors, tables
from .. import validation as v
from ..registry import ResourceType, register
from ..schema import INT32, INT64, INT_OR_STRING, STRING, Field, Struct
from . import workloads as w
from .apps import APPS, HISTORY, MIN_READY, SELECTOR, TEMPLATE, condition_struct, conditions_field
from .metav1 import top_level
from .podspec_defaults import default_template

UPDATE_STRATEGY = Struct(APPS + "DaemonSetUpdateStrategy", "DaemonSetUpdateStrategy is a "
                         "struct used to control the update strategy for a DaemonSet.", {
    "type": Field(STRING, "Type of daemon set update. Can be \"RollingUpdate\" or "
                  "\"OnDelete\". Default is RollingUpdate."),
    "rollingUpdate": Field(Struct(APPS + "RollingUpdateDaemonSet", "Spec to control the "
                                  "desired behavior of daemon set rolling update.", {
        "maxUnavailable": Field(INT_OR_STRING, "The maximum number of DaemonSet pods that can "
                                "be unavailable during the update. Defaults to 1."),
        "maxSurge": Field(INT_OR_STRING, "The maximum number of nodes with an existing "
                          "available DaemonSet pod that can have an updated DaemonSet pod "
                          "during an update. Defaults to 0."),
    }), "Rolling update config params. Present only if type = \"RollingUpdate\"."),
})

DAEMON_SET = top_level(APPS + "DaemonSet", "DaemonSet represents the configuration of a "
                       "daemon set.", ("apps", "v1", "DaemonSet"),
    Struct(APPS + "DaemonSetSpec", "DaemonSetSpec is the specification of a daemon set.", {
        "selector": SELECTOR,
        "template": TEMPLATE,
        "updateStrategy": Field(UPDATE_STRATEGY, "An update strategy to replace existing "
                                "DaemonSet pods with new pods.", default={}),
        "minReadySeconds": MIN_READY,
        "revisionHistoryLimit": HISTORY,
    }),
    Struct(APPS + "DaemonSetStatus", "DaemonSetStatus represents the current status of a "
           "daemon set.", {
        "currentNumberScheduled": Field(INT32, "The number of nodes that are running at "
                                        "least 1 daemon pod and are supposed to run the "
                                        "daemon pod.", required=True),
        "numberMisscheduled": Field(INT32, "The number of nodes that are running the daemon "
                                    "pod, but are not supposed to run the daemon pod.",
                                    required=True),
        "desiredNumberScheduled": Field(INT32, "The total number of nodes that should be "
                                        "running the daemon pod.", required=True),
        "numberReady": Field(INT32, "The number of nodes that should be running the daemon "
                             "pod and have one or more of the daemon pod running with a "
                             "Ready Condition.", required=True),
        "observedGeneration": Field(INT64, "The most recent generation observed by the "
                                    "daemon set controller."),
        "updatedNumberScheduled": Field(INT32, "The total number of nodes that are running "
                                        "updated daemon pod"),
        "numberAvailable": Field(INT32, "The number of nodes that should be running the "
                                 "daemon pod and have one or more of the daemon pod running "
                                 "and available."),
        "numberUnavailable": Field(INT32, "The number of nodes that should be running the "
                                   "daemon pod and have none of the daemon pod running and "
                                   "available."),
        "collisionCount": Field(INT32, "Count of hash collisions for the DaemonSet."),
        "conditions": conditions_field(condition_struct("DaemonSetCondition", "DaemonSet", False)),
    }),
    "The desired behavior of this daemon set.",
    "The current status of this daemon set.")


def default(ds: dict) -> None:
    spec = ds.get("spec")
    if not isinstance(spec, dict):
        return
    default_template(spec.get("template"))
    strategy = spec.get("updateStrategy")
    if isinstance(strategy, dict):
        strategy.setdefault("type", "RollingUpdate")
        if strategy["type"] == "RollingUpdate":
            rolling = strategy.get("rollingUpdate")
            if not isinstance(rolling, dict):
                rolling = strategy["rollingUpdate"] = {}
            rolling.setdefault("maxUnavailable", 1)
            rolling.setdefault("maxSurge", 0)


def validate(ds: dict, old: dict | None = None, subresource: str = "") -> list:
    found = v.meta_for(ds, old, namespaced=True)
    if subresource == "status":
        return found
    spec = ds.get("spec") or {}
    found += v.non_negative("spec.minReadySeconds", spec.get("minReadySeconds"))
    found += v.non_negative("spec.revisionHistoryLimit", spec.get("revisionHistoryLimit"))
    found += w.selector_and_template(spec, "daemonset")
    strategy = spec.get("updateStrategy") or {}
    kind = strategy.get("type", "RollingUpdate")
    found += v.one_of("spec.updateStrategy.type", kind, ["OnDelete", "RollingUpdate"])
    rolling = strategy.get("rollingUpdate")
    if rolling is not None and kind == "RollingUpdate":
        here = "spec.updateStrategy.rollingUpdate"
        found += w.int_or_percent(f"{here}.maxUnavailable", rolling.get("maxUnavailable"))
        found += w.int_or_percent(f"{here}.maxSurge", rolling.get("maxSurge"))
        if w.is_zero(rolling.get("maxUnavailable")) and w.is_zero(rolling.get("maxSurge")):
            found.append(errors.invalid(f"{here}.maxUnavailable", rolling.get("maxUnavailable"),
                                        "may not be 0 when `maxSurge` is 0"))
    if old is not None:
        found += w.selector_immutable(spec, old.get("spec") or {})
    return found


def _row(ds: dict) -> list:
    status = ds.get("status") or {}
    node_selector = (((ds.get("spec") or {}).get("template") or {}).get("spec") or {}).get(
        "nodeSelector")
    return [tables.name(ds), status.get("desiredNumberScheduled", 0),
            status.get("currentNumberScheduled", 0), status.get("numberReady", 0),
            status.get("updatedNumberScheduled", 0), status.get("numberAvailable", 0),
            tables.join_labels(node_selector), tables.age(ds), *w.wide_cells(ds)]


COLUMNS = [
    tables.NAME,
    tables.column("Desired", "integer", "The total number of nodes that should be running "
                  "the daemon pod."),
    tables.column("Current", "integer", "The number of nodes that are running at least 1 "
                  "daemon pod and are supposed to run the daemon pod."),
    tables.column("Ready", "integer", "The number of nodes that should be running the daemon "
                  "pod and have one or more of the daemon pod running and ready."),
    tables.column("Up-to-date", "integer", "The total number of nodes that are running "
                  "updated daemon pod"),
    tables.column("Available", "integer", "The number of nodes that should be running the "
                  "daemon pod and have one or more of the daemon pod running and available."),
    tables.column("Node Selector", "string", "NodeSelector is a selector which must be true "
                  "for the pod to fit on a node."),
    tables.AGE,
    *w.WIDE_COLUMNS,
]


def _reset(ds: dict, old: dict | None) -> None:
    if old is None:
        ds["status"] = {"currentNumberScheduled": 0, "numberMisscheduled": 0,
                        "desiredNumberScheduled": 0, "numberReady": 0}


DAEMON_SETS = register(ResourceType(
    "apps", "v1", "DaemonSet", "daemonsets", "daemonset", True, DAEMON_SET,
    short_names=("ds",), categories=("all",), subresources=("status",), defaulter=default,
    validator=validate, preparer=_reset,
    tabler=lambda objs, wide=True: tables.build(COLUMNS, _row, objs, wide)))

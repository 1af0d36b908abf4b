"""autoscaling/v2 HorizontalPodAutoscaler, and autoscaling/v1 Scale, the kind of
every `scale` subresource (`kubectl scale`, the HPA controller).

`scale_of(rt, obj)` renders a Deployment or ReplicaSet as a Scale and
`apply_scale(obj, scale)` writes a Scale's replicas back; the API server serves
`/scale` with them.
"""

from __future__ import annotations

from .. import errors, tables
from .. import validation as v
from ..registry import ResourceType, kind_only, register
from ..schema import INT32, INT64, QUANTITY, STRING, TIME, Field, ListOf, Struct
from ..selectors import from_label_selector_object
from .metav1 import CONDITION, LABEL_SELECTOR, top_level

V2 = "io.k8s.api.autoscaling.v2."
V1 = "io.k8s.api.autoscaling.v1."

SCALE = top_level(V1 + "Scale", "Scale represents a scaling request for a resource.",
                  ("autoscaling", "v1", "Scale"),
    Struct(V1 + "ScaleSpec", "ScaleSpec describes the attributes of a scale subresource.", {
        "replicas": Field(INT32, "replicas is the desired number of instances for the scaled "
                          "object."),
    }),
    Struct(V1 + "ScaleStatus", "ScaleStatus represents the current status of a scale "
           "subresource.", {
        "replicas": Field(INT32, "replicas is the actual number of observed instances of the "
                          "scaled object.", required=True),
        "selector": Field(STRING, "selector is the label query over pods that should match "
                          "the replicas count, in the string form kubectl uses."),
    }),
    "spec defines the behavior of the scale.", "status is the current status of the scale.")


def validate_scale(scale: dict, old: dict | None = None, subresource: str = "") -> list:
    return v.non_negative("spec.replicas", (scale.get("spec") or {}).get("replicas"))


kind_only("autoscaling", "v1", "Scale", SCALE, validator=validate_scale)


def scale_of(rt, obj: dict) -> dict:
    """The autoscaling/v1 Scale view of a scalable object."""
    meta = obj.get("metadata") or {}
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    selector = spec.get("selector")
    return {
        "apiVersion": "autoscaling/v1", "kind": "Scale",
        "metadata": {k: meta[k] for k in ("name", "namespace", "uid", "resourceVersion",
                                          "creationTimestamp") if k in meta},
        "spec": {"replicas": spec.get("replicas", 0)},
        "status": {"replicas": status.get("replicas", 0),
                   "selector": str(from_label_selector_object(selector)) if selector else ""},
    }


def apply_scale(obj: dict, scale: dict) -> None:
    """Write a Scale's desired replicas into the scaled object, in place."""
    obj.setdefault("spec", {})["replicas"] = (scale.get("spec") or {}).get("replicas", 0)


def _metric_target() -> Struct:
    return Struct(V2 + "MetricTarget", "MetricTarget defines the target value, average value, "
                  "or average utilization of a specific metric", {
        "type": Field(STRING, "type represents whether the metric type is Utilization, "
                      "Value, or AverageValue", required=True),
        "value": Field(QUANTITY, "value is the target value of the metric (as a quantity)."),
        "averageValue": Field(QUANTITY, "averageValue is the target value of the average of "
                              "the metric across all relevant pods (as a quantity)"),
        "averageUtilization": Field(INT32, "averageUtilization is the target value of the "
                                    "average of the resource metric across all relevant "
                                    "pods, represented as a percentage of the requested "
                                    "value of the resource for the pods."),
    })


METRIC_TARGET = _metric_target()
METRIC_IDENTIFIER = Struct(V2 + "MetricIdentifier", "MetricIdentifier defines the name and "
                           "optionally selector for a metric", {
    "name": Field(STRING, "name is the name of the given metric", required=True),
    "selector": Field(LABEL_SELECTOR, "selector is the string-encoded form of a standard "
                      "kubernetes label selector for the given metric"),
})
CROSS_VERSION_REF = Struct(V2 + "CrossVersionObjectReference", "CrossVersionObjectReference "
                           "contains enough information to let you identify the referred "
                           "resource.", {
    "kind": Field(STRING, "kind is the kind of the referent", required=True),
    "name": Field(STRING, "name is the name of the referent", required=True),
    "apiVersion": Field(STRING, "apiVersion is the API version of the referent"),
})

METRIC_SPEC = Struct(V2 + "MetricSpec", "MetricSpec specifies how to scale based on a single "
                     "metric (only `type` and one matching field should be set at once).", {
    "type": Field(STRING, "type is the type of metric source: ContainerResource, External, "
                  "Object, Pods or Resource.", required=True),
    "object": Field(Struct(V2 + "ObjectMetricSource", "ObjectMetricSource indicates how to "
                           "scale on a metric describing a kubernetes object.", {
        "describedObject": Field(CROSS_VERSION_REF, "describedObject specifies the "
                                 "descriptions of a object,such as kind,name apiVersion",
                                 required=True),
        "target": Field(METRIC_TARGET, "target specifies the target value for the given "
                        "metric", required=True),
        "metric": Field(METRIC_IDENTIFIER, "metric identifies the target metric by name and "
                        "selector", required=True),
    }), "object refers to a metric describing a single kubernetes object."),
    "pods": Field(Struct(V2 + "PodsMetricSource", "PodsMetricSource indicates how to scale on "
                         "a metric describing each pod in the current scale target.", {
        "metric": Field(METRIC_IDENTIFIER, "metric identifies the target metric by name and "
                        "selector", required=True),
        "target": Field(METRIC_TARGET, "target specifies the target value for the given "
                        "metric", required=True),
    }), "pods refers to a metric describing each pod in the current scale target."),
    "resource": Field(Struct(V2 + "ResourceMetricSource", "ResourceMetricSource indicates how "
                             "to scale on a resource metric known to Kubernetes (cpu, "
                             "memory).", {
        "name": Field(STRING, "name is the name of the resource in question.", required=True),
        "target": Field(METRIC_TARGET, "target specifies the target value for the given "
                        "metric", required=True),
    }), "resource refers to a resource metric (such as those specified in requests and "
        "limits) known to Kubernetes."),
    "containerResource": Field(Struct(V2 + "ContainerResourceMetricSource", "a resource "
                                      "metric of one container of each pod.", {
        "name": Field(STRING, "name is the name of the resource in question.", required=True),
        "target": Field(METRIC_TARGET, "target specifies the target value for the given "
                        "metric", required=True),
        "container": Field(STRING, "container is the name of the container in the pods of "
                           "the scaling target", required=True),
    }), "containerResource refers to a resource metric of a single container."),
    "external": Field(Struct(V2 + "ExternalMetricSource", "ExternalMetricSource indicates how "
                             "to scale on a metric not associated with any Kubernetes "
                             "object.", {
        "metric": Field(METRIC_IDENTIFIER, "metric identifies the target metric by name and "
                        "selector", required=True),
        "target": Field(METRIC_TARGET, "target specifies the target value for the given "
                        "metric", required=True),
    }), "external refers to a global metric that is not associated with any Kubernetes "
        "object."),
})

SCALING_RULES = Struct(V2 + "HPAScalingRules", "HPAScalingRules configures the scaling "
                       "behavior for one direction.", {
    "stabilizationWindowSeconds": Field(INT32, "the number of seconds for which past "
                                        "recommendations should be considered while scaling "
                                        "up or scaling down."),
    "selectPolicy": Field(STRING, "selectPolicy is used to specify which policy should be "
                          "used: Max, Min or Disabled."),
    "policies": Field(ListOf(Struct(V2 + "HPAScalingPolicy", "HPAScalingPolicy is a single "
                                    "policy which must hold true for a specified past "
                                    "interval.", {
        "type": Field(STRING, "type is used to specify the scaling policy: Pods or Percent.",
                      required=True),
        "value": Field(INT32, "value contains the amount of change which is permitted by "
                       "the policy. It must be greater than zero", required=True),
        "periodSeconds": Field(INT32, "periodSeconds specifies the window of time for which "
                               "the policy should hold true (1-1800).", required=True),
    }), list_type="atomic"), "policies is a list of potential scaling polices."),
    "tolerance": Field(QUANTITY, "tolerance is the tolerance on the ratio between the "
                       "current and desired metric value under which no updates are made."),
})

METRIC_VALUE_STATUS = Struct(V2 + "MetricValueStatus", "MetricValueStatus holds the current "
                             "value for a metric", {
    "value": Field(QUANTITY, "value is the current value of the metric (as a quantity)."),
    "averageValue": Field(QUANTITY, "averageValue is the current value of the average of the "
                          "metric across all relevant pods (as a quantity)"),
    "averageUtilization": Field(INT32, "currentAverageUtilization is the current value of "
                                "the average of the resource metric across all relevant "
                                "pods, as a percentage of the requested value."),
})

HPA = top_level(V2 + "HorizontalPodAutoscaler", "HorizontalPodAutoscaler is the "
                "configuration for a horizontal pod autoscaler, which automatically manages "
                "the replica count of any resource implementing the scale subresource based "
                "on the metrics specified.", ("autoscaling", "v2", "HorizontalPodAutoscaler"),
    Struct(V2 + "HorizontalPodAutoscalerSpec", "HorizontalPodAutoscalerSpec describes the "
           "desired functionality of the HorizontalPodAutoscaler.", {
        "scaleTargetRef": Field(CROSS_VERSION_REF, "scaleTargetRef points to the target "
                                "resource to scale.", required=True),
        "minReplicas": Field(INT32, "minReplicas is the lower limit for the number of "
                             "replicas. Defaults to 1 pod.", default=1),
        "maxReplicas": Field(INT32, "maxReplicas is the upper limit for the number of "
                             "replicas. It cannot be less that minReplicas.", required=True),
        "metrics": Field(ListOf(METRIC_SPEC, list_type="atomic"), "metrics contains the "
                         "specifications for which to use to calculate the desired replica "
                         "count. Defaults to 80% average CPU utilization."),
        "behavior": Field(Struct(V2 + "HorizontalPodAutoscalerBehavior", "configures the "
                                 "scaling behavior of the target in both Up and Down "
                                 "directions.", {
            "scaleUp": Field(SCALING_RULES, "scaleUp is scaling policy for scaling Up."),
            "scaleDown": Field(SCALING_RULES, "scaleDown is scaling policy for scaling "
                               "Down."),
        }), "behavior configures the scaling behavior of the target."),
    }),
    Struct(V2 + "HorizontalPodAutoscalerStatus", "HorizontalPodAutoscalerStatus describes the "
           "current status of a horizontal pod autoscaler.", {
        "observedGeneration": Field(INT64, "observedGeneration is the most recent generation "
                                    "observed by this autoscaler."),
        "lastScaleTime": Field(TIME, "lastScaleTime is the last time the "
                               "HorizontalPodAutoscaler scaled the number of pods."),
        "currentReplicas": Field(INT32, "currentReplicas is current number of replicas of "
                                 "pods managed by this autoscaler."),
        "desiredReplicas": Field(INT32, "desiredReplicas is the desired number of replicas "
                                 "of pods managed by this autoscaler.", required=True),
        "currentMetrics": Field(ListOf(Struct(V2 + "MetricStatus", "MetricStatus describes "
                                              "the last-read state of a single metric.", {
            "type": Field(STRING, "type is the type of metric source.", required=True),
            "resource": Field(Struct(V2 + "ResourceMetricStatus", "the current value of a "
                                     "resource metric.", {
                "name": Field(STRING, "name is the name of the resource in question.",
                              required=True),
                "current": Field(METRIC_VALUE_STATUS, "current contains the current value "
                                 "for the given metric", required=True),
            }), "resource refers to a resource metric known to Kubernetes."),
        }), list_type="atomic"), "currentMetrics is the last read state of the metrics "
            "used by this autoscaler."),
        "conditions": Field(ListOf(CONDITION, merge_key="type", strategy="merge",
                                   list_type="map", map_keys=("type",)),
                            "conditions is the set of conditions required for this "
                            "autoscaler to scale its target."),
    }),
    "spec is the specification for the behaviour of the autoscaler.",
    "status is the current information about the autoscaler.")

_SCALE_UP = {"stabilizationWindowSeconds": 0, "selectPolicy": "Max",
             "policies": [{"type": "Pods", "value": 4, "periodSeconds": 15},
                          {"type": "Percent", "value": 100, "periodSeconds": 15}]}
_SCALE_DOWN = {"stabilizationWindowSeconds": 300, "selectPolicy": "Max",
               "policies": [{"type": "Percent", "value": 100, "periodSeconds": 15}]}


def default_hpa(hpa: dict) -> None:
    spec = hpa.get("spec")
    if not isinstance(spec, dict):
        return
    if not spec.get("metrics"):
        spec["metrics"] = [{"type": "Resource", "resource": {"name": "cpu", "target": {
            "type": "Utilization", "averageUtilization": 80}}}]
    behavior = spec.get("behavior")
    if isinstance(behavior, dict):
        for key, defaults in (("scaleUp", _SCALE_UP), ("scaleDown", _SCALE_DOWN)):
            rules = behavior.get(key)
            if not isinstance(rules, dict):
                rules = behavior[key] = {}
            for name, value in defaults.items():
                rules.setdefault(name, [dict(p) for p in value] if isinstance(value, list)
                                 else value)


def validate_hpa(hpa: dict, old: dict | None = None, subresource: str = "") -> list:
    found = v.meta_for(hpa, old, namespaced=True)
    if subresource == "status":
        return found
    spec = hpa.get("spec") or {}
    ref = spec.get("scaleTargetRef") or {}
    for key in ("kind", "name"):
        if not ref.get(key):
            found.append(errors.required(f"spec.scaleTargetRef.{key}"))
    low, high = spec.get("minReplicas", 1), spec.get("maxReplicas")
    if low is not None and low < 1:
        found.append(errors.invalid("spec.minReplicas", low, "must be greater than or equal "
                                    "to 1"))
    if high is None:
        found.append(errors.required("spec.maxReplicas"))
    elif low is not None and high < low:
        found.append(errors.invalid("spec.maxReplicas", high, "must be greater than or equal "
                                    "to `minReplicas`"))
    for i, metric in enumerate(spec.get("metrics") or []):
        kind = metric.get("type")
        key = {"ContainerResource": "containerResource", "External": "external",
               "Object": "object", "Pods": "pods", "Resource": "resource"}.get(kind)
        if key is None:
            found.append(errors.not_supported(f"spec.metrics[{i}].type", kind, [
                "ContainerResource", "External", "Object", "Pods", "Resource"]))
        elif metric.get(key) is None:
            found.append(errors.required(f"spec.metrics[{i}].{key}",
                                         "must populate information for the given metric "
                                         "source"))
    return found


def _targets(hpa: dict) -> str:
    spec, status = hpa.get("spec") or {}, hpa.get("status") or {}
    current = {m.get("resource", {}).get("name"): m.get("resource", {}).get("current", {})
               for m in status.get("currentMetrics") or [] if m.get("type") == "Resource"}
    parts = []
    for metric in spec.get("metrics") or []:
        if metric.get("type") != "Resource":
            parts.append("<unknown>")
            continue
        name = metric["resource"].get("name", "")
        target = metric["resource"].get("target") or {}
        have = current.get(name) or {}
        if target.get("type") == "Utilization":
            now = have.get("averageUtilization")
            shown = f"{now}%" if now is not None else "<unknown>"
            parts.append(f"{name}: {shown}/{target.get('averageUtilization')}%")
        else:
            want = target.get("averageValue") or target.get("value")
            now = have.get("averageValue") or have.get("value") or "<unknown>"
            parts.append(f"{name}: {now}/{want}")
    return ", ".join(parts) or "<none>"


def _row(hpa: dict) -> list:
    spec, status = hpa.get("spec") or {}, hpa.get("status") or {}
    ref = spec.get("scaleTargetRef") or {}
    return [tables.name(hpa), f"{ref.get('kind', '')}/{ref.get('name', '')}", _targets(hpa),
            spec.get("minReplicas", 1), spec.get("maxReplicas", 0),
            status.get("currentReplicas", 0), tables.age(hpa)]


COLUMNS = [
    tables.NAME,
    tables.column("Reference", "string", "reference to target resource"),
    tables.column("Targets", "string", "the target and current values of the metrics"),
    tables.column("MinPods", "string", "the lower limit for the number of replicas"),
    tables.column("MaxPods", "integer", "the upper limit for the number of replicas"),
    tables.column("Replicas", "integer", "current number of replicas"),
    tables.AGE,
]

HPAS = register(ResourceType(
    "autoscaling", "v2", "HorizontalPodAutoscaler", "horizontalpodautoscalers",
    "horizontalpodautoscaler", True, HPA, short_names=("hpa",), categories=("all",),
    subresources=("status",), defaulter=default_hpa, validator=validate_hpa,
    tabler=lambda objs, wide=True: tables.build(COLUMNS, _row, objs, wide)))


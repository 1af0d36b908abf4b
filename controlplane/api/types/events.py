"""core/v1 Event: what happened to an object (`kubectl describe`, `kubectl events`).

`kubectl describe` finds an object's events with a field selector on
`involvedObject.*`, so those paths are selectable. events.k8s.io/v1 is not served:
kubectl reads and writes only core/v1 events.
"""

from __future__ import annotations

from .. import errors, meta, tables
from .. import validation as v
from ..registry import ResourceType, register
from ..schema import INT32, MICRO_TIME, STRING, TIME, Field, Struct
from .metav1 import OBJECT_META, OBJECT_REFERENCE

CORE = "io.k8s.api.core.v1."

EVENT = Struct(CORE + "Event", "Event is a report of an event somewhere in the cluster.", {
    "apiVersion": Field(STRING, "APIVersion defines the versioned schema of this object."),
    "kind": Field(STRING, "Kind is a string value representing the REST resource."),
    "metadata": Field(OBJECT_META, "Standard object's metadata.", required=True),
    "involvedObject": Field(OBJECT_REFERENCE, "The object that this event is about.",
                            required=True),
    "reason": Field(STRING, "This should be a short, machine understandable string that "
                    "gives the reason for the transition into the object's current status."),
    "message": Field(STRING, "A human-readable description of the status of this "
                     "operation."),
    "source": Field(Struct(CORE + "EventSource", "EventSource contains information for an "
                           "event.", {
        "component": Field(STRING, "Component from which the event is generated."),
        "host": Field(STRING, "Node name on which the event is generated."),
    }), "The component reporting this event."),
    "firstTimestamp": Field(TIME, "The time at which the event was first recorded."),
    "lastTimestamp": Field(TIME, "The time at which the most recent occurrence of this "
                           "event was recorded."),
    "count": Field(INT32, "The number of times this event has occurred."),
    "type": Field(STRING, "Type of this event (Normal, Warning)."),
    "eventTime": Field(MICRO_TIME, "Time when this Event was first observed."),
    "series": Field(Struct(CORE + "EventSeries", "EventSeries contain information on series "
                           "of events.", {
        "count": Field(INT32, "Number of occurrences in this series up to the last heartbeat "
                       "time"),
        "lastObservedTime": Field(MICRO_TIME, "Time of the last occurrence observed"),
    }), "Data about the Event series this event represents."),
    "action": Field(STRING, "What action was taken/failed regarding to the Regarding "
                    "object."),
    "related": Field(OBJECT_REFERENCE, "Optional secondary object for more complex "
                     "actions."),
    "reportingComponent": Field(STRING, "Name of the controller that emitted this Event."),
    "reportingInstance": Field(STRING, "ID of the controller instance."),
}, ("", "v1", "Event"))

_SELECTABLE = ("involvedObject.kind", "involvedObject.namespace", "involvedObject.name",
               "involvedObject.uid", "involvedObject.apiVersion",
               "involvedObject.resourceVersion", "involvedObject.fieldPath", "reason",
               "reportingComponent", "source", "type")


def validate(event: dict, old: dict | None = None, subresource: str = "") -> list:
    found = v.meta_for(event, old, namespaced=True)
    involved = event.get("involvedObject") or {}
    ns = (event.get("metadata") or {}).get("namespace")
    if involved.get("namespace") and ns and involved["namespace"] != ns:
        found.append(errors.invalid("involvedObject.namespace", involved["namespace"],
                                    "does not match event.namespace"))
    if event.get("type") and event["type"] not in ("Normal", "Warning"):
        found.append(errors.not_supported("type", event["type"], ["Normal", "Warning"]))
    return found


def fields(event: dict, path: str) -> str | None:
    if path.startswith("involvedObject."):
        return str((event.get("involvedObject") or {}).get(path.split(".", 1)[1], ""))
    if path == "source":
        return (event.get("source") or {}).get("component", "")
    if path in ("reason", "reportingComponent", "type"):
        return event.get(path, "")
    return None


def _last_seen(event: dict) -> str:
    series = event.get("series") or {}
    when = (series.get("lastObservedTime") or event.get("lastTimestamp")
            or event.get("eventTime") or (event.get("metadata") or {}).get("creationTimestamp"))
    return tables.since(when)


def _row(event: dict) -> list:
    involved = event.get("involvedObject") or {}
    kind = (involved.get("kind") or "").lower()
    source = event.get("source") or {}
    source_text = ", ".join(s for s in (source.get("component"), source.get("host")) if s) \
        or event.get("reportingComponent", "")
    first = event.get("firstTimestamp") or event.get("eventTime")
    count = event.get("count") or (event.get("series") or {}).get("count") or 1
    return [_last_seen(event), event.get("type", ""), event.get("reason", ""),
            f"{kind}/{involved.get('name', '')}", event.get("message", ""),
            involved.get("fieldPath", ""), source_text, tables.since(first), count,
            tables.name(event)]


COLUMNS = [
    tables.column("Last Seen", "string", "Time since the most recent occurrence"),
    tables.column("Type", "string", "Type of this event (Normal, Warning)."),
    tables.column("Reason", "string", "A short, machine understandable string that gives "
                  "the reason for the transition into the object's current status."),
    tables.column("Object", "string", "The object that this event is about."),
    tables.column("Message", "string", "A human-readable description of the status of this "
                  "operation."),
    tables.column("Subobject", "string", "The part of the object this event is about.",
                  priority=1),
    tables.column("Source", "string", "The component reporting this event.", priority=1),
    tables.column("First Seen", "string", "The time at which the event was first "
                  "recorded.", priority=1),
    tables.column("Count", "integer", "The number of times this event has occurred.",
                  priority=1),
    tables.column("Name", "string", "Name of the event.", "name", priority=1),
]


def new_event(involved: dict, reason: str, message: str, type_: str = "Normal",
              component: str = "", host: str = "") -> dict:
    """A fresh Event about `involved` (an object dict), as a recorder would write it."""
    imeta = involved.get("metadata") or {}
    now = meta.now_rfc3339()
    return {
        "apiVersion": "v1", "kind": "Event",
        "metadata": {"generateName": f"{imeta.get('name', 'event')}.",
                     "namespace": imeta.get("namespace") or "default"},
        "involvedObject": {"apiVersion": involved.get("apiVersion", ""),
                           "kind": involved.get("kind", ""), "name": imeta.get("name", ""),
                           "namespace": imeta.get("namespace", ""),
                           "uid": imeta.get("uid", ""),
                           "resourceVersion": imeta.get("resourceVersion", "")},
        "reason": reason, "message": message, "type": type_,
        "source": {k: val for k, val in (("component", component), ("host", host)) if val},
        "firstTimestamp": now, "lastTimestamp": now, "count": 1,
    }


EVENTS = register(ResourceType(
    "", "v1", "Event", "events", "event", True, EVENT, short_names=("ev",), has_status=False,
    validator=validate, tabler=lambda objs, wide=True: tables.build(COLUMNS, _row, objs, wide),
    fields=fields, field_paths=_SELECTABLE))

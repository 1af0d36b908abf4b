"""meta/v1: the metadata every object carries and the kinds the machinery speaks.

ObjectMeta, ListMeta, OwnerReference, LabelSelector and Condition are embedded in
every resource; Status, Table, DeleteOptions and WatchEvent are what the API
server answers with or accepts besides resources. Definition names follow
Kubernetes' OpenAPI (`io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta`) so that
kubectl finds what it looks for.
"""

from __future__ import annotations

from ..schema import (
    ANY,
    BOOL,
    INT32,
    INT64,
    RAW_EXTENSION,
    STRING,
    TIME,
    Field,
    ListOf,
    MapOf,
    Struct,
)

META = "io.k8s.apimachinery.pkg.apis.meta.v1."

OWNER_REFERENCE = Struct(META + "OwnerReference", (
    "OwnerReference contains enough information to let you identify an owning object. "
    "An owning object must be in the same namespace as the dependent, or be cluster-scoped."), {
    "apiVersion": Field(STRING, "API version of the referent.", required=True),
    "kind": Field(STRING, "Kind of the referent.", required=True),
    "name": Field(STRING, "Name of the referent.", required=True),
    "uid": Field(STRING, "UID of the referent.", required=True),
    "controller": Field(BOOL, "If true, this reference points to the managing controller."),
    "blockOwnerDeletion": Field(BOOL, (
        "If true, and the owner has the \"foregroundDeletion\" finalizer, the owner cannot be "
        "deleted from the key-value store until this reference is removed.")),
})

MANAGED_FIELDS_ENTRY = Struct(META + "ManagedFieldsEntry", (
    "ManagedFieldsEntry is a workflow-id, a FieldSet and the group version of the resource "
    "that the fieldset applies to."), {
    "manager": Field(STRING, "Identifier of the workflow managing these fields."),
    "operation": Field(STRING, "The type of operation which lead to this entry: Apply, Update."),
    "apiVersion": Field(STRING, "Version of the resource this field set applies to."),
    "time": Field(TIME, "Timestamp of when this entry was last changed."),
    "fieldsType": Field(STRING, "The format of the fields field; only FieldsV1."),
    "fieldsV1": Field(ANY, "The set of fields managed, in FieldsV1 format."),
    "subresource": Field(STRING, "The subresource used to update the object, if any."),
})

OBJECT_META = Struct(META + "ObjectMeta", (
    "ObjectMeta is metadata that all persisted resources must have, which includes all "
    "objects users must create."), {
    "name": Field(STRING, (
        "Name must be unique within a namespace. Is required when creating resources, "
        "although some resources may allow a client to request the generation of an "
        "appropriate name automatically. Cannot be updated.")),
    "generateName": Field(STRING, (
        "Optional prefix used by the server to generate a unique name ONLY IF the Name "
        "field has not been provided.")),
    "namespace": Field(STRING, (
        "Namespace defines the space within which each name must be unique. An empty "
        "namespace is equivalent to the \"default\" namespace. Cannot be updated.")),
    "selfLink": Field(STRING, "Deprecated: selfLink is a legacy read-only field."),
    "uid": Field(STRING, (
        "UID is the unique in time and space value for this object. Populated by the "
        "system. Read-only.")),
    "resourceVersion": Field(STRING, (
        "An opaque value that represents the internal version of this object, used for "
        "optimistic concurrency, change detection and watches. Populated by the system.")),
    "generation": Field(INT64, "A sequence number representing a specific generation of "
                        "the desired state. Populated by the system. Read-only."),
    "creationTimestamp": Field(TIME, "The server time when this object was created. "
                               "Populated by the system. Read-only."),
    "deletionTimestamp": Field(TIME, (
        "RFC 3339 date and time at which this resource will be deleted, set by the server "
        "when a graceful deletion is requested. Read-only.")),
    "deletionGracePeriodSeconds": Field(INT64, (
        "Number of seconds allowed for this object to gracefully terminate before it will "
        "be removed from the system. Only set when deletionTimestamp is also set.")),
    "labels": Field(MapOf(STRING), (
        "Map of string keys and values that can be used to organize and categorize "
        "(scope and select) objects.")),
    "annotations": Field(MapOf(STRING), (
        "Annotations is an unstructured key value map stored with a resource that may be "
        "set by external tools to store and retrieve arbitrary metadata.")),
    "ownerReferences": Field(ListOf(OWNER_REFERENCE, merge_key="uid", strategy="merge",
                                    list_type="map", map_keys=("uid",)), (
        "List of objects depended by this object. If ALL objects in the list have been "
        "deleted, this object will be garbage collected.")),
    "finalizers": Field(ListOf(STRING, strategy="merge", list_type="set"), (
        "Must be empty before the object is deleted from the registry. Each entry is an "
        "identifier for the responsible component that will remove the entry.")),
    "managedFields": Field(ListOf(MANAGED_FIELDS_ENTRY, list_type="atomic"), (
        "Maps workflow-id and version to the set of fields that are managed by that "
        "workflow.")),
})

LIST_META = Struct(META + "ListMeta", "ListMeta describes metadata that synthetic resources "
                   "must have, including lists and various status objects.", {
    "selfLink": Field(STRING, "Deprecated: selfLink is a legacy read-only field."),
    "resourceVersion": Field(STRING, "The version of the store this list was read at."),
    "continue": Field(STRING, "Set if the user set a limit on the number of items returned; "
                      "pass it back to get the next page."),
    "remainingItemCount": Field(INT64, "The number of subsequent items in the list which are "
                                "not included in this list response."),
})

LABEL_SELECTOR_REQUIREMENT = Struct(META + "LabelSelectorRequirement", (
    "A label selector requirement is a selector that contains values, a key, and an "
    "operator that relates the key and values."), {
    "key": Field(STRING, "key is the label key that the selector applies to.", required=True),
    "operator": Field(STRING, "operator represents a key's relationship to a set of values. "
                      "Valid operators are In, NotIn, Exists and DoesNotExist.", required=True),
    "values": Field(ListOf(STRING, list_type="atomic"), (
        "values is an array of string values. If the operator is In or NotIn, the values "
        "array must be non-empty. If the operator is Exists or DoesNotExist, the values "
        "array must be empty.")),
})

LABEL_SELECTOR = Struct(META + "LabelSelector", (
    "A label selector is a label query over a set of resources. The result of matchLabels "
    "and matchExpressions are ANDed. An empty label selector matches all objects."), {
    "matchLabels": Field(MapOf(STRING), "matchLabels is a map of {key,value} pairs; each is "
                         "equivalent to an element of matchExpressions with operator In."),
    "matchExpressions": Field(ListOf(LABEL_SELECTOR_REQUIREMENT, list_type="atomic"),
                              "matchExpressions is a list of label selector requirements."),
})

CONDITION = Struct(META + "Condition", "Condition contains details for one aspect of the "
                   "current state of this API Resource.", {
    "type": Field(STRING, "type of condition in CamelCase.", required=True),
    "status": Field(STRING, "status of the condition, one of True, False, Unknown.",
                    required=True),
    "observedGeneration": Field(INT64, "the .metadata.generation the condition was set at."),
    "lastTransitionTime": Field(TIME, "the last time the condition transitioned from one "
                                "status to another.", required=True),
    "reason": Field(STRING, "a programmatic identifier of the reason for the last "
                    "transition.", required=True),
    "message": Field(STRING, "a human readable message about the transition.", required=True),
})

STATUS_CAUSE = Struct(META + "StatusCause", "StatusCause provides more information about an "
                      "api.Status failure, including cases when multiple errors are "
                      "encountered.", {
    "reason": Field(STRING, "A machine-readable description of the cause of the error."),
    "message": Field(STRING, "A human-readable description of the cause of the error."),
    "field": Field(STRING, "The field of the resource that has caused this error, as named "
                   "by its JSON serialization, e.g. \"spec.containers[0].image\"."),
})

STATUS_DETAILS = Struct(META + "StatusDetails", "StatusDetails is a set of additional "
                        "properties that MAY be set by the server to provide additional "
                        "information about a response.", {
    "name": Field(STRING, "The name attribute of the resource associated with the status."),
    "group": Field(STRING, "The group attribute of the resource associated with the status."),
    "kind": Field(STRING, "The kind attribute of the resource associated with the status."),
    "uid": Field(STRING, "UID of the resource."),
    "causes": Field(ListOf(STATUS_CAUSE, list_type="atomic"),
                    "The Causes array includes more details associated with the failure."),
    "retryAfterSeconds": Field(INT32, "If specified, the time in seconds before the operation "
                               "should be retried."),
})

STATUS = Struct(META + "Status", "Status is a return value for calls that don't return other "
                "objects.", {
    "apiVersion": Field(STRING, "APIVersion defines the versioned schema of this object."),
    "kind": Field(STRING, "Kind is a string value representing the REST resource."),
    "metadata": Field(LIST_META, "Standard list metadata."),
    "status": Field(STRING, "Status of the operation. One of: \"Success\" or \"Failure\"."),
    "message": Field(STRING, "A human-readable description of the status of this operation."),
    "reason": Field(STRING, "A machine-readable description of why this operation is in the "
                    "\"Failure\" status."),
    "details": Field(STATUS_DETAILS, "Extended data associated with the reason."),
    "code": Field(INT32, "Suggested HTTP return code for this status, 0 if not set."),
}, gvk=("", "v1", "Status"))

PRECONDITIONS = Struct(META + "Preconditions", "Preconditions must be fulfilled before an "
                       "operation (update, delete, etc.) is carried out.", {
    "uid": Field(STRING, "Specifies the target UID."),
    "resourceVersion": Field(STRING, "Specifies the target ResourceVersion"),
})

DELETE_OPTIONS = Struct(META + "DeleteOptions", "DeleteOptions may be provided when "
                        "deleting an API object.", {
    "apiVersion": Field(STRING, "APIVersion defines the versioned schema of this object."),
    "kind": Field(STRING, "Kind is a string value representing the REST resource."),
    "gracePeriodSeconds": Field(INT64, "The duration in seconds before the object should be "
                                "deleted. Zero means delete immediately."),
    "preconditions": Field(PRECONDITIONS, "Must be fulfilled before a deletion is carried "
                           "out."),
    "orphanDependents": Field(BOOL, "Deprecated: use propagationPolicy."),
    "propagationPolicy": Field(STRING, "Whether and how garbage collection will be "
                               "performed: Orphan, Background or Foreground."),
    "dryRun": Field(ListOf(STRING, list_type="atomic"), "When present, indicates that "
                    "modifications should not be persisted."),
}, gvk=("", "v1", "DeleteOptions"))

TABLE_COLUMN_DEFINITION = Struct(META + "TableColumnDefinition", "TableColumnDefinition "
                                 "contains information about a column returned in the Table.", {
    "name": Field(STRING, "name is a human readable name for the column.", required=True),
    "type": Field(STRING, "type is an OpenAPI type definition for this column.",
                  required=True),
    "format": Field(STRING, "format is an optional OpenAPI type modifier for this column.",
                    required=True),
    "description": Field(STRING, "description is a human readable description of this "
                         "column.", required=True),
    "priority": Field(INT32, "priority is an integer defining the relative importance of "
                      "this column compared to others; 0 is the highest.", required=True),
})

TABLE_ROW_CONDITION = Struct(META + "TableRowCondition", "TableRowCondition allows a row to "
                             "be marked with additional information.", {
    "type": Field(STRING, "Type of row condition; the only defined value is 'Completed'.",
                  required=True),
    "status": Field(STRING, "Status of the condition, one of True, False, Unknown.",
                    required=True),
    "reason": Field(STRING, "(brief) machine readable reason for the condition's last "
                    "transition."),
    "message": Field(STRING, "Human readable message indicating details about last "
                     "transition."),
})

TABLE_ROW = Struct(META + "TableRow", "TableRow is an individual row in a table.", {
    "cells": Field(ListOf(ANY, list_type="atomic"), "cells will be as wide as the column "
                   "definitions array.", required=True),
    "conditions": Field(ListOf(TABLE_ROW_CONDITION, list_type="atomic"), "conditions "
                        "describe additional status of a row that are relevant for a "
                        "human user."),
    "object": Field(RAW_EXTENSION, "This field contains the requested additional "
                    "information about each object based on the includeObject policy."),
})

TABLE = Struct(META + "Table", "Table is a tabular representation of a set of API "
               "resources.", {
    "apiVersion": Field(STRING, "APIVersion defines the versioned schema of this object."),
    "kind": Field(STRING, "Kind is a string value representing the REST resource."),
    "metadata": Field(LIST_META, "Standard list metadata."),
    "columnDefinitions": Field(ListOf(TABLE_COLUMN_DEFINITION, list_type="atomic"),
                               "columnDefinitions describes each column in the returned "
                               "items array.", required=True),
    "rows": Field(ListOf(TABLE_ROW, list_type="atomic"), "rows is the list of items in the "
                  "table.", required=True),
}, gvk=("meta.k8s.io", "v1", "Table"))

WATCH_EVENT = Struct(META + "WatchEvent", "Event represents a single event to a watched "
                     "resource.", {
    "type": Field(STRING, "ADDED, MODIFIED, DELETED, BOOKMARK or ERROR.", required=True),
    "object": Field(RAW_EXTENSION, "The object that changed: the whole object for ADDED and "
                    "MODIFIED, its last state for DELETED, a Status for ERROR.",
                    required=True),
}, gvk=("", "v1", "WatchEvent"))

LOCAL_OBJECT_REFERENCE = Struct("io.k8s.api.core.v1.LocalObjectReference", (
    "LocalObjectReference contains enough information to let you locate the referenced "
    "object inside the same namespace."), {
    "name": Field(STRING, "Name of the referent."),
})

OBJECT_REFERENCE = Struct("io.k8s.api.core.v1.ObjectReference", (
    "ObjectReference contains enough information to let you inspect or modify the "
    "referred object."), {
    "kind": Field(STRING, "Kind of the referent."),
    "namespace": Field(STRING, "Namespace of the referent."),
    "name": Field(STRING, "Name of the referent."),
    "uid": Field(STRING, "UID of the referent."),
    "apiVersion": Field(STRING, "API version of the referent."),
    "resourceVersion": Field(STRING, "Specific resourceVersion to which this reference is "
                             "made, if any."),
    "fieldPath": Field(STRING, "If referring to a piece of an object instead of an entire "
                       "object, a JSON path such as spec.containers{name}."),
})


def top_level(name: str, doc: str, gvk: tuple[str, str, str], spec=None, status=None,
              spec_doc: str = "", status_doc: str = "", **more: Field) -> Struct:
    """A resource's struct: apiVersion, kind, metadata, then spec/status or `more`."""
    fields = {
        "apiVersion": Field(STRING, (
            "APIVersion defines the versioned schema of this representation of an object. "
            "Servers should convert recognized schemas to the latest internal value, and "
            "may reject unrecognized values.")),
        "kind": Field(STRING, (
            "Kind is a string value representing the REST resource this object represents. "
            "Servers may infer this from the endpoint the client submits requests to. "
            "Cannot be updated. In CamelCase.")),
        "metadata": Field(OBJECT_META, "Standard object's metadata."),
    }
    if spec is not None:
        fields["spec"] = Field(spec, spec_doc)
    if status is not None:
        fields["status"] = Field(status, status_doc)
    fields.update(more)
    return Struct(name, doc, fields, gvk)


def list_of(item: Struct) -> Struct:
    """The `<Kind>List` struct of a resource (what a list request returns)."""
    group, version, kind = item.gvk
    return Struct(item.name + "List", f"{kind}List is a list of {kind} objects.", {
        "apiVersion": Field(STRING, "APIVersion defines the versioned schema of this object."),
        "kind": Field(STRING, "Kind is a string value representing the REST resource."),
        "metadata": Field(LIST_META, "Standard list metadata."),
        "items": Field(ListOf(item), f"List of {kind} objects.", required=True),
    }, (group, version, kind + "List"))

"""The meta kinds the API server speaks besides resources: Status (every error and
some deletes), Table (`kubectl get`), DeleteOptions (delete bodies), List and
WatchEvent (one line of a watch stream). Registered kind-only, so `by_kind` and
the OpenAPI documents know them. `List` is the kind-less list kubectl prints and
`kubectl apply -f` unpacks client-side.
"""

from __future__ import annotations

from ..registry import kind_only
from ..schema import RAW_EXTENSION, STRING, Field, ListOf, Struct
from .metav1 import DELETE_OPTIONS, LIST_META, STATUS, TABLE, WATCH_EVENT

LIST = Struct("io.k8s.apimachinery.pkg.apis.meta.v1.List", "List holds a list of objects, "
              "which may not be known by the server.", {
    "apiVersion": Field(STRING, "APIVersion defines the versioned schema of this object."),
    "kind": Field(STRING, "Kind is a string value representing the REST resource."),
    "metadata": Field(LIST_META, "Standard list metadata."),
    "items": Field(ListOf(RAW_EXTENSION), "List of objects", required=True),
}, ("", "v1", "List"))

kind_only("", "v1", "Status", STATUS)
kind_only("meta.k8s.io", "v1", "Table", TABLE)
kind_only("", "v1", "DeleteOptions", DELETE_OPTIONS)
kind_only("meta.k8s.io", "v1", "DeleteOptions", DELETE_OPTIONS)
kind_only("", "v1", "WatchEvent", WATCH_EVENT)
kind_only("", "v1", "List", LIST)

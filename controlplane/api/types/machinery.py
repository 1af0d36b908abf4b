"""The meta kinds the API server speaks besides resources: Status (every error and
some deletes), Table (`kubectl get`), DeleteOptions (delete bodies) and
WatchEvent (one line of a watch stream). Registered kind-only, so `by_kind` and
the OpenAPI documents know them.
"""

from __future__ import annotations

from ..registry import kind_only
from .metav1 import DELETE_OPTIONS, STATUS, TABLE, WATCH_EVENT

kind_only("", "v1", "Status", STATUS)
kind_only("meta.k8s.io", "v1", "Table", TABLE)
kind_only("", "v1", "DeleteOptions", DELETE_OPTIONS)
kind_only("meta.k8s.io", "v1", "DeleteOptions", DELETE_OPTIONS)
kind_only("", "v1", "WatchEvent", WATCH_EVENT)

"""Tables made on the client, for when the server sent objects instead of a Table
(a watch event of a deleted object, a server without Table support).

The columns come from the same type registry the API server renders from, so a
row made here looks like a row the server would have sent; a type the registry
does not know gets kubectl's fallback, NAME and AGE.
"""

from __future__ import annotations

from supernetes.controlplane.api import registry, tables
from supernetes.controlplane.client.restmapper import ResourceInfo


def local_table(info: ResourceInfo, objs: list[dict]) -> dict:
    rt = registry.by_kind(info.api_version, info.kind)
    if rt is not None:
        columns, cells = rt.table(objs, wide=True)
    else:
        columns, cells = tables.default_table(objs, wide=True)
    rows = [{"cells": row, "object": {"metadata": obj.get("metadata") or {}}}
            for obj, row in zip(objs, cells, strict=True)]
    return {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": {},
            "columnDefinitions": columns, "rows": rows}

"""The `Table` and `PartialObjectMetadata` views that `kubectl get` asks for.

kubectl sends `Accept: application/json;as=Table;g=meta.k8s.io;v=v1` and prints
whatever columns the server returns; the columns per type come from the api
package (`rt.table`), which returns every column with its priority (0: always
shown, 1: only with `-o wide`). Rows carry the object as `includeObject` asks:
`Metadata` (the default: a PartialObjectMetadata, enough for kubectl's
NAMESPACE and LABELS columns), `Object`, or `None`.
"""

from __future__ import annotations

from . import errors

INCLUDE = ("None", "Metadata", "Object")


def check_include(value: str | None) -> str:
    if value is None or value == "":
        return "Metadata"
    if value not in INCLUDE:
        raise errors.bad_request(
            f'includeObject: Unsupported value: "{value}": supported values: '
            f'"None", "Metadata", "Object"')
    return value


def partial(obj: dict, version: str = "v1") -> dict:
    return {"kind": "PartialObjectMetadata", "apiVersion": f"meta.k8s.io/{version}",
            "metadata": obj.get("metadata", {})}


def partial_list(objs: list[dict], list_meta: dict, version: str = "v1") -> dict:
    return {"kind": "PartialObjectMetadataList", "apiVersion": f"meta.k8s.io/{version}",
            "metadata": list_meta, "items": [partial(o, version) for o in objs]}


def table(rt, objs: list[dict], include: str = "Metadata", version: str = "v1",
          list_meta: dict | None = None) -> dict:
    columns, cells = rt.table(objs, wide=True)
    rows = []
    for obj, row_cells in zip(objs, cells, strict=True):
        row = {"cells": row_cells}
        if include == "Object":
            row["object"] = obj
        elif include == "Metadata":
            row["object"] = partial(obj, version)
        rows.append(row)
    return {"kind": "Table", "apiVersion": f"meta.k8s.io/{version}",
            "metadata": list_meta or {}, "columnDefinitions": columns, "rows": rows}

"""Helpers for `kubectl get` tables: column definitions, ages, kubectl's formatting.

A type's table function returns `(columnDefinitions, rows)`: each column is a
`meta.k8s.io/v1` `TableColumnDefinition` dict (name, type, format, description,
priority) and each row the list of cells for one object. Columns with priority 1
are the extra ones of `kubectl get -o wide`: the server always sends them and
kubectl hides them unless asked, so the API server calls `table(objs)` with the
default `wide=True`; `wide=False` drops them (for superctl's narrow output).

Ages are computed when the table is built, in kubectl's `HumanDuration` format
(`45s`, `5m12s`, `3h`, `2d4h`, `400d`, `3y20d`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from . import meta


def column(name: str, type_: str = "string", description: str = "", format_: str = "",
           priority: int = 0) -> dict:
    return {"name": name, "type": type_, "format": format_, "description": description,
            "priority": priority}


NAME = column("Name", "string", "Name must be unique within a namespace. Cannot be updated.",
              "name")
AGE = column("Age", "string", "CreationTimestamp is a timestamp representing the server time "
             "when this object was created.")


def human_duration(seconds: float) -> str:
    """kubectl's `duration.HumanDuration`: short, and coarser as time goes by."""
    secs = int(seconds)
    if secs < -1:
        return "<invalid>"
    if secs < 0:
        return "0s"
    if secs < 120:
        return f"{secs}s"
    minutes = secs // 60
    if minutes < 10:
        rest = secs % 60
        return f"{minutes}m{rest}s" if rest else f"{minutes}m"
    if minutes < 180:
        return f"{minutes}m"
    hours = secs // 3600
    if hours < 8:
        rest = minutes % 60
        return f"{hours}h{rest}m" if rest else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        rest = hours % 24
        return f"{hours // 24}d{rest}h" if rest else f"{hours // 24}d"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        years, days = hours // 24 // 365, (hours // 24) % 365
        return f"{years}y{days}d" if days else f"{years}y"
    return f"{hours // 24 // 365}y"


def since(timestamp: str | None, when: datetime | None = None) -> str:
    """Age of an RFC 3339 timestamp (`<unknown>` when unset), as kubectl prints it."""
    moment = meta.parse_time(timestamp)
    if moment is None:
        return "<unknown>"
    return human_duration(((when or meta.now()) - moment).total_seconds())


def age(obj: dict) -> str:
    return since((obj.get("metadata") or {}).get("creationTimestamp"))


def name(obj: dict) -> str:
    return (obj.get("metadata") or {}).get("name", "")


def none_if_empty(value) -> str:
    """kubectl's `<none>` for empty cells."""
    if value is None or value == "" or value == [] or value == {}:
        return "<none>"
    return str(value)


def join_labels(selector: dict | None) -> str:
    """A label map as `a=b,c=d` (sorted), `<none>` when empty."""
    if not selector:
        return "<none>"
    return ",".join(f"{k}={v}" for k, v in sorted(selector.items()))


def format_selector(selector: dict | None) -> str:
    """A LabelSelector object as kubectl's `metav1.FormatLabelSelector` prints it."""
    if selector is None:
        return "<none>"
    parts = [f"{k}={v}" for k, v in sorted((selector.get("matchLabels") or {}).items())]
    for expr in selector.get("matchExpressions") or []:
        op, key, values = expr.get("operator"), expr.get("key"), expr.get("values") or []
        if op == "In":
            parts.append(f"{key} in ({','.join(values)})")
        elif op == "NotIn":
            parts.append(f"{key} notin ({','.join(values)})")
        elif op == "Exists":
            parts.append(key)
        elif op == "DoesNotExist":
            parts.append(f"!{key}")
    text = ",".join(parts)
    return text or "<none>"


def build(columns: list[dict], row: Callable[[dict], list], objs: list[dict],
          wide: bool = True) -> tuple[list[dict], list[list]]:
    """Run `row` over every object; drop priority columns unless `wide`."""
    rows = [row(obj) for obj in objs]
    if wide:
        return columns, rows
    keep = [i for i, col in enumerate(columns) if col["priority"] == 0]
    return [columns[i] for i in keep], [[r[i] for i in keep] for r in rows]


def default_table(objs: list[dict], wide: bool = True) -> tuple[list[dict], list[list]]:
    """NAME and AGE, for kinds without a printer of their own."""
    return build([NAME, AGE], lambda obj: [name(obj), age(obj)], objs, wide)

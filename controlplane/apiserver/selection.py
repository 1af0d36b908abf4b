"""Which objects a request selects: namespace, label selector, field selector.

Selectors are parsed by `api.selectors`, and each type says which fields it
lets clients select on (`rt.selectable_fields()`; a selector on any other field
is a 400, as in Kubernetes). This module extracts those values once per object
version (the watch cache keeps them beside the object, so that filtering for
hundreds of watchers never re-parses JSON), and matches.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..api import selectors
from ..api.errors import SelectorError
from . import errors


def selectable_fields(rt) -> tuple[str, ...]:
    """metadata.name (and .namespace) plus the type's own selectable fields."""
    return rt.selectable_fields()


def _as_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _lookup(obj: dict, path: str):
    value = obj
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def field_values(rt, obj: dict) -> dict[str, str]:
    """The selectable field values of one object, as strings."""
    values = {}
    for path in rt.selectable_fields():
        value = rt.field(obj, path)
        values[path] = _as_text(value if value is not None else _lookup(obj, path))
    return values


@dataclass(frozen=True)
class Filter:
    """A compiled selection; `matches` is called per object per watcher, so it is lean."""

    namespace: str | None = None
    labels: object | None = None                      # api.selectors.LabelSelector
    fields: tuple[tuple[str, str, str], ...] = ()     # (path, op, value)

    @property
    def everything(self) -> bool:
        return self.namespace is None and self.labels is None and not self.fields

    def matches(self, namespace: str, labels: dict, fields: dict) -> bool:
        if self.namespace is not None and namespace != self.namespace:
            return False
        if self.labels is not None and not self.labels.matches(labels):
            return False
        for path, op, value in self.fields:
            if (fields.get(path, "") == value) != (op != "!="):
                return False
        return True

    def match_name(self) -> str | None:
        """The single name this filter pins (metadata.name=x), for cheap lookups."""
        for path, op, value in self.fields:
            if path == "metadata.name" and op != "!=":
                return value
        return None


def compile_filter(rt, namespace: str | None, label_selector: str | None,
                   field_selector: str | None) -> Filter:
    if not label_selector and not field_selector:
        return Filter(namespace if rt.namespaced else None)
    labels = None
    if label_selector:
        try:
            labels = selectors.parse_label_selector(label_selector)
        except SelectorError as exc:
            raise errors.bad_request(f'unable to parse requirement: {exc}') from exc
    fields: list[tuple[str, str, str]] = []
    if field_selector:
        try:
            parsed = selectors.parse_field_selector(field_selector)
        except SelectorError as exc:
            raise errors.bad_request(f"invalid field selector: {exc}") from exc
        try:
            selectors.check_field_selector(rt, parsed)
        except SelectorError as exc:
            raise errors.bad_request(str(exc)) from exc
        fields = [(req.path, req.op, req.value) for req in parsed]
    return Filter(namespace if rt.namespaced else None, labels, tuple(fields))

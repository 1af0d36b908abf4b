"""The schema DSL: one description per API type, from which everything else derives.

Objects are plain dicts everywhere; a schema only *describes* them. From one
description this package derives strict unknown-field checks (`unknown_fields`),
JSON type checks (`type_errors`), constant defaults (`apply_defaults`), the merge
keys and patch strategies of strategic merge patch (`strategic.py`) and the
OpenAPI v2/v3 documents that `kubectl explain` and `kubectl apply` read
(`openapi.py`).

The vocabulary mirrors Go API structs and their tags:

- `Struct(name, doc, fields)`: a named object (an OpenAPI definition such as
  `io.k8s.api.core.v1.Container`); `gvk` marks top-level kinds.
- `Field(schema, doc, required=..., default=..., strategy=...)`: one property.
  `default` is a *constant* default (applied only inside objects that exist, as
  Kubernetes' defaulting functions do); conditional defaults live in code.
- `ListOf(items, merge_key=, strategy=, list_type=, map_keys=)`: the
  `patchMergeKey`/`patchStrategy` and `listType`/`listMapKey` tags.
- `MapOf(values)`: `map[string]T`.
- Scalars: `STRING`, `INT32`, `INT64`, `NUMBER`, `BOOL`, `BYTES`, `TIME`,
  `INT_OR_STRING`, `QUANTITY`; and `ANY`, free-form JSON (RawExtension).
"""

from __future__ import annotations

import base64
import binascii
import copy
import functools
import re
from dataclasses import dataclass, field

from . import errors

_MISSING = object()


class Schema:
    """Base of every schema node."""


@dataclass(frozen=True, eq=False)
class Scalar(Schema):
    type: str  # string | integer | number | boolean | int-or-string | quantity
    format: str = ""
    name: str = ""  # the OpenAPI definition name of named scalars (Time, Quantity...)


@dataclass(frozen=True, eq=False)
class Free(Schema):
    """Any JSON value, kept as is (`x-kubernetes-preserve-unknown-fields`)."""

    name: str = ""


@dataclass(frozen=True, eq=False)
class ListOf(Schema):
    items: Schema
    merge_key: str = ""  # patchMergeKey: list items are merged by this key
    strategy: str = ""  # patchStrategy: "merge", "merge,retainKeys" or "" (replace)
    list_type: str = ""  # x-kubernetes-list-type: atomic | map | set
    map_keys: tuple[str, ...] = ()  # x-kubernetes-list-map-keys


@dataclass(frozen=True, eq=False)
class MapOf(Schema):
    values: Schema


@dataclass(frozen=True, eq=False)
class Field:
    schema: Schema
    doc: str = ""
    required: bool = False
    default: object = _MISSING
    strategy: str = ""  # patchStrategy on a struct-valued field ("retainKeys")

    @property
    def has_default(self) -> bool:
        return self.default is not _MISSING


@dataclass(frozen=True, eq=False)
class Struct(Schema):
    name: str  # OpenAPI definition name, e.g. io.k8s.api.core.v1.Container
    doc: str
    fields: dict[str, Field] = field(default_factory=dict)
    gvk: tuple[str, str, str] | None = None  # (group, version, kind) of top-level kinds

    def extend(self, name: str, doc: str, **more: Field) -> Struct:
        """A new struct with this one's fields plus `more` (Go's embedded structs)."""
        return Struct(name, doc, {**self.fields, **more}, self.gvk)


STRING = Scalar("string")
INT32 = Scalar("integer", "int32")
INT64 = Scalar("integer", "int64")
NUMBER = Scalar("number", "double")
BOOL = Scalar("boolean")
BYTES = Scalar("string", "byte")
TIME = Scalar("string", "date-time", "io.k8s.apimachinery.pkg.apis.meta.v1.Time")
MICRO_TIME = Scalar("string", "date-time", "io.k8s.apimachinery.pkg.apis.meta.v1.MicroTime")
INT_OR_STRING = Scalar("int-or-string", "int-or-string",
                       "io.k8s.apimachinery.pkg.util.intstr.IntOrString")
QUANTITY = Scalar("quantity", "", "io.k8s.apimachinery.pkg.api.resource.Quantity")
ANY = Free()
RAW_EXTENSION = Free("io.k8s.apimachinery.pkg.runtime.RawExtension")

_INT32_RANGE = (-(2**31), 2**31 - 1)
_INT64_RANGE = (-(2**63), 2**63 - 1)
_TIME_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
_QUANTITY_MESSAGE = ("quantities must match the regular expression "
                     "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'")


def _schema_of(target) -> Schema:
    """Accept a schema or anything carrying one (a ResourceType)."""
    return target if isinstance(target, Schema) else target.schema


def child(schema: Schema | None, key: str) -> Schema | None:
    """The schema of `key` inside an object described by `schema` (None if unknown)."""
    if isinstance(schema, Struct):
        f = schema.fields.get(key)
        return f.schema if f else None
    if isinstance(schema, MapOf):
        return schema.values
    if isinstance(schema, Free):
        return schema
    return None


def field_of(schema: Schema | None, key: str) -> Field | None:
    if isinstance(schema, Struct):
        return schema.fields.get(key)
    return None


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def unknown_fields(target, obj, path: str = "") -> list[str]:
    """Paths of fields the schema does not know, as Kubernetes' strict decoding names
    them: `spec.containers[0].imagee` (no leading dot), in document order."""
    found: list[str] = []
    _walk_unknown(_schema_of(target), obj, path, found)
    return found


def _walk_unknown(schema: Schema, value, path: str, found: list[str]) -> None:
    # This runs on every write, over every field: only objects and arrays are
    # descended into (nothing below a scalar can be unknown).
    if isinstance(schema, Struct) and isinstance(value, dict):
        fields = schema.fields
        for key, item in value.items():
            f = fields.get(key)
            if f is None:
                found.append(_join(path, key))
            elif isinstance(item, dict | list):
                _walk_unknown(f.schema, item, _join(path, key), found)
    elif isinstance(schema, ListOf) and isinstance(value, list):
        if isinstance(schema.items, Scalar):
            return
        for i, item in enumerate(value):
            _walk_unknown(schema.items, item, f"{path}[{i}]", found)
    elif isinstance(schema, MapOf) and isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, dict | list):
                _walk_unknown(schema.values, item, f"{path}[{key}]", found)


def type_errors(target, obj, path: str = "") -> list[errors.FieldError]:
    """JSON type mismatches (a string where a list belongs...), the errors Kubernetes
    reports while decoding. `null` is accepted anywhere: it means "not set"."""
    found: list[errors.FieldError] = []
    _walk_types(_schema_of(target), obj, [path] if path else [], found)
    return found


def _path_text(parts: list) -> str:
    """["spec", "containers", 0, "image"] -> "spec.containers[0].image"."""
    text = ""
    for part in parts:
        if isinstance(part, int) or (isinstance(part, str) and part.startswith("[")):
            text += f"[{part}]" if isinstance(part, int) else part
        else:
            text = f"{text}.{part}" if text else part
    return text or "<root>"


def _walk_types(schema: Schema, value, parts: list, found: list[errors.FieldError]) -> None:
    # The path is kept as a list of parts and only rendered for an error: this walk
    # runs on every write, over every field.
    if value is None:
        return
    if isinstance(schema, Scalar):
        problem = _scalar_problem(schema, value)
        if problem:
            found.append(errors.type_invalid(_path_text(parts), _describe(value), problem))
    elif isinstance(schema, Struct):
        if not isinstance(value, dict):
            found.append(errors.type_invalid(_path_text(parts), _describe(value),
                                             "must be of type object"))
            return
        fields = schema.fields
        for key, item in value.items():
            f = fields.get(key)
            if f is not None and item is not None:
                parts.append(key)
                _walk_types(f.schema, item, parts, found)
                parts.pop()
    elif isinstance(schema, ListOf):
        if not isinstance(value, list):
            found.append(errors.type_invalid(_path_text(parts), _describe(value),
                                             "must be of type array"))
            return
        for i, item in enumerate(value):
            parts.append(i)
            _walk_types(schema.items, item, parts, found)
            parts.pop()
    elif isinstance(schema, MapOf):
        if not isinstance(value, dict):
            found.append(errors.type_invalid(_path_text(parts), _describe(value),
                                             "must be of type object"))
            return
        for key, item in value.items():
            parts.append(f"[{key}]")
            _walk_types(schema.values, item, parts, found)
            parts.pop()


def _describe(value) -> object:
    """The bad value as it goes into an error: scalars as is, containers by type."""
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    return value


def _scalar_problem(schema: Scalar, value) -> str:
    is_int = isinstance(value, int) and not isinstance(value, bool)
    if schema.type == "string":
        if not isinstance(value, str):
            return "must be of type string"
        if schema.format == "date-time" and not _TIME_RE.match(value):
            return "must be an RFC 3339 date-time such as 2006-01-02T15:04:05Z"
        if schema.format == "byte":
            try:
                base64.b64decode(value, validate=True)
            except binascii.Error:
                return "must be base64-encoded"
        return ""
    if schema.type == "integer":
        if not is_int:
            return "must be of type integer"
        low, high = _INT32_RANGE if schema.format == "int32" else _INT64_RANGE
        if not low <= value <= high:
            return f"must be a {schema.format or 'int64'} (between {low} and {high})"
        return ""
    if schema.type == "number":
        return "" if is_int or isinstance(value, float) else "must be of type number"
    if schema.type == "boolean":
        return "" if isinstance(value, bool) else "must be of type boolean"
    if schema.type == "int-or-string":
        return "" if is_int or isinstance(value, str) else "must be an integer or a string"
    if schema.type == "quantity":
        from .quantity import parse_quantity  # quantity.py imports errors only

        if isinstance(value, bool) or not isinstance(value, int | float | str):
            return _QUANTITY_MESSAGE
        try:
            parse_quantity(value)
        except errors.QuantityError:
            return _QUANTITY_MESSAGE
    return ""


def apply_defaults(target, obj) -> None:
    """Fill the schema's constant defaults into `obj`, in place.

    Defaults apply only inside objects that exist (a probe's `periodSeconds` only
    when there is a probe), as Kubernetes' defaulting functions do; a struct-valued
    field with a default of `{}` is created and then defaulted itself. Known fields
    set to `null` are removed first: for Kubernetes' typed decoding `null` means
    "not set", so they never reach the store; a `null` list item or map value
    becomes its type's zero value, as Go decodes it; quantities take their
    canonical form (`1000m` -> `"1"`), as Kubernetes stores them.
    """
    _default(_schema_of(target), obj)


def _default(schema: Schema, value):
    """Default `value` in place; returns the value to store (a new one for scalars)."""
    if isinstance(schema, Struct) and isinstance(value, dict):
        # Walk the keys the object has (a pod sets a handful of a container's forty
        # fields), then add the defaults it lacks; key order comes out as the
        # schema-ordered walk gave it: kept keys in place, defaults appended in
        # schema order.
        fields = schema.fields
        for key, item in list(value.items()):
            f = fields.get(key)
            if f is None:
                continue
            if item is None:
                del value[key]
            elif not isinstance(f.schema, Scalar) or f.schema.type == "quantity":
                value[key] = _default(f.schema, item)
        for key, f in _defaulted(schema):
            if key not in value:
                value[key] = _default(f.schema, copy.deepcopy(f.default))
    elif isinstance(schema, ListOf) and isinstance(value, list):
        items = schema.items
        for i, item in enumerate(value):
            if item is None:
                value[i] = _default(items, _zero(items))
            elif not isinstance(items, Scalar) or items.type == "quantity":
                value[i] = _default(items, item)
    elif isinstance(schema, MapOf) and isinstance(value, dict):
        values = schema.values
        for key, item in value.items():
            if item is None:
                value[key] = _default(values, _zero(values))
            elif not isinstance(values, Scalar) or values.type == "quantity":
                value[key] = _default(values, item)
    elif isinstance(schema, Scalar) and schema.type == "quantity":
        return _canonical_quantity(value)
    return value


@functools.cache
def _defaulted(struct: Struct) -> tuple[tuple[str, Field], ...]:
    """The fields of `struct` that have a constant default, in schema order."""
    return tuple((key, f) for key, f in struct.fields.items() if f.has_default)


def _canonical_quantity(value):
    """Quantities are stored as Kubernetes serialises them: canonical strings
    (`cpu: 1` -> "1", `1000m` -> "1", `1024Mi` -> "1Gi"); unparseable ones are
    left for type_errors to report."""
    from .quantity import canonical_quantity

    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return value
    try:
        return canonical_quantity(value)
    except errors.QuantityError:
        return value


def _zero(schema: Schema):
    """What Go decodes a `null` list item or map value into: the type's zero value."""
    if isinstance(schema, Struct | MapOf):
        return {}
    if isinstance(schema, ListOf):
        return []
    if isinstance(schema, Scalar):
        return {"string": "", "integer": 0, "number": 0, "boolean": False,
                "int-or-string": 0, "quantity": "0"}[schema.type]
    return None


def structs(roots) -> dict[str, Struct]:
    """Every named struct reachable from `roots`, by definition name (for OpenAPI)."""
    seen: dict[str, Struct] = {}
    stack = [_schema_of(r) for r in roots]
    while stack:
        node = stack.pop()
        if isinstance(node, Struct):
            if node.name in seen:
                continue
            seen[node.name] = node
            stack.extend(f.schema for f in node.fields.values())
        elif isinstance(node, ListOf):
            stack.append(node.items)
        elif isinstance(node, MapOf):
            stack.append(node.values)
    return seen

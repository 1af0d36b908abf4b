"""The registry of API resource types: what the API server serves and how.

Each served resource is one `ResourceType`: its group/version/kind, its URL names
(plural, singular, short names), scope, subresources and verbs (what discovery
publishes), its schema (`schema.py`), and plain functions for defaulting,
validation, the `kubectl get` table and field-selector values. Modules under
`types/` describe one resource family each and `register` their types here on
import; the registry imports them on first use, so `lookup` always sees every type.

Kinds that are no resources of their own but travel on the wire (`Scale`,
`Binding` as a pods subresource, `Eviction`, `Status`, `Table`, `DeleteOptions`)
are registered with `kind_only`: `by_kind` and the OpenAPI documents know them,
discovery and `lookup` do not.

The API server calls, per request: `schema.unknown_fields` (strict field
validation), `default(obj)` after decoding, then `prepare_for_create(obj)` /
`prepare_for_update(obj, old)` (strategy hooks that reset server-owned fields,
after metadata such as the uid is filled in), then `validate(obj, old,
subresource)`, which reports JSON type errors first; `table(objs)` for Table
output and `field(obj, path)` for field selectors.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable
from dataclasses import dataclass

from . import errors, schema

ALL_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")

# The kind each subresource reads and writes: (group, version, kind); "" for none.
SUBRESOURCE_KINDS = {
    "scale": ("autoscaling", "v1", "Scale"),
    "binding": ("", "v1", "Binding"),
    "eviction": ("policy", "v1", "Eviction"),
    "log": ("", "", ""),
    "exec": ("", "", ""),
    "attach": ("", "", ""),
    "portforward": ("", "", ""),
}
SUBRESOURCE_VERBS = {
    "status": ("get", "patch", "update"),
    "scale": ("get", "patch", "update"),
    "binding": ("create",),
    "eviction": ("create",),
    "log": ("get",),
    "exec": ("create", "get"),
    "attach": ("create", "get"),
    "portforward": ("create", "get"),
}


def _no_defaults(obj: dict) -> None:
    return None


def _no_errors(obj: dict, old: dict | None = None, subresource: str = "") -> list:
    return []


def _no_prepare(obj: dict, old: dict | None = None) -> None:
    return None


def _no_fields(obj: dict, path: str) -> str | None:
    return None


@dataclass(frozen=True)
class ResourceType:
    group: str
    version: str
    kind: str
    plural: str
    singular: str
    namespaced: bool
    schema: schema.Struct
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    subresources: tuple[str, ...] = ()
    has_status: bool = True
    verbs: tuple[str, ...] = ALL_VERBS
    defaulter: Callable[[dict], None] = _no_defaults
    validator: Callable[..., list] = _no_errors
    preparer: Callable[..., None] = _no_prepare
    tabler: Callable[[list, bool], tuple[list, list]] | None = None
    fields: Callable[[dict, str], str | None] = _no_fields
    field_paths: tuple[str, ...] = ()  # selectable besides metadata.name/namespace
    served: bool = True  # False for kind-only types (Scale, Status, ...)

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def group_version(self) -> str:
        return self.api_version

    def default(self, obj: dict) -> bool:
        """Kubernetes defaulting, in place: the schema's constants, then the type's code.

        The type's code runs only on a well-typed object (`type_errors` empty): on
        anything else validation reports the type errors and nothing is stored.
        Returns whether the object was well typed, for `prepare_for_*` and
        `validate` (`well_typed=`): the server's own defaulting and preparing keep
        a well-typed object well typed, so they need not walk it again."""
        schema.apply_defaults(self.schema, obj)
        if schema.type_errors(self.schema, obj):
            return False
        self.defaulter(obj)
        return True

    def validate(self, obj: dict, old: dict | None = None, subresource: str = "", *,
                 well_typed: bool = False) -> list[errors.FieldError]:
        """Field errors of a create (`old` None) or an update; `subresource` is "status"
        when only the status is written (then only status rules apply). JSON type
        mismatches come first and alone: the rules assume well-typed objects.
        `well_typed` (what `default` returned) skips the type walk."""
        if not well_typed:
            mistyped = schema.type_errors(self.schema, obj)
            if mistyped:
                return mistyped
        return list(self.validator(obj, old, subresource))

    def prepare_for_create(self, obj: dict, *, well_typed: bool = False) -> None:
        """Reset what a client may not set on create (status, generated fields)."""
        if well_typed or not schema.type_errors(self.schema, obj):
            self.preparer(obj, None)

    def prepare_for_update(self, obj: dict, old: dict, *, well_typed: bool = False) -> None:
        if well_typed or not schema.type_errors(self.schema, obj):
            self.preparer(obj, old)

    def table(self, objs: list[dict], wide: bool = True) -> tuple[list[dict], list[list]]:
        """(columnDefinitions, cells per object) of `kubectl get`'s table; every column
        unless `wide` is False (kubectl hides priority-1 columns itself)."""
        from . import tables

        if self.tabler is None:
            return tables.default_table(objs, wide)
        return self.tabler(objs, wide)

    def field(self, obj: dict, path: str) -> str | None:
        """The value of a selectable field, or None when the field is not selectable."""
        meta = obj.get("metadata") or {}
        if path == "metadata.name":
            return meta.get("name", "")
        if path == "metadata.namespace":
            return meta.get("namespace", "") if self.namespaced else None
        return self.fields(obj, path)

    def selectable_fields(self) -> tuple[str, ...]:
        base = ("metadata.name", "metadata.namespace") if self.namespaced else ("metadata.name",)
        return base + self.field_paths

    def subresource_verbs(self, subresource: str) -> tuple[str, ...]:
        return SUBRESOURCE_VERBS.get(subresource, ("get",))


_lock = threading.Lock()
_types: list[ResourceType] = []
_by_path: dict[tuple[str, str, str], ResourceType] = {}
_by_kind: dict[tuple[str, str], ResourceType] = {}
_loaded = False


def register(rt: ResourceType) -> ResourceType:
    key_kind = (rt.api_version, rt.kind)
    if key_kind in _by_kind:
        raise ValueError(f"{rt.api_version} {rt.kind} is registered twice")
    _by_kind[key_kind] = rt
    if rt.served:
        _by_path[(rt.group, rt.version, rt.plural)] = rt
        _types.append(rt)
    return rt


def kind_only(group: str, version: str, kind: str, struct: schema.Struct, **hooks) -> ResourceType:
    """Register a kind that travels on the wire but is no resource of its own."""
    return register(ResourceType(group, version, kind, "", "", False, struct, has_status=False,
                                 verbs=(), served=False, **hooks))


def _load() -> None:
    global _loaded
    if _loaded:
        return
    with _lock:
        if not _loaded:
            importlib.import_module(f"{__package__}.types")
            _loaded = True


def lookup(group: str, version: str, plural: str) -> ResourceType | None:
    """The served type at `/apis/{group}/{version}/{plural}` (group "" for `/api/v1`)."""
    _load()
    return _by_path.get((group, version, plural))


def by_kind(api_version: str, kind: str) -> ResourceType | None:
    """The type of an object by its `apiVersion` and `kind` (served or kind-only)."""
    _load()
    return _by_kind.get((api_version, kind))


# Discovery lists groups in this order (core first, as Kubernetes does); others follow.
GROUP_ORDER = ("", "apps", "events.k8s.io", "autoscaling", "batch", "networking.k8s.io",
               "policy", "coordination.k8s.io", "discovery.k8s.io")


def _group_rank(group: str) -> int:
    return GROUP_ORDER.index(group) if group in GROUP_ORDER else len(GROUP_ORDER)


def all_types() -> list[ResourceType]:
    """Every served resource type: core first, then by group, each group's types by
    plural name."""
    _load()
    return sorted(_types, key=lambda rt: (_group_rank(rt.group), rt.group, rt.plural))


def all_kinds() -> list[ResourceType]:
    """Every registered kind, served or not (for the OpenAPI documents)."""
    _load()
    return list(_by_kind.values())


def groups() -> list[tuple[str, list[str]]]:
    """Discovery's view: each group ("" is core) with its versions, preferred first."""
    _load()
    seen: dict[str, list[str]] = {}
    for rt in all_types():
        versions = seen.setdefault(rt.group, [])
        if rt.version not in versions:
            versions.append(rt.version)
    return list(seen.items())


def resolve(name: str) -> ResourceType | None:
    """A type by any name kubectl accepts: plural, singular, short name or kind,
    optionally qualified by group (`deployments.apps`, `deploy`, `Pod`)."""
    _load()
    wanted, _, group = name.lower().partition(".")
    for rt in _types:
        if group and rt.group != group:
            continue
        names = {rt.plural, rt.singular, rt.kind.lower(), *rt.short_names}
        if wanted in names:
            return rt
    return None

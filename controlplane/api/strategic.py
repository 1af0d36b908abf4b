"""Strategic merge patch: what client-side `kubectl apply` sends for built-in types.

A JSON merge patch that knows the schema. Lists whose field declares a merge key
(`containers` by `name`, `ports` by `containerPort`, `env` by `name`, `volumes`
by `name`, `volumeMounts` by `mountPath`, conditions by `type`...) are merged item
by item instead of replaced; lists of scalars with strategy `merge`
(`finalizers`) are merged as sets; other lists are replaced, and `null` deletes.
Directives, as Kubernetes' strategicpatch package implements them:

- `$patch: replace` in a map replaces the whole map; as a list item, replaces the
  whole list with the other items. `$patch: delete` in a map deletes it; as a list
  item with the merge key, deletes the matching item.
- `$retainKeys: [..]` drops every key of the original map not listed (unions such
  as a volume's source or a Deployment's strategy).
- `$setElementOrder/<field>: [..]` fixes the order of a merged list.
- `$deleteFromPrimitiveList/<field>: [..]` removes scalars from a merged list.

The schema is reached only through `schema.child` and the list metadata of
`ListOf` (`merge_key`, `strategy`, `list_type`, `map_keys`), so the merge does not
care which resource it patches.

Growing into server-side apply: SSA merges with the same schema facts, keyed by
`list_type: map` + `map_keys` instead of patch merge keys (they coincide for
every list described here), `set` lists as sets and `atomic` lists replaced. It
adds field ownership: the set of field paths an applied configuration names
(`FieldsV1`: `f:spec`, `k:{"name":"web"}`, `v:"x"`) is recorded per manager in
`metadata.managedFields`; applying removes fields the manager owned before and
no longer names, reports conflicts with fields other managers own, then merges
like `_merge_map` below with the applied object as the patch. The walker here
(one function per JSON shape, each given the schema node) is where a
`field_set(schema, obj)` function and a merge keyed by `map_keys` would sit.
"""

from __future__ import annotations

import copy

from . import schema as sch
from .errors import PatchError

DIRECTIVE = "$patch"
RETAIN_KEYS = "$retainKeys"
SET_ORDER = "$setElementOrder/"
DELETE_FROM_PRIMITIVE = "$deleteFromPrimitiveList/"


def strategic_merge_patch(target, obj: dict, patch: dict) -> dict:
    """Apply a strategic merge patch to `obj` under the schema of `target` (a
    ResourceType or a Schema); returns a new object."""
    if not isinstance(patch, dict):
        raise PatchError("a strategic merge patch must be a JSON object")
    schema = target if isinstance(target, sch.Schema) else target.schema
    result = _merge_map(copy.deepcopy(obj) if isinstance(obj, dict) else {},
                        copy.deepcopy(patch), schema)
    return result


def _list_meta(schema: sch.Schema | None) -> tuple[str, bool, sch.Schema | None]:
    """(merge key, merge?, item schema) of a list-valued field."""
    if isinstance(schema, sch.ListOf):
        merge = "merge" in schema.strategy.split(",")
        return schema.merge_key, merge, schema.items
    return "", False, None


def _discard_nulls(value):
    """A value added where nothing was: nested `null`s mean nothing to delete."""
    if isinstance(value, dict):
        return {k: _discard_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_discard_nulls(v) for v in value]
    return value


def _merge_map(original: dict, patch: dict, schema: sch.Schema | None) -> dict:
    if DIRECTIVE in patch:
        directive = patch.pop(DIRECTIVE)
        if directive == "replace":
            return _strip_directives(patch)
        if directive == "delete":
            return {}
        raise PatchError(f"unknown patch type: {directive} in map: {patch}")
    _retain_keys(original, patch)
    _set_element_orders(original, patch, schema)
    for key, value in list(patch.items()):
        if key.startswith(SET_ORDER):
            continue
        deleting = key.startswith(DELETE_FROM_PRIMITIVE)
        if deleting:
            key = key[len(DELETE_FROM_PRIMITIVE):]
        if value is None:
            original.pop(key, None)
            continue
        child = sch.child(schema, key)
        if key not in original:
            if not deleting:
                original[key] = _strip_directives(_discard_nulls(value))
            continue
        current = original[key]
        if isinstance(current, dict) and isinstance(value, dict):
            original[key] = _merge_map(current, value, child)
        elif isinstance(current, list) and isinstance(value, list):
            original[key] = _merge_list_field(current, value, child, deleting)
        elif deleting:
            raise PatchError(f"{DELETE_FROM_PRIMITIVE}{key} must be a list")
        else:
            original[key] = _strip_directives(_discard_nulls(value))
    return original


def _strip_directives(value):
    """Directives of a patch never reach the stored object."""
    if isinstance(value, dict):
        return {k: _strip_directives(v) for k, v in value.items()
                if k not in (DIRECTIVE, RETAIN_KEYS)
                and not k.startswith((SET_ORDER, DELETE_FROM_PRIMITIVE))}
    if isinstance(value, list):
        return [_strip_directives(v) for v in value
                if not (isinstance(v, dict) and DIRECTIVE in v)]
    return value


def _retain_keys(original: dict, patch: dict) -> None:
    if RETAIN_KEYS not in patch:
        return
    keep = patch.pop(RETAIN_KEYS)
    if not isinstance(keep, list):
        raise PatchError("invalid patch format of retainKeys")
    for key, value in patch.items():
        if value is None or key.startswith((SET_ORDER, DELETE_FROM_PRIMITIVE)):
            continue
        if key not in keep:
            raise PatchError("invalid patch format of retainKeys")
    for key in list(original):
        if key not in keep:
            del original[key]


def _merge_list_field(original: list, patch: list, schema: sch.Schema | None,
                      deleting: bool = False) -> list:
    merge_key, merge, items = _list_meta(schema)
    if not merge:
        if deleting:
            raise PatchError("$deleteFromPrimitiveList applies only to lists merged as sets")
        return _strip_directives(_discard_nulls(patch))
    return _merge_list(original, patch, merge_key, items, deleting)


def _is_map_list(original: list, patch: list) -> bool:
    values = [v for v in original + patch]
    if not values:
        return False
    maps = [isinstance(v, dict) for v in values]
    if all(maps):
        return True
    if any(maps) or any(isinstance(v, list) for v in values):
        raise PatchError("lists containing elements of different types cannot be merged")
    return False


def _merge_list(original: list, patch: list, merge_key: str, items: sch.Schema | None,
                deleting: bool) -> list:
    if not original and not patch:
        return original
    if not _is_map_list(original, patch):
        if deleting:
            return [v for v in original if v not in patch]
        merged = []
        for value in original + patch:
            if value not in merged:
                merged.append(value)
        return _ordered([v for v in merged if v in patch], [v for v in merged if v not in patch],
                        patch, original, None)
    if not merge_key:
        raise PatchError("cannot merge lists without merge key")
    original, patch = _special_items(original, patch, merge_key)
    merged = list(original)
    for item in patch:
        if merge_key not in item:
            raise PatchError(f"map: {item} does not contain declared merge key: {merge_key}")
        index = _find(merged, merge_key, item[merge_key])
        if index is None:
            merged.append(_strip_directives(_discard_nulls(item)))
        else:
            merged[index] = _merge_map(merged[index], item, items)
    in_patch = {_key(i, merge_key) for i in patch}
    return _ordered([m for m in merged if _key(m, merge_key) in in_patch],
                    [m for m in merged if _key(m, merge_key) not in in_patch],
                    patch, original, merge_key)


def _key(item, merge_key: str | None):
    """A hashable identity of a list item: its merge key value, or the scalar itself."""
    value = item.get(merge_key) if merge_key else item
    return repr(value)


def _find(items: list, merge_key: str, value) -> int | None:
    for i, item in enumerate(items):
        if isinstance(item, dict) and item.get(merge_key) == value:
            return i
    return None


def _special_items(original: list, patch: list, merge_key: str) -> tuple[list, list]:
    """Apply `$patch: delete|replace` list items; return (original, remaining patch)."""
    remaining, replace = [], False
    for item in patch:
        directive = item.get(DIRECTIVE) if isinstance(item, dict) else None
        if directive is None:
            remaining.append(item)
        elif directive == "delete":
            if merge_key not in item:
                raise PatchError(f"map: {item} does not contain declared merge key: "
                                 f"{merge_key}")
            original = [o for o in original if o.get(merge_key) != item[merge_key]]
        elif directive == "replace":
            replace = True
        elif directive == "merge":
            raise PatchError("merging lists cannot yet be specified in the patch")
        else:
            raise PatchError(f"unknown patch type: {directive} in map: {item}")
    if replace:
        return [], remaining
    return original, remaining


def _ordered(patch_items: list, server_only: list, patch_order: list, server_order: list,
             merge_key: str | None) -> list:
    """Kubernetes' normalizeElementOrder: patch items in the patch's order, server-only
    items in the live order, interleaved so that both relative orders hold and
    server-only items keep their place relative to the live list where they can."""
    def position(order: list, item) -> int:
        key = _key(item, merge_key)
        for i, other in enumerate(order):
            if _key(other, merge_key) == key:
                return i
        return -1

    def by(order: list, values: list) -> list:
        known = sorted((v for v in values if position(order, v) >= 0),
                       key=lambda v: position(order, v))
        return known + [v for v in values if position(order, v) < 0]

    left, right = by(server_order, server_only), by(patch_order, patch_items)
    result, i, j = [], 0, 0
    while i < len(left) or j < len(right):
        if i >= len(left):
            result.append(right[j])
            j += 1
        elif j >= len(right):
            result.append(left[i])
            i += 1
        else:
            li, ri = position(server_order, left[i]), position(server_order, right[j])
            if li >= 0 and ri >= 0 and li < ri:
                result.append(left[i])
                i += 1
            else:
                result.append(right[j])
                j += 1
    return result


def _set_element_orders(original: dict, patch: dict, schema: sch.Schema | None) -> None:
    """Merge each list that has a `$setElementOrder/<field>` and order it accordingly."""
    for key in [k for k in patch if k.startswith(SET_ORDER)]:
        order = patch.pop(key)
        field = key[len(SET_ORDER):]
        if not isinstance(order, list):
            raise PatchError(f"{key} must be a list")
        child = sch.child(schema, field)
        merge_key, merge, items = _list_meta(child)
        patch_list = patch.pop(field, None)
        if patch_list is None and field not in original:
            continue
        if patch_list is not None and not isinstance(patch_list, list):
            raise PatchError(f"{field} must be a list when {key} is given")
        order_keys = {_key(i, merge_key) for i in order}
        for item in patch_list or []:
            if isinstance(item, dict) and DIRECTIVE in item:
                continue
            if _key(item, merge_key) not in order_keys:
                raise PatchError(f"error: {key} list does not contain {item}")
        current = original.get(field)
        if current is None:
            merged = _strip_directives(_discard_nulls(patch_list))
        elif patch_list is None:
            merged = current
        elif merge:
            merged = _merge_list(current, patch_list, merge_key, items, False)
        else:
            merged = _strip_directives(_discard_nulls(patch_list))
        in_order = [m for m in merged if _key(m, merge_key) in order_keys]
        rest = [m for m in merged if _key(m, merge_key) not in order_keys]
        original[field] = _ordered(in_order, rest, order, current or [], merge_key)

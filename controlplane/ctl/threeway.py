"""The three-way patch `apply` sends: what to change on the server's object so that it
matches the new configuration, without undoing what others changed.

    original   the configuration applied last time (the last-applied annotation)
    modified   the configuration being applied now
    current    the object as the server has it (defaults, status, others' edits)

As kubectl's `CreateThreeWayMergePatch` builds it:
  * changes and additions: the difference from `current` to `modified`, ignoring
    what `modified` lacks (fields set by the server or by others stay);
  * deletions: what `original` had and `modified` dropped, and only that (we
    delete only what we put there ourselves);
  * the two merged.

With a schema (the built-in types: `supernetes.controlplane.api`), lists whose
patch strategy is `merge` are diffed element by element by their merge key
(containers by `name`, ports by `containerPort`): changed elements carry their key,
removed ones `{"$patch": "delete"}`, and `$setElementOrder/<field>` keeps the
order; merged lists of scalars get `$deleteFromPrimitiveList/<field>`. The
result is a strategic merge patch. Without a schema every list is atomic and the
result is a JSON merge patch (RFC 7386), what kubectl sends for unknown types.
"""

from __future__ import annotations

from supernetes.controlplane.api import schema as api_schema

_MISSING = object()


def _child(schema, key: str):
    return api_schema.child(schema, key) if schema is not None else None


def _list_meta(schema) -> tuple[str, str, object]:
    if isinstance(schema, api_schema.ListOf):
        return schema.strategy or "", schema.merge_key or "", schema.items
    return "", "", None


def _same(a, b) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return a == b and (type(a) is type(b) or {type(a), type(b)} <= {int, float})


def diff(original: dict, modified: dict, schema=None, *, ignore_deletions: bool = False,
         ignore_changes: bool = False) -> dict:
    """The patch that turns `original` into `modified`, as far as the flags allow."""
    patch: dict = {}
    for key, new in modified.items():
        old = original.get(key, _MISSING)
        if old is _MISSING:
            if not ignore_changes:
                patch[key] = new
        elif isinstance(old, dict) and isinstance(new, dict):
            sub = diff(old, new, _child(schema, key), ignore_deletions=ignore_deletions,
                       ignore_changes=ignore_changes)
            if sub:
                patch[key] = sub
        elif isinstance(old, list) and isinstance(new, list):
            _diff_list(patch, key, old, new, _child(schema, key), ignore_deletions,
                       ignore_changes)
        elif not _same(old, new) and not ignore_changes:
            patch[key] = new
    if not ignore_deletions:
        for key in original:
            if key not in modified:
                patch[key] = None
    return patch


def _diff_list(patch: dict, key: str, old: list, new: list, schema, ignore_deletions: bool,
               ignore_changes: bool) -> None:
    strategy, merge_key, item_schema = _list_meta(schema)
    if "merge" not in strategy:
        if not _same(old, new) and not ignore_changes:
            patch[key] = new
        return
    if merge_key and all(isinstance(x, dict) for x in old + new):
        items = _diff_keyed(old, new, merge_key, item_schema, ignore_deletions, ignore_changes)
        if items:
            patch[key] = items
            patch[f"$setElementOrder/{key}"] = [{merge_key: x.get(merge_key)} for x in new]
        return
    added = [] if ignore_changes else [x for x in new if not any(_same(x, y) for y in old)]
    removed = [] if ignore_deletions else [x for x in old if not any(_same(x, y) for y in new)]
    if added:
        patch[key] = added
    if removed:
        patch[f"$deleteFromPrimitiveList/{key}"] = removed
    if added or removed:
        patch[f"$setElementOrder/{key}"] = new


def _diff_keyed(old: list, new: list, merge_key: str, item_schema, ignore_deletions: bool,
                ignore_changes: bool) -> list:
    old_by_key = {x.get(merge_key): x for x in old}
    new_keys = {x.get(merge_key) for x in new}
    items = []
    for item in new:
        value = item.get(merge_key)
        before = old_by_key.get(value)
        if before is None:
            if not ignore_changes:
                items.append(item)
            continue
        sub = diff(before, item, item_schema, ignore_deletions=ignore_deletions,
                   ignore_changes=ignore_changes)
        if sub:
            items.append({merge_key: value, **sub})
    if not ignore_deletions:
        for item in old:
            value = item.get(merge_key)
            if value not in new_keys:
                items.append({merge_key: value, "$patch": "delete"})
    return items


def merge_patches(first: dict, second: dict, schema=None) -> dict:
    """Both patches in one; `second` wins where they touch the same field."""
    out = dict(first)
    for key, value in second.items():
        mine = out.get(key, _MISSING)
        if isinstance(mine, dict) and isinstance(value, dict):
            out[key] = merge_patches(mine, value, _child(schema, key))
        elif isinstance(mine, list) and isinstance(value, list):
            strategy, merge_key, item_schema = _list_meta(_child(schema, key))
            if "merge" in strategy and merge_key:
                out[key] = _merge_keyed(mine, value, merge_key, item_schema)
            elif "merge" in strategy:
                out[key] = mine + [x for x in value if x not in mine]
            else:
                out[key] = value
        else:
            out[key] = value
    return out


def _merge_keyed(first: list, second: list, merge_key: str, item_schema) -> list:
    merged = list(first)
    for item in second:
        for i, existing in enumerate(merged):
            if isinstance(existing, dict) and existing.get(merge_key) == item.get(merge_key):
                merged[i] = merge_patches(existing, item, item_schema)
                break
        else:
            merged.append(item)
    return merged


def three_way(original: dict | None, modified: dict, current: dict, schema=None) -> dict:
    delta = diff(current, modified, schema, ignore_deletions=True)
    deletions = diff(original or {}, modified, schema, ignore_changes=True)
    return merge_patches(deletions, delta, schema)

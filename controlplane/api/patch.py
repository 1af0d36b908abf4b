"""The three PATCH formats of the Kubernetes API, applied to plain-dict objects.

- `json_merge_patch(obj, patch)`: RFC 7386 (`application/merge-patch+json`):
  objects merge recursively, `null` deletes, anything else replaces (lists too).
- `json_patch(obj, ops)`: RFC 6902 (`application/json-patch+json`): add, remove,
  replace, move, copy and test operations addressed by RFC 6901 pointers.
- `strategic_merge_patch(rt_or_schema, obj, patch)`
  (`application/strategic-merge-patch+json`, what `kubectl apply` sends): see
  `strategic.py`, re-exported here.

All three return a new object and leave their arguments untouched. A patch that
is malformed raises `PatchError` with code 400; one that is well formed but
cannot be applied (a failed `test`, a path that does not exist) code 422.
"""

from __future__ import annotations

import copy

from .errors import PatchError
from .strategic import strategic_merge_patch

__all__ = ["json_merge_patch", "json_patch", "strategic_merge_patch", "PatchError"]


def json_merge_patch(obj, patch):
    """RFC 7386: the result of merging `patch` into `obj`."""
    return _merge(copy.deepcopy(obj), copy.deepcopy(patch))


def _merge(target, patch):
    if not isinstance(patch, dict):
        return patch
    if not isinstance(target, dict):
        target = {}
    for key, value in patch.items():
        if value is None:
            target.pop(key, None)
        else:
            target[key] = _merge(target.get(key), value)
    return target


def _pointer(path) -> list[str]:
    """RFC 6901: `/a/b~1c/~0d` -> ["a", "b/c", "~d"]."""
    if not isinstance(path, str):
        raise PatchError(f"path must be a string, not {type(path).__name__}")
    if path == "":
        return []
    if not path.startswith("/"):
        raise PatchError(f"path {path!r} must start with '/'")
    return [part.replace("~1", "/").replace("~0", "~") for part in path[1:].split("/")]


def _index(container: list, token: str, path: str, allow_end: bool) -> int:
    if token == "-" and allow_end:
        return len(container)
    if not token.isdigit() or (token != "0" and token.startswith("0")):
        raise PatchError(f"path {path!r}: {token!r} is not a valid array index", 422)
    index = int(token)
    limit = len(container) + (1 if allow_end else 0)
    if index >= limit:
        raise PatchError(f"path {path!r}: index {index} is out of range", 422)
    return index


def _parent(doc, tokens: list[str], path: str):
    """The container holding the last token of `tokens`."""
    node = doc
    for token in tokens[:-1]:
        if isinstance(node, dict):
            if token not in node:
                raise PatchError(f"path {path!r} does not exist", 422)
            node = node[token]
        elif isinstance(node, list):
            node = node[_index(node, token, path, allow_end=False)]
        else:
            raise PatchError(f"path {path!r} does not exist", 422)
    return node


def _get(doc, path: str):
    node = doc
    for token in _pointer(path):
        if isinstance(node, dict) and token in node:
            node = node[token]
        elif isinstance(node, list):
            node = node[_index(node, token, path, allow_end=False)]
        else:
            raise PatchError(f"path {path!r} does not exist", 422)
    return node


def _add(doc, path: str, value):
    tokens = _pointer(path)
    if not tokens:
        return value
    parent = _parent(doc, tokens, path)
    last = tokens[-1]
    if isinstance(parent, dict):
        parent[last] = value
    elif isinstance(parent, list):
        parent.insert(_index(parent, last, path, allow_end=True), value)
    else:
        raise PatchError(f"path {path!r} does not exist", 422)
    return doc


def _remove(doc, path: str):
    tokens = _pointer(path)
    if not tokens:
        raise PatchError("cannot remove the whole document", 422)
    parent = _parent(doc, tokens, path)
    last = tokens[-1]
    if isinstance(parent, dict):
        if last not in parent:
            raise PatchError(f"path {path!r} does not exist", 422)
        return parent.pop(last)
    if isinstance(parent, list):
        return parent.pop(_index(parent, last, path, allow_end=False))
    raise PatchError(f"path {path!r} does not exist", 422)


def _operation(doc, op: dict):
    if not isinstance(op, dict):
        raise PatchError(f"each operation must be an object, not {type(op).__name__}")
    kind, path = op.get("op"), op.get("path")
    if kind in ("add", "replace", "test") and "value" not in op:
        raise PatchError(f"operation {kind!r} at {path!r} needs a value")
    if kind in ("move", "copy") and "from" not in op:
        raise PatchError(f"operation {kind!r} at {path!r} needs a 'from'")
    if kind == "add":
        return _add(doc, path, copy.deepcopy(op["value"]))
    if kind == "remove":
        _remove(doc, path)
        return doc
    if kind == "replace":
        if not _pointer(path):
            return copy.deepcopy(op["value"])
        _remove(doc, path)
        return _add(doc, path, copy.deepcopy(op["value"]))
    if kind == "move":
        source = op["from"]
        if path != source and path.startswith(source + "/"):
            raise PatchError(f"cannot move {source!r} into its own child {path!r}", 422)
        return _add(doc, path, _remove(doc, source))
    if kind == "copy":
        return _add(doc, path, copy.deepcopy(_get(doc, op["from"])))
    if kind == "test":
        actual = _get(doc, path)
        if not _json_equal(actual, op["value"]):
            raise PatchError(f"test operation failed: {path!r} is {actual!r}, "
                             f"not {op['value']!r}", 422)
        return doc
    raise PatchError(f"unknown JSON patch operation {kind!r}")


def _json_equal(a, b) -> bool:
    """Equality of JSON values: 1 == 1.0, but true != 1 (Python says it is)."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_json_equal(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_json_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a == b
    return type(a) is type(b) and a == b


def json_patch(obj, ops):
    """RFC 6902: apply every operation in order; all or nothing."""
    if not isinstance(ops, list):
        raise PatchError("a JSON patch must be an array of operations")
    doc = copy.deepcopy(obj)
    for op in ops:
        doc = _operation(doc, op)
    return doc

"""Bodies in and out: JSON and YAML decoding with limits, Accept negotiation, encoding.

Requests carry JSON (what kubectl and client libraries send) or YAML; both decode
to plain dicts (and so do the protobuf bodies of the few kinds kubectl 1.33's
`create` commands send that way, see protobuf.py). Every way a body can be bad
(too large, not UTF-8, not JSON, a YAML alias bomb, absurdly deep nesting, not
an object) becomes a 4xx `ApiError` here, so nothing further in can meet it.
Responses are JSON, or a `Table` or `PartialObjectMetadata` view when the
client's Accept header asks for one, as `kubectl get` does.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass

import orjson
import yaml

from . import errors, protobuf

MAX_BODY = 3 * 1024 * 1024          # Kubernetes' limit on a request body
MAX_DEPTH = 64                      # objects nest ~10 deep; deeper is an attack
MAX_YAML_NODES = 1_000_000          # YAML aliases can expand exponentially

# orjson: every request and every watch event is JSON in and out; it is several
# times faster than the standard library on objects the size of a pod.
_dumps = orjson.dumps
_loads = orjson.loads
_YamlLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

JSON = "application/json"
YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml")


def dumps(obj) -> bytes:
    return _dumps(obj)


def loads(data: bytes):
    return _loads(data)


def media_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


DRAIN_LIMIT = 8 * MAX_BODY          # a refused body up to this size is read and dropped


def read_body(stream, content_length: int | None) -> bytes:
    """Read at most MAX_BODY bytes of a request body, refusing larger ones with a 413.

    A refused body that is not absurdly large is read to its end first: a client
    still sending when the server closes the connection sees a broken pipe instead
    of the 413 Status.
    """
    if content_length is not None and content_length > MAX_BODY:
        if content_length <= DRAIN_LIMIT:
            _drain(stream, content_length)
        raise errors.too_large(MAX_BODY)
    data = stream.read(MAX_BODY + 1) if content_length is None else stream.read(content_length)
    if len(data) > MAX_BODY:
        _drain(stream, DRAIN_LIMIT)
        raise errors.too_large(MAX_BODY)
    return data


def _drain(stream, limit: int) -> None:
    left = limit
    while left > 0:
        chunk = stream.read(min(left, 65536))
        if not chunk:
            return
        left -= len(chunk)


def decode(body: bytes, content_type: str | None, *, strict: bool = False):
    """Decode a JSON or YAML request body into a dict."""
    kind = media_type(content_type)
    if not body.strip():
        raise errors.bad_request("the request body is empty")
    if kind in YAML_TYPES or kind == "application/apply-patch+yaml":
        obj = _decode_yaml(body)
    elif kind in ("", JSON, "application/merge-patch+json", "application/json-patch+json",
                  "application/strategic-merge-patch+json", "*/*"):
        obj = _decode_json(body, strict)
    elif kind == protobuf.MEDIA_TYPE:
        obj = protobuf.decode(body)
    else:
        raise errors.unsupported_media_type(kind)
    return obj


def _decode_json(body: bytes, strict: bool):
    try:
        if strict:
            return json.loads(body, object_pairs_hook=_no_duplicates)
        obj = _loads(body)
    except UnicodeDecodeError as exc:
        raise errors.bad_request(f"the request body is not UTF-8: {exc.reason}") from exc
    except (json.JSONDecodeError, orjson.JSONDecodeError) as exc:
        raise errors.bad_request(f"error decoding JSON: {exc}") from exc
    except RecursionError as exc:
        raise errors.bad_request("error decoding JSON: nesting too deep") from exc
    except _Duplicate as exc:
        raise errors.bad_request(f'strict decoding error: duplicate field "{exc}"') from exc
    if body.count(b"{") + body.count(b"[") > MAX_DEPTH:
        check_depth(obj)
    return obj


class _Duplicate(ValueError):
    pass


def _no_duplicates(pairs):
    obj = {}
    for key, value in pairs:
        if key in obj:
            raise _Duplicate(key)
        obj[key] = value
    return obj


def _decode_yaml(body: bytes):
    try:
        obj = yaml.load(body, Loader=_YamlLoader)
    except yaml.YAMLError as exc:
        raise errors.bad_request(f"error decoding YAML: {exc}".replace("\n", " ")) from exc
    except RecursionError as exc:
        raise errors.bad_request("error decoding YAML: nesting too deep") from exc
    check_depth(obj, max_nodes=MAX_YAML_NODES)
    try:
        # YAML has types JSON lacks (dates, binary, non-string keys): the
        # round trip both normalises them and rejects what JSON cannot carry.
        return _loads(_dumps(obj))
    except (TypeError, ValueError, orjson.JSONEncodeError) as exc:
        raise errors.bad_request(f"error decoding YAML: {exc}") from exc


def check_depth(obj, max_nodes: int = MAX_YAML_NODES) -> None:
    """Refuse nesting deeper than MAX_DEPTH or more than `max_nodes` values (iteratively)."""
    stack = [(obj, 1)]
    seen = 0
    while stack:
        value, depth = stack.pop()
        seen += 1
        if depth > MAX_DEPTH:
            raise errors.bad_request(f"the request body nests deeper than {MAX_DEPTH} levels")
        if seen > max_nodes:
            raise errors.bad_request("the request body has too many values")
        if isinstance(value, dict):
            stack.extend((v, depth + 1) for v in value.values())
        elif isinstance(value, list):
            stack.extend((v, depth + 1) for v in value)


@dataclass(frozen=True)
class View:
    """What representation the client asked for."""

    table: bool = False           # meta.k8s.io Table
    partial: bool = False         # meta.k8s.io PartialObjectMetadata(List)
    table_version: str = "v1"


PLAIN = View()


@functools.lru_cache(maxsize=64)
def negotiate(accept: str | None) -> View:
    """Pick the response view from an Accept header, in the client's order.

    Every request asks this, and clients send the same few headers over and over
    (kubectl's Table list, `application/json`, `*/*`): the answers are kept (a
    refusal raises, and is not kept)."""
    if not accept:
        return PLAIN
    acceptable = False
    for clause in accept.split(","):
        parts = [p.strip() for p in clause.split(";")]
        kind = parts[0].lower()
        params = dict(p.split("=", 1) for p in parts[1:] if "=" in p)
        if kind not in (JSON, "*/*", "application/*"):
            continue
        as_ = params.get("as")
        group, version = params.get("g"), params.get("v", "v1")
        if as_ is None:
            acceptable = True
            break
        if group == "meta.k8s.io" and version in ("v1", "v1beta1"):
            if as_ == "Table":
                return View(table=True, table_version=version)
            if as_ in ("PartialObjectMetadata", "PartialObjectMetadataList"):
                return View(partial=True, table_version=version)
    if not acceptable:
        raise errors.not_acceptable(accept)
    return PLAIN

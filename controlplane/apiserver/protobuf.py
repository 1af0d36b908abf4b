"""Kubernetes' protobuf request bodies, for the few kinds kubectl sends that way.

kubectl 1.33's `create namespace|configmap|secret|serviceaccount` post
`application/vnd.kubernetes.protobuf` (they accept JSON back). Such a body is
the magic `k8s\\0` and a `runtime.Unknown` envelope (apiVersion, kind, raw
bytes); the raw bytes are the object in the field numbering of Kubernetes'
`generated.proto` files. This module reads the protobuf wire format and maps
the fields of those kinds (and ObjectMeta, which they share) onto the JSON
names, dropping empty values as Go's `omitempty` would. Any other kind gets a
415 naming what is supported: JSON or YAML always is.
"""

from __future__ import annotations

import base64
import datetime

from . import errors

MAGIC = b"k8s\x00"
MEDIA_TYPE = "application/vnd.kubernetes.protobuf"

# message schemas: field number -> (json name, type); types are "string", "int",
# "bool", "bytes", a nested schema (dict), ("repeated", type), ("map", value type),
# or "time" (meta/v1 Time: seconds + nanos -> RFC 3339).
_OWNER_REF = {1: ("kind", "string"), 3: ("name", "string"), 4: ("uid", "string"),
              5: ("apiVersion", "string"), 6: ("controller", "bool"),
              7: ("blockOwnerDeletion", "bool")}
_OBJECT_META = {1: ("name", "string"), 2: ("generateName", "string"),
                3: ("namespace", "string"), 5: ("uid", "string"),
                6: ("resourceVersion", "string"), 7: ("generation", "int"),
                8: ("creationTimestamp", "time"), 9: ("deletionTimestamp", "time"),
                10: ("deletionGracePeriodSeconds", "int"),
                11: ("labels", ("map", "string")), 12: ("annotations", ("map", "string")),
                13: ("ownerReferences", ("repeated", _OWNER_REF)),
                14: ("finalizers", ("repeated", "string"))}
_OBJECT_REF = {1: ("kind", "string"), 2: ("namespace", "string"), 3: ("name", "string"),
               4: ("uid", "string"), 5: ("apiVersion", "string"),
               6: ("resourceVersion", "string"), 7: ("fieldPath", "string")}
KINDS = {
    ("v1", "Namespace"): {1: ("metadata", _OBJECT_META),
                          2: ("spec", {1: ("finalizers", ("repeated", "string"))}),
                          3: ("status", {1: ("phase", "string")})},
    ("v1", "ConfigMap"): {1: ("metadata", _OBJECT_META), 2: ("data", ("map", "string")),
                          3: ("binaryData", ("map", "bytes")), 4: ("immutable", "bool")},
    ("v1", "Secret"): {1: ("metadata", _OBJECT_META), 2: ("data", ("map", "bytes")),
                       3: ("type", "string"), 4: ("stringData", ("map", "string")),
                       5: ("immutable", "bool")},
    ("v1", "ServiceAccount"): {1: ("metadata", _OBJECT_META),
                               2: ("secrets", ("repeated", _OBJECT_REF)),
                               3: ("imagePullSecrets", ("repeated", {1: ("name", "string")})),
                               4: ("automountServiceAccountToken", "bool")},
}
_UNKNOWN = {1: ("typeMeta", {1: ("apiVersion", "string"), 2: ("kind", "string")}),
            2: ("raw", "bytes"), 3: ("contentEncoding", "string"),
            4: ("contentType", "string")}


class _Bad(ValueError):
    pass


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if pos >= len(data) or shift > 63:
            raise _Bad("truncated varint")
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos
        shift += 7


def _fields(data: bytes):
    """(field number, wire type, value) of each field; value is int or bytes."""
    pos = 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(data, pos)
        elif wire == 2:
            length, pos = _varint(data, pos)
            if pos + length > len(data):
                raise _Bad("truncated field")
            value, pos = data[pos:pos + length], pos + length
        elif wire == 1:
            value, pos = data[pos:pos + 8], pos + 8
        elif wire == 5:
            value, pos = data[pos:pos + 4], pos + 4
        else:
            raise _Bad(f"unsupported wire type {wire}")
        yield number, wire, value


def _signed(value: int) -> int:
    return value - (1 << 64) if value >= 1 << 63 else value


def _scalar(kind: str, wire: int, value):
    if kind == "string":
        if wire != 2:
            raise _Bad("expected a string")
        return value.decode()
    if kind == "bytes":
        if wire != 2:
            raise _Bad("expected bytes")
        return base64.b64encode(value).decode()
    if kind in ("int", "bool"):
        if wire != 0:
            raise _Bad("expected a varint")
        return bool(value) if kind == "bool" else _signed(value)
    if kind == "time":
        seconds = dict((n, v) for n, _, v in _fields(value)).get(1, 0)
        if not seconds:
            return None
        return datetime.datetime.fromtimestamp(_signed(seconds), datetime.UTC).strftime(
            "%Y-%m-%dT%H:%M:%SZ")
    return _message(kind, value)


def _message(schema: dict, data: bytes) -> dict:
    obj: dict = {}
    for number, wire, value in _fields(data):
        if number not in schema:
            continue                    # unknown fields are skipped, as protobuf does
        name, kind = schema[number]
        if isinstance(kind, tuple) and kind[0] == "repeated":
            obj.setdefault(name, []).append(_scalar(kind[1], wire, value))
        elif isinstance(kind, tuple) and kind[0] == "map":
            entry = {n: v for n, _, v in _fields(value)}
            key = entry.get(1, b"").decode()
            obj.setdefault(name, {})[key] = _scalar(kind[1], 2, entry.get(2, b""))
        else:
            obj[name] = _scalar(kind, wire, value)
    # Go's omitempty: zero values are not sent
    return {k: v for k, v in obj.items() if v not in ("", 0, None, {}, False)}


def decode(body: bytes) -> dict:
    if not body.startswith(MAGIC):
        raise errors.bad_request("a protobuf body must start with the k8s magic bytes")
    try:
        envelope = _message(_UNKNOWN, body[len(MAGIC):])
        type_meta = envelope.get("typeMeta", {})
        key = (type_meta.get("apiVersion", ""), type_meta.get("kind", ""))
        if key not in KINDS:
            supported = ", ".join(kind for _, kind in KINDS)
            raise errors.ApiError(415, "UnsupportedMediaType",
                                  f"protobuf bodies are decoded for {supported} only; send "
                                  f"{key[1] or 'this kind'} as JSON or YAML")
        obj = _message(KINDS[key], base64.b64decode(envelope.get("raw", "")))
    except (_Bad, UnicodeDecodeError, ValueError) as exc:
        raise errors.bad_request(f"error decoding protobuf: {exc}") from exc
    obj.setdefault("metadata", {})
    return {"apiVersion": key[0], "kind": key[1], **obj}

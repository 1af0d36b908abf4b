"""The OpenAPI v2 document in gnostic's protobuf encoding, the only form of
`/openapi/v2` that kubectl accepts (it sends
`Accept: application/com.github.proto-openapi.spec.v2@v1.0+protobuf`, and
kubectl 1.27's `apply` fails without it).

A minimal protobuf writer (varints and length-delimited fields are all this
needs) maps the JSON document of `openapi.openapi_v2()` onto the messages of
gnostic's `openapiv2/OpenAPIv2.proto`; field numbers below are that file's.
Vendor extensions travel as `Any.yaml` text: JSON is YAML, so the extension
value is written as JSON.
"""

from __future__ import annotations

import functools
import json

# What kubectl asks for (either spelling) and what to answer with: the `@` form
# is not a valid MIME subtype for Go's parser, so client-go rejects it in a
# response's Content-Type; Kubernetes answers with the dotted form too.
ACCEPTED_TYPES = ("application/com.github.proto-openapi.spec.v2@v1.0+protobuf",
                  "application/com.github.proto-openapi.spec.v2.v1.0+protobuf")
MEDIA_TYPE = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"


def _varint(value: int) -> bytes:
    out = bytearray()
    value &= (1 << 64) - 1  # negative int64 values are sent as 10-byte varints
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _bytes(field: int, payload: bytes) -> bytes:
    return _varint(field << 3 | 2) + _varint(len(payload)) + payload


def _string(field: int, text) -> bytes:
    return _bytes(field, str(text).encode()) if text else b""


def _bool(field: int, value) -> bytes:
    return _varint(field << 3) + b"\x01" if value else b""


def _strings(field: int, values) -> bytes:
    return b"".join(_bytes(field, str(v).encode()) for v in values or [])


def _named(field: int, name: str, value: bytes) -> bytes:
    """A `Named*` message (name = 1, value = 2) as field `field`."""
    return _bytes(field, _string(1, name) + _bytes(2, value))


def _extensions(field: int, body: dict) -> bytes:
    out = b""
    for key, value in body.items():
        if key.startswith("x-"):
            any_message = _string(2, json.dumps(value, sort_keys=True))
            out += _named(field, key, any_message)
    return out


def _schema(body: dict) -> bytes:
    out = _string(1, body.get("$ref")) + _string(2, body.get("format"))
    out += _string(4, body.get("description"))
    out += _bool(16, body.get("uniqueItems"))
    out += _strings(19, body.get("required"))
    if "additionalProperties" in body:
        out += _bytes(21, _bytes(1, _schema(body["additionalProperties"])))
    if "type" in body:
        out += _bytes(22, _strings(1, [body["type"]]))
    if "items" in body:
        out += _bytes(23, _bytes(1, _schema(body["items"])))
    for part in body.get("allOf") or []:
        out += _bytes(24, _schema(part))
    if body.get("properties"):
        props = b"".join(_named(1, k, _schema(v)) for k, v in body["properties"].items())
        out += _bytes(25, props)
    return out + _extensions(31, body)


def _parameter(body: dict) -> bytes:
    where = body.get("in")
    if where == "body":
        inner = (_string(1, body.get("description")) + _string(2, body.get("name"))
                 + _string(3, where) + _bool(4, body.get("required"))
                 + _bytes(5, _schema(body.get("schema") or {})))
        return _bytes(1, _bytes(1, inner))
    common = (_bool(1, body.get("required")) + _string(2, where)
              + _string(3, body.get("description")) + _string(4, body.get("name")))
    if where == "path":
        inner = common + _string(5, body.get("type")) + _bool(19, body.get("uniqueItems"))
        sub = _bytes(4, inner)
    else:
        inner = common + _string(6, body.get("type")) + _bool(20, body.get("uniqueItems"))
        sub = _bytes(3, inner)
    return _bytes(1, _bytes(2, sub))


def _operation(op: dict) -> bytes:
    out = _strings(1, op.get("tags")) + _string(3, op.get("description"))
    out += _string(5, op.get("operationId"))
    out += _strings(6, op.get("produces")) + _strings(7, op.get("consumes"))
    out += b"".join(_bytes(8, _parameter(p)) for p in op.get("parameters") or [])
    responses = b""
    for code, response in (op.get("responses") or {}).items():
        inner = _string(1, response.get("description"))
        if "schema" in response:
            inner += _bytes(2, _bytes(1, _schema(response["schema"])))
        responses += _named(1, code, _bytes(1, inner))
    out += _bytes(9, responses)
    out += _strings(10, op.get("schemes"))
    return out + _extensions(13, op)


_VERBS = {"get": 2, "put": 3, "post": 4, "delete": 5, "options": 6, "head": 7, "patch": 8}


def _path_item(item: dict) -> bytes:
    out = b""
    for verb, number in _VERBS.items():
        if verb in item:
            out += _bytes(number, _operation(item[verb]))
    out += b"".join(_bytes(9, _parameter(p)) for p in item.get("parameters") or [])
    return out


def encode(doc: dict) -> bytes:
    """A Swagger 2.0 document (as `openapi.openapi_v2()` builds it) as gnostic protobuf."""
    out = _string(1, doc.get("swagger"))
    info = doc.get("info") or {}
    out += _bytes(2, _string(1, info.get("title")) + _string(2, info.get("version")))
    paths = b"".join(_named(2, path, _path_item(item))
                     for path, item in (doc.get("paths") or {}).items())
    out += _bytes(8, paths)
    definitions = b"".join(_named(1, name, _schema(body))
                           for name, body in (doc.get("definitions") or {}).items())
    out += _bytes(9, definitions)
    for requirement in doc.get("security") or []:
        entries = b"".join(_named(1, name, _strings(1, scopes))
                           for name, scopes in requirement.items())
        out += _bytes(12, entries)
    security = b""
    for name, scheme in (doc.get("securityDefinitions") or {}).items():
        api_key = (_string(1, scheme.get("type")) + _string(2, scheme.get("name"))
                   + _string(3, scheme.get("in")) + _string(4, scheme.get("description")))
        security += _named(1, name, _bytes(2, api_key))
    if security:
        out += _bytes(13, security)
    return out


@functools.cache
def openapi_v2_protobuf() -> bytes:
    """`/openapi/v2` as kubectl wants it (cached; serve with MEDIA_TYPE)."""
    from .openapi import openapi_v2

    return encode(openapi_v2())

"""The protobuf form of /openapi/v2, decoded back with a minimal wire-format reader
and compared with the JSON document it encodes (gnostic's OpenAPIv2.proto numbers)."""

import json

from supernetes.controlplane.api import openapi
from supernetes.controlplane.api.openapi_proto import MEDIA_TYPE, encode, openapi_v2_protobuf


def read_varint(data: bytes, pos: int) -> tuple[int, int]:
    shift = value = 0
    while True:
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, pos


def fields(data: bytes) -> list[tuple[int, object]]:
    """(field number, int or bytes) pairs of one message."""
    out, pos = [], 0
    while pos < len(data):
        key, pos = read_varint(data, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = read_varint(data, pos)
        elif wire == 2:
            length, pos = read_varint(data, pos)
            value, pos = data[pos:pos + length], pos + length
        else:
            raise AssertionError(f"unexpected wire type {wire}")
        out.append((number, value))
    return out


def field(data: bytes, number: int):
    return [v for n, v in fields(data) if n == number]


def named(data: bytes, number: int) -> dict[str, bytes]:
    """A repeated Named* field as {name: value bytes}."""
    out = {}
    for entry in field(data, number):
        name = field(entry, 1)[0].decode()
        out[name] = (field(entry, 2) or [b""])[0]
    return out


def test_document_header_and_every_definition_and_path():
    doc = openapi.openapi_v2()
    data = openapi_v2_protobuf()
    assert field(data, 1) == [b"2.0"]
    assert field(field(data, 2)[0], 1) == [b"Kubernetes"]
    definitions = named(field(data, 9)[0], 1)
    assert set(definitions) == set(doc["definitions"])
    paths = named(field(data, 8)[0], 2)
    assert set(paths) == set(doc["paths"])


def test_schema_properties_types_refs_and_extensions():
    definitions = named(field(openapi_v2_protobuf(), 9)[0], 1)
    pod = definitions["io.k8s.api.core.v1.Pod"]
    assert field(field(pod, 22)[0], 1) == [b"object"]
    extensions = named(pod, 31)
    gvk = json.loads(field(extensions["x-kubernetes-group-version-kind"], 2)[0])
    assert gvk == [{"group": "", "kind": "Pod", "version": "v1"}]
    props = named(field(pod, 25)[0], 1)
    assert field(props["spec"], 1) == [b"#/definitions/io.k8s.api.core.v1.PodSpec"]
    spec = named(field(definitions["io.k8s.api.core.v1.PodSpec"], 25)[0], 1)
    containers = spec["containers"]
    items = field(field(containers, 23)[0], 1)[0]
    assert field(items, 1) == [b"#/definitions/io.k8s.api.core.v1.Container"]
    merge_key = named(containers, 31)["x-kubernetes-patch-merge-key"]
    assert json.loads(field(merge_key, 2)[0]) == "name"
    assert b"containers" in field(definitions["io.k8s.api.core.v1.PodSpec"], 19)


def test_patch_operation_carries_gvk_and_field_validation():
    paths = named(field(openapi_v2_protobuf(), 8)[0], 2)
    item = paths["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]
    patch = field(item, 8)[0]
    assert field(patch, 5) == [b"patchAppsV1NamespacedDeployment"]
    gvk = json.loads(field(named(patch, 13)["x-kubernetes-group-version-kind"], 2)[0])
    assert gvk == {"group": "apps", "kind": "Deployment", "version": "v1"}
    names = []
    for parameter in field(patch, 8):
        non_body = field(field(parameter, 1)[0], 2)
        if non_body:
            query = field(non_body[0], 3)
            if query:
                names.append(field(query[0], 4)[0])
    assert b"fieldValidation" in names


def test_media_type_is_parseable_by_go():
    # client-go rejects a Content-Type whose subtype holds '@'
    assert "@" not in MEDIA_TYPE and MEDIA_TYPE.endswith("+protobuf")


def test_empty_document_has_the_empty_required_messages():
    assert encode({}) == bytes([0x12, 0x00, 0x42, 0x00, 0x4A, 0x00])
    assert fields(encode({"swagger": "2.0"}))[0] == (1, b"2.0")

"""Bad input never crashes the type functions: every field of real manifests is
replaced by values of every JSON type, and defaulting, preparing and validating
still return (errors, not exceptions); what validates also tabulates."""

import copy
import pathlib

import pytest
import yaml

from supernetes.controlplane.api import errors, registry

MANIFESTS = pathlib.Path(__file__).parent / "manifests"
ODD_VALUES = [None, -1, 2**40, 1.5, "x", True, [1], {"a": 1}]


def documents():
    for path in sorted(MANIFESTS.glob("*.yaml")):
        yield from yaml.safe_load_all(path.read_text())


def paths(value, prefix=()):
    yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from paths(item, prefix + (key,))
    elif isinstance(value, list):
        for i, item in enumerate(value[:1]):
            yield from paths(item, prefix + (i,))


def replaced(doc, path, value):
    doc = copy.deepcopy(doc)
    node = doc
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return doc


def exercise(rt, obj, old):
    rt.default(obj)
    rt.prepare_for_create(obj)
    found = rt.validate(obj)
    if not found:  # what would be stored is what tables and selectors see
        rt.table([obj])
        for path in rt.selectable_fields():
            assert isinstance(rt.field(obj, path), str)
    found += rt.validate(obj, old)
    found += rt.validate(obj, old, subresource="status")
    assert all(isinstance(e, errors.FieldError) for e in found)
    for err in found:
        err.message()


@pytest.mark.parametrize("doc", list(documents()), ids=lambda d: d["kind"] + "/" +
                         d["metadata"]["name"])
def test_every_field_with_every_json_type(doc):
    rt = registry.by_kind(doc["apiVersion"], doc["kind"])
    old = copy.deepcopy(doc)
    rt.default(old)
    for path in list(paths(doc)):
        if len(path) < 2 and path[:1] in ((), ("apiVersion",), ("kind",)):
            continue
        for value in ODD_VALUES:
            exercise(rt, replaced(doc, path, value), old)


@pytest.mark.parametrize("rt", registry.all_types(), ids=lambda rt: rt.kind)
def test_empty_and_garbage_objects(rt):
    for obj in ({}, {"metadata": None}, {"spec": "x", "status": 1},
                {"metadata": {"name": 1, "labels": []}}):
        exercise(rt, obj, {})

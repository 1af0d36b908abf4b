"""JSON merge patch (RFC 7386) and JSON patch (RFC 6902), with the RFCs' examples."""

import pytest

from supernetes.controlplane.api import PatchError
from supernetes.controlplane.api.patch import json_merge_patch, json_patch

# RFC 7386 appendix A: (target, patch, result)
MERGE_EXAMPLES = [
    ({"a": "b"}, {"a": "c"}, {"a": "c"}),
    ({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}),
    ({"a": "b"}, {"a": None}, {}),
    ({"a": "b", "b": "c"}, {"a": None}, {"b": "c"}),
    ({"a": ["b"]}, {"a": "c"}, {"a": "c"}),
    ({"a": "c"}, {"a": ["b"]}, {"a": ["b"]}),
    ({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}, {"a": {"b": "d"}}),
    ({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}),
    (["a", "b"], ["c", "d"], ["c", "d"]),
    ({"a": "b"}, ["c"], ["c"]),
    ({"a": "foo"}, None, None),
    ({"a": "foo"}, "bar", "bar"),
    ({"e": None}, {"a": 1}, {"e": None, "a": 1}),
    ([1, 2], {"a": "b", "c": None}, {"a": "b"}),
    ({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}),
]


@pytest.mark.parametrize("target,patch,result", MERGE_EXAMPLES)
def test_rfc7386_examples(target, patch, result):
    assert json_merge_patch(target, patch) == result


def test_merge_patch_leaves_arguments_untouched():
    target, patch = {"a": {"b": 1}}, {"a": {"c": 2}}
    json_merge_patch(target, patch)
    assert target == {"a": {"b": 1}} and patch == {"a": {"c": 2}}


DOC = {"foo": "bar", "baz": [1, 2], "obj": {"a/b": 1, "m~n": 2}}


@pytest.mark.parametrize("ops,result", [
    ([{"op": "add", "path": "/qux", "value": 1}], {**DOC, "qux": 1}),
    ([{"op": "add", "path": "/baz/1", "value": 9}], {**DOC, "baz": [1, 9, 2]}),
    ([{"op": "add", "path": "/baz/-", "value": 3}], {**DOC, "baz": [1, 2, 3]}),
    ([{"op": "remove", "path": "/baz/0"}], {**DOC, "baz": [2]}),
    ([{"op": "replace", "path": "/foo", "value": "x"}], {**DOC, "foo": "x"}),
    ([{"op": "move", "from": "/foo", "path": "/moved"}],
     {"baz": [1, 2], "obj": DOC["obj"], "moved": "bar"}),
    ([{"op": "copy", "from": "/baz", "path": "/copy"}], {**DOC, "copy": [1, 2]}),
    ([{"op": "remove", "path": "/obj/a~1b"}, {"op": "remove", "path": "/obj/m~0n"}],
     {**DOC, "obj": {}}),
    ([{"op": "test", "path": "/baz", "value": [1, 2]},
      {"op": "replace", "path": "", "value": {"x": 1}}], {"x": 1}),
    ([{"op": "test", "path": "/baz/0", "value": 1.0}], DOC),
])
def test_rfc6902_operations(ops, result):
    assert json_patch(DOC, ops) == result


@pytest.mark.parametrize("ops,code,message", [
    ([{"op": "test", "path": "/foo", "value": "nope"}], 422, "test operation failed"),
    ([{"op": "test", "path": "/baz/0", "value": True}], 422, "test operation failed"),
    ([{"op": "remove", "path": "/missing"}], 422, "does not exist"),
    ([{"op": "replace", "path": "/missing/x", "value": 1}], 422, "does not exist"),
    ([{"op": "add", "path": "/baz/7", "value": 1}], 422, "out of range"),
    ([{"op": "add", "path": "/baz/01", "value": 1}], 422, "not a valid array index"),
    ([{"op": "move", "from": "/obj", "path": "/obj/x"}], 422, "its own child"),
    ([{"op": "jump", "path": "/foo"}], 400, "unknown JSON patch operation"),
    ([{"op": "add", "path": "/foo"}], 400, "needs a value"),
    ([{"op": "add", "path": "foo", "value": 1}], 400, "must start with '/'"),
    ({"op": "add"}, 400, "must be an array"),
])
def test_json_patch_errors_are_typed(ops, code, message):
    with pytest.raises(PatchError, match=message) as info:
        json_patch(DOC, ops)
    assert info.value.code == code


def test_failed_json_patch_changes_nothing():
    doc = {"a": 1}
    with pytest.raises(PatchError):
        json_patch(doc, [{"op": "replace", "path": "/a", "value": 2},
                         {"op": "test", "path": "/a", "value": 3}])
    assert doc == {"a": 1}

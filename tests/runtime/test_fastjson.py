"""fastjson reads and writes exactly what json does, and fails the way json fails."""

import json
import math
import subprocess
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

from supernetes.runtime import fastjson

documents = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text()
    | st.floats(allow_nan=False),
    lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner),
    max_leaves=30)


@given(documents)
def test_dumps_writes_what_json_dumps_writes(value):
    assert fastjson.dumps(value) == json.dumps(value)


@given(documents)
def test_loads_reads_what_json_loads_reads(value):
    text = json.dumps(value, indent=2, ensure_ascii=False)
    assert fastjson.loads(text) == value
    assert fastjson.loads(f" \n{text}\t\r\n".encode()) == value


def test_the_fast_path_is_taken_on_cpython():
    assert fastjson._scan is not None and fastjson._encode is not None


def test_special_floats_read_as_json_reads_them():
    assert math.isnan(fastjson.loads("NaN"))
    assert fastjson.loads("[Infinity, -Infinity]") == [math.inf, -math.inf]
    assert fastjson.dumps([math.inf, 1.5]) == json.dumps([math.inf, 1.5])


@pytest.mark.parametrize("text", ["", "   ", "{", '{"a": 1} x', "[1,]", "{'a': 1}", "nul"])
def test_bad_documents_raise_json_decode_error_with_jsons_message(text):
    with pytest.raises(json.JSONDecodeError) as ours:
        fastjson.loads(text)
    with pytest.raises(json.JSONDecodeError) as theirs:
        json.loads(text)
    assert str(ours.value) == str(theirs.value)


def test_a_byte_order_mark_and_other_encodings_are_read_as_json_reads_them():
    assert fastjson.loads(b'\xef\xbb\xbf{"a": 1}') == {"a": 1}
    assert fastjson.loads('{"a": "\u00e9"}'.encode("utf-16")) == {"a": "\u00e9"}


def test_objects_json_cannot_write_raise_type_error():
    with pytest.raises(TypeError, match="set is not JSON serializable"):
        fastjson.dumps({"a": {1, 2}})


def test_importing_it_loads_neither_json_nor_re():
    code = ("import sys; from supernetes.runtime import fastjson; "
            "fastjson.loads(fastjson.dumps({'a': [1, 2.5, None, True, 'x']})); "
            "print(sorted({'json', 're', 'enum'} & set(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"


def test_a_syntax_error_is_jsons_error_even_before_json_is_loaded():
    code = ("import sys; from supernetes.runtime import fastjson\n"
            "try:\n    fastjson.loads('{\"a\": }')\n"
            "except Exception as exc:\n    print(type(exc).__name__, exc)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "JSONDecodeError Expecting value: line 1 column 7 (char 6)"

"""Metadata helpers and the shared string validators."""

import re

import pytest

from supernetes.controlplane.api import meta, validation


def test_timestamps_round_trip():
    text = meta.now_rfc3339()
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", text)
    assert meta.format_time(meta.parse_time(text)) == text
    assert re.fullmatch(r".*T\d\d:\d\d:\d\d\.\d{6}Z", meta.now_rfc3339_micro())
    assert meta.parse_time("") is None
    assert len(meta.new_uid()) == 36 and meta.new_uid() != meta.new_uid()


def test_owner_references():
    owner = {"apiVersion": "apps/v1", "kind": "ReplicaSet",
             "metadata": {"name": "rs", "uid": "u1"}}
    ref = meta.owner_reference(owner)
    assert ref == {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "rs", "uid": "u1",
                   "controller": True, "blockOwnerDeletion": True}
    pod = {"metadata": {"name": "p", "namespace": "ns", "ownerReferences": [ref]}}
    assert meta.controller_of(pod) == ref
    assert meta.is_owned_by(pod, owner)
    assert meta.key_of(pod) == "ns/p"
    assert meta.key_of({"metadata": {"name": "n"}}) == "n"


def test_conditions_move_transition_time_only_on_status_change():
    status = {}
    assert meta.set_condition(status, "Ready", "False", "Starting", when="T1")
    assert not meta.set_condition(status, "Ready", "False", "Starting", when="T2")
    assert meta.set_condition(status, "Ready", "False", "Still", when="T3")
    assert status["conditions"] == [{"type": "Ready", "status": "False", "reason": "Still",
                                     "lastTransitionTime": "T1"}]
    assert meta.set_condition(status, "Ready", "True", when="T4")
    assert meta.get_condition(status, "Ready")["lastTransitionTime"] == "T4"
    assert meta.condition_true(status, "Ready")
    assert meta.remove_condition(status, "Ready") and status["conditions"] == []


@pytest.mark.parametrize("check,value,ok", [
    (validation.dns1123_label, "web-1", True),
    (validation.dns1123_label, "a" * 63, True),
    (validation.dns1123_label, "a" * 64, False),
    (validation.dns1123_label, "Web", False),
    (validation.dns1123_label, "-web", False),
    (validation.dns1123_subdomain, "a.b-c.d", True),
    (validation.dns1123_subdomain, "a..b", False),
    (validation.dns1035_label, "1web", False),
    (validation.label_key, "example.com/Name_1", True),
    (validation.label_key, "a/b/c", False),
    (validation.label_key, "/x", False),
    (validation.label_value, "", True),
    (validation.label_value, "a" * 64, False),
    (validation.port_name, "http", True),
    (validation.port_name, "8080", False),
    (validation.port_name, "a--b", False),
    (validation.env_var_name, "MY_VAR.x-1", True),
    (validation.env_var_name, "1VAR", False),
    (validation.config_map_key, "..a", False),
    (validation.config_map_key, ".env", True),
])
def test_string_checks(check, value, ok):
    assert (check(value) == []) is ok


def test_kubernetes_wording():
    assert validation.dns1123_label("a.b") == ["must not contain dots"]
    assert validation.dns1123_label("A") == [
        "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or "
        "'-', and must start and end with an alphanumeric character (e.g. 'my-name',  or "
        "'123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"]
    assert validation.label_key("a/b/c")[0].startswith(
        "a qualified name must consist of alphanumeric characters")

"""Label and field selectors as kubectl sends them."""

import pytest

from supernetes.controlplane.api import SelectorError, registry
from supernetes.controlplane.api.selectors import (
    check_field_selector,
    fields_match,
    from_label_selector_object,
    parse_field_selector,
    parse_label_selector,
    selector_from_set,
)

LABELS = {"app": "web", "tier": "frontend", "version": "3"}


@pytest.mark.parametrize("text,matches", [
    ("", True),
    ("app=web", True),
    ("app==web", True),
    ("app = web", True),
    ("app!=web", False),
    ("app!=db", True),
    ("missing!=x", True),
    ("app in (web,db)", True),
    ("app in (db, cache)", False),
    ("app notin (db)", True),
    ("missing notin (db)", True),
    ("app", True),
    ("missing", False),
    ("!missing", True),
    ("!app", False),
    ("app=web,tier=frontend", True),
    ("app=web,tier=backend", False),
    ("version>2", True),
    ("version<2", False),
    ("app=web, tier in (frontend,backend), !legacy", True),
    ("missing=", False),
])
def test_label_selector_semantics(text, matches):
    assert parse_label_selector(text).matches(LABELS) is matches


def test_empty_value_matches_empty_label():
    assert parse_label_selector("a=").matches({"a": ""})


@pytest.mark.parametrize("text", ["app=web,", "a in (b", "a in b)", "a=b=c", "Bad Key=x",
                                  "a=-bad-", "a>b", "a b c", ",", "a in ()"])
def test_label_selector_errors(text):
    with pytest.raises(SelectorError):
        parse_label_selector(text)


def test_label_selector_prints_canonically():
    assert str(parse_label_selector("tier in (b,a), app=web")) == "app=web,tier in (a,b)"


def test_selector_objects():
    selector = from_label_selector_object({
        "matchLabels": {"app": "web"},
        "matchExpressions": [{"key": "tier", "operator": "In", "values": ["frontend"]},
                             {"key": "legacy", "operator": "DoesNotExist"}]})
    assert selector.matches(LABELS)
    assert not selector.matches({"app": "web", "tier": "frontend", "legacy": "1"})
    assert from_label_selector_object({}).matches({"anything": "x"})
    assert not from_label_selector_object(None).matches(LABELS)


@pytest.mark.parametrize("selector", [
    {"matchExpressions": [{"key": "a", "operator": "Like", "values": ["b"]}]},
    {"matchExpressions": [{"key": "a", "operator": "In"}]},
    {"matchExpressions": [{"key": "a", "operator": "Exists", "values": ["b"]}]},
    {"matchLabels": {"bad key": "v"}},
])
def test_bad_selector_objects(selector):
    with pytest.raises(SelectorError):
        from_label_selector_object(selector)


def test_selector_from_set():
    assert selector_from_set({"app": "web"}).matches(LABELS)
    assert not selector_from_set({"app": "db"}).matches(LABELS)


def test_field_selectors_on_pods():
    pods = registry.lookup("", "v1", "pods")
    pod = {"metadata": {"name": "a,b", "namespace": "ns"}, "spec": {"nodeName": "n1"},
           "status": {"phase": "Running"}}
    assert fields_match(pods, pod, parse_field_selector(r"metadata.name=a\,b"))
    assert fields_match(pods, pod, parse_field_selector("spec.nodeName=n1,status.phase!=Failed"))
    assert not fields_match(pods, pod, parse_field_selector("spec.nodeName="))
    assert fields_match(pods, pod, parse_field_selector("spec.nodeName!="))
    with pytest.raises(SelectorError, match="field label not supported: spec.image"):
        check_field_selector(pods, parse_field_selector("spec.image=x"))
    with pytest.raises(SelectorError, match="field label not supported"):
        fields_match(pods, pod, parse_field_selector("spec.image=x"))


@pytest.mark.parametrize("text", ["metadata.name", "a=b=c", "=x"])
def test_field_selector_errors(text):
    with pytest.raises(SelectorError):
        parse_field_selector(text)


def test_events_selectable_by_involved_object():
    events = registry.lookup("", "v1", "events")
    event = {"metadata": {"name": "e", "namespace": "default"},
             "involvedObject": {"kind": "Pod", "name": "web", "uid": "u1"}}
    reqs = parse_field_selector("involvedObject.name=web,involvedObject.kind=Pod,"
                                "involvedObject.uid=u1")
    check_field_selector(events, reqs)
    assert fields_match(events, event, reqs)

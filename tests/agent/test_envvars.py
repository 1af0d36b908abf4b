"""A container's environment, resolved as the kubelet resolves it."""

import base64
from fractions import Fraction

import pytest

from supernetes.agent.envvars import ContainerConfigError, container_env, expand, expand_command

CONFIGMAPS = {("default", "settings"): {"data": {"MODE": "fast", "LEVEL": "3"}}}
SECRETS = {("default", "creds"): {"data": {"PASSWORD": base64.b64encode(b"s3cret").decode()}}}


def lookups():
    return dict(get_configmap=lambda ns, n: CONFIGMAPS.get((ns, n)),
                get_secret=lambda ns, n: SECRETS.get((ns, n)))


def pod(*containers, **spec):
    return {"metadata": {"name": "web-1", "namespace": "default", "uid": "u-1",
                         "labels": {"app": "web"}},
            "spec": {"nodeName": "node-a", "containers": list(containers), **spec}}


@pytest.mark.parametrize(("text", "expected"), [
    ("$(A)-x", "1-x"),
    ("$(MISSING)", "$(MISSING)"),
    ("$$(A)", "$(A)"),
    ("$$$(A)", "$1"),
    ("cost: $5", "cost: $5"),
    ("$(A)$(B)", "12"),
])
def test_expand_follows_kubernetes_rules(text, expected):
    assert expand(text, {"A": "1", "B": "2"}) == expected


def test_env_from_literals_fields_configmaps_and_secrets_in_order():
    container = {"name": "app", "env": [
        {"name": "PROTOCOL", "value": "https"},
        {"name": "URL", "value": "$(PROTOCOL)://$(POD_NAME)"},
        {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
        {"name": "LATE", "value": "$(POD_NAME)"},
        {"name": "APP", "valueFrom": {"fieldRef": {"fieldPath": "metadata.labels['app']"}}},
        {"name": "IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
        {"name": "MODE", "valueFrom": {"configMapKeyRef": {"name": "settings", "key": "MODE"}}},
        {"name": "PASS", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "PASSWORD"}}},
    ]}
    env = dict(container_env(pod(container), container, pod_ip="10.244.1.9", **lookups()))
    assert env["URL"] == "https://$(POD_NAME)"  # POD_NAME was not defined yet
    assert env["LATE"] == "web-1"
    assert env["APP"] == "web" and env["IP"] == "10.244.1.9"
    assert env["MODE"] == "fast" and env["PASS"] == "s3cret"


def test_env_from_whole_configmaps_and_secrets_with_prefix_and_env_overrides():
    container = {"name": "app",
                 "envFrom": [{"configMapRef": {"name": "settings"}, "prefix": "CFG_"},
                             {"secretRef": {"name": "creds"}}],
                 "env": [{"name": "CFG_MODE", "value": "slow"}]}
    env = dict(container_env(pod(container), container, **lookups()))
    assert env == {"CFG_MODE": "slow", "CFG_LEVEL": "3", "PASSWORD": "s3cret"}


def test_service_links_fill_only_names_nothing_else_sets():
    container = {"name": "app", "env": [{"name": "DB_SERVICE_HOST", "value": "mine"},
                                        {"name": "X", "value": "$(DB_SERVICE_PORT)"}]}
    services = {"DB_SERVICE_HOST": "10.96.0.7", "DB_SERVICE_PORT": "5432"}
    env = dict(container_env(pod(container), container, service_env=services, **lookups()))
    assert env == {"DB_SERVICE_HOST": "mine", "X": "5432", "DB_SERVICE_PORT": "5432"}
    off = dict(container_env(pod(container, enableServiceLinks=False), container,
                             service_env=services, **lookups()))
    assert "DB_SERVICE_PORT" not in off


@pytest.mark.parametrize(("source", "message"), [
    ({"configMapKeyRef": {"name": "nope", "key": "k"}}, 'configmap "nope" not found'),
    ({"configMapKeyRef": {"name": "settings", "key": "k"}},
     "couldn't find key k in ConfigMap default/settings"),
    ({"secretKeyRef": {"name": "creds", "key": "k"}},
     "couldn't find key k in Secret default/creds"),
])
def test_a_missing_reference_is_a_config_error_with_the_kubelet_message(source, message):
    container = {"name": "app", "env": [{"name": "V", "valueFrom": source}]}
    with pytest.raises(ContainerConfigError) as err:
        container_env(pod(container), container, **lookups())
    assert str(err.value) == message


def test_optional_references_that_are_missing_are_skipped():
    container = {"name": "app",
                 "envFrom": [{"configMapRef": {"name": "nope", "optional": True}}],
                 "env": [{"name": "V", "valueFrom": {"secretKeyRef": {
                     "name": "nope", "key": "k", "optional": True}}}]}
    assert container_env(pod(container), container, **lookups()) == []


def test_resource_field_ref_rounds_up_in_divisor_units_and_defaults_limits_to_the_node():
    def parse(q):  # enough of Kubernetes quantities for this test
        suffix = {"m": Fraction(1, 1000), "Mi": 2**20, "Gi": 2**30}
        for s, f in suffix.items():
            if q.endswith(s):
                return Fraction(q[: -len(s)]) * f
        return Fraction(q)

    container = {"name": "app", "resources": {"limits": {"cpu": "500m"}},
                 "env": [{"name": "CPU", "valueFrom": {"resourceFieldRef": {
                     "resource": "limits.cpu"}}},
                         {"name": "MCPU", "valueFrom": {"resourceFieldRef": {
                             "resource": "limits.cpu", "divisor": "1m"}}},
                         {"name": "MEM", "valueFrom": {"resourceFieldRef": {
                             "resource": "limits.memory", "divisor": "1Mi"}}}]}
    env = dict(container_env(pod(container), container, node_allocatable={"memory": "2Gi"},
                             parse_quantity=parse, **lookups()))
    assert env == {"CPU": "1", "MCPU": "500", "MEM": "2048"}


def test_command_and_args_expand_from_the_final_environment():
    assert expand_command(["echo", "$(A)", "$$(A)", "$(B)"], [("A", "x")]) == \
        ["echo", "x", "$(A)", "$(B)"]

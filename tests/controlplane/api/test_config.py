"""ConfigMaps, Secrets and ServiceAccounts."""

import base64

from supernetes.controlplane.api import registry

CONFIG_MAPS = registry.lookup("", "v1", "configmaps")
SECRETS = registry.lookup("", "v1", "secrets")


def messages(errs):
    return [e.message() for e in errs]


def meta(name="c"):
    return {"name": name, "namespace": "default"}


def test_secret_defaults_and_string_data_merge():
    secret = {"metadata": meta(), "data": {"a": base64.b64encode(b"1").decode()},
              "stringData": {"b": "two"}}
    SECRETS.default(secret)
    assert secret["type"] == "Opaque"
    assert "stringData" not in secret
    assert base64.b64decode(secret["data"]["b"]) == b"two"
    assert SECRETS.validate(secret) == []


def test_secret_data_must_be_base64():
    secret = {"metadata": meta(), "data": {"a": "not base64!"}}
    assert messages(SECRETS.validate(secret)) == [
        'data[a]: Invalid value: "not base64!": must be base64-encoded']


def test_key_names():
    cm = {"metadata": meta(), "data": {"bad/key": "x", "good.key_1": "y"}}
    found = messages(CONFIG_MAPS.validate(cm))
    assert len(found) == 1
    assert found[0].startswith('data[bad/key]: Invalid value: "bad/key": a valid config key '
                               "must consist of alphanumeric characters")


def test_tls_secret_needs_its_keys():
    secret = {"metadata": meta(), "type": "kubernetes.io/tls", "data": {"tls.crt": "eA=="}}
    assert messages(SECRETS.validate(secret)) == ["data[tls.key]: Required value"]


def test_immutable_config_map_refuses_changes():
    old = {"metadata": meta(), "immutable": True, "data": {"a": "1"}}
    new = {"metadata": meta(), "immutable": True, "data": {"a": "2"}}
    assert messages(CONFIG_MAPS.validate(new, old)) == [
        "data: Forbidden: field is immutable when `immutable` is set"]
    unset = {"metadata": meta(), "data": {"a": "1"}}
    assert messages(CONFIG_MAPS.validate(unset, old)) == [
        "immutable: Forbidden: field is immutable when `immutable` is set"]


def test_secret_type_is_immutable():
    old = {"metadata": meta(), "type": "Opaque"}
    new = {"metadata": meta(), "type": "example.com/custom"}
    assert messages(SECRETS.validate(new, old)) == [
        'type: Invalid value: "example.com/custom": field is immutable']


def test_tables_count_keys():
    cm = {"metadata": {"name": "c"}, "data": {"a": "1"}, "binaryData": {"b": "eA=="}}
    assert CONFIG_MAPS.table([cm])[1][0][:2] == ["c", 2]
    secret = {"metadata": {"name": "s"}, "type": "Opaque", "data": {"a": "eA=="}}
    cols, rows = SECRETS.table([secret])
    assert [c["name"] for c in cols] == ["Name", "Type", "Data", "Age"]
    assert rows[0][:3] == ["s", "Opaque", 1]
    assert SECRETS.field(secret, "type") == "Opaque"


def test_service_account():
    accounts = registry.lookup("", "v1", "serviceaccounts")
    sa = {"metadata": meta("default"), "secrets": [{"name": "tok"}, {}]}
    assert messages(accounts.validate(sa)) == ["secrets[1].name: Required value"]
    assert accounts.table([sa])[1][0][:2] == ["default", 2]

"""Kubeconfig files are found, merged and resolved as kubectl resolves them."""

import base64
import os
from pathlib import Path

import pytest
import yaml

from supernetes.controlplane.client import ConfigError, Kubeconfig, Overrides, load_connection
from supernetes.controlplane.client import kubeconfig as kc


def write(path, clusters=(), users=(), contexts=(), current=None):
    data = {"apiVersion": "v1", "kind": "Config",
            "clusters": [{"name": n, "cluster": c} for n, c in clusters],
            "users": [{"name": n, "user": u} for n, u in users],
            "contexts": [{"name": n, "context": c} for n, c in contexts]}
    if current is not None:
        data["current-context"] = current
    path.write_text(yaml.safe_dump(data))
    return str(path)


@pytest.fixture
def two_files(tmp_path):
    a = write(tmp_path / "a", clusters=[("shared", {"server": "https://a:6443"})],
              users=[("admin", {"token": "token-a"})],
              contexts=[("ctx-a", {"cluster": "shared", "user": "admin", "namespace": "team"})],
              current="ctx-a")
    b = write(tmp_path / "b", clusters=[("shared", {"server": "https://b:6443"}),
                                        ("only-b", {"server": "https://only-b:6443"})],
              users=[("admin", {"token": "token-b"})],
              contexts=[("ctx-b", {"cluster": "only-b", "user": "admin"})],
              current="ctx-b")
    return a, b


def test_kubeconfig_env_merges_files_and_the_first_definition_wins(two_files):
    a, b = two_files
    conn = load_connection(environ={"KUBECONFIG": f"{a}:{b}"})
    assert conn.server == "https://a:6443"          # cluster "shared" from the first file
    assert conn.token == "token-a"
    assert conn.namespace == "team"
    assert conn.context == "ctx-a"                   # current-context: first file that sets it


def test_contexts_from_a_later_file_are_usable_and_names_resolve_across_files(two_files):
    a, b = two_files
    conn = load_connection(overrides=Overrides(context="ctx-b"), environ={"KUBECONFIG": f"{a}:{b}"})
    assert conn.server == "https://only-b:6443"
    assert conn.token == "token-a"                   # user "admin" is the first file's
    assert conn.namespace == "default"


def test_missing_files_in_kubeconfig_env_are_skipped(two_files, tmp_path):
    a, _ = two_files
    conn = load_connection(environ={"KUBECONFIG": f"{tmp_path}/nope::{a}"})
    assert conn.server == "https://a:6443"


def test_explicit_kubeconfig_is_used_alone_and_must_exist(two_files, tmp_path):
    a, b = two_files
    assert load_connection(b, environ={"KUBECONFIG": a}).server == "https://only-b:6443"
    with pytest.raises(ConfigError, match="no such file"):
        load_connection(str(tmp_path / "missing"))


def test_home_config_comes_before_the_supernetes_default(tmp_path, monkeypatch, two_files):
    a, b = two_files
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setattr(kc, "SUPERNETES_DEFAULT", b)
    assert load_connection(environ={}).server == "https://only-b:6443"
    (tmp_path / "home" / ".kube").mkdir(parents=True)
    (tmp_path / "home" / ".kube" / "config").write_text(Path(a).read_text())
    assert load_connection(environ={}).server == "https://a:6443"


def test_no_configuration_at_all_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setattr(kc, "SUPERNETES_DEFAULT", str(tmp_path / "none"))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    with pytest.raises(ConfigError, match="no configuration found"):
        load_connection(environ={})


def test_relative_certificate_paths_are_relative_to_their_file(tmp_path):
    folder = tmp_path / "conf"
    folder.mkdir()
    (folder / "ca.pem").write_bytes(b"CA-PEM")
    (folder / "token").write_text("file-token\n")
    path = write(folder / "config", clusters=[("c", {"server": "https://x:1",
                                                     "certificate-authority": "ca.pem"})],
                 users=[("u", {"tokenFile": "token"})],
                 contexts=[("ctx", {"cluster": "c", "user": "u"})], current="ctx")
    conn = load_connection(path)
    assert conn.ca_data == b"CA-PEM"
    assert conn.token == "file-token"


def test_inline_data_is_base64_decoded(tmp_path):
    enc = lambda b: base64.b64encode(b).decode()  # noqa: E731
    path = write(tmp_path / "c", clusters=[("c", {"server": "https://x:1",
                                                  "certificate-authority-data": enc(b"CA")})],
                 users=[("u", {"client-certificate-data": enc(b"CERT"),
                               "client-key-data": enc(b"KEY")})],
                 contexts=[("ctx", {"cluster": "c", "user": "u"})], current="ctx")
    conn = load_connection(path)
    assert (conn.ca_data, conn.client_cert_data, conn.client_key_data) == (b"CA", b"CERT", b"KEY")


def test_flags_override_the_context(two_files):
    a, _ = two_files
    conn = load_connection(a, Overrides(namespace="kube-system", server="https://other:1",
                                        token="t2", insecure=True))
    assert (conn.namespace, conn.server, conn.token, conn.insecure) == \
        ("kube-system", "https://other:1", "t2", True)
    assert conn.namespace_explicit


@pytest.mark.parametrize("overrides, message", [
    (Overrides(context="nope"), 'context "nope" does not exist'),
    (Overrides(cluster="nope"), 'cluster "nope" does not exist'),
    (Overrides(user="nope"), 'user "nope" does not exist'),
])
def test_unknown_names_are_named_in_the_error(two_files, overrides, message):
    with pytest.raises(ConfigError, match=message):
        load_connection(two_files[0], overrides)


def test_unset_current_context_is_a_clear_error(tmp_path):
    path = write(tmp_path / "c", clusters=[("c", {"server": "https://x:1"})])
    with pytest.raises(ConfigError, match="current-context is not set"):
        load_connection(path)


def test_malformed_yaml_is_a_config_error(tmp_path):
    (tmp_path / "bad").write_text("clusters: [\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_connection(str(tmp_path / "bad"))


def test_exec_plugin_supplies_the_token(tmp_path):
    plugin = tmp_path / "plugin.sh"
    credential = '{"kind":"ExecCredential","status":{"token":"from-exec"}}'
    plugin.write_text(f"#!/bin/sh\necho '{credential}'\n")
    plugin.chmod(0o755)
    path = write(tmp_path / "c", clusters=[("c", {"server": "https://x:1"})],
                 users=[("u", {"exec": {"apiVersion": "client.authentication.k8s.io/v1",
                                        "command": str(plugin)}})],
                 contexts=[("ctx", {"cluster": "c", "user": "u"})], current="ctx")
    assert load_connection(path).token == "from-exec"


def test_changes_go_to_the_file_that_defines_the_entry(two_files):
    a, b = two_files
    config = Kubeconfig.load(environ={"KUBECONFIG": f"{a}:{b}"})
    assert config.destination("contexts", "ctx-b").path == b
    assert config.destination().path == a            # current-context lives in the first file
    target = config.destination()
    target.data["current-context"] = "ctx-b"
    kc.write_file(target)
    assert os.stat(a).st_mode & 0o777 == 0o600
    assert load_connection(environ={"KUBECONFIG": f"{a}:{b}"}).context == "ctx-b"

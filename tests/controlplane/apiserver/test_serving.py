"""Serving: certificates, kubeconfigs, restarts and shutdown of `supernetes server`."""

from __future__ import annotations

import ipaddress
import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import yaml
from apiserverkit import ApiServer
from cryptography import x509


def test_serving_certificate_names_and_chain(apiserver):
    cert = x509.load_pem_x509_certificate((apiserver.data_dir / "pki" / "apiserver.crt")
                                          .read_bytes())
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    ips = {str(ip) for ip in san.get_values_for_type(x509.IPAddress)}
    names = set(san.get_values_for_type(x509.DNSName))
    assert {"127.0.0.1", "10.96.0.1"} <= ips
    assert {"localhost", socket.gethostname(), "kubernetes.default.svc"} <= names
    for name in ("ca.key", "apiserver.key"):
        assert (apiserver.data_dir / "pki" / name).stat().st_mode & 0o077 == 0
    assert (apiserver.data_dir / "tokens" / "admin").stat().st_mode & 0o077 == 0


def test_admin_kubeconfig_is_usable_as_is(apiserver):
    config = yaml.safe_load(apiserver.kubeconfig.read_text())
    assert config["kind"] == "Config"
    cluster = config["clusters"][0]["cluster"]
    assert cluster["server"] == apiserver.url and cluster["certificate-authority-data"]
    assert config["users"][0]["user"]["token"] == apiserver.tokens["admin"]
    result = subprocess.run(["kubectl", "--kubeconfig", str(apiserver.kubeconfig), "get",
                             "namespace", "default", "-o", "json"], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["status"]["phase"] == "Active"


def test_restart_keeps_ca_tokens_and_data(tmp_path):
    server = ApiServer(tmp_path / "data")
    server.start()
    ca = (server.data_dir / "pki" / "ca.crt").read_bytes()
    token = server.tokens["admin"]
    assert server.admin.post("/api/v1/namespaces", {"metadata": {"name": "kept"}}) \
        .status_code == 201
    server.stop()
    assert not list(Path(tmp_path).glob("data/**/*.tmp"))
    server.start()
    try:
        assert (server.data_dir / "pki" / "ca.crt").read_bytes() == ca
        assert server.tokens["admin"] == token
        assert server.admin.get("/api/v1/namespaces/kept").status_code == 200
    finally:
        server.stop()


def test_advertised_address_gets_into_certificate_and_kubeconfig(tmp_path):
    server = ApiServer(tmp_path / "data", extra_args=["--advertise-address", "127.0.0.2"])
    server.start()
    try:
        cert = x509.load_pem_x509_certificate((server.data_dir / "pki" / "apiserver.crt")
                                              .read_bytes())
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        assert ipaddress.ip_address("127.0.0.2") in san.get_values_for_type(x509.IPAddress)
        assert server.url.startswith("https://127.0.0.2:")
    finally:
        server.stop()


def test_sigterm_ends_open_watches_and_exits_promptly(tmp_path):
    server = ApiServer(tmp_path / "data")
    server.start()
    watch = server.admin.get("/api/v1/pods", params={"watch": "1"}, stream=True)
    assert watch.status_code == 200
    began = time.monotonic()
    server.stop()
    assert time.monotonic() - began < 12
    watch.close()


def test_bad_flags_give_one_line_and_nonzero_exit(tmp_path):
    supernetes = str(Path(sys.executable).parent / "supernetes")
    result = subprocess.run([supernetes, "server", "--port", "notaport"], capture_output=True,
                            text=True, timeout=30)
    assert result.returncode != 0
    assert "invalid int value" in result.stderr
    assert "Traceback" not in result.stderr
    result = subprocess.run([supernetes, "server", "--data-dir", str(tmp_path / "d"),
                             "--store", "mysql://x"], capture_output=True, text=True,
                            timeout=30)
    assert result.returncode == 1
    assert result.stderr.strip() == ("supernetes server: bad store URL 'mysql://x': "
                                     "expected sqlite:///path or etcd://host:port")

"""The agent API's certificate: signed by the cluster CA for this node only, kept across
restarts, and usable without the API server once obtained."""

from __future__ import annotations

import socket
import ssl
import subprocess
import sys

import pytest

from supernetes.agent import servingcert
from supernetes.controlplane.client import ApiError, Client, Connection, Transport

pytestmark = pytest.mark.root


def test_the_serving_certificate_names_the_node_and_chains_to_the_cluster_ca(node, apiserver):
    ctx = ssl.create_default_context(cafile=str(apiserver.ca))   # the API server's own CA
    with socket.create_connection(("127.0.0.1", node.server.port)) as raw, \
            ctx.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
        subject = dict(item for rdn in tls.getpeercert()["subject"] for item in rdn)
    assert subject == {"organizationName": "system:nodes",
                       "commonName": f"system:node:{node.name}"}


def test_a_restart_reuses_the_certificate_even_with_the_api_server_away(node, tmp_path):
    before = node.tls.cert.read_bytes()
    nowhere = Client(Transport(Connection(server="https://127.0.0.1:1", token="x"),
                               timeout=2, connect_timeout=2))
    again = servingcert.ensure_serving_tls(nowhere, node.name, tmp_path / "pki",
                                           addresses=["127.0.0.1"])
    assert again.cert.read_bytes() == before
    assert again.admin_token == node.tls.admin_token
    with pytest.raises(servingcert.TlsError, match="did not sign"):
        servingcert.ensure_serving_tls(nowhere, node.name, tmp_path / "elsewhere")


def test_a_node_gets_certificates_in_its_own_name_only(node):
    _, csr = servingcert.make_key_and_csr("someone-else", {"127.0.0.1"})
    with pytest.raises(ApiError) as refused:
        node.client.request("POST", "/supernetes/v1/nodes/someone-else/servingcertificate",
                            body={"csr": csr.decode()})
    assert refused.value.code == 403
    # Asking in its own name with a CSR that claims another: the certificate says who asked.
    reply = node.client.request("POST", f"/supernetes/v1/nodes/{node.name}/servingcertificate",
                                body={"csr": csr.decode()}).json()
    assert servingcert._facts(reply["certificate"].encode())["commonName"] == \
        f"system:node:{node.name}"
    with pytest.raises(ApiError) as garbage:
        node.client.request("POST", f"/supernetes/v1/nodes/{node.name}/servingcertificate",
                            body={"csr": "not a csr"})
    assert garbage.value.code == 422


def test_the_key_and_csr_are_made_without_loading_cryptography_into_the_caller():
    # The agent lives for months: a library loaded once for this stays in its memory.
    script = ("import sys; from supernetes.agent import servingcert; "
              "key, csr = servingcert.make_key_and_csr('n1', {'10.0.0.1', 'n1'}); "
              "print(key.startswith(b'-----BEGIN PRIVATE KEY'), "
              "csr.startswith(b'-----BEGIN CERTIFICATE REQUEST'), 'cryptography' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          check=True)
    assert done.stdout.split() == ["True", "True", "False"]


def test_a_malformed_certificate_is_a_tls_error_naming_the_helper():
    with pytest.raises(servingcert.TlsError, match="certificate helper \\(facts\\)"):
        servingcert._facts(b"not a certificate")

"""Certificates between the API server and the node agents, both signed by the cluster CA.

The agent's serving certificate (what Kubernetes does with a kubelet-serving
CertificateSigningRequest and an approver, in one call):

    POST /supernetes/v1/nodes/<node>/servingcertificate     {"csr": "<PEM>"}
    Authorization: the node's own credential (or the admin's)
    201 {"kind": "NodeServingCertificate", "certificate": "<PEM>", "caData": "<b64 PEM>"}

The certificate says `CN=system:node:<node>, O=system:nodes` whatever the CSR's
subject asked, so a node can only ever be itself; its SANs are the CSR's IP
addresses and DNS names (at most 32); server authentication only; one year. The
node proxy (`nodeproxy.py`) checks that CN on every connection to an agent.

The API server's client certificate for calling agents, `pki/apiserver-kubelet-
client.{crt,key}`: `CN=supernetes-apiserver-kubelet-client, O=system:masters`,
client authentication only, made on first use and renewed 30 days before expiry.
Agents accept it because it chains to the CA they got with their certificate.
"""

from __future__ import annotations

import base64
import datetime
import threading
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from flask import Blueprint, Response, current_app, g, request

from . import codec, errors
from .pki import RENEW_BEFORE, _key_pem, _now, _write

PATH = "/supernetes/v1/nodes/<name>/servingcertificate"
CLIENT_NAME = "supernetes-apiserver-kubelet-client"
MAX_NAMES = 32
VALIDITY = datetime.timedelta(days=365)

blueprint = Blueprint("nodecerts", __name__)


def _load_ca(pki_dir: Path):
    key = serialization.load_pem_private_key((pki_dir / "ca.key").read_bytes(), None)
    cert = x509.load_pem_x509_certificate((pki_dir / "ca.crt").read_bytes())
    return cert, key


def _builder(ca_cert, subject: x509.Name, public_key, usage) -> x509.CertificateBuilder:
    return (x509.CertificateBuilder().subject_name(subject).issuer_name(ca_cert.subject)
            .public_key(public_key).serial_number(x509.random_serial_number())
            .not_valid_before(_now() - datetime.timedelta(minutes=5))
            .not_valid_after(_now() + VALIDITY)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                ca_cert.public_key()), critical=False))


def sign_serving(pki_dir: Path, node: str, csr_pem: bytes) -> bytes:
    """The agent serving certificate of `node` for this CSR (PEM); ValueError if unusable."""
    try:
        csr = x509.load_pem_x509_csr(csr_pem)
    except ValueError as exc:
        raise ValueError(f"csr: not a PEM certificate request ({exc})") from None
    if not csr.is_signature_valid:
        raise ValueError("csr: the signature does not match its public key")
    if not isinstance(csr.public_key(), (ec.EllipticCurvePublicKey, rsa.RSAPublicKey)):
        raise ValueError("csr: the key must be ECDSA or RSA")
    try:
        requested = csr.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        requested = x509.SubjectAlternativeName([])
    names = [n for n in requested if isinstance(n, (x509.IPAddress, x509.DNSName))]
    if len(names) > MAX_NAMES:
        raise ValueError(f"csr: at most {MAX_NAMES} subject alternative names")
    ca_cert, ca_key = _load_ca(pki_dir)
    subject = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "system:nodes"),
                         x509.NameAttribute(NameOID.COMMON_NAME, f"system:node:{node}")])
    builder = _builder(ca_cert, subject, csr.public_key(), ExtendedKeyUsageOID.SERVER_AUTH)
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    try:
        cert = builder.sign(ca_key, hashes.SHA256())
    except InvalidSignature as exc:
        raise ValueError(f"csr: {exc}") from None
    return cert.public_bytes(serialization.Encoding.PEM)


_client_lock = threading.Lock()


def kubelet_client(pki_dir: Path) -> tuple[Path, Path]:
    """(cert, key) of the API server's client certificate for agents, made when needed."""
    cert_path = pki_dir / "apiserver-kubelet-client.crt"
    key_path = pki_dir / "apiserver-kubelet-client.key"
    with _client_lock:
        if cert_path.exists() and key_path.exists():
            cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
            if cert.not_valid_after_utc - _now() > RENEW_BEFORE:
                return cert_path, key_path
        ca_cert, ca_key = _load_ca(pki_dir)
        key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "system:masters"),
                             x509.NameAttribute(NameOID.COMMON_NAME, CLIENT_NAME)])
        cert = _builder(ca_cert, subject, key.public_key(),
                        ExtendedKeyUsageOID.CLIENT_AUTH).sign(ca_key, hashes.SHA256())
        _write(key_path, _key_pem(key), 0o600)
        _write(cert_path, cert.public_bytes(serialization.Encoding.PEM), 0o644)
    return cert_path, key_path


@blueprint.post(PATH)
def serving_certificate(name: str):
    server = current_app.extensions["supernetes"]
    user = g.user
    if not (user.role == "admin" or (user.role == "node" and user.node == name)):
        raise errors.forbidden_path(user.name, "create", request.path)
    body = codec.decode(codec.read_body(request.stream, request.content_length),
                        request.headers.get("Content-Type"))
    csr = body.get("csr") if isinstance(body, dict) else None
    if not isinstance(csr, str):
        raise errors.bad_request("the body must be {\"csr\": \"<PEM certificate request>\"}")
    try:
        certificate = sign_serving(server.config.pki_dir, name, csr.encode())
    except ValueError as exc:
        raise errors.ApiError(422, "Invalid", str(exc)) from None
    ca_pem = (server.config.pki_dir / "ca.crt").read_bytes()
    reply = {"kind": "NodeServingCertificate", "apiVersion": "supernetes.io/v1",
             "nodeName": name, "certificate": certificate.decode(),
             "caData": base64.b64encode(ca_pem).decode()}
    return Response(codec.dumps(reply), 201, content_type="application/json")

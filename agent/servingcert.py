"""The agent API's TLS: a serving certificate from the cluster CA, and who may call.

At start the agent makes a key (ECDSA P-256, kept in `pki_dir`) and sends a
certificate signing request to the API server with its node credential:

    POST /supernetes/v1/nodes/<node>/servingcertificate   {"csr": "<PEM>"}
    -> {"certificate": "<PEM>", "caData": "<base64 PEM of the cluster CA>"}

The API server signs it for `CN=system:node:<node>, O=system:nodes` whatever
the CSR asked (a node cannot get a certificate in another node's name), with
the node's addresses and host names as SANs. The API server, dialling the
agent, checks both the CA and that CN, as Kubernetes does with
`--kubelet-certificate-authority`. The certificate, key and CA stay in
`pki_dir` and are reused while valid for 30 more days, so a restarted agent
serves even when the API server is down. What a restart needs to know of the
certificate (its name, SANs, expiry) is kept beside it in `serving.json`.

`cryptography` never enters the agent's own process: once loaded, its modules
and its Rust/OpenSSL library hold some 11 MiB for the agent's whole life (a
module is never unloaded), a fifth of the agent's memory budget, for a job done
once. The key and the CSR are made, and a signed certificate is read, by a short
child process (`python -m supernetes.agent.servingcert csr|facts`; fork and exec
at once, which is safe from the threaded agent, as `nft` is run).

Callers authenticate with a client certificate signed by the same cluster CA
whose organisation is `system:masters` (the API server's kubelet-client
certificate, `controlplane/apiserver/nodecerts.py`), or with the node admin's
bearer token, `pki_dir/admin.token` (made on first start, mode 0600: root on
the node may read it, as root may read the kubelet's credentials).
"""

from __future__ import annotations

import base64
import ipaddress
import json
import os
import secrets
import ssl
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from supernetes.controlplane.client import ClientError

RENEW_BEFORE = 30 * 86400
MASTERS = "system:masters"


HELPER_TIMEOUT = 60.0


class TlsError(RuntimeError):
    """No usable serving certificate: none cached and the API server did not sign one."""


@dataclass(frozen=True)
class TlsMaterial:
    cert: Path              # the serving certificate (PEM)
    key: Path
    client_ca: Path         # the cluster CA: client certificates must chain to it
    admin_token: str        # the node admin's bearer token

    def server_context(self) -> ssl.SSLContext:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.load_cert_chain(self.cert, self.key)
        ctx.load_verify_locations(cafile=str(self.client_ca))
        # Optional: token callers (the node admin) present no certificate.
        ctx.verify_mode = ssl.CERT_OPTIONAL
        return ctx


def node_common_name(node: str) -> str:
    return f"system:node:{node}"


def _write(path: Path, data: bytes, mode: int) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def _admin_token(pki_dir: Path) -> str:
    path = pki_dir / "admin.token"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        token = secrets.token_urlsafe(32)
        _write(path, token.encode() + b"\n", 0o600)
        return token


def _still_good(facts_path: Path, node: str, names: set[str]) -> bool:
    """Whether the cached certificate (as `serving.json` describes it) still serves."""
    try:
        facts = json.loads(facts_path.read_text())
        return facts["commonName"] == node_common_name(node) and \
            names <= set(facts["names"]) and facts["notAfter"] - time.time() > RENEW_BEFORE
    except (OSError, ValueError, KeyError, TypeError):
        return False


def make_key_and_csr(node: str, names: set[str]) -> tuple[bytes, bytes]:
    """A new ECDSA P-256 key and a CSR for it (both PEM), made by the helper process."""
    made = _helper(["csr", node, *sorted(names)])
    return made["key"].encode(), made["csr"].encode()


def _facts(certificate: bytes) -> dict:
    """The name, SANs and expiry of a PEM certificate, read by the helper process."""
    return _helper(["facts"], stdin=certificate)


def _helper(args: list[str], stdin: bytes = b"") -> dict:
    try:
        done = subprocess.run([sys.executable, "-m", __name__, *args], input=stdin,
                              capture_output=True, timeout=HELPER_TIMEOUT)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise TlsError(f"running the certificate helper: {exc}") from exc
    if done.returncode != 0:
        reason = done.stderr.decode(errors="replace").strip().splitlines()
        raise TlsError(f"certificate helper ({args[0]}): "
                       f"{reason[-1] if reason else f'exit {done.returncode}'}")
    return json.loads(done.stdout)


# --- the helper process's side: the only code that loads cryptography -----------------


def _read_facts(certificate: bytes) -> dict:
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    cert = x509.load_pem_x509_certificate(certificate)
    common = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        names = sorted({str(v) for v in san.get_values_for_type(x509.IPAddress)} |
                       set(san.get_values_for_type(x509.DNSName)))
    except x509.ExtensionNotFound:
        names = []
    return {"commonName": common[0].value if common else "", "names": names,
            "notAfter": cert.not_valid_after_utc.timestamp()}


def _new_key_and_csr(node: str, names: list[str]) -> dict:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    entries = []
    for name in sorted(names):
        try:
            entries.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            entries.append(x509.DNSName(name))
    csr = (x509.CertificateSigningRequestBuilder()
           .subject_name(x509.Name([
               x509.NameAttribute(NameOID.ORGANIZATION_NAME, "system:nodes"),
               x509.NameAttribute(NameOID.COMMON_NAME, node_common_name(node))]))
           .add_extension(x509.SubjectAlternativeName(entries), critical=False)
           .sign(key, hashes.SHA256()))
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return {"key": key_pem.decode(), "csr": csr.public_bytes(serialization.Encoding.PEM).decode()}


def _main(argv: list[str]) -> int:
    """`csr NODE NAME...` -> {"key", "csr"}; `facts` (PEM on stdin) -> the facts. JSON out."""
    try:
        if argv[:1] == ["csr"] and len(argv) >= 2:
            result = _new_key_and_csr(argv[1], argv[2:])
        elif argv == ["facts"]:
            result = _read_facts(sys.stdin.buffer.read())
        else:
            print("usage: python -m supernetes.agent.servingcert csr NODE [NAME...] | facts",
                  file=sys.stderr)
            return 2
    except ValueError as exc:  # cryptography's word for a malformed PEM or name
        print(f"servingcert: {exc}", file=sys.stderr)
        return 1
    json.dump(result, sys.stdout)
    return 0


def ensure_serving_tls(client, node: str, pki_dir, addresses=(), hostnames=()) -> TlsMaterial:
    """A serving certificate for `node` (cached, else signed by the API server via `client`)."""
    pki_dir = Path(pki_dir)
    pki_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    material = TlsMaterial(pki_dir / "serving.crt", pki_dir / "serving.key",
                           pki_dir / "ca.crt", _admin_token(pki_dir))
    names = {"localhost", "127.0.0.1", *addresses, *hostnames}
    facts_path = pki_dir / "serving.json"
    if _still_good(facts_path, node, names) and material.cert.exists() and \
            material.key.exists() and material.client_ca.exists():
        return material
    try:
        key, csr = make_key_and_csr(node, names)
        reply = client.request("POST", f"/supernetes/v1/nodes/{node}/servingcertificate",
                               body={"csr": csr.decode()}).json()
        certificate = reply["certificate"].encode()
        ca = base64.b64decode(reply["caData"])
        facts = _facts(certificate)
    except (ClientError, TlsError, KeyError, TypeError, ValueError) as exc:
        if material.cert.exists() and material.key.exists() and material.client_ca.exists():
            return material            # an older certificate beats no API at all
        raise TlsError(f"the API server did not sign a serving certificate for node "
                       f"{node}: {exc}") from exc
    _write(material.key, key, 0o600)
    _write(material.cert, certificate, 0o644)
    _write(material.client_ca, ca, 0o644)
    _write(facts_path, json.dumps(facts).encode(), 0o644)
    return material


def caller_of(peer_cert: dict | None, authorization: str | None, material: TlsMaterial) -> \
        str | None:
    """Who is calling (a user name), or None when they may not call at all.

    `peer_cert` is `getpeercert()` of the connection: non-empty only when the client
    presented a certificate that chains to the cluster CA (the TLS layer checked it).
    """
    if peer_cert:
        subject = dict(item for rdn in peer_cert.get("subject", ()) for item in rdn)
        organisations = {value for rdn in peer_cert.get("subject", ()) for key, value in rdn
                         if key == "organizationName"}
        if MASTERS in organisations:
            return subject.get("commonName", "")
    if authorization and authorization.startswith("Bearer ") and \
            secrets.compare_digest(authorization[7:].strip(), material.admin_token):
        return "node-admin"
    return None


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))

"""The cluster's certificates: a CA and the API server's serving certificate.

On first start `ensure_pki` makes, under `D/pki/`:

    ca.crt, ca.key                  the cluster CA (ECDSA P-256, 10 years); its
                                    certificate goes into every kubeconfig
    apiserver.crt, apiserver.key    the serving certificate, signed by the CA, for
                                    127.0.0.1, ::1, localhost, this host's name,
                                    the advertised addresses, the in-cluster names
                                    (kubernetes.default.svc...) and the first
                                    service IP 10.96.0.1

Later starts reuse them, and re-issue the serving certificate (same CA) when a
name is missing from it or it expires within 30 days, so adding an advertised
address needs no manual step. Keys are written 0600. ECDSA keeps TLS handshakes
cheap, which matters with hundreds of node agents and watchers connecting.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import socket
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

FIRST_SERVICE_IP = "10.96.0.1"
IN_CLUSTER_NAMES = ("kubernetes", "kubernetes.default", "kubernetes.default.svc",
                    "kubernetes.default.svc.cluster.local")
RENEW_BEFORE = datetime.timedelta(days=30)


@dataclass(frozen=True)
class Pki:
    ca_cert: Path
    ca_key: Path
    cert: Path
    key: Path


def _write(path: Path, data: bytes, mode: int) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def _key_pem(key) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM,
                             serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def _make_ca(pki: Pki) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "supernetes-ca")])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(_now() - datetime.timedelta(minutes=5))
            .not_valid_after(_now() + datetime.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True,
                                         crl_sign=True, content_commitment=False,
                                         key_encipherment=False, data_encipherment=False,
                                         key_agreement=False, encipher_only=False,
                                         decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                           critical=False)
            .sign(key, hashes.SHA256()))
    _write(pki.ca_key, _key_pem(key), 0o600)
    _write(pki.ca_cert, cert.public_bytes(serialization.Encoding.PEM), 0o644)


def wanted_names(advertise: tuple[str, ...] = (), bind: str | None = None) -> set[str]:
    names = {"127.0.0.1", "::1", "localhost", socket.gethostname(), FIRST_SERVICE_IP,
             *IN_CLUSTER_NAMES, *advertise}
    if bind and bind not in ("0.0.0.0", "::", ""):
        names.add(bind)
    return {n for n in names if n}


def _san(names: set[str]) -> x509.SubjectAlternativeName:
    entries = []
    for name in sorted(names):
        try:
            entries.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            entries.append(x509.DNSName(name))
    return x509.SubjectAlternativeName(entries)


def _names_of(cert: x509.Certificate) -> set[str]:
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return set()
    return {str(v) for v in san.get_values_for_type(x509.IPAddress)} | \
        set(san.get_values_for_type(x509.DNSName))


def _serving_ok(pki: Pki, names: set[str]) -> bool:
    if not (pki.cert.exists() and pki.key.exists()):
        return False
    cert = x509.load_pem_x509_certificate(pki.cert.read_bytes())
    return names <= _names_of(cert) and cert.not_valid_after_utc - _now() > RENEW_BEFORE


def _make_serving(pki: Pki, names: set[str]) -> None:
    ca_key = serialization.load_pem_private_key(pki.ca_key.read_bytes(), None)
    ca_cert = x509.load_pem_x509_certificate(pki.ca_cert.read_bytes())
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME,
                                                        "supernetes-apiserver")]))
            .issuer_name(ca_cert.subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(_now() - datetime.timedelta(minutes=5))
            .not_valid_after(_now() + datetime.timedelta(days=365))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
                           critical=False)
            .add_extension(_san(names), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                ca_cert.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    _write(pki.key, _key_pem(key), 0o600)
    _write(pki.cert, cert.public_bytes(serialization.Encoding.PEM), 0o644)


def ensure_pki(folder: Path, advertise: tuple[str, ...] = (), bind: str | None = None) -> Pki:
    folder = Path(folder)
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    pki = Pki(folder / "ca.crt", folder / "ca.key", folder / "apiserver.crt",
              folder / "apiserver.key")
    if not (pki.ca_cert.exists() and pki.ca_key.exists()):
        _make_ca(pki)
        for stale in (pki.cert, pki.key):
            stale.unlink(missing_ok=True)
    names = wanted_names(advertise, bind)
    if not _serving_ok(pki, names):
        _make_serving(pki, names)
    return pki

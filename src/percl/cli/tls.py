"""HTTPS for `percl serve`: check a given certificate, or make a local one (`--tls-self-signed`).

Why a local CA and not one self-signed server certificate: clients are told to trust a CA file
(Python SDK `ssl_ca_cert`, Node `NODE_EXTRA_CA_CERTS`, curl `--cacert`), and OpenSSL-based
clients refuse a leaf certificate used as its own trust anchor in some configurations. So percl
keeps one CA in $PERCL_HOME/tls (made once, kept across starts so a client configured once stays
configured) and signs a fresh server certificate at every start for the names it listens on.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import ssl
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from percl.cli.credentials import make_private_dir
from percl.cli.startup import StartRefused

CA_DAYS = 3650
CERT_DAYS = 365
WILDCARDS = ("0.0.0.0", "::", "")


@dataclass(frozen=True, slots=True)
class TlsFiles:
    """PEM files: the server's certificate and key, and the CA clients must trust."""

    cert: Path
    key: Path
    ca: Path


def check(cert: str, key: str) -> None:
    """Raise StartRefused (one line) unless `cert` and `key` load as a TLS server pair."""
    for name in (cert, key):
        if not Path(name).is_file():
            raise StartRefused(f"TLS: {name} not found")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        context.load_cert_chain(cert, key)
    except (ssl.SSLError, OSError) as exc:
        raise StartRefused(f"TLS: cannot use certificate {cert} with key {key}: {exc}") from None


def check_ca(ca_file: str) -> None:
    """Raise StartRefused (one line) unless `ca_file` loads as PEM CA certificates."""
    if not Path(ca_file).is_file():
        raise StartRefused(f"PERCL_WEBHOOK_CA_FILE: {ca_file} not found")
    try:
        ssl.create_default_context().load_verify_locations(cafile=ca_file)
    except (ssl.SSLError, OSError) as exc:
        raise StartRefused(f"PERCL_WEBHOOK_CA_FILE: {ca_file} is no PEM CA file: {exc}") from None


def self_signed(folder: Path, host: str) -> TlsFiles:
    """The local CA (made if missing) and a new server certificate for `host`, localhost,
    127.0.0.1 and ::1, all under `folder` (0700; keys 0600)."""
    make_private_dir(folder)
    ca_cert_path, ca_key_path = folder / "ca.pem", folder / "ca-key.pem"
    if ca_cert_path.exists() and ca_key_path.exists():
        ca_key = serialization.load_pem_private_key(ca_key_path.read_bytes(), password=None)
        ca_cert = x509.load_pem_x509_certificate(ca_cert_path.read_bytes())
        if not isinstance(ca_key, ec.EllipticCurvePrivateKey):
            raise StartRefused(f"TLS: {ca_key_path} is not the EC key percl made; delete {folder}")
    else:
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca_cert = _ca(ca_key)
        _write(ca_key_path, _key_pem(ca_key), private=True)
        _write(ca_cert_path, ca_cert.public_bytes(serialization.Encoding.PEM), private=False)
    key = ec.generate_private_key(ec.SECP256R1())
    cert = _server(key, ca_key, ca_cert, host)
    files = TlsFiles(cert=folder / "server.pem", key=folder / "server-key.pem", ca=ca_cert_path)
    _write(files.key, _key_pem(key), private=True)
    _write(files.cert, cert.public_bytes(serialization.Encoding.PEM), private=False)
    return files


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def _ca(key: ec.EllipticCurvePrivateKey) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "percl local CA"),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "percl")])
    return (
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(_now() - datetime.timedelta(minutes=5))
        .not_valid_after(_now() + datetime.timedelta(days=CA_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                     content_commitment=False, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False,
                                     encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )


def _server(key: ec.EllipticCurvePrivateKey, ca_key: ec.EllipticCurvePrivateKey,
            ca: x509.Certificate, host: str) -> x509.Certificate:
    return (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "percl server")]))
        .issuer_name(ca.subject).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(_now() - datetime.timedelta(minutes=5))
        .not_valid_after(_now() + datetime.timedelta(days=CERT_DAYS))
        .add_extension(x509.SubjectAlternativeName(_names(host)), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]),
                       critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                       critical=False)
        .sign(ca_key, hashes.SHA256())
    )


def _names(host: str) -> list[x509.GeneralName]:
    names: list[x509.GeneralName] = [x509.DNSName("localhost"),
                                     x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                                     x509.IPAddress(ipaddress.ip_address("::1"))]
    if host in WILDCARDS or host == "localhost":
        return names
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return [*names, x509.DNSName(host)]
    extra = x509.IPAddress(address)
    return names if extra in names else [*names, extra]


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _write(path: Path, data: bytes, *, private: bool) -> None:
    """Replace `path` with `data`; a private key is 0600 from its creation."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600 if private else 0o644)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    os.replace(tmp, path)

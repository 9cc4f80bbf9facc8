"""HTTPS for `percl serve`: check a given certificate, or make a local one (`--tls-self-signed`).

Why a local CA and not one self-signed server certificate: clients are told to trust a CA file
(Python SDK `ssl_ca_cert`, Node `NODE_EXTRA_CA_CERTS`, curl `--cacert`), and OpenSSL-based
clients refuse a leaf certificate used as its own trust anchor in some configurations. So percl
keeps one CA in $PERCL_HOME/tls (made once, kept across starts so a client configured once stays
configured) and signs a fresh server certificate at every start for the names it listens on.

Why a server pair per start (`server-<pid>-<token>.pem` and `...-key.pem`, removed at exit): two
servers starting at once on one PERCL_HOME wrote the same two files, so one could serve the
other's certificate with its own key. The CA is made under an flock on `ca.lock` for the same
reason, and a leftover pair of a process that no longer runs (a crash) is swept at the next start.
"""

from __future__ import annotations

import contextlib
import datetime
import fcntl
import ipaddress
import os
import secrets
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
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

    def remove_server_pair(self) -> None:
        """Delete the server certificate and key (at exit: they were made for this start)."""
        for path in (self.cert, self.key):
            path.unlink(missing_ok=True)


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
    127.0.0.1 and ::1, all under `folder` (0700; keys 0600), the server pair under names of
    its own. Raises StartRefused (one line naming the file) when the CA files are unusable."""
    make_private_dir(folder)
    _sweep_dead_pairs(folder)
    ca_key, ca_cert, ca_cert_path = _local_ca(folder)
    key = ec.generate_private_key(ec.SECP256R1())
    cert = _server(key, ca_key, ca_cert, host)
    stem = f"server-{os.getpid()}-{secrets.token_hex(4)}"
    files = TlsFiles(cert=folder / f"{stem}.pem", key=folder / f"{stem}-key.pem", ca=ca_cert_path)
    _write(files.key, _key_pem(key), private=True)
    _write(files.cert, cert.public_bytes(serialization.Encoding.PEM), private=False)
    return files


def _local_ca(folder: Path) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate, Path]:
    """The CA's key, certificate and certificate file: loaded, or made (under the lock, so two
    starts at once make one CA, not two halves of two)."""
    ca_cert_path, ca_key_path = folder / "ca.pem", folder / "ca-key.pem"
    with _locked(folder / "ca.lock"):
        if ca_cert_path.exists() and ca_key_path.exists():
            ca_key, ca_cert = _load_ca(ca_cert_path, ca_key_path)
        else:
            ca_key = ec.generate_private_key(ec.SECP256R1())
            ca_cert = _ca(ca_key)
            _write(ca_key_path, _key_pem(ca_key), private=True)
            _write(ca_cert_path, ca_cert.public_bytes(serialization.Encoding.PEM), private=False)
    return ca_key, ca_cert, ca_cert_path


def _load_ca(cert_path: Path, key_path: Path) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    """Raises StartRefused naming the file that is unreadable, corrupt or not percl's."""
    fix = f"delete {cert_path.parent} to make a new CA"
    try:
        ca_key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise StartRefused(f"TLS: cannot load the CA key {key_path} ({_first_line(exc)}); {fix}") from None
    try:
        ca_cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    except (OSError, ValueError) as exc:
        raise StartRefused(f"TLS: cannot load the CA certificate {cert_path} ({_first_line(exc)}); "
                           f"{fix}") from None
    if not isinstance(ca_key, ec.EllipticCurvePrivateKey):
        raise StartRefused(f"TLS: {key_path} is not the EC key percl made; {fix}")
    if ca_cert.public_key() != ca_key.public_key():
        raise StartRefused(f"TLS: the CA certificate {cert_path} does not match {key_path}; {fix}")
    return ca_key, ca_cert


def _first_line(exc: Exception) -> str:
    text = str(exc).strip() or exc.__class__.__name__
    return text.splitlines()[0]


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Hold an flock on `path` (created if missing, never deleted: see cli/startup.py)."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        raise StartRefused(f"TLS: cannot create the lock file {path}: {exc.strerror}") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing drops the flock


def _sweep_dead_pairs(folder: Path) -> None:
    """Delete server pairs left by processes that no longer run (a crash skips the clean-up)."""
    for path in folder.glob("server-*.pem"):
        pid = path.name.split("-")[1]
        if pid.isdigit() and not _running(int(pid)):
            path.unlink(missing_ok=True)


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True  # another user's process (or no pid at all: leave the file alone)
    return True


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

"""A throw-away CA and server certificate for the front doors, made with `cryptography`.

The CA's key stays in memory, so a front door can also serve a certificate that
expires soon (`SniCertificates`: a `-expiring` image, see behaviour.py) from the
same CA, chosen per TLS server name.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

SERVER_CERT_DAYS = 30  # the front door's certificate
EXPIRING_CERT_DAYS = 3  # … and the one served for a `-expiring` release's hosts


@dataclass
class Authority:
    """The CA's name and key, kept in memory to sign more server certificates."""

    name: x509.Name
    key: ec.EllipticCurvePrivateKey


@dataclass
class TlsFiles:
    ca_cert: Path
    cert: Path
    key: Path
    hosts: list[str] = field(default_factory=list)
    authority: Authority | None = field(default=None, repr=False)

    def server_context(self) -> ssl.SSLContext:
        return _context(self.cert, self.key)

    def expiring_context(self) -> ssl.SSLContext:
        """A context serving a certificate of the same CA and names that expires in 3 days."""
        cert, key = self.cert.with_suffix(".expiring.crt"), self.key.with_suffix(".expiring.key")
        valid_for = dt.timedelta(days=EXPIRING_CERT_DAYS)
        _write_server_cert(self.authority, self.hosts, valid_for, cert, key)
        return _context(cert, key)


def _context(cert: Path, key: Path) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


class SniCertificates:
    """One front door's server context: the TLS server name (SNI) of a handshake picks
    the expiring certificate when `expiring(name)` says so, else the normal one. The
    expiring context is made on first use and kept."""

    def __init__(self, files: TlsFiles, expiring: Callable[[str], bool]):
        self.files = files
        self.expiring = expiring
        self._expiring_context: ssl.SSLContext | None = None

    def server_context(self) -> ssl.SSLContext:
        context = self.files.server_context()
        context.sni_callback = self._choose
        return context

    def _choose(self, ssl_object, server_name: str | None, _context) -> None:
        if not server_name or not self.expiring(server_name.lower()):
            return
        if self._expiring_context is None:
            self._expiring_context = self.files.expiring_context()
        ssl_object.context = self._expiring_context


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "kubesim"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _builder(
    subject: x509.Name, issuer: x509.Name, public_key, valid_for: dt.timedelta
) -> x509.CertificateBuilder:
    now = dt.datetime.now(dt.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + valid_for)
    )


def _pem_key(key) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def generate(directory: Path, hosts: list[str]) -> TlsFiles:
    """Write kubesim-ca.crt (trust this), kubesim-frontdoor.crt and .key into directory."""
    directory.mkdir(parents=True, exist_ok=True)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _name("kubesim front-door CA")
    ca_cert = (
        _builder(ca_name, ca_name, ca_key.public_key(), dt.timedelta(days=SERVER_CERT_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    files = TlsFiles(
        directory / "kubesim-ca.crt",
        directory / "kubesim-frontdoor.crt",
        directory / "kubesim-frontdoor.key",
        hosts=sorted({"localhost", *hosts}),
        authority=Authority(ca_name, ca_key),
    )
    files.ca_cert.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    valid_for = dt.timedelta(days=SERVER_CERT_DAYS)
    _write_server_cert(files.authority, files.hosts, valid_for, files.cert, files.key)
    return files


def _write_server_cert(
    authority: Authority, hosts: list[str], valid_for: dt.timedelta, cert_path: Path, key_path: Path
) -> None:
    """A server certificate for `hosts` and 127.0.0.1, signed by the CA."""
    key = ec.generate_private_key(ec.SECP256R1())
    alt_names = [x509.DNSName(h) for h in hosts] + [
        x509.IPAddress(ipaddress.ip_address("127.0.0.1"))
    ]
    cert = (
        _builder(_name("kubesim front door"), authority.name, key.public_key(), valid_for)
        .add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(authority.key.public_key()),
            critical=False,
        )
        .sign(authority.key, hashes.SHA256())
    )
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(_pem_key(key))
    key_path.chmod(0o600)

"""Certificates for a proof: a throwaway one for the pages on https origins, and the SPKI hashes by
which Chromium accepts it (and a target certificate corscheck itself accepted) without touching any
trust store (`--ignore-certificate-errors-spki-list`). Needs `cryptography` (corscheck[prove])."""

from __future__ import annotations

import base64
import datetime
import hashlib
from dataclasses import dataclass

from corscheck.transport.tls import server_certificate


@dataclass(frozen=True, slots=True)
class ThrowawayCertificate:
    cert_pem: bytes
    key_pem: bytes
    spki: str  # base64 of the SHA-256 of its SubjectPublicKeyInfo, as Chromium's flag takes it


def throwaway_certificate() -> ThrowawayCertificate:
    """A self-signed certificate made for this run only, its key never written anywhere lasting."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "corscheck proof pages")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("corscheck.invalid")]), False)
        .sign(key, hashes.SHA256())
    )
    return ThrowawayCertificate(
        cert_pem=cert.public_bytes(serialization.Encoding.PEM),
        key_pem=key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
        spki=spki_of(cert.public_bytes(serialization.Encoding.DER)),
    )


def spki_of(der_certificate: bytes) -> str:
    """The SPKI hash of a DER certificate: base64(SHA-256(SubjectPublicKeyInfo))."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    public_key = x509.load_der_x509_certificate(der_certificate).public_key()
    info = public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(hashlib.sha256(info).digest()).decode("ascii")


def accepted_target_spki(url: str, insecure: bool, timeout: float) -> str | None:
    """The SPKI hash of an https target's certificate when corscheck's own TLS check accepts it (as
    the audit's did: the default trust store, SSL_CERT_FILE, or --insecure), so that the browser
    trusts the target exactly as far as corscheck does; None when it does not, or over http."""
    der = server_certificate(url, insecure, timeout)
    return spki_of(der) if der else None

"""TLS as corscheck trusts it: the client context every https request uses, and the certificate a
server presents under that trust (the proofs pin exactly what the audit trusted)."""

from __future__ import annotations

import socket
import ssl
from urllib.parse import urlsplit


def client_tls_context(insecure: bool) -> ssl.SSLContext:
    """How corscheck checks a server's certificate: the default trust store (SSL_CERT_FILE and
    SSL_CERT_DIR change it), or not at all with --insecure. The proofs trust the target as this does."""
    context = ssl.create_default_context()
    if insecure:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    context.set_alpn_protocols(["http/1.1"])
    return context


def server_certificate(url: str, insecure: bool, timeout: float) -> bytes | None:
    """The DER certificate an https server presents, when `client_tls_context` accepts it; None
    over http, or when the connection or the check fails (the proofs pin what the audit trusted)."""
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname:
        return None
    host, port = parts.hostname, parts.port or 443
    try:
        with (
            socket.create_connection((host, port), timeout=timeout) as raw,
            client_tls_context(insecure).wrap_socket(raw, server_hostname=host) as tls,
        ):
            return tls.getpeercert(binary_form=True)
    except (OSError, ssl.SSLError, ValueError):
        return None

"""The page server of a proof: serves the replay pages on loopback for whatever host the browser asks
(Chromium maps each evidence origin's host to it), over http and, with a throwaway certificate,
over https. It serves only the pages registered with it and records every request it gets."""

from __future__ import annotations

import ssl
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from corscheck.prove.certs import ThrowawayCertificate
from corscheck.prove.closing import Closing

PAGE_PREFIX = "/corscheck-proof/"


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    pages: dict[str, str]
    seen: list[tuple[str, str]]
    lock: threading.Lock


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        with self.server.lock:
            self.server.seen.append((self.headers.get("Host", ""), self.path))
            body = self.server.pages.get(self.path)
        if body is None:
            self._send(404, b"not a corscheck proof page\n", "text/plain")
        else:
            self._send(200, body.encode("utf-8"), "text/html; charset=utf-8")

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the proof's report says what happened; a page server is quiet


class PageServer(Closing):
    """The page server on two loopback ports (http, https), stopped on leaving `with`."""

    def __init__(self, certificate: ThrowawayCertificate) -> None:
        self.certificate = certificate
        self.pages: dict[str, str] = {}
        self.seen: list[tuple[str, str]] = []
        self._lock = threading.Lock()
        self._folder = tempfile.TemporaryDirectory(prefix="corscheck-pages-")
        self.cert_file = cert_file = Path(self._folder.name) / "cert.pem"
        self.key_file = key_file = Path(self._folder.name) / "key.pem"
        cert_file.write_bytes(certificate.cert_pem)
        key_file.write_bytes(certificate.key_pem)
        key_file.chmod(0o600)
        self.http = self._start()
        self.https = self._start()
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.load_cert_chain(cert_file, key_file)
        self.https.socket = tls.wrap_socket(self.https.socket, server_side=True)
        self._threads = [
            threading.Thread(target=s.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
            for s in (self.http, self.https)
        ]
        for thread in self._threads:
            thread.start()

    def _start(self) -> _Server:
        server = _Server(("127.0.0.1", 0), _Handler)
        server.pages = self.pages
        server.seen = self.seen
        server.lock = self._lock
        return server

    def port(self, scheme: str) -> int:
        server = self.https if scheme == "https" else self.http
        return int(server.server_address[1])

    def add(self, name: str, page: str) -> str:
        """Registers `page`; returns its path."""
        path = PAGE_PREFIX + name
        with self._lock:
            self.pages[path] = page
        return path

    def requests(self) -> list[tuple[str, str]]:
        """Every request the server got: (Host, path)."""
        with self._lock:
            return list(self.seen)

    def close(self) -> None:
        for server in (self.http, self.https):
            server.shutdown()
            server.server_close()
        for thread in self._threads:
            thread.join(timeout=5)
        self._folder.cleanup()

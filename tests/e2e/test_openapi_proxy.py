"""Every fetch goes through the run's transport: `--openapi URL --proxy P` fetches the document
through P, like every probe (issue 22: it used a bare httpx.get that ignored --proxy/--no-proxy)."""

from __future__ import annotations

import http.client
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest
from typer.testing import CliRunner

from corscheck.cli import app

DOCUMENT = {
    "openapi": "3.1.0",
    "info": {"title": "t", "version": "1"},
    "paths": {"/items": {"get": {"responses": {"200": {"description": "ok"}}}}},
}


class _Api(BaseHTTPRequestHandler):
    def _answer(self) -> None:
        body = json.dumps(DOCUMENT).encode() if self.path == "/openapi.json" else b"[]"
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_OPTIONS = do_HEAD = _answer

    def log_message(self, *args: object) -> None:
        pass


class _Proxy(BaseHTTPRequestHandler):
    """A forwarding HTTP proxy (absolute-form requests) that records what went through it."""

    seen: list[str]

    def _forward(self) -> None:
        self.seen.append(f"{self.command} {self.path}")
        parts = urlsplit(self.path)
        upstream = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=5)
        headers = {k: v for k, v in self.headers.items() if k.lower() != "proxy-connection"}
        upstream.request(self.command, parts.path or "/", headers=headers)
        answer = upstream.getresponse()
        body = answer.read()
        self.send_response(answer.status)
        for name, value in answer.getheaders():
            if name.lower() not in ("content-length", "transfer-encoding", "connection"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        upstream.close()

    do_GET = do_OPTIONS = do_HEAD = _forward

    def log_message(self, *args: object) -> None:
        pass


def _serve(handler: type[BaseHTTPRequestHandler]) -> tuple[ThreadingHTTPServer, str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


@pytest.fixture
def api_and_proxy() -> Iterator[tuple[str, str, list[str]]]:
    seen: list[str] = []
    proxy_handler = type("Proxy", (_Proxy,), {"seen": seen})
    api, api_url = _serve(_Api)
    proxy, proxy_url = _serve(proxy_handler)
    try:
        yield api_url, proxy_url, seen
    finally:
        for server in (api, proxy):
            server.shutdown()
            server.server_close()


def test_openapi_document_is_fetched_through_the_proxy(
    api_and_proxy: tuple[str, str, list[str]],
) -> None:
    api, proxy, seen = api_and_proxy
    result = CliRunner().invoke(
        app,
        [
            "audit",
            "--openapi",
            f"{api}/openapi.json",
            "--proxy",
            proxy,
            "--depth",
            "quick",
            "-f",
            "json",
        ],
    )
    assert result.exit_code == 0, result.output
    assert f"GET {api}/openapi.json" in seen
    report = json.loads(result.stdout)
    assert [t["url"] for t in report["targets"]] == [f"{api}/items"]
    assert any(line.startswith("OPTIONS ") or line.startswith("GET ") for line in seen[1:])


def test_no_proxy_fetches_the_document_directly(
    api_and_proxy: tuple[str, str, list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    api, proxy, seen = api_and_proxy
    monkeypatch.setenv("HTTP_PROXY", proxy)
    monkeypatch.setenv("http_proxy", proxy)
    result = CliRunner().invoke(
        app, ["audit", "--openapi", f"{api}/openapi.json", "--no-proxy", "--depth", "quick"]
    )
    assert result.exit_code == 0, result.output
    assert seen == []

"""Hostile and broken servers, TLS and redirects, end to end through `corscheck audit`: each run
finishes, records a clear error or a correct verdict, audits the other targets, and never prints a
traceback."""

from __future__ import annotations

import asyncio
import json
import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import trustme
from typer.testing import CliRunner

from corscheck.audit import audit
from corscheck.cli import app
from corscheck.config import AuditConfig
from corscheck.policy import MaxAge, build_policy
from corscheck.report.model import Report
from corscheck.target import Target
from corscheck.transport.options import RunOptions
from tests.cors_server import CorsServer, Reply

Behaviour = Callable[[socket.socket], None]


@contextmanager
def raw_server(behaviour: Behaviour) -> Iterator[str]:
    """A loopback socket server that runs `behaviour` on each connection, in a thread."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    listener.settimeout(0.2)
    stop = threading.Event()

    def accept_loop() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=_run, args=(behaviour, conn), daemon=True).start()

    thread = threading.Thread(target=accept_loop, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(timeout=5)
        listener.close()


def _run(behaviour: Behaviour, conn: socket.socket) -> None:
    conn.settimeout(5)
    try:
        behaviour(conn)
    except OSError:
        pass
    finally:
        conn.close()


def _read_head(conn: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data and len(data) < 65536:
        chunk = conn.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def reply_with(raw: bytes) -> Behaviour:
    def behaviour(conn: socket.socket) -> None:
        while _read_head(conn):
            conn.sendall(raw)

    return behaviour


def silent(conn: socket.socket) -> None:
    _read_head(conn)
    conn.recv(1)  # until the client gives up


def trickle(conn: socket.socket) -> None:
    _read_head(conn)
    conn.sendall(b"HTTP/1.1 200 OK\r\n")
    for _ in range(200):  # bounded: one header byte every 50 ms for 10 s at most
        conn.sendall(b"X")
        threading.Event().wait(0.05)


def reset(conn: socket.socket) -> None:
    _read_head(conn)
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")


MANY_ACAO = b"".join(
    b"Access-Control-Allow-Origin: https://x%d.example\r\n" % i for i in range(1000)
)
HOSTILE: list[tuple[str, Behaviour, str | None]] = [
    ("never-answers", silent, "timeout"),
    ("trickles-headers", trickle, "timeout"),
    ("resets", reset, "connect"),
    ("garbage", reply_with(b"\x00\xff\xfe garbage \r\n\r\n"), "protocol"),
    ("http-0.9", reply_with(b"<html>hello</html>\r\n\r\n"), "protocol"),
    ("megabytes-of-headers", reply_with(b"HTTP/1.1 200 OK\r\n" + b"X-A: b\r\n" * 200_000 + b"\r\n"), "too-large"),
    ("ten-gigabyte-body", reply_with(b"HTTP/1.1 200 OK\r\nContent-Length: 10000000000\r\n\r\n" + b"x" * 100_000), None),
    ("invalid-utf8-and-controls", reply_with(b"HTTP/1.1 200 OK\r\nAccess-Control-Allow-Origin: \xff\xfe\x01\r\nContent-Length: 0\r\n\r\n"), None),
    ("thousand-acao-lines", reply_with(b"HTTP/1.1 200 OK\r\n" + MANY_ACAO + b"Content-Length: 0\r\n\r\n"), None),
    ("status-999", reply_with(b"HTTP/1.1 999 Weird\r\nContent-Length: 0\r\n\r\n"), None),
    ("truncated-body", reply_with(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort"), None),
]  # fmt: skip


@pytest.mark.parametrize(
    ("behaviour", "kind"), [h[1:] for h in HOSTILE], ids=[h[0] for h in HOSTILE]
)
def test_hostile_server_is_one_error_and_others_still_audited(
    behaviour: Behaviour, kind: str | None, cors_server: CorsServer
) -> None:
    cors_server.route("/ok", options=Reply(204), actual=Reply(200, ["Vary: Origin"]))
    with raw_server(behaviour) as hostile:
        result = CliRunner().invoke(
            app,
            ["audit", hostile + "/", cors_server.url("/ok"), "--format", "json", "--timeout", "1",
             "--depth", "quick"],
        )  # fmt: skip
    assert "Traceback" not in result.output
    report = json.loads(result.stdout)
    bad, good = report["targets"]
    assert good["errors"] == [] and good["checks"]
    if kind is None:
        assert bad["errors"] == [], bad["errors"]  # a browser still decides: so do we
        assert bad["checks"]
    else:
        assert [e["kind"] for e in bad["errors"]] == [kind]
        assert "\n" not in bad["errors"][0]["message"]
        assert result.exit_code == 3


FRONTEND = b"https://app.example.com"
PREFLIGHT_BODY = b"<html>preflight ok</html>"


def preflights_with_a_body(mode: dict[str, str]) -> Behaviour:
    """A correctly configured API for FRONTEND whose 204 preflight answers carry a body: sent with
    the head (`mode["body"]` "together"), held back until the next request on the connection
    ("late"), or none ("none", the reference). Chromium ignores such a body."""

    def behaviour(conn: socket.socket) -> None:
        stray = b""
        for _ in range(10_000):  # bounded: far more requests than an audit sends on a connection
            head = _read_head(conn)
            if not head:
                return
            lines = head.split(b"\r\n\r\n", 1)[0].split(b"\r\n")
            method = lines[0].split(b" ", 1)[0]
            origin = next(
                (v.strip() for n, _, v in (h.partition(b":") for h in lines[1:])
                 if n.lower() == b"origin"),
                b"",
            )  # fmt: skip
            cors = b"Vary: Origin\r\n"
            if origin == FRONTEND:
                cors += b"Access-Control-Allow-Origin: " + FRONTEND + b"\r\n"
            if method == b"OPTIONS":
                response = b"HTTP/1.1 204 No Content\r\n" + cors
                response += b"Access-Control-Allow-Methods: GET, POST, PUT\r\n"
                response += b"Access-Control-Allow-Headers: Content-Type, Authorization\r\n"
                response += b"Access-Control-Max-Age: 600\r\n\r\n"
                extra = b"" if mode["body"] == "none" else PREFLIGHT_BODY
            else:
                response = b"HTTP/1.1 200 OK\r\n" + cors + b"Content-Length: 2\r\n\r\nok"
                extra = b""
            if mode["body"] == "late":
                conn.sendall(stray + response)
                stray = extra
            else:
                conn.sendall(response + extra)

    return behaviour


@pytest.mark.parametrize("body", ["together", "late"])
def test_preflight_204_with_a_body_is_audited_as_chromium_reads_it(body: str) -> None:
    policy = build_policy(
        origins=[FRONTEND.decode()],
        methods=["GET", "POST", "PUT"],
        headers=["Content-Type", "Authorization"],
        max_age=MaxAge(min=600, max=7200),
    )
    mode = {"body": "none"}
    with raw_server(preflights_with_a_body(mode)) as base:
        reference = audit(
            AuditConfig((Target(base + "/api", policy),), options=RunOptions(timeout=5))
        )
        mode["body"] = body
        quirky = audit(AuditConfig((Target(base + "/api", policy),), options=RunOptions(timeout=5)))

    def verdicts(report: Report) -> list[tuple[object, ...]]:
        (target,) = report.targets
        assert target.errors == ()
        return [
            (
                r.planned.probe,
                r.verdict.allowed,
                r.verdict.preflight,
                r.verdict.reason_id,
                r.outcome,
            )
            for r in target.probes
        ]

    assert verdicts(quirky) == verdicts(reference)
    (target,) = quirky.targets
    assert target.findings == () and {r.outcome for r in target.probes} == {"as-expected"}
    # The preflights pass where the headers allow: the front-end's requests (each method with every
    # header), a PUT, and each of the policy's request headers alone.
    passed = {
        (r.planned.probe.method, tuple(name for name, _ in r.planned.probe.headers))
        for r in target.probes
        if r.verdict.preflight and r.verdict.allowed
    }
    every = ("Content-Type", "Authorization")
    assert passed == {
        *((method, every) for method in ("GET", "POST", "PUT")),
        ("PUT", ()),
        ("GET", ("Content-Type",)),
        ("GET", ("Authorization",)),
    }


def test_redirect_loop_ends(cors_server: CorsServer) -> None:
    loop = Reply(302, ["Location: /loop", "Access-Control-Allow-Origin: *"])
    cors_server.route("/loop", options=loop, actual=loop)
    result = CliRunner().invoke(
        app,
        ["probe", cors_server.url("/loop"), "--origin", "https://a.example", "--format", "json"],
    )
    data = json.loads(result.stdout)
    assert data["browser"]["allowed"] is False
    assert (
        len(data["exchange"]["hops"]) == 21
    )  # the request and 20 redirects, then the browser stops


def test_cross_origin_redirect_sends_null_origin(cors_server: CorsServer) -> None:
    port = cors_server.url("/").split(":")[2].split("/")[0]
    cors_server.route(
        "/start",
        actual=Reply(
            302, [f"Location: http://localhost:{port}/end", "Access-Control-Allow-Origin: *"]
        ),
    )
    cors_server.route("/end", actual=Reply(200, ["Access-Control-Allow-Origin: *"]))
    result = CliRunner().invoke(
        app,
        ["probe", cors_server.url("/start"), "--origin", "https://a.example", "--format", "json"],
    )
    data = json.loads(result.stdout)
    assert data["browser"]["allowed"] is True
    origins = [dict(h["request"]["headers"]).get("Origin") for h in data["exchange"]["hops"]]
    assert origins == ["https://a.example", "null"]


def test_redirected_preflight_is_blocked(cors_server: CorsServer) -> None:
    cors_server.route(
        "/api",
        options=Reply(302, ["Location: /other", "Access-Control-Allow-Origin: https://a.example"]),
        actual=Reply(200, ["Access-Control-Allow-Origin: https://a.example"]),
    )
    result = CliRunner().invoke(
        app,
        ["probe", cors_server.url("/api"), "--origin", "https://a.example", "-H", "X-Api: 1", "--format", "json"],
    )  # fmt: skip
    verdict = json.loads(result.stdout)["browser"]
    assert verdict["allowed"] is False and verdict["preflight"] is True
    assert verdict["reason_id"] == "PRE-REDIRECT"


@contextmanager
def tls_server(ca: trustme.CA, hostname: str) -> Iterator[int]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(hostname).configure_cert(context)
    ready = threading.Event()
    state: dict[str, object] = {}

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while await reader.readuntil(b"\r\n\r\n"):
                writer.write(
                    b"HTTP/1.1 200 OK\r\nAccess-Control-Allow-Origin: *\r\nContent-Length: 0\r\n\r\n"
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, ssl.SSLError):
            pass
        finally:
            writer.close()

    async def main() -> None:
        server = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=context)
        state["port"] = server.sockets[0].getsockname()[1]
        stop = asyncio.Event()
        state["stop"] = (asyncio.get_running_loop(), stop)
        ready.set()
        await stop.wait()
        server.close()

    thread = threading.Thread(target=asyncio.run, args=(main(),), daemon=True)
    thread.start()
    ready.wait(10)
    try:
        yield int(state["port"])  # type: ignore[call-overload]
    finally:
        loop, stop = state["stop"]  # type: ignore[misc]
        loop.call_soon_threadsafe(stop.set)
        thread.join(timeout=5)


@pytest.mark.parametrize(
    "hostname", ["127.0.0.1", "wrong.example"], ids=["self-signed", "wrong-host"]
)
def test_untrusted_certificate_is_a_tls_error_that_suggests_insecure(hostname: str) -> None:
    with tls_server(trustme.CA(), hostname) as port:
        url = f"https://127.0.0.1:{port}/"
        failed = CliRunner().invoke(app, ["audit", url, "--depth", "quick", "--format", "json"])
        insecure = CliRunner().invoke(
            app, ["audit", url, "--depth", "quick", "--format", "json", "--insecure"]
        )
    errors = json.loads(failed.stdout)["targets"][0]["errors"]
    assert failed.exit_code == 3
    assert errors[0]["kind"] == "tls" and "--insecure" in errors[0]["message"]
    audited = json.loads(insecure.stdout)["targets"][0]
    assert audited["errors"] == [] and audited["checks"]


FORMATS_BY_EXTENSION = [".json", ".txt", ".sarif", ".xml", ".md", ".html"]


def test_canary_secrets_never_appear_in_any_output(cors_server: CorsServer, tmp_path: Path) -> None:
    canaries = {
        "header": "canary-header-5150",
        "cookie": "canary-cookie-5151",
        "password": "canary-password-5152",
        "token": "canary-token-5153",
    }
    cors_server.route(
        "/api", options=Reply(204), actual=Reply(200, ["Access-Control-Allow-Origin: {origin}"])
    )
    url = cors_server.url("/api") + f"?token={canaries['token']}"
    # A URL with userinfo is an input error (browsers refuse to fetch it); from -i it is recorded
    # in the reports, next to the target that is audited, and its password must not show either.
    with_password = url.replace("http://", f"http://user:{canaries['password']}@")
    urls = tmp_path / "urls.txt"
    urls.write_text(f"{url}\n{with_password}\n", encoding="utf-8")
    outputs = [str(tmp_path / f"report{ext}") for ext in FORMATS_BY_EXTENSION]
    args = ["audit", "-i", str(urls), "-H", f"Authorization: Bearer {canaries['header']}",
            "-H", f"Cookie: session={canaries['cookie']}", "-v", "--depth", "quick"]  # fmt: skip
    for path in outputs:
        args += ["-o", path]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2, result.output
    texts = [result.output] + [Path(p).read_text() for p in outputs]
    for text in texts:
        for canary in canaries.values():
            assert canary not in text

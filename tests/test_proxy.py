"""Proxy choice and a proxy's own answers (corscheck/transport/proxy.py), and the request a proxy receives.

The real proxies (tinyproxy, squid) are in tests/e2e/test_real_servers.py; here a scripted server
stands in for the proxy so the exact request line and headers it receives can be checked.
"""

from __future__ import annotations

import base64
import contextlib
import json
import socket
import threading
from collections.abc import Iterator

import pytest
from typer.testing import CliRunner

from corscheck.cli import app
from corscheck.errors import UsageError
from corscheck.headers import HeaderList
from corscheck.transport.proxy import Proxy, bypasses, parse_proxy, proxy_answer, proxy_routes
from tests.cors_server import CorsServer, Reply

NO_PROXY_ENV: dict[str, str | None] = {
    f(name): None
    for name in ("http_proxy", "https_proxy", "all_proxy", "no_proxy")
    for f in (str.lower, str.upper)
}


def invoke(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args), env={**NO_PROXY_ENV, **(env or {})})
    stderr = result.stderr or ""
    assert "Traceback" not in result.stdout + stderr
    return result.exit_code, result.stdout, stderr


# --- parsing and choosing --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://127.0.0.1:3128", Proxy("127.0.0.1", 3128)),
        ("http://Proxy.Example:8080/", Proxy("proxy.example", 8080)),
        ("http://[::1]:3128", Proxy("[::1]", 3128)),
        ("http://proxy.example", Proxy("proxy.example", 80)),
        (
            "http://us%40er:p%3Ass@127.0.0.1:3128",
            Proxy("127.0.0.1", 3128, "Basic " + base64.b64encode(b"us@er:p:ss").decode()),
        ),
    ],
    ids=["ip-port", "name-slash", "ipv6", "default-port", "credentials-percent-decoded"],
)
def test_parse_proxy(url: str, expected: Proxy) -> None:
    assert parse_proxy(url) == expected


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("socks5://127.0.0.1:1080", "scheme 'socks5' is not supported"),
        ("https://127.0.0.1:3128", "scheme 'https' is not supported"),
        ("127.0.0.1:3128", "has no scheme"),
        ("http://:3128", "has no host"),
        ("http://127.0.0.1:99999", "not a valid URL"),
        ("http://127.0.0.1:3128/path", "no path"),
    ],
    ids=["socks5", "https", "bare-host-port", "no-host", "bad-port", "path"],
)
def test_parse_proxy_refuses(url: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        parse_proxy(url)


def test_parse_proxy_never_shows_the_password() -> None:
    with pytest.raises(UsageError) as raised:
        parse_proxy("socks5://user:hunter2@127.0.0.1:1080")
    assert "hunter2" not in str(raised.value)
    assert "hunter2" not in repr(parse_proxy("http://user:hunter2@127.0.0.1:1"))


P1, P2, P3 = "http://127.0.0.1:1", "http://127.0.0.1:2", "http://127.0.0.1:3"


@pytest.mark.parametrize(
    ("environ", "http", "https"),
    [
        ({}, None, None),
        ({"HTTP_PROXY": P1}, P1, None),
        ({"http_proxy": P1, "HTTP_PROXY": P2}, P1, None),
        ({"HTTPS_PROXY": P2}, None, P2),
        ({"ALL_PROXY": P3}, P3, P3),
        ({"all_proxy": P3, "https_proxy": P2}, P3, P2),
        ({"HTTP_PROXY": ""}, None, None),
    ],
    ids=["none", "http", "lowercase-wins", "https", "all", "scheme-beats-all", "empty"],
)
def test_proxy_routes_from_environment(
    environ: dict[str, str], http: str | None, https: str | None
) -> None:
    routes = proxy_routes(None, use_environment=True, environ=environ)
    assert routes.http == (parse_proxy(http) if http else None)
    assert routes.https == (parse_proxy(https) if https else None)


def test_explicit_proxy_overrides_the_environment() -> None:
    environ = {"HTTP_PROXY": P1, "NO_PROXY": "*"}
    routes = proxy_routes(P2, use_environment=True, environ=environ)
    assert routes.proxy_for("http", "127.0.0.1", 80) == parse_proxy(P2)
    assert routes.proxy_for("https", "example.com", 443) == parse_proxy(P2)


def test_no_proxy_turns_the_environment_off() -> None:
    routes = proxy_routes(None, use_environment=False, environ={"ALL_PROXY": P1})
    assert not routes.active


def test_bad_environment_proxy_names_the_variable() -> None:
    with pytest.raises(UsageError, match="HTTPS_PROXY 'socks5://h:1'"):
        proxy_routes(None, use_environment=True, environ={"HTTPS_PROXY": "socks5://h:1"})


@pytest.mark.parametrize(
    ("entries", "host", "port", "bypassed"),
    [
        ("*", "anything.example", 80, True),
        ("example.com", "example.com", 80, True),
        ("example.com", "api.example.com", 80, True),
        ("example.com", "notexample.com", 80, False),
        (".example.com", "api.example.com", 80, True),
        ("*.example.com", "api.example.com", 80, True),
        ("127.0.0.1", "127.0.0.1", 8080, True),
        ("127.0.0.0/8", "127.1.2.3", 8080, True),
        ("10.0.0.0/8", "127.0.0.1", 8080, False),
        ("::1", "[::1]", 80, True),
        ("[::1]:8080", "[::1]", 8080, True),
        ("localhost:8080", "localhost", 8080, True),
        ("localhost:8080", "localhost", 9090, False),
        ("Example.COM.", "example.com", 80, True),
        ("", "example.com", 80, False),
    ],
    ids=lambda v: str(v),
)
def test_no_proxy_entries(entries: str, host: str, port: int, bypassed: bool) -> None:
    routes = proxy_routes(
        None, use_environment=True, environ={"HTTP_PROXY": P1, "no_proxy": f"x.test, {entries}"}
    )
    assert bypasses(routes.no_proxy, host, port) is bypassed
    assert (routes.proxy_for("http", host, port) is None) is bypassed


@pytest.mark.parametrize(
    ("status", "reason", "lines", "is_proxy"),
    [
        (407, "Proxy Authentication Required", [], True),
        (
            503,
            "Service Unavailable",
            [("Server", "squid/5.7"), ("X-Squid-Error", "ERR_CONNECT_FAIL 111")],
            True,
        ),
        (500, "Unable to connect", [("Server", "tinyproxy/1.11.1")], True),
        (502, "Bad Gateway", [("Proxy-Status", "haproxy; error=connection_refused")], True),
        (502, "Bad Gateway", [("Server", "mitmproxy 10")], True),
        (503, "Service Unavailable", [("Server", "Apache/2.4.57")], False),
        (
            503,
            "Service Unavailable",
            [("Server", "squid/5.7"), ("Access-Control-Allow-Origin", "*")],
            False,
        ),
        (503, "Service Unavailable", [("Via", "1.1 corscheck-test (squid/5.7)")], False),
        (404, "Not Found", [("X-Squid-Error", "ERR_INVALID_URL 0")], False),
        (200, "OK", [("Server", "squid")], False),
    ],
    ids=[
        "407",
        "squid-503",
        "tinyproxy-500",
        "proxy-status",
        "mitmproxy-server",
        "apache-503-is-the-target",
        "cors-header-means-target",
        "via-alone-is-forwarded",
        "not-a-gateway-error",
        "ok",
    ],
)
def test_proxy_answer(
    status: int, reason: str, lines: list[tuple[str, str]], is_proxy: bool
) -> None:
    assert (proxy_answer(status, reason, HeaderList.of(lines)) is not None) is is_proxy


# --- on the wire -----------------------------------------------------------------------------------


def test_absolute_form_is_normalized_and_carries_basic_credentials(cors_server: CorsServer) -> None:
    """The scripted server plays the proxy: it records the request line it receives."""
    cors_server.route("/", actual=Reply(200, ["Access-Control-Allow-Origin: *"]))
    proxy = cors_server.url("/").rstrip("/").replace("://", "://us%40er:p%40ss@")
    target = "http://127.0.0.1:9/p\u00e4th/a%20b?q=\u00fc&r=1#fragment"
    code, out, err = invoke(
        "probe", target, "--origin", "https://app.example.com", "--proxy", proxy, "--format", "json"
    )
    (received,) = cors_server.requests
    assert received.target == "http://127.0.0.1:9/p%C3%A4th/a%20b?q=%C3%BC&r=1"
    token = base64.b64encode(b"us@er:p@ss").decode()
    assert ("Proxy-Authorization", f"Basic {token}") in received.headers
    assert ("Host", "127.0.0.1:9") in received.headers
    assert code == 0
    assert len(json.loads(out)["exchange"]["hops"]) == 1  # the scripted server's 404: no route
    assert "p@ss" not in out + err and token not in out + err


def test_direct_origin_form_matches(cors_server: CorsServer) -> None:
    cors_server.route("/p\u00e4th", actual=Reply(200, []))
    invoke(
        "probe",
        cors_server.url("/p\u00e4th?q=\u00fc#f"),
        "--origin",
        "https://a.example",
        "--no-proxy",
    )
    (received,) = cors_server.requests
    assert received.target == "/p%C3%A4th?q=%C3%BC"
    assert not any(name.lower() == "proxy-authorization" for name, _ in received.headers)


@pytest.fixture
def closing_proxy() -> Iterator[str]:
    """A proxy that reads a request (CONNECT) and closes the connection without a word, as haproxy
    does with a dead backend."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    server.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            with conn:
                conn.settimeout(2)
                with contextlib.suppress(OSError):
                    conn.recv(65536)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(timeout=5)
        server.close()


def test_proxy_closing_on_connect_is_a_proxy_error_in_a_whole_report(closing_proxy: str) -> None:
    code, out, err = invoke(
        "audit",
        "https://127.0.0.1:1/a",
        "https://127.0.0.1:2/b",
        "--proxy",
        closing_proxy,
        "--format",
        "json",
        "--timeout",
        "3",
    )
    report = json.loads(out)  # one whole document
    assert [[e["kind"] for e in t["errors"]] for t in report["targets"]] == [["proxy"], ["proxy"]]
    assert (
        "closed the connection instead of answering CONNECT"
        in report["targets"][0]["errors"][0]["message"]
    )
    assert report["summary"]["findings"] == {"critical": 0, "high": 0, "medium": 0, "low": 0}
    assert code == 3
    assert "Aborted" not in err


def test_proxy_closing_on_absolute_form_names_the_proxy(closing_proxy: str) -> None:
    code, out, _ = invoke(
        "audit",
        "http://127.0.0.1:1/a",
        "--proxy",
        closing_proxy,
        "--format",
        "json",
        "--timeout",
        "3",
    )
    (error,) = json.loads(out)["targets"][0]["errors"]
    assert error["message"].startswith(f"proxy {closing_proxy.removeprefix('http://')} closed")
    assert code == 3


def test_unreachable_proxy_has_a_reason(unused_port: int) -> None:
    code, out, _ = invoke(
        "audit",
        "http://127.0.0.1:1/",
        "--proxy",
        f"http://127.0.0.1:{unused_port}",
        "--format",
        "json",
    )
    (error,) = json.loads(out)["targets"][0]["errors"]
    assert error["kind"] == "proxy"
    assert not error["message"].rstrip().endswith(":")
    assert code == 3


@pytest.mark.parametrize(
    ("args", "env"),
    [
        (["--proxy", "socks5://127.0.0.1:1080"], {}),
        (["--proxy", "https://127.0.0.1:3128"], {}),
        (["--proxy", "127.0.0.1:3128"], {}),
        (["--proxy", "http://127.0.0.1:3128", "--no-proxy"], {}),
        ([], {"HTTPS_PROXY": "socks5://user:hunter2@127.0.0.1:1080"}),
        ([], {"all_proxy": "socks5h://127.0.0.1:1080"}),
    ],
    ids=["socks5", "https", "bare", "both", "env-https", "env-all"],
)
@pytest.mark.parametrize("command", ["audit", "probe"])
def test_bad_proxy_is_a_usage_error_with_no_output(
    command: str, args: list[str], env: dict[str, str]
) -> None:
    extra = ["--origin", "https://a.example"] if command == "probe" else []
    code, out, err = invoke(
        command, "http://127.0.0.1:1/", *extra, *args, "--format", "json", env=env
    )
    assert code == 2
    assert out == ""
    assert err.startswith("corscheck: error: ")
    assert "hunter2" not in err


@pytest.fixture
def unused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port

"""corscheck against real servers and through real forward proxies (tests/e2e/real_servers.py).

nginx, Apache httpd, Caddy and express + cors each serve one intended policy correctly and broken
(any origin reflected with credentials), over HTTP and HTTPS. Each is audited directly, and the
findings must be exact; then through tinyproxy by --proxy, through squid by HTTP_PROXY/HTTPS_PROXY,
and through a tinyproxy that requires Basic credentials, with a #fragment and a non-ASCII path in
the URL: the findings must equal the direct run's, and the proxy password appear in no output.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import pytest
from typer.testing import CliRunner

from corscheck.cli import app
from tests.e2e import real_servers
from tests.e2e.real_servers import POLICY, Certificates, Site

PROXY_VARIABLES = [
    f(name)
    for name in ("http_proxy", "https_proxy", "all_proxy", "no_proxy")
    for f in (str.lower, str.upper)
]
# What each configuration of the intended policy must produce, whatever the server software.
EXPECTED = {"good": [], "broken": [("any-origin-with-credentials", "critical")]}
USER, PASSWORD = "auditor", "pr0xy-s3cret"


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    directory = tmp_path_factory.mktemp("certs")
    directory.chmod(0o755)
    return real_servers.certificates(directory)


@pytest.fixture(scope="module", params=sorted(real_servers.WEB_SERVERS))
def site(request: pytest.FixtureRequest, certs: Certificates) -> Iterator[Site]:
    with real_servers.WEB_SERVERS[request.param](certs) as served:
        yield served


@pytest.fixture(scope="module")
def tinyproxy() -> Iterator[str]:
    with real_servers.tinyproxy() as url:
        yield url


@pytest.fixture(scope="module")
def tinyproxy_auth() -> Iterator[str]:
    with real_servers.tinyproxy((USER, PASSWORD)) as url:
        yield url


@pytest.fixture(scope="module")
def squid() -> Iterator[str]:
    with real_servers.squid() as url:
        yield url


def audit(
    url: str, certs: Certificates, *args: str, env: dict[str, str] | None = None
) -> tuple[int, dict[str, Any], str]:
    """Runs `corscheck audit URL --format json --detail full` (every response line, the proxies' Via
    among them) with the intended policy; the environment holds no
    proxy variable but those in `env`, and trusts the test CA."""
    environ: dict[str, str | None] = dict.fromkeys(PROXY_VARIABLES)
    environ.update({"SSL_CERT_FILE": str(certs.ca), **(env or {})})
    result = CliRunner().invoke(
        app,
        ["audit", url, *POLICY, "--format", "json", "--detail", "full", "--timeout", "5", *args],
        env=environ,
    )
    output = result.stdout + (result.stderr or "")
    assert "Traceback" not in output, output
    return result.exit_code, json.loads(result.stdout), output


def findings(report: dict[str, Any]) -> list[tuple[str, str]]:
    return sorted((f["rule"], f["severity"]) for t in report["targets"] for f in t["findings"])


def comparable(report: dict[str, Any]) -> list[tuple[str, str, str]]:
    """The findings as the direct and the proxied run must agree on them."""
    return sorted(
        (f["rule"], f["severity"], f["message"]) for t in report["targets"] for f in t["findings"]
    )


def proxied_by(report: dict[str, Any]) -> set[str]:
    """The Via lines of every response: a forward proxy adds one to what it forwards over HTTP."""
    return {
        value
        for t in report["targets"]
        for e in t["exchanges"]
        for hop in e["hops"]
        for name, value in hop["response"]["headers"]
        if name.lower() == "via"
    }


def assert_went_through(report: dict[str, Any], scheme: str, product: str) -> None:
    if scheme == "http":
        assert any(product in via for via in proxied_by(report)), proxied_by(report)
    else:
        assert proxied_by(report) == set()  # a CONNECT tunnel: the proxy sees no response


@pytest.mark.parametrize("scheme", ["http", "https"])
@pytest.mark.parametrize("config", ["good", "broken"])
def test_direct(site: Site, certs: Certificates, config: str, scheme: str) -> None:
    code, report, _ = audit(site.url(config, scheme), certs)
    assert report["targets"][0]["errors"] == []
    assert findings(report) == EXPECTED[config]
    assert code == (1 if EXPECTED[config] else 0)
    assert report["summary"]["requests"] > 10
    assert proxied_by(report) == set()


@pytest.mark.parametrize("scheme", ["http", "https"])
@pytest.mark.parametrize("config", ["good", "broken"])
def test_through_proxy_option(
    site: Site, certs: Certificates, tinyproxy: str, config: str, scheme: str
) -> None:
    url = site.url(config, scheme)
    direct_code, direct, _ = audit(url, certs)
    code, proxied, _ = audit(url, certs, "--proxy", tinyproxy)
    assert proxied["targets"][0]["errors"] == []
    assert comparable(proxied) == comparable(direct)
    assert findings(proxied) == EXPECTED[config]
    assert code == direct_code
    assert_went_through(proxied, scheme, "tinyproxy")


@pytest.mark.parametrize("scheme", ["http", "https"])
@pytest.mark.parametrize("config", ["good", "broken"])
def test_through_environment(
    site: Site, certs: Certificates, squid: str, config: str, scheme: str
) -> None:
    url = site.url(config, scheme)
    _, direct, _ = audit(url, certs)
    variable = "HTTP_PROXY" if scheme == "http" else "https_proxy"
    code, proxied, _ = audit(url, certs, env={variable: squid})
    assert proxied["targets"][0]["errors"] == []
    assert comparable(proxied) == comparable(direct)
    assert code == (1 if EXPECTED[config] else 0)
    assert_went_through(proxied, scheme, "squid")
    # The variable is what routed it: aimed at a dead proxy, the same run cannot reach the target.
    dead = f"http://127.0.0.1:{real_servers.free_ports(1)[0]}"
    code, failed, _ = audit(url, certs, env={variable: dead})
    assert [e["kind"] for e in failed["targets"][0]["errors"]] == ["proxy"]
    assert code == 3


def test_no_proxy_sends_directly(site: Site, certs: Certificates) -> None:
    """NO_PROXY naming the target's address, or --no-proxy, skips a proxy that would fail."""
    url = site.url("broken", "http")
    dead = f"http://127.0.0.1:{real_servers.free_ports(1)[0]}"
    for args, env in (
        ((), {"HTTP_PROXY": dead, "NO_PROXY": "example.com,127.0.0.0/8"}),
        (("--no-proxy",), {"ALL_PROXY": dead}),
    ):
        code, report, _ = audit(url, certs, *args, env=env)
        assert findings(report) == EXPECTED["broken"], (args, env)
        assert code == 1


@pytest.mark.parametrize("scheme", ["http", "https"])
@pytest.mark.parametrize("config", ["good", "broken"])
def test_basic_credentials_fragment_and_non_ascii_path(
    site: Site, certs: Certificates, tinyproxy_auth: str, config: str, scheme: str
) -> None:
    url = site.url(config, scheme) + "/d\u00e9j\u00e0 vu?q=\u00fc#section"
    url = url.replace(" ", "%20")
    _, direct, _ = audit(url, certs)
    with_credentials = tinyproxy_auth.replace("://", f"://{USER}:{PASSWORD}@")
    _, proxied, output = audit(url, certs, "--proxy", with_credentials)
    assert proxied["targets"][0]["errors"] == []
    assert comparable(proxied) == comparable(direct)
    assert findings(proxied) == EXPECTED[config]
    assert_went_through(proxied, scheme, "tinyproxy")
    token = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    assert PASSWORD not in output
    assert token not in output


def test_proxy_without_credentials_is_a_proxy_error(
    site: Site, certs: Certificates, tinyproxy_auth: str
) -> None:
    """The proxy's 407 is never judged as the target's answer."""
    code, report, _ = audit(site.url("broken", "http"), certs, "--proxy", tinyproxy_auth)
    (error,) = report["targets"][0]["errors"]
    assert error["kind"] == "proxy"
    assert "407" in error["message"]
    assert findings(report) == []
    assert code == 3


@pytest.mark.parametrize("scheme", ["http", "https"])
@pytest.mark.parametrize("proxy_name", ["tinyproxy", "squid"])
def test_unreachable_target_through_proxy(
    request: pytest.FixtureRequest, certs: Certificates, proxy_name: str, scheme: str
) -> None:
    """The proxy's own error page (squid's 503, tinyproxy's 500) is an error, never evidence."""
    proxy = request.getfixturevalue(proxy_name)
    (port,) = real_servers.free_ports(1)
    code, report, _ = audit(f"{scheme}://127.0.0.1:{port}/api", certs, "--proxy", proxy)
    (error,) = report["targets"][0]["errors"]
    assert error["kind"] == "proxy", error
    assert findings(report) == []
    assert code == 3


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_probe_through_proxy(site: Site, certs: Certificates, tinyproxy: str, scheme: str) -> None:
    """`probe --proxy`: the browser's verdict through the proxy equals the direct one."""
    environ: dict[str, str | None] = dict.fromkeys(PROXY_VARIABLES)
    environ["SSL_CERT_FILE"] = str(certs.ca)
    verdicts = []
    for extra in ([], ["--proxy", tinyproxy]):
        result = CliRunner().invoke(
            app,
            [
                *("probe", site.url("good", scheme), "--origin", real_servers.ALLOWED, "-X", "PUT"),
                *("-H", "Content-Type: application/json", "--credentials", "--format", "json"),
                *extra,
            ],
            env=environ,
        )
        assert result.exit_code == 0, result.output
        verdicts.append(json.loads(result.stdout)["browser"])
    assert verdicts[0] == verdicts[1]
    assert verdicts[1]["allowed"] is True
    assert verdicts[1]["preflight"] is True

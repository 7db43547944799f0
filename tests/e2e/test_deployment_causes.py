"""Deployment causes, end to end (issue 24): real nginx (proxy_cache, limit_req, a dead upstream, a
trailing-slash redirect, an OPTIONS rule that needs Access-Control-Request-Headers) in front of a
loopback app, and FastAPI apps deployed the ways that break CORS. Each finding names the cause, not
an allow-list, and headless Chromium confirms the front-end is refused as the finding says.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from corscheck.audit import audit
from corscheck.cli import app as cli
from corscheck.config import AuditConfig
from corscheck.demo import HeaderLines, serve_routes
from corscheck.policy import build_policy
from corscheck.report.model import TargetReport
from corscheck.target import Target
from corscheck.transport.options import RunOptions
from tests.e2e.headless import CHROMIUM, FETCH_JS, launch
from tests.e2e.real_servers import binary, free_ports, nginx_prelude, running, workdir

APP = "https://app.corscheck-lab.test"
ADMIN = "https://admin.corscheck-lab.test"
POLICY = build_policy(
    origins=[APP, ADMIN], methods=["GET", "PUT"], headers=["Content-Type"], credentials=True
)
POLICY_FLAGS = [
    *("--allow-origin", APP, "--allow-origin", ADMIN),
    *("--allow-method", "GET", "--allow-method", "PUT", "--allow-header", "Content-Type"),
    "--credentials",
]
LOCAL_NETWORK_WARN_ONLY = (
    "--enable-features=LocalNetworkAccessChecks:LocalNetworkAccessChecksWarn/true"
)


def _reflecting(vary: bool) -> Any:
    """The upstream app: each allowed front-end answered with its own grant; Vary: Origin or not."""

    def route(origin: str | None, preflight: bool) -> tuple[int, HeaderLines]:
        lines: HeaderLines = [("Vary", "Origin")] if vary else []
        if origin in (APP, ADMIN):
            lines += [("Access-Control-Allow-Origin", origin)]
            lines += [("Access-Control-Allow-Credentials", "true")]
            if preflight:
                lines += [("Access-Control-Allow-Methods", "GET, PUT")]
                lines += [("Access-Control-Allow-Headers", "Content-Type")]
        return 200, lines

    return route


_CORS = """
      add_header Vary Origin;
      add_header Access-Control-Allow-Origin $front_end;
      add_header Access-Control-Allow-Credentials $front_end_credentials;"""


@dataclass(frozen=True)
class Deployment:
    base: str
    directory: Path

    def url(self, location: str) -> str:
        return f"{self.base}/{location}/api/items"


@contextmanager
def nginx_deployment() -> Iterator[Deployment]:
    """nginx on one loopback port, a location per way of deploying the same upstream app."""
    exe = binary("nginx", "/usr/sbin/nginx")
    routes = {
        f"/{location}/api/items": _reflecting(vary=location != "cache-novary")
        for location in (
            "cache-novary",
            "cache-vary",
            "limit503",
            "limit429",
            "limitslow",
            "redirect",
            "detect",
            "scoped",
        )
    }
    routes["/redirect/api/items/"] = _reflecting(vary=True)
    with serve_routes(routes) as upstream:
        directory = workdir()
        (port,) = free_ports(1)
        dead = free_ports(1)[0]  # nothing listens there: a dead upstream
        config = f"""
{nginx_prelude(directory)}
  proxy_cache_path {directory}/cache keys_zone=api:1m;
  limit_req_zone $server_port zone=audit:1m rate=10r/s;
  limit_req_zone $server_port zone=slow:1m rate=1r/m;
  map $http_origin $front_end {{ "{APP}" $http_origin; "{ADMIN}" $http_origin; default ""; }}
  map $front_end $front_end_credentials {{ "" ""; default "true"; }}
  map "$request_method:$http_access_control_request_headers" $not_a_preflight {{
    "OPTIONS:" 1;
    default 0;
  }}
  server {{
    listen 127.0.0.1:{port};
    location /cache-novary/ {{
      proxy_pass {upstream};
      proxy_cache api;
      proxy_cache_valid 200 10m;
      add_header X-Cache-Status $upstream_cache_status;
    }}
    location /cache-vary/ {{
      proxy_pass {upstream};
      proxy_cache api;
      proxy_cache_valid 200 10m;
      add_header X-Cache-Status $upstream_cache_status;
    }}
    location /limit503/ {{ limit_req zone=audit; proxy_pass {upstream}; }}
    location /limit429/ {{ limit_req zone=audit; limit_req_status 429; proxy_pass {upstream}; }}
    location /limitslow/ {{
      access_log {directory}/slow.log;
      limit_req zone=slow;
      limit_req_status 429;
      proxy_pass {upstream};
    }}
    location = /redirect/api/items {{ return 301 /redirect/api/items/; }}
    location /redirect/ {{ proxy_pass {upstream}; }}
    location /detect/ {{
      if ($not_a_preflight) {{ return 405; }}
      proxy_pass {upstream};
    }}
    location = /scoped/api/items {{ proxy_pass {upstream}; }}
    location /scoped/ {{ default_type application/json; return 200 "[]"; }}
    location /dead/ {{
      if ($request_method = OPTIONS) {{
        {_CORS.strip()}
        add_header Access-Control-Allow-Methods "GET, PUT";
        add_header Access-Control-Allow-Headers Content-Type;
        return 204;
      }}
      {_CORS.strip()}
      proxy_pass http://127.0.0.1:{dead};
    }}
  }}
}}
"""
        (directory / "nginx.conf").write_text(config)
        argv = [exe, "-c", str(directory / "nginx.conf"), "-p", str(directory)]
        with running(argv, [port], directory):
            yield Deployment(f"http://127.0.0.1:{port}", directory)


@pytest.fixture(scope="module")
def deployment() -> Iterator[Deployment]:
    with nginx_deployment() as running_nginx:
        yield running_nginx


def audited(url: str, depth: str = "standard") -> TargetReport:
    config = AuditConfig(
        (Target(url, POLICY),),
        depth=depth,
        options=RunOptions(trust_env=False),  # type: ignore[arg-type]
    )
    # Its own thread: Playwright's sync API keeps an event loop running in this one.
    with ThreadPoolExecutor(1) as thread:
        (target,) = thread.submit(audit, config).result().targets
    return target


def rule_ids(target: TargetReport) -> set[str]:
    return {f.rule.id for f in target.findings}


# --- the browser's word ----------------------------------------------------------------------------


class Chromium:
    """One headless Chromium with a page on each front-end origin; fetch() meets the real server."""

    def __init__(self) -> None:
        from playwright import sync_api

        from tests.e2e.headless import frame_on

        self._frame_on = frame_on
        self._pw, self._browser = launch(sync_api, (LOCAL_NETWORK_WARN_ONLY,))
        self._context = self._browser.new_context()
        self._frames: dict[str, Any] = {}
        self.console: list[str] = []

    def fetch(
        self, origin: str, url: str, method: str = "GET", headers: Any = ()
    ) -> dict[str, Any]:
        if origin not in self._frames:
            page = self._context.new_page()
            page.on("console", lambda message: self.console.append(message.text))
            self._context.new_cdp_session(page).send("Network.enable")
            self._frames[origin] = self._frame_on(page, origin)
        self.console.clear()
        lines = [list(line) for line in headers]
        result: dict[str, Any] = self._frames[origin].evaluate(
            FETCH_JS, [url, method, lines, "include", []]
        )
        result["console"] = list(self.console)
        return result

    def close(self) -> None:
        self._browser.close()
        self._pw.stop()


@pytest.fixture(scope="module")
def chromium() -> Iterator[Chromium]:
    pytest.importorskip("playwright.sync_api")
    if CHROMIUM is None:
        pytest.skip("no Chromium on PATH (.ci/run installs it)")
    browser = Chromium()
    try:
        yield browser
    finally:
        browser.close()


def logged_lines(log: Path, agent: str, *, at_least: int) -> list[str]:
    """The access-log lines of `agent`'s requests. nginx writes a request's line after it has sent
    the answer, so a client can read the answer first: wait (bounded) until `at_least` are there."""
    lines: list[str] = []
    for _ in range(400):  # bounded: 20 s, far beyond nginx's lag even on a loaded machine
        lines = [line for line in log.read_text().splitlines() if agent in line]
        if len(lines) >= at_least:
            break
        time.sleep(0.05)
    return lines


def fresh(url: str) -> str:
    return f"{url}?replay={uuid.uuid4().hex}"


# --- shared caches ---------------------------------------------------------------------------------


def test_a_cache_without_vary_is_named_with_vary_origin_not_an_allow_list(
    deployment: Deployment, chromium: Chromium
) -> None:
    target = audited(deployment.url("cache-novary"))
    assert rule_ids(target) == {"cached-cors-answer"}, [f.message for f in target.findings]
    (finding,) = target.findings
    assert "nginx's proxy_cache serves one origin's CORS answer to another" in finding.message
    assert "X-Cache-Status" in finding.message
    assert finding.fix.startswith("Send Vary: Origin") and "proxy_cache_key" in finding.fix
    # Chromium: after a request from the other front-end is cached, this one is refused; alone,
    # on a fresh URL, it reads.
    url = fresh(deployment.url("cache-novary"))
    assert chromium.fetch(ADMIN, url)["ok"]
    refused = chromium.fetch(APP, url)
    assert not refused["ok"] and any(
        f"'{ADMIN}' that is not equal to the supplied origin" in line for line in refused["console"]
    ), refused
    assert chromium.fetch(APP, fresh(deployment.url("cache-novary")))["ok"]


def test_a_cache_mixing_origins_is_proved_by_replaying_the_sequence(deployment: Deployment) -> None:
    """--prove replays the cache trial in Chromium: the primer, then the front-end's fetch() of the
    same fresh URL, which the browser refuses as the finding says."""
    from corscheck.deliver import proven, settings_for
    from corscheck.prove.chromium import find_browser

    config = AuditConfig(
        (Target(deployment.url("cache-novary"), POLICY),),
        options=RunOptions(trust_env=False),
    )

    def audit_and_prove() -> TargetReport:
        report = proven(audit(config), settings_for(config, find_browser(None)), quiet=True)
        return report.targets[0]

    # Its own thread: the module's Chromium fixture keeps an event loop running in this one.
    with ThreadPoolExecutor(1) as thread:
        target = thread.submit(audit_and_prove).result()
    (finding,) = target.findings
    assert finding.rule.id == "cached-cors-answer" and finding.evidence.primer is not None
    proof = finding.proof
    assert proof is not None and proof.outcome == "blocked" and proof.agrees, proof
    assert "has been blocked by CORS policy" in proof.message, proof


def test_the_same_app_with_vary_behind_the_same_cache_has_no_finding(
    deployment: Deployment, chromium: Chromium
) -> None:
    target = audited(deployment.url("cache-vary"))
    assert target.findings == () and not target.errors
    url = fresh(deployment.url("cache-vary"))
    assert chromium.fetch(ADMIN, url)["ok"] and chromium.fetch(APP, url)["ok"]


# --- rate limiting ---------------------------------------------------------------------------------


@pytest.mark.parametrize("location", ["limit503", "limit429"])
def test_a_rate_limited_audit_slows_down_and_builds_nothing_on_the_limited_answers(
    deployment: Deployment, location: str
) -> None:
    target = audited(deployment.url(location))
    assert target.findings == () and not target.errors, [f.message for f in target.findings]
    (note,) = target.notes
    assert note.startswith("the server rate-limited the audit") and "slowed to" in note


def test_probe_behind_limit_req_sends_one_request_and_agrees_with_chromium(
    deployment: Deployment, chromium: Chromium
) -> None:
    """`probe` is one fetch(): behind nginx's limit_req (one request a minute here, so the zone is
    surely hot once a request has gone through) it sends its request once, judges the 429 as a page
    would, and Chromium's fetch() of the same URL is refused alike."""
    url = deployment.url("limitslow")
    log = deployment.directory / "slow.log"
    statuses = []
    for _ in range(5):  # bounded: until the zone refuses
        try:
            with urllib.request.urlopen(url, timeout=10) as answer:
                statuses.append(answer.status)
        except urllib.error.HTTPError as error:
            statuses.append(error.code)
        if statuses[-1] == 429:
            break
    assert statuses[-1] == 429, statuses
    args = ["probe", url, "--origin", APP, "--format", "json"]
    with ThreadPoolExecutor(1) as thread:
        result = thread.submit(CliRunner().invoke, cli, args).result()
    assert len(logged_lines(log, '"corscheck/', at_least=1)) == 1  # one request, no retry
    report = json.loads(result.stdout)
    assert report["browser"]["allowed"] is False
    assert report["browser"]["reason_id"] == "CHECK-ACAO-MISSING"
    assert any("rate-limited this request (429)" in n for n in report["browser"]["notes"])
    seen = chromium.fetch(APP, url)
    assert not seen["ok"] and any(
        "No 'Access-Control-Allow-Origin' header" in line for line in seen["console"]
    ), seen


# --- error responses, redirects, preflight detection -----------------------------------------------


def test_nginx_own_502_without_cors_names_nginx_and_add_header_always(
    deployment: Deployment, chromium: Chromium
) -> None:
    target = audited(f"{deployment.base}/dead/api/items")
    assert rule_ids(target) == {"error-without-cors"}, [f.message for f in target.findings]
    (finding,) = target.findings
    assert "was answered 502 without CORS headers, by nginx itself" in finding.message
    assert "always" in finding.fix
    result = chromium.fetch(APP, fresh(f"{deployment.base}/dead/api/items"))
    assert not result["ok"] and any(
        "No 'Access-Control-Allow-Origin' header" in line for line in result["console"]
    ), result


def test_a_redirected_preflight_is_its_own_finding_with_the_location(
    deployment: Deployment, chromium: Chromium
) -> None:
    url = deployment.url("redirect")
    target = audited(url)
    ids = rule_ids(target)
    assert "redirected-request" in ids and "allowed-method-refused" not in ids, ids
    finding = next(f for f in target.findings if f.rule.id == "redirected-request")
    assert "is redirected (301) to" in finding.message and "/redirect/api/items/" in finding.message
    assert finding.fix.startswith("The redirect only changes the trailing slash")
    result = chromium.fetch(APP, url, "PUT", [("Content-Type", "application/json")])
    assert not result["ok"] and any("Redirect is not allowed" in c for c in result["console"])


def test_a_server_that_needs_request_headers_to_see_a_preflight(
    deployment: Deployment, chromium: Chromium
) -> None:
    url = deployment.url("detect")
    target = audited(url)
    assert "preflight-not-recognised" in rule_ids(target), [f.message for f in target.findings]
    assert "allowed-method-refused" not in rule_ids(target)
    # Chromium: PUT with Content-Type: application/json passes; PUT alone (no
    # Access-Control-Request-Headers) fails its preflight.
    assert chromium.fetch(APP, url, "PUT", [("Content-Type", "application/json")])["ok"]
    refused = chromium.fetch(APP, url, "PUT")
    assert not refused["ok"] and any("preflight" in c for c in refused["console"]), refused


# --- FastAPI deployments ---------------------------------------------------------------------------


def cli_audit(path: str, app_spec: str, base: str, *extra: str) -> dict[str, Any]:
    args = ["audit", path, "--app", f"tests.e2e.deployment_apps:{app_spec}", "--base-url", base]
    argv = [*args, *POLICY_FLAGS, *extra, "--format", "json", "--fail-on", "never"]
    # Its own thread: Playwright's sync API keeps an event loop running in this one.
    with ThreadPoolExecutor(1) as thread:
        result = thread.submit(CliRunner().invoke, cli, argv).result()
    # 0, or 3 where every answer was an error (the target's error says so beside the findings).
    assert result.exit_code in (0, 3), result.output[-2000:]
    (target,) = json.loads(result.stdout)["targets"]
    return target  # type: ignore[no-any-return]


def test_a_route_that_raises_names_server_error_middleware() -> None:
    pytest.importorskip("fastapi")
    target = cli_audit("/api/boom", "raising", "https://api.corscheck-lab.test")
    rules = {f["rule"] for f in target["findings"]}
    assert "error-without-cors" in rules and "allowed-origin-refused" not in rules, rules
    finding = next(f for f in target["findings"] if f["rule"] == "error-without-cors")
    assert "500 without CORS headers, by Starlette's ServerErrorMiddleware" in finding["message"]
    assert "inside CORSMiddleware" in finding["fix"]


def test_a_healthy_route_finds_the_auth_middleware_401_and_notes_unhandled_500s() -> None:
    pytest.importorskip("fastapi")
    target = cli_audit(
        "/api/items",
        "authenticated",
        "https://api.corscheck-lab.test",
        "-H",
        "Authorization: Bearer corscheck-e2e-token",
    )
    (finding,) = [f for f in target["findings"] if f["rule"] == "error-without-cors"]
    assert "without its -H credentials was answered 401" in finding["message"]
    assert "authentication layer" in finding["message"]
    assert "ServerErrorMiddleware" in (target["stack"]["caveat"] or "")


def test_an_https_api_redirecting_to_http_is_mixed_content_and_still_audited() -> None:
    pytest.importorskip("fastapi")
    target = cli_audit("/api/items/", "behind_proxy", "https://api.corscheck-lab.test")
    assert target["errors"] == []
    finding = next(f for f in target["findings"] if f["rule"] == "mixed-content")
    assert "redirects (307) to http://api.corscheck-lab.test/api/items" in finding["message"]
    assert "X-Forwarded-Proto" in finding["fix"]


def test_an_http_api_on_a_public_name_judged_as_is_is_mixed_content_for_https_front_ends() -> None:
    pytest.importorskip("fastapi")
    target = cli_audit("/api/items", "raising", "http://api.corscheck-lab.test", "--as-is")
    rules = {f["rule"] for f in target["findings"]}
    assert "mixed-content" in rules and "allowed-origin-refused" not in rules, rules
    assert target["url"] == "http://api.corscheck-lab.test/api/items" and "given_url" not in target


def test_an_http_api_on_a_public_name_is_judged_as_its_https_deployment() -> None:
    """By default the http URL stands for the production https API: no mixed content, and the
    report names both URLs (deployment.py)."""
    pytest.importorskip("fastapi")
    target = cli_audit("/api/items", "raising", "http://api.corscheck-lab.test")
    rules = {f["rule"] for f in target["findings"]}
    assert "mixed-content" not in rules, rules
    assert target["url"] == "https://api.corscheck-lab.test/api/items"
    assert target["given_url"] == "http://api.corscheck-lab.test/api/items"


def test_a_spelling_of_the_path_outside_an_nginx_location_is_out_of_scope(
    deployment: Deployment, chromium: Chromium
) -> None:
    url = deployment.url("scoped")
    assert audited(url).findings == ()  # the path as written is fine
    target = audited(url, "thorough")
    by_rule = {f.rule.id: f for f in target.findings}
    assert set(by_rule) == {"path-outside-cors-scope", "error-without-cors"}, by_rule
    assert by_rule["path-outside-cors-scope"].message.startswith(f"{url}/ is served (200)")
    assert by_rule["error-without-cors"].severity == "low"  # /SCOPED/…: nginx's own 404
    assert chromium.fetch(APP, fresh(url))["ok"]
    assert not chromium.fetch(APP, url + "/")["ok"]

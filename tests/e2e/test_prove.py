"""--prove and --poc against real apps and a real headless Chromium (issue 25).

Each app runs under uvicorn on 127.0.0.1, over http and over https (a test CA the audit trusts
through SSL_CERT_FILE; the browser is told to trust the target's key exactly as far as corscheck's
own TLS check does). corscheck audits it over the network, then replays every finding in Chromium:
the over-permissive ones must be proved "read", the under-permissive ones "blocked" with Chromium's
own console message, and a finding whose request is unsafe is "unprovable" without --send-unsafe
and proved with it. No proof may disagree with corscheck.

Also here: what reaches each server while proving (only requests the audit sent, only proof pages),
the browser's fence (nothing else resolves), the PoC pages opened in Chromium with the visitor's
cookie, and the one line and exit code 2 without a browser.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
import trustme
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from starlette.responses import JSONResponse

from corscheck.audit import run_config
from corscheck.config import AuditConfig, Flags, PolicyFlags, resolve
from corscheck.deliver import proven, settings_for, write_pocs
from corscheck.evaluate import Finding
from corscheck.prove import run as prove_run
from corscheck.prove.certs import throwaway_certificate
from corscheck.prove.chromium import BrowserSetup, Chromium, host_rules
from corscheck.prove.poc import poc_pages
from corscheck.prove.server import PAGE_PREFIX, PageServer
from corscheck.report.model import Report
from corscheck.runner import run_async
from corscheck.visitor import parse_cookie
from tests import required

from .servers import serve_asgi

pytestmark = [pytest.mark.chromium]
CHROMIUM = required.chromium(module_level=True)
required.playwright_sync_api(module_level=True)

PATH = "/api/items"
SESSION_SECRET = "s3ss10n-canary-77"
# FastAPI's CORS guide (https://fastapi.tiangolo.com/tutorial/cors/) lists these origins.
GUIDE_ORIGINS = [
    "http://localhost.tiangolo.com",
    "https://localhost.tiangolo.com",
    "http://localhost",
    "http://localhost:8080",
]
FRONTENDS = ["http://localhost:3000", "http://localhost:8080"]
EVERYTHING = {"allow_methods": ["*"], "allow_headers": ["*"]}


@dataclass(frozen=True)
class App:
    id: str
    cors: dict[str, Any]
    policy: PolicyFlags
    expected: frozenset[str]  # rule ids the audit must report (so that something is proved)


APPS = [
    App(
        "guide-a-list-credentials",
        {"allow_origins": GUIDE_ORIGINS, "allow_credentials": True, **EVERYTHING},
        PolicyFlags(
            origins=tuple(GUIDE_ORIGINS),
            methods=("GET", "POST"),
            headers=("Content-Type", "Authorization"),
            credentials=True,
        ),
        frozenset({"header-beyond-policy", "method-beyond-policy"}),
    ),
    App(
        "guide-b-wildcard",
        {"allow_origins": ["*"], **EVERYTHING},
        PolicyFlags(origins=tuple(FRONTENDS), methods=("GET", "POST"), headers=("Content-Type",)),
        frozenset({"any-origin", "header-beyond-policy", "method-beyond-policy"}),
    ),
    App(
        "guide-c-wildcard-credentials",
        {"allow_origins": ["*"], "allow_credentials": True, **EVERYTHING},
        PolicyFlags(
            origins=tuple(FRONTENDS),
            methods=("GET", "POST"),
            headers=("Content-Type",),
            credentials=True,
        ),
        frozenset({"any-origin-with-credentials"}),
    ),
    App(
        "guide-d-regex",
        {"allow_origin_regex": r"https://.*\.example\.org", "allow_methods": ["GET"]},
        PolicyFlags(origins=("https://app.example.org", "https://admin.example.com")),
        frozenset({"allowed-origin-refused"}),
    ),
    App(
        # Starlette's defaults (allow_methods=("GET",), no allow_headers) behind a front-end that
        # POSTs JSON: its preflight is refused.
        "starlette-defaults-json-post",
        {"allow_origins": ["http://localhost:3000"], "allow_credentials": True},
        PolicyFlags(
            origins=("http://localhost:3000",),
            methods=("GET", "POST"),
            headers=("Content-Type",),
            credentials=True,
        ),
        frozenset({"allowed-method-refused"}),
    ),
    App(
        "every-subdomain",
        {
            "allow_origin_regex": r"https://.*\.example\.com",
            "allow_credentials": True,
            "allow_methods": ["GET", "POST"],
        },
        PolicyFlags(origins=("https://app.example.com",), credentials=True),
        frozenset({"untrusted-origin"}),
    ),
    App(
        # "null" listed as if it were an origin: a sandboxed iframe's page reads with cookies.
        "null-listed",
        {
            "allow_origins": ["https://app.example.com", "null"],
            "allow_credentials": True,
            "allow_methods": ["GET"],
        },
        PolicyFlags(origins=("https://app.example.com",), credentials=True),
        frozenset({"null-origin"}),
    ),
]


class Recorder:
    """What an app received: (method, Origin, whether a preflight, Cookie), from the server's
    threads."""

    def __init__(self) -> None:
        self.hits: list[tuple[str, str, bool, str]] = []
        self.via: list[str] = []  # the Via lines of requests that came through a proxy
        self._lock = threading.Lock()

    def add(self, hit: tuple[str, str, bool, str]) -> None:
        with self._lock:
            self.hits.append(hit)

    def since(self, start: int) -> list[tuple[str, str, bool, str]]:
        with self._lock:
            return list(self.hits[start:])


def fastapi_app(cors: dict[str, Any], recorder: Recorder) -> Callable[..., Any]:
    app = FastAPI()
    app.add_middleware(CORSMiddleware, **cors)  # type: ignore[arg-type]

    @app.api_route(PATH, methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"])
    def items() -> JSONResponse:
        return JSONResponse({"items": [1, 2, 3]}, headers={"X-Request-Id": "1"})

    async def recorded(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
            preflight = "access-control-request-method" in headers
            hit = (scope["method"], headers.get("origin", ""), preflight, headers.get("cookie", ""))
            recorder.add(hit)
            if "via" in headers:
                recorder.via.append(headers["via"])
        await app(scope, receive, send)

    return recorded


@pytest.fixture(scope="module")
def tls() -> Iterator[tuple[str, str]]:
    """A test CA the audit trusts (SSL_CERT_FILE) and a certificate for 127.0.0.1 it issued."""
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1")
    with tempfile.TemporaryDirectory(prefix="corscheck-prove-tls-") as folder:
        cert_file, key_file, ca_file = (f"{folder}/{n}.pem" for n in ("cert", "key", "ca"))
        cert.private_key_and_cert_chain_pem.write_to_path(cert_file)
        cert.private_key_pem.write_to_path(key_file)
        ca.cert_pem.write_to_path(ca_file)
        before = os.environ.get("SSL_CERT_FILE")
        os.environ["SSL_CERT_FILE"] = ca_file
        try:
            yield cert_file, key_file
        finally:
            if before is None:
                del os.environ["SSL_CERT_FILE"]
            else:
                os.environ["SSL_CERT_FILE"] = before


def audited(url: str, policy: PolicyFlags, **flags: Any) -> tuple[AuditConfig, Report]:
    config = resolve(Flags(policy=policy, **flags), [url])
    return config, run_async(run_config(config))


def prove(config: AuditConfig, report: Report) -> Report:
    return proven(report, settings_for(config, CHROMIUM), quiet=True)


def findings(report: Report) -> list[Finding]:
    return [f for t in report.targets for f in t.findings]


def check_proofs(report: Report, send_unsafe: bool) -> None:
    """Every finding proved as corscheck claims it, Chromium's message on each block."""
    for finding in findings(report):
        proof = finding.proof
        assert proof is not None, finding.rule.id
        where = f"{finding.rule.id} from {finding.evidence.origin}: {proof.summary()}"
        assert proof.agrees is not False, where
        unsafe = finding.evidence.method not in ("GET", "HEAD")
        if unsafe and not send_unsafe:
            assert proof.outcome == "unprovable" and "--send-unsafe" in proof.reason, where
            continue
        if finding.rule.direction == "over-permissive":
            assert proof.outcome == "read" and proof.agrees, where
            assert proof.browser.startswith(("Chromium ", "Chrome ")), where
            assert proof.status == 200 and proof.bytes_read > 0, where
        elif finding.rule.direction == "under-permissive":
            assert proof.outcome == "blocked" and proof.agrees, where
            if finding.rule.id != "exposed-header-missing":
                assert "has been blocked by CORS policy" in proof.message, where
            assert proof.bytes_read == 0 and not proof.preview, where


@pytest.mark.parametrize("scheme", ["http", "https"])
@pytest.mark.parametrize("app", APPS, ids=[a.id for a in APPS])
def test_every_finding_is_proved_as_claimed(app: App, scheme: str, tls: tuple[str, str]) -> None:
    recorder = Recorder()
    with serve_asgi(fastapi_app(app.cors, recorder), tls if scheme == "https" else None) as base:
        config, report = audited(base + PATH, app.policy)
        assert app.expected <= {f.rule.id for f in findings(report)}, findings(report)
        check_proofs(prove(config, report), send_unsafe=False)


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_unsafe_requests_are_proved_with_send_unsafe(scheme: str, tls: tuple[str, str]) -> None:
    app = next(a for a in APPS if a.id == "starlette-defaults-json-post")
    recorder = Recorder()
    with serve_asgi(fastapi_app(app.cors, recorder), tls if scheme == "https" else None) as base:
        config, report = audited(base + PATH, app.policy, send_unsafe=True)
        proved = prove(config, report)
    refused = [f for f in findings(proved) if f.rule.id == "allowed-method-refused"]
    assert refused and all(f.evidence.method == "POST" for f in refused)
    check_proofs(proved, send_unsafe=True)
    assert all(f.proof and f.proof.outcome == "blocked" for f in refused)


def test_the_third_party_cookie_profiles_are_played_as_such() -> None:
    """A cross-site credentialed read carries the visitor's cookie in chrome, as the finding
    claims; the same request played in chrome-no-3pc (the profile's Preferences block third-party
    cookies) goes without it, so there the claim is disproved. In chrome-no-3pc's own audit the
    finding claims a read without cookies, and that is proved."""
    app = next(a for a in APPS if a.id == "every-subdomain")
    with serve_asgi(fastapi_app(app.cors, Recorder())) as base:
        config, report = audited(base + PATH, app.policy, browsers=("chrome",))
        in_chrome = prove(config, report)
        settings = settings_for(config, CHROMIUM)
        no_3pc = replace(settings, visitor=replace(config.visitor, profiles=("chrome-no-3pc",)))
        replayed_without = proven(report, no_3pc, quiet=True)
        own_config, own_report = audited(base + PATH, app.policy, browsers=("chrome-no-3pc",))
        own = prove(own_config, own_report)
    check_proofs(in_chrome, send_unsafe=False)
    (read,) = [f.proof for f in findings(in_chrome) if f.rule.id == "untrusted-origin"]
    assert read is not None and read.cookies == ("__corscheck_session",) and read.agrees
    (blocked,) = [f.proof for f in findings(replayed_without) if f.rule.id == "untrusted-origin"]
    assert blocked is not None and blocked.outcome == "read" and blocked.cookies == ()
    assert blocked.agrees is False and blocked.profile == "chrome-no-3pc"
    check_proofs(own, send_unsafe=False)
    assert all(f.proof and f.proof.profile == "chrome-no-3pc" for f in findings(own))


def test_firefox_findings_are_unprovable_and_start_no_browser(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(prove_run, "Chromium", None)  # starting one would fail the test
    app = next(a for a in APPS if a.id == "guide-c-wildcard-credentials")
    with serve_asgi(fastapi_app(app.cors, Recorder())) as base:
        config, report = audited(base + PATH, app.policy, browsers=("firefox",))
        proved = prove(config, report)
    proofs = [f.proof for f in findings(proved)]
    assert proofs and all(p and p.outcome == "unprovable" for p in proofs)
    assert all(p and "cannot play the firefox profile" in p.reason for p in proofs)


def test_a_target_trusted_only_with_insecure_is_trusted_as_far_by_the_browser(
    tmp_path: Path,
) -> None:
    """A certificate no store trusts: the audit reads it with --insecure, and so does the browser
    (its key pinned); without --insecure the audit cannot connect and nothing is proved."""
    cert = trustme.CA().issue_cert("127.0.0.1")  # a CA nobody trusts
    cert_file, key_file = str(tmp_path / "cert.pem"), str(tmp_path / "key.pem")
    cert.private_key_and_cert_chain_pem.write_to_path(cert_file)
    cert.private_key_pem.write_to_path(key_file)
    app = next(a for a in APPS if a.id == "guide-c-wildcard-credentials")
    with serve_asgi(fastapi_app(app.cors, Recorder()), (cert_file, key_file)) as base:
        config, report = audited(base + PATH, app.policy, insecure=True)
        proved = prove(config, report)
        _, refused = audited(base + PATH, app.policy)
    check_proofs(proved, send_unsafe=False)
    assert any(f.proof and f.proof.outcome == "read" for f in findings(proved))
    assert refused.targets[0].errors and not findings(refused)


def test_prove_reads_a_json_report_and_writes_its_proofs(tmp_path: Path) -> None:
    """`corscheck prove REPORT.json`: the proofs in the JSON (valid against the schema), the exit
    code of the report; a report of a visitor with cookies needs them again."""
    import json

    import jsonschema
    from typer.testing import CliRunner

    from corscheck.cli import app as cli

    schema = json.loads(
        (Path(__file__).parents[2] / "corscheck" / "data" / "report.schema.json").read_text()
    )
    app = next(a for a in APPS if a.id == "guide-c-wildcard-credentials")
    runner = CliRunner()
    with serve_asgi(fastapi_app(app.cors, Recorder())) as base:
        first = runner.invoke(cli, ["audit", base + PATH, "-o", str(tmp_path / "r.json"), "-q"])
        assert first.exit_code == 1, first.output
        proved = runner.invoke(
            cli,
            ["prove", str(tmp_path / "r.json"), "-f", "json", "--browser-path", CHROMIUM, "-q"],
        )
        assert proved.exit_code == 1, proved.output
        data = json.loads(proved.stdout)
        jsonschema.validate(data, schema)
        proofs = [f["proof"] for t in data["targets"] for f in t["findings"]]
        assert proofs and all(p["outcome"] == "read" and p["agrees"] for p in proofs)
        assert data["summary"]["proofs"] == {"proved": len(proofs), "disproved": 0, "unprovable": 0}
        cookie = f"session={SESSION_SECRET}; SameSite=None; Secure"
        runner.invoke(
            cli, ["audit", base + PATH, "--cookie", cookie, "-o", str(tmp_path / "c.json"), "-q"]
        )
        assert SESSION_SECRET not in (tmp_path / "c.json").read_text()
        again = runner.invoke(cli, ["prove", str(tmp_path / "c.json"), "-q"])
        assert again.exit_code == 2 and "give them again with --cookie" in again.output
        given = runner.invoke(cli, ["prove", str(tmp_path / "c.json"), "--cookie", cookie, "-q"])
        assert given.exit_code == 1 and "proved in Chromium" in given.stdout
        assert SESSION_SECRET not in given.stdout


def test_the_request_without_its_h_credentials_is_replayed_without_them() -> None:
    """Authentication outside CORS: the error-path request that drops -H Authorization gets a 401
    without CORS headers. Its replay goes without that header too, and is blocked, as claimed.
    The other requests carried it on every request, preflights included, as a gateway would: they
    go through the header relay, which adds it, and are proved as claimed too."""
    from tests.e2e import deployment_apps

    # The policy grants no credentials and wants a header the app refuses: a read and a refusal,
    # both of requests that carried the -H header.
    policy = PolicyFlags(
        origins=tuple(deployment_apps.FRONT_ENDS),
        methods=("GET", "PUT"),
        headers=("Content-Type", "X-Trace"),
        credentials=False,
    )
    header = "Authorization: Bearer corscheck-e2e-token"
    with serve_asgi(deployment_apps.authenticated) as base:
        config, report = audited(
            base + "/api/items", policy, headers=(("Authorization", header.split(": ")[1]),)
        )
        proved = prove(config, report)
    (refused,) = [f for f in findings(proved) if f.rule.id == "error-without-cors"]
    assert refused.evidence.withheld == ("Authorization",)
    assert refused.proof is not None and refused.proof.outcome == "blocked", refused.proof
    assert refused.proof.agrees and "has been blocked by CORS policy" in refused.proof.message
    others = {f.rule.id: f.proof for f in findings(proved) if f is not refused}
    assert {"credentials-beyond-policy", "allowed-header-refused"} <= set(others), others
    assert all(p and p.outcome != "unprovable" for p in others.values()), others
    check_proofs(proved, send_unsafe=False)


def test_the_header_relay_adds_the_headers_and_reaches_only_the_targets() -> None:
    from corscheck.prove.relay import HeaderRelay

    outside_seen = Recorder()
    app = {"allow_origins": ["*"]}
    heard: list[dict[str, str]] = []

    async def echo(scope: Any, receive: Any, send: Any) -> None:
        heard.append({k.decode().lower(): v.decode() for k, v in scope["headers"]})
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"heard"})

    with (
        serve_asgi(echo) as target,
        serve_asgi(fastapi_app(app, outside_seen)) as outside,
        PageServer(throwaway_certificate()) as pages,
        HeaderRelay(
            (("Authorization", "Bearer t"),),
            {target.removeprefix("http://")},
            pages.cert_file,
            pages.key_file,
            insecure=False,
            timeout=5,
        ) as relay,
    ):
        host, port = relay.where.split(":")

        def through_relay(url: str, extra: str = "") -> bytes:
            with socket.create_connection((host, int(port)), timeout=5) as conn:
                conn.sendall(f"GET {url} HTTP/1.1\r\nHost: x\r\n{extra}\r\n".encode())
                chunks = []
                while chunk := conn.recv(65536):
                    chunks.append(chunk)
                return b"".join(chunks)

        answer = through_relay(target + PATH, "Origin: https://a.example\r\nAuthorization: old\r\n")
        refused = through_relay(outside + PATH)
    assert answer.startswith(b"HTTP/1.1 200") and b"\r\nheard\r\n" in answer
    assert refused.startswith(b"HTTP/1.1 403") and not outside_seen.since(0)
    # The -H header replaces the request's own; the rest goes as the browser sent it.
    ((headers,),) = [heard]
    assert headers["authorization"] == "Bearer t" and headers["origin"] == "https://a.example"
    assert headers["connection"] == "close"


def test_proving_sends_only_what_the_audit_sent_and_serves_only_proof_pages(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    app = next(a for a in APPS if a.id == "guide-c-wildcard-credentials")
    recorder = Recorder()
    servers: list[PageServer] = []

    class Watched(PageServer):
        def close(self) -> None:
            servers.append(self)
            self.final = self.requests()
            super().close()

    monkeypatch.setattr(prove_run, "PageServer", Watched)
    with serve_asgi(fastapi_app(app.cors, recorder)) as base:
        config, report = audited(base + PATH, app.policy)
        audit_requests = recorder.since(0)
        proved = prove(config, report)
        proof_requests = recorder.since(len(audit_requests))
    replayed = [f for f in findings(proved) if f.proof and f.proof.outcome != "unprovable"]
    assert replayed
    # Each replay is one fetch(): its preflight, if any, and its request; each as the audit sent it.
    assert 0 < len(proof_requests) <= 2 * len(replayed)
    assert set(proof_requests) <= set(audit_requests)
    assert all(hit[0] in ("GET", "HEAD", "OPTIONS") for hit in proof_requests)
    (server,) = servers
    pages = server.final
    assert len(pages) == len(replayed)
    assert all(path.startswith(PAGE_PREFIX) for _, path in pages)


def test_the_browser_goes_through_the_audits_proxy() -> None:
    from tests.e2e.real_servers import tinyproxy

    app = next(a for a in APPS if a.id == "guide-c-wildcard-credentials")
    recorder = Recorder()
    with tinyproxy() as proxy, serve_asgi(fastapi_app(app.cors, recorder)) as base:
        config, report = audited(base + PATH, app.policy, proxy=proxy)
        through_proxy = len(recorder.via)
        assert through_proxy == len(recorder.since(0)) > 0  # the audit: every request proxied
        proved = prove(config, report)
        replayed = [f for f in findings(proved) if f.proof and f.proof.outcome == "read"]
        assert replayed
        assert len(recorder.via) == len(recorder.since(0)) > through_proxy
    check_proofs(proved, send_unsafe=False)


def test_ctrl_c_stops_the_browser_and_the_page_server(monkeypatch: pytest.MonkeyPatch) -> None:
    """A Ctrl-C in the middle of the proofs: the browser process, its throwaway profile and the
    page server are all gone once it has propagated."""
    started: list[Chromium] = []
    servers: list[PageServer] = []

    class Interrupted(Chromium):
        def __init__(self, setup: BrowserSetup) -> None:
            super().__init__(setup)
            started.append(self)

        def visit(self, *args: Any, **kwargs: Any) -> Any:
            raise KeyboardInterrupt

    class Watched(PageServer):
        def __init__(self, *args: Any) -> None:
            super().__init__(*args)
            servers.append(self)

    monkeypatch.setattr(prove_run, "Chromium", Interrupted)
    monkeypatch.setattr(prove_run, "PageServer", Watched)
    app = next(a for a in APPS if a.id == "guide-c-wildcard-credentials")
    with serve_asgi(fastapi_app(app.cors, Recorder())) as base:
        config, report = audited(base + PATH, app.policy)
        with pytest.raises(KeyboardInterrupt):
            prove(config, report)
    (browser,) = started
    (server,) = servers
    profile = browser._folder.name
    assert not Path(profile).exists()
    assert not any(profile in line for line in _command_lines()), "the browser still runs"
    for port in (server.port("http"), server.port("https")):
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", port), timeout=2).close()


def _command_lines() -> list[str]:
    lines = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                lines.append((entry / "cmdline").read_bytes().replace(b"\0", b" ").decode())
            except OSError:
                continue
    return lines


def test_every_finding_of_the_demo_is_proved() -> None:
    """`corscheck demo --prove`: the bundled API's findings, every one Chromium can play, proved."""
    import json

    from typer.testing import CliRunner

    from corscheck.cli import app as cli

    done = CliRunner().invoke(cli, ["demo", "--prove", "-f", "json", "--browser-path", CHROMIUM])
    assert done.exit_code == 0, done.output
    proofs = json.loads(done.stdout)["summary"]["proofs"]
    assert proofs["disproved"] == 0 and proofs["proved"] >= 14, proofs


def test_the_browser_reaches_nothing_but_the_mapped_pages_and_targets() -> None:
    """A page that tries a third server, by address and by name, reaches nothing."""
    sentinel = Recorder()
    seen_by_target = Recorder()
    with (
        serve_asgi(fastapi_app({"allow_origins": ["*"]}, sentinel)) as outside,
        serve_asgi(fastapi_app({"allow_origins": ["*"]}, seen_by_target)) as target,
        PageServer(throwaway_certificate()) as pages,
    ):
        outside_port = outside.rsplit(":", 1)[1]
        script = "".join(
            f"<script>fetch({url!r}).catch(() => null)</script>"
            for url in (outside + PATH, f"http://elsewhere.example:{outside_port}{PATH}")
        )
        path = pages.add(
            "fence",
            "<!doctype html>"
            + script
            + f"<script>fetch({target + PATH!r}).then(r => {{ window.corscheckResult = "
            "{resolved: true}; }, e => { window.corscheckResult = {resolved: false}; })</script>"
            '<pre id="corscheck-result"></pre>',
        )
        setup = BrowserSetup(
            executable=CHROMIUM,
            profile="chrome",
            host_rules=host_rules(
                {"page.example:80": pages.port("http")}, [target.removeprefix("http://")]
            ),
            spki=(),
        )
        with Chromium(setup) as browser:
            visit = browser.visit("http://page.example" + path)
    assert visit.result == {"resolved": True}
    assert seen_by_target.since(0) and not sentinel.since(0)


def test_poc_pages_read_the_response_in_chromium_with_the_visitors_cookie(
    tmp_path: Path,
) -> None:
    recorder = Recorder()
    cookie = f"session={SESSION_SECRET}; SameSite=None; Secure"
    app = next(a for a in APPS if a.id == "guide-c-wildcard-credentials")
    with serve_asgi(fastapi_app(app.cors, recorder)) as base:
        _, report = audited(base + PATH, PolicyFlags(), cookies=(cookie,))
        write_pocs(report, str(tmp_path))
        pocs = poc_pages(report)
        over = [f for f in report.findings() if f.rule.direction == "over-permissive"]
        assert pocs and len(pocs) == len(over)
        assert sorted(p.name for p in tmp_path.iterdir()) == [p.name for p in pocs]
        for file in tmp_path.iterdir():
            text = file.read_text()
            assert SESSION_SECRET not in text
            assert "Log in to the API in this browser" in text
        start = len(recorder.since(0))
        with PageServer(throwaway_certificate()) as pages:
            origins = {p.origin: p for p in pocs}
            mapped = {
                prove_run.host_port(prove_run.page_origin(o, base)): pages.port(
                    prove_run.page_origin(o, base).split(":")[0]
                )
                for o in origins
            }
            setup = BrowserSetup(
                executable=CHROMIUM,
                profile="chrome",
                host_rules=host_rules(mapped, [prove_run.host_port(base)]),
                spki=(pages.certificate.spki,),
                cookies=((base, parse_cookie(cookie)),),
            )
            with Chromium(setup) as browser:
                for poc in pocs:
                    path = pages.add(poc.name, (tmp_path / poc.name).read_text())
                    visit = browser.visit(prove_run.page_origin(poc.origin, base) + path)
                    assert visit.shown.startswith("READ: status 200"), (poc.name, visit.shown)
                    assert '"items":[1,2,3]' in visit.shown
    # The PoC's requests carried the visitor's cookie, as a triager's logged-in browser sends it.
    read_by_pocs = [hit for hit in recorder.since(start) if not hit[2]]
    assert len(read_by_pocs) == len(pocs)
    assert all(f"session={SESSION_SECRET}" in cookie for *_, cookie in read_by_pocs), read_by_pocs


@pytest.mark.parametrize(
    ("extra", "env_path"),
    [(["--browser-path", "/nonexistent/chromium"], None), ([], "empty")],
    ids=["missing-browser-path", "none-on-path"],
)
def test_without_a_browser_prove_is_one_line_and_exit_2(
    extra: list[str], env_path: str | None, tmp_path: Path
) -> None:
    env = dict(os.environ)
    if env_path:
        env["PATH"] = str(tmp_path)
    done = subprocess.run(
        [sys.executable, "-m", "corscheck", "audit", "http://127.0.0.1:9/", "--prove", *extra],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    assert "--browser-path" in lines[0] or "Chromium" in lines[0]
    assert not done.stdout


def test_a_browser_that_cannot_start_leaves_the_audit_whole(tmp_path: Path) -> None:
    """--prove with a "browser" that is no Chromium (a snap wrapper, /bin/ls): the audit's report,
    files and exit code stand, and one line says that no proof was made (issue 34)."""
    from typer.testing import CliRunner

    from corscheck.cli import app as cli
    from corscheck.demo import serve_demo

    report = tmp_path / "r.json"
    with serve_demo() as base:
        done = CliRunner().invoke(
            cli,
            ["audit", base + "/api/profile", "--depth", "quick", "--prove",
             "--browser-path", "/bin/ls", "-o", str(report)],
        )  # fmt: skip
    assert done.exit_code == 1, done.output  # the critical finding, as without --prove
    assert "internal error" not in done.output and "Traceback" not in done.output
    assert "no proof was made: the browser at /bin/ls did not start" in done.output
    assert "critical" in done.stdout
    findings = json.loads(report.read_text("utf-8"))["targets"][0]["findings"]
    assert findings and all("proof" not in f for f in findings)

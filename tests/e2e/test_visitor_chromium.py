"""The visitor's verdicts against headless Chromium (issue 23).

Each app of visitor_apps.py is served over TLS under uvicorn on its own host name (every name maps to
127.0.0.1 in the browser). Chromium logs in first, as a user would: a top-level visit to /login
sets the session cookie. Then pages on other origins fetch the API with credentials, in two
profiles: third-party cookies allowed (Chrome Stable, through the profile's Default/Preferences)
and blocked (Chromium builds, Incognito).

corscheck meets the same app in-process, with `--cookie` describing that session and `--browser`
naming the profile. For every request its probe must agree with Chromium: readable or not, the
status, whether the session cookie went, and the Fetch Metadata headers. For every over-permissive
finding of an audit, the evidence request must read in that Chromium profile, with the visitor's
cookie when the finding says credentials went.
"""

from __future__ import annotations

import json
import shutil
import socket
import tempfile
import threading
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest
import trustme

from corscheck.audit import run_config
from corscheck.browser import Probe
from corscheck.config import AuditConfig
from corscheck.probe import PROBE_OPTIONS, run_probe, visitor_probe
from corscheck.report.model import ProbeReport
from corscheck.runner import run_async
from corscheck.target import Target
from corscheck.transport.app import app_of
from corscheck.transport.options import RunOptions
from corscheck.visitor import Profile, Visitor, fetch_site, parse_cookie, visitor_of
from tests import required
from tests.e2e import visitor_apps
from tests.e2e.headless import FETCH_JS, LAUNCH_ARGS, frame_on

pytestmark = [pytest.mark.chromium]
CHROMIUM = required.chromium(module_level=True)
sync_api = required.playwright_sync_api(module_level=True)

SITE = "corscheck-lab.test"
APPS = ("cookie_branching", "fetch_metadata", "lax_session")
PLAYED: tuple[Profile, ...] = ("chrome", "chrome-no-3pc")
# Chromium's own switch for the profile: the Preferences a user's settings page writes.
THIRD_PARTY_COOKIES = {
    "chrome": {"cookie_controls_mode": 0, "block_third_party_cookies": False},
    "chrome-no-3pc": {"cookie_controls_mode": 1, "block_third_party_cookies": True},
}
# Pages on every kind of origin: cross-site, same-site (a sibling, the apex, another port), a
# scheme downgrade (cross-site, schemeful) and the opaque origin of a sandboxed iframe.
PAGE_ORIGINS = (
    "https://corscheck-attacker.example",
    f"https://app.{SITE}",
    f"https://{SITE}",
    f"https://app.{SITE}:8443",
    f"http://app.{SITE}",
    "null",
)
# A public page's fetch() of a loopback server needs a Local Network Access permission; here every
# name is served from 127.0.0.1, so the check only warns (the address space is not under test).
LOCAL_NETWORK_WARN_ONLY = (
    "--enable-features=LocalNetworkAccessChecks:LocalNetworkAccessChecksWarn/true"
)
TOKEN = "corscheck-visitor"
T = TypeVar("T")


@dataclass(frozen=True)
class Received:
    """One request an app received: its query (the replay's token) and the headers that matter."""

    method: str
    query: str
    headers: dict[str, str]
    path: str = ""


class Server:
    """One app of visitor_apps.py under uvicorn with TLS, recording what it receives."""

    def __init__(self, name: str, cert_file: str, key_file: str) -> None:
        import uvicorn

        self.name = name
        self.app = getattr(visitor_apps, name)
        self.host = f"{name.replace('_', '-')}.{SITE}"
        self.received: list[Received] = []
        self._lock = threading.Lock()
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self.base = f"https://{self.host}:{self._sock.getsockname()[1]}"
        config = uvicorn.Config(
            self._recorded,
            log_level="warning",
            lifespan="off",
            access_log=False,
            interface="asgi3",
            ssl_certfile=cert_file,
            ssl_keyfile=key_file,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._sock]}, daemon=True
        )
        self._thread.start()
        for _ in range(500):  # bounded wait for start-up
            if self._server.started:
                break
            threading.Event().wait(0.01)
        assert self._server.started, "uvicorn did not start"

    async def _recorded(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            wanted = {b"cookie", b"origin", b"sec-fetch-site", b"sec-fetch-mode", b"sec-fetch-dest"}
            headers = {k.decode(): v.decode() for k, v in scope["headers"] if k in wanted}
            with self._lock:
                query = scope["query_string"].decode()
                self.received.append(Received(scope["method"], query, headers, scope["path"]))
        await self.app(scope, receive, send)

    def matching(self, token: str) -> list[Received]:
        with self._lock:
            return [r for r in self.received if token in r.query]

    def close(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._sock.close()


@dataclass(frozen=True)
class Fetched:
    """What Chromium did with one fetch(): readable, its detail (status or error), what the app got."""

    readable: bool
    status: int | None
    requests: tuple[Received, ...]

    @property
    def actual(self) -> Received | None:
        return next((r for r in self.requests if r.method != "OPTIONS"), None)


class Browser:
    """Headless Chromium in one profile, logged in to every app."""

    def __init__(self, profile: Profile, servers: dict[str, Server]) -> None:
        self.profile = profile
        self._profile_dir = tempfile.mkdtemp(prefix="corscheck-chromium-")
        (Path(self._profile_dir) / "Default").mkdir()
        preferences = {"profile": THIRD_PARTY_COOKIES[profile]}
        (Path(self._profile_dir) / "Default" / "Preferences").write_text(json.dumps(preferences))
        self._pw = sync_api.sync_playwright().start()
        self._context = self._pw.chromium.launch_persistent_context(
            self._profile_dir,
            executable_path=CHROMIUM,
            args=[*LAUNCH_ARGS, LOCAL_NETWORK_WARN_ONLY],
            ignore_https_errors=True,
            headless=True,
        )
        self._frames: dict[str, Any] = {}
        login = self._context.new_page()
        for server in servers.values():
            login.goto(server.base + "/login")  # a top-level visit sets the session cookie
        login.close()

    def frame_on(self, origin: str) -> Any:
        if origin not in self._frames:
            self._frames[origin] = frame_on(self._context.new_page(), origin)
            assert str(self._frames[origin].evaluate("self.origin")) == origin
        return self._frames[origin]

    def fetch(self, server: Server, origin: str, path: str, credentials: str) -> Fetched:
        token = uuid.uuid4().hex
        url = f"{server.base}{path}?{TOKEN}={token}"
        result = self.frame_on(origin).evaluate(FETCH_JS, [url, "GET", [], credentials, []])
        status = int(result["detail"]) if result["ok"] else None
        return Fetched(bool(result["ok"]), status, tuple(server.matching(token)))

    def close(self) -> None:
        try:
            self._context.close()
            self._pw.stop()
        finally:
            shutil.rmtree(self._profile_dir, ignore_errors=True)


@pytest.fixture(scope="module")
def servers() -> Iterator[dict[str, Server]]:
    ca = trustme.CA()
    cert = ca.issue_cert(f"*.{SITE}", SITE)
    folder = tempfile.mkdtemp(prefix="corscheck-tls-")
    cert_file, key_file = f"{folder}/cert.pem", f"{folder}/key.pem"
    cert.private_key_and_cert_chain_pem.write_to_path(cert_file)
    cert.private_key_pem.write_to_path(key_file)
    try:
        started = {name: Server(name, cert_file, key_file) for name in APPS}
        yield started
        for server in started.values():
            server.close()
    finally:
        shutil.rmtree(folder, ignore_errors=True)  # a private key: never left behind (issue 34)


@pytest.fixture(scope="module", params=PLAYED)
def browser(request: pytest.FixtureRequest, servers: dict[str, Server]) -> Iterator[Browser]:
    played = Browser(request.param, servers)
    yield played
    played.close()


def visitor_for(server: Server, profile: Profile) -> Visitor:
    return visitor_of((parse_cookie(visitor_apps.COOKIES[server.name]),), (profile,))


def corscheck_probe(server: Server, origin: str, visitor: Visitor) -> ProbeReport:
    probe, _ = visitor_probe(
        Probe(url=f"{server.base}/api/me", origin=origin, method="GET", credentials="include"),
        visitor,
    )
    return off_the_browser_loop(
        lambda: run_async(
            run_probe(probe, PROBE_OPTIONS, app=app_of(server.app), base_url=server.base)
        )
    )


def off_the_browser_loop(work: Callable[[], T]) -> T:
    """`work` in a thread of its own: Playwright's sync API keeps an event loop running in this
    one, and corscheck runs its own."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(work).result(timeout=120)


def _session_sent(headers: dict[str, str]) -> bool:
    """Whether a request's headers (names in lower case) carry the apps' session cookie."""
    cookie = headers.get("cookie", "")
    return any(p.split("=", 1)[0] == visitor_apps.SESSION for p in cookie.split("; ") if p)


@pytest.mark.parametrize("app", APPS)
def test_probe_agrees_with_chromium_on_every_origin(
    app: str, browser: Browser, servers: dict[str, Server]
) -> None:
    server = servers[app]
    profile = browser.profile
    visitor = visitor_for(server, profile)
    disagreements = []
    for origin in PAGE_ORIGINS:
        chromium = browser.fetch(server, origin, "/api/me", "include")
        report = corscheck_probe(server, origin, visitor)
        hops = [h for h in report.exchange.hops if h.kind == "actual"]
        ours = hops[0] if hops else None
        sent = {n.lower(): v for n, v in ours.request.headers} if ours is not None else {}
        theirs = chromium.actual
        facts = {
            "readable": (report.verdict.allowed, chromium.readable),
            "status": (
                ours.response.status if ours and report.verdict.allowed else None,
                chromium.status,
            ),
            "session cookie sent": (
                ours is not None and _session_sent(sent),
                theirs is not None and _session_sent(theirs.headers),
            ),
        }
        if ours is not None and theirs is not None:
            for name in ("sec-fetch-site", "sec-fetch-mode", "sec-fetch-dest"):
                facts[name] = (sent.get(name), theirs.headers.get(name))
        disagreements += [
            f"{origin}: {fact}: corscheck {a!r}, Chromium {b!r}"
            for fact, (a, b) in facts.items()
            if a != b
        ]
    assert not disagreements, "\n".join(disagreements)


@pytest.mark.parametrize("app", APPS)
def test_every_over_permissive_finding_reads_in_chromium(
    app: str, browser: Browser, servers: dict[str, Server]
) -> None:
    server = servers[app]
    profile = browser.profile
    config = AuditConfig(
        targets=(Target(f"{server.base}/api/me", None),),
        options=RunOptions(),
        visitor=visitor_for(server, profile),
    )
    report = off_the_browser_loop(
        lambda: run_async(run_config(config, app=app_of(server.app), base_url=server.base))
    )
    findings = [f for f in report.findings() if f.rule.direction == "over-permissive"]
    assert findings, f"{app} in {profile}: expected a finding"
    if app == "cookie_branching":
        # Starlette <= 0.52 with allow_origins=["*"] and credentials: every site reads the user's
        # data in Chrome; where third-party cookies are blocked, only same-site pages do.
        (worst,) = [f for f in findings if f.rule.id == "any-origin-with-credentials"]
        assert worst.severity == ("critical" if profile == "chrome" else "high")
    else:
        # Behind Fetch Metadata or with a Lax session no cross-site page reads with the cookie.
        assert not any(e.cross_site for f in findings for e in f.exposure)
    for finding in findings:
        evidence = finding.evidence
        fetched = browser.fetch(server, evidence.origin, "/api/me", evidence.credentials)
        assert fetched.readable, f"{finding.rule.id}: {evidence.origin} does not read in Chromium"
        claims_cookie = "with credentials" in finding.message
        assert fetched.actual is not None
        assert _session_sent(fetched.actual.headers) is claims_cookie, finding.message
        cross_site = fetch_site(evidence.origin, server.base) == "cross-site"
        if finding.severity in ("critical", "high") and claims_cookie:
            # The claim that matters: this page reads the logged-in user's data.
            assert fetched.status == 200
            assert cross_site is (profile == "chrome" and app == "cookie_branching")


def test_a_path_with_encoded_dot_segments_is_sent_as_chromium_sends_it(
    browser: Browser, servers: dict[str, Server]
) -> None:
    """`/x/%2e%2e/api/me`: Chromium resolves the dot segments before sending, and so does corscheck
    (target.as_browsers_send), so both judge the answer of the same path (issue 24)."""
    from corscheck.target import validate_url

    server = servers["lax_session"]
    fetched = browser.fetch(server, f"https://app.{SITE}", "/x/%2e%2e/api/me", "include")
    assert fetched.actual is not None and fetched.actual.path == "/api/me"
    assert validate_url(f"{server.base}/x/%2e%2e/api/me") == f"{server.base}/api/me"

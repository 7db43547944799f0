"""Every over- and under-permissive finding of a real audit, replayed in headless Chromium.

Each app below runs for real on 127.0.0.1 and is audited with `corscheck.audit.audit` over
loopback HTTP. Then every finding whose rule is over-permissive or under-permissive is replayed:
its evidence request (origin, method, request headers with their values, credentials mode) becomes
a fetch() in Chromium from a page on exactly that origin, against the same target URL, and Chromium
must agree with the finding:

- over-permissive: the page can read (the fetch resolves); when corscheck judged an unsafe request
  on its preflight alone (the evidence is the preflight), the preflight passes: Chromium sends the
  actual request;
- under-permissive: the fetch rejects with a TypeError; refused at the preflight when the evidence
  is the preflight (the actual request never reaches the server);
- exposed-header-missing: the fetch resolves and the page reads null for the headers named.

Pages on arbitrary origins come from `page.route()`: the navigation to `<origin>/corscheck-page` is
fulfilled with a small HTML page and the route is removed before any fetch, so Playwright never sees
the fetch or its preflight (while a route is set, Playwright answers CORS preflights itself). Origin
`null` is a sandboxed iframe. Chromium reaches every host name on 127.0.0.1
(`--host-resolver-rules`), and Local Network Access is switched to warnings: the pages' made-up
public origins calling a loopback API are an artifact of the test, not of the apps. Each replay
carries a unique query parameter (the apps ignore queries) so the preflight cache never hides a
preflight, and the apps record what reached them, matched by that parameter.

Run: python3 -m pytest tests/e2e/test_chromium_findings.py -m chromium
"""

from __future__ import annotations

import re
import threading
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from flask import Flask
from flask_cors import CORS
from starlette.responses import JSONResponse

from corscheck import demo
from corscheck.audit import audit
from corscheck.config import AuditConfig
from corscheck.evaluate import Finding
from corscheck.headers import parse_origin
from corscheck.plan import Depth
from corscheck.policy import Policy, build_policy
from corscheck.report.model import Report
from corscheck.target import Target
from tests import required
from tests.e2e.headless import FETCH_JS, frame_on, launch

from .servers import serve_asgi, serve_wsgi

pytestmark = [pytest.mark.chromium]
required.chromium(module_level=True)
sync_api = required.playwright_sync_api(module_level=True)

REPLAYED = ("over-permissive", "under-permissive")
QUERY = "corscheck-replay"
LOCAL_NETWORK_WARN_ONLY = (
    "--enable-features=LocalNetworkAccessChecks:LocalNetworkAccessChecksWarn/true"
)


# --------------------------------------------------------------------------------------------------
# What reached the apps
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Hit:
    method: str
    target: str  # path and query
    preflight: bool


class Recorder:
    """The requests an app received, appended from its server's threads."""

    def __init__(self) -> None:
        self._hits: list[Hit] = []
        self._lock = threading.Lock()

    def add(self, method: str, target: str, preflight: bool) -> None:
        with self._lock:
            self._hits.append(Hit(method, target, preflight))

    def matching(self, token: str) -> list[Hit]:
        with self._lock:
            return [h for h in self._hits if token in h.target]


Serve = Callable[[Recorder], AbstractContextManager[str]]  # yields the base URL


def asgi(factory: Callable[[str], Any]) -> Serve:
    """Serves `factory(base URL)` under uvicorn, recording every request."""

    @contextmanager
    def serve(recorder: Recorder) -> Iterator[str]:
        built: dict[str, Any] = {}

        async def recorded(scope: Any, receive: Any, send: Any) -> None:
            if scope["type"] == "http":
                query = scope["query_string"].decode("latin-1")
                names = {name for name, _ in scope["headers"]}
                preflight = b"access-control-request-method" in names
                recorder.add(scope["method"], f"{scope['path']}?{query}", preflight)
            await built["app"](scope, receive, send)

        with serve_asgi(recorded) as base:
            built["app"] = factory(base)  # the app may name its own origin
            yield base

    return serve


def wsgi(factory: Callable[[], Any]) -> Serve:
    """Serves `factory()` under werkzeug, recording every request."""

    @contextmanager
    def serve(recorder: Recorder) -> Iterator[str]:
        app = factory()

        def recorded(environ: dict[str, Any], start_response: Any) -> Any:
            target = f"{environ.get('PATH_INFO', '')}?{environ.get('QUERY_STRING', '')}"
            preflight = "HTTP_ACCESS_CONTROL_REQUEST_METHOD" in environ
            recorder.add(environ["REQUEST_METHOD"], target, preflight)
            return app(environ, start_response)

        with serve_wsgi(recorded) as base:
            yield base

    return serve


@contextmanager
def serve_demo(recorder: Recorder) -> Iterator[str]:
    """corscheck's bundled demo API (corscheck/demo.py) as `corscheck demo` serves it, recorded.

    `log_request` also sees the 501 answered to methods the demo does not implement."""

    class Handler(demo._Handler):
        def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
            preflight = "Access-Control-Request-Method" in self.headers
            recorder.add(self.command, self.path, preflight)

    server = demo._Server(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


# --------------------------------------------------------------------------------------------------
# The apps
# --------------------------------------------------------------------------------------------------

API_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]


def fastapi_app(**cors: Any) -> Callable[[str], Any]:
    """The app of FastAPI's CORS guide (https://fastapi.tiangolo.com/tutorial/cors/)."""

    def factory(base: str) -> FastAPI:
        app = FastAPI()
        app.add_middleware(
            CORSMiddleware,  # type: ignore[arg-type]
            **{k: (v(base) if callable(v) else v) for k, v in cors.items()},
        )

        @app.api_route("/api/items", methods=API_METHODS)
        def items() -> JSONResponse:
            return JSONResponse({"items": []}, headers={"X-Request-Id": "1"})

        return app

    return factory


def flask_app(**cors: Any) -> Callable[[], Flask]:
    def factory() -> Flask:
        app = Flask(__name__)
        CORS(app, **cors)

        @app.route("/api/items", methods=API_METHODS)
        def items() -> Any:
            return {"items": []}, 200, {"X-Request-Id": "1"}

        return app

    return factory


def raw_asgi(decide: Callable[[str | None, bool], list[tuple[str, str]]]) -> Callable[[str], Any]:
    """A hand-written ASGI app: `decide(origin, preflight)` gives the CORS header lines."""

    def factory(base: str) -> Any:
        async def app(scope: Any, receive: Any, send: Any) -> None:
            headers = {
                n.decode("latin-1").lower(): v.decode("latin-1") for n, v in scope["headers"]
            }
            preflight = scope["method"] == "OPTIONS" and "access-control-request-method" in headers
            lines = decide(headers.get("origin"), preflight)
            body = b"" if preflight else b'{"items": []}'
            head = [("Content-Type", "application/json"), ("X-Request-Id", "1"), *lines]
            await send(
                {
                    "type": "http.response.start",
                    "status": 204 if preflight else 200,
                    "headers": [(n.encode(), v.encode()) for n, v in head],
                }
            )
            await send({"type": "http.response.body", "body": body})

        return app

    return factory


# A substring check: `origin in "https://a.example.com https://app.example.com"`.
SUBSTRING_LIST = "https://a.example.com https://app.example.com"


def substring_check(origin: str | None, preflight: bool) -> list[tuple[str, str]]:
    if not origin or origin not in SUBSTRING_LIST:
        return [("Vary", "Origin")]
    lines = [
        ("Access-Control-Allow-Origin", origin),
        ("Access-Control-Allow-Credentials", "true"),
        ("Vary", "Origin"),
    ]
    if preflight:
        lines += [
            ("Access-Control-Allow-Methods", "GET, POST"),
            ("Access-Control-Allow-Headers", "Content-Type"),
        ]
    return lines


# An exact allow-list that reflects the allowed origin with credentials, forgets Vary: Origin and
# does not expose X-Request-Id.
EXACT_LIST = ("https://app.example.com", "https://admin.example.com")


def exact_without_vary(origin: str | None, preflight: bool) -> list[tuple[str, str]]:
    if origin not in EXACT_LIST:
        return []
    lines = [("Access-Control-Allow-Origin", origin), ("Access-Control-Allow-Credentials", "true")]
    if preflight:
        lines += [
            ("Access-Control-Allow-Methods", "GET, POST"),
            ("Access-Control-Allow-Headers", "Content-Type"),
        ]
    return lines


# FastAPI's CORS guide lists these origins.
GUIDE_ORIGINS = [
    "http://localhost.tiangolo.com",
    "https://localhost.tiangolo.com",
    "http://localhost",
    "http://localhost:8080",
]
FRONTENDS = ["http://localhost:3000", "http://localhost:8080"]
FRONTEND = "https://app.example.com"  # the front-end of the framework apps in test_policy_e2e.py
FRAMEWORK_CORS = dict(
    allow_credentials=True,
    allow_methods=["GET", "POST", "PUT"],
    allow_headers=["Content-Type", "Authorization"],
    expose_headers=["X-Request-Id"],
)
# test_policy_e2e.py's WIDER policy, and a method more: the front-end needs what the server refuses.
WIDER_POLICY = build_policy(
    origins=[FRONTEND],
    methods=["GET", "POST", "PUT", "DELETE"],
    headers=["Content-Type", "Authorization", "X-Api-Key"],
    expose=["X-Request-Id"],
    credentials=True,
)


def fixed(policy: Policy | None) -> Callable[[str], Policy | None]:
    return lambda base: policy


@dataclass(frozen=True)
class App:
    id: str
    serve: Serve
    paths: tuple[str, ...]
    policy: Callable[[str], Policy | None]  # base URL -> the policy it is audited with
    expected: frozenset[str]  # the replayable rule ids its audit reports
    depth: Depth = "standard"


APPS: list[App] = [
    App(
        "demo-baseline",
        serve_demo,
        tuple(demo.ROUTES),
        fixed(None),
        frozenset({"any-origin-with-credentials", "null-origin"}),
    ),
    App(
        "demo-policy",
        serve_demo,
        tuple(demo.ROUTES),
        fixed(demo.DEMO_POLICY),
        frozenset(
            {
                "allowed-header-refused",
                "allowed-origin-refused",
                "any-origin",
                "any-origin-with-credentials",
                "credentials-refused",
                "exposed-header-missing",
                "header-beyond-policy",
                "insecure-origin",
                "method-beyond-policy",
                "null-origin",
                "untrusted-origin",
            }
        ),
    ),
    App(
        "fastapi-guide-a-list-credentials",
        asgi(
            fastapi_app(
                allow_origins=GUIDE_ORIGINS,
                allow_credentials=True,
                allow_methods=["*"],
                allow_headers=["*"],
            )
        ),
        ("/api/items",),
        fixed(
            build_policy(
                origins=GUIDE_ORIGINS,
                methods=["GET", "POST"],
                headers=["Content-Type", "Authorization"],
                credentials=True,
            )
        ),
        frozenset({"header-beyond-policy", "method-beyond-policy"}),
    ),
    App(
        "fastapi-guide-a-baseline",
        asgi(
            fastapi_app(
                allow_origins=GUIDE_ORIGINS,
                allow_credentials=True,
                allow_methods=["*"],
                allow_headers=["*"],
            )
        ),
        ("/api/items",),
        fixed(None),
        frozenset({"development-origin"}),
        # `standard` probes one development origin (http://localhost:3000), which this app does
        # not list; `thorough` probes the others, http://localhost and http://localhost:8080 among them.
        depth="thorough",
    ),
    App(
        "fastapi-guide-b-wildcard",
        asgi(fastapi_app(allow_origins=["*"], allow_methods=["*"], allow_headers=["*"])),
        ("/api/items",),
        fixed(build_policy(origins=FRONTENDS, methods=["GET", "POST"], headers=["Content-Type"])),
        frozenset({"any-origin", "header-beyond-policy", "method-beyond-policy"}),
    ),
    App(
        "fastapi-guide-c-wildcard-credentials",
        asgi(
            fastapi_app(
                allow_origins=["*"],
                allow_credentials=True,
                allow_methods=["*"],
                allow_headers=["*"],
            )
        ),
        ("/api/items",),
        fixed(
            build_policy(
                origins=FRONTENDS,
                methods=["GET", "POST"],
                headers=["Content-Type"],
                credentials=True,
            )
        ),
        frozenset({"any-origin-with-credentials", "header-beyond-policy", "method-beyond-policy"}),
    ),
    App(
        "fastapi-guide-d-regex",
        asgi(fastapi_app(allow_origin_regex=r"https://.*\.example\.org", allow_methods=["GET"])),
        ("/api/items",),
        fixed(build_policy(origins=["https://*.example.org"])),
        frozenset(),
    ),
    App(
        "starlette-defaults",
        asgi(fastapi_app(allow_origins=["http://localhost:3000"], allow_credentials=True)),
        ("/api/items",),
        fixed(
            build_policy(
                origins=["http://localhost:3000"],
                methods=["GET", "POST"],
                headers=["Content-Type"],
                credentials=True,
            )
        ),
        # The front-end's POST with Content-Type: application/json fails its preflight (400).
        frozenset({"allowed-method-refused"}),
    ),
    App(
        "self-origin-listed",
        asgi(
            fastapi_app(
                allow_origins=lambda base: ["http://localhost:3000", base],
                allow_credentials=True,
                allow_methods=["GET", "POST", "PUT"],
                allow_headers=["Content-Type", "Authorization"],
            )
        ),
        ("/api/items",),
        lambda base: build_policy(
            origins=["http://localhost:3000", base],
            methods=["GET", "POST", "PUT"],
            headers=["Content-Type", "Authorization"],
            credentials=True,
        ),
        frozenset(),  # the API's own origin is same-origin: no CORS, no finding
    ),
    App(
        "substring-allow-list",
        asgi(raw_asgi(substring_check)),
        ("/api/items",),
        fixed(
            build_policy(
                origins=SUBSTRING_LIST.split(),
                methods=["GET", "POST"],
                headers=["Content-Type"],
                credentials=True,
            )
        ),
        frozenset({"untrusted-origin"}),
    ),
    App(
        "exact-allow-list-no-vary",
        asgi(raw_asgi(exact_without_vary)),
        ("/api/items",),
        fixed(
            build_policy(
                origins=EXACT_LIST,
                methods=["GET", "POST"],
                headers=["Content-Type"],
                expose=["X-Request-Id"],
            )
        ),
        frozenset({"credentials-beyond-policy", "exposed-header-missing"}),
    ),
    App(
        "starlette-wider-policy",
        asgi(fastapi_app(allow_origins=[FRONTEND], **FRAMEWORK_CORS)),
        ("/api/items",),
        fixed(WIDER_POLICY),
        frozenset({"allowed-header-refused", "allowed-method-refused"}),
    ),
    App(
        "flask-cors-wider-policy",
        wsgi(
            flask_app(
                origins=[FRONTEND],
                supports_credentials=True,
                methods=["GET", "POST", "PUT"],
                allow_headers=["Content-Type", "Authorization"],
                expose_headers=["X-Request-Id"],
            )
        ),
        ("/api/items",),
        fixed(WIDER_POLICY),
        frozenset({"allowed-header-refused", "allowed-method-refused"}),
    ),
    App(
        "flask-cors-wildcard-credentials",
        wsgi(flask_app(origins="*", supports_credentials=True)),
        ("/api/items",),
        fixed(None),
        frozenset({"any-origin-with-credentials"}),
    ),
]
APPS_BY_ID = {app.id: app for app in APPS}


# --------------------------------------------------------------------------------------------------
# Replaying a finding
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Replay:
    """What Chromium did with a finding's evidence request."""

    origin: str  # the page's origin, as Chromium reports it
    url: str
    readable: bool  # the fetch resolved
    detail: str  # the status, or the rejection
    read: dict[str, str | None]  # response headers the page tried to read
    hits: tuple[Hit, ...]  # what reached the app
    console: tuple[str, ...]

    @property
    def preflighted(self) -> bool:
        return any(h.preflight for h in self.hits)

    @property
    def actual_sent(self) -> bool:
        return any(not h.preflight for h in self.hits)

    def describe(self) -> str:
        reached = ", ".join(f"{'preflight' if h.preflight else h.method}" for h in self.hits)
        return (
            f"Chromium, page on {self.origin}: fetch {self.url} "
            f"{'resolved' if self.readable else 'rejected'} ({self.detail}); "
            f"read {self.read}; the app received [{reached}]; console {list(self.console)}"
        )


def replay_url(target: str, token: str) -> str:
    """The target with one more query parameter, which none of the apps looks at."""
    return f"{target}{'&' if '?' in target else '?'}{QUERY}={token}"


class Browser:
    """One headless Chromium, with a page on each origin a finding's evidence names."""

    def __init__(self) -> None:
        self._pw, self._browser = launch(sync_api, (LOCAL_NETWORK_WARN_ONLY,))
        self._context = self._browser.new_context()
        self._frames: dict[str, Any] = {}
        self.console: list[str] = []

    def frame_on(self, origin: str) -> Any:
        if origin not in self._frames:
            page = self._context.new_page()
            page.on("console", lambda message: self.console.append(message.text))
            # With the Network domain on, Chromium writes its CORS error for each blocked fetch.
            self._context.new_cdp_session(page).send("Network.enable")
            self._frames[origin] = frame_on(page, origin)
        return self._frames[origin]

    def replay(self, finding: Finding, recorder: Recorder, read: list[str]) -> Replay:
        evidence = finding.evidence
        token = uuid.uuid4().hex
        url = replay_url(finding.target, token)
        frame = self.frame_on(evidence.origin)
        self.console.clear()
        page_origin = str(frame.evaluate("self.origin"))
        headers = [list(line) for line in evidence.request_headers]
        result = frame.evaluate(
            FETCH_JS, [url, evidence.method, headers, evidence.credentials, read]
        )
        return Replay(
            page_origin,
            url,
            bool(result["ok"]),
            str(result["detail"]),
            dict(result["read"]),
            tuple(recorder.matching(token)),
            tuple(self.console),
        )

    def close(self) -> None:
        self._browser.close()
        self._pw.stop()


def hidden_headers(finding: Finding) -> list[str]:
    """The response headers an exposed-header-missing finding says the page cannot read."""
    match = re.match(r"the page cannot read (.+) \(credentials", finding.message)
    assert match, finding.message
    return [name.strip() for name in match.group(1).split(",")]


def disagreement(finding: Finding, replay: Replay) -> str | None:
    """None when Chromium does what the finding says; otherwise what it did instead."""
    evidence = finding.evidence
    expected_origin = evidence.origin
    if replay.origin != expected_origin:
        return f"the page's origin is {replay.origin}, not {expected_origin}"
    if finding.rule.id == "exposed-header-missing":
        names = hidden_headers(finding)
        if replay.readable and all(replay.read.get(n) is None for n in names):
            return None
        return f"expected the fetch to resolve and {names} to read null"
    if finding.rule.direction == "over-permissive":
        if evidence.step == "preflight":
            # corscheck did not send the unsafe actual request: its claim is that the preflight
            # passes, so Chromium goes on to send the request.
            if replay.preflighted and replay.actual_sent:
                return None
            return "expected the preflight to pass and the actual request to be sent"
        return None if replay.readable else "expected the page to read the response"
    if replay.readable or not replay.detail.startswith("TypeError"):
        return "expected the fetch to reject with a TypeError"
    if evidence.step == "preflight" and not (replay.preflighted and not replay.actual_sent):
        return "expected the preflight to be sent and to refuse the request"
    if evidence.step == "actual" and not replay.actual_sent:
        return "expected the actual request to be sent and its response refused"
    return None


# --------------------------------------------------------------------------------------------------
# The audits, the browser and the replays: one of each per module
# --------------------------------------------------------------------------------------------------


@dataclass
class Audited:
    base: str
    recorder: Recorder
    report: Report

    @property
    def findings(self) -> list[Finding]:
        return [f for t in self.report.targets for f in t.findings]

    @property
    def replayable(self) -> list[Finding]:
        return [f for f in self.findings if f.rule.direction in REPLAYED]


class Harness:
    def __init__(self, stack: ExitStack) -> None:
        self._stack = stack
        self._audits: dict[str, Audited] = {}
        self._replays: dict[int, Replay] = {}
        self._browser: Browser | None = None

    def audited(self, app: App) -> Audited:
        """The app served (once per module) and audited (once)."""
        if app.id not in self._audits:
            recorder = Recorder()
            base = self._stack.enter_context(app.serve(recorder))
            targets = tuple(Target(base + path, app.policy(base)) for path in app.paths)
            config = AuditConfig(targets, depth=app.depth)
            # Playwright's sync API keeps an event loop running on this thread: audit on another.
            with ThreadPoolExecutor(1) as pool:
                report = pool.submit(audit, config).result(timeout=120)
            assert report.error_count == 0, [e for t in report.targets for e in t.errors]
            self._audits[app.id] = Audited(base, recorder, report)
        return self._audits[app.id]

    def replay(self, app: App, finding: Finding) -> Replay:
        key = id(finding)  # the findings live as long as the module's audits
        if key not in self._replays:
            read = hidden_headers(finding) if finding.rule.id == "exposed-header-missing" else []
            recorder = self.audited(app).recorder
            self._replays[key] = self.browser().replay(finding, recorder, read)
        return self._replays[key]

    def browser(self) -> Browser:
        if self._browser is None:
            self._browser = Browser()
            self._stack.callback(self._browser.close)
        return self._browser


@pytest.fixture(scope="module")
def harness() -> Iterator[Harness]:
    with ExitStack() as stack:
        yield Harness(stack)


def describe(finding: Finding) -> str:
    e = finding.evidence
    return (
        f"{finding.rule.id} ({finding.rule.direction}) on {finding.target}: {finding.message}; "
        f"evidence {e.origin} {e.method} {list(e.request_headers)} credentials={e.credentials} "
        f"step={e.step} status={e.status} lines={list(e.response_lines)} reason={e.reason}"
    )


# --------------------------------------------------------------------------------------------------
# The comparison
# --------------------------------------------------------------------------------------------------

# Findings Chromium contradicts: (app, rule id) -> what Chromium does instead. Each is a corscheck bug;
# its case is an expected failure until the bug is fixed, and then passes (and must leave this table).
DISAGREEMENTS: dict[tuple[str, str], str] = {}


def _cases() -> list[Any]:
    cases = []
    for app in APPS:
        for rule in sorted(app.expected):
            reason = DISAGREEMENTS.get((app.id, rule))
            marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
            cases.append(
                pytest.param(app.id, (rule,), not reason, id=f"{app.id}/{rule}", marks=marks)
            )
    return cases


@pytest.mark.parametrize(("app_id", "rules", "required"), _cases())
def test_chromium_agrees_with_the_finding(
    harness: Harness, app_id: str, rules: tuple[str, ...], required: bool
) -> None:
    """Every finding of these rules for this app, replayed: Chromium does what the finding says."""
    app = APPS_BY_ID[app_id]
    audited = harness.audited(app)
    findings = [f for f in audited.replayable if f.rule.id in rules]
    if required:
        reported = [describe(f) for f in audited.findings]
        assert findings, f"{app_id}: no {' or '.join(rules)} finding; the audit reports {reported}"
    problems = []
    for finding in findings:
        replay = harness.replay(app, finding)
        problem = disagreement(finding, replay)
        if problem:
            problems.append(f"{describe(finding)}\n  -> {problem}\n  {replay.describe()}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("app_id", [app.id for app in APPS])
def test_the_audit_reports_the_listed_rules(harness: Harness, app_id: str) -> None:
    """No over- or under-permissive finding escapes the replay: each app's are all listed above."""
    app = APPS_BY_ID[app_id]
    audited = harness.audited(app)
    found = {f.rule.id for f in audited.replayable}
    # A finding Chromium contradicts may go away with its fix; its case then says so (XPASS).
    required = {rule for rule in app.expected if (app.id, rule) not in DISAGREEMENTS}
    assert required <= found, [describe(f) for f in audited.findings]
    assert found <= app.expected, [describe(f) for f in audited.replayable]


def test_every_finding_is_replayable_and_ten_rules_are_replayed(harness: Harness) -> None:
    """Across all apps: every replayed finding names an origin and a method a page can use, and the
    findings Chromium confirms cover at least 10 distinct rules."""
    confirmed: set[str] = set()
    replayed = 0
    for app in APPS:
        for finding in harness.audited(app).replayable:
            evidence = finding.evidence
            assert evidence.origin == "null" or parse_origin(evidence.origin), describe(finding)
            assert re.fullmatch(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+", evidence.method), describe(finding)
            assert evidence.credentials in ("omit", "same-origin", "include"), describe(finding)
            replayed += 1
            if disagreement(finding, harness.replay(app, finding)) is None:
                confirmed.add(finding.rule.id)
    assert len(confirmed) >= 10, (replayed, sorted(confirmed))


def test_an_allow_list_with_the_apis_own_origin_passes_its_policy(harness: Harness) -> None:
    """The API's own origin in the allow-list is harmless: nothing at medium or above."""
    audited = harness.audited(APPS_BY_ID["self-origin-listed"])
    assert not audited.report.reaches("medium"), [describe(f) for f in audited.findings]


def test_the_substring_check_lets_a_truncated_origin_read(harness: Harness) -> None:
    """Ground truth for the substring app: `origin in "https://a.example.com https://app..."` lets
    https://app.example.co (anyone's domain under .co) read with credentials in Chromium."""
    app = APPS_BY_ID["substring-allow-list"]
    audited = harness.audited(app)
    frame = harness.browser().frame_on("https://app.example.co")
    url = replay_url(audited.base + "/api/items", uuid.uuid4().hex)
    result = frame.evaluate(FETCH_JS, [url, "GET", [], "include", []])
    assert result["ok"], result

"""evaluate.py on plain data: planned probes, scripted exchanges and real verdicts → findings.

Every rule of the catalog has a case that must fire and one that must not, on either side of the
boundary that separates them (credentials on or off, one origin or two for Vary, a status that lowers
the severity, the target's own origin). Exchanges are built by hand from a scripted server: the
requests are the ones the browser model asks for (browser.next_request), the responses are
HeaderLists written here, and every verdict comes from browser.judge, so it is the real one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import pytest

from corscheck.browser import Probe, Verdict, judge, next_request, normalize_method
from corscheck.evaluate import (
    Evidence,
    Finding,
    ProbeResult,
    evaluate,
    expectation,
    judge_results,
    max_age_seconds,
    outcome_of,
)
from corscheck.evaluate.cache import CacheTrialRun, cache_suspected
from corscheck.exchange import Exchange, Hop, Request, Response
from corscheck.headers import HeaderList
from corscheck.plan import (
    ALLOWED,
    PRIVATE_NETWORK_REQUEST,
    PlannedProbe,
    cache_trials,
    chain_of,
    plan_target,
)
from corscheck.policy import MaxAge, Policy, build_policy
from corscheck.rules import CATALOG, RULES_BY_ID

URL = "https://api.example.com/v1/users"
APP = "https://app.example.com"
OTHER = "https://admin.example.com"
EVIL = "https://corscheck-attacker.example"
PREFIX = "https://app.example.com.corscheck-attacker.example"
HTTP_APP = "http://app.example.com"
LOCALHOST = "http://localhost:3000"


def headers(*lines: str) -> HeaderList:
    """A HeaderList from "Name: value" lines, kept as written."""
    return HeaderList.of(tuple(line.split(": ", 1)) for line in lines)  # type: ignore[misc]


@dataclass(frozen=True)
class Server:
    """A scripted CORS configuration: what it answers to each request of a browser."""

    trusts: frozenset[str] | None = frozenset({APP})  # None: every origin (reflected)
    allow_origin: str | None = None  # a fixed Access-Control-Allow-Origin instead of the origin
    credentials: bool = False
    methods: str | None = None
    allow_headers: str | None = None
    vary: bool = True
    status: int = 200
    preflight_status: int = 204
    max_age: str | None = None
    expose: str | None = None
    private_network: bool = False
    extra: tuple[str, ...] = ()  # more lines on every response
    extra_preflight: tuple[str, ...] = ()

    def answer(self, request: Request) -> Response:
        origin = next((v for n, v in request.headers if n.lower() == "origin"), "")
        lines: list[str] = []
        if self.trusts is None or origin in self.trusts:
            lines.append(f"Access-Control-Allow-Origin: {self.allow_origin or origin}")
            if self.credentials:
                lines.append("Access-Control-Allow-Credentials: true")
            if request.method == "OPTIONS":
                if self.methods is not None:
                    lines.append(f"Access-Control-Allow-Methods: {self.methods}")
                if self.allow_headers is not None:
                    lines.append(f"Access-Control-Allow-Headers: {self.allow_headers}")
                if self.max_age is not None:
                    lines.append(f"Access-Control-Max-Age: {self.max_age}")
                asked = ("Access-Control-Request-Private-Network", "true") in request.headers
                if self.private_network and asked:
                    lines.append("Access-Control-Allow-Private-Network: true")
            elif self.expose is not None:
                lines.append(f"Access-Control-Expose-Headers: {self.expose}")
        if self.vary:
            lines.append("Vary: Origin")
        if request.method == "OPTIONS":
            return Response(self.preflight_status, headers(*lines, *self.extra_preflight))
        return Response(
            self.status,
            headers(*lines, "Content-Type: application/json", "X-Request-Id: 7", *self.extra),
        )


Answer = Callable[[Request], Response]


def exchange_for(probe: Probe, answer: Answer) -> Exchange:
    """The exchange the runner would record: each request the browser sends, answered by `answer`;
    an unsafe actual request is left unsent (no --send-unsafe)."""
    hops: list[Hop] = []
    for _ in range(8):  # bounded: a preflight, an actual request and a few redirects
        step = next_request(probe, hops)
        if step is None:
            break
        kind, request = step
        if kind == "actual" and normalize_method(request.method) not in ("GET", "HEAD"):
            return Exchange(tuple(hops), unsent=request)
        hops.append(Hop(kind, request, answer(request)))
    return Exchange(tuple(hops))


def planned(
    origin: str,
    origin_class: str = ALLOWED,
    aspect: str = "origin",
    method: str = "GET",
    lines: tuple[tuple[str, str], ...] = (),
    subject: str = "",
    extra: tuple[tuple[str, str], ...] = (),
) -> list[PlannedProbe]:
    """The probe in both credentials modes, as the planner makes them."""
    return [
        PlannedProbe(
            Probe(URL, origin, method, lines, credentials, extra),
            origin_class,
            origin,
            aspect,  # type: ignore[arg-type]
            subject,
        )
        for credentials in ("omit", "include")
    ]


def results_for(
    policy: Policy | None, probes: Sequence[PlannedProbe], answer: Answer
) -> list[ProbeResult]:
    """Probes of every credentials mode share one exchange, as in a run."""
    exchanges: dict[Probe, Exchange] = {}
    judged = []
    for p in probes:
        chain = chain_of(p.probe)
        if chain not in exchanges:
            exchanges[chain] = exchange_for(chain, answer)
        exchange = exchanges[chain]
        judged.append((p, exchange, judge(p.probe, exchange)))
    return judge_results(policy, judged)


def audit(
    policy: Policy | None,
    server: Server | Answer,
    probes: Sequence[PlannedProbe] | None = None,
    *,
    url: str = URL,
    framework: str = "",
    cached: bool = False,
    depth: str = "standard",
) -> list[Finding]:
    """Findings for `url` as a run makes them; `cached`: behind a shared cache, with the cache
    trials a run sends when it suspects one (audit.py)."""
    answer = server.answer if isinstance(server, Server) else server
    if cached:
        answer = behind_cache(answer)
    if probes is None:
        probes = plan_target(url, policy, depth)  # type: ignore[arg-type]
    results = results_for(policy, probes, answer)
    runs = []
    if cached and cache_suspected(results):
        for trial in cache_trials(url, results, "t", ()):
            primer = Probe(trial.primed_url, trial.primer, "GET", (), "omit", (), "")
            exchange_for(primer, answer)
            primed = exchange_for(replace(trial.probe, url=trial.primed_url), answer)
            alone = exchange_for(trial.probe, answer)
            runs.append(CacheTrialRun(trial, primed, alone, 3))
    return evaluate(url, policy, results, framework=framework, cache_runs=runs)


def behind_cache(answer: Answer) -> Answer:
    """A shared cache in front of `answer`: GET responses stored by URL, a stored one served
    (with Age) unless it says Vary: Origin and the request's Origin differs."""
    store: dict[str, tuple[str, Response]] = {}

    def cached(request: Request) -> Response:
        if request.method != "GET":
            return answer(request)
        origin = next((v for n, v in request.headers if n.lower() == "origin"), "")
        hit = store.get(request.url)
        if hit is not None:
            stored_origin, response = hit
            varies = "origin" in (response.headers.combined("Vary") or "").lower()
            if not varies or stored_origin == origin:
                return Response(response.status, headers(*_lines(response), "Age: 1"))
        response = answer(request)
        store[request.url] = (origin, response)
        return response

    return cached


def _lines(response: Response) -> list[str]:
    return [f"{name}: {value}" for name, value in response.headers]


def by_rule(findings: Sequence[Finding]) -> dict[str, Finding]:
    found: dict[str, Finding] = {}
    for finding in findings:
        found.setdefault(finding.rule.id, finding)
    return found


# --- the table: every rule, firing and not ---------------------------------------------------------

APP_POLICY = build_policy(origins=[APP])
CREDENTIALED = build_policy(origins=[APP], credentials=True)
ANY = Server(trusts=None)


@dataclass(frozen=True)
class Case:
    rule: str
    fires: bool
    policy: Policy | None
    server: Server | Answer
    probes: Callable[[], list[PlannedProbe]] | None = None
    severity: str | None = None  # when it fires
    message: str | None = None  # a part of the message, when it fires
    label: str = ""
    related: tuple[str, ...] | None = None
    url: str = URL
    framework: str = ""
    cached: bool = False  # behind a shared cache that keys on the URL (and honours Vary)
    depth: str = "standard"

    @property
    def id(self) -> str:
        return f"{self.rule}-{'fires' if self.fires else 'quiet'}-{self.label}"


def _attackers(*origins: tuple[str, str]) -> Callable[[], list[PlannedProbe]]:
    def make() -> list[PlannedProbe]:
        probes = planned(APP)
        for origin, origin_class in origins:
            probes += planned(origin, origin_class)
        return probes

    return make


CASES = [
    # Any origin reflected: with credentials or without.
    Case(
        "any-origin-with-credentials",
        True,
        None,
        replace(ANY, credentials=True),
        severity="critical",
        message=f"{EVIL} can read {URL} with credentials; ",
        label="reflect+credentials",
    ),
    Case("any-origin-with-credentials", False, None, ANY, label="reflect-no-credentials"),
    Case(
        "any-origin",
        True,
        None,
        ANY,
        severity="medium",
        message=f"{EVIL} can read {URL}; ",
        label="reflect",
    ),
    Case(
        "any-origin",
        True,
        None,
        replace(ANY, status=404),
        severity="low",
        label="reflect-404-lowered",
    ),
    Case("any-origin", False, None, Server(), label="allow-list"),
    Case(
        "any-origin",
        True,
        APP_POLICY,
        Server(trusts=None, allow_origin="*"),
        severity="medium",
        message="Access-Control-Allow-Origin: * lets every origin read",
        label="wildcard-with-policy",
    ),
    Case(
        "public-wildcard",
        True,
        None,
        Server(trusts=None, allow_origin="*"),
        severity="low",
        label="wildcard-no-policy",
    ),
    Case(
        "public-wildcard",
        False,
        build_policy(origins=["*"]),
        Server(trusts=None, allow_origin="*"),
        label="public-policy",
    ),
    Case(
        "public-wildcard",
        False,
        APP_POLICY,
        Server(trusts=None, allow_origin="*"),
        label="policy-names-it-any-origin",
    ),
    # One class of crafted origin trusted: its own rule; credentials decide the severity.
    Case(
        "null-origin",
        True,
        APP_POLICY,
        Server(trusts=frozenset({APP, "null"}), credentials=True),
        _attackers(("null", "null"), (EVIL, "unrelated")),
        severity="high",
        message=f"null can read {URL} with credentials (",
        label="null+credentials",
    ),
    Case(
        "null-origin",
        True,
        APP_POLICY,
        Server(trusts=frozenset({APP, "null"})),
        _attackers(("null", "null")),
        severity="medium",
        message="without credentials",
        label="null-no-credentials-lowered",
    ),
    Case("null-origin", False, APP_POLICY, Server(), _attackers(("null", "null")), label="refused"),
    Case(
        "null-origin",
        False,
        build_policy(origins=[APP, "null"]),
        Server(trusts=frozenset({APP, "null"})),
        _attackers(("null", "null")),
        label="policy-allows-null",
    ),
    Case(
        "untrusted-origin",
        True,
        APP_POLICY,
        Server(trusts=frozenset({APP, PREFIX, "https://appxexample.com"}), credentials=True),
        _attackers((PREFIX, "prefix"), ("https://appxexample.com", "unescaped-dot")),
        severity="high",
        message="and 1 more crafted origin (",
        related=("https://appxexample.com",),
        label="two-classes-one-finding",
    ),
    Case(
        "untrusted-origin",
        False,
        APP_POLICY,
        Server(),
        _attackers((PREFIX, "prefix")),
        label="prefix-refused",
    ),
    Case(
        "insecure-origin",
        True,
        APP_POLICY,
        Server(trusts=frozenset({APP, HTTP_APP}), credentials=True),
        _attackers((HTTP_APP, "scheme-downgrade")),
        severity="high",
        label="http-twin",
    ),
    Case(
        "insecure-origin",
        False,
        APP_POLICY,
        Server(),
        _attackers((HTTP_APP, "scheme-downgrade")),
        label="refused",
    ),
    Case(
        "development-origin",
        True,
        APP_POLICY,
        Server(trusts=frozenset({APP, LOCALHOST}), credentials=True),
        _attackers((LOCALHOST, "developer")),
        severity="medium",
        label="localhost+credentials",
    ),
    Case(
        "development-origin",
        True,
        APP_POLICY,
        Server(trusts=frozenset({APP, LOCALHOST})),
        _attackers((LOCALHOST, "developer")),
        severity="low",
        label="localhost-lowered",
    ),
    Case(
        "development-origin",
        False,
        APP_POLICY,
        Server(),
        _attackers((LOCALHOST, "developer")),
        label="refused",
    ),
    # Private network access.
    Case(
        "private-network-untrusted",
        True,
        APP_POLICY,
        Server(trusts=None, private_network=True, methods="PUT", allow_headers="Content-Type"),
        severity="low",  # legacy: Chromium 142+ ignores the header (Local Network Access)
        message=f"{EVIL} is granted Access-Control-Allow-Private-Network: true",
        label="granted-to-attacker",
    ),
    Case(
        "private-network-untrusted",
        False,
        APP_POLICY,
        Server(private_network=True, methods="PUT", allow_headers="Content-Type"),
        label="cors-refused-so-not-granted",
    ),
    Case(
        "private-network-refused",
        True,
        build_policy(origins=[APP], methods=["PUT"], private_network=True),
        Server(methods="PUT"),
        severity="low",  # legacy: Chromium 142+ sends no such preflight
        message=f"{APP} is not granted private network access",
        label="not-granted",
    ),
    Case(
        "private-network-refused",
        False,
        build_policy(origins=[APP], methods=["PUT"], private_network=True),
        Server(methods="PUT", private_network=True),
        label="granted",
    ),
    # Beyond the policy.
    Case(
        "method-beyond-policy",
        True,
        build_policy(origins=[APP], methods=["GET", "PUT"]),
        Server(methods="GET, PUT, DELETE, PATCH"),
        severity="medium",
        message=(
            f"DELETE, PATCH allowed for {APP} but not in the policy "
            "(the preflight advertises Access-Control-Allow-Methods: GET, PUT, DELETE, PATCH)"
        ),
        related=("PATCH",),
        label="delete-patch",
    ),
    Case(
        "method-beyond-policy",
        False,
        build_policy(origins=[APP], methods=["GET", "PUT"]),
        Server(methods="GET, PUT"),
        label="exact",
    ),
    Case(
        "header-beyond-policy",
        True,
        build_policy(origins=[APP], headers=["Content-Type"]),
        Server(allow_headers="Content-Type, X-Corscheck-Probe"),
        severity="low",
        message=f"X-Corscheck-Probe allowed for {APP} but not in the policy",
        label="extra-header",
    ),
    Case(
        "header-beyond-policy",
        False,
        build_policy(origins=[APP], headers=["Content-Type"]),
        Server(allow_headers="Content-Type"),
        label="exact",
    ),
    Case(
        "credentials-beyond-policy",
        True,
        APP_POLICY,
        Server(credentials=True),
        severity="medium",
        message=f"{APP} can read {URL} with credentials",
        label="policy-no-credentials",
    ),
    Case(
        "credentials-beyond-policy",
        False,
        CREDENTIALED,
        Server(credentials=True),
        label="policy-credentials",
    ),
    # Under-permissive: the front-end is broken.
    Case(
        "allowed-origin-refused",
        True,
        build_policy(origins=[APP, OTHER]),
        Server(),
        severity="high",
        message=f"{OTHER} is allowed by the policy but cannot read {URL}",
        label="second-origin",
    ),
    Case("allowed-origin-refused", False, APP_POLICY, Server(), label="served"),
    Case(
        "credentials-refused",
        True,
        CREDENTIALED,
        Server(),
        severity="high",
        message=f"{APP} cannot read {URL} with credentials",
        label="no-acac",
    ),
    Case("credentials-refused", False, CREDENTIALED, Server(credentials=True), label="acac"),
    Case(
        "allowed-method-refused",
        True,
        build_policy(origins=[APP], methods=["GET", "PUT"]),
        Server(methods="GET"),
        severity="high",
        message=f"PUT is refused for {APP}: the front-end's PUT fails its preflight",
        label="put-not-listed",
    ),
    Case(
        "allowed-method-refused",
        False,
        build_policy(origins=[APP], methods=["GET", "PUT"]),
        Server(methods="GET, PUT"),
        label="put-listed",
    ),
    Case(
        "allowed-header-refused",
        True,
        build_policy(origins=[APP], headers=["Content-Type", "X-Token"]),
        Server(allow_headers="Content-Type"),
        severity="high",
        message=(
            f"request header X-Token is refused for {APP}: the front-end's GET with Content-Type, "
            "X-Token fails its preflight, and so does GET with X-Token alone"
        ),
        label="x-token-not-listed",
    ),
    Case(
        "allowed-header-refused",
        False,
        build_policy(origins=[APP], headers=["Content-Type", "X-Token"]),
        Server(allow_headers="Content-Type, X-Token"),
        label="listed",
    ),
    Case(
        "exposed-header-missing",
        True,
        build_policy(origins=[APP], expose=["X-Request-Id"]),
        Server(),
        severity="medium",
        message="the page cannot read X-Request-Id (credentials omit)",
        label="not-exposed",
    ),
    Case(
        "exposed-header-missing",
        False,
        build_policy(origins=[APP], expose=["X-Request-Id"]),
        Server(expose="X-Request-Id"),
        label="exposed",
    ),
    # Preflight cache.
    Case(
        "preflight-cache-too-long",
        True,
        build_policy(origins=[APP], methods=["PUT"]),
        Server(methods="PUT", max_age="86401"),
        severity=RULES_BY_ID["preflight-cache-too-long"].severity,
        message="Access-Control-Max-Age is 86401 s, above 86400 s",
        label="baseline+1",
    ),
    Case(
        "preflight-cache-too-long",
        False,
        build_policy(origins=[APP], methods=["PUT"]),
        Server(methods="PUT", max_age="86400"),
        label="baseline",
    ),
    Case(
        "preflight-cache-too-long",
        True,
        build_policy(origins=[APP], methods=["PUT"], max_age=MaxAge(max=600)),
        Server(methods="PUT", max_age="601"),
        message="Access-Control-Max-Age is 601 s, above 600 s",
        label="policy-max+1",
    ),
    Case(
        "preflight-cache-too-long",
        False,
        build_policy(origins=[APP], methods=["PUT"], max_age=MaxAge(max=600)),
        Server(methods="PUT", max_age="600"),
        label="policy-max",
    ),
    Case(
        "preflight-cache-too-short",
        True,
        build_policy(origins=[APP], methods=["PUT"], max_age=MaxAge(min=600)),
        Server(methods="PUT", max_age="599"),
        severity=RULES_BY_ID["preflight-cache-too-short"].severity,
        message="Access-Control-Max-Age is 599 s, below 600 s",
        label="min-1",
    ),
    Case(
        "preflight-cache-too-short",
        True,
        build_policy(origins=[APP], methods=["PUT"], max_age=MaxAge(min=600)),
        Server(methods="PUT"),
        message="Access-Control-Max-Age is absent (browsers use 5 s), below 600 s",
        label="absent",
    ),
    Case(
        "preflight-cache-too-short",
        False,
        build_policy(origins=[APP], methods=["PUT"], max_age=MaxAge(min=600)),
        Server(methods="PUT", max_age="600"),
        label="min",
    ),
    # Hygiene.
    Case(
        "missing-vary-origin",
        True,
        APP_POLICY,
        Server(vary=False),
        _attackers((EVIL, "unrelated")),
        severity="medium",
        message=(
            f"Access-Control-Allow-Origin differs by Origin ('{APP}' for {APP}, no "
            f"Access-Control-Allow-Origin for {EVIL}), but the response to {APP} has no Vary: "
            f"Origin, so a shared cache can hand it to {EVIL}"
        ),
        label="two-origins-two-answers",
    ),
    Case(
        "missing-vary-origin",
        False,
        APP_POLICY,
        Server(vary=False),
        _attackers(),
        label="one-origin",
    ),
    Case(
        "missing-vary-origin",
        False,
        APP_POLICY,
        Server(vary=True),
        _attackers((EVIL, "unrelated")),
        label="vary-origin",
    ),
    Case(
        "missing-vary-origin",
        False,
        None,
        Server(trusts=None, allow_origin="*", vary=False),
        label="static-wildcard",
    ),
    Case(
        "malformed-cors-header",
        True,
        APP_POLICY,
        Server(extra=(f"Access-Control-Allow-Origin: {APP}",)),
        severity="medium",
        message="2 Access-Control-Allow-Origin lines in one actual response",
        label="two-acao-lines",
    ),
    Case(
        "malformed-cors-header",
        True,
        CREDENTIALED,
        Server(extra=("Access-Control-Allow-Credentials: True",)),
        message="Access-Control-Allow-Credentials is 'True'; browsers accept only 'true'",
        label="acac-True",
    ),
    Case("malformed-cors-header", False, CREDENTIALED, Server(credentials=True), label="clean"),
    Case(
        "wildcard-with-credentials",
        True,
        None,
        Server(trusts=None, allow_origin="*", credentials=True),
        severity="low",
        label="star+true",
    ),
    Case(
        "wildcard-with-credentials",
        False,
        None,
        Server(trusts=None, allow_origin="*"),
        label="star-alone",
    ),
    Case(
        "authorization-by-wildcard",
        True,
        build_policy(origins=[APP], headers=["Authorization"]),
        Server(allow_headers="*"),
        severity="low",
        label="star",
    ),
    Case(
        "authorization-by-wildcard",
        False,
        build_policy(origins=[APP], headers=["Authorization"]),
        Server(allow_headers="*, Authorization"),
        label="named",
    ),
    # Deployment causes (evaluate/causes.py, evaluate/cache.py).
    Case(
        "mixed-content",
        True,
        APP_POLICY,
        Server(),
        url="http://api.example.com/v1/users",
        severity="high",
        message=f"{APP} is an https page and http://api.example.com/v1/users an http URL",
        label="https-page-http-api",
    ),
    Case(
        "mixed-content",
        False,
        APP_POLICY,
        Server(),
        url="http://127.0.0.1:8000/v1/users",
        label="loopback-is-trustworthy",
    ),
    Case(
        "mixed-content",
        True,
        APP_POLICY,
        Server(status=307, extra=("Location: http://api.example.com/v1/users",)),
        message="redirects (307) to http://api.example.com/v1/users: an https page may not",
        label="redirect-to-http",
    ),
    Case(
        "redirected-request",
        True,
        build_policy(origins=[APP], methods=["PUT"]),
        Server(methods="PUT", preflight_status=301, extra_preflight=(f"Location: {URL}/",)),
        severity="high",
        message=f"its preflight from {APP} is redirected (301) to {URL}/",
        label="preflight-301",
    ),
    Case(
        "redirected-request",
        False,
        build_policy(origins=[APP], methods=["PUT"]),
        Server(methods="PUT", preflight_status=301),
        label="3xx-without-location",
    ),
    Case(
        "preflight-not-recognised",
        True,
        build_policy(origins=[APP], methods=["PUT"], headers=["X-Token"]),
        lambda request: (
            Server(methods="PUT", allow_headers="X-Token").answer(request)
            if request.method != "OPTIONS"
            or any(n.lower() == "access-control-request-headers" for n, _ in request.headers)
            else Response(405, headers("Allow: GET, PUT"))
        ),
        severity="high",
        message="the server answered OPTIONS without Access-Control-Request-Headers 405",
        label="needs-request-headers",
    ),
    Case(
        "preflight-not-recognised",
        False,
        build_policy(origins=[APP], methods=["PUT"], headers=["X-Token"]),
        lambda request: (
            Response(405, headers("Allow: GET"))
            if request.method == "OPTIONS"
            else Server().answer(request)
        ),
        label="no-preflight-passes",
    ),
    Case(
        "error-without-cors",
        True,
        build_policy(origins=[APP], methods=["PUT"]),
        lambda request: (
            Server(methods="PUT").answer(request)
            if request.method == "OPTIONS"
            else Response(500, headers("Content-Type: text/plain"))
        ),
        severity="medium",
        message="the GET from https://app.example.com was answered 500 without CORS",
        label="500-outside-cors",
    ),
    Case(
        "error-without-cors",
        False,
        build_policy(origins=[APP, OTHER]),
        Server(status=500),
        label="the-cors-layer-answers-500s",
    ),
    Case(
        "path-outside-cors-scope",
        True,
        APP_POLICY,
        lambda request: (
            Server().answer(request)
            if request.url == URL
            else Response(200, headers("Content-Type: application/json"))
        ),
        depth="thorough",
        severity="medium",
        message=f"{URL}/ is served (200) without CORS headers, while {URL} grants {APP}",
        label="trailing-slash-unscoped",
    ),
    Case(
        "path-outside-cors-scope",
        False,
        APP_POLICY,
        lambda request: (
            Server().answer(request)
            if request.url == URL
            else Response(307, headers(f"Location: {URL}"))
        ),
        depth="thorough",
        label="variant-redirects",
    ),
    Case(
        "cached-cors-answer",
        True,
        build_policy(origins=[APP, OTHER]),
        Server(trusts=frozenset({APP, OTHER}), vary=False),
        cached=True,
        severity="high",
        message=f"{APP}'s request to the same URL got no Access-Control-Allow-Origin (Age: 1)",
        label="no-vary",
    ),
    Case(
        "cached-cors-answer",
        False,
        build_policy(origins=[APP, OTHER]),
        Server(trusts=frozenset({APP, OTHER}), vary=True),
        cached=True,
        label="vary-origin",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_rule(case: Case) -> None:
    findings = by_rule(
        audit(
            case.policy,
            case.server,
            case.probes() if case.probes else None,
            url=case.url,
            framework=case.framework,
            cached=case.cached,
            depth=case.depth,
        )
    )
    assert (case.rule in findings) is case.fires, sorted(findings)
    if not case.fires:
        return
    finding = findings[case.rule]
    assert finding.rule is RULES_BY_ID[case.rule]
    assert finding.target == case.url
    if case.severity is not None:
        assert finding.severity == case.severity
    if case.message is not None:
        assert case.message in finding.message, finding.message
    if case.related is not None:
        assert finding.evidence.related == case.related


def test_every_rule_has_a_firing_and_a_quiet_case() -> None:
    """WebSocket rules have theirs in test_websocket.py, on handshakes rather than fetches; the
    written allow-list's in test_written.py, through whole audits of apps."""
    from tests.test_websocket import WEBSOCKET_RULES
    from tests.test_written import WRITTEN_RULES

    ids = {rule.id for rule in CATALOG} - WEBSOCKET_RULES - WRITTEN_RULES
    assert {c.rule for c in CASES if c.fires} == ids
    assert {c.rule for c in CASES if not c.fires} == ids


# --- exact findings of whole audits --------------------------------------------------------------


def test_reflecting_server_gives_one_root_cause() -> None:
    findings = audit(None, replace(ANY, credentials=True, vary=True))
    assert [f.rule.id for f in findings] == ["any-origin-with-credentials"]
    (finding,) = findings
    assert finding.evidence.origin == EVIL
    assert finding.evidence.credentials == "include"
    assert "null" in finding.evidence.related and EVIL not in finding.evidence.related
    assert finding.message.endswith(
        f"{len(finding.evidence.related)} other crafted origins got through too"
    )


def test_allow_list_server_matching_its_policy_has_no_finding() -> None:
    policy = build_policy(
        origins=[APP],
        methods=["GET", "PUT"],
        headers=["Content-Type", "X-Token"],
        expose=["X-Request-Id"],
        credentials=True,
        max_age=MaxAge(min=600, max=7200),
    )
    server = Server(
        credentials=True,
        methods="GET, PUT",
        allow_headers="Content-Type, X-Token",
        expose="X-Request-Id",
        max_age="3600",
    )
    assert audit(policy, server) == []


def test_findings_are_sorted_most_severe_first() -> None:
    server = Server(trusts=frozenset({APP, "null", LOCALHOST}), credentials=True, vary=False)
    findings = audit(
        APP_POLICY, server, _attackers(("null", "null"), (LOCALHOST, "developer"), (EVIL, ""))()
    )
    ids = [f.rule.id for f in findings]
    assert ids == [
        "null-origin",
        "credentials-beyond-policy",
        "development-origin",
        "missing-vary-origin",
    ]


def test_an_error_status_lowers_an_over_permissive_severity_with_a_note() -> None:
    (finding,) = audit(None, replace(ANY, status=500, credentials=True))
    assert finding.rule.id == "any-origin-with-credentials"
    assert finding.severity == "high"
    assert finding.notes == ("severity lowered: the response was 500, not a success with data",)
    (ok,) = audit(None, replace(ANY, status=299, credentials=True))
    assert ok.severity == "critical" and ok.notes == ()


def test_an_error_status_does_not_lower_an_under_permissive_finding() -> None:
    findings = by_rule(audit(build_policy(origins=[APP, OTHER]), Server(status=503)))
    assert findings["allowed-origin-refused"].severity == "high"
    assert findings["allowed-origin-refused"].notes == ()


# --- outcomes --------------------------------------------------------------------------------------


def _verdict(allowed: bool, judged: bool = True) -> Verdict:
    return Verdict(allowed=allowed, preflight=False, judged=judged)


@pytest.mark.parametrize(
    ("expected", "allowed", "judged", "outcome"),
    [
        (True, True, True, "as-expected"),
        (False, False, True, "as-expected"),
        (False, True, True, "over-permissive"),
        (True, False, True, "under-permissive"),
        (None, True, True, "not-checked"),
        (True, False, False, "not-checked"),
    ],
)
def test_outcome_of(expected: bool | None, allowed: bool, judged: bool, outcome: str) -> None:
    assert outcome_of(expected, _verdict(allowed, judged)) == outcome


def test_same_origin_is_never_compared() -> None:
    own = planned("https://api.example.com", "subdomain")
    results = results_for(APP_POLICY, own, ANY.answer)
    assert [r.outcome for r in results] == ["same-origin", "same-origin"]
    assert [r.expected for r in results] == [None, None]
    assert evaluate(URL, APP_POLICY, results) == []
    # The same server and a cross-origin page: compared, and over-permissive.
    cross = results_for(APP_POLICY, planned(EVIL, "unrelated"), ANY.answer)
    assert [r.outcome for r in cross] == ["over-permissive", "as-expected"]


def test_an_unjudged_probe_is_never_evidence() -> None:
    # A simple POST: no preflight, and the unsafe actual request is not sent.
    policy = build_policy(origins=[APP], methods=["POST"])
    probes = planned(APP, aspect="request", method="POST", subject="POST")
    results = results_for(policy, probes, Server(trusts=frozenset()).answer)
    assert [r.verdict.judged for r in results] == [False, False]
    assert {r.outcome for r in results} == {"not-checked"}
    assert evaluate(URL, policy, results) == []


@pytest.mark.parametrize(
    ("policy", "probe", "expected"),
    [
        (None, planned(APP)[0], None),
        (None, planned(EVIL, "unrelated")[0], False),
        (APP_POLICY, planned(APP)[0], True),
        (APP_POLICY, planned(APP)[1], False),  # credentials beyond the policy
        (CREDENTIALED, planned(APP)[1], True),
        (build_policy(origins=["*"]), planned(EVIL, ALLOWED)[1], False),  # * never with cookies
        (APP_POLICY, planned(OTHER)[0], False),
        (build_policy(origins=[APP], methods=["GET"]), planned(APP, method="PUT")[0], False),
        (build_policy(origins=[APP], methods=["PUT"]), planned(APP, method="put")[0], True),
        (
            build_policy(origins=[APP], headers=["X-Token"]),
            planned(APP, lines=(("X-Token", "1"),))[0],
            True,
        ),
        (
            build_policy(origins=[APP], headers=["X-Token"]),
            planned(APP, lines=(("X-Other", "1"),))[0],
            False,
        ),
        (
            build_policy(origins=[APP], headers=["X-Token"]),
            planned(APP, lines=(("Accept", "text/html"),))[0],  # safelisted: needs no listing
            True,
        ),
        (
            APP_POLICY,
            planned(APP, aspect="private-network", extra=(PRIVATE_NETWORK_REQUEST,))[0],
            False,
        ),
        (
            build_policy(origins=[APP], private_network=True),
            planned(APP, aspect="private-network", extra=(PRIVATE_NETWORK_REQUEST,))[0],
            True,
        ),
    ],
)
def test_expectation(policy: Policy | None, probe: PlannedProbe, expected: bool | None) -> None:
    assert expectation(policy, probe) is expected


# --- the front-end's request and its culprits ----------------------------------------------------


def test_refused_front_end_request_names_the_header_not_the_method() -> None:
    policy = build_policy(origins=[APP], methods=["PUT"], headers=["X-Token"])
    findings = audit(policy, Server(methods="PUT"))
    assert [(f.rule.id, f.message) for f in findings] == [
        (
            "allowed-header-refused",
            f"request header X-Token is refused for {APP}: the front-end's PUT with X-Token "
            "fails its preflight, and so does GET with X-Token alone",
        )
    ]
    evidence = findings[0].evidence
    assert (evidence.method, evidence.step, evidence.status) == ("PUT", "preflight", 204)
    assert evidence.related == ("GET with X-Token",)


def test_refused_safelisted_method_beside_a_passing_header_is_the_method() -> None:
    # POST is preflighted only because of X-Token; X-Token passes with GET, so POST is refused
    # (Starlette answers a preflight for a method it does not allow with 400).
    def answer(request: Request) -> Response:
        server = Server(methods="GET", allow_headers="X-Token")
        if ("Access-Control-Request-Method", "POST") in request.headers:
            server = replace(server, preflight_status=400)
        return server.answer(request)

    policy = build_policy(origins=[APP], methods=["POST"], headers=["X-Token"])
    findings = audit(policy, answer)
    assert [(f.rule.id, f.message) for f in findings] == [
        (
            "allowed-method-refused",
            f"POST is refused for {APP}: the front-end's POST with X-Token fails its preflight, "
            "while each of its headers passes with GET",
        )
    ]


def test_method_and_header_both_refused_are_two_findings() -> None:
    policy = build_policy(origins=[APP], methods=["PUT"], headers=["X-Token"])
    findings = audit(policy, Server(methods="GET"))
    assert sorted((f.rule.id, f.message.partition(f"{APP}:")[0]) for f in findings) == [
        ("allowed-header-refused", "request header X-Token is refused for "),
        ("allowed-method-refused", "PUT is refused for "),
    ]


def test_two_refused_headers_of_one_request_are_one_finding() -> None:
    policy = build_policy(origins=[APP], headers=["X-Token", "X-Trace"])
    findings = audit(policy, Server(allow_headers="Content-Type"))
    assert [(f.rule.id, f.message) for f in findings] == [
        (
            "allowed-header-refused",
            f"request headers X-Token, X-Trace are refused for {APP}: the front-end's GET with "
            "X-Token, X-Trace fails its preflight, and so does GET with each alone",
        )
    ]


def test_a_refusal_of_the_combination_only() -> None:
    """Each header passes alone, and the method alone; only the whole request is refused."""

    def answer(request: Request) -> Response:
        asked = dict((n.lower(), v) for n, v in request.headers)
        lines = [f"Access-Control-Allow-Origin: {APP}", "Vary: Origin"]
        if request.method == "OPTIONS":
            names = asked.get("access-control-request-headers", "")
            lines.append("Access-Control-Allow-Methods: PUT")
            lines.append(f"Access-Control-Allow-Headers: {names}")
            both = asked.get("access-control-request-method") == "PUT" and "," in names
            return Response(403 if both else 204, headers(*lines))
        return Response(200, headers(*lines))

    policy = build_policy(origins=[APP], methods=["PUT"], headers=["X-Token", "X-Trace"])
    findings = [f for f in audit(policy, answer) if f.rule.direction == "under-permissive"]
    assert [(f.rule.id, f.message) for f in findings] == [
        (
            "allowed-method-refused",
            f"the front-end's PUT with X-Token, X-Trace fails its preflight for {APP}, although "
            "its method and each of its headers pass alone",
        )
    ]


def test_a_header_named_only_by_the_browser_is_not_said_to_fail_alone() -> None:
    """The PUT with both headers gets no Access-Control-Allow-Headers; each header alone passes.
    The browser names X-Token, but no probe showed X-Token failing alone: the message must not."""

    def answer(request: Request) -> Response:
        asked = dict((n.lower(), v) for n, v in request.headers)
        lines = [f"Access-Control-Allow-Origin: {APP}", "Vary: Origin"]
        if request.method == "OPTIONS":
            names = asked.get("access-control-request-headers", "")
            lines.append("Access-Control-Allow-Methods: PUT")
            both = asked.get("access-control-request-method") == "PUT" and "," in names
            if not both:
                lines.append(f"Access-Control-Allow-Headers: {names}")
            return Response(204, headers(*lines))
        return Response(200, headers(*lines))

    policy = build_policy(origins=[APP], methods=["PUT"], headers=["X-Token", "X-Trace"])
    findings = [f for f in audit(policy, answer) if f.rule.direction == "under-permissive"]
    assert [(f.rule.id, f.message) for f in findings] == [
        (
            "allowed-header-refused",
            f"request header X-Token is refused for {APP}: the front-end's PUT with X-Token, "
            "X-Trace fails its preflight",
        )
    ]


def test_refusal_only_with_credentials_says_so() -> None:
    policy = build_policy(origins=[APP], methods=["PUT"], credentials=True)
    findings = audit(policy, Server(credentials=True, methods="*"))
    assert [(f.rule.id, f.message) for f in findings] == [
        (
            "allowed-method-refused",
            f"PUT is refused for {APP}: the front-end's PUT fails its preflight when credentials "
            "are included (a '*' in the preflight does not cover them)",
        ),
        (
            "method-beyond-policy",
            f"DELETE, PATCH allowed for {APP} but not in the policy "
            "(the preflight advertises Access-Control-Allow-Methods: *)",
        ),
    ]


def test_refused_origin_is_not_also_refused_per_method() -> None:
    policy = build_policy(origins=[APP, OTHER], methods=["PUT"], headers=["X-Token"])
    findings = audit(policy, Server(methods="PUT", allow_headers="X-Token"))
    assert [(f.rule.id, f.evidence.origin) for f in findings] == [("allowed-origin-refused", OTHER)]


def test_credentials_refused_when_the_origin_works_without() -> None:
    policy = build_policy(origins=[APP], methods=["PUT"], credentials=True)
    findings = audit(policy, Server(methods="PUT"))
    # The origin's credentialed read fails: one finding, not one per method.
    assert [f.rule.id for f in findings] == ["credentials-refused"]
    assert findings[0].evidence.credentials == "include"


# --- fixes for the browser's actual objection -------------------------------------------------------


def test_fix_for_two_allow_origin_lines() -> None:
    server = Server(extra=(f"Access-Control-Allow-Origin: {APP}",))
    finding = by_rule(audit(build_policy(origins=[APP]), server))["allowed-origin-refused"]
    assert finding.fix.startswith(
        "The response carries 2 Access-Control-Allow-Origin lines, and browsers accept exactly one"
    )
    assert finding.evidence.reason and "multiple values" in finding.evidence.reason


def test_fix_for_a_list_of_origins_in_one_line() -> None:
    server = Server(allow_origin=f"{APP}, {OTHER}")
    finding = by_rule(audit(APP_POLICY, server))["allowed-origin-refused"]
    assert finding.fix.startswith("The response carries a list of origins")


def test_fix_for_another_origin() -> None:
    server = Server(allow_origin=APP + "/")
    finding = by_rule(audit(APP_POLICY, server))["allowed-origin-refused"]
    assert finding.fix.startswith(
        f"The server answers Access-Control-Allow-Origin: {APP}/, which is not the page's origin "
        f"{APP}"
    )


def test_fix_for_a_redirected_preflight() -> None:
    policy = build_policy(origins=[APP], methods=["PUT"])
    server = Server(methods="PUT", preflight_status=301, extra_preflight=(f"Location: {URL}/",))
    finding = by_rule(audit(policy, server))["redirected-request"]
    assert "allowed-method-refused" not in by_rule(audit(policy, server))
    assert finding.fix.startswith("The redirect only changes the trailing slash")
    assert "redirect_slashes=False" in finding.fix


def test_fix_for_an_unparsable_allow_list() -> None:
    policy = build_policy(origins=[APP], methods=["PUT"])
    finding = by_rule(audit(policy, Server(methods='"PUT"')))["allowed-method-refused"]
    assert finding.fix.startswith("Send Access-Control-Allow-Methods and")


def test_fix_for_conflicting_duplicate_lines() -> None:
    server = Server(extra=("Content-Length: 1", "Content-Length: 2"))
    finding = by_rule(audit(APP_POLICY, server))
    assert finding["allowed-origin-refused"].fix.startswith("Send Content-Length")


def test_an_over_permissive_finding_keeps_the_rule_fix() -> None:
    server = Server(trusts=frozenset({APP, "null"}), allow_origin=None)
    finding = by_rule(audit(APP_POLICY, server, _attackers(("null", "null"))()))["null-origin"]
    assert finding.fix == RULES_BY_ID["null-origin"].fix


def test_an_under_permissive_finding_without_a_special_reason_keeps_the_rule_fix() -> None:
    finding = by_rule(audit(build_policy(origins=[APP, OTHER]), Server()))
    assert finding["allowed-origin-refused"].fix == RULES_BY_ID["allowed-origin-refused"].fix


def test_framework_fix_only_as_sure_as_the_evidence() -> None:
    """A Server line that names a server, not a framework (uvicorn), gives the generic fix; one
    that names a layer (nginx) gives its fix as a condition; --framework as fact; "" none."""
    generic = RULES_BY_ID["any-origin"].fix
    uvicorn = replace(ANY, extra=("Server: uvicorn",))
    (finding,) = evaluate(URL, None, results_for(None, plan_target(URL, None), uvicorn.answer))
    assert finding.fix == generic
    nginx = replace(ANY, extra=("Server: nginx/1.25",))
    results = results_for(None, plan_target(URL, None), nginx.answer)
    (likely,) = evaluate(URL, None, results)
    assert likely.fix.startswith("If this is nginx (Server: nginx") and likely.fix.endswith(generic)
    (given,) = evaluate(URL, None, results, framework="nginx")
    assert given.fix.startswith("Replace add_header Access-Control-Allow-Origin")
    (plain,) = evaluate(URL, None, results, framework="")
    assert plain.fix == generic


# --- evidence ------------------------------------------------------------------------------------------


def test_evidence_of_a_preflight_finding_shows_the_request_sent() -> None:
    policy = build_policy(origins=[APP], methods=["GET"])
    finding = by_rule(audit(policy, Server(methods="GET, DELETE")))["method-beyond-policy"]
    evidence = finding.evidence
    assert evidence.step == "preflight" and evidence.status == 204
    assert evidence.sent_method == "OPTIONS"
    assert evidence.sent_lines == (
        ("Origin", APP),
        ("Access-Control-Request-Method", "DELETE"),
        ("Sec-Fetch-Site", "same-site"),  # what a server may branch on is shown too
    )
    assert evidence.sent_request() == [
        "OPTIONS (preflight)",
        f"Origin: {APP}",
        "Access-Control-Request-Method: DELETE",
        "Sec-Fetch-Site: same-site",
    ]
    assert evidence.response_lines == (
        ("Access-Control-Allow-Origin", APP),
        ("Access-Control-Allow-Methods", "GET, DELETE"),
        ("Vary", "Origin"),
    )
    assert evidence.page_request() == f"fetch() from {APP}: DELETE, credentials omit"


def test_evidence_of_an_actual_response() -> None:
    (finding,) = audit(None, ANY)
    evidence = finding.evidence
    assert evidence.step == "actual" and evidence.sent_method == "GET"
    assert evidence.sent_request() == [
        "GET (actual request)",
        f"Origin: {EVIL}",
        "Sec-Fetch-Site: cross-site",
    ]
    assert evidence.response() == [
        "actual → 200",
        f"Access-Control-Allow-Origin: {EVIL}",
        "Vary: Origin",
    ]


def test_evidence_rendering_without_response_or_lines() -> None:
    evidence = Evidence(
        origin=APP,
        method="PUT",
        request_headers=(("X-Token", "1"),),
        credentials="include",
        step="none",
        status=None,
        response_lines=(),
    )
    assert evidence.sent_request() == []
    assert evidence.response() == ["no response (no CORS headers)"]
    assert evidence.page_request() == f"fetch() from {APP}: PUT, credentials include, X-Token: 1"
    later = replace(evidence, step="actual", status=404)
    assert later.response() == ["actual → 404 (no CORS headers)"]


def test_unsent_actual_request_is_noted() -> None:
    policy = build_policy(origins=[APP], methods=["GET"])
    finding = by_rule(audit(policy, Server(methods="GET, DELETE")))["method-beyond-policy"]
    assert finding.notes == (
        "the unsafe actual request was not sent (--send-unsafe); judged on the preflight",
    )


# --- Vary by differing answers ----------------------------------------------------------------------


def test_vary_differing_only_in_credentials() -> None:
    def answer(request: Request) -> Response:
        origin = dict(request.headers)["Origin"]
        lines = ["Access-Control-Allow-Origin: *"]
        if origin == APP:
            lines.append("Access-Control-Allow-Credentials: true")
        return Response(200, headers(*lines))

    findings = by_rule(audit(APP_POLICY, answer, _attackers((EVIL, "unrelated"))()))
    message = findings["missing-vary-origin"].message
    assert message.startswith("Access-Control-Allow-Credentials differs by Origin (")


def test_vary_differing_in_both() -> None:
    server = Server(credentials=True, vary=False)
    finding = by_rule(audit(CREDENTIALED, server, _attackers((EVIL, "unrelated"))()))
    message = finding["missing-vary-origin"].message
    assert message.startswith(
        "Access-Control-Allow-Origin and Access-Control-Allow-Credentials differ by Origin "
        f"('{APP}' with credentials 'true' for {APP}, no Access-Control-Allow-Origin for {EVIL})"
    )


def test_vary_star_counts_and_refusals_without_vary_are_witnesses_only_after_grants() -> None:
    def answer(request: Request) -> Response:
        origin = dict(request.headers)["Origin"]
        if origin == APP:
            return Response(200, headers(f"Access-Control-Allow-Origin: {APP}", "Vary: *"))
        return Response(200, headers())

    probes = _attackers((EVIL, "unrelated"), (PREFIX, "prefix"))()
    finding = by_rule(audit(APP_POLICY, answer, probes))["missing-vary-origin"]
    # The grant varies; the refusals do not: the witness is a refusal, the other refusal related.
    assert finding.evidence.origin == EVIL
    assert finding.evidence.related == (PREFIX,)


def test_vary_ignores_same_origin_redirects_and_preflighted_probes() -> None:
    def answer(request: Request) -> Response:
        origin = dict(request.headers).get("Origin", "")
        if origin == EVIL and not request.url.endswith("?next"):
            # A redirect the browser follows: two hops, so not one answer to compare.
            return Response(
                302, headers(f"Location: {URL}?next", f"Access-Control-Allow-Origin: {EVIL}")
            )
        return Response(200, headers(f"Access-Control-Allow-Origin: {origin}"))

    probes = [
        *planned(APP),
        *planned(EVIL, "unrelated"),
        *planned("https://api.example.com", "subdomain"),
        *planned(OTHER, aspect="header", lines=(("X-Token", "1"),)),
    ]
    findings = by_rule(audit(APP_POLICY, answer, probes))
    assert "missing-vary-origin" not in findings


# --- small helpers with public names --------------------------------------------------------------


@pytest.mark.parametrize(
    ("lines", "seconds"),
    [((), None), (("Access-Control-Max-Age: 600",), 600), (("Access-Control-Max-Age: 6s",), -1)],
)
def test_max_age_seconds(lines: tuple[str, ...], seconds: int | None) -> None:
    assert max_age_seconds(Response(204, headers(*lines))) == seconds


def test_malformed_max_age_and_allow_lists() -> None:
    policy = build_policy(origins=[APP], methods=["PUT"])
    bad_age = by_rule(audit(policy, Server(methods="PUT", max_age="soon")))
    assert bad_age["malformed-cors-header"].message == (
        "Access-Control-Max-Age is not a number of seconds: 'soon'"
    )
    bad_list = by_rule(audit(policy, Server(methods="PUT, GET/POST")))
    assert bad_list["malformed-cors-header"].message == (
        "Access-Control-Allow-Methods cannot be parsed: 'PUT, GET/POST'"
    )


def test_finding_title_is_the_rules() -> None:
    (finding,) = audit(None, ANY)
    assert finding.title == finding.rule.title


# --- evidence and witnesses written out ----------------------------------------------------------


def evidence_of(finding: Finding) -> tuple[object, ...]:
    e = finding.evidence
    return (
        finding.rule.id,
        e.origin,
        e.method,
        e.request_headers,
        e.credentials,
        e.step,
        e.status,
        e.sent_method,
        e.sent_lines,
        e.response_lines,
        e.related,
    )


def test_evidence_shows_every_cors_line_of_its_step_and_nothing_else() -> None:
    policy = build_policy(origins=[APP], methods=["GET"])
    server = Server(
        methods="GET, PUT, DELETE, PATCH",
        allow_headers="X-A",
        max_age="600",
        expose="X-Id",
        credentials=True,
        extra_preflight=("X-Other: 1", "Access-Control-Allow-Private-Network: true"),
    )
    assert [evidence_of(f) for f in audit(policy, server)] == [
        (
            "credentials-beyond-policy",
            APP,
            "GET",
            (),
            "include",
            "actual",
            200,
            "GET",
            (("Origin", APP), ("Sec-Fetch-Site", "same-site")),
            (
                ("Access-Control-Allow-Origin", APP),
                ("Access-Control-Allow-Credentials", "true"),
                ("Access-Control-Expose-Headers", "X-Id"),
                ("Vary", "Origin"),
            ),
            (),
        ),
        (
            "method-beyond-policy",
            APP,
            "DELETE",
            (),
            "omit",
            "preflight",
            204,
            "OPTIONS",
            (
                ("Origin", APP),
                ("Access-Control-Request-Method", "DELETE"),
                ("Sec-Fetch-Site", "same-site"),
            ),
            (
                ("Access-Control-Allow-Origin", APP),
                ("Access-Control-Allow-Credentials", "true"),
                ("Access-Control-Allow-Methods", "GET, PUT, DELETE, PATCH"),
                ("Access-Control-Allow-Headers", "X-A"),
                ("Access-Control-Max-Age", "600"),
                ("Vary", "Origin"),
                ("Access-Control-Allow-Private-Network", "true"),
            ),
            ("PATCH", "PUT"),
        ),
    ]


def test_authorization_by_wildcard_is_one_finding_on_the_preflight() -> None:
    policy = build_policy(origins=[APP], methods=["GET"], headers=["X-A"])
    findings = audit(policy, Server(allow_headers="*"))
    by_wildcard = [f for f in findings if f.rule.id == "authorization-by-wildcard"]
    assert [evidence_of(f) for f in by_wildcard] == [
        (
            "authorization-by-wildcard",
            APP,
            "GET",
            (("Authorization", "Bearer corscheck-probe-token"),),
            "omit",
            "preflight",
            204,
            "OPTIONS",
            (
                ("Origin", APP),
                ("Access-Control-Request-Method", "GET"),
                ("Access-Control-Request-Headers", "authorization"),
                ("Sec-Fetch-Site", "same-site"),
            ),
            (
                ("Access-Control-Allow-Origin", APP),
                ("Access-Control-Allow-Headers", "*"),
                ("Vary", "Origin"),
            ),
            (),
        )
    ]
    beyond = by_rule(findings)["header-beyond-policy"]
    assert beyond.evidence.step == "preflight"
    # The evidence is one header's probe; related names the others, not that one again.
    assert beyond.message.startswith(f"Authorization, X-Corscheck-Probe allowed for {APP}")
    assert beyond.evidence.request_headers[0][0] == "X-Corscheck-Probe"
    assert beyond.evidence.related == ("Authorization",)
    assert beyond.message.endswith("(the preflight advertises Access-Control-Allow-Headers: *)")


def test_authorization_by_wildcard_needs_the_request_to_pass() -> None:
    # The preflight says "*", but the actual response names no origin: nothing passes, so there
    # is nothing a wildcard lets through.
    def answer(request: Request) -> Response:
        if request.method == "OPTIONS":
            return Server(allow_headers="*").answer(request)
        return Response(200, headers("Vary: Origin"))

    policy = build_policy(origins=[APP], headers=["Authorization"])
    assert "authorization-by-wildcard" not in by_rule(audit(policy, answer))


def test_a_wildcard_witness_is_the_unrelated_origin() -> None:
    finding = by_rule(audit(None, Server(trusts=None, allow_origin="*")))["public-wildcard"]
    assert finding.evidence.origin == EVIL


def test_each_class_of_crafted_origins_is_judged_past_a_wildcard_only_class() -> None:
    """null gets `*` (no finding of its own), development front-ends are reflected."""

    def answer(request: Request) -> Response:
        origin = next((v for n, v in request.headers if n.lower() == "origin"), "")
        if origin == "null":
            return Response(200, headers("Access-Control-Allow-Origin: *"))
        if origin in (LOCALHOST, "http://127.0.0.1:8080"):
            return Response(200, headers(f"Access-Control-Allow-Origin: {origin}", "Vary: Origin"))
        return Response(200, headers("Vary: Origin"))

    findings = by_rule(audit(None, answer))
    assert findings["public-wildcard"].evidence.origin == "null"
    assert findings["development-origin"].evidence.origin == LOCALHOST
    assert findings["development-origin"].evidence.related == ("http://127.0.0.1:8080",)
    assert "null-origin" not in findings


def test_credentials_refused_for_one_origin_beside_a_refused_origin() -> None:
    policy = build_policy(origins=[APP, OTHER], credentials=True)
    findings = audit(policy, Server(trusts=frozenset({OTHER})))
    assert [(f.rule.id, f.evidence.origin, f.evidence.credentials) for f in findings] == [
        ("allowed-origin-refused", APP, "omit"),
        ("credentials-refused", OTHER, "include"),
    ]


def test_credentials_beyond_policy_is_about_the_origins_own_reads() -> None:
    # Only the preflight grants credentials (for PUT, left unsent): no credentialed read passed.
    server = Server(methods="PUT", extra_preflight=("Access-Control-Allow-Credentials: true",))
    findings = by_rule(audit(build_policy(origins=[APP], methods=["PUT"]), server))
    assert "credentials-beyond-policy" not in findings


def test_a_wildcard_never_grants_credentials_in_a_policy() -> None:
    policy = Policy(origins=("*", APP), credentials=True)
    assert expectation(policy, planned(EVIL, "unrelated")[1]) is False  # include
    assert expectation(policy, planned(APP)[1]) is True
    assert expectation(policy, planned(EVIL, "unrelated")[0]) is True  # omit: "*" lets it read


def test_page_request_in_one_line() -> None:
    evidence = Evidence(APP, "PUT", (("X-A", "1"), ("X-B", "2")), "include", "preflight", 204, ())
    assert (
        evidence.page_request() == f"fetch() from {APP}: PUT, credentials include, X-A: 1, X-B: 2"
    )


def test_private_network_is_not_judged_for_the_targets_own_origin() -> None:
    """A page on the target's own origin sends no preflight (same-origin is not CORS): there is
    nothing to grant, so no private-network-refused finding."""
    own = "https://api.example.com"
    policy = build_policy(origins=[own], private_network=True)
    assert audit(policy, Server(trusts=frozenset({own}))) == []


# --- hygiene, Vary, exposed headers, max-age: witnesses and counts ---------------------------------

OWN = "https://api.example.com"  # the target's own origin


def _origin_of(request: Request) -> str | None:
    return next((v for n, v in request.headers if n.lower() == "origin"), None)


def test_wildcard_with_credentials_is_judged_on_each_final_response_once() -> None:
    """Only the preflights say `*` with credentials: the witness is the probe whose last response
    is such a preflight (an unsafe request left unsent), not one whose actual response is fine."""

    def answer(request: Request) -> Response:
        if request.method == "OPTIONS":
            return Response(
                204,
                headers(
                    "Access-Control-Allow-Origin: *",
                    "Access-Control-Allow-Credentials: true",
                    "Access-Control-Allow-Headers: *",
                    "Access-Control-Allow-Methods: *",
                ),
            )
        return Server().answer(request)

    findings = audit(build_policy(origins=[APP], headers=["X-A"]), answer)
    [finding] = [f for f in findings if f.rule.id == "wildcard-with-credentials"]
    evidence = finding.evidence
    assert (evidence.origin, evidence.method, evidence.credentials, evidence.step) == (
        EVIL,
        "PUT",
        "omit",
        "preflight",
    )


def test_wildcard_with_credentials_past_a_request_that_was_not_sent() -> None:
    # The target's own origin sends its PUT unsent and unanswered (same-origin, unsafe): the
    # cross-origin responses after it still count.
    def answer(request: Request) -> Response:
        if _origin_of(request) is None:
            return Response(200, headers("Content-Type: text/plain"))
        lines = ("Access-Control-Allow-Origin: *", "Access-Control-Allow-Credentials: true")
        return Response(204 if request.method == "OPTIONS" else 200, headers(*lines))

    findings = audit(build_policy(origins=[OWN, APP], methods=["PUT"]), answer)
    wildcard = [f for f in findings if f.rule.id == "wildcard-with-credentials"]
    assert [f.evidence.origin for f in wildcard] == [APP]  # once, however many responses say so


@pytest.mark.parametrize(
    ("policy", "server", "message"),
    [
        (
            APP_POLICY,
            Server(allow_origin=f"{APP}, {OTHER}"),
            f"Access-Control-Allow-Origin lists several origins: '{APP}, {OTHER}'",
        ),
        (
            build_policy(origins=[APP], headers=["X-A"]),
            Server(allow_headers='"X-A"'),
            "Access-Control-Allow-Headers cannot be parsed: '\"X-A\"'",
        ),
        (APP_POLICY, Server(extra=("Access-Control-Allow-Credentials: false",)), None),
    ],
    ids=["origin-list", "quoted-header", "credentials-false-is-well-formed"],
)
def test_malformed_header_once(policy: Policy, server: Server, message: str | None) -> None:
    malformed = [f for f in audit(policy, server) if f.rule.id == "malformed-cors-header"]
    assert [f.message for f in malformed] == ([message] if message else [])


def test_missing_vary_witness_is_a_grant() -> None:
    """The witness is the response that names an origin without Vary (a cache would hand it to
    another origin), though refusals without Vary come first in the plan."""

    def answer(request: Request) -> Response:
        if _origin_of(request) == LOCALHOST:
            return Response(200, headers(f"Access-Control-Allow-Origin: {LOCALHOST}"))
        return Response(200, headers("Content-Type: text/plain"))

    finding = by_rule(audit(None, answer))["missing-vary-origin"]
    assert finding.evidence.origin == LOCALHOST
    # The refusals it differs from: first-party candidates (planned first, without a policy) and
    # the crafted origins.
    assert {"https://example.com", "null"} <= set(finding.evidence.related)


def test_missing_vary_compares_past_a_same_origin_probe() -> None:
    def answer(request: Request) -> Response:
        if _origin_of(request) == APP:
            return Response(200, headers(f"Access-Control-Allow-Origin: {APP}"))
        return Response(200, headers("Content-Type: text/plain"))

    finding = by_rule(audit(build_policy(origins=[OWN, APP]), answer))["missing-vary-origin"]
    assert finding.evidence.origin == APP


def test_exposed_headers_missing_is_one_finding_naming_each() -> None:
    findings = audit(build_policy(origins=[APP], expose=["X-A", "X-B"]), Server())
    missing = [f for f in findings if f.rule.id == "exposed-header-missing"]
    assert [(f.message, f.evidence.related) for f in missing] == [
        ("the page cannot read X-A, X-B (credentials omit)", ("X-B",))
    ]


def test_no_exposed_header_finding_when_the_origin_cannot_read_at_all() -> None:
    findings = audit(build_policy(origins=[APP], expose=["X-A"]), Server(trusts=frozenset()))
    assert [f.rule.id for f in findings] == ["allowed-origin-refused"]


def test_max_age_findings_show_the_preflight() -> None:
    policy = build_policy(origins=[APP], headers=["X-A"])
    # The witness is the GET with X-A: a preflight and an actual response; the preflight is shown.
    finding = by_rule(audit(policy, Server(allow_headers="X-A", max_age="100000")))[
        "preflight-cache-too-long"
    ]
    assert (finding.evidence.step, finding.message) == (
        "preflight",
        "Access-Control-Max-Age is 100000 s, above 86400 s",
    )
    bounded = replace(policy, max_age=MaxAge(min=600))
    finding = by_rule(audit(bounded, Server(allow_headers="X-A", max_age="abc")))[
        "preflight-cache-too-short"
    ]
    assert (finding.evidence.step, finding.message) == (
        "preflight",
        "Access-Control-Max-Age is unusable (browsers do not cache), below 600 s",
    )


def test_a_300_response_lowers_an_over_permissive_severity() -> None:
    finding = by_rule(audit(None, replace(ANY, status=300)))["any-origin"]
    assert finding.severity == "low"
    assert finding.notes == ("severity lowered: the response was 300, not a success with data",)


def test_evidence_of_a_request_refused_before_sending() -> None:
    # A probe fetch() refuses to send (TRACE): no response, no request line, the rule's own fix.
    probes = planned(APP, method="TRACE")
    findings = evaluate(URL, APP_POLICY, results_for(APP_POLICY, probes, Server().answer), "")
    [finding] = findings
    evidence = finding.evidence
    assert finding.rule.id == "allowed-origin-refused"
    assert (evidence.step, evidence.status, evidence.sent_method, evidence.sent_lines) == (
        "none",
        None,
        "",
        (),
    )
    assert finding.fix == finding.rule.fix
    assert evidence.response() == ["no response (no CORS headers)"]


# --- which method or header a refused request is blamed on -----------------------------------------

TOKEN = "corscheck-probe-token"
X_A, X_B = ("X-A", TOKEN), ("X-B", TOKEN)


def _asked(request: Request, name: str) -> str:
    return next((v for n, v in request.headers if n.lower() == name), "")


def _put_preflight_403(request: Request) -> Response:
    """Every preflight for PUT is answered 403 (a framework that rejects a method it does not
    allow), whatever the headers."""
    if request.method == "OPTIONS" and _asked(request, "access-control-request-method") == "PUT":
        return Response(403, headers(f"Access-Control-Allow-Origin: {APP}"))
    return Server(methods="PUT", allow_headers="X-A").answer(request)


def _post_preflight_400(request: Request) -> Response:
    server = Server(methods="GET", allow_headers="X-A, X-B")
    if _asked(request, "access-control-request-method") == "POST":
        server = replace(server, preflight_status=400)
    return server.answer(request)


def _combination_403(methods: str | None) -> Answer:
    """Each header alone passes; a preflight asking for two headers at once gets 403."""

    def answer(request: Request) -> Response:
        names = _asked(request, "access-control-request-headers")
        server = Server(methods=methods, allow_headers=names or None)
        if request.method == "OPTIONS" and "," in names:
            server = replace(server, preflight_status=403)
        return server.answer(request)

    return answer


def _x_a_only_beside_put(request: Request) -> Response:
    # Per-route configuration: X-A is allowed for PUT, not for GET.
    if _asked(request, "access-control-request-method") == "GET":
        return Server(methods="PUT").answer(request)
    return Server(methods="PUT", allow_headers="X-A").answer(request)


def _by_origin(request: Request) -> Response:
    # APP: no credentials at all. OTHER: credentials, but methods only by "*".
    if _asked(request, "origin") == APP:
        return Server(methods="PUT").answer(request)
    return Server(trusts=frozenset({OTHER}), credentials=True, methods="*").answer(request)


PUT_X_A = build_policy(origins=[APP], methods=["PUT"], headers=["X-A"])
BLAME = [
    pytest.param(
        PUT_X_A,
        Server(methods="GET", allow_headers="X-A"),
        None,
        [
            (
                "allowed-method-refused",
                f"PUT is refused for {APP}: the front-end's PUT with X-A fails its preflight",
                ("PUT",),
            )
        ],
        id="method-refused-header-passes",
    ),
    pytest.param(
        PUT_X_A,
        Server(methods="GET", allow_headers="X-A"),
        lambda: plan_target(URL, PUT_X_A, "quick"),
        # quick sends no method alone: the browser's reason (PRE-METHOD) names the method
        [
            (
                "allowed-method-refused",
                f"PUT is refused for {APP}: the front-end's PUT with X-A fails its preflight",
                (),
            )
        ],
        id="quick-method-by-reason",
    ),
    pytest.param(
        PUT_X_A,
        _put_preflight_403,
        None,
        # 403, not PRE-METHOD: PUT alone fails too, GET with X-A passes
        [
            (
                "allowed-method-refused",
                f"PUT is refused for {APP}: the front-end's PUT with X-A fails its preflight",
                ("PUT",),
            )
        ],
        id="method-alone-refused",
    ),
    pytest.param(
        build_policy(origins=[APP], methods=["POST"], headers=["X-A", "X-B"]),
        _post_preflight_400,
        None,
        # no GET with both headers was sent: each header alone passing is enough
        [
            (
                "allowed-method-refused",
                f"POST is refused for {APP}: the front-end's POST with X-A, X-B fails its "
                "preflight, while each of its headers passes with GET",
                (),
            )
        ],
        id="safelisted-method-two-headers",
    ),
    pytest.param(
        build_policy(origins=[APP], headers=["X-A", "X-B"]),
        _combination_403(None),
        None,
        [
            (
                "allowed-method-refused",
                f"the front-end's GET with X-A, X-B fails its preflight for {APP}, although its "
                "method and each of its headers pass alone",
                (),
            )
        ],
        id="get-combination",
    ),
    pytest.param(
        build_policy(origins=[APP], methods=["PUT"], headers=["X-A", "X-B"]),
        _combination_403("PUT"),
        # the headers were tried alone, the method was not: no claim that it passes alone
        lambda: (
            planned(APP)
            + planned(APP, aspect="request", method="PUT", lines=(X_A, X_B), subject="PUT")
            + planned(APP, aspect="header", lines=(X_A,), subject="X-A")
            + planned(APP, aspect="header", lines=(X_B,), subject="X-B")
        ),
        [
            (
                "allowed-method-refused",
                f"the front-end's PUT with X-A, X-B fails its preflight for {APP}; --depth "
                "standard tells which of its method and headers the server refuses",
                (),
            )
        ],
        id="method-not-tried-alone",
    ),
    pytest.param(
        PUT_X_A,
        _x_a_only_beside_put,
        None,
        # the front-end's PUT passes: the refusal is GET's alone, and not said to be the front-end's
        [
            (
                "allowed-header-refused",
                f"request header X-A is refused for {APP}: GET with X-A fails its preflight",
                (),
            )
        ],
        id="header-refused-beside-get-only",
    ),
    pytest.param(
        build_policy(origins=[APP, OTHER], headers=["X-Token", "X-Trace"]),
        Server(trusts=frozenset({APP, OTHER}), allow_headers="Content-Type"),
        None,
        [
            (
                "allowed-header-refused",
                f"request headers X-Token, X-Trace are refused for {o}: the front-end's GET with "
                "X-Token, X-Trace fails its preflight, and so does GET with each alone",
                ("GET with X-Token", "GET with X-Trace"),  # each header's own refusal
            )
            for o in (OTHER, APP)
        ],
        id="two-origins-two-headers",
    ),
    pytest.param(
        build_policy(origins=[APP, OTHER], methods=["PUT"], credentials=True),
        _by_origin,
        None,
        # APP's PUT with credentials is part of its credentials refusal; OTHER's is its own
        [
            (
                "allowed-method-refused",
                f"PUT is refused for {OTHER}: the front-end's PUT fails its preflight when "
                "credentials are included (a '*' in the preflight does not cover them)",
                (),
            ),
            ("credentials-refused", f"{APP} cannot read {URL} with credentials", ()),
        ],
        id="credentials-refused-beside-another-origin",
    ),
    pytest.param(
        replace(PUT_X_A, credentials=True),
        Server(methods="GET", allow_headers="X-A", credentials=True),
        None,
        # refused with credentials and without: the witness is the request the front-end sends,
        # credentialed as the policy says (issue 26, point 9)
        [
            (
                "allowed-method-refused",
                f"PUT is refused for {APP}: the front-end's PUT with X-A fails its preflight",
                ("PUT",),
            )
        ],
        id="refused-in-both-modes",
    ),
    pytest.param(
        build_policy(origins=[APP], methods=["POST"], headers=["X-A", "X-B"]),
        _post_preflight_400,
        # X-B was never tried alone: the safelisted POST is not blamed on a guess
        lambda: (
            planned(APP)
            + planned(APP, aspect="request", method="POST", lines=(X_A, X_B), subject="POST")
            + planned(APP, aspect="header", lines=(X_A,), subject="X-A")
        ),
        [
            (
                "allowed-header-refused",
                f"the front-end's POST with X-A, X-B fails its preflight for {APP}; --depth "
                "standard tells which of its headers the server refuses",
                (),
            )
        ],
        id="safelisted-method-header-not-tried",
    ),
    pytest.param(
        build_policy(origins=[APP], methods=["GET", "POST"], headers=["X-A", "X-B"]),
        _post_preflight_400,
        # ... but GET with both headers passing shows the method is what is refused
        lambda: (
            planned(APP)
            + planned(APP, aspect="request", method="GET", lines=(X_A, X_B), subject="GET")
            + planned(APP, aspect="request", method="POST", lines=(X_A, X_B), subject="POST")
            + planned(APP, aspect="header", lines=(X_A,), subject="X-A")
        ),
        [
            (
                "allowed-method-refused",
                f"POST is refused for {APP}: the front-end's POST with X-A, X-B fails its "
                "preflight, while each of its headers passes with GET",
                (),
            )
        ],
        id="safelisted-method-get-with-every-header-passes",
    ),
    pytest.param(
        build_policy(origins=[APP], methods=["PUT"], headers=["X-Token"]),
        Server(methods="PUT"),
        # the user's own -H header on every probe does not hide the probes with one header alone
        lambda: plan_target(
            URL,
            build_policy(origins=[APP], methods=["PUT"], headers=["X-Token"]),
            "standard",
            extra_headers=(("Authorization", "Bearer x"),),
        ),
        [
            (
                "allowed-header-refused",
                f"request header X-Token is refused for {APP}: the front-end's PUT with X-Token "
                "fails its preflight, and so does GET with X-Token alone",
                ("GET with X-Token",),
            )
        ],
        id="user-headers-on-every-probe",
    ),
]


@pytest.mark.parametrize(("policy", "server", "probes", "expected"), BLAME)
def test_refused_requests_are_blamed_on(
    policy: Policy,
    server: Server | Answer,
    probes: Callable[[], list[PlannedProbe]] | None,
    expected: list[tuple[str, str, tuple[str, ...]]],
) -> None:
    findings = audit(policy, server, probes() if probes else None)
    refused = [f for f in findings if f.rule.direction == "under-permissive"]
    assert [(f.rule.id, f.message, f.evidence.related) for f in refused] == expected
    front_end = "include" if policy.credentials else "omit"
    assert all(
        f.evidence.credentials == front_end for f in refused if "credentials" not in f.message
    )


def test_an_unanswered_private_network_probe_is_never_evidence() -> None:
    """Nothing was answered (the exchange ended before the preflight): neither refused nor granted."""
    policy = build_policy(origins=[APP], private_network=True)
    probes = planned(APP, aspect="private-network", method="PUT", extra=(PRIVATE_NETWORK_REQUEST,))
    probes += planned(EVIL, "unrelated", "private-network", "PUT", extra=(PRIVATE_NETWORK_REQUEST,))
    results = judge_results(policy, [(p, Exchange(), judge(p.probe, Exchange())) for p in probes])
    assert {r.outcome for r in results} == {"not-checked"}
    assert evaluate(URL, policy, results, "") == []


def test_exposed_headers_are_judged_on_one_read() -> None:
    policy = build_policy(origins=[APP], expose=["X-A"], credentials=True)
    findings = audit(policy, Server(credentials=True))
    missing = [f for f in findings if f.rule.id == "exposed-header-missing"]
    assert [f.message for f in missing] == ["the page cannot read X-A (credentials omit)"]


def test_authorization_by_wildcard_once_and_never_for_the_own_origin() -> None:
    # Two requests carry Authorization (the front-end's and the header alone): one finding.
    policy = build_policy(origins=[APP], headers=["Authorization", "X-A"])
    findings = audit(policy, Server(allow_headers="*"))
    assert [f.rule.id for f in findings].count("authorization-by-wildcard") == 1
    # A page on the target's own origin sends no preflight: no wildcard is involved.
    own = build_policy(origins=[OWN], headers=["Authorization"])
    assert "authorization-by-wildcard" not in by_rule(audit(own, Server(trusts=frozenset({OWN}))))


def test_private_network_evidence_is_the_preflight_when_the_actual_request_was_sent() -> None:
    """With --send-unsafe the PUT goes out after its preflight; the grant is on the preflight."""

    def sent(probe: Probe, answer: Answer) -> Exchange:
        hops: list[Hop] = []
        while (step := next_request(probe, hops)) is not None:
            hops.append(Hop(step[0], step[1], answer(step[1])))
        return Exchange(tuple(hops))

    policy = build_policy(origins=[APP], private_network=True)
    for server, rule in (
        (Server(methods="PUT"), "private-network-refused"),
        (
            Server(trusts=None, methods="PUT", allow_headers="Content-Type", private_network=True),
            "private-network-untrusted",
        ),
    ):
        probes = [p for p in plan_target(URL, policy, "standard") if p.aspect == "private-network"]
        judged = []
        for p in probes:
            exchange = sent(chain_of(p.probe), server.answer)
            judged.append((p, exchange, judge(p.probe, exchange)))
        evidence = by_rule(evaluate(URL, policy, judge_results(policy, judged), ""))[rule].evidence
        kinds = [
            [h.kind for h in e.hops] for p, e, _ in judged if p.probe.origin == evidence.origin
        ]
        assert kinds[0] == ["preflight", "actual"], rule
        assert evidence.step == "preflight", rule


def test_a_public_policy_that_allows_private_network_access_lets_anyone_have_it() -> None:
    policy = build_policy(origins=["*"], private_network=True)
    server = Server(trusts=None, methods="PUT", allow_headers="Content-Type", private_network=True)
    assert "private-network-untrusted" not in by_rule(audit(policy, server))
    # ... while an allow-list policy does not.
    listed = build_policy(origins=[APP], private_network=True)
    assert "private-network-untrusted" in by_rule(audit(listed, server))


def test_wildcard_with_credentials_on_a_redirect_before_a_refused_preflight() -> None:
    """The front-end's GET with X-A is redirected by a response saying `*` with credentials; the
    fetch then fails at the next preflight. The redirect is the last response the page's request
    got, so it is the one judged, not the preflight after it."""
    cdn = "https://cdn.example.net/v1/users"

    def answer(request: Request) -> Response:
        if request.url != URL:
            return Response(403 if request.method == "OPTIONS" else 200, headers())
        if request.method == "OPTIONS":
            return Server(allow_headers="X-A").answer(request)
        return Response(
            307,
            headers(
                "Access-Control-Allow-Origin: *",
                "Access-Control-Allow-Credentials: true",
                f"Location: {cdn}",
            ),
        )

    findings = audit(build_policy(origins=[APP], headers=["X-A"]), answer)
    [finding] = [f for f in findings if f.rule.id == "wildcard-with-credentials"]
    assert (finding.evidence.origin, finding.evidence.request_headers) == (APP, (X_A,))


def test_a_request_refused_after_its_preflight_says_which_response_failed() -> None:
    """The preflight allows X-Token, but the actual response (a 401 from an auth layer) has no
    Access-Control-Allow-Origin: the finding names the error response and the layer, shows that
    response, and its fix is about the layers' order, not about Access-Control-Allow-Headers."""

    def answer(request: Request) -> Response:
        if request.method == "OPTIONS":
            return Server(allow_headers="X-Token").answer(request)
        asked = {n.lower() for n, _ in request.headers}
        if "x-token" in asked:
            return Response(401, headers("Content-Type: application/json"))
        return Server().answer(request)

    policy = build_policy(origins=[APP], headers=["X-Token"])
    findings = [f for f in audit(policy, answer) if f.rule.direction == "under-permissive"]
    assert [(f.rule.id, f.message) for f in findings] == [
        (
            "error-without-cors",
            f"the GET with X-Token from {APP} was answered 401 without CORS headers, by an "
            "authentication layer that answers before the CORS layer: the page sees a CORS error "
            "instead of the 401",
        )
    ]
    (finding,) = findings
    assert (finding.evidence.step, finding.evidence.status) == ("actual", 401)
    assert "CORS layer in front of authentication" in finding.fix
    assert "Allow-Headers" not in finding.fix


def test_without_a_policy_a_first_party_front_end_makes_the_vary_check_work() -> None:
    """An exact allow-list of https://app.example.com, reflected without Vary: without a policy
    corscheck tries the site's likely front-ends (apex, www., app.) as candidates, neither
    allowed nor attackers, so the missing Vary is found (issue 24, point 6)."""

    def answer(request: Request) -> Response:
        if _origin_of(request) == APP:
            return Response(200, headers(f"Access-Control-Allow-Origin: {APP}"))
        return Response(200, headers("Content-Type: text/plain"))

    findings = by_rule(audit(None, answer))
    assert findings["missing-vary-origin"].evidence.origin == APP
    assert all(f.rule.direction != "over-permissive" for f in findings.values())


def test_first_party_candidates() -> None:
    from corscheck.plan import first_party_origins

    assert first_party_origins("https://api.example.com/v1") == [
        "https://example.com",
        "https://www.example.com",
        "https://app.example.com",
    ]
    assert first_party_origins("https://www.example.com/x") == [
        "https://example.com",
        "https://app.example.com",
    ]
    assert first_party_origins("http://127.0.0.1:8000/x") == []
    assert first_party_origins("http://localhost:8000/x") == []


# --- one root cause under a public policy; the values that fill a layer's fix (issue 26) ------------


def test_a_public_policy_makes_reflect_with_credentials_one_finding_with_the_fix_that_fits() -> (
    None
):
    public = build_policy(origins=["*"])
    server = Server(trusts=None, credentials=True)
    findings = audit(public, server)
    ids = [f.rule.id for f in findings]
    assert "any-origin-with-credentials" in ids and "credentials-beyond-policy" not in ids
    (worst,) = [f for f in findings if f.rule.id == "any-origin-with-credentials"]
    assert worst.fix.startswith("The policy says this API is public")
    # Not public: both findings stand, and the generic fix lists the front-ends.
    listed = by_rule(audit(build_policy(origins=[APP]), server))
    assert "credentials-beyond-policy" in listed
    assert (
        listed["any-origin-with-credentials"].fix == RULES_BY_ID["any-origin-with-credentials"].fix
    )


def test_a_public_policy_without_the_reflecting_mistake_keeps_its_findings() -> None:
    public = build_policy(origins=["*"])
    server = Server(trusts=None, allow_origin="*", credentials=True)  # '*' with credentials
    ids = {f.rule.id for f in audit(public, server)}
    assert "any-origin-with-credentials" not in ids and "wildcard-with-credentials" in ids


def _finding(rule_id: str) -> Finding:
    evidence = Evidence(APP, "GET", (), "omit", "actual", 200, ())
    rule = RULES_BY_ID[rule_id]
    return Finding(rule, rule.severity, URL, "m", evidence, (), rule.fix)


def test_fix_values_come_from_the_policy() -> None:
    from corscheck.evaluate import fix_values
    from corscheck.fixes import FixValues

    assert fix_values(None, _finding("any-origin")) == FixValues()
    policy = build_policy(
        origins=[APP, OTHER],
        methods=["GET", "PUT"],
        headers=["X-A"],
        expose=["X-Id"],
        credentials=True,
        max_age=MaxAge(min=60, max=600),
    )
    values = fix_values(policy, _finding("preflight-cache-too-long"))
    assert values == FixValues((APP, OTHER), ("GET", "PUT"), ("X-A",), ("X-Id",), 600, False)
    assert fix_values(policy, _finding("preflight-cache-too-short")).max_age == 60
    # A pattern cannot be listed as an exact origin: no origins to fill a list with.
    patterned = build_policy(origins=[APP, "https://*.example.com"])
    assert fix_values(patterned, _finding("any-origin")).origins == ()
    assert fix_values(build_policy(origins=["*"]), _finding("any-origin")).public

"""A fixed report, built by hand, that every output format is snapshot-tested on.

Three targets: one with findings (declared in a policy file, its URL carrying a secret token), one that
could not be audited, and one that passed. The values are chosen to exercise each format's escaping:
`%`, `|`, `<`, `&`, quotes and line breaks from a hostile server's headers.
"""

from __future__ import annotations

from corscheck.browser import Probe, Verdict
from corscheck.evaluate import Evidence, Exposure, Finding, ProbeResult
from corscheck.evaluate.proof import Proof
from corscheck.exchange import Exchange, Hop, Request, Response
from corscheck.headers import HeaderList
from corscheck.masking import masked, secrets_in
from corscheck.plan import ALLOWED, PlannedProbe
from corscheck.policy import MaxAge, build_policy
from corscheck.report.model import Report, TargetErrorRecord, TargetReport
from corscheck.rules import ALLOWED_METHOD_REFUSED, MISSING_VARY, UNTRUSTED_ORIGIN
from corscheck.target import SourceLocation
from corscheck.visitor import parse_cookie, visitor_of

# The visitor of the run: a session cookie given with --cookie (its value masked in every format).
VISITOR = visitor_of(
    (parse_cookie("session=s3cr3t-cookie; SameSite=None; Secure"),),
    ("chrome", "chrome-no-3pc", "firefox"),
)

SECRET = "tok-5ecr3t-canary"  # must never appear in any output
API_KEY = "key-canary-42"
USERS = f"https://api.example.com/v1/users?access_token={SECRET}"
DOWN = "https://down.example.com/health"
STATUS = "https://api.example.com/status"
FRONTEND = "https://app.example.com"
ATTACKER = "https://app.example.com.corscheck-attacker.example"

POLICY = build_policy(
    origins=[FRONTEND],
    methods=["GET", "POST", "PUT"],
    headers=["Content-Type"],
    credentials=True,
    max_age=MaxAge(min=600, max=7200),
)
HEADERS = (("X-Api-Key", API_KEY),)


def _get(origin: str, lines: tuple[tuple[str, str], ...]) -> Exchange:
    request = Request("GET", USERS, (("Origin", origin), *HEADERS))
    return Exchange((Hop("actual", request, Response(200, HeaderList(lines), "OK")),))


def _result(
    exchange: Exchange,
    origin: str,
    origin_class: str,
    credentials: str,
    verdict: Verdict,
    expected: bool,
    *,
    method: str = "GET",
    aspect: str = "origin",
) -> ProbeResult:
    probe = Probe(USERS, origin, method, HEADERS, credentials)  # type: ignore[arg-type]
    planned = PlannedProbe(probe, origin_class, FRONTEND if origin_class != ALLOWED else "", aspect)  # type: ignore[arg-type]
    if verdict.allowed == expected:
        outcome = "as-expected"
    else:
        outcome = "over-permissive" if verdict.allowed else "under-permissive"
    return ProbeResult(planned, exchange, verdict, expected, outcome)  # type: ignore[arg-type]


def fixed_report() -> Report:
    granted = _get(
        FRONTEND,
        (
            ("Access-Control-Allow-Origin", FRONTEND),
            ("Access-Control-Allow-Credentials", "true"),
        ),
    )
    leaked_lines = (
        ("Access-Control-Allow-Origin", ATTACKER),
        ("Access-Control-Allow-Credentials", "true"),
        ("X-Debug", "100% <b>&</b> | \"quoted\" 'single'"),
    )
    leaked = _get(ATTACKER, leaked_lines)
    refused_nul = _get("null", ())
    preflight = Exchange(
        (
            Hop(
                "preflight",
                Request(
                    "OPTIONS",
                    USERS,
                    (("Origin", FRONTEND), ("Access-Control-Request-Method", "PUT")),
                ),
                Response(
                    204,
                    HeaderList(
                        (
                            ("Access-Control-Allow-Origin", FRONTEND),
                            ("Access-Control-Allow-Methods", "GET, POST"),
                        )
                    ),
                    "No Content",
                ),
            ),
        ),
        unsent=Request("PUT", USERS, (("Origin", FRONTEND),)),
    )
    readable = Verdict(allowed=True, preflight=False, readable_headers=("content-type",))
    no_acao = Verdict(
        allowed=False,
        preflight=False,
        reason_id="cors-check-no-acao",
        reason="No 'Access-Control-Allow-Origin' header is present on the requested resource.",
        failed_step="actual",
    )
    put_refused = Verdict(
        allowed=False,
        preflight=True,
        reason_id="preflight-method",
        reason="Method PUT is not allowed by Access-Control-Allow-Methods in preflight response.",
        failed_step="preflight",
        actual_checked=False,
    )
    probes = (
        _result(granted, FRONTEND, ALLOWED, "omit", readable, True),
        _result(granted, FRONTEND, ALLOWED, "include", readable, True),
        _result(
            preflight, FRONTEND, ALLOWED, "omit", put_refused, True, method="PUT", aspect="method"
        ),
        _result(leaked, ATTACKER, "prefix", "omit", readable, False),
        _result(leaked, ATTACKER, "prefix", "include", readable, False),
        _result(refused_nul, "null", "null", "omit", no_acao, False),
        _result(refused_nul, "null", "null", "include", no_acao, False),
    )
    findings = (
        Finding(
            UNTRUSTED_ORIGIN,
            "high",
            USERS,
            f"{ATTACKER} can read {USERS} with credentials (an attacker domain that starts with a "
            "trusted origin)",
            Evidence(
                origin=ATTACKER,
                method="GET",
                request_headers=HEADERS,
                credentials="include",
                step="actual",
                status=200,
                response_lines=leaked_lines,
                related=("https://app.example.com_.corscheck-attacker.example",),
                sent_method="GET",
                sent_lines=(
                    ("Origin", ATTACKER),
                    ("Sec-Fetch-Site", "cross-site"),
                    ("Cookie", "session=s3cr3t-cookie"),
                ),
            ),
            notes=(
                "The server's check looks like origin.startswith(allowed): 100% a prefix match.",
            ),
            fix=UNTRUSTED_ORIGIN.fix,
            exposure=(
                Exposure("chrome", (ATTACKER,), (), 200, 1),
                Exposure("chrome-no-3pc", (), (ATTACKER,)),
                Exposure("firefox", (), (ATTACKER,)),
            ),
            # Proved: the page read the body, in which the run's secret must stay masked.
            proof=Proof(
                "read",
                agrees=True,
                browser="Chromium 156.0.8078.114",
                profile="chrome",
                status=200,
                bytes_read=1234,
                preview=f'{{"users": [{{"id": 1}}], "next": "?access_token={SECRET}"}}',
            ),
        ),
        Finding(
            ALLOWED_METHOD_REFUSED,
            "high",
            USERS,
            f"PUT from {FRONTEND} fails its preflight | the policy allows it",
            Evidence(
                origin=FRONTEND,
                method="PUT",
                request_headers=(),
                credentials="omit",
                step="preflight",
                status=204,
                response_lines=(("Access-Control-Allow-Methods", "GET, POST"),),
                reason=put_refused.reason,
                sent_method="OPTIONS",
                sent_lines=(("Origin", FRONTEND), ("Access-Control-Request-Method", "PUT")),
            ),
            fix=ALLOWED_METHOD_REFUSED.fix,
            proof=Proof(
                "unprovable",
                profile="chrome",
                reason="the proof sends an unsafe PUT request, which the audit did not send; "
                "rerun with --send-unsafe to prove it",
            ),
        ),
        Finding(
            MISSING_VARY,
            "medium",
            USERS,
            "Access-Control-Allow-Origin depends on the Origin,\nbut Vary: Origin is missing",
            Evidence(
                origin=FRONTEND,
                method="GET",
                request_headers=(),
                credentials="omit",
                step="actual",
                status=200,
                response_lines=(("Access-Control-Allow-Origin", FRONTEND),),
            ),
            fix=MISSING_VARY.fix,
            # Disproved, with a message whose quotes and <brackets> every format must escape.
            proof=Proof(
                "blocked",
                agrees=False,
                browser="Chromium 156.0.8078.114",
                profile="chrome",
                message="Access to fetch at '<users>' from origin 'https://app.example.com' has "
                "been blocked by CORS policy: No 'Access-Control-Allow-Origin' header is present",
            ),
        ),
    )
    report = Report(
        version="9.9.9",
        generated_at="2026-01-02T03:04:05+00:00",
        depth="standard",
        fail_on="medium",
        targets=(
            TargetReport(
                USERS,
                POLICY,
                probes=probes,
                findings=findings,
                requests_sent=4,
                source=SourceLocation("corscheck.toml", 12),
            ),
            TargetReport(
                DOWN,
                POLICY,
                errors=(TargetErrorRecord("connect", "connection refused (127.0.0.1:9)"),),
            ),
            TargetReport(STATUS, None, requests_sent=2),
        ),
        warnings=("policy origin 'https://APP.example.com' written as https://app.example.com",),
        visitor=VISITOR.without_secrets(),
        policy_statement="corscheck.toml ([policy], line 3)",
    )
    return masked(report, secrets_in([USERS], HEADERS, VISITOR.secrets()))

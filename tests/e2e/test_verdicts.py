"""Verdicts a user meets in the first week, on real apps over loopback: the front-end's own requests,
an allow-list that holds the API's own origin, a substring-checked allow-list, and Vary."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from corscheck.audit import audit
from corscheck.config import AuditConfig
from corscheck.evaluate import Finding
from corscheck.policy import Policy, build_policy
from corscheck.report.model import TargetReport
from corscheck.rules import SEVERITIES
from corscheck.target import Target

from .servers import serve_asgi

FRONTEND = "http://localhost:3000"


async def items(request: Request) -> JSONResponse:
    return JSONResponse({"items": []})


def cors_app(allow_origins: list[str], **options: Any) -> Starlette:
    return Starlette(
        routes=[Route("/items", items, methods=["GET", "POST", "PUT", "HEAD"])],
        middleware=[Middleware(CORSMiddleware, allow_origins=allow_origins, **options)],  # type: ignore[arg-type]
    )


def audited(base: str, policy: Policy | None) -> TargetReport:
    (target,) = audit(AuditConfig((Target(base + "/items", policy),))).targets
    assert not target.errors, target.errors
    return target


def at_least(findings: tuple[Finding, ...], severity: str) -> list[Finding]:
    limit = SEVERITIES.index(severity)  # type: ignore[arg-type]
    return [f for f in findings if SEVERITIES.index(f.severity) <= limit]


# --- 1. the front-end's real requests ----------------------------------------------------------


STARLETTE_DEFAULTS_POLICY = build_policy(
    origins=[FRONTEND], methods=["GET", "POST"], headers=["Content-Type"], credentials=True
)


@pytest.fixture(scope="module")
def starlette_defaults() -> Iterator[str]:
    # FastAPI's CORS guide with Starlette's defaults: allow_methods=("GET",), no allow_headers.
    with serve_asgi(cors_app([FRONTEND], allow_credentials=True)) as base:
        yield base


def test_starlette_defaults_break_the_front_ends_post(starlette_defaults: str) -> None:
    target = audited(starlette_defaults, STARLETTE_DEFAULTS_POLICY)
    refused = [f for f in target.findings if f.rule.id == "allowed-method-refused"]
    assert len(refused) == 1, [f.message for f in target.findings]
    finding = refused[0]
    assert finding.severity == "high"
    assert finding.message.startswith(
        "POST is refused for http://localhost:3000: the front-end's POST with Content-Type fails"
    )
    ev = finding.evidence
    # The evidence is the refused preflight: what was sent and what came back.
    assert (ev.step, ev.status, ev.sent_method) == ("preflight", 400, "OPTIONS")
    sent = {name.lower(): value for name, value in ev.sent_lines}
    assert sent == {
        "origin": FRONTEND,
        "access-control-request-method": "POST",
        "access-control-request-headers": "content-type",
        "sec-fetch-site": "cross-site",  # the front-end on localhost, the API on 127.0.0.1
    }
    assert ev.request_headers == (("Content-Type", "application/json"),)
    assert ev.reason and "HTTP ok status" in ev.reason
    # GET with Content-Type passes (Starlette safelists it), so the method is named, not the header.
    assert not [f for f in target.findings if f.rule.id == "allowed-header-refused"]


def test_starlette_defaults_front_end_probes_are_in_the_plan(starlette_defaults: str) -> None:
    target = audited(starlette_defaults, STARLETTE_DEFAULTS_POLICY)
    requests = {
        (p.planned.probe.method, p.planned.probe.headers, p.planned.probe.credentials)
        for p in target.probes
        if p.planned.aspect == "request"
    }
    for method in ("GET", "POST"):
        for credentials in ("omit", "include"):
            assert (method, (("Content-Type", "application/json"),), credentials) in requests


def test_starlette_with_methods_and_headers_passes() -> None:
    app = cors_app(
        [FRONTEND],
        allow_credentials=True,
        allow_methods=["GET", "POST"],
        allow_headers=["Content-Type"],
    )
    with serve_asgi(app) as base:
        target = audited(base, STARLETTE_DEFAULTS_POLICY)
    assert not at_least(target.findings, "medium"), [f.message for f in target.findings]


def test_a_refused_header_is_named_as_the_culprit() -> None:
    policy = build_policy(
        origins=[FRONTEND], methods=["GET", "PUT"], headers=["Content-Type", "X-Api-Key"]
    )
    app = cors_app([FRONTEND], allow_methods=["GET", "PUT"], allow_headers=["Content-Type"])
    with serve_asgi(app) as base:
        target = audited(base, policy)
    refused = [f for f in target.findings if f.rule.direction == "under-permissive"]
    assert [f.rule.id for f in refused] == ["allowed-header-refused"], [f.message for f in refused]
    assert "X-Api-Key" in refused[0].message
    assert refused[0].evidence.step == "preflight"


# --- 2. same origin is not CORS ------------------------------------------------------------------


def test_own_origin_in_the_allow_list_is_same_origin() -> None:
    allow_origins = [FRONTEND]  # the API's own origin is added once its port is known
    app = cors_app(
        allow_origins,
        allow_credentials=True,
        allow_methods=["GET", "POST", "PUT"],
        allow_headers=["Content-Type", "Authorization"],
    )
    with serve_asgi(app) as base:
        allow_origins.append(base)
        policy = build_policy(
            origins=[FRONTEND, base],
            methods=["GET", "POST", "PUT"],
            headers=["Content-Type", "Authorization"],
            credentials=True,
        )
        target = audited(base, policy)
    assert not at_least(target.findings, "medium"), [f.message for f in target.findings]
    assert not [f for f in target.findings if f.evidence.origin == base]
    own = [p for p in target.probes if p.planned.probe.origin == base]
    assert own and all(p.outcome == "same-origin" and p.verdict.allowed for p in own)


# --- 3. the substring class ----------------------------------------------------------------------

TRUSTED = "https://a.example.com https://app.example.com"


async def substring_checked(scope: Any, receive: Any, send: Any) -> None:
    request = Request(scope, receive)
    origin = request.headers.get("origin", "")
    headers = {"Vary": "Origin"}
    if origin and origin in TRUSTED:  # the mistake: a substring test
        headers["Access-Control-Allow-Origin"] = origin
        headers["Access-Control-Allow-Credentials"] = "true"
    await Response(b"{}", headers=headers, media_type="application/json")(scope, receive, send)


def test_substring_checked_allow_list_is_found_by_a_cut_short_origin() -> None:
    policy = build_policy(origins=TRUSTED.split(), credentials=True)
    with serve_asgi(substring_checked) as base:
        target = audited(base, policy)
    (finding,) = [f for f in target.findings if f.rule.id == "untrusted-origin"]
    leaked = {finding.evidence.origin, *finding.evidence.related}
    assert {"https://app.example.co", "https://a.example.co"} <= leaked
    assert finding.evidence.origin.endswith(".example.co")
    assert finding.severity == "high"


# --- 4. Vary: Origin by what the server does -----------------------------------------------------


def exact_list(vary: bool) -> Any:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        origin = Request(scope, receive).headers.get("origin")
        headers = {"Vary": "Origin"} if vary else {}
        if origin == FRONTEND:
            headers["Access-Control-Allow-Origin"] = origin
        await Response(b"{}", headers=headers)(scope, receive, send)

    return app


@pytest.mark.parametrize("policy", [build_policy(origins=[FRONTEND]), None], ids=["policy", "none"])
def test_exact_allow_list_reflected_without_vary(policy: Policy | None) -> None:
    with serve_asgi(exact_list(vary=False)) as base:
        target = audited(base, policy)
    (finding,) = [f for f in target.findings if f.rule.id == "missing-vary-origin"]
    assert finding.evidence.origin == FRONTEND  # the grant a cache would hand to others
    assert "Vary: Origin" in finding.message


@pytest.mark.parametrize("policy", [build_policy(origins=[FRONTEND]), None], ids=["policy", "none"])
def test_exact_allow_list_with_vary_passes(policy: Policy | None) -> None:
    with serve_asgi(exact_list(vary=True)) as base:
        target = audited(base, policy)
    assert "missing-vary-origin" not in {f.rule.id for f in target.findings}


def test_quick_depth_does_not_guess_the_culprit() -> None:
    policy = build_policy(
        origins=[FRONTEND], methods=["GET"], headers=["Content-Type", "X-Api-Key"]
    )
    app = cors_app([FRONTEND], allow_headers=["Content-Type"])
    with serve_asgi(app) as base:
        (quick,) = audit(AuditConfig((Target(base + "/items", policy),), depth="quick")).targets
        (standard,) = audit(AuditConfig((Target(base + "/items", policy),))).targets
    (finding,) = quick.findings
    # Starlette answers 400 without naming the header; `quick` has no probe that isolates it.
    assert finding.rule.id == "allowed-header-refused"
    assert "--depth standard tells which" in finding.message and "alone" not in finding.message
    (isolated,) = standard.findings
    assert isolated.message.startswith("request header X-Api-Key is refused")

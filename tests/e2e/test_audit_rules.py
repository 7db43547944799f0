"""Every rule in the catalog: a loopback server that makes the mistake gets exactly that finding, and a
correctly configured server with a matching policy gets none."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from corscheck.audit import audit
from corscheck.config import AuditConfig
from corscheck.demo import HeaderLines, serve_routes
from corscheck.policy import MaxAge, Policy, build_policy
from corscheck.rules import CATALOG
from corscheck.target import Target

FRONTEND = "https://app.example.com"
POLICY = build_policy(
    origins=[FRONTEND],
    methods=["GET", "POST", "PUT"],
    headers=["Content-Type", "Authorization"],
    expose=["X-Request-Id"],
    credentials=True,
    max_age=MaxAge(min=600, max=7200),
)


@dataclass(frozen=True)
class Server:
    """A CORS configuration, as a server framework would apply it."""

    allows: Callable[[str], bool] = lambda origin: origin == FRONTEND
    credentials: bool = True
    vary: bool = True
    methods: str = "GET, POST, PUT"
    headers: str = "Content-Type, Authorization"
    max_age: str | None = "600"
    expose: str | None = "X-Request-Id"
    wildcard: bool = False
    private_network: bool = False
    duplicate_origin: bool = False
    preflight_allows: Callable[[str], bool] | None = None
    status: int = 200
    static: bool = False  # Access-Control-Allow-Origin: FRONTEND whatever the Origin

    def route(self, origin: str | None, preflight: bool) -> tuple[int, HeaderLines]:
        lines: HeaderLines = [("Vary", "Origin")] if self.vary else []
        allows = self.preflight_allows if preflight and self.preflight_allows else self.allows
        if self.wildcard:
            lines = [*lines, ("Access-Control-Allow-Origin", "*")]
        elif self.static:
            lines.append(("Access-Control-Allow-Origin", FRONTEND))
        elif origin is not None and allows(origin):
            lines.append(("Access-Control-Allow-Origin", origin))
            if self.duplicate_origin:
                lines.append(("Access-Control-Allow-Origin", origin))
        else:
            return self.status, lines
        if self.credentials:
            lines.append(("Access-Control-Allow-Credentials", "true"))
        if preflight:
            lines.append(("Access-Control-Allow-Methods", self.methods))
            lines.append(("Access-Control-Allow-Headers", self.headers))
            if self.max_age is not None:
                lines.append(("Access-Control-Max-Age", self.max_age))
            if self.private_network:
                lines.append(("Access-Control-Allow-Private-Network", "true"))
        elif self.expose:
            lines.append(("Access-Control-Expose-Headers", self.expose))
        return (200 if preflight else self.status), lines


def any_origin(origin: str) -> bool:
    return True


CASES: list[tuple[str, Server, Policy | None, set[str]]] = [
    ("correct-with-policy", Server(), POLICY, set()),
    ("correct-without-policy", Server(), None, set()),
    (
        "any-origin-with-credentials",
        Server(allows=any_origin),
        POLICY,
        {"any-origin-with-credentials"},
    ),
    ("any-origin", Server(allows=any_origin, credentials=False), None, {"any-origin"}),
    ("null-origin", Server(allows=lambda o: o in (FRONTEND, "null")), POLICY, {"null-origin"}),
    (
        "untrusted-origin-suffix",
        Server(allows=lambda o: o.startswith("https://") and o.endswith("example.com")),
        POLICY,
        {"untrusted-origin"},
    ),
    (
        "untrusted-origin-prefix",
        Server(allows=lambda o: o.startswith(FRONTEND)),
        POLICY,
        {"untrusted-origin"},
    ),
    (
        "insecure-origin",
        Server(allows=lambda o: o in (FRONTEND, "http://app.example.com")),
        POLICY,
        {"insecure-origin"},
    ),
    (
        "development-origin",
        Server(allows=lambda o: o in (FRONTEND, "http://localhost:3000")),
        POLICY,
        {"development-origin"},
    ),
    (
        "wildcard-with-credentials",
        Server(wildcard=True),
        POLICY,
        {"wildcard-with-credentials", "credentials-refused", "any-origin"},
    ),
    (
        "missing-vary-origin",
        Server(vary=False, allows=lambda o: o in (FRONTEND, "https://admin.example.com")),
        replace(POLICY, origins=(FRONTEND, "https://admin.example.com")),
        {"missing-vary-origin"},
    ),
    # One allowed origin reflected only when it matches is origin-dependent: Vary is needed (Fetch,
    # "CORS protocol and HTTP caches"), with and without a policy (the developer origin finds it).
    ("single-reflected-origin-needs-vary", Server(vary=False), POLICY, {"missing-vary-origin"}),
    (
        "single-reflected-origin-needs-vary-without-policy",
        Server(allows=lambda o: o == "http://localhost:3000", vary=False),
        None,
        {"missing-vary-origin", "development-origin"},
    ),
    ("static-origin-needs-no-vary", Server(vary=False, static=True), POLICY, set()),
    (
        "static-wildcard-needs-no-vary",
        Server(vary=False, wildcard=True, credentials=False),
        build_policy(
            origins=["*"],
            methods=["GET", "POST", "PUT"],
            headers=["Content-Type", "Authorization"],
            expose=["X-Request-Id"],
            max_age=MaxAge(min=600, max=7200),
        ),
        set(),
    ),
    (
        "method-beyond-policy",
        Server(methods="GET, POST, PUT, PATCH, DELETE"),
        POLICY,
        {"method-beyond-policy"},
    ),
    (
        "header-beyond-policy",
        Server(headers="Content-Type, Authorization, X-Corscheck-Probe"),
        POLICY,
        {"header-beyond-policy"},
    ),
    (
        "authorization-by-wildcard",
        Server(headers="*"),
        replace(POLICY, credentials=False),
        {"authorization-by-wildcard", "header-beyond-policy", "credentials-beyond-policy"},
    ),
    (
        "private-network-untrusted",
        Server(preflight_allows=any_origin, private_network=True, credentials=False),
        replace(POLICY, credentials=False),
        {"private-network-untrusted", "any-origin"},
    ),
    (
        "malformed-cors-header",
        Server(duplicate_origin=True),
        POLICY,
        {"malformed-cors-header", "allowed-origin-refused"},
    ),
    (
        "allowed-origin-refused",
        Server(allows=lambda o: o == "https://other.example.com"),
        POLICY,
        {"allowed-origin-refused"},
    ),
    ("allowed-method-refused", Server(methods="GET, POST"), POLICY, {"allowed-method-refused"}),
    ("allowed-header-refused", Server(headers="Content-Type"), POLICY, {"allowed-header-refused"}),
    ("credentials-refused", Server(credentials=False), POLICY, {"credentials-refused"}),
    (
        "credentials-beyond-policy",
        Server(),
        replace(POLICY, credentials=False),
        {"credentials-beyond-policy"},
    ),
    ("exposed-header-missing", Server(expose=None), POLICY, {"exposed-header-missing"}),
    ("preflight-cache-too-long", Server(max_age="86400"), POLICY, {"preflight-cache-too-long"}),
    ("preflight-cache-too-short", Server(max_age=None), POLICY, {"preflight-cache-too-short"}),
    (
        "private-network-refused",
        Server(),
        replace(POLICY, private_network=True),
        {"private-network-refused"},
    ),
    ("public-wildcard", Server(wildcard=True, credentials=False), None, {"public-wildcard"}),
    (
        "public-api-with-public-policy",
        Server(wildcard=True, credentials=False, expose=None),
        build_policy(origins=["*"]),
        set(),
    ),
]


def rule_ids(server: Server, policy: Policy | None, depth: str = "standard") -> set[str]:
    with serve_routes({"/api": server.route}) as base:
        report = audit(AuditConfig((Target(base + "/api", policy),), depth=depth))
    (target,) = report.targets
    assert not target.errors
    return {f.rule.id for f in target.findings}


@pytest.mark.parametrize(
    ("server", "policy", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_rule_fires_exactly(server: Server, policy: Policy | None, expected: set[str]) -> None:
    assert rule_ids(server, policy) == expected


# Deployment causes need a deployment (a cache, a proxy, a redirect, a non-loopback name): their
# triggering cases are in test_deployment_causes.py, on real nginx and FastAPI.
DEPLOYMENT_RULES = {
    "cached-cors-answer",
    "error-without-cors",
    "mixed-content",
    "path-outside-cors-scope",
    "preflight-not-recognised",
    "redirected-request",
}


def test_every_rule_has_a_triggering_case() -> None:
    """WebSocket rules are triggered by real sockets in test_websocket_servers.py; the written
    allow-list's by real apps and nginx in test_written_allowlist.py."""
    from tests.test_websocket import WEBSOCKET_RULES
    from tests.test_written import WRITTEN_RULES

    covered = set().union(*(c[3] for c in CASES))
    assert {
        rule.id for rule in CATALOG
    } - DEPLOYMENT_RULES - WEBSOCKET_RULES - WRITTEN_RULES <= covered
    written = (Path(__file__).parent / "test_written_allowlist.py").read_text()
    assert all(f"rules.{name}" in written for name in ("REGEX_ORIGIN", "GRANT_BEYOND_CODE"))
    sockets = (Path(__file__).parent / "test_websocket_servers.py").read_text()
    assert all(
        f"rules.{name}" in sockets for name in ("WEBSOCKET_HIJACK", "WEBSOCKET_ORIGIN_REFUSED")
    )
    text = (Path(__file__).parent / "test_deployment_causes.py").read_text()
    assert all(f'"{rule}"' in text for rule in DEPLOYMENT_RULES)


def test_permissive_error_page_is_less_severe() -> None:
    with serve_routes(
        {
            "/ok": Server(allows=any_origin).route,
            "/gone": Server(allows=any_origin, status=404).route,
        }
    ) as base:
        report = audit(
            AuditConfig(
                (
                    Target(base + "/ok", POLICY),
                    Target(base + "/gone", POLICY),
                )
            )
        )
    ok, gone = (
        [f for f in t.findings if f.rule.id == "any-origin-with-credentials"]
        for t in report.targets
    )
    assert ok[0].severity == "critical"
    assert gone[0].severity == "high"
    assert any("404" in note for note in gone[0].notes)


def test_reflection_is_one_finding_with_bypasses_as_evidence() -> None:
    with serve_routes({"/api": Server(allows=any_origin).route}) as base:
        report = audit(AuditConfig((Target(base + "/api", POLICY),)))
    (finding,) = report.targets[0].findings
    assert finding.evidence.credentials == "include"
    lines = [(name, value.strip()) for name, value in finding.evidence.response_lines]
    assert ("Access-Control-Allow-Credentials", "true") in lines
    assert "null" in finding.evidence.related
    assert any(o.endswith(".attacker.example") or "attacker" in o for o in finding.evidence.related)


_PREFLIGHT_RULES = {
    "method-beyond-policy",
    "header-beyond-policy",
    "authorization-by-wildcard",
    "private-network-untrusted",
    "private-network-refused",
    "allowed-method-refused",
    "allowed-header-refused",
    "preflight-cache-too-long",
    "preflight-cache-too-short",
}


@pytest.mark.parametrize(
    ("server", "policy", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_message_evidence_and_fix_agree(
    server: Server, policy: Policy | None, expected: set[str]
) -> None:
    with serve_routes({"/api": server.route}) as base:
        (target,) = audit(AuditConfig((Target(base + "/api", policy),))).targets
    for finding in target.findings:
        ev = finding.evidence
        context = f"{finding.rule.id}: {finding.message} / {ev}"
        sent = {name.lower(): value for name, value in ev.sent_lines}
        assert sent.get("origin") == ev.origin, context  # the evidence request is the probe's
        if finding.rule.id in _PREFLIGHT_RULES:
            # A claim about a preflight is proven by that preflight, request and response.
            assert ev.step == "preflight" and ev.sent_method == "OPTIONS", context
            assert "access-control-request-method" in sent, context
        advertised = re.search(r"advertises ([\w-]+): (.*)\)", finding.message)
        if advertised:
            shown = [(name, value.strip()) for name, value in ev.response_lines]
            assert (advertised[1], advertised[2]) in shown, context
        if ev.reason and "multiple values" in ev.reason:
            assert "exactly one" in finding.fix or "once" in finding.fix, context
            assert "allow-list" not in finding.fix, context
        if finding.rule.direction == "over-permissive" and ev.step == "actual":
            names = {name.lower() for name, _ in ev.response_lines}
            assert "access-control-allow-origin" in names, context

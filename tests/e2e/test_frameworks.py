"""The configurations of FastAPI's CORS how-to, and their Flask-CORS equivalents, served for real on
loopback and audited end to end."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from flask import Flask
from flask_cors import CORS

from corscheck.audit import audit
from corscheck.config import AuditConfig
from corscheck.policy import Policy, build_policy
from corscheck.report.model import Report
from corscheck.target import Target

from .servers import serve_asgi, serve_wsgi


def fastapi_app(**cors: Any) -> FastAPI:
    app = FastAPI()
    app.add_middleware(CORSMiddleware, **cors)

    @app.get("/api/items")
    def items() -> dict[str, str]:
        return {"item": "one"}

    return app


def flask_app(**cors: Any) -> Flask:
    app = Flask(__name__)
    CORS(app, **cors)

    @app.get("/api/items")
    def items() -> dict[str, str]:
        return {"item": "one"}

    return app


def audit_asgi(app: FastAPI, policy: Policy | None) -> Report:
    with serve_asgi(app) as base:
        return audit(AuditConfig((Target(base + "/api/items", policy),)))


def audit_wsgi(app: Flask, policy: Policy | None) -> Report:
    with serve_wsgi(app) as base:
        return audit(AuditConfig((Target(base + "/api/items", policy),)))


def rule_ids(report: Report) -> set[str]:
    assert report.error_count == 0
    return {f.rule.id for t in report.targets for f in t.findings}


A_ORIGINS = ["https://example.com", "http://localhost:3000"]
CONFIG_A = dict(allow_origins=A_ORIGINS, allow_methods=["GET", "POST"], allow_headers=["*"])
POLICY_A = build_policy(origins=A_ORIGINS, methods=["GET", "POST"], headers=["*"])
B_ORIGINS = ["http://localhost:3000", "https://myfrontend.com"]
CONFIG_B = dict(
    allow_origins=B_ORIGINS, allow_credentials=True, allow_methods=["*"], allow_headers=["*"]
)
POLICY_B = build_policy(origins=B_ORIGINS, methods=["GET", "POST"], credentials=True)
CONFIG_C = dict(allow_origins=["*"], allow_credentials=True)
CONFIG_D = dict(allow_origins=["http://localhost:3000"], allow_credentials=True)
POLICY_D = build_policy(origins=["http://localhost:3000"], credentials=True)


def test_a_explicit_origins_pass_with_matching_policy() -> None:
    report = audit_asgi(fastapi_app(**CONFIG_A), POLICY_A)
    assert rule_ids(report) == set()
    assert not report.reaches("medium")


def test_a_without_policy_reports_the_development_origin() -> None:
    report = audit_asgi(fastapi_app(**CONFIG_A), None)
    findings = report.targets[0].findings
    assert {f.rule.id for f in findings} == {"development-origin"}
    assert findings[0].evidence.origin == "http://localhost:3000"


def test_b_reports_methods_beyond_policy_and_nothing_else() -> None:
    report = audit_asgi(fastapi_app(**CONFIG_B), POLICY_B)
    (finding,) = report.targets[0].findings
    assert finding.rule.id == "method-beyond-policy"
    assert "PUT" in finding.message and "DELETE" in finding.message


def test_c_wildcard_with_credentials_reflects_any_origin() -> None:
    report = audit_asgi(fastapi_app(**CONFIG_C), None)
    ids = rule_ids(report)
    assert "any-origin-with-credentials" in ids
    finding = next(
        f for f in report.targets[0].findings if f.rule.id == "any-origin-with-credentials"
    )
    assert finding.severity == "critical"
    assert report.reaches("medium")


def test_d_single_origin_with_credentials_passes_its_policy() -> None:
    assert rule_ids(audit_asgi(fastapi_app(**CONFIG_D), POLICY_D)) == set()


def test_d_without_policy_reports_development_origin_with_credentials() -> None:
    report = audit_asgi(fastapi_app(**CONFIG_D), None)
    (finding,) = report.targets[0].findings
    assert finding.rule.id == "development-origin"
    assert finding.evidence.credentials == "include"
    assert finding.severity == "medium"


def test_flask_cors_a_matches_its_policy_but_for_vary() -> None:
    app = flask_app(origins=A_ORIGINS, methods=["GET", "POST"], allow_headers="*")
    report = audit_wsgi(app, POLICY_A)
    # Flask-CORS leaves Vary: Origin off the responses that refuse an origin (cacheable refusals).
    assert rule_ids(report) == {"missing-vary-origin"}
    (finding,) = report.targets[0].findings
    assert finding.evidence.response_lines == ()  # the refusal is the response without Vary


def test_flask_cors_c_reflects_any_origin_with_credentials() -> None:
    app = flask_app(origins="*", supports_credentials=True)
    assert "any-origin-with-credentials" in rule_ids(audit_wsgi(app, None))


@pytest.mark.parametrize("config", [CONFIG_A, CONFIG_D], ids=["a", "d"])
def test_same_verdicts_as_a_second_run(config: dict[str, Any]) -> None:
    """Audits are deterministic: the same server gives the same findings twice."""
    first = rule_ids(audit_asgi(fastapi_app(**config), None))
    second = rule_ids(audit_asgi(fastapi_app(**config), None))
    assert first == second

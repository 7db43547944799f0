"""Every framework fix is true (issue 26): applied to the real framework, it makes the finding go.

For each CORS layer corscheck words fixes for (Starlette/FastAPI's CORSMiddleware, Litestar's
CORSConfig, Flask-CORS, django-cors-headers, Express's cors) and each rule it has settings for:
serve the layer configured right for a policy except for one mistake, audit it, check that the
layer is recognised for certain and the finding is there, then change exactly the settings the
finding's fix names (fixes.fix_changes, the same data the fix text is rendered from) and audit
again: no finding may remain.

Also: apps whose CORS answers do not show the layer (a raw ASGI middleware under uvicorn, Quart,
Litestar) never get a Starlette fix stated as fact.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import litestar
import pytest
from litestar.config.cors import CORSConfig

from corscheck.audit import run_config
from corscheck.config import AuditConfig
from corscheck.evaluate import Finding, fix_values
from corscheck.fixes import FIXES, fix_changes
from corscheck.policy import MaxAge, Policy, build_policy
from corscheck.report.model import Report, TargetReport
from corscheck.runner import run_async
from corscheck.target import Target
from corscheck.transport.app import LoadedApp, app_of

from .real_servers import NODE_DIR, binary, free_ports, running, workdir

APP = "https://app.example.com"
BASE = "https://api.example.com"
PATH = "/api/items"

# The policy every case starts from, and the canonical settings that follow it exactly.
POLICY: dict[str, Any] = {
    "origins": [APP],
    "methods": ["GET", "POST", "PUT"],
    "headers": ["Content-Type", "X-Api-Key"],
    "expose": ["X-Request-Id"],
    "credentials": True,
    "max_age": MaxAge(min=60, max=7200),
}
GOOD: dict[str, Any] = {
    "origins": [APP],
    "regex": None,
    "credentials": True,
    "methods": ["GET", "POST", "PUT"],
    "headers": ["Content-Type", "X-Api-Key"],
    "expose": ["X-Request-Id"],
    "max_age": 600,
}
ANY = "*"  # canonical "every origin / method / header"


@dataclass(frozen=True)
class Case:
    rule: str
    bad: dict[str, Any]  # canonical settings that make the mistake
    policy: dict[str, Any] = field(default_factory=dict)  # changes to POLICY
    good: dict[str, Any] = field(default_factory=dict)  # changes to GOOD the policy needs

    def policy_object(self) -> Policy:
        return build_policy(**{**POLICY, **self.policy})


CASES = [
    Case("any-origin-with-credentials", {"origins": ANY}),
    Case("any-origin", {"origins": ANY}, {"credentials": False}, {"credentials": False}),
    Case("null-origin", {"origins": [APP, "null"]}),
    Case("insecure-origin", {"origins": [APP, "http://app.example.com"]}),
    Case("development-origin", {"origins": [APP, "http://localhost:3000"]}),
    Case("untrusted-origin", {"origins": [], "regex": r"https://.*example\.com"}),
    Case("method-beyond-policy", {"methods": ANY}),
    Case("header-beyond-policy", {"headers": ANY}),
    Case("credentials-refused", {"credentials": False}),
    Case(
        "credentials-beyond-policy",
        {"credentials": True},
        {"credentials": False},
        {"credentials": False},
    ),
    Case("allowed-origin-refused", {"origins": ["https://other.example"]}),
    Case("allowed-method-refused", {"methods": ["GET"]}),
    Case("allowed-header-refused", {"headers": ["Content-Type"]}),
    Case("exposed-header-missing", {"expose": []}),
    Case("preflight-cache-too-long", {"max_age": 86400}),
    Case("preflight-cache-too-short", {"max_age": 5}),
]


# --- the layers -------------------------------------------------------------------------------------


class Layer:
    """One CORS layer: its name in fixes.FIXES, how canonical settings map to its own, and how
    it is served (in-process, or over loopback for Express)."""

    name: str

    def settings(self, canonical: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    def rules(self) -> set[str]:
        return {rule for rule, fix in FIXES[self.name].items() if fix.changes}

    @contextmanager
    def serve(self, configs: dict[str, dict[str, Any]]) -> Iterator[dict[str, Served]]:
        yield {
            name: Served(BASE, _asgi_or_wsgi(self.app(config))) for name, config in configs.items()
        }

    def app(self, settings: dict[str, Any]) -> Any:
        raise NotImplementedError


@dataclass(frozen=True)
class Served:
    base: str
    app: Any = None  # an in-process app; None: `base` is a live server


def _asgi_or_wsgi(app: Any) -> Any:
    return app_of(app)


class Starlette(Layer):
    name = "starlette"

    def settings(self, canonical: dict[str, Any]) -> dict[str, Any]:
        return {
            "allow_origins": ["*"] if canonical["origins"] == ANY else canonical["origins"],
            "allow_origin_regex": canonical["regex"],
            "allow_credentials": canonical["credentials"],
            "allow_methods": ["*"] if canonical["methods"] == ANY else canonical["methods"],
            "allow_headers": ["*"] if canonical["headers"] == ANY else canonical["headers"],
            "expose_headers": canonical["expose"],
            "max_age": canonical["max_age"],
        }

    def app(self, settings: dict[str, Any]) -> Any:
        from fastapi import FastAPI
        from fastapi.middleware.cors import CORSMiddleware
        from fastapi.responses import JSONResponse

        api = FastAPI()
        api.add_middleware(CORSMiddleware, **settings)

        @api.api_route(PATH, methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
        def items() -> JSONResponse:
            return JSONResponse({"items": []}, headers={"X-Request-Id": "7"})

        return api


class Litestar(Starlette):
    name = "litestar"

    def app(self, settings: dict[str, Any]) -> Any:
        return litestar.Litestar([_litestar_items], cors_config=CORSConfig(**settings))


@litestar.route(PATH, http_method=["GET", "POST", "PUT", "PATCH", "DELETE"])
async def _litestar_items() -> litestar.Response[dict[str, list[str]]]:
    return litestar.Response({"items": []}, headers={"X-Request-Id": "7"})


class Flask(Layer):
    name = "flask"

    def settings(self, canonical: dict[str, Any]) -> dict[str, Any]:
        origins = "*" if canonical["origins"] == ANY else canonical["origins"]
        if canonical["regex"]:
            origins = [*origins, canonical["regex"]]  # Flask-CORS reads a regex-like string as one
        return {
            "origins": origins,
            "supports_credentials": canonical["credentials"],
            "methods": ["GET", "HEAD", "POST", "OPTIONS", "PUT", "PATCH", "DELETE"]
            if canonical["methods"] == ANY
            else canonical["methods"],
            "allow_headers": "*" if canonical["headers"] == ANY else canonical["headers"],
            "expose_headers": canonical["expose"],
            "max_age": canonical["max_age"],
        }

    def app(self, settings: dict[str, Any]) -> Any:
        from flask import Flask as App
        from flask_cors import CORS

        api = App(__name__)
        CORS(api, **settings)

        @api.route(PATH, methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
        def items() -> Any:
            return {"items": []}, 200, {"X-Request-Id": "7"}

        return api


class Django(Layer):
    name = "django"

    def settings(self, canonical: dict[str, Any]) -> dict[str, Any]:
        from corsheaders.defaults import default_methods

        return {
            "CORS_ALLOW_ALL_ORIGINS": canonical["origins"] == ANY,
            "CORS_ALLOWED_ORIGINS": [] if canonical["origins"] == ANY else canonical["origins"],
            "CORS_ALLOWED_ORIGIN_REGEXES": [f"^{canonical['regex']}$"]
            if canonical["regex"]
            else [],
            "CORS_ALLOW_CREDENTIALS": canonical["credentials"],
            "CORS_ALLOW_METHODS": list(default_methods)
            if canonical["methods"] == ANY
            else canonical["methods"],
            "CORS_ALLOW_HEADERS": ["*"] if canonical["headers"] == ANY else canonical["headers"],
            "CORS_EXPOSE_HEADERS": canonical["expose"],
            "CORS_PREFLIGHT_MAX_AGE": canonical["max_age"],
        }

    @contextmanager
    def serve(self, configs: dict[str, dict[str, Any]]) -> Iterator[dict[str, Served]]:
        yield {
            name: Served(BASE, LoadedApp(_DjangoApp(config), "wsgi", "django"))
            for name, config in configs.items()
        }


class _DjangoApp:
    """The Django project of this module under one CORS configuration (override_settings: Django
    is configured once a process, django-cors-headers reads its settings on every request)."""

    def __init__(self, settings: dict[str, Any]) -> None:
        self.settings = settings
        self.app = _django_wsgi()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        from django.test import override_settings

        # override_settings swaps process-wide settings: one request at a time, or the threads of
        # the in-process transport would restore each other's.
        with _DJANGO_ONE_AT_A_TIME, override_settings(**self.settings):
            return list(self.app(environ, start_response))


_DJANGO_ONE_AT_A_TIME = threading.Lock()


def _django_wsgi() -> Any:
    import django
    from django.conf import settings

    if not settings.configured:  # one Django configuration per process
        # test_inprocess.py's Django project may have been configured first, or may find this
        # one: the same middleware, a route at the same path, the same CORS defaults (every
        # request here overrides them all).
        settings.configure(
            CORS_ALLOW_ALL_ORIGINS=True,
            CORS_ALLOW_CREDENTIALS=True,
            DEBUG=False,
            SECRET_KEY="corscheck-test",
            ALLOWED_HOSTS=["*"],
            ROOT_URLCONF="tests.e2e.django_urls",
            INSTALLED_APPS=["corsheaders"],
            MIDDLEWARE=[
                "corsheaders.middleware.CorsMiddleware",
                "django.middleware.common.CommonMiddleware",
            ],
        )
    django.setup()
    from django.core.wsgi import get_wsgi_application

    return get_wsgi_application()


class Express(Layer):
    name = "express"

    def settings(self, canonical: dict[str, Any]) -> dict[str, Any]:
        origin: Any = True if canonical["origins"] == ANY else canonical["origins"]
        if canonical["regex"]:
            origin = [*origin, {"$regex": canonical["regex"]}]
        settings: dict[str, Any] = {
            "origin": origin,
            "credentials": canonical["credentials"],
            "exposedHeaders": canonical["expose"],
            "maxAge": canonical["max_age"],
        }
        if canonical["methods"] != ANY:  # cors' default: every method
            settings["methods"] = canonical["methods"]
        if canonical["headers"] != ANY:  # cors' default: the requested headers, echoed
            settings["allowedHeaders"] = canonical["headers"]
        return settings

    @contextmanager
    def serve(self, configs: dict[str, dict[str, Any]]) -> Iterator[dict[str, Served]]:
        node = binary("node", "nodejs")
        if not (NODE_DIR / "node_modules" / "express").is_dir():
            pytest.skip("express is not installed: run `npm ci` in tests/node (.ci/run does)")
        directory = workdir()
        (directory / "configs.json").write_text(json.dumps(configs))
        (port,) = free_ports(1)
        argv = [node, str(NODE_DIR / "configured_cors.js"), str(port), "configs.json"]
        with running(argv, [port], directory):
            yield {name: Served(f"http://127.0.0.1:{port}/{name}") for name in configs}


LAYERS: list[Layer] = [Starlette(), Litestar(), Flask(), Django(), Express()]


# --- the audits -------------------------------------------------------------------------------------


def audit(served: Served, policy: Policy) -> TargetReport:
    config = AuditConfig((Target(served.base + PATH, policy),), depth="standard")
    loaded = served.app
    report: Report = run_async(
        run_config(config, app=loaded, base_url=served.base if loaded else None)
    )
    (target,) = report.targets
    assert not target.errors, target.errors
    return target


def _layer_settings(layer: Layer, case: Case) -> dict[str, Any]:
    return layer.settings({**GOOD, **case.good, **case.bad})


@pytest.mark.parametrize("layer", LAYERS, ids=[layer.name for layer in LAYERS])
def test_every_fix_applied_to_the_real_framework_makes_its_finding_go(layer: Layer) -> None:
    cases = [c for c in CASES if c.rule in layer.rules()]
    assert {c.rule for c in cases} == layer.rules(), "a fix without a case"
    broken = {c.rule: _layer_settings(layer, c) for c in cases}
    right = {c.rule: layer.settings({**GOOD, **c.good}) for c in cases}
    with layer.serve(right) as served:
        # What the layer does wrong even when configured right for the policy (Flask-CORS sends
        # no Vary: Origin for a single allowed origin): a fix need not remove that.
        inherent = {
            c.rule: {f.rule.id for f in audit(served[c.rule], c.policy_object()).active_findings}
            for c in cases
        }
    findings: dict[str, Finding] = {}
    with layer.serve(broken) as served:
        for case in cases:
            target = audit(served[case.rule], case.policy_object())
            found = {f.rule.id: f for f in target.active_findings}
            assert case.rule in found, f"{case.rule}: the mistake is not found: {sorted(found)}"
            # Recognised from the answers, or from the app's class where every answer refuses (a
            # refusal looks the same in every layer): then the fix is worded as a condition.
            assert target.stack is not None and target.stack.layer in (layer.name, "fastapi")
            assert target.stack.certainty in ("certain", "likely"), target.stack
            if target.stack.certainty == "likely":
                assert found[case.rule].fix.startswith("If this is "), found[case.rule].fix
            findings[case.rule] = found[case.rule]
    fixed = {}
    for case in cases:
        finding = findings[case.rule]
        changes = fix_changes(case.rule, layer.name, fix_values(case.policy_object(), finding))
        assert changes is not None, f"{case.rule}: no settings to apply ({finding.fix})"
        for setting in changes:
            assert setting in finding.fix, f"{case.rule}: {setting} is not in {finding.fix!r}"
        fixed[case.rule] = {**broken[case.rule], **changes}
    with layer.serve(fixed) as served:
        remaining = {
            case.rule: {
                f.rule.id for f in audit(served[case.rule], case.policy_object()).active_findings
            }
            - inherent[case.rule]
            for case in cases
        }
    assert remaining == {case.rule: set() for case in cases}
    assert [c.rule for c in cases if c.rule in inherent[c.rule]] == []


# --- no Starlette fix as fact where the answers do not show Starlette ---------------------------------


def _raw_reflecting_asgi() -> Any:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        origin = dict(scope["headers"]).get(b"origin", b"")
        headers = [
            (b"access-control-allow-origin", origin),
            (b"access-control-allow-credentials", b"true"),
        ]
        if scope["method"] == "OPTIONS":
            headers.append((b"access-control-allow-methods", b"GET, POST, PUT"))
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b"{}"})

    return app


def _quart_reflecting() -> Any:
    from quart import Quart, request

    app = Quart(__name__)

    @app.route(PATH, methods=["GET", "POST", "PUT"])
    async def items() -> Any:
        return {"items": []}

    @app.after_request
    async def cors(response: Any) -> Any:
        origin = request.headers.get("Origin")
        if origin:
            response.headers["Access-Control-Allow-Origin"] = origin
            response.headers["Access-Control-Allow-Credentials"] = "true"
        return response

    return app


STARLETTE_WORDS = ("CORSMiddleware",)


@pytest.mark.parametrize(
    ("name", "factory"),
    [
        ("raw ASGI under uvicorn", _raw_reflecting_asgi),
        ("Quart", _quart_reflecting),
        ("Litestar", lambda: Litestar().app({**Starlette().settings({**GOOD, "origins": ANY})})),
    ],
)
def test_no_starlette_fix_is_stated_as_fact_for_other_stacks(
    name: str, factory: Callable[[], Any]
) -> None:
    from .servers import serve_asgi

    with serve_asgi(factory()) as base:
        target = audit(Served(base), build_policy(**POLICY))
    assert target.active_findings, name
    for finding in target.active_findings:
        states_starlette = any(word in finding.fix for word in STARLETTE_WORDS)
        assert not states_starlette or finding.fix.startswith("If this is "), finding.fix
    assert target.stack is None or target.stack.layer not in ("starlette", "fastapi")


def test_a_public_policy_gets_one_finding_whose_fix_drops_credentials() -> None:
    """--allow-origin '*' against FastAPI's allow_origins=["*"] with credentials: one finding, and
    its fix (allow_credentials=False, which fits the policy) applied makes the audit clean."""
    layer = Starlette()
    public = build_policy(origins=["*"])
    broken = layer.settings({**GOOD, "origins": ANY})
    with layer.serve({"public": broken}) as served:
        target = audit(served["public"], public)
    (finding,) = target.active_findings
    assert finding.rule.id == "any-origin-with-credentials"
    changes = fix_changes(finding.rule.id, layer.name, fix_values(public, finding))
    assert changes == {"allow_credentials": False}
    assert "allow_credentials=False" in finding.fix
    with layer.serve({"public": {**broken, **changes}}) as served:
        assert audit(served["public"], public).active_findings == ()

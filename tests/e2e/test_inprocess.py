"""`audit --app`: the same app audited in-process and over a real loopback server gives the same
findings; bad --app values are one line and exit 2."""

from __future__ import annotations

import json
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from corscheck.cli import app

from .servers import serve_asgi, serve_wsgi

APPS = {
    "fastapi_wildcard": """
        from fastapi import FastAPI
        from fastapi.middleware.cors import CORSMiddleware
        app = FastAPI()
        app.add_middleware(CORSMiddleware, allow_origins=["*"], allow_credentials=True)
        @app.get("/api/items")
        def items():
            return {"items": []}
    """,
    "fastapi_strict": """
        from fastapi import FastAPI
        from fastapi.middleware.cors import CORSMiddleware
        app = FastAPI()
        app.add_middleware(CORSMiddleware, allow_origins=["http://localhost:3000"], allow_credentials=True)
        @app.get("/api/items")
        def items():
            return {"items": []}
    """,
    "flask_wildcard": """
        from flask import Flask
        from flask_cors import CORS
        app = Flask(__name__)
        CORS(app, origins="*", supports_credentials=True)
        @app.get("/api/items")
        def items():
            return {"items": []}
    """,
    "starlette_factory": """
        from starlette.applications import Starlette
        from starlette.middleware import Middleware
        from starlette.middleware.cors import CORSMiddleware
        from starlette.responses import JSONResponse
        from starlette.routing import Route
        async def items(request):
            return JSONResponse({"items": []})
        def create_app():
            return Starlette(routes=[Route("/api/items", items)],
                             middleware=[Middleware(CORSMiddleware, allow_origins=["https://app.example.com"])])
    """,
    "django_project": """
        import django
        from django.conf import settings
        from django.http import JsonResponse
        from django.urls import path

        def items(request):
            return JsonResponse({"items": []})

        urlpatterns = [path("api/items", items)]
        if not settings.configured:  # one Django configuration per process
            settings.configure(
                DEBUG=False,
                SECRET_KEY="corscheck-test",
                ALLOWED_HOSTS=["*"],
                ROOT_URLCONF=__name__,
                INSTALLED_APPS=["corsheaders"],
                MIDDLEWARE=["corsheaders.middleware.CorsMiddleware", "django.middleware.common.CommonMiddleware"],
                CORS_ALLOW_ALL_ORIGINS=True,
                CORS_ALLOW_CREDENTIALS=True,
            )
        django.setup()
        from django.core.wsgi import get_wsgi_application
        app = get_wsgi_application()
    """,
    "broken_startup": """
        from contextlib import asynccontextmanager
        from fastapi import FastAPI
        @asynccontextmanager
        async def lifespan(app):
            raise RuntimeError("database unreachable")
            yield
        app = FastAPI(lifespan=lifespan)
    """,
    "raises_on_import": """
        raise RuntimeError("bad settings")
    """,
    "not_an_app": """
        app = 42
    """,
}


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    for name, source in APPS.items():
        (tmp_path / f"{name}.py").write_text(textwrap.dedent(source))
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    for name in APPS:
        sys.modules.pop(name, None)


def rules_in_process(spec: str, *extra: str) -> set[str]:
    result = CliRunner().invoke(
        app,
        ["audit", "--app", spec, "/api/items", "--format", "json", "--fail-on", "never", *extra],
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["targets"][0]["errors"] == []
    return {f["rule"] for f in report["targets"][0]["findings"]}


def rules_over_network(base: str, *extra: str) -> set[str]:
    result = CliRunner().invoke(
        app, ["audit", base + "/api/items", "--format", "json", "--fail-on", "never", *extra]
    )
    report = json.loads(result.stdout)
    return {f["rule"] for f in report["targets"][0]["findings"]}


@pytest.mark.parametrize("name", ["fastapi_wildcard", "fastapi_strict"])
def test_asgi_in_process_matches_loopback(project: Path, name: str) -> None:
    module = __import__(name)
    with serve_asgi(module.app) as base:
        over_network = rules_over_network(base)
    assert rules_in_process(f"{name}:app") == over_network
    assert over_network  # both configurations have something to report without a policy


def test_wsgi_in_process_matches_loopback(project: Path) -> None:
    module = __import__("flask_wildcard")
    with serve_wsgi(module.app) as base:
        over_network = rules_over_network(base)
    assert "any-origin-with-credentials" in over_network
    assert rules_in_process("flask_wildcard:app") == over_network


def test_django_in_process_matches_loopback(project: Path) -> None:
    module = __import__("django_project")
    with serve_wsgi(module.app) as base:
        over_network = rules_over_network(base)
    assert "any-origin-with-credentials" in over_network
    assert rules_in_process("django_project:app") == over_network
    result = CliRunner().invoke(
        app,
        [
            "audit",
            "--app",
            "django_project:app",
            "/api/items",
            "--format",
            "json",
            "--framework",
            "django",
        ],
    )
    assert any("CORS_ALLOW_ALL_ORIGINS" in f for f in fixes(result.stdout))


def verdicts(stdout: str) -> dict[tuple[str, str, str, str], bool]:
    """(origin, method, headers, credentials) -> allowed, for every probe of the first target."""
    from corscheck.report.codec import decode_report

    probes = decode_report(json.loads(stdout)).targets[0].probes
    return {
        (
            r.planned.probe.origin,
            r.planned.probe.method,
            json.dumps([name for name, _ in r.planned.probe.headers]),
            r.planned.probe.credentials,
        ): r.verdict.allowed
        for r in probes
    }


@pytest.mark.parametrize(
    ("spec", "factory"),
    [
        ("starlette_factory:create_app()", "create_app"),
        ("fastapi_strict:app", None),
        ("django_project:app", None),
    ],
    ids=["starlette", "fastapi", "django"],
)
def test_same_verdicts_in_process_and_over_loopback(
    project: Path, spec: str, factory: str | None
) -> None:
    module = __import__(spec.split(":")[0])
    target = getattr(module, factory)() if factory else module.app
    policy = ["--allow-origin", "https://app.example.com", "--fail-on", "never", "--format", "json"]
    serve = serve_wsgi if spec.startswith("django") else serve_asgi
    with serve(target) as base:
        network = CliRunner().invoke(app, ["audit", base + "/api/items", *policy])
    in_process = CliRunner().invoke(app, ["audit", "--app", spec, "/api/items", *policy])
    over_network, inside = verdicts(network.stdout), verdicts(in_process.stdout)
    shared = set(over_network) & set(inside)  # origins derived from the target's own host differ
    assert len(shared) >= 20
    assert {k: over_network[k] for k in shared} == {k: inside[k] for k in shared}


def test_factory_with_policy(project: Path) -> None:
    found = rules_in_process(
        "starlette_factory:create_app()", "--allow-origin", "https://app.example.com"
    )
    assert found == set()


BAD_APPS = [
    ("missing-module", "no_such_module:app", "no module named"),
    ("missing-attribute", "fastapi_strict:nope", "has no attribute"),
    ("not-an-app", "not_an_app:app", "not an ASGI or WSGI app"),
    ("raises-on-import", "raises_on_import:app", "bad settings"),
    ("fails-at-startup", "broken_startup:app", "failed to start"),
    ("no-colon", "fastapi_strict", "module:attribute"),
]


@pytest.mark.parametrize(
    ("spec", "message"), [b[1:] for b in BAD_APPS], ids=[b[0] for b in BAD_APPS]
)
def test_bad_app_is_one_line_and_exit_2(project: Path, spec: str, message: str) -> None:
    result = CliRunner().invoke(app, ["audit", "--app", spec])
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1


def fixes(result_stdout: str) -> list[str]:
    report = json.loads(result_stdout)
    return [f["fix"] for t in report["targets"] for f in t["findings"]]


def test_in_process_fix_names_the_framework_setting(project: Path) -> None:
    result = CliRunner().invoke(
        app, ["audit", "--app", "fastapi_wildcard:app", "/api/items", "--format", "json"]
    )
    assert any(
        "app.add_middleware(CORSMiddleware, allow_origins=[<your front-end origins>]" in f
        for f in fixes(result.stdout)
    )


def test_fix_for_a_framework_the_server_gives_away_or_the_user_names(project: Path) -> None:
    module = __import__("fastapi_wildcard")
    with serve_asgi(module.app) as base:
        detected = CliRunner().invoke(app, ["audit", base + "/api/items", "--format", "json"])
        named = CliRunner().invoke(
            app, ["audit", base + "/api/items", "--format", "json", "--framework", "express"]
        )
    # Recognised by CORSMiddleware's own preflight answer, not by Server: uvicorn.
    assert any(
        f.startswith("Use app.add_middleware(CORSMiddleware") for f in fixes(detected.stdout)
    )
    assert any(
        "app.use(cors({ origin: [<your front-end origins>], credentials: true }))" in f
        for f in fixes(named.stdout)
    )


def test_flask_fix(project: Path) -> None:
    result = CliRunner().invoke(
        app, ["audit", "--app", "flask_wildcard:app", "/api/items", "--format", "json"]
    )
    assert any("supports_credentials=True" in f for f in fixes(result.stdout))


def test_app_targets_from_a_file_are_paths_and_add_no_root(project: Path) -> None:
    listing = project / "paths.txt"
    listing.write_text("/api/items\napi/items?page=2\nhttp://testserver/api/items?page=3\n")
    args = ["--format", "json", "--fail-on", "never", "--depth", "quick"]
    result = CliRunner().invoke(
        app, ["audit", "--app", "fastapi_strict:app", "-i", str(listing), *args]
    )
    assert result.exit_code == 0, result.output
    targets = json.loads(result.stdout)["targets"]
    assert [t["given_url"] for t in targets] == [
        "http://testserver/api/items",
        "http://testserver/api/items?page=2",
        "http://testserver/api/items?page=3",
    ]
    # Judged as the https deployment an in-process app stands for (deployment.py).
    assert [t["url"] for t in targets] == [
        u.replace("http:", "https:", 1)
        for u in (
            "http://testserver/api/items",
            "http://testserver/api/items?page=2",
            "http://testserver/api/items?page=3",
        )
    ]

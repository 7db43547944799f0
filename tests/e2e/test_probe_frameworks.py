"""`corscheck probe` against real Starlette CORSMiddleware apps under uvicorn, the two configurations of
FastAPI's CORS guide."""

from __future__ import annotations

import json

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from typer.testing import CliRunner

from corscheck.cli import app

from .servers import serve_asgi


async def items(request: Request) -> JSONResponse:
    return JSONResponse({"items": []})


def starlette_app(**cors: object) -> Starlette:
    return Starlette(
        routes=[Route("/items", items, methods=["GET", "PUT"])],
        middleware=[Middleware(CORSMiddleware, **cors)],  # type: ignore[arg-type]
    )


def probe(url: str, *args: str) -> dict[str, object]:
    result = CliRunner().invoke(app, ["probe", url, "--format", "json", *args])
    assert result.exit_code == 0, result.output
    data: dict[str, object] = json.loads(result.output)
    return data


def browser(data: dict[str, object]) -> dict[str, object]:
    verdict = data["browser"]
    assert isinstance(verdict, dict)
    return verdict


def test_explicit_origins_with_credentials() -> None:
    config = starlette_app(
        allow_origins=["https://app.example.com"],
        allow_credentials=True,
        allow_methods=["GET", "PUT"],
    )
    with serve_asgi(config) as base:
        allowed = browser(
            probe(base + "/items", "--origin", "https://app.example.com", "--credentials")
        )
        other = browser(probe(base + "/items", "--origin", "https://evil.example", "--credentials"))
        put = browser(
            probe(
                base + "/items",
                "--origin",
                "https://app.example.com",
                "--method",
                "PUT",
                "--send-unsafe",
            )
        )
    assert allowed["allowed"] is True and allowed["preflight"] is False
    assert other["allowed"] is False
    assert other["reason_id"] == "CHECK-ACAO-MISSING"
    assert put["allowed"] is True and put["preflight"] is True and put["actual_checked"] is True


def test_wildcard_with_credentials_reflects_the_attacker() -> None:
    config = starlette_app(allow_origins=["*"], allow_credentials=True)
    with serve_asgi(config) as base:
        data = probe(base + "/items", "--origin", "https://evil.example", "--credentials")
    verdict = browser(data)
    assert verdict["allowed"] is True
    exchange = data["exchange"]
    assert isinstance(exchange, dict)
    lines = [(n.lower(), v.strip()) for n, v in exchange["hops"][0]["response"]["headers"]]
    assert ("access-control-allow-origin", "https://evil.example") in lines
    assert ("access-control-allow-credentials", "true") in lines


def test_probe_console_explains_a_block() -> None:
    config = starlette_app(allow_origins=["https://app.example.com"])
    with serve_asgi(config) as base:
        result = CliRunner().invoke(
            app,
            ["probe", base + "/items", "--origin", "https://evil.example", "-H", "X-Api-Key: 1"],
        )
    assert result.exit_code == 0
    assert "BLOCKED" in result.output
    assert "preflight" in result.output
    assert "Response to preflight request doesn't pass access control check" in result.output

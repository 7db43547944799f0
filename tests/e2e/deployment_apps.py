"""FastAPI apps deployed the ways that break CORS outside the allow-list (issue 24): a route that
raises, an authentication middleware outside CORSMiddleware, and an app behind a TLS-terminating
proxy that does not say X-Forwarded-Proto. Each allows the same front-ends, correctly."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from starlette.responses import JSONResponse

FRONT_ENDS = ["https://app.corscheck-lab.test", "https://admin.corscheck-lab.test"]


def _with_cors(app: FastAPI) -> FastAPI:
    app.add_middleware(
        CORSMiddleware,
        allow_origins=FRONT_ENDS,
        allow_methods=["GET", "PUT"],
        allow_headers=["Content-Type", "Authorization"],
        allow_credentials=True,
    )
    return app


def _routes(app: FastAPI) -> FastAPI:
    @app.get("/api/items")
    def items() -> list[str]:
        return ["a", "b"]

    @app.get("/api/boom")
    def boom() -> list[str]:
        raise RuntimeError("the handler failed")

    return app


# A route that raises: ServerErrorMiddleware answers 500 outside CORSMiddleware.
raising = _with_cors(_routes(FastAPI()))

# Authentication outside CORS: added after CORSMiddleware, so it runs first and its 401 has no
# CORS headers (preflights too, when they carry no credentials).
authenticated = _routes(FastAPI())
_with_cors(authenticated)


@authenticated.middleware("http")
async def require_token(request: Request, call_next: Any) -> Any:
    if request.headers.get("authorization") != "Bearer corscheck-e2e-token":
        return JSONResponse({"detail": "not authenticated"}, status_code=401)
    return await call_next(request)


def _behind_tls_proxy(inner: Any) -> Any:
    """What the app sees behind a TLS-terminating proxy that sends no X-Forwarded-Proto: http."""

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            scope = {**scope, "scheme": "http"}
        await inner(scope, receive, send)

    return app


# FastAPI's redirect_slashes answers /api/items/ with 307 to http://…/api/items.
behind_proxy = _behind_tls_proxy(_with_cors(_routes(FastAPI())))

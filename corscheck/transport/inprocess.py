"""A transport into an ASGI or WSGI app in-process: httpx's ASGITransport (and a WSGI one in a thread),
with the app's ASGI lifespan started before the run and shut down after it. No server, no socket."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx

from corscheck.errors import UsageError
from corscheck.exchange import Request, Response
from corscheck.transport.app import LoadedApp
from corscheck.transport.asgi_websocket import asgi_handshake
from corscheck.transport.base import Transport
from corscheck.transport.httpx_adapter import httpx_transport
from corscheck.transport.options import DEFAULT_BASE_URL, RunOptions
from corscheck.transport.websocket import Handshake


@asynccontextmanager
async def app_transport(
    loaded: LoadedApp, base_url: str = DEFAULT_BASE_URL
) -> AsyncIterator[Transport]:
    """A transport into the app, with the ASGI lifespan started before and shut down after."""
    if loaded.kind == "wsgi":
        client = httpx.AsyncClient(transport=_AsyncWSGITransport(loaded.app), base_url=base_url)
        async with client:
            yield httpx_transport(client)
        return
    async with _lifespan(loaded.app):
        # An unhandled exception is answered 500 as a server would (Starlette's
        # ServerErrorMiddleware sends it, then re-raises), not raised into the audit.
        asgi = httpx.ASGITransport(app=loaded.app, raise_app_exceptions=False)
        client = httpx.AsyncClient(
            transport=asgi,
            base_url=base_url,
        )
        async with client:
            yield _AsgiTransport(httpx_transport(client), loaded.app)


class _AsgiTransport:
    """The httpx transport into an ASGI app, and WebSocket handshakes into it (asgi_websocket.py)."""

    def __init__(self, http: Transport, app: Any) -> None:
        self._http = http
        self._app = app

    async def send(self, request: Request) -> Response:
        return await self._http.send(request)

    async def read(self, request: Request, limit: int) -> tuple[Response, bytes]:
        return await self._http.read(request, limit)

    async def handshake(self, request: Request, options: RunOptions) -> Handshake:
        return await asgi_handshake(self._app, request, options.timeout)

    async def aclose(self) -> None:
        await self._http.aclose()


class _AsyncWSGITransport(httpx.AsyncBaseTransport):
    """httpx's WSGITransport is synchronous; run it in a thread so the runner's loop keeps going."""

    def __init__(self, app: Any) -> None:
        self._sync = httpx.WSGITransport(app=app)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        sync_request = httpx.Request(
            request.method, request.url, headers=request.headers, content=body
        )
        response = await asyncio.to_thread(self._sync.handle_request, sync_request)
        content = await asyncio.to_thread(response.read)
        return httpx.Response(response.status_code, headers=response.headers.raw, content=content)


@asynccontextmanager
async def _lifespan(app: Callable[..., Any]) -> AsyncIterator[None]:
    to_app: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    from_app: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    async def receive() -> dict[str, Any]:
        return await to_app.get()

    async def send(message: dict[str, Any]) -> None:
        await from_app.put(message)

    scope = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"}, "state": {}}
    task = asyncio.create_task(app(scope, receive, send))
    await to_app.put({"type": "lifespan.startup"})
    message = await _next_message(task, from_app)
    if message is None:
        # The app does not speak lifespan (ASGI: the server then goes on without it).
        yield
        return
    if message["type"] == "lifespan.startup.failed":
        # Starlette sends the whole traceback; its last line names the exception.
        lines = [line for line in str(message.get("message") or "").splitlines() if line.strip()]
        reason = lines[-1].strip() if lines else "startup failed"
        raise UsageError(f"--app: the app failed to start: {reason}")
    try:
        yield
    finally:
        await to_app.put({"type": "lifespan.shutdown"})
        await _next_message(task, from_app)


async def _next_message(
    task: asyncio.Task[Any], messages: asyncio.Queue[dict[str, Any]]
) -> dict[str, Any] | None:
    getter = asyncio.ensure_future(messages.get())
    done, _ = await asyncio.wait({task, getter}, return_when=asyncio.FIRST_COMPLETED)
    if getter in done:
        return getter.result()
    getter.cancel()
    if task.exception() is not None and not messages.empty():
        return messages.get_nowait()
    return None

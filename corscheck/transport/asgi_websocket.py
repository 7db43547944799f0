"""A WebSocket opening handshake into an ASGI app in-process, as a server would drive it: the app
gets a `websocket` scope and `websocket.connect`; `websocket.accept` is a 101, a close before it a
403 (what uvicorn and daphne answer), a denial response (`websocket.http.response.start`) its own
status. After an accept the app is watched as on the network (transport/websocket.py): its first
message or an immediate close, then `websocket.disconnect` with 1000. No data is ever sent to it.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any
from urllib.parse import unquote, urlsplit

from corscheck.errors import TargetError
from corscheck.exchange import Request, Response
from corscheck.headers import HeaderList
from corscheck.transport.websocket import MAX_FIRST_MESSAGE, WATCH_SECONDS, Handshake

_ACCEPT_LINES = (("Upgrade", "websocket"), ("Connection", "Upgrade"))


async def asgi_handshake(app: Any, request: Request, timeout: float) -> Handshake:
    """Drives `app` through one handshake of `request` (a ws:// or wss:// URL). Raises TargetError
    when the app neither accepts nor refuses within `timeout`."""
    parts = urlsplit(request.url)
    secure = parts.scheme.lower() == "wss"
    host = parts.hostname or "testserver"
    port = parts.port or (443 if secure else 80)
    scope: dict[str, Any] = {
        "type": "websocket",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "scheme": "wss" if secure else "ws",
        "path": unquote(parts.path or "/"),
        "raw_path": (parts.path or "/").encode("latin-1"),
        "query_string": parts.query.encode("latin-1"),
        "root_path": "",
        "headers": [(b"host", parts.netloc.encode("latin-1"))]
        + [(n.lower().encode("latin-1"), v.encode("latin-1")) for n, v in request.headers],
        "client": ("127.0.0.1", 50000),
        "server": (host, port),
        "subprotocols": [],
        "state": {},
        "extensions": {"websocket.http.response": {}},
    }
    to_app: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    from_app: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    await to_app.put({"type": "websocket.connect"})
    running = asyncio.ensure_future(app(scope, to_app.get, from_app.put))
    try:
        first = await _next(from_app, running, timeout)
        if first is None:
            raise TargetError(
                "timeout", f"the app neither accepted nor refused within {timeout:g} s"
            )
        kind = first.get("type")
        if kind == "websocket.http.response.start":
            status = int(first.get("status", 403))
            return Handshake(Response(status, _lines(first.get("headers", ()))))
        if kind != "websocket.accept":
            return Handshake(Response(403 if kind == "websocket.close" else 500, HeaderList(())))
        accepted = Response(
            101, HeaderList((*_ACCEPT_LINES, *_lines(first.get("headers", ())).lines))
        )
        then = await _next(from_app, running, WATCH_SECONDS)
        if then is None:
            return Handshake(accepted)
        if then.get("type") == "websocket.close":
            return Handshake(accepted, int(then.get("code", 1000)))
        message = then.get("bytes") or (then.get("text") or "").encode("utf-8")
        return Handshake(accepted, None, message[:MAX_FIRST_MESSAGE])
    finally:
        await to_app.put({"type": "websocket.disconnect", "code": 1000})
        if not running.done():
            with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(asyncio.shield(running), WATCH_SECONDS)
            running.cancel()
        with contextlib.suppress(BaseException):
            await running


async def _next(
    from_app: asyncio.Queue[dict[str, Any]], running: asyncio.Future[Any], within: float
) -> dict[str, Any] | None:
    """The app's next message, or None when none comes within `within` seconds (or it ended)."""
    getting = asyncio.ensure_future(from_app.get())
    done, _ = await asyncio.wait(
        {getting, running}, timeout=within, return_when=asyncio.FIRST_COMPLETED
    )
    if getting in done:
        return getting.result()
    getting.cancel()
    if running in done and running.exception() is not None:
        return {"type": "websocket.http.response.start", "status": 500}  # the app raised: a 500
    return None


def _lines(headers: Any) -> HeaderList:
    return HeaderList(
        tuple((bytes(n).decode("latin-1"), bytes(v).decode("latin-1")) for n, v in headers)
    )

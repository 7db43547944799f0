"""The visitor's apps (issue 23): servers whose CORS answer depends on what a logged-in visitor's
browser sends, each a raw ASGI app so that its behaviour is exactly the one named.

- `cookie_branching`: Starlette's CORSMiddleware up to 0.52 with `allow_origins=["*"]` and
  `allow_credentials=True`: a preflight reflects the Origin with credentials; an actual request
  reflects it only when the request carries a Cookie, and answers `*` otherwise.
- `fetch_metadata`: the web.dev resource-isolation policy (403, no CORS headers, for a cross-site
  request that is not a top-level navigation) in front of a CORS layer that reflects any Origin
  with credentials.
- `lax_session`: a CORS layer that reflects any Origin with credentials, in front of an API whose
  session cookie is `SameSite=Lax`: 200 with the user's data with the cookie, 401 without.

Each serves `/login`, a top-level page that sets its session cookie (the browser tests visit it, as a
user logging in would), and `/api/me`, the user's data. `SESSION` names the cookie.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
Headers = list[tuple[str, str]]

SESSION = "session"
USER_DATA = b'{"user": "alice", "email": "alice@corscheck-lab.test"}'
NOT_LOGGED_IN = b'{"error": "not logged in"}'


def _header(scope: Scope, name: str) -> str | None:
    wanted = name.lower().encode("latin-1")
    for key, value in scope["headers"]:
        if key.lower() == wanted:
            return str(value.decode("latin-1"))
    return None


def _has_session(scope: Scope) -> bool:
    cookie = _header(scope, "cookie") or ""
    return any(part.strip().startswith(SESSION + "=") for part in cookie.split(";"))


async def _reply(send: Send, status: int, headers: Headers, body: bytes = b"") -> None:
    lines = [(n.lower().encode("latin-1"), v.encode("latin-1")) for n, v in headers]
    if body:
        lines.append((b"content-type", b"application/json"))
    lines.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": lines})
    await send({"type": "http.response.body", "body": body})


async def _login(scope: Scope, send: Send, same_site: str) -> None:
    cookie = f"{SESSION}=s3cr3t-session-value; Path=/; Secure; HttpOnly; SameSite={same_site}"
    await _reply(send, 200, [("Set-Cookie", cookie), ("Content-Type", "text/html")], b"logged in")


async def _user_data(scope: Scope, send: Send, cors: Headers) -> None:
    if _has_session(scope):
        await _reply(send, 200, cors, USER_DATA)
    else:
        await _reply(send, 401, cors, NOT_LOGGED_IN)


def _reflect_with_credentials(scope: Scope) -> Headers:
    origin = _header(scope, "origin")
    if origin is None:
        return []
    return [
        ("Access-Control-Allow-Origin", origin),
        ("Access-Control-Allow-Credentials", "true"),
        ("Vary", "Origin"),
    ]


def _preflight_grant(scope: Scope, cors: Headers) -> Headers:
    requested = _header(scope, "access-control-request-headers")
    grant = [*cors, ("Access-Control-Allow-Methods", "GET, POST, PUT, PATCH, DELETE")]
    if requested:
        grant.append(("Access-Control-Allow-Headers", requested))
    return grant


def _is_preflight(scope: Scope) -> bool:
    return (
        scope["method"] == "OPTIONS" and _header(scope, "access-control-request-method") is not None
    )


def _app(handle: Callable[[Scope, Send], Awaitable[None]]) -> ASGIApp:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            for _ in range(2):  # startup, then shutdown
                message = await receive()
                await send({"type": message["type"] + ".complete"})
            return
        await handle(scope, send)

    return app


async def _cookie_branching(scope: Scope, send: Send) -> None:
    if scope["path"] == "/login":
        await _login(scope, send, "None")
        return
    origin = _header(scope, "origin")
    if _is_preflight(scope):
        await _reply(send, 200, _preflight_grant(scope, _reflect_with_credentials(scope)))
        return
    if origin is None:
        cors: Headers = []
    elif _header(scope, "cookie") is not None:
        # "If request includes any cookie headers, then we must respond with the specific origin
        # instead of '*'." (starlette/middleware/cors.py, up to 0.52)
        cors = _reflect_with_credentials(scope)
    else:
        cors = [("Access-Control-Allow-Origin", "*"), ("Access-Control-Allow-Credentials", "true")]
    await _user_data(scope, send, cors)


async def _fetch_metadata(scope: Scope, send: Send) -> None:
    if scope["path"] == "/login":
        await _login(scope, send, "None")
        return
    site = _header(scope, "sec-fetch-site")
    mode = _header(scope, "sec-fetch-mode")
    navigation = mode == "navigate" and scope["method"] == "GET"
    if site not in (None, "same-origin", "same-site", "none") and not navigation:
        # https://web.dev/articles/fetch-metadata: reject cross-site requests that are not
        # top-level navigations, before any other layer answers.
        await _reply(send, 403, [], b'{"error": "cross-site request refused"}')
        return
    await _reflecting_api(scope, send)


async def _lax_session(scope: Scope, send: Send) -> None:
    if scope["path"] == "/login":
        await _login(scope, send, "Lax")
        return
    await _reflecting_api(scope, send)


async def _reflecting_api(scope: Scope, send: Send) -> None:
    """A CORS layer that reflects any Origin with credentials, before the user's data."""
    cors = _reflect_with_credentials(scope)
    if _is_preflight(scope):
        await _reply(send, 204, _preflight_grant(scope, cors))
        return
    await _user_data(scope, send, cors)


cookie_branching = _app(_cookie_branching)
fetch_metadata = _app(_fetch_metadata)
lax_session = _app(_lax_session)

# The session cookie each app's /login sets, as `--cookie` describes it.
COOKIES = {
    "cookie_branching": f"{SESSION}=s3cr3t-session-value; Path=/; Secure; HttpOnly; SameSite=None",
    "fetch_metadata": f"{SESSION}=s3cr3t-session-value; Path=/; Secure; HttpOnly; SameSite=None",
    "lax_session": f"{SESSION}=s3cr3t-session-value; Path=/; Secure; HttpOnly; SameSite=Lax",
}

"""The loopback benchmark server as a raw ASGI 3 app, for in-process audits (`audit --app`).

    PYTHONPATH=.:benchmarks python -m corscheck audit --app asgi_target:app -i urls.txt

from the repository root, urls.txt holding lines like http://testserver/t/0 (with --app, -i lines
are audited as written; only URLs given as arguments are paths). /t/<n> answers as
cors_target_server.py does, with its own `cors_lines`, so both benchmark modes audit the same four
behaviours by n % 4 and differ only in the transport. No framework, as its routing and middleware
would be measured along with corscheck. Answers the `lifespan` scope too: corscheck runs the app's
lifespan around the audit.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from cors_target_server import cors_lines

Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

BODY = b'{"ok":true}'


def target_number(path: str) -> int:
    """n in /t/<n>; anything else acts as n = 1 (the correct policy), as in the network server."""
    try:
        return int(path.rsplit("/", 1)[-1])
    except ValueError:
        return 1


async def app(scope: Message, receive: Receive, send: Send) -> None:
    if scope["type"] == "lifespan":
        await lifespan(receive, send)
        return
    if scope["type"] != "http":
        return  # websockets are not part of the benchmark
    # Drain the request body (corscheck sends none unless --send-unsafe): bounded by the request.
    while (await receive()).get("more_body", False):
        pass
    method = scope["method"]
    origin = next((v for k, v in scope["headers"] if k.lower() == b"origin"), None)
    # As in the network server, every OPTIONS is answered as a preflight.
    preflight = method == "OPTIONS"
    body = b"" if method in ("OPTIONS", "HEAD") else BODY
    headers = [(b"content-type", b"application/json")]
    for line in cors_lines(target_number(scope["path"]), origin, preflight):
        name, _, value = line.partition(b": ")
        headers.append((name.lower(), value))  # ASGI header names are lower case
    headers.append((b"content-length", b"%d" % len(body)))
    await send(
        {"type": "http.response.start", "status": 204 if preflight else 200, "headers": headers}
    )
    await send({"type": "http.response.body", "body": body})


async def lifespan(receive: Receive, send: Send) -> None:
    """Startup and shutdown have nothing to do; the loop ends with the shutdown message."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return

"""A bundled, deliberately misconfigured API on a loopback port, and the policy it was meant to follow.

Each route reproduces a CORS mistake seen in real deployments; `/api/status` is the one done right.
"""

from __future__ import annotations

import re
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from corscheck.config import AuditConfig
from corscheck.policy import MaxAge, Policy, build_policy
from corscheck.target import Target
from corscheck.transport.options import RunOptions

FRONTEND = "https://app.example.com"
DEMO_POLICY: Policy = build_policy(
    origins=[FRONTEND],
    methods=["GET", "POST", "PUT"],
    headers=["Content-Type", "Authorization"],
    expose=["X-Request-Id"],
    credentials=True,
    max_age=MaxAge(min=600, max=7200),
)

HeaderLines = list[tuple[str, str]]
# (the request's Origin or None, whether it is a preflight) -> (status, response header lines)
Route = Callable[[str | None, bool], tuple[int, HeaderLines]]

_PREFLIGHT_OK = [
    ("Access-Control-Allow-Methods", "GET, POST, PUT"),
    ("Access-Control-Allow-Headers", "Content-Type, Authorization"),
    ("Access-Control-Max-Age", "600"),
]


def _grant(
    origin: str, preflight: bool, *, credentials: bool = True, vary: bool = True
) -> HeaderLines:
    lines = [("Access-Control-Allow-Origin", origin)]
    if credentials:
        lines.append(("Access-Control-Allow-Credentials", "true"))
    if vary:
        lines.append(("Vary", "Origin"))
    if preflight:
        lines += _PREFLIGHT_OK
    else:
        lines.append(("Access-Control-Expose-Headers", "X-Request-Id"))
    return lines


def _profile(origin: str | None, preflight: bool) -> tuple[int, HeaderLines]:
    # Starlette's CORSMiddleware(allow_origins=["*"], allow_credentials=True) reflects every origin.
    return (200, _grant(origin, preflight)) if origin else (200, [])


def _orders(origin: str | None, preflight: bool) -> tuple[int, HeaderLines]:
    # `origin.endswith("example.com")`: trusts attackerexample.com; and forgets Vary: Origin.
    if origin and origin.startswith("https://") and origin.endswith("example.com"):
        return 200, _grant(origin, preflight, vary=False)
    return 200, []


def _embed(origin: str | None, preflight: bool) -> tuple[int, HeaderLines]:
    # "null" added to the allow-list so that a sandboxed widget works.
    if origin in (FRONTEND, "null"):
        return 200, _grant(origin, preflight)
    return 200, [("Vary", "Origin")]


def _legacy(origin: str | None, preflight: bool) -> tuple[int, HeaderLines]:
    # Compares the host only, so http://app.example.com passes too.
    if origin and re.fullmatch(r"https?://app\.example\.com", origin):
        return 200, _grant(origin, preflight)
    return 200, [("Vary", "Origin")]


def _admin(origin: str | None, preflight: bool) -> tuple[int, HeaderLines]:
    # Right origin check, but the preflight opens every method and header, cached for a day.
    if origin != FRONTEND:
        return 200, [("Vary", "Origin")]
    lines = _grant(origin, False)
    if preflight:
        lines += [
            ("Access-Control-Allow-Methods", "GET, POST, PUT, PATCH, DELETE"),
            ("Access-Control-Allow-Headers", "*"),
            ("Access-Control-Max-Age", "86400"),
        ]
    return 200, lines


def _reports(origin: str | None, preflight: bool) -> tuple[int, HeaderLines]:
    # The wildcard with credentials: browsers refuse it, so the real front-end's cookies never work.
    lines = [("Access-Control-Allow-Origin", "*"), ("Access-Control-Allow-Credentials", "true")]
    return 200, lines + (_PREFLIGHT_OK if preflight else [])


def _search(origin: str | None, preflight: bool) -> tuple[int, HeaderLines]:
    # The app and a reverse proxy in front of it both add the header: two lines, which browsers refuse.
    if origin != FRONTEND:
        return 200, [("Vary", "Origin")]
    return 200, [("Access-Control-Allow-Origin", origin), *_grant(origin, preflight)]


def _status(origin: str | None, preflight: bool) -> tuple[int, HeaderLines]:
    if origin != FRONTEND:
        return 200, [("Vary", "Origin")]
    return 200, _grant(origin, preflight)


ROUTES: dict[str, Route] = {
    "/api/profile": _profile,
    "/api/orders": _orders,
    "/api/embed": _embed,
    "/api/legacy": _legacy,
    "/api/admin": _admin,
    "/api/reports": _reports,
    "/api/search": _search,
    "/api/status": _status,
}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "corscheck-demo"
    # Head and body go out in separate writes: without this, Nagle's algorithm meets the client's
    # delayed ACK and every keep-alive response waits 40 ms.
    disable_nagle_algorithm = True
    routes: dict[str, Route] = ROUTES

    def _answer(self, preflight: bool) -> None:
        path = self.path.split("?", 1)[0]
        route = self.routes.get(path)
        lines: HeaderLines
        if route is None:
            # The CORS layer wraps the whole app, as a framework's middleware does: a path that
            # does not exist is answered 404 with the CORS headers of the app's first route.
            first = next(iter(self.routes.values()))
            lines = first(self.headers.get("Origin"), preflight)[1]
            status, body = 404, b'{"error": "not found"}'
        else:
            status, lines = route(self.headers.get("Origin"), preflight)
            body = b"" if preflight else b'{"demo": true}'
        self.send_response(status)
        for name, value in lines:
            self.send_header(name, value)
        if not preflight:
            self.send_header("X-Request-Id", "demo-1")
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_OPTIONS(self) -> None:
        self._answer(preflight="Access-Control-Request-Method" in self.headers)

    def do_GET(self) -> None:
        self._answer(preflight=False)

    do_HEAD = do_GET
    do_POST = do_GET
    do_PUT = do_GET

    def log_message(self, format: str, *args: object) -> None:
        """Silent: the demo's output is the audit report."""


def serve_demo() -> AbstractContextManager[str]:
    """Run the demo API on a free loopback port; yields its base URL and always shuts it down."""
    return serve_routes(ROUTES)


class _Server(ThreadingHTTPServer):
    # The default listen backlog of 5 drops the SYNs of a burst of parallel connections, and the
    # kernel retries them a second later.
    request_queue_size = 128
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        # A client that hangs up mid-answer (an audit stopped, `| head`) is no news; anything
        # else is printed as socketserver does.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)  # type: ignore[arg-type]


@contextmanager
def serve_routes(routes: dict[str, Route]) -> Iterator[str]:
    """Serve `routes` on a free loopback port; yields the base URL and always shuts the server down."""
    handler = type("RoutesHandler", (_Handler,), {"routes": routes})
    server = _Server(("127.0.0.1", 0), handler)
    thread = threading.Thread(
        target=server.serve_forever,
        kwargs={"poll_interval": 0.05},
        name="corscheck-demo",
        daemon=True,
    )
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()  # serve_forever notices within its poll interval
        server.server_close()
        thread.join(timeout=5)


def demo_urls(base: str) -> list[str]:
    return [base + path for path in ROUTES]


def demo_config(base: str) -> AuditConfig:
    """The demo's run: every route at `base`, against the policy it was meant to follow. The demo
    API is on loopback: never through a proxy."""
    targets = tuple(Target(url, DEMO_POLICY) for url in demo_urls(base))
    return AuditConfig(
        targets,
        policy=DEMO_POLICY,
        options=RunOptions(trust_env=False),
        policy_statement="the demo API's intended policy (above)",
    )

"""A scriptable raw HTTP/1.1 server on 127.0.0.1 for CORS tests.

Each path gets a `Route`: one `Reply` for OPTIONS requests and one for every other method. A
reply is a status and *raw header lines* written to the socket exactly as given, so tests can send
duplicate lines, odd casing, stray whitespace, empty values or lines a strict client would refuse.
Every request received is recorded (method, target, header lines as received).

    with CorsServer() as server:
        server.route("/api", options=Reply(204, ["Access-Control-Allow-Origin: *",
                                                 "Access-Control-Allow-Methods: PUT"]),
                             actual=Reply(200, ["Access-Control-Allow-Origin: *"]))
        server.url("/api")                # "http://127.0.0.1:PORT/api"
        server.url("/api", host="api.example.test")   # for a browser with a host-resolver rule
        server.requests_for("/api")       # [RecordedRequest(method="OPTIONS", ...), ...]

Routing ignores the query string and the Host header (tests use unique query strings to defeat
the browser's preflight cache, and any host name may be mapped to 127.0.0.1). In header lines,
`{origin}` is replaced by the request's Origin value (empty when absent) so a route can reflect
the origin, and `{port}` by the server's port (for absolute redirect locations). Unknown paths
answer 404 with no CORS headers. The server adds no header of its own except Content-Length
(unless the reply sets one) and `Connection: close` when the client asked for it.
"""

from __future__ import annotations

import socket
import socketserver
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from types import TracebackType

__all__ = ["CorsServer", "RecordedRequest", "Reply", "Route"]


@dataclass(frozen=True)
class Reply:
    """One scripted response: status, raw header lines ("Name: value", sent verbatim), body."""

    status: int = 200
    headers: Sequence[str] = ()
    body: bytes = b""
    reason: str = "Scripted"


@dataclass(frozen=True)
class Route:
    """The replies for one path: `options` answers OPTIONS, `actual` answers every other method."""

    options: Reply = field(default_factory=lambda: Reply(404))
    actual: Reply = field(default_factory=lambda: Reply(404))


@dataclass(frozen=True)
class RecordedRequest:
    """A request as received: method, request target (path and query), header lines in order."""

    method: str
    target: str
    headers: tuple[tuple[str, str], ...]
    received_at: float = field(default_factory=time.monotonic, compare=False)

    @property
    def path(self) -> str:
        return self.target.split("?", 1)[0]

    def header(self, name: str) -> str | None:
        """The first value of header `name` (case-insensitive), or None."""
        wanted = name.lower()
        return next((v for n, v in self.headers if n.lower() == wanted), None)


class _Handler(socketserver.BaseRequestHandler):
    server: _TCPServer

    def handle(self) -> None:
        conn: socket.socket = self.request
        conn.settimeout(10)
        buffer = b""
        try:
            while True:
                while b"\r\n\r\n" not in buffer:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    buffer += chunk
                head, _, buffer = buffer.partition(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, target, *_ = [*lines[0].split(" "), "", ""]
                headers: list[tuple[str, str]] = []
                for line in lines[1:]:
                    name, _, value = line.partition(":")
                    headers.append((name, value.strip(" \t")))
                length = next((int(v) for n, v in headers if n.lower() == "content-length"), 0)
                while len(buffer) < length:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    buffer += chunk
                buffer = buffer[length:]
                request = RecordedRequest(method, target, tuple(headers))
                self.server.owner._record(request)
                close = any(n.lower() == "connection" and v.lower() == "close" for n, v in headers)
                conn.sendall(self.server.owner._render(request, close))
                if close:
                    return
        except (OSError, ValueError):
            return


class _TCPServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    # socketserver's default backlog of 5 drops the SYNs of an audit's concurrent connections, and
    # the kernel resends them only after a second: real servers listen with far more.
    request_queue_size = 128
    owner: CorsServer


class CorsServer:
    """The scriptable server: a context manager (or call `close()`); see the module docstring."""

    def __init__(self) -> None:
        self._routes: dict[str, Route] = {}
        self._requests: list[RecordedRequest] = []
        self._lock = threading.Lock()
        self._server = _TCPServer(("127.0.0.1", 0), _Handler)
        self._server.owner = self
        self.port: int = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def __enter__(self) -> CorsServer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Stop serving and release the port."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)

    def route(
        self, path: str, *, options: Reply | None = None, actual: Reply | None = None
    ) -> None:
        """Script `path` (no query string). Omitted replies answer 404 without CORS headers."""
        with self._lock:
            self._routes[path] = Route(options or Reply(404), actual or Reply(404))

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        """An absolute http URL for `path` on this server, under `host`."""
        return f"http://{host}:{self.port}{path}"

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received so far, in order of arrival."""
        with self._lock:
            return list(self._requests)

    def requests_for(self, path: str) -> list[RecordedRequest]:
        """The requests received for `path` (query string ignored)."""
        return [r for r in self.requests if r.path == path]

    def clear(self) -> None:
        """Forget the recorded requests."""
        with self._lock:
            self._requests.clear()

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self._requests.append(request)

    def _render(self, request: RecordedRequest, close: bool) -> bytes:
        with self._lock:
            route = self._routes.get(request.path, Route())
        reply = route.options if request.method == "OPTIONS" else route.actual
        origin = request.header("origin") or ""
        lines = [f"HTTP/1.1 {reply.status} {reply.reason}"]
        lines += [
            line.replace("{origin}", origin).replace("{port}", str(self.port))
            for line in reply.headers
        ]
        if not any(line.lower().startswith("content-length:") for line in reply.headers):
            lines.append(f"Content-Length: {len(reply.body)}")
        if close:
            lines.append("Connection: close")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + (
            b"" if request.method == "HEAD" else reply.body
        )

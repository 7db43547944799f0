"""A WebSocket handshake as Chromium 156 sends it, and what the page gets from its answer. PURE.

CORS does not apply to WebSockets: the browser sends the page's `Origin` and the visitor's cookies
on the handshake, never asks the server for permission, and hands the open socket to the page. So the
server's own check of `Origin` is the only guard. The handshake carries no Fetch Metadata, no
Referer and no client hints (measured on a raw server log: DevTools hides the Cookie line), so an
isolation policy built on Sec-Fetch-* does not see it either.

Cookies follow the fetch rules (visitor.py) for the http(s) URL the ws(s) URL stands for: ws:// is
http:// and wss:// is https:// for same-site (schemeful) and `Secure`. An https page cannot open a
ws:// socket at all: the constructor throws, before anything is sent.
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from corscheck.addresses import blocked_as_mixed_content
from corscheck.browser import Verdict
from corscheck.headers import HeaderLine

WEBSOCKET_SCHEMES = {"ws": "http", "wss": "https"}
ACCEPT_ENCODING = "gzip, deflate, br, zstd"
ACCEPT_LANGUAGE = "en-US,en;q=0.9"
EXTENSIONS = "permessage-deflate; client_max_window_bits"
# Close codes that say "not you": a server that accepts and closes at once with one of them has
# refused the page (RFC 6455 1008 policy violation, 1003 unsupported data; 4000-4999 the
# application's own). A page gets an open event, then this close, and no data.
_REFUSING_CLOSE_CODES = frozenset({1003, 1008})


def is_websocket_url(url: str) -> bool:
    return urlsplit(url).scheme.lower() in WEBSOCKET_SCHEMES


def http_twin(url: str) -> str:
    """The http(s) URL a ws(s) URL stands for in the browser's cookie, site and mixed-content rules."""
    parts = urlsplit(url)
    scheme = WEBSOCKET_SCHEMES.get(parts.scheme.lower(), parts.scheme)
    return urlunsplit((scheme, parts.netloc, parts.path or "/", parts.query, ""))


def handshake_lines(
    origin: str,
    cookie: str | None,
    key: str,
    extra_headers: tuple[HeaderLine, ...] = (),
) -> tuple[HeaderLine, ...]:
    """The handshake's header lines after Host, in Chromium 156's order. A User-Agent among the -H
    headers takes Chromium's place for it; the other -H headers follow, as a gateway adds them."""
    agent = [line for line in extra_headers if line[0].lower() == "user-agent"]
    rest = tuple(line for line in extra_headers if line[0].lower() != "user-agent")
    lines: list[HeaderLine] = [
        ("Connection", "Upgrade"),
        ("Pragma", "no-cache"),
        ("Cache-Control", "no-cache"),
        *agent[:1],
        ("Upgrade", "websocket"),
        ("Origin", origin),
        ("Sec-WebSocket-Version", "13"),
        ("Accept-Encoding", ACCEPT_ENCODING),
        ("Accept-Language", ACCEPT_LANGUAGE),
    ]
    if cookie:
        lines.append(("Cookie", cookie))
    lines += [("Sec-WebSocket-Key", key), ("Sec-WebSocket-Extensions", EXTENSIONS)]
    return (*lines, *rest)


def constructor_error(origin: str, url: str) -> str | None:
    """Why `new WebSocket(url)` throws on a page on `origin` before sending anything, or None."""
    if origin != "null" and blocked_as_mixed_content(origin, http_twin(url)):
        return (
            "Failed to construct 'WebSocket': An insecure WebSocket connection may not be "
            "initiated from a page loaded over HTTPS."
        )
    return None


def handshake_verdict(status: int | None, close_code: int | None, thrown: str | None) -> Verdict:
    """What the page gets: an open socket (101, not closed at once with a refusing code), or an
    error event. `status` None: no answer (the constructor threw, or the connection failed)."""
    if thrown is not None:
        return Verdict(allowed=False, preflight=False, reason=thrown, failed_step="request")
    if status != 101:
        shown = "no answer" if status is None else f"Unexpected response code: {status}"
        return Verdict(
            allowed=False,
            preflight=False,
            reason=f"WebSocket connection failed: Error during WebSocket handshake: {shown}",
            failed_step="actual",
        )
    if close_code is not None and refusing_close(close_code):
        return Verdict(
            allowed=False,
            preflight=False,
            reason=f"the server accepted, then closed the socket at once with code {close_code}",
            failed_step="actual",
        )
    return Verdict(allowed=True, preflight=False)


def refusing_close(code: int) -> bool:
    return code in _REFUSING_CLOSE_CODES or 4000 <= code <= 4999

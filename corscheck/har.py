"""What a browser recording (HAR) says of a front-end's cross-origin calls: the front-end origins,
and per API URL the methods, the non-safelisted request headers and whether credentials went. Pure:
the parsed HAR document in, plain data out.

A call is a CORS request: one with an Origin (not "null") other than the URL's origin, and no
Sec-Fetch-Mode other than cors. Same-origin requests are not CORS. A preflight (OPTIONS with
Access-Control-Request-Method) is not a call; its Access-Control-Request-Headers name the headers
of the call it precedes, which is how headers a sanitized export removed (Authorization) are still
known. Browsers export HAR without cookies and Authorization by default (Chrome's "Export HAR
(sanitized)", Firefox's default): where no credential shows, `HarCalls.notes` says so, and the
flags (--credentials, --cookie) decide. Only names, methods and URLs without their query are
kept: no header value, cookie or body leaves this module.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from corscheck.errors import UsageError
from corscheck.headers import serialize_origin, split_header_list
from corscheck.safelist import cors_unsafe_request_header_names

# What the browser itself adds to a request, or DevTools records beside it: never the page's.
_BROWSER_ADDED = frozenset(
    {"user-agent", "cache-control", "pragma", "priority", "dnt", "upgrade-insecure-requests"}
)


@dataclass
class HarCall:
    """The calls the front-end made to one API URL."""

    url: str  # without query or fragment
    methods: list[str] = field(default_factory=list)
    headers: list[str] = field(default_factory=list)  # lowercased, sorted
    credentials: bool = False  # a Cookie or Authorization went, or the answer allowed credentials


@dataclass
class HarCalls:
    origins: list[str]
    calls: list[HarCall]
    notes: list[str]


def har_calls(document: Mapping[str, Any], name: str) -> HarCalls:
    """The front-end's cross-origin calls in the HAR `document` (read from `name`). Raises
    UsageError, one line, for a document that is not a HAR or holds no cross-origin call."""
    log = _mapping(document.get("log")) if isinstance(document, Mapping) else {}
    entries = log.get("entries")
    if not isinstance(entries, list):
        raise UsageError(f"{name} is not a HAR recording (no log.entries)")
    origins: list[str] = []
    calls: dict[str, HarCall] = {}
    preflight_headers: dict[tuple[str, str], set[str]] = {}
    credential_seen = False
    for entry in (_mapping(e) for e in entries):
        request = _mapping(entry.get("request"))
        lines = _lines(request.get("headers"))
        url = str(request.get("url") or "")
        method = str(request.get("method") or "GET").upper()
        page = _page_origin(lines)
        target = _origin_of(url)
        if page is None or target is None or page == target or not method.isalpha():
            continue
        bare = _bare(url)
        asked = _value(lines, "access-control-request-method")
        if method == "OPTIONS" and asked:
            key = (bare, asked.upper())
            requested = split_header_list(_value(lines, "access-control-request-headers") or "")
            preflight_headers.setdefault(key, set()).update(h.lower() for h in requested)
            continue
        if page not in origins:
            origins.append(page)
        call = calls.setdefault(bare, HarCall(bare))
        if method not in call.methods:
            call.methods.append(method)
        page_lines = [(n, v) for n, v in lines if n.lower() not in _BROWSER_ADDED]
        call.headers = sorted({*call.headers, *cors_unsafe_request_header_names(page_lines)})
        sent = _sent_credentials(lines, request) or _allowed_credentials(entry)
        call.credentials = call.credentials or sent
        credential_seen = credential_seen or sent
    for (bare, method), names in preflight_headers.items():
        if bare in calls and method in calls[bare].methods:
            calls[bare].headers = sorted({*calls[bare].headers, *names})
    if not calls:
        raise UsageError(f"{name} holds no cross-origin request (an Origin other than the URL's)")
    notes = []
    if not credential_seen:
        notes.append(
            f"{name} shows no Cookie, no Authorization and no credentialed answer: browsers export "
            "HAR without them by default, so whether the front-end sends credentials comes from "
            "the flags (--credentials, --cookie)"
        )
    return HarCalls(origins, list(calls.values()), notes)


def _mapping(value: Any) -> Mapping[str, Any]:
    """`value` where a HAR object belongs, or an empty one: a recording is the user's file, read
    as far as it is well formed."""
    return value if isinstance(value, Mapping) else {}


def _lines(headers: Any) -> list[tuple[str, str]]:
    if not isinstance(headers, list):
        return []
    lines = []
    for header in (_mapping(h) for h in headers):
        name, value = header.get("name"), header.get("value")
        if isinstance(name, str) and name and not name.startswith(":") and isinstance(value, str):
            lines.append((name, value))
    return lines


def _bare(url: str) -> str:
    """The URL without its query, fragment and userinfo: what a policy file names as a target,
    holding no token the recording carried."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"[{host}]" if ":" in host else host
    if parts.port is not None:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def _value(lines: list[tuple[str, str]], name: str) -> str | None:
    return next((v for n, v in lines if n.lower() == name), None)


def _origin_of(url: str) -> str | None:
    try:
        return serialize_origin(url) if url.startswith(("http://", "https://")) else None
    except (UsageError, ValueError):
        return None


def _page_origin(lines: list[tuple[str, str]]) -> str | None:
    """The calling page's origin: the Origin a CORS request carries. A request without one (a
    navigation, a script or image load, a same-origin GET) is no CORS call; the Referer of such a
    request names pages it was not made for (a search engine's click-through, a CDN's loader)."""
    mode = _value(lines, "sec-fetch-mode")
    origin = _value(lines, "origin")
    if not origin or origin == "null" or (mode is not None and mode != "cors"):
        return None
    return _origin_of(origin)


def _sent_credentials(lines: list[tuple[str, str]], request: Mapping[str, Any]) -> bool:
    names = {n.lower() for n, _ in lines}
    return "cookie" in names or "authorization" in names or bool(request.get("cookies"))


def _allowed_credentials(entry: Mapping[str, Any]) -> bool:
    answer = _lines(_mapping(entry.get("response")).get("headers"))
    return (_value(answer, "access-control-allow-credentials") or "").strip() == "true"

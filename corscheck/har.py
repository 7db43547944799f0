"""What a browser recording (HAR) says of a front-end's cross-origin calls: the front-end origins,
and per API URL the methods, the non-safelisted request headers and whether credentials went. Pure:
the parsed HAR document in, plain data out.

A call is a request with an Origin (or, where the export dropped it, a Referer) whose origin is
not the URL's: same-origin requests are not CORS. A preflight (OPTIONS with
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
    entries = document.get("log", {}).get("entries") if isinstance(document, Mapping) else None
    if not isinstance(entries, list):
        raise UsageError(f"{name} is not a HAR recording (no log.entries)")
    origins: list[str] = []
    calls: dict[str, HarCall] = {}
    preflight_headers: dict[tuple[str, str], set[str]] = {}
    credential_seen = False
    for entry in entries:
        request = entry.get("request", {}) if isinstance(entry, Mapping) else {}
        lines = _lines(request.get("headers"))
        url = str(request.get("url", ""))
        method = str(request.get("method", "GET")).upper()
        page = _page_origin(lines)
        target = _origin_of(url)
        if page is None or target is None or page == target:
            continue
        bare = urlunsplit(urlsplit(url)._replace(query="", fragment=""))
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


def _lines(headers: Any) -> list[tuple[str, str]]:
    if not isinstance(headers, list):
        return []
    return [
        (str(h.get("name", "")), str(h.get("value", "")))
        for h in headers
        if isinstance(h, Mapping) and not str(h.get("name", "")).startswith(":")
    ]


def _value(lines: list[tuple[str, str]], name: str) -> str | None:
    return next((v for n, v in lines if n.lower() == name), None)


def _origin_of(url: str) -> str | None:
    try:
        return serialize_origin(url) if url.startswith(("http://", "https://")) else None
    except UsageError:
        return None


def _page_origin(lines: list[tuple[str, str]]) -> str | None:
    origin = _value(lines, "origin")
    if origin and origin != "null":
        return _origin_of(origin)
    referer = _value(lines, "referer")
    return _origin_of(referer) if referer else None


def _sent_credentials(lines: list[tuple[str, str]], request: Mapping[str, Any]) -> bool:
    names = {n.lower() for n, _ in lines}
    return "cookie" in names or "authorization" in names or bool(request.get("cookies"))


def _allowed_credentials(entry: Mapping[str, Any]) -> bool:
    answer = _lines(entry.get("response", {}).get("headers"))
    return (_value(answer, "access-control-allow-credentials") or "").strip() == "true"

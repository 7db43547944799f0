"""The Fetch standard's rules for what a page asks for: which methods and request headers are
CORS-safelisted (with their value rules and the 128/1024-byte limits), which are forbidden (fetch()
drops them), and the CORS-unsafe header names a preflight asks about. PURE; browser.py applies them.
Rule ids in comments refer to ../shared/CORS-RULES.md.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from corscheck.headers import (
    HeaderLine,
    is_token,
    split_header_list,
)

# REQ-METHOD-NORMALIZE: fetch() uppercases only these (a byte-case-insensitive match).
_NORMALIZED_METHODS = frozenset({"DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT"})
_FORBIDDEN_METHODS = frozenset({"CONNECT", "TRACE", "TRACK"})
# REQ-SAFE-METHOD.
_SAFELISTED_METHODS = frozenset({"GET", "HEAD", "POST"})

# REQ-FORBIDDEN-HEADER: fetch() silently drops these from the page's headers.
_FORBIDDEN_REQUEST_HEADERS = frozenset(
    {
        "accept-charset",
        "accept-encoding",
        "access-control-request-headers",
        "access-control-request-method",
        "connection",
        "content-length",
        "cookie",
        "cookie2",
        "date",
        "dnt",
        "expect",
        "host",
        "keep-alive",
        "origin",
        "referer",
        "set-cookie",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "via",
    }
)
_FORBIDDEN_PREFIXES = ("proxy-", "sec-")
# Fetch: these names are forbidden too when any of their values names a forbidden method.
_METHOD_OVERRIDE_HEADERS = frozenset(
    {"x-http-method", "x-http-method-override", "x-method-override"}
)

# REQ-SAFE-HEADER: CORS-unsafe request-header bytes.
_UNSAFE_HEADER_BYTES = frozenset(
    [chr(b) for b in range(0x20) if b != 0x09] + list('"():<>?@[\\]{}') + ["\x7f"]
)
_LANGUAGE_BYTES = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz *,-.;=")
_SAFELISTED_MIME_ESSENCES = frozenset(
    {"application/x-www-form-urlencoded", "multipart/form-data", "text/plain"}
)
_INT64_MAX = 2**63 - 1
_SAFELISTED_VALUE_MAX = 128  # REQ-SAFE-HEADER: bytes per value
_SAFELISTED_TOTAL_MAX = 1024  # REQ-SAFE-TOTAL: bytes over all safelisted values
# The standard's HTTP whitespace, trimmed from the end of a MIME subtype.
_HTTP_WHITESPACE_ALL = " \t\r\n"


def normalize_method(method: str) -> str:
    """The method as fetch() sends it: DELETE/GET/HEAD/OPTIONS/POST/PUT uppercased, others kept.

    REQ-METHOD-NORMALIZE: `patch` stays `patch` and then does not match `PATCH` in ACAM.
    """
    upper = method.upper() if method.isascii() else method
    return upper if upper in _NORMALIZED_METHODS else method


def is_forbidden_method(method: str) -> bool:
    """True for CONNECT, TRACE and TRACK in any case: fetch() refuses to send them."""
    return method.isascii() and method.upper() in _FORBIDDEN_METHODS


def is_cors_safelisted_method(method: str) -> bool:
    """True for GET, HEAD and POST, compared byte-exactly after normalization (REQ-SAFE-METHOD).

    Chromium compares case-insensitively, which only differs for methods fetch() already normalized.
    """
    return method in _SAFELISTED_METHODS


def _byte_length(value: str) -> int:
    # Header values are byte strings decoded as latin-1; anything beyond latin-1 cannot be sent by a
    # page at all, and counting it as UTF-8 keeps such values over the limits rather than under.
    try:
        return len(value.encode("latin-1"))
    except UnicodeEncodeError:
        return len(value.encode("utf-8"))


def _is_safelisted_content_type(value: str) -> bool:
    """Content-Type rule of REQ-SAFE-HEADER: no unsafe byte, and the MIME type's essence is one of
    the three form types (parameters allowed, compared case-insensitively).

    Chromium 156 parses the essence like the standard: `text /plain` and `text/ plain` need a
    preflight (older Chromium trimmed the whitespace and safelisted them; verified in e2e).
    """
    if any(c in _UNSAFE_HEADER_BYTES for c in value):
        return False
    essence = value.split(";", 1)[0]
    top, slash, sub = essence.partition("/")
    sub = sub.rstrip(_HTTP_WHITESPACE_ALL)
    if not (slash and is_token(top) and is_token(sub)):
        return False
    return f"{top}/{sub}".lower() in _SAFELISTED_MIME_ESSENCES


def _is_simple_range(value: str) -> bool:
    """Range rule of REQ-SAFE-HEADER: `bytes=START-` or `bytes=START-END` with START <= END.

    Chromium parses the positions as 64-bit integers: a larger number is not a simple range.
    """
    if not value.startswith("bytes="):
        return False
    start, dash, end = value[len("bytes=") :].partition("-")
    if not dash or not start.isdigit() or not start.isascii():
        return False
    if int(start) > _INT64_MAX:
        return False
    if end == "":
        return True
    if not end.isdigit() or not end.isascii():
        return False
    return int(start) <= int(end) <= _INT64_MAX


def _is_double_like(value: str) -> bool:
    # Chromium's client-hint value grammar for DPR and Device-Memory: 1*DIGIT [ "." 1*DIGIT ].
    whole, dot, fraction = value.partition(".")
    ok_whole = whole.isascii() and whole.isdigit()
    return ok_whole and (not dot or (fraction.isascii() and fraction.isdigit()))


def is_cors_safelisted_request_header(name: str, value: str) -> bool:
    """True when (name, value) is a CORS-safelisted request header (REQ-SAFE-HEADER).

    `value` is taken as fetch() stores it (callers strip surrounding whitespace first).
    """
    lower = name.lower()
    if _byte_length(value) > _SAFELISTED_VALUE_MAX:
        return False
    if lower == "accept":
        return not any(c in _UNSAFE_HEADER_BYTES for c in value)
    if lower in ("accept-language", "content-language"):
        return all(c in _LANGUAGE_BYTES for c in value)
    if lower == "content-type":
        return _is_safelisted_content_type(value)
    if lower == "range":
        return _is_simple_range(value)
    # Chromium difference: Chromium also safelists some client-hint headers a page may set itself
    # (see _CHROMIUM_SAFELISTED_HINTS); the standard does not.
    hint = _CHROMIUM_SAFELISTED_HINTS.get(lower)
    return hint is not None and hint(value)


def _is_int_like(value: str) -> bool:
    return value.isascii() and value.isdigit()


def _any_value(value: str) -> bool:
    return True


def _is_save_data(value: str) -> bool:
    return value.lower() == "on"


_CHROMIUM_SAFELISTED_HINTS: dict[str, Callable[[str], bool]] = {
    "dpr": _is_double_like,
    "device-memory": _is_double_like,
    "width": _is_int_like,
    "viewport-width": _is_int_like,
    "save-data": _is_save_data,
    # Chromium adds `Intervention` itself when it applies an intervention; any value is safelisted
    # (still true in Chromium 156, verified in e2e).
    "intervention": _any_value,
}


def is_forbidden_request_header(name: str, value: str = "") -> bool:
    """Whether fetch() drops this header from a page's request (REQ-FORBIDDEN-HEADER): the one
    owner of that list; the OpenAPI reader and `probe` ask here."""
    lower = name.lower()
    if lower in _FORBIDDEN_REQUEST_HEADERS or lower.startswith(_FORBIDDEN_PREFIXES):
        return True
    if lower in _METHOD_OVERRIDE_HEADERS:
        return any(is_forbidden_method(m) for m in split_header_list(value))
    return False


def is_valid_header_value(value: str) -> bool:
    # fetch() throws a TypeError for NUL, CR, LF and anything beyond latin-1 (ByteString).
    return not any(c in "\x00\r\n" or ord(c) > 0xFF for c in value)


def page_header_list(headers: Sequence[HeaderLine]) -> list[HeaderLine]:
    """The header list fetch() builds from the page's headers: values trimmed, forbidden headers
    dropped (REQ-FORBIDDEN-HEADER), same-named headers combined with ", " in first-seen order."""
    combined: dict[str, tuple[str, list[str]]] = {}
    for name, raw_value in headers:
        value = raw_value.strip(" \t\r\n")
        if is_forbidden_request_header(name, value):
            continue
        key = name.lower()
        if key in combined:
            combined[key][1].append(value)
        else:
            combined[key] = (name, [value])
    return [(name, ", ".join(values)) for name, values in combined.values()]


def cors_unsafe_request_header_names(headers: Sequence[HeaderLine]) -> list[str]:
    """The CORS-unsafe request-header names of the page's headers: lowercased, deduplicated, sorted.

    REQ-SAFE-HEADER per header (after fetch() combines duplicates and drops forbidden ones), then
    REQ-SAFE-TOTAL: over 1024 bytes of safelisted values makes every safelisted name unsafe too.
    """
    unsafe: set[str] = set()
    safe: set[str] = set()
    total = 0
    for name, value in page_header_list(headers):
        if is_cors_safelisted_request_header(name, value):
            safe.add(name.lower())
            total += _byte_length(value)
        else:
            unsafe.add(name.lower())
    if total > _SAFELISTED_TOTAL_MAX:
        unsafe |= safe
    return sorted(unsafe, key=lambda n: n.encode("utf-8"))

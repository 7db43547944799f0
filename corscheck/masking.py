"""What never appears unmasked in any output: a URL's userinfo (masked by its position), the values of
`-H` headers and of secret-looking query parameters (masked by value). PURE; the one owner of these
rules, used by the reports, the error messages and the commands alike."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Sequence
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlsplit

MASK = "****"
# A query parameter whose name says it holds a secret: its value is masked wherever it appears.
_SENSITIVE_QUERY = re.compile(
    r"token|key|secret|password|passwd|pwd|signature|sig|auth|session|credential|code", re.I
)
# Headers a user gives with -H whose values describe the request rather than the user: the only
# ones shown as given. Every other -H value (Authorization, Cookie, X-Api-Key, a custom header the
# user may have put a token in) is a secret.
PUBLIC_HEADERS = frozenset(
    {"accept", "accept-language", "content-language", "content-type", "user-agent"}
)

# --- userinfo --------------------------------------------------------------------------------------
# A URL's userinfo (`user:password@`) is masked by its POSITION in the URL, never by matching the
# secret's value: a short password (`pw`) or a username that is also a common word (`http`, `127`)
# would otherwise leak, or mangle the rest of the output.

_SCHEME_SLASHES = re.compile(r"\s*[A-Za-z][A-Za-z0-9+.\-]*:[/\\]+|\s*[/\\]{2}")
_AUTHORITY_END = re.compile(r"[/\\?#]")
# In free text, the userinfo of every URL: after `//` (`scheme://`, scheme-relative `//`), after
# `scheme:/` (browsers read `http:/user@host` as userinfo too) or from the start of a word (a bare
# `user:password@host`), up to the last `@` before the host begins; a URL in text ends at / \ ? #
# or whitespace. Greedy on purpose: `a@b:c@host` is masked up to the last `@`.
_USERINFO_IN_TEXT = re.compile(
    r"(?:(?<![^\s'\"<(\[{,;=])|(?<=[/\\][/\\])|(?<=:[/\\]))"
    r"[^\s/\\?#]*@"
)


def mask_url(url: str) -> str:
    """`url` with its userinfo, if any, replaced by `****` (http://****@host/path).

    For one URL, valid or not: the authority starts after `scheme:` and its slashes (or at the
    start when no slash follows a scheme, as in `user:pw@host`, which browsers may still read as
    userinfo) and ends at the first / \\ ? or #; everything before its last `@` is userinfo.
    """
    if "@" not in url:
        return url
    lead = _SCHEME_SLASHES.match(url)
    start = lead.end() if lead else len(url) - len(url.lstrip())
    end_match = _AUTHORITY_END.search(url, start)
    end = end_match.start() if end_match else len(url)
    at = url.rfind("@", start, end)
    if at < 0:
        return url
    return url[:start] + MASK + url[at:]


def mask_userinfo(text: str) -> str:
    """`text` (a message, a header value, a report line) with the userinfo of every URL in it
    replaced by `****`; URLs in text end at whitespace, so a URL with spaces in it should go
    through `mask_url` before it is quoted in a message."""
    if "@" not in text:
        return text
    return _USERINFO_IN_TEXT.sub(MASK + "@", text)


def mask_query(url: str) -> str:
    """`url` with the value of every secret-looking query parameter replaced by `****`."""
    try:
        query = urlsplit(url).query
    except ValueError:
        return url
    shown = url
    for value in _query_secrets(query):
        shown = shown.replace(value, MASK)
    return shown


def _query_secrets(query: str) -> list[str]:
    return [v for k, v in parse_qsl(query, keep_blank_values=False) if _SENSITIVE_QUERY.search(k)]


def header_secrets(headers: Iterable[tuple[str, str]]) -> list[str]:
    """The values of `-H` headers that are secrets (all but PUBLIC_HEADERS)."""
    return [v.strip() for n, v in headers if n.strip().lower() not in PUBLIC_HEADERS and v.strip()]


def secrets_in(
    urls: Iterable[str], headers: Iterable[tuple[str, str]], cookie_values: Iterable[str] = ()
) -> tuple[str, ...]:
    """Values that must never appear in any output: -H values, the values of the visitor's cookies
    (--cookie) and sensitive query values.

    A URL's userinfo is not among them: it is masked by its position (`mask_userinfo`), since a
    short password or a username such as `http` cannot be masked safely by its value.
    """
    found = header_secrets(headers) + [v.strip() for v in cookie_values if v.strip()]
    for url in urls:
        try:
            query = urlsplit(url).query
        except ValueError:
            continue
        found += _query_secrets(query)
    # Longest first, so that a secret containing another is masked whole.
    return tuple(sorted({s for s in found if len(s) >= 3}, key=len, reverse=True))


T = TypeVar("T")


def masked(value: T, secrets: Sequence[str] = (), *, userinfo: bool = True) -> T:
    """A copy of `value` (dataclasses, tuples, lists, dicts, strings) with every secret replaced and,
    with `userinfo`, the userinfo of every URL in its strings masked by position."""
    if not secrets and not userinfo:
        return value
    return _mask(value, secrets, userinfo)  # type: ignore[no-any-return]


def _mask(value: Any, secrets: Sequence[str], userinfo: bool) -> Any:
    if isinstance(value, str):
        if userinfo:
            value = mask_userinfo(value)
        for secret in secrets:
            if secret in value:
                value = value.replace(secret, MASK)
        return value
    if isinstance(value, tuple):
        return tuple(_mask(v, secrets, userinfo) for v in value)
    if isinstance(value, list):
        return [_mask(v, secrets, userinfo) for v in value]
    if isinstance(value, dict):
        return {k: _mask(v, secrets, userinfo) for k, v in value.items()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        changes = {
            f.name: _mask(getattr(value, f.name), secrets, userinfo)
            for f in dataclasses.fields(value)
            if f.init
        }
        return dataclasses.replace(value, **changes)
    return value

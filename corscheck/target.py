"""What an audit is aimed at: a target (a URL with the policy that applies to it), the OpenAPI route
it may come from, and the check that a URL can be audited at all. PURE: value types below every module
that does I/O, so the command line, the runner, the codec and the gate all reach them from below."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from corscheck.errors import UsageError
from corscheck.masking import mask_query, mask_url, mask_userinfo
from corscheck.policy import Policy


@dataclass(frozen=True, slots=True)
class SourceLocation:
    """Where a policy file declares a target (SARIF's artifactLocation and region)."""

    file: str
    line: int


@dataclass(frozen=True, slots=True)
class Route:
    """A path of the document and what the front-end's calls to it send."""

    path: str  # the template, as the document writes it: /items/{item_id}
    url: str  # the URL audited: the server's base and the path filled in
    methods: tuple[str, ...]
    headers: tuple[str, ...]
    cookie_auth: bool = False
    # How each path parameter was filled: "item_id = 1 (placeholder for an integer)".
    filled: tuple[str, ...] = field(default=())

    @property
    def label(self) -> str:
        return f"{', '.join(self.methods)} {self.path}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "methods": list(self.methods),
            "headers": list(self.headers),
            "cookie_auth": self.cookie_auth,
            "filled": list(self.filled),
        }


@dataclass(frozen=True, slots=True)
class Target:
    url: str
    policy: Policy | None
    source: SourceLocation | None = None  # where the policy file declares it, when it does
    route: Route | None = None  # the OpenAPI route it was made from


def validate_url(url: str) -> str:
    """The URL if corscheck can audit it; raises UsageError with a one-line reason otherwise.

    Messages quote the URL with its userinfo and secret-looking query values masked: the URL may
    carry a password or a token.
    """
    text = url.strip()
    shown = mask_query(mask_url(url))
    if not text:
        raise UsageError("empty URL")
    if any(c.isspace() for c in text):
        raise UsageError(f"URL {shown!r} contains whitespace")
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as error:
        raise UsageError(f"URL {shown!r} is not valid: {mask_userinfo(str(error))}") from None
    if parts.scheme not in ("http", "https", "ws", "wss"):
        if not parts.scheme or "://" not in text:
            raise UsageError(f"URL {shown!r} has no scheme; write http://… or https://…")
        raise UsageError(f"URL {shown!r}: scheme {parts.scheme!r} is not http, https, ws or wss")
    if not parts.hostname:
        raise UsageError(f"URL {shown!r} has no host")
    if "@" in parts.netloc:
        # Browsers refuse to fetch a URL with credentials in it (browser.py REQ-URL-CREDENTIALS):
        # every probe would be blocked before it is sent, and nothing would be checked.
        raise UsageError(
            f"URL {shown!r} contains a username or password; browsers refuse to fetch such a URL. "
            "Remove the username and password from the URL and send the credentials as a header "
            "instead, e.g. -H 'Authorization: Basic …'"
        )
    del port
    return as_browsers_send(text)


# The URL standard's single- and double-dot path segments, percent-encoded dots included.
_SINGLE_DOT = frozenset({".", "%2e"})
_DOUBLE_DOT = frozenset({"..", ".%2e", "%2e.", "%2e%2e"})


def as_browsers_send(url: str) -> str:
    """`url` with its path as a browser sends it: backslashes read as slashes (http and https are
    special schemes) and dot segments resolved, percent-encoded ones too (`/api/%2e%2e/admin` is
    `/admin`), before the query. A server may route the raw path elsewhere; the browser never
    sends it."""
    parts = urlsplit(url)
    path = parts.path.replace("\\", "/")
    if (
        not any(s.lower() in _SINGLE_DOT or s.lower() in _DOUBLE_DOT for s in path.split("/"))
        and path == parts.path
    ):
        return url
    output: list[str] = []
    segments = path.split("/")[1:] if path.startswith("/") else path.split("/")
    for index, segment in enumerate(segments):
        last = index == len(segments) - 1
        lowered = segment.lower()
        if lowered in _DOUBLE_DOT:
            if output:
                output.pop()
            if last:
                output.append("")  # "/a/.." is "/", a directory
        elif lowered in _SINGLE_DOT:
            if last:
                output.append("")
        else:
            output.append(segment)
    normalized = "/" + "/".join(output)
    return urlunsplit((parts.scheme, parts.netloc, normalized, parts.query, parts.fragment))

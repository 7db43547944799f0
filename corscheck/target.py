"""What an audit is aimed at: a target (a URL with the policy that applies to it), the OpenAPI route
it may come from, and the check that a URL can be audited at all. PURE: value types below every module
that does I/O, so the command line, the runner, the codec and the gate all reach them from below."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

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
    if parts.scheme not in ("http", "https"):
        if not parts.scheme or "://" not in text:
            raise UsageError(f"URL {shown!r} has no scheme; write http://… or https://…")
        raise UsageError(f"URL {shown!r}: scheme {parts.scheme!r} is not http or https")
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
    return text

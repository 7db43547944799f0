"""The expected CORS behaviour of a target, and what it says about one request. Pure."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TypeVar

from corscheck.errors import PolicyError
from corscheck.headers import DEFAULT_PORTS

T = TypeVar("T")

_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_SUBDOMAIN_PATTERN = re.compile(r"(?P<scheme>https?)://\*\.(?P<rest>[^*/?#@\s]+)")
_ORIGIN = re.compile(
    r"(?P<scheme>https?)://(?P<host>\[[0-9a-fA-F:.]+\]|[^:/?#@\s\[\]]+)(?::(?P<port>\d{1,5}))?",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class MaxAge:
    """Bounds for Access-Control-Max-Age, in seconds; None means unbounded on that side."""

    min: int | None = None
    max: int | None = None


@dataclass(frozen=True, slots=True)
class Policy:
    """What the team meant to ship. Methods and headers are the ones the front-end uses, as written
    (CORS-safelisted ones included: the front-end still sends them, and with a non-safelisted header
    they go through a preflight); None means the policy does not say, so nothing beyond it is
    checked."""

    origins: tuple[str, ...] = ()
    methods: tuple[str, ...] | None = None
    headers: tuple[str, ...] | None = None
    expose: tuple[str, ...] = ()
    credentials: bool = False
    max_age: MaxAge | None = None
    private_network: bool = False
    warnings: tuple[str, ...] = field(default=(), compare=False)
    # What the front-end's calls send, when that is known apart from what the policy allows (an
    # OpenAPI route, openapi.py): probed as the front-end's requests, while `methods` and `headers`
    # still say what is allowed, so nothing beyond them is reported unless the policy lists them.
    sends_methods: tuple[str, ...] | None = None
    sends_headers: tuple[str, ...] | None = None

    @property
    def is_public(self) -> bool:
        return "*" in self.origins

    def allows_origin(self, origin: str) -> bool:
        """Whether `origin` (a serialized origin or "null") may read, by this policy."""
        return origin_matches(origin, self.origins)

    def allows_method(self, method: str) -> bool:
        if self.methods is None or "*" in self.methods:
            return True
        return method in ("GET", "HEAD", "POST") or method in self.methods

    def allows_header(self, name: str) -> bool:
        if self.headers is None or "*" in self.headers:
            return True
        wanted = name.lower()
        return any(h.lower() == wanted for h in self.headers)

    def notes(self) -> list[str]:
        """Where a value as written needs no CORS permission from the server, and what it still needs."""
        notes = []
        simple = [m for m in self.methods or () if m in ("GET", "HEAD", "POST")]
        if simple:
            notes.append(
                f"{', '.join(simple)} {'is a' if len(simple) == 1 else 'are'} CORS-safelisted "
                f"method{'' if len(simple) == 1 else 's'}: browsers need no "
                "Access-Control-Allow-Methods entry, but with a non-safelisted request header the "
                "browser still sends a preflight, which the server must answer with 2xx"
            )
        for name in self.headers or ():
            if name.lower() in _SAFELISTED_HEADER_NAMES:
                notes.append(
                    f"{name} is CORS-safelisted for common values"
                    + (
                        " (only text/plain, multipart/form-data and "
                        "application/x-www-form-urlencoded): application/json needs "
                        "Access-Control-Allow-Headers"
                        if name.lower() == "content-type"
                        else "; other values need Access-Control-Allow-Headers"
                    )
                )
        return notes

    def to_dict(self) -> dict[str, object]:
        data: dict[str, object] = {
            "origins": list(self.origins),
            "methods": None if self.methods is None else list(self.methods),
            "headers": None if self.headers is None else list(self.headers),
            "expose": list(self.expose),
            "credentials": self.credentials,
            "private-network": self.private_network,
        }
        if self.max_age is not None:
            data["max-age"] = {"min": self.max_age.min, "max": self.max_age.max}
        if self.sends_methods is not None or self.sends_headers is not None:
            data["sends"] = {
                "methods": list(self.sends_methods or ()),
                "headers": list(self.sends_headers or ()),
            }
        notes = self.notes()
        if notes:
            data["notes"] = notes
        return data


def origin_matches(origin: str, allowed: Iterable[str]) -> bool:
    """Exact match, `scheme://*.domain[:port]` (any subdomain depth, not the apex), or `*`.

    One implementation serves the policy and the attacker-origin generator, so that what corscheck
    expects and what it probes can never disagree: it lives in origins.py, with the origin parsing.
    """
    from corscheck.origins import origin_matches_policy

    return origin_matches_policy(origin, list(allowed))


def normalize_origin_entry(entry: str) -> tuple[str, str | None]:
    """The canonical form of a policy origin entry and a warning when it changed. Raises PolicyError."""
    text = entry.strip()
    if text in ("*", "null"):
        return text, None
    if _SUBDOMAIN_PATTERN.fullmatch(text.lower()):
        canonical = text.lower()
        return canonical, (None if canonical == entry else f"{entry!r} normalized to {canonical!r}")
    if "*" in text:
        raise PolicyError(
            f"origin pattern {entry!r} is not a subdomain wildcard; "
            "use the form https://*.example.com"
        )
    match = _ORIGIN.fullmatch(text)
    if not match:
        hint = _origin_hint(text)
        raise PolicyError(f"{entry!r} is not an origin: {hint}")
    scheme = match["scheme"].lower()
    host = match["host"].lower()
    port = match["port"]
    canonical = f"{scheme}://{host}"
    if port is not None:
        number = int(port)
        if number > 65535:
            raise PolicyError(f"{entry!r} is not an origin: port {number} is out of range")
        if number != DEFAULT_PORTS[scheme]:
            canonical += f":{number}"
    warning = (
        None
        if canonical == entry
        else f"{entry!r} normalized to {canonical!r}, as browsers send it"
    )
    return canonical, warning


def _origin_hint(text: str) -> str:
    if "://" not in text:
        return "it has no scheme; write it as https://host"
    scheme, _, rest = text.partition("://")
    if scheme.lower() not in ("http", "https"):
        return f"scheme {scheme!r} is not http or https"
    if "@" in rest:
        return "an origin has no user name or password"
    if any(c in rest for c in "/?#"):
        return "an origin has no path, query or fragment (no trailing slash either)"
    return "expected scheme://host[:port]"


def validate_method(method: str) -> str:
    """A method token as the policy uses it; methods are case-sensitive on the wire, kept as written."""
    if method != "*" and not _TOKEN.fullmatch(method):
        raise PolicyError(f"{method!r} is not a valid HTTP method token")
    return method


def validate_header_name(name: str) -> str:
    if name != "*" and not _TOKEN.fullmatch(name):
        raise PolicyError(f"{name!r} is not a valid HTTP header name")
    return name


def _keyed(key: str, check: Callable[[str], T], value: str) -> T:
    """`check(value)`, its PolicyError marked with the policy field it is about."""
    try:
        return check(value)
    except PolicyError as error:
        raise PolicyError(error.message, key=key) from None


def build_policy(
    *,
    origins: Iterable[str] = (),
    methods: Iterable[str] | None = None,
    headers: Iterable[str] | None = None,
    expose: Iterable[str] = (),
    credentials: bool = False,
    max_age: MaxAge | None = None,
    private_network: bool = False,
) -> Policy:
    """A validated, normalized policy. Raises PolicyError on an unusable value."""
    normalized: list[str] = []
    warnings: list[str] = []
    for entry in origins:
        canonical, warning = _keyed("origins", normalize_origin_entry, entry)
        if warning:
            warnings.append(warning)
        if canonical not in normalized:
            normalized.append(canonical)
    if credentials and normalized == ["*"]:
        raise PolicyError(
            'origins = ["*"] with credentials = true is refused by every browser; '
            "list the origins that need credentials, or set credentials = false",
            key="credentials",
        )
    method_list: list[str] = []
    for method in methods or ():
        _keyed("methods", validate_method, method)
        # Methods the browser normalizes are compared in upper case (REQ-METHOD-NORMALIZE).
        canonical_method = method.upper() if method.upper() in _NORMALIZED_METHODS else method
        if canonical_method not in method_list:
            method_list.append(canonical_method)
    header_list = (
        None
        if headers is None
        else _dedupe_headers(_keyed("headers", validate_header_name, h) for h in headers)
    )
    expose_list = _dedupe_headers(_keyed("expose", validate_header_name, h) for h in expose)
    if max_age is not None and None not in (max_age.min, max_age.max):
        assert max_age.min is not None and max_age.max is not None
        if max_age.min > max_age.max:
            raise PolicyError(
                f"max-age min {max_age.min} is greater than max {max_age.max}", key="max-age"
            )
    return Policy(
        origins=tuple(normalized),
        methods=None if methods is None else tuple(method_list),
        headers=header_list,
        expose=expose_list,
        credentials=credentials,
        max_age=max_age,
        private_network=private_network,
        warnings=tuple(warnings),
    )


_NORMALIZED_METHODS = {"DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT"}
_SAFELISTED_HEADER_NAMES = {"accept", "accept-language", "content-language", "content-type"}


def _dedupe_headers(names: Iterable[str]) -> tuple[str, ...]:
    seen: dict[str, str] = {}
    for name in names:
        seen.setdefault(name.lower(), name)
    return tuple(seen.values())

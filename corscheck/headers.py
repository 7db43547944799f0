"""Raw header lines, header-list value parsing, origin parsing and serialization. Pure."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

# A header line exactly as it crossed the wire: the name as sent (case kept) and the value with
# every byte kept. Bytes are decoded as latin-1 so that the mapping back to bytes is lossless.
HeaderLine = tuple[str, str]


@dataclass(frozen=True, slots=True)
class HeaderList:
    """An ordered list of header lines; duplicates and their order are kept."""

    lines: tuple[HeaderLine, ...] = ()
    # Name -> values, built on first lookup: the browser model and the rules read a few headers of
    # every response many times over (per credentials mode, step and rule). `_raw` is keyed by the
    # lowercased name as received; `_trimmed` by the trimmed, lowercased name with trimmed values,
    # as Chromium reads them.
    _raw: dict[str, list[str]] | None = field(default=None, init=False, repr=False, compare=False)
    _trimmed: dict[str, list[str]] | None = field(
        default=None, init=False, repr=False, compare=False
    )

    @classmethod
    def of(cls, pairs: Iterable[tuple[str, str]]) -> HeaderList:
        return cls(tuple((name, value) for name, value in pairs))

    @classmethod
    def from_raw(cls, pairs: Iterable[tuple[bytes, bytes]]) -> HeaderList:
        return cls(tuple((n.decode("latin-1"), v.decode("latin-1")) for n, v in pairs))

    def __iter__(self) -> Iterator[HeaderLine]:
        return iter(self.lines)

    def __len__(self) -> int:
        return len(self.lines)

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str):
            return False
        wanted = name.lower()
        return any(n.lower() == wanted for n, _ in self.lines)

    def get_all(self, name: str) -> list[str]:
        """Every value of the header `name` (case-insensitive), in order."""
        index = self._raw
        if index is None:
            index = {}
            for n, v in self.lines:
                index.setdefault(n.lower(), []).append(v)
            object.__setattr__(self, "_raw", index)
        return index.get(name.lower(), [])

    def matching(self, name: str) -> list[HeaderLine]:
        """The header lines named `name` (case-insensitive), as received: evidence for a report."""
        wanted = name.lower()
        return [(n, v) for n, v in self.lines if n.lower() == wanted]

    def trimmed_values(self, name: str) -> list[str]:
        """Values of `name` as Chromium reads them: names and values trimmed of spaces and tabs."""
        return self.trimmed_index().get(name.lower(), [])

    def trimmed_index(self) -> dict[str, list[str]]:
        """Trimmed, lowercased name -> trimmed values, in order. Shared: do not change it."""
        index = self._trimmed
        if index is None:
            index = {}
            for n, v in self.lines:
                index.setdefault(trim_http_whitespace(n).lower(), []).append(
                    trim_http_whitespace(v)
                )
            object.__setattr__(self, "_trimmed", index)
        return index

    def combined(self, name: str) -> str | None:
        """The Fetch standard's "get": values joined with ", ", or None when absent."""
        values = self.get_all(name)
        if not values:
            return None
        return ", ".join(values)


# RFC 9110 tchar: the bytes an HTTP token (method, header name, list item) may use.
_TCHAR = frozenset("!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
# HTTP whitespace as Chromium trims it from header values and list items (space and tab).
HTTP_WHITESPACE = " \t"
# The one table of default ports (the URL standard's special schemes): every module looks here.
DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443, "ftp": 21}
# Bytes a host may not contain (WHATWG URL "forbidden host code points", plus controls and DEL).
_FORBIDDEN_HOST = re.compile(r"[ #%/:<>?@\[\\\]^|\t\r\n\x00\x7f]")
# C0 controls and DEL: no URL or origin holds one (a regex: serialize_origin runs per target URL).
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def has_cors_headers(lines: Iterable[HeaderLine]) -> bool:
    """Whether any line is an Access-Control-* header: a CORS layer said something."""
    return any(name.lower().startswith("access-control-") for name, _ in lines)


def is_token(s: str) -> bool:
    """True when `s` is a non-empty HTTP token (RFC 9110 §5.6.2)."""
    return bool(s) and all(c in _TCHAR for c in s)


def trim_http_whitespace(value: str) -> str:
    """`value` without leading and trailing spaces and tabs, as Chromium stores header values."""
    return value.strip(HTTP_WHITESPACE)


def split_header_list(value: str) -> list[str]:
    """The items of a comma-separated header value: trimmed, empty items skipped (PRE-PARSE)."""
    items = (trim_http_whitespace(item) for item in value.split(","))
    return [item for item in items if item]


def _encode_host(host: str) -> str:
    """The ASCII (punycode) form of `host`, lowercased; ValueError when it cannot be encoded."""
    if host.isascii():
        return host.lower()
    try:
        import idna  # UTS #46 like browsers; installed with httpx

        return idna.encode(host, uts46=True, transitional=False).decode("ascii").lower()
    except ImportError:  # pragma: no cover - idna ships with httpx
        return host.encode("idna").decode("ascii").lower()
    except Exception as error:  # idna raises several unrelated classes on hostile input
        raise ValueError(str(error)) from error


# Pure and called for every probe, redirect hop and policy check: memoized, bounded.
@functools.lru_cache(maxsize=65536)
def serialize_origin(url: str) -> str:
    """The origin of `url` as a browser serializes it, ``scheme://host[:port]``.

    REQ-ORIGIN-SERIALIZE: lowercase, punycode host, IPv6 in brackets, default port dropped.

    Raises UsageError with a one-line message for anything that is not an absolute URL with a host.
    """
    from urllib.parse import urlsplit

    from corscheck.errors import UsageError

    text = url.strip()
    if _CONTROL.search(text):
        raise UsageError(f"not a URL or origin (control characters): {url!r}")
    try:
        parts = urlsplit(text)
        scheme = parts.scheme.lower()
        raw_host = parts.hostname
        port = parts.port
    except ValueError as error:
        raise UsageError(f"not a URL or origin: {url!r} ({error})") from None
    if not scheme or "://" not in text:
        raise UsageError(f"not a URL or origin (no scheme://): {url!r}")
    if not raw_host:
        raise UsageError(f"not a URL or origin (no host): {url!r}")
    if ":" in raw_host:  # IPv6 literal: urlsplit strips the brackets
        import ipaddress

        try:
            host = f"[{ipaddress.IPv6Address(raw_host.split('%')[0]).compressed}]"
        except ValueError:
            raise UsageError(f"not a URL or origin (bad IPv6 address): {url!r}") from None
    else:
        try:
            host = _encode_host(raw_host)
        except ValueError:
            raise UsageError(f"not a URL or origin (bad host name): {url!r}") from None
        if not host or _FORBIDDEN_HOST.search(host) or not host.isascii():
            raise UsageError(f"not a URL or origin (bad host name): {url!r}")
    if port is None or port == DEFAULT_PORTS.get(scheme):
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"


@functools.lru_cache(maxsize=65536)
def parse_origin(text: str) -> tuple[str, str, int | None] | None:
    """(scheme, host, port) when `text` is exactly a serialized origin, else None.

    The port is None when absent (the scheme's default). "null" is not parsed here: callers handle
    opaque origins. Never raises.
    """
    if "://" not in text or text != text.strip():
        return None
    from corscheck.errors import UsageError

    try:
        canonical = serialize_origin(text)
    except UsageError:
        return None
    if canonical != text:  # a path, a trailing slash, upper case, a default port, userinfo, ...
        return None
    scheme, _, rest = canonical.partition("://")
    if rest.startswith("["):
        host, _, port_text = rest[1:].partition("]")
        host = f"[{host}]"
        port_text = port_text.removeprefix(":")
    else:
        host, _, port_text = rest.partition(":")
    return scheme, host, int(port_text) if port_text else None


def parse_header_lines(lines: Iterable[str]) -> HeaderList:
    """The header list Chromium builds from raw response header lines (status line excluded).

    A line starting with a space or tab continues the previous header (obs-fold): Chromium joins it
    to the previous value with one space. A line without a colon is ignored. Names and values are
    otherwise kept as received (the browser model trims them when it reads them).
    """
    pairs: list[tuple[str, str]] = []
    for line in lines:
        if line[:1] in (" ", "\t"):
            if pairs:
                name, value = pairs[-1]
                continued = line.strip(HTTP_WHITESPACE)
                joined = f"{trim_http_whitespace(value)} {continued}" if continued else value
                pairs[-1] = (name, joined)
            continue
        name, colon, value = line.partition(":")
        if colon:
            pairs.append((name, value))
    return HeaderList.of(pairs)

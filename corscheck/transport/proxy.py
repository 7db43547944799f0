"""Which proxy a request goes through, as curl and httpx decide it, and whether an answer came from
the proxy rather than the target. PURE: the environment is passed in, nothing is sent.

- `--proxy URL` is used for every target and overrides the environment entirely (NO_PROXY included,
  as httpx does with an explicit proxy: the user named it for this run).
- Otherwise `http_proxy` / `HTTP_PROXY` for http:// targets, `https_proxy` / `HTTPS_PROXY` for
  https:// targets, and `all_proxy` / `ALL_PROXY` for either when the scheme's own is not set; the
  lowercase name wins when both are set (curl, urllib and httpx agree on that). `NO_PROXY` /
  `no_proxy` lists hosts that go direct: `*` (everything), a host name (that host and its
  subdomains; a leading dot or `*.` means the same), an IP address, an IP network in CIDR notation,
  each optionally with `:port`.
- `--no-proxy` turns all of it off.
- Only `http://` proxies are spoken (absolute-form requests for http:// targets, CONNECT tunnels for
  https:// ones). Any other scheme, or a proxy without a scheme, is a usage error, not a silent
  direct connection.
"""

from __future__ import annotations

import base64
import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from corscheck.errors import UsageError
from corscheck.headers import HeaderList
from corscheck.masking import mask_url


@dataclass(frozen=True, slots=True)
class Proxy:
    """An HTTP proxy: where it listens, and the Proxy-Authorization value its URL's userinfo gives."""

    host: str  # lowercase; an IPv6 address in brackets
    port: int
    authorization: str | None = None  # "Basic …", never shown in any output

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port}"

    def __repr__(self) -> str:  # the credentials stay out of reprs and tracebacks
        return f"Proxy({self.where}{', with credentials' if self.authorization else ''})"


def parse_proxy(url: str, source: str = "--proxy") -> Proxy:
    """The proxy a URL names; raises UsageError (messages never show its userinfo)."""
    shown = mask_url(url.strip())
    text = url.strip()
    if "://" not in text:
        raise UsageError(
            f"{source} {shown!r} has no scheme; write http://host:port (only HTTP proxies are spoken)"
        )
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        raise UsageError(f"{source} {shown!r} is not a valid URL (bad port?)") from None
    if parts.scheme.lower() != "http":
        raise UsageError(
            f"{source} {shown!r}: scheme {parts.scheme!r} is not supported; corscheck speaks only "
            "to HTTP proxies (http://host:port), which tunnel https:// targets with CONNECT"
        )
    if not parts.hostname:
        raise UsageError(f"{source} {shown!r} has no host")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise UsageError(f"{source} {shown!r}: a proxy URL has no path, query or fragment")
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    authorization = None
    if "@" in parts.netloc:
        user = unquote(parts.username or "")
        password = unquote(parts.password or "")
        token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
        authorization = f"Basic {token}"
    return Proxy(host, port or 80, authorization)


def _env(environ: Mapping[str, str], name: str) -> tuple[str, str] | None:
    """The variable's (name, value), the lowercase spelling first; None when unset or empty."""
    for key in (name.lower(), name.upper()):
        value = environ.get(key, "").strip()
        if value:
            return key, value
    return None


@dataclass(frozen=True, slots=True)
class ProxyRoutes:
    """Which proxy each scheme goes through, and the hosts that bypass it."""

    http: Proxy | None = None
    https: Proxy | None = None
    no_proxy: tuple[str, ...] = ()

    def proxy_for(self, scheme: str, host: str, port: int) -> Proxy | None:
        """The proxy a request to scheme://host:port goes through; None to connect directly."""
        proxy = self.http if scheme == "http" else self.https
        if proxy is None or bypasses(self.no_proxy, host, port):
            return None
        return proxy

    @property
    def active(self) -> bool:
        return self.http is not None or self.https is not None


def proxy_routes(
    explicit: str | None, *, use_environment: bool, environ: Mapping[str, str]
) -> ProxyRoutes:
    """The run's proxies: `--proxy` for everything, else the environment unless turned off."""
    if explicit is not None:
        proxy = parse_proxy(explicit)
        return ProxyRoutes(proxy, proxy)
    if not use_environment:
        return ProxyRoutes()
    fallback = _env(environ, "all_proxy")
    chosen = {}
    for scheme in ("http", "https"):
        found = _env(environ, f"{scheme}_proxy") or fallback
        chosen[scheme] = parse_proxy(found[1], found[0]) if found else None
    no_proxy = _env(environ, "no_proxy")
    entries = tuple(
        e.strip().lower() for e in (no_proxy[1] if no_proxy else "").split(",") if e.strip()
    )
    return ProxyRoutes(chosen["http"], chosen["https"], entries)


def bypasses(entries: tuple[str, ...], host: str, port: int) -> bool:
    """Whether NO_PROXY's `entries` send host:port directly (curl's reading, plus CIDR as httpx)."""
    bare = host.strip("[]").lower().rstrip(".")
    for entry in entries:
        if entry == "*":
            return True
        name, entry_port = _split_port(entry)
        if entry_port is not None and entry_port != port:
            continue
        name = name.strip("[]").rstrip(".")
        if "/" in name:
            try:
                if ipaddress.ip_address(bare) in ipaddress.ip_network(name, strict=False):
                    return True
            except ValueError:
                pass
            continue
        name = name.removeprefix("*").removeprefix(".")
        if not name:
            continue
        if bare == name or bare.endswith("." + name):
            return True
    return False


def _split_port(entry: str) -> tuple[str, int | None]:
    if entry.startswith("["):  # [::1]:8080
        host, _, rest = entry[1:].partition("]")
        return host, int(rest[1:]) if rest.startswith(":") and rest[1:].isdigit() else None
    if entry.count(":") == 1:
        host, _, port = entry.partition(":")
        return host, int(port) if port.isdigit() else None
    return entry, None  # a bare IPv6 address, or a name


# --- a proxy's own answer ------------------------------------------------------------------------

# Headers only a proxy puts on an error page it writes itself: squid's X-Squid-Error, the
# standard Proxy-Status (RFC 9209; squid 6, haproxy, Caddy, Envoy), and Proxy-Agent.
_PROXY_ERROR_HEADERS = ("X-Squid-Error", "Proxy-Status", "Proxy-Agent")
# The products whose error pages name themselves in Server and which are forward proxies, so a
# Server naming one on a gateway error says the proxy wrote the page.
_PROXY_PRODUCTS = ("squid", "tinyproxy", "mitmproxy", "privoxy", "haproxy", "polipo", "ziproxy")
_GATEWAY_ERRORS = frozenset({500, 502, 503, 504})


def proxy_answer(status: int, reason: str, headers: HeaderList) -> str | None:
    """Why the response to a request sent through a proxy is the proxy's own answer rather than the
    target's (a short description), or None when it is, or may be, the target's.

    The decision is conservative, because both mistakes are wrong: judging a proxy's error page as
    the target's invents findings (a refused origin, say), and calling a target's real 503 a proxy
    error hides its answer. So:
    - 407 is always the proxy's: only a proxy asks for proxy credentials.
    - Any Access-Control-* header means the target answered: a proxy's own error page has none.
    - Otherwise only a gateway error (500, 502, 503, 504) is a candidate, and only with a mark
      that a proxy writes on its own pages and a target does not: X-Squid-Error, Proxy-Status or
      Proxy-Agent; a Server naming a forward-proxy product (squid, tinyproxy, mitmproxy, …); or
      tinyproxy's reason phrase "Unable to connect". A gateway error without such a mark is the
      target's answer. That leaves one known miss: Apache's mod_proxy writes its 503 with
      `Server: Apache`, which an Apache target writes too, so through Apache a dead target is
      judged on that 503 (as it would be if the target itself answered 503).
    """
    if status == 407:
        return "407 Proxy Authentication Required"
    names = {name.lower() for name, _ in headers}
    if any(name.startswith("access-control-") for name in names):
        return None
    if status not in _GATEWAY_ERRORS:
        return None
    for marker in _PROXY_ERROR_HEADERS:
        value = headers.combined(marker)
        if value is not None:
            return f"{status} {reason} with {marker}: {value.strip()[:80]}"
    server = (headers.combined("Server") or "").strip()
    if any(product in server.lower() for product in _PROXY_PRODUCTS):
        return f"{status} {reason} from Server: {server[:80]}"
    if reason.lower() == "unable to connect":
        return f"{status} {reason}"
    return None

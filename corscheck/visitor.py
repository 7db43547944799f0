"""The visitor: whose browser a verdict is about. PURE.

A verdict is about a logged-in visitor's browser, not an empty one. This module says what that browser
adds to each request a page's fetch() makes (Chromium's Fetch Metadata headers, the Referer its default
policy sends, Accept-Language, a browser User-Agent) and which of the visitor's cookies go with it in
each browser profile, measured in Chromium 156 (issue 23):

| cookie (set by a top-level visit to the API) | cross-site, 3PC blocked | cross-site, 3PC allowed | same-site |
|---|---|---|---|
| SameSite=None; Secure                         | not sent                | sent                    | sent      |
| SameSite=Lax / Strict / no SameSite           | not sent                | not sent                | sent      |
| Partitioned                                   | not sent                | not sent                | sent      |

Profiles: `chrome` (Chrome and Edge Stable: third-party cookies allowed; the majority browser and the
most exposed of the defaults), `chrome-no-3pc` (Incognito, Chromium builds, users who block them),
`firefox` (Total Cookie Protection: a cross-site request carries only cookies partitioned under the
requesting site, which a cookie set by a top-level visit never is), `safari` (third-party cookies
blocked). The CORS check is the same in all; what differs is which cookies go.

Also here: the address space of a target (the Local Network Access specification's table), which
decides whether Chromium 142+ and Firefox ask the visitor for a permission before a public page may
reach it at all.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Literal, cast, get_args
from urllib.parse import urlsplit

from corscheck.addresses import address_space
from corscheck.errors import UsageError
from corscheck.headers import is_token, serialize_origin

Profile = Literal["chrome", "chrome-no-3pc", "firefox", "safari"]
PROFILES: tuple[Profile, ...] = get_args(Profile)
PROFILE_NAMES: dict[Profile, str] = {
    "chrome": "Chrome/Edge, third-party cookies allowed",
    "chrome-no-3pc": "Chrome without third-party cookies: Incognito, Chromium",
    "firefox": "Firefox, Total Cookie Protection",
    "safari": "Safari, third-party cookies blocked",
}
SameSite = Literal["strict", "lax", "none"]
FetchSite = Literal["same-origin", "same-site", "cross-site"]

# Chrome 156 Stable on Linux, as it reports itself (the reduced User-Agent: minor version zeroed).
CHROME_USER_AGENT = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/156.0.0.0 Safari/537.36"
)
ACCEPT_LANGUAGE = "en-US,en;q=0.9"
# The placeholder session cookie of a visitor whose cookies were not given: a name no application
# uses, of the one kind that can flow cross-site (SameSite=None; Secure).
PLACEHOLDER_NAME = "__corscheck_session"


@dataclass(frozen=True, slots=True)
class Cookie:
    """One of the visitor's cookies for the API, as its Set-Cookie line declared it."""

    name: str
    value: str
    same_site: SameSite = "lax"  # Chromium's default when the attribute is absent
    secure: bool = False
    partitioned: bool = False
    path: str = "/"
    domain: str | None = None  # None: host-only (sent to the host that set it)

    @property
    def pair(self) -> str:
        return f"{self.name}={self.value}"

    def describe(self) -> str:
        """The cookie as a report shows it: its name and attributes, never its value."""
        attributes = [f"SameSite={self.same_site.capitalize()}"]
        attributes += ["Secure"] * self.secure + ["Partitioned"] * self.partitioned
        return f"{self.name} ({'; '.join(attributes)})"


PLACEHOLDER_COOKIE = Cookie(PLACEHOLDER_NAME, "1", same_site="none", secure=True)


@dataclass(frozen=True, slots=True)
class Visitor:
    """The browser a verdict is about: its profiles (the first decides verdicts and severity), the
    cookies it holds for the API, and how it introduces itself."""

    profiles: tuple[Profile, ...] = PROFILES
    cookies: tuple[Cookie, ...] = (PLACEHOLDER_COOKIE,)
    # None: corscheck's own (transport/http11.py), so that the API's operators can tell an audit
    # from their users in their logs; `--user-agent chrome` for a WAF that turns tools away.
    user_agent: str | None = None
    cookies_given: bool = False  # False: the placeholder session, an assumption the report states
    profiles_given: bool = False
    bypassed: bool = False  # a Cookie given with -H: sent as given on every request, model off

    @property
    def profile(self) -> Profile:
        """The profile whose verdicts, evidence and severity a report gives."""
        return self.profiles[0]

    def probe_statement(self, cookie: str | None, sends_credentials: bool) -> str:
        """One line for `probe`: the profile, and the cookies it attached (names only)."""
        names = [pair.split("=", 1)[0] for pair in cookie.split("; ")] if cookie else []
        held = "its cookies" if self.cookies_given else "the placeholder session cookie"
        if not sends_credentials:
            sent = "no cookies (this credentials mode sends none to this URL)"
        elif cookie is None:
            sent = "the Cookie given with -H (the visitor model is bypassed)"
        elif names:
            sent = f"{held} {', '.join(names)}"
        else:
            sent = f"none of {held} (this browser does not attach them to this request)"
        return f"{PROFILE_NAMES[self.profile]}, sending {sent}"

    def without_secrets(self) -> Visitor:
        """The visitor as a report keeps it: the given cookies' values replaced by ****."""
        if not self.cookies_given:
            return self
        return replace(self, cookies=tuple(replace(c, value="****") for c in self.cookies))

    def secrets(self) -> tuple[str, ...]:
        """The values of the cookies given (masked in every output); the placeholder's is none."""
        return tuple(c.value for c in self.cookies) if self.cookies_given else ()

    def statement(self) -> str:
        """One line for a report's head: whose browser the verdicts are about."""
        if self.bypassed:
            session = "the Cookie of -H on every request, preflights included (model bypassed)"
        elif self.cookies_given:
            session = "logged in with " + ", ".join(cookie.describe() for cookie in self.cookies)
        else:
            session = "logged in, session cookie assumed SameSite=None; Secure (no --cookie)"
        verdicts = f"verdicts as {self.profile} ({PROFILE_NAMES[self.profile]})"
        others = ", ".join(self.profiles[1:])
        return f"{session} · {verdicts}" + (f" · exposure also for {others}" if others else "")


def parse_cookie(text: str) -> Cookie:
    """A `--cookie` value: a Set-Cookie line (`NAME=VALUE; SameSite=None; Secure; Partitioned`,
    Path, Domain, HttpOnly and the rest accepted). Raises UsageError."""
    pair, *attributes = [part.strip() for part in text.split(";")]
    name, sep, value = pair.partition("=")
    name = name.strip()
    if not sep or not name or not is_token(name):
        raise UsageError(f"--cookie {_shown(text)!r}: write NAME=VALUE, then attributes after ';'")
    same_site: SameSite = "lax"
    secure = partitioned = False
    path, domain = "/", None
    for attribute in attributes:
        key, _, argument = attribute.partition("=")
        key = key.strip().lower()
        argument = argument.strip()
        if key == "samesite":
            lowered = argument.lower()
            if lowered not in get_args(SameSite):
                raise UsageError(
                    f"--cookie {name}: SameSite={argument!r} is not Strict, Lax or None"
                )
            same_site = cast(SameSite, lowered)
        elif key == "secure":
            secure = True
        elif key == "partitioned":
            partitioned = True
        elif key == "path" and argument.startswith("/"):
            path = argument
        elif key == "domain" and argument:
            domain = argument.lstrip(".").lower()
        # HttpOnly, Max-Age, Expires, Priority: they change nothing a cross-origin fetch sees.
    if same_site == "none" and not secure:
        raise UsageError(
            f"--cookie {name}: browsers reject SameSite=None without Secure (the cookie is never "
            "stored); add Secure"
        )
    if partitioned and not secure:
        raise UsageError(f"--cookie {name}: browsers reject Partitioned without Secure; add Secure")
    return Cookie(name, value.strip(), same_site, secure, partitioned, path, domain)


def _shown(text: str) -> str:
    """A --cookie value in an error: its name only, never its value (text without a name may be a
    value pasted alone)."""
    return text.split("=", 1)[0] + "=****" if "=" in text else "****"


def user_agent_of(text: str) -> str:
    """A `--user-agent` value: `chrome` for Chrome Stable's own, or the string as given."""
    if text.strip().lower() == "chrome":
        return CHROME_USER_AGENT
    if not text.strip() or any(c in text for c in "\r\n\0"):
        raise UsageError("--user-agent: give 'chrome' or a one-line User-Agent string")
    return text.strip()


def visitor_of(
    cookies: tuple[Cookie, ...] = (),
    profiles: tuple[Profile, ...] = (),
    user_agent: str | None = None,
) -> Visitor:
    """The visitor of a run: the cookies and profiles given (the placeholder session and every
    profile when none are), the first given profile first."""
    chosen = tuple(dict.fromkeys(profiles))
    return Visitor(
        profiles=chosen or PROFILES,
        cookies=cookies or (PLACEHOLDER_COOKIE,),
        user_agent=user_agent,
        cookies_given=bool(cookies),
        profiles_given=bool(chosen),
    )


def parse_profile(text: str) -> Profile:
    if text not in PROFILES:
        raise UsageError(f"--browser {text!r} is not one of {', '.join(PROFILES)}")
    return text


# --- sites -----------------------------------------------------------------------------------------


# A run asks about the same few origins and URLs for every request it plans and sends.
@lru_cache(maxsize=4096)
def site_of(origin_or_url: str) -> tuple[str, str] | None:
    """The schemeful site (scheme, registrable domain or host) of an origin or URL; None for an
    opaque origin ("null") or one that does not parse. An IP address is its own site."""
    from corscheck.origins import registrable_domain

    try:
        parts = urlsplit(origin_or_url)
        host = parts.hostname  # lowercased, without an IPv6 address's brackets
    except ValueError:
        return None
    if not parts.scheme or not host:
        return None
    return parts.scheme.lower(), registrable_domain(host) or host


@lru_cache(maxsize=4096)
def fetch_site(page_origin: str, url: str) -> FetchSite:
    """Sec-Fetch-Site of a fetch() from a page on `page_origin` to `url` (schemeful, as Chromium);
    an opaque origin ("null") is no origin and no site, so cross-site."""
    if _origin_of(page_origin) == _origin_of(url) is not None:
        return "same-origin"
    page_site, target_site = site_of(page_origin), site_of(url)
    if page_site is not None and page_site == target_site:
        return "same-site"
    return "cross-site"


def _origin_of(url: str) -> str | None:
    try:
        return serialize_origin(url)
    except UsageError:
        return None


# --- what the browser adds --------------------------------------------------------------------------


def referer(page_origin: str, url: str) -> str | None:
    """The Referer a fetch() from the page sends under the default policy (strict-origin-when-
    cross-origin): the page's origin and "/" cross-origin, nothing on an https→http downgrade and
    nothing from an opaque origin (its document URL is not known here)."""
    if page_origin == "null":
        return None
    if page_origin.startswith("https://") and url.lower().startswith("http://"):
        return None
    return page_origin + "/"


def fetch_metadata(page_origin: str, url: str) -> tuple[tuple[str, str], ...]:
    """The Fetch Metadata request headers Chromium sends on a fetch()'s preflight and actual
    request (mode cors, destination empty)."""
    return (
        ("Sec-Fetch-Site", fetch_site(page_origin, url)),
        ("Sec-Fetch-Mode", "cors"),
        ("Sec-Fetch-Dest", "empty"),
    )


def cookies_sent(
    cookies: tuple[Cookie, ...], profile: Profile, page_origin: str, url: str
) -> tuple[Cookie, ...]:
    """The visitor's cookies a credentialed request from `page_origin` to `url` carries in
    `profile` (never on preflights; the caller decides the credentials mode)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return ()
    host = (parts.hostname or "").lower()
    scheme = parts.scheme.lower()
    path = parts.path or "/"
    cross_site = fetch_site(page_origin, url) == "cross-site"
    sent = []
    for cookie in cookies:
        if cookie.domain is not None and not (
            host == cookie.domain or host.endswith("." + cookie.domain)
        ):
            continue
        if not _path_matches(path, cookie.path):
            continue
        if cookie.secure and scheme != "https" and address_space(host) != "loopback":
            # Secure cookies go over https (and to loopback, which Chromium trusts). An http URL
            # that stands for an https deployment is judged as that https URL (deployment.py).
            continue
        if cross_site and not _crosses_sites(cookie, profile):
            continue
        sent.append(cookie)
    return tuple(sent)


def _crosses_sites(cookie: Cookie, profile: Profile) -> bool:
    """Whether a cookie set by a top-level visit goes with a cross-site request in `profile`."""
    if cookie.same_site != "none" or cookie.partitioned:
        return False  # Lax and Strict never do; a partitioned one is keyed to the API's own site
    # Only Chrome Stable still allows unpartitioned third-party cookies; Firefox's Total Cookie
    # Protection looks in the requesting site's jar, where a top-level visit put nothing.
    return profile == "chrome"


def _path_matches(request_path: str, cookie_path: str) -> bool:
    """RFC 6265 path-match."""
    if request_path == cookie_path:
        return True
    if request_path.startswith(cookie_path):
        return cookie_path.endswith("/") or request_path[len(cookie_path)] == "/"
    return False


def cookie_header(cookies: tuple[Cookie, ...]) -> str:
    """The Cookie line's value for these cookies, in the order given."""
    return "; ".join(cookie.pair for cookie in cookies)


# --- address spaces (Local Network Access) ----------------------------------------------------------

"""What replaying a finding in a real browser means, and what the browser's answer proves. PURE.

`replay_of` turns a finding into the page steps a browser plays (or the reason it cannot be played);
`proof_of` turns what the page observed into a `Proof`. The browser, the page server and the pages
themselves sit around this (chromium.py, server.py, pages.py).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit, urlunsplit

from corscheck import rules
from corscheck.addresses import IN_PROCESS_HOST
from corscheck.evaluate.model import Finding
from corscheck.evaluate.proof import Proof
from corscheck.headers import HeaderLine
from corscheck.masking import MASK
from corscheck.plan import CACHE_BUSTER
from corscheck.safelist import cors_unsafe_request_header_names
from corscheck.visitor import PROFILE_NAMES, Profile

Claim = Literal["read", "blocked"]
FetchMode = Literal["cors", "no-cors"]

# At most this many body bytes are read by a proof's page: enough to show what an attacker gets,
# little enough that a proof never downloads a large body (the one exception to "bodies are never
# downloaded", README.md).
BODY_LIMIT = 64 * 1024
PREVIEW_CHARS = 120
# The profiles headless Chromium can play: third-party cookies allowed or blocked, set through the
# profile's Default/Preferences. Firefox's Total Cookie Protection and Safari's are not Chromium's.
PLAYABLE: tuple[Profile, ...] = ("chrome", "chrome-no-3pc")
SAFE_METHODS = frozenset({"GET", "HEAD"})
# Findings that claim nothing a page can read or be refused: how long a preflight is cached, and
# the Private Network Access preflight Chromium 142+ no longer sends.
_NOT_A_READ = {
    rules.MAX_AGE_TOO_LONG.id: "a preflight cache lifetime is not something a page reads or is "
    "refused",
    rules.MAX_AGE_TOO_SHORT.id: "a preflight cache lifetime is not something a page reads or is "
    "refused",
    rules.PRIVATE_NETWORK_UNTRUSTED.id: "Chromium 142+ sends no Private Network Access preflight (Local "
    "Network Access asks the visitor instead), so the answer it judges cannot be replayed",
    rules.PRIVATE_NETWORK_REFUSED.id: "Chromium 142+ sends no Private Network Access preflight (Local "
    "Network Access asks the visitor instead), so the answer it judges cannot be replayed",
}
_HOST = re.compile(r"^[a-z0-9]([a-z0-9_-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9_-]*[a-z0-9])?)*$")
_MISSING_EXPOSURE = re.compile(r"^the page cannot read (?P<names>.+?) \(credentials ")


@dataclass(frozen=True, slots=True)
class PageStep:
    """One fetch() a page on `origin` makes ("null": from a sandboxed iframe)."""

    origin: str
    url: str
    method: str = "GET"
    headers: tuple[HeaderLine, ...] = ()
    credentials: str = "omit"
    mode: FetchMode = "cors"
    read_headers: tuple[str, ...] = ()  # response headers the page tries to read
    withheld: tuple[str, ...] = ()  # the run's -H headers this request goes without
    socket: bool = False  # `new WebSocket(url)` instead of a fetch(): it sends no data frame


@dataclass(frozen=True, slots=True)
class Replay:
    """A finding replayed: its steps in order (a primer first, for a sequence), the last one the
    evidence request, and what corscheck claims the browser does with it."""

    profile: Profile
    steps: tuple[PageStep, ...]
    claim: Claim
    # For a read of an actual request: the visitor's cookies corscheck says it carried (names);
    # None where the finding claims nothing about cookies.
    cookies: tuple[str, ...] | None = None
    relayed: bool = False  # through the header relay: the run's -H added on the way

    @property
    def evidence(self) -> PageStep:
        return self.steps[-1]

    def claimed(self) -> str:
        """What corscheck claims, in words: "readable with cookie session", "blocked"."""
        if self.claim == "blocked":
            return "blocked"
        if self.cookies is None:
            return "readable"
        if not self.cookies:
            return "readable, sent without cookies"
        plural = "s" if len(self.cookies) > 1 else ""
        return f"readable, sent with cookie{plural} {', '.join(self.cookies)}"


@dataclass(frozen=True, slots=True)
class Observation:
    """What the page saw of its last fetch(): whether it resolved, the status, how many body bytes
    it read and their text, the headers it tried to read (None: not readable), the error, and the
    browser's console messages meanwhile."""

    resolved: bool
    status: int | None = None
    bytes_read: int = 0
    text: str = ""
    headers: tuple[tuple[str, str | None], ...] = ()
    error: str = ""
    console: tuple[str, ...] = ()
    timed_out: bool = False
    # The Cookie line the evidence request carried ("" none); None when the browser did not say.
    cookie: str | None = None


def replay_of(
    finding: Finding,
    profile: Profile,
    send_unsafe: bool,
    token: str,
    extra_headers: Sequence[HeaderLine] = (),
    proxied: bool = False,
) -> Replay | str:
    """The replay of `finding`'s evidence in `profile`, or why it cannot be replayed. `token`
    makes a sequence's URL fresh, as the audit's was; `extra_headers` are the run's -H, and
    `proxied` says the audit went through a proxy of the user's."""
    evidence = finding.evidence
    if profile not in PLAYABLE:
        return f"Chromium cannot play the {profile} profile ({PROFILE_NAMES[profile]})"
    if finding.rule.id in _NOT_A_READ:
        return _NOT_A_READ[finding.rule.id]
    if evidence.step == "handshake":
        return _socket_replay(finding, profile, extra_headers)
    if evidence.step == "none" or evidence.status is None:
        return "the audit got no response to this request, so there is nothing to replay"
    method = evidence.method.upper()
    if method not in SAFE_METHODS and not send_unsafe:
        return (
            f"the proof sends an unsafe {method} request, which the audit did not send; "
            "rerun with --send-unsafe to prove it"
        )
    carried = [line for line in extra_headers if line[0] not in evidence.withheld]
    # -H headers a page cannot send unasked (Authorization, an API key) go through the header
    # relay, which adds them to every request as the audit did (relay.py).
    relayed = bool(cors_unsafe_request_header_names(carried))
    if relayed and (proxied or evidence.withheld):
        return (
            "the audit sent -H headers a page cannot send unasked"
            + (" and went through a proxy" if proxied else ", but not all of them")
            + ": the header relay that adds them cannot replay that"
        )
    url = evidence.url or finding.target
    if "@" in urlsplit(url).netloc:
        return (
            "a page cannot fetch() a URL with userinfo (user:password@), so no page can replay it"
        )
    if urlsplit(url).hostname == IN_PROCESS_HOST:
        return "the target was audited in-process (--app): serve the app and audit its URL to prove"
    unmappable = unmappable_origin(evidence.origin, url)
    if unmappable:
        return unmappable
    read_headers: tuple[str, ...] = ()
    if finding.rule.id == rules.EXPOSED_HEADER_MISSING.id:
        match = _MISSING_EXPOSURE.match(finding.message)
        if match is None:
            return "the finding does not name the header to read"
        read_headers = tuple(name.strip() for name in match["names"].split(","))
    claim: Claim = "blocked" if evidence.reason or read_headers else "read"
    steps: list[PageStep] = []
    if evidence.primer is not None:
        url = fresh(url, token)
        if evidence.primer and unmappable_origin(evidence.primer, url):
            return f"the primer's origin {evidence.primer} cannot be mapped"
        # A request without Origin: a no-cors GET, which sends none.
        mode: FetchMode = "cors" if evidence.primer else "no-cors"
        steps.append(PageStep(evidence.primer or evidence.origin, url, mode=mode))
    steps.append(
        PageStep(
            evidence.origin,
            url,
            method,
            evidence.request_headers,
            evidence.credentials,
            read_headers=read_headers,
            withheld=evidence.withheld,
        )
    )
    cookies = None
    if claim == "read" and evidence.step == "actual" and evidence.credentials == "include":
        line = next((v for n, v in evidence.sent_lines if n.lower() == "cookie"), None)
        cookies = cookie_names(line)
    return Replay(profile, tuple(steps), claim, cookies, relayed)


def _socket_replay(
    finding: Finding, profile: Profile, extra_headers: Sequence[HeaderLine]
) -> Replay | str:
    """A WebSocket finding's replay: `new WebSocket(url)` from a page on the evidence origin,
    claimed to open (over-permissive) or to be refused (the front-end's)."""
    evidence = finding.evidence
    url = evidence.url or finding.target
    if extra_headers:
        return "the audit sent -H headers, which a page's WebSocket cannot carry and the relay does not add to a socket"
    if urlsplit(url).hostname == IN_PROCESS_HOST:
        return "the target was audited in-process (--app): serve the app and audit its URL to prove"
    unmappable = unmappable_origin(evidence.origin, url)
    if unmappable:
        return unmappable
    claim: Claim = "blocked" if finding.rule.direction == "under-permissive" else "read"
    cookies = None
    if claim == "read" and evidence.credentials == "include":
        cookies = cookie_names(
            next((v for n, v in evidence.sent_lines if n.lower() == "cookie"), None)
        )
    return Replay(profile, (PageStep(evidence.origin, url, socket=True),), claim, cookies)


def unmappable_origin(origin: str, url: str) -> str:
    """Why a page cannot be served on `origin` next to the target `url` ("" when it can): only an
    http(s) origin with a plain host name or IP address, other than the target's own, can be
    mapped to the page server; "null" is a sandboxed iframe."""
    if origin == "null":
        return ""
    try:
        parts = urlsplit(origin)
        host = parts.hostname or ""
        parts.port  # noqa: B018 - raises ValueError for a port out of range
    except ValueError:
        return f"the origin {origin} does not parse as a URL"
    if parts.scheme not in ("http", "https") or not host:
        return f"the origin {origin} is not an http(s) origin a page can be served on"
    if not (_HOST.match(host) or _is_ip(host)):
        return f"the host of {origin} is not a name DNS can carry, so no page can be served on it"
    if host_port(origin) == host_port(url):
        return f"the origin {origin} is the target's own host and port"
    return ""


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def host_port(url: str) -> str:
    """`host:port` of a URL, the port spelled out (Chromium's host mapping matches this form)."""
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme in ("https", "wss") else 80)
    host = parts.hostname or ""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def fresh(url: str, token: str) -> str:
    """A sequence's URL made fresh: its cache-busting parameter (the audit's) replaced by `token`,
    so that the replay meets no answer the audit left in a cache."""
    parts = urlsplit(url)
    # Textual, so that the rest of the query keeps the audit's exact spelling.
    kept = [p for p in parts.query.split("&") if p and p.partition("=")[0] != CACHE_BUSTER]
    return urlunsplit(parts._replace(query="&".join([*kept, f"{CACHE_BUSTER}={token}"])))


def proof_of(replay: Replay, seen: Observation, browser: str, secrets: Sequence[str] = ()) -> Proof:
    """The proof of a replay from what its page saw in `browser`."""
    if seen.timed_out:
        return Proof(
            "unprovable",
            browser=browser,
            profile=replay.profile,
            reason="the browser did not finish the replay in time",
        )
    step = replay.evidence
    hidden = [name for name, value in seen.headers if value is None]
    if not seen.resolved:
        outcome: Literal["read", "blocked"] = "blocked"
        message = _block_message(seen) or seen.error
    elif step.read_headers and hidden:
        outcome = "blocked"
        message = f"{', '.join(hidden)} read as null: not exposed to the page"
    else:
        outcome, message = "read", ""
    read = outcome == "read" or step.read_headers
    sent = cookie_names(seen.cookie)
    # A credentialed read is only proved as claimed when the same cookies went (or none did).
    cookies_agree = (
        outcome != "read"
        or replay.cookies is None
        or seen.cookie is None
        or set(replay.cookies) == set(sent)
    )
    return Proof(
        outcome,
        agrees=outcome == replay.claim and cookies_agree,
        claim=replay.claimed(),
        browser=browser,
        profile=replay.profile,
        message=message,
        status=seen.status if seen.resolved else None,
        bytes_read=seen.bytes_read if read else 0,
        preview=mask_preview(seen.text, secrets) if read else "",
        cookies=sent,
    )


def cookie_names(line: str | None) -> tuple[str, ...]:
    """The names in a Cookie line (never the values)."""
    if not line:
        return ()
    return tuple(pair.split("=", 1)[0].strip() for pair in line.split(";") if pair.strip())


def _block_message(seen: Observation) -> str:
    """The browser's own word for a block: its console error about CORS, mixed content or the
    network, the first that names one."""
    markers = ("CORS policy", "Mixed Content", "net::ERR_", "Local Network Access")
    for line in seen.console:
        if any(marker in line for marker in markers):
            return line.strip()
    return ""


_SECRET_KEY = (
    r"[\w-]*(?:token|key|secret|password|passwd|pwd|signature|auth|session|credential|cookie)[\w-]*"
)
_JSON_SECRET = re.compile(rf'("{_SECRET_KEY}"\s*:\s*")([^"]*)(")', re.I)
_PAIR_SECRET = re.compile(rf"(\b{_SECRET_KEY}=)([^&;\s\"']+)", re.I)


def mask_preview(text: str, secrets: Sequence[str] = ()) -> str:
    """The start of a body as a report shows it: whitespace collapsed, the run's secrets and the
    values of secret-looking keys masked, at most PREVIEW_CHARS characters."""
    shown = " ".join(text.split())
    for secret in sorted(secrets, key=len, reverse=True):
        if secret:
            shown = shown.replace(secret, MASK)
    shown = _JSON_SECRET.sub(rf"\1{MASK}\3", shown)
    shown = _PAIR_SECRET.sub(rf"\1{MASK}", shown)
    return shown if len(shown) <= PREVIEW_CHARS else shown[: PREVIEW_CHARS - 1] + "…"

"""The finding model: a probe's result, the evidence that proves a finding, the finding itself, and
its fingerprint across runs. PURE."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from corscheck import rules
from corscheck.browser import Probe, Verdict, normalize_method
from corscheck.evaluate.proof import Proof
from corscheck.exchange import Exchange
from corscheck.headers import DEFAULT_PORTS, HeaderLine
from corscheck.plan import ALLOWED, PlannedProbe
from corscheck.rules import Rule, Severity
from corscheck.wording import plural

# "same-origin": the page is on the target's own origin, so no CORS applies and nothing is compared.
Outcome = Literal[
    "as-expected", "over-permissive", "under-permissive", "not-checked", "same-origin"
]


@dataclass(frozen=True, slots=True)
class ProbeResult:
    planned: PlannedProbe
    exchange: Exchange
    verdict: Verdict
    expected: bool | None  # None: nothing is expected (no policy, and not an attacker origin)
    outcome: Outcome


@dataclass(frozen=True, slots=True)
class Evidence:
    """The probe and the response lines that prove a finding."""

    origin: str
    method: str
    request_headers: tuple[HeaderLine, ...]
    credentials: str
    step: str  # "preflight" or "actual": which response the lines come from
    status: int | None
    response_lines: tuple[HeaderLine, ...]
    reason: str | None = None
    related: tuple[str, ...] = ()  # further origins, methods or headers with the same root cause
    # The request of that step as it went on the wire: its method (OPTIONS for a preflight) and
    # its CORS request lines (Origin, Access-Control-Request-*).
    sent_method: str = ""
    sent_lines: tuple[HeaderLine, ...] = ()
    # The class of the probe's origin (ALLOWED, or an attacker class of origins.ORIGIN_CLASSES): the
    # root cause a fingerprint names, where the crafted origin itself may change (gate.py).
    origin_class: str = ""
    # The URL the evidence request went to, where it is not the finding's target (a cache trial's
    # fresh URL, an error path); "" for the target itself.
    url: str = ""
    # A finding whose evidence is a sequence: the request sent first on the same URL, from this
    # page origin ("" for a request without Origin); None for a finding of one request.
    primer: str | None = None
    # The names of the run's -H headers the request went without (the error path that drops
    # them); empty: it carried every one, as every other request does.
    withheld: tuple[str, ...] = ()

    def page_request(self) -> str:
        """The page's fetch() (or WebSocket), in one line."""
        if self.step == "handshake":
            cookies = "with the visitor's cookies" if self.credentials == "include" else "no cookie"
            return f"new WebSocket() from {self.origin}: {cookies}"
        text = f"fetch() from {self.origin}: {self.method}, credentials {self.credentials}"
        return text + "".join(f", {name}: {value}" for name, value in self.request_headers)

    def sent_request(self) -> list[str]:
        """The request of the evidence step as sent: its first line, then its CORS lines."""
        if not self.sent_method:
            return []
        kind = {"preflight": "preflight", "handshake": "handshake"}.get(self.step, "actual request")
        return [f"{self.sent_method} ({kind})", *(f"{n}: {v}" for n, v in self.sent_lines)]

    def response(self) -> list[str]:
        """The response of the evidence step: status, then its CORS lines."""
        status = f"{self.step} → {self.status}" if self.status is not None else "no response"
        lines = [f"{name}: {value.strip()}" for name, value in self.response_lines]
        if self.step == "handshake":
            return [status, *lines]  # CORS does not apply: no CORS header is missing
        return [status, *lines] if lines else [f"{status} (no CORS headers)"]


@dataclass(frozen=True, slots=True)
class Suppression:
    """Why a finding is accepted: an [[ignore]] entry's reason, its expiry, and where it is written
    ("corscheck.toml:12", or "--ignore" for the command line)."""

    reason: str
    expires: str | None
    source: str

    def statement(self) -> str:
        """ "the local front-end (corscheck.toml:5, until 2027-03-31)": the reason and where it is
        accepted, as the reports show it."""
        until = f", until {self.expires}" if self.expires else ""
        return f"{self.reason} ({self.source}{until})"


BaselineState = Literal["new", "unchanged"]


@dataclass(frozen=True, slots=True)
class Exposure:
    """What one browser profile exposes for an over-permissive finding: the attacker origins whose
    credentialed read carried the visitor's cookies, those that read without them, and the status
    of a response read with cookies (visitor.py decides which cookies each profile sends)."""

    profile: str
    with_cookies: tuple[str, ...] = ()  # cross-site ones first
    without_cookies: tuple[str, ...] = ()
    status: int | None = None
    cross_site: int = 0  # how many of `with_cookies` are cross-site (the first ones)
    verb: str = "read"  # what a page does: "read" a response, "open" a WebSocket

    def summary(self) -> str:
        """One line: who reads (or opens a socket) what in this profile."""
        status = f", status {self.status}" if self.status is not None else ""
        same_site = len(self.with_cookies) - self.cross_site
        verb = self.verb
        if self.cross_site:
            return (
                f"{plural(self.cross_site, 'cross-site origin')} {verb} with the visitor's cookies "
                f"(e.g. {self.with_cookies[0]}{status})"
                + (f"; {same_site} same-site too" if same_site else "")
            )
        if self.with_cookies:
            without = (
                f"; {plural(len(self.without_cookies), 'other origin')} {verb} only without them"
                if self.without_cookies
                else ""
            )
            return (
                f"only same-site pages {verb} with the visitor's cookies (e.g. "
                f"{self.with_cookies[0]}{status}){without}"
            )
        if self.without_cookies:
            return (
                f"{plural(len(self.without_cookies), 'origin')} {verb}, but only without the "
                "visitor's cookies (this browser does not send them there)"
            )
        return f"no crafted origin {verb}s"


def carries_credentials(probe: Probe) -> bool:
    """Whether a probe's request carries the visitor's credentials: `include` with a cookie the
    visitor's browser attaches (a probe outside the visitor model, `cookie` None, is taken to)."""
    return probe.credentials == "include" and probe.cookie != ""


@dataclass(frozen=True, slots=True)
class Finding:
    rule: Rule
    severity: Severity
    target: str
    message: str
    evidence: Evidence
    notes: tuple[str, ...] = field(default=())
    fix: str = ""  # the rule's fix, or the framework's own setting (fixes.py)
    # Set after evaluation (gate.py): an accepted finding stays in every report but
    # does not count for the exit code; with --baseline, only "new" findings do.
    suppressed: Suppression | None = None
    baseline: BaselineState | None = None
    # Per browser profile, for over-permissive findings on crafted origins (visitor.py).
    exposure: tuple[Exposure, ...] = ()
    # Set by --prove (corscheck/prove/): the replay of the evidence request in a real browser.
    proof: Proof | None = None

    @property
    def fingerprint(self) -> str:
        return fingerprint(self)

    @property
    def counts(self) -> bool:
        """Whether this finding counts for --fail-on: not suppressed, and not in the baseline."""
        return self.suppressed is None and self.baseline != "unchanged"

    @property
    def title(self) -> str:
        return self.rule.title


FINGERPRINT_VERSION = "corscheckFinding/v2"


# Rules whose findings gather every crafted origin that got through by one mistake (origin_findings.py): the
# witness origin, and so its class, may change from run to run while the mistake stays the same.
_ONE_PER_TARGET = {
    rules.ANY_ORIGIN.id,
    rules.ANY_ORIGIN_WITH_CREDENTIALS.id,
    rules.UNTRUSTED_ORIGIN.id,
    rules.PUBLIC_WILDCARD.id,
}


def normalized_target(url: str) -> str:
    """The target URL as a fingerprint names it: scheme and host lower case, no default port, an
    empty path as "/", query parameters sorted, no fragment."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return url.strip()
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    netloc = host if port in (None, DEFAULT_PORTS.get(scheme)) else f"{host}:{port}"
    query = urlencode(sorted(parse_qsl(parts.query, keep_blank_values=True)))
    return urlunsplit((scheme, netloc, parts.path or "/", query, ""))


def fingerprint(finding: Finding) -> str:
    """A finding's identity across runs, versions, target order and unrelated changes: the rule, the
    normalized target and the root cause. For an attacker origin the root cause is its class (the
    crafted origin is derived from the policy and may change with it); for the front-end's own
    requests, the origin, method, request header names and credentials mode."""
    evidence = finding.evidence
    rule = finding.rule.id
    if rule in _ONE_PER_TARGET:
        cause: tuple[str, ...] = ()
    elif evidence.origin_class and evidence.origin_class != ALLOWED:
        cause = ("class", evidence.origin_class)
    else:
        names = sorted({name.lower() for name, _ in evidence.request_headers})
        cause = (
            "request",
            evidence.origin,
            normalize_method(evidence.method),
            ",".join(names),
            evidence.credentials,
        )
    key = "\n".join((FINGERPRINT_VERSION, rule, normalized_target(finding.target), *cause))
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]

"""Building a finding from the probe result that proves it: its evidence (the request and the CORS
lines of the response that show it), severity adjustments, and the fix for the browser's actual
objection. PURE."""

from __future__ import annotations

from corscheck import rules
from corscheck.browser import normalize_method
from corscheck.evaluate.model import Evidence, Finding, ProbeResult
from corscheck.exchange import Exchange, Hop
from corscheck.fixes import fix_for_reason
from corscheck.headers import HeaderLine
from corscheck.rules import Rule, Severity
from corscheck.visitor import PLACEHOLDER_NAME

_CORS_HEADERS = (
    "access-control-allow-origin",
    "access-control-allow-credentials",
    "access-control-allow-methods",
    "access-control-allow-headers",
    "access-control-expose-headers",
    "access-control-max-age",
    "access-control-allow-private-network",
    "vary",
)


def make_finding(
    rule: Rule,
    target: str,
    result: ProbeResult,
    message: str,
    *,
    related: tuple[str, ...] = (),
    base: Severity | None = None,
    step: str | None = None,
) -> Finding:
    severity = base or rule.severity
    notes: list[str] = []
    hop = evidence_hop(result.exchange, step or result.verdict.failed_step)
    if (
        rule.direction == "over-permissive"
        and hop is not None
        and hop.kind == "actual"
        and not 200 <= hop.response.status < 300
        and result.planned.aspect != "websocket"  # a socket's success is its 101
    ):
        status = hop.response.status
        if status in (401, 403) and PLACEHOLDER_NAME + "=" in (result.planned.probe.cookie or ""):
            # The server turned away the placeholder, not the visitor: a logged-in visitor's real
            # session cookie gets the answer a logged-in user gets.
            notes.append(
                f"the response was {status} to corscheck's placeholder session cookie; give the "
                "real one with --cookie to see what a logged-in visitor's page reads"
            )
        else:
            # A permissive error page leaks less than a permissive 200 with data.
            severity = rules.lower_severity(severity)
            notes.append(f"severity lowered: the response was {status}, not a success with data")
    if not result.verdict.actual_checked:
        notes.append(
            "the unsafe actual request was not sent (--send-unsafe); judged on the preflight"
        )
    oversized = _oversized_header_note(result, hop)
    if oversized:
        notes.append(oversized)
    probe = result.planned.probe
    evidence = Evidence(
        origin=probe.origin,
        method=probe.method,
        request_headers=probe.headers,
        credentials=probe.credentials,
        step=hop.kind if hop else "none",
        status=hop.response.status if hop else None,
        response_lines=tuple(
            line
            for line in (hop.response.headers.lines if hop else ())
            if line[0].lower() in _CORS_HEADERS
        ),
        reason=result.verdict.reason,
        related=related,
        sent_method=hop.request.method if hop else "",
        sent_lines=tuple(
            line for line in (hop.request.headers if hop else ()) if _is_cors_request_line(line)
        ),
        origin_class=result.planned.origin_class,
        url="" if probe.url == target else probe.url,
        withheld=result.planned.withheld,
    )
    fix = _fix_for_reason(rule, result, hop) or rule.fix
    return Finding(rule, severity, target, message, evidence, tuple(notes), fix)


# Servers refuse a request whose header lines are too large before any CORS layer sees it: nginx
# (large_client_header_buffers, 8 KB a line: 400), Apache (LimitRequestFieldSize, 8190 bytes: 400),
# Node (16 KB in all: 431). A -H line past this is the likelier cause of such an answer.
_LARGE_HEADER_LINE = 4096
_TOO_LARGE_STATUSES = (400, 413, 431, 494)


def _oversized_header_note(result: ProbeResult, hop: Hop | None) -> str:
    """Why the server may have refused the request before its CORS layer: a -H line so large that
    header-size limits turn it away (its name and size only; the value may be a secret)."""
    if hop is None or hop.response.status not in _TOO_LARGE_STATUSES:
        return ""
    large = [
        (name, len(name) + 2 + len(value))
        for name, value in result.planned.probe.extra_headers
        if len(name) + 2 + len(value) > _LARGE_HEADER_LINE
    ]
    if not large:
        return ""
    name, size = max(large, key=lambda line: line[1])
    return (
        f"the server answered {hop.response.status}, and the request carried -H {name} of "
        f"{size:,} bytes: servers turn away header lines that large before any CORS layer sees "
        "them (nginx and Apache at 8 KB, Node at 16 KB in all), so this answer may be about the "
        "header's size, not CORS; audit with the header as the front-end really sends it"
    )


def _is_cors_request_line(line: HeaderLine) -> bool:
    """The request lines a finding shows: what the server's CORS answer may depend on."""
    name = line[0].lower()
    return name in _SHOWN_REQUEST_HEADERS or name.startswith("access-control-request-")


# Origin, and what a server may branch on besides it: the visitor's cookies and Fetch Metadata.
_SHOWN_REQUEST_HEADERS = frozenset({"origin", "cookie", "sec-fetch-site"})


def request_summary(result: ProbeResult) -> str:
    """The page's request in a few words: its method, and the headers it sets."""
    probe = result.planned.probe
    names = ", ".join(name for name, _ in probe.headers)
    return normalize_method(probe.method) + (f" with {names}" if names else "")


def evidence_hop(exchange: Exchange, step: str | None) -> Hop | None:
    if step == "preflight":
        return preflight_hop(exchange) or final_response(exchange)
    return final_response(exchange)


def dedupe(findings: list[Finding]) -> list[Finding]:
    seen: set[tuple[str, str]] = set()
    unique = []
    for finding in findings:
        key = (finding.rule.id, finding.message)
        if key not in seen:
            seen.add(key)
            unique.append(finding)
    return unique


def final_response(exchange: Exchange) -> Hop | None:
    actual = [h for h in exchange.hops if h.kind == "actual"]
    if actual:
        return actual[-1]
    return exchange.hops[-1] if exchange.hops else None


def preflight_hop(exchange: Exchange) -> Hop | None:
    return next((h for h in exchange.hops if h.kind == "preflight"), None)


def _fix_for_reason(rule: Rule, result: ProbeResult, hop: Hop | None) -> str | None:
    """A fix for what the browser actually objected to, where the rule's own fix would miss it: an
    allowed request refused because a header is broken, not because something is not listed."""
    verdict = result.verdict
    if rule.direction != "under-permissive" or hop is None or verdict.reason_id is None:
        return None
    if verdict.reason_id == "CHECK-ACAO-MISSING" and not (
        verdict.failed_step == "actual" and verdict.preflight
    ):
        return None  # missing on the only response: the allow-list is the fix
    granted = hop.response.headers.get_all("Access-Control-Allow-Origin")
    copies = f"{len(granted)} Access-Control-Allow-Origin lines" if len(granted) > 1 else ""
    return fix_for_reason(
        verdict.reason_id,
        copies=copies or "a list of origins",
        status=hop.response.status,
        granted=(hop.response.headers.combined("Access-Control-Allow-Origin") or "").strip(),
        origin=result.planned.probe.origin,
    )

"""Deployment causes: why an allowed front-end is refused when the allow-list is not the reason. PURE.

A refusal is read in the terms of what was observed: mixed content, a redirect, a preflight the
server did not recognise, an error response produced outside the CORS layer. Each gets its own rule
and the fix for that cause; an allow-list fix for them would edit a list that is already right.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from urllib.parse import urlsplit

from corscheck import rules
from corscheck.browser import REDIRECT_STATUSES, normalize_method
from corscheck.evaluate.build import evidence_hop, make_finding, request_summary
from corscheck.evaluate.model import Finding, ProbeResult
from corscheck.exchange import Hop, Response
from corscheck.headers import has_cors_headers
from corscheck.rules import Rule, Severity
from corscheck.stack import STARLETTE_ERRORS_FIX, Stack


@dataclass(frozen=True, slots=True)
class Cause:
    """What a refusal comes from: the rule, the message, the fix, and the key under which refusals
    of the same cause are one finding."""

    rule: Rule
    message: str
    fix: str
    key: str
    severity: Severity | None = None
    step: str | None = None


def cause_of(
    target: str, result: ProbeResult, results: Sequence[ProbeResult], stack: Stack
) -> Cause | None:
    """The deployment cause of an allowed probe's refusal, or None when the allow-list is the
    place to look (its rule's own fix stands)."""
    verdict = result.verdict
    if verdict.allowed or not verdict.judged:
        return None
    probe = result.planned.probe
    variant = result.planned.aspect == "path-variant"
    redirect = _redirect_hop(result)
    if variant and (redirect is not None or verdict.reason_id == "MIXED-CONTENT"):
        return None  # a spelling the server redirects from is not one a front-end keeps
    if verdict.reason_id == "MIXED-CONTENT":
        return _mixed_content(target, result)
    if redirect is not None and verdict.failed_step in ("redirect", "preflight"):
        return _redirected(target, result, redirect)
    hop = evidence_hop(result.exchange, verdict.failed_step)
    if hop is None or has_cors_headers(hop.response.headers):
        return None
    if variant and 200 <= hop.response.status < 300:
        if not _granted_at_target(probe.origin, target, results):
            return None
        return Cause(
            rules.PATH_OUTSIDE_CORS_SCOPE,
            f"{probe.url} is served ({hop.response.status}) without CORS headers, while "
            f"{target} grants {probe.origin}: the CORS configuration covers the path only as "
            "written there",
            rules.PATH_OUTSIDE_CORS_SCOPE.fix,
            key=f"scope {probe.origin}",
            step="actual",
        )
    if not _cors_layer_skips(hop.response.status, results):
        return None  # the allow-list is the place to look
    if hop.kind == "preflight" and not _preflight_status_ok(hop.response):
        asked_headers = any(
            name.lower() == "access-control-request-headers" for name, _ in hop.request.headers
        )
        if not asked_headers and _passing_preflights(result, results, with_headers=True):
            method = normalize_method(probe.method)
            return Cause(
                rules.PREFLIGHT_NOT_RECOGNISED,
                f"{method} fails its preflight from {probe.origin}: the server answered "
                f"OPTIONS without Access-Control-Request-Headers {hop.response.status} with no "
                "CORS headers, while its preflights that carry that header pass",
                rules.PREFLIGHT_NOT_RECOGNISED.fix,
                key=f"preflight-detection {probe.origin}",
                step="preflight",
            )
    if hop.response.status < 400:
        return None
    if hop.kind == "preflight" and _passing_preflights(result, results, with_headers=False):
        # The CORS layer answers this origin's other preflights: its refusal of this one
        # (Litestar's 400 carries no CORS headers) is about the method or headers asked for.
        return None
    layer, fix = error_layer(hop.response, stack)
    status = hop.response.status
    if result.planned.aspect == "error-path":
        what = f"a GET from {probe.origin} {result.planned.subject}"
    elif result.planned.aspect == "path-variant":
        what = f"a GET from {probe.origin} to {probe.url}"
    elif hop.kind == "preflight":
        what = f"the preflight of the {_summary(result)}"
    else:
        what = f"the {_summary(result)}"
    return Cause(
        rules.ERROR_WITHOUT_CORS,
        f"{what} was answered {status} without CORS headers, by {layer}: the page sees a CORS "
        f"error instead of the {status}",
        fix,
        key=f"error {status} {layer} {hop.kind}",
        severity=_error_severity(result, hop),
        step=hop.kind,
    )


def _error_severity(result: ProbeResult, hop: Hop) -> Severity:
    """A failed preflight breaks every such request: high. An error without CORS hides a status
    the front-end needs (a session that expired, an outage): medium; on a path or method the
    front-end does not call, low."""
    if hop.kind == "preflight":
        return "high"
    subject = result.planned.subject
    if result.planned.aspect == "path-variant" or (
        result.planned.aspect == "error-path" and "credentials" not in subject
    ):
        return "low"
    return "medium"


def cause_findings(
    target: str, refused: Sequence[ProbeResult], results: Sequence[ProbeResult], stack: Stack
) -> tuple[list[Finding], set[int]]:
    """One finding per cause among the `refused` results, and the ids of the results explained."""
    by_key: dict[str, list[tuple[ProbeResult, Cause]]] = {}
    for result in refused:
        cause = cause_of(target, result, results, stack)
        if cause is not None:
            by_key.setdefault(cause.key, []).append((result, cause))
    findings = []
    for witnessed in by_key.values():
        # The witness the front-end meets first: its plain read, then in its credentials mode;
        # the finding says what that witness shows.
        witnessed.sort(
            key=lambda pair: (pair[0].planned.aspect != "origin", pair[0].planned.probe.credentials)
        )
        witness, cause = witnessed[0]
        shown = _summary(witness, target)
        related = tuple(
            dict.fromkeys(
                summary
                for other, _ in witnessed[1:]
                if (summary := _summary(other, target)) != shown
            )
        )
        finding = make_finding(
            cause.rule,
            target,
            witness,
            cause.message,
            related=related,
            base=cause.severity,
            step=cause.step,
        )
        findings.append(_with_fix(finding, cause.fix))
    explained = {id(result) for witnessed in by_key.values() for result, _ in witnessed}
    return findings, explained


def _with_fix(finding: Finding, fix: str) -> Finding:
    return replace(finding, fix=fix)


def _summary(result: ProbeResult, target: str = "") -> str:
    probe = result.planned.probe
    text = request_summary(result)
    elsewhere = f" to {probe.url}" if target and probe.url != target else ""
    return f"{text} from {probe.origin}{elsewhere}"


# --- mixed content and redirects ------------------------------------------------------------------


def _mixed_content(target: str, result: ProbeResult) -> Cause:
    probe = result.planned.probe
    if result.verdict.failed_step != "redirect":
        return Cause(
            rules.MIXED_CONTENT,
            f"{probe.origin} is an https page and {target} an http URL: the browser blocks the "
            "request as mixed content before any CORS check",
            rules.MIXED_CONTENT.fix,
            key=f"mixed-content {probe.origin}",
            step="request",
        )
    hop = _redirect_hop(result)
    location = _location(hop.response) if hop else "an http:// URL"
    status = hop.response.status if hop else "a redirect"
    return Cause(
        rules.MIXED_CONTENT,
        f"{target} redirects ({status}) to {location}: an https page may not follow a redirect "
        f"to http, so the browser blocks {probe.origin}'s request as mixed content",
        "The server builds its redirect from the scheme it was reached by, and a TLS-terminating "
        "proxy in front of it speaks http to it. Have the proxy send X-Forwarded-Proto (nginx: "
        "proxy_set_header X-Forwarded-Proto $scheme) and the app trust it (uvicorn "
        "--proxy-headers --forwarded-allow-ips=<proxy>; Werkzeug's ProxyFix; Django's "
        "SECURE_PROXY_SSL_HEADER), or have the front-end call the final URL so that no redirect "
        "is needed.",
        key=f"mixed-content-redirect {location}",
        step="redirect",
    )


def _redirect_hop(result: ProbeResult) -> Hop | None:
    """The last response of the exchange that redirected (301, 302, 303, 307 or 308 with a
    Location: browsers follow no other 3xx)."""
    for hop in reversed(result.exchange.hops):
        if hop.response.status in REDIRECT_STATUSES and _location(hop.response):
            return hop
    return None


def _location(response: Response) -> str:
    return (response.headers.combined("Location") or "").strip()


def _redirected(target: str, result: ProbeResult, hop: Hop) -> Cause:
    probe = result.planned.probe
    location = _location(hop.response)
    status = hop.response.status
    what = "its preflight" if hop.kind == "preflight" else "the request"
    reason = result.verdict.reason or "the browser refuses it"
    return Cause(
        rules.REDIRECTED_REQUEST,
        f"{what} from {probe.origin} is redirected ({status}) to {location}: {reason}",
        _redirect_fix(hop.request.url, location, hop.kind == "preflight"),
        key=f"redirect {hop.kind} {status} {location}",
        step="preflight" if hop.kind == "preflight" else "redirect",
    )


def _redirect_fix(url: str, location: str, preflight: bool) -> str:
    """The fix for a redirect, by what it changes: the trailing slash, the scheme, or the place."""
    try:
        before, after = urlsplit(url), urlsplit(location)
    except ValueError:
        return rules.REDIRECTED_REQUEST.fix
    if after.netloc and (before.scheme, after.scheme) == ("http", "https"):
        return (
            "The server upgrades http to https: have the front-end call the https URL "
            f"({location}) directly; no browser follows an upgrade redirect of a preflight."
        )
    if (not after.netloc or after.netloc == before.netloc) and before.path.rstrip(
        "/"
    ) == after.path.rstrip("/"):
        return (
            f"The redirect only changes the trailing slash: have the front-end call {location} "
            "exactly, or turn the redirect off (FastAPI/Starlette: redirect_slashes=False; "
            "Django: APPEND_SLASH = False; Flask: declare the route without the trailing "
            "slash, or with strict_slashes=False)."
        )
    if preflight:
        return (
            f"Preflights are redirected to {location} (a login page, typically): let OPTIONS "
            "requests through the authentication layer to the CORS layer, which answers them "
            "itself; browsers never follow a redirect of a preflight."
        )
    return (
        f"The request is redirected to {location}: have the front-end call the final URL, or "
        "send the CORS headers on the redirect and on the response it leads to."
    )


# --- preflight detection and error responses ------------------------------------------------------


def _granted_at_target(origin: str, target: str, results: Sequence[ProbeResult]) -> bool:
    return any(
        r.planned.aspect == "origin"
        and r.planned.probe.origin == origin
        and r.planned.probe.url == target
        and r.verdict.allowed
        for r in results
    )


def _cors_layer_skips(status: int, results: Sequence[ProbeResult]) -> bool:
    """Whether the target's CORS layer is seen to leave out answers with this status: some
    answers carry CORS headers, and none with this status does. A CORS layer that answers one
    origin's 503 with its headers and another's without has an allow-list that decides."""
    hops = [h for r in results for h in r.exchange.hops]
    return any(has_cors_headers(h.response.headers) for h in hops) and not any(
        h.response.status == status and has_cors_headers(h.response.headers) for h in hops
    )


def _preflight_status_ok(response: Response) -> bool:
    return 200 <= response.status < 300


def _passing_preflights(
    result: ProbeResult, results: Sequence[ProbeResult], with_headers: bool
) -> bool:
    """Whether a preflight of the same origin was answered with CORS headers and an ok status;
    `with_headers`: one for the same method that carried Access-Control-Request-Headers (the
    contrast that shows the server needs that header to see a preflight)."""
    origin = result.planned.probe.origin
    method = normalize_method(result.planned.probe.method)
    for other in results:
        if other.planned.probe.origin != origin:
            continue
        for hop in other.exchange.hops:
            if not (
                hop.kind == "preflight"
                and _preflight_status_ok(hop.response)
                and has_cors_headers(hop.response.headers)
            ):
                continue
            if not with_headers:
                return True
            asked = {name.lower(): value for name, value in hop.request.headers}
            if (
                "access-control-request-headers" in asked
                and asked.get("access-control-request-method") == method
            ):
                return True
    return False


_PROXIES = {"nginx": "nginx", "apache": "Apache", "caddy": "Caddy", "varnish": "Varnish"}


def error_layer(response: Response, stack: Stack) -> tuple[str, str]:
    """Which layer most likely produced an error response without CORS headers, in a report's
    words, and the fix for that layer."""
    status = response.status
    server = (response.headers.combined("Server") or "").lower()
    proxy = next((name for key, name in _PROXIES.items() if key in server), None)
    if status in (401, 403) or response.headers.combined("WWW-Authenticate") is not None:
        challenge = response.headers.combined("WWW-Authenticate")
        shown = f" (WWW-Authenticate: {challenge.strip()})" if challenge else ""
        return (
            f"an authentication layer that answers before the CORS layer{shown}",
            "Put the CORS layer in front of authentication, so that its refusals carry the CORS "
            "headers and the front-end can read the status (and send the visitor to log in); "
            "let preflights (OPTIONS) through without credentials, since browsers never send "
            "credentials on them.",
        )
    if proxy == "nginx" and status in (429, 502, 503, 504):
        return (
            f"nginx itself (its own {status} page)",
            "nginx adds headers with add_header only to 2xx and 3xx responses: write each CORS "
            "add_header with `always` (add_header Access-Control-Allow-Origin $cors_origin "
            "always;), so that its own error pages (502 from a dead upstream, 503 from "
            "limit_req) carry them too.",
        )
    if proxy is not None and status >= 500:
        return (
            f"{proxy} itself (its own {status} page)",
            f"Have {proxy} add the CORS headers to its own error responses too (nginx: "
            "add_header … always; Apache: Header always set …), or answer CORS in one layer that "
            "sees every response.",
        )
    if status == 500 and stack.layer in ("starlette", "fastapi"):
        return (
            "Starlette's ServerErrorMiddleware, outside CORSMiddleware (an unhandled exception)",
            STARLETTE_ERRORS_FIX,
        )
    return (
        "a layer in front of the CORS layer",
        rules.ERROR_WITHOUT_CORS.fix,
    )

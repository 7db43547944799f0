"""Shared caches that mix origins: when to suspect one, the trials that confirm it, and the finding.
PURE (audit.py sends the trials' requests, in order).

A server whose CORS answer depends on Origin but that does not say `Vary: Origin` behind a cache
that keys on the URL alone: after one request is cached, every origin gets that answer. A trial
sends a primer (a request without Origin, or from another origin) and then the front-end's own
request to the same fresh URL (a cache-busting query), and compares it with the front-end's request
alone on another fresh URL. Trials carry no cookies: shared caches pass requests with a Cookie
straight to the server, so a credentialed trial would never see the cache.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from corscheck import rules
from corscheck.browser import Probe, judge
from corscheck.evaluate.build import make_finding
from corscheck.evaluate.model import Finding, ProbeResult
from corscheck.exchange import Exchange, Response
from corscheck.headers import serialize_origin
from corscheck.plan import ALLOWED, CacheTrial, PlannedProbe

# Response headers by which caches say a response came from them.
_CACHE_EVIDENCE = (
    "age",
    "x-cache",
    "x-cache-status",
    "cf-cache-status",
    "x-varnish",
    "x-proxy-cache",
)


@dataclass(frozen=True, slots=True)
class CacheTrialRun:
    trial: CacheTrial
    primed: Exchange
    alone: Exchange
    requests: int  # sent for the trial, the primer's included


def has_cache_evidence(response: Response) -> bool:
    return any(name.lower() in _CACHE_EVIDENCE for name, _ in response.headers)


def cache_suspected(results: Sequence[ProbeResult]) -> bool:
    """Whether a target's answers look like a cache's: a response says it came from one, or an
    actual response grants an origin other than the request's (a stored answer for someone else),
    or an allowed origin's simple GET is refused for want of its grant."""
    for result in results:
        for hop in result.exchange.hops:
            if hop.kind != "actual":
                continue
            if has_cache_evidence(hop.response):
                return True
            granted = (hop.response.headers.combined("Access-Control-Allow-Origin") or "").strip()
            if granted not in ("", "*", "null", result.planned.probe.origin):
                return True
        if (
            result.planned.origin_class == ALLOWED
            and result.planned.aspect == "origin"
            and result.outcome == "under-permissive"
            and result.verdict.reason_id in ("CHECK-ACAO-MISSING", "CHECK-ACAO-MATCH")
        ):
            return True
    return False


def cache_findings(target: str, runs: Sequence[CacheTrialRun]) -> list[Finding]:
    """One finding for the first trial whose primer changed the front-end's verdict: granted
    alone, refused after the primer."""
    for run in runs:
        probe = run.trial.probe
        if not judge(probe, run.alone).allowed:
            continue
        primed_probe = Probe(
            run.trial.primed_url, probe.origin, "GET", (), "omit", probe.extra_headers, ""
        )
        verdict = judge(primed_probe, run.primed)
        if verdict.allowed or not verdict.judged or not run.primed.hops:
            continue
        response = run.primed.hops[-1].response
        granted = (response.headers.combined("Access-Control-Allow-Origin") or "").strip()
        got = (
            f"Access-Control-Allow-Origin: {granted}"
            if granted
            else "no Access-Control-Allow-Origin"
        )
        own = run.trial.primer == serialize_origin(primed_probe.url)
        primer = "a request without Origin" if own else f"a request from {run.trial.primer}"
        cache = cache_name(response)
        evidence = _evidence_lines(response)
        shown = f" ({evidence})" if evidence else ""
        message = (
            f"{cache} serves one origin's CORS answer to another: after {primer} to a fresh URL, "
            f"{probe.origin}'s request to the same URL got {got}{shown}, and was refused; alone, "
            "it is granted. The server's grant depends on Origin, but its responses do not say "
            "Vary: Origin"
        )
        result = ProbeResult(
            PlannedProbe(primed_probe, ALLOWED, probe.origin, "origin"),
            run.primed,
            verdict,
            True,
            "under-permissive",
        )
        finding = make_finding(rules.CACHED_CORS_ANSWER, target, result, message)
        sequence = replace(finding.evidence, primer="" if own else run.trial.primer)
        return [replace(finding, fix=_fix(cache), evidence=sequence)]
    return []


def cache_name(response: Response) -> str:
    """The cache a response names, in a report's words."""
    headers = response.headers
    via = (headers.combined("Via") or "").lower()
    server = (headers.combined("Server") or "").lower()
    if headers.combined("X-Varnish") is not None or "varnish" in via:
        return "Varnish"
    if headers.combined("CF-Cache-Status") is not None:
        return "Cloudflare's cache"
    if "cloudfront" in (headers.combined("X-Cache") or "").lower() or "cloudfront" in via:
        return "CloudFront"
    if "nginx" in server:
        return "nginx's proxy_cache"
    return "A shared cache"


def _evidence_lines(response: Response) -> str:
    return ", ".join(
        f"{name}: {value.strip()}"
        for name, value in response.headers
        if name.lower() in _CACHE_EVIDENCE
    )


def _fix(cache: str) -> str:
    own = {
        "Varnish": "Varnish honours Vary by itself; to key on Origin without it, add "
        "hash_data(req.http.Origin) to vcl_hash.",
        "nginx's proxy_cache": "nginx's proxy_cache honours the upstream's Vary (unless "
        "proxy_ignore_headers lists Vary); to key on Origin without it, add $http_origin to "
        "proxy_cache_key.",
        "Cloudflare's cache": "Cloudflare caches one answer per URL: keep CORS responses out of "
        "the cache, or add Origin to the cache key (Cache Rules).",
        "CloudFront": "CloudFront: forward Origin and include it in the cache key (a cache "
        "policy with the Origin header).",
    }.get(cache, "Check that the cache honours Vary, or that its key includes Origin.")
    return (
        "Send Vary: Origin on every response whose Access-Control-Allow-Origin depends on the "
        f"request's Origin, errors included, so that the cache keeps one answer per origin. {own} "
        "Entries cached already expire by themselves, or purge them."
    )


# The refusals a confirmed cache explains: a grant for someone else, or none, on an actual response.
_EXPLAINED = frozenset(
    {rules.ALLOWED_ORIGIN_REFUSED.id, rules.CREDENTIALS_REFUSED.id, rules.MISSING_VARY.id}
)


def explained_by_cache(finding: Finding) -> bool:
    """Whether a finding is the same root cause as a confirmed cache mixing origins."""
    if finding.rule.id == rules.MISSING_VARY.id:
        return True
    return (
        finding.rule.id in _EXPLAINED
        and finding.evidence.step == "actual"
        and "Access-Control-Allow-Origin" in (finding.evidence.reason or "")
    )

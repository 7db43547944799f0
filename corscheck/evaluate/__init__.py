"""(policy, probes, verdicts) → expectations, outcomes and findings. Pure.

Findings are grouped by root cause: a server that reflects any origin gets one finding with the other
bypasses as evidence, and an allowed origin that is refused outright does not also produce one finding
per method and header.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from corscheck import rules
from corscheck.evaluate.cache import CacheTrialRun, cache_findings, explained_by_cache
from corscheck.evaluate.expectations import expectation, judge_results, outcome_of
from corscheck.evaluate.exposure import exposure_lines, with_address_space, with_exposure
from corscheck.evaluate.hygiene import hygiene_findings, max_age_seconds, private_network_findings
from corscheck.evaluate.model import (
    FINGERPRINT_VERSION,
    BaselineState,
    Evidence,
    Exposure,
    Finding,
    Outcome,
    ProbeResult,
    Suppression,
    fingerprint,
    normalized_target,
)
from corscheck.evaluate.origin_findings import beyond_policy_findings, origin_findings
from corscheck.evaluate.refused import under_permissive_findings
from corscheck.evaluate.regex_findings import drift_findings
from corscheck.fixes import FixValues, fix_for
from corscheck.policy import Policy
from corscheck.stack import Stack, recognize
from corscheck.visitor import Visitor
from corscheck.written import RegexWitness, WrittenAllowList

__all__ = [
    "FINGERPRINT_VERSION",
    "BaselineState",
    "CacheTrialRun",
    "Evidence",
    "Exposure",
    "Finding",
    "Outcome",
    "ProbeResult",
    "Suppression",
    "evaluate",
    "expectation",
    "exposure_lines",
    "fingerprint",
    "judge_results",
    "max_age_seconds",
    "normalized_target",
    "outcome_of",
    "stack_of",
]


def evaluate(
    target: str,
    policy: Policy | None,
    results: Sequence[ProbeResult],
    framework: str | None = None,
    visitor: Visitor | None = None,
    app_framework: str | None = None,
    cache_runs: Sequence[CacheTrialRun] = (),
    witnesses: Sequence[RegexWitness] = (),
    drift_from: WrittenAllowList | None = None,
) -> list[Finding]:
    """Every finding for one target, most severe first, with fixes for `framework` when known.

    With a `visitor`, the findings are those of its first profile (the requests that browser
    sends, with the cookies it attaches), and each over-permissive finding lists what every one of
    its profiles exposes. `witnesses` are the written allow-list's regex witnesses the plan probed;
    with `drift_from` (--config-from on a deployed URL), what the deployment grants beyond that
    allow-list is a finding too."""
    every_profile = results
    if visitor is not None:
        results = [r for r in results if r.planned.seen_by(visitor.profile)]
    # The layer is read only where a refusal needs its cause named, and for the fixes.
    refusals = any(r.outcome == "under-permissive" for r in results)
    stack = stack_of(results, framework, app_framework) if refusals else None
    findings: list[Finding] = []
    findings += origin_findings(target, policy, results, witnesses)
    if drift_from is not None:
        findings += drift_findings(target, results, drift_from)
    findings += beyond_policy_findings(target, policy, results)
    findings += under_permissive_findings(target, policy, results, stack or Stack())
    findings += private_network_findings(target, policy, results)
    findings += hygiene_findings(target, policy, results)
    cached = cache_findings(target, cache_runs)
    if cached:
        findings = [*cached, *(f for f in findings if not explained_by_cache(f))]
    findings.sort(key=lambda f: (rules.severity_rank(f.severity), f.rule.id, f.message))
    if visitor is not None:
        findings = [with_exposure(f, target, every_profile, visitor.profiles) for f in findings]
    findings = [with_address_space(f, target) for f in findings]
    if policy is not None and policy.is_public:
        findings = _one_root_cause_for_a_public_api(findings)
    if not findings:
        return findings
    stack = stack or stack_of(results, framework, app_framework)
    # A fix for the browser's actual objection (_fix_for_reason) outranks the layer's settings.
    return [
        replace(f, fix=fix_for(f.rule.id, _generic_fix(f, policy), stack, fix_values(policy, f)))
        if f.fix == f.rule.fix
        else f
        for f in findings
    ]


def _generic_fix(finding: Finding, policy: Policy | None) -> str:
    public = policy is not None and policy.is_public
    if public and finding.rule.id == rules.ANY_ORIGIN_WITH_CREDENTIALS.id:
        return _PUBLIC_API_FIX
    return finding.rule.fix


_PUBLIC_API_FIX = (
    "The policy says this API is public (every origin, no credentials): keep answering any origin, "
    "but stop sending Access-Control-Allow-Credentials: true (or answer Access-Control-Allow-Origin: "
    "* instead of the request's Origin)."
)


def _one_root_cause_for_a_public_api(findings: list[Finding]) -> list[Finding]:
    """Under a public policy, a server that reflects any origin with credentials has one mistake:
    the credentials. One finding says it, with the fix that fits the policy (_generic_fix); the
    finding that the credentials go beyond the policy is that same mistake, and goes."""
    if not any(f.rule.id == rules.ANY_ORIGIN_WITH_CREDENTIALS.id for f in findings):
        return findings
    return [f for f in findings if f.rule.id != rules.CREDENTIALS_BEYOND_POLICY.id]


def stack_of(
    results: Sequence[ProbeResult], framework: str | None = None, app_framework: str | None = None
) -> Stack:
    """The CORS layer behind a target's answers (stack.py): `framework` as the user gave it ("" for
    none: generic fixes), else recognised from the answers, the in-process app's class or a Server
    line."""
    if framework == "":
        return Stack(evidence="no framework fixes asked for")
    # The credentials modes of a probe share one exchange: look at each exchange once.
    exchanges = {id(r.exchange): r.exchange for r in results}.values()
    hops = ((h.kind, h.response.status, h.response.headers) for e in exchanges for h in e.hops)
    return recognize(hops, framework, app_framework)


def fix_values(policy: Policy | None, finding: Finding) -> FixValues:
    """What fills a layer's fix for `finding`: the policy's exact origins and lists."""
    if policy is None:
        return FixValues()
    exact = tuple(o for o in policy.origins if "*" not in o)
    bounds = policy.max_age
    max_age = None
    if bounds is not None:
        too_long = finding.rule.id == rules.MAX_AGE_TOO_LONG.id
        max_age = bounds.max if too_long else bounds.min
    return FixValues(
        origins=exact if len(exact) == len(policy.origins) else (),
        methods=tuple(policy.methods or ()),
        headers=tuple(policy.headers or ()),
        expose=policy.expose,
        max_age=max_age,
        public=policy.is_public,
    )

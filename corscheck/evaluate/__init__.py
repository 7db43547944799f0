"""(policy, probes, verdicts) → expectations, outcomes and findings. Pure.

Findings are grouped by root cause: a server that reflects any origin gets one finding with the other
bypasses as evidence, and an allowed origin that is refused outright does not also produce one finding
per method and header.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from corscheck import rules
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
from corscheck.fixes import detect_framework, fix_for
from corscheck.policy import Policy
from corscheck.visitor import Visitor

__all__ = [
    "FINGERPRINT_VERSION",
    "BaselineState",
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
]


def evaluate(
    target: str,
    policy: Policy | None,
    results: Sequence[ProbeResult],
    framework: str | None = None,
    visitor: Visitor | None = None,
) -> list[Finding]:
    """Every finding for one target, most severe first, with fixes for `framework` when known.

    With a `visitor`, the findings are those of its first profile (the requests that browser
    sends, with the cookies it attaches), and each over-permissive finding lists what every one of
    its profiles exposes."""
    every_profile = results
    if visitor is not None:
        results = [r for r in results if r.planned.seen_by(visitor.profile)]
    findings: list[Finding] = []
    findings += origin_findings(target, policy, results)
    findings += beyond_policy_findings(target, policy, results)
    findings += under_permissive_findings(target, policy, results)
    findings += private_network_findings(target, policy, results)
    findings += hygiene_findings(target, policy, results)
    findings.sort(key=lambda f: (rules.severity_rank(f.severity), f.rule.id, f.message))
    if framework is None and findings:
        # The credentials modes of a probe share one exchange: look at each exchange once.
        exchanges = {id(r.exchange): r.exchange for r in results}.values()
        framework = next(
            (
                found
                for exchange in exchanges
                for hop in exchange.hops
                if (found := detect_framework(hop.response.headers.lines))
            ),
            None,
        )
    if visitor is not None:
        findings = [with_exposure(f, target, every_profile, visitor.profiles) for f in findings]
    findings = [with_address_space(f, target) for f in findings]
    # A fix for the browser's actual objection (_fix_for_reason) outranks the framework's knob.
    return [
        replace(f, fix=fix_for(f.rule.id, f.rule.fix, framework)) if f.fix == f.rule.fix else f
        for f in findings
    ]

"""What the policy expects of each probe, and the outcome of comparing that with the verdict. PURE."""

from __future__ import annotations

from collections.abc import Sequence

from corscheck.browser import (
    Verdict,
    cors_unsafe_request_header_names,
    is_same_origin,
    normalize_method,
)
from corscheck.evaluate.model import Outcome, ProbeResult
from corscheck.exchange import Exchange
from corscheck.plan import ALLOWED, FIRST_PARTY, PlannedProbe
from corscheck.policy import Policy, origin_matches


def expectation(policy: Policy | None, planned: PlannedProbe) -> bool | None:
    """Whether the policy says a browser should let the page read; None when it has no say."""
    probe = planned.probe
    if policy is None:
        return None if planned.origin_class in (ALLOWED, FIRST_PARTY) else False
    if not policy.allows_origin(probe.origin):
        return False
    if planned.aspect == "websocket":
        return True  # a socket's allow-list is its origins: no method, header or credentials mode
    if planned.aspect in ("error-path", "path-variant"):
        return True  # an allowed origin reads the server's errors too, whatever the method
    if probe.credentials == "include":
        specific = [o for o in policy.origins if o != "*"]
        if not policy.credentials or not origin_matches(probe.origin, specific):
            return False
    method = normalize_method(probe.method)
    if not policy.allows_method(method):
        return False
    if planned.aspect == "private-network" and not policy.private_network:
        return False
    return all(
        policy.allows_header(name) for name in cors_unsafe_request_header_names(probe.headers)
    )


def outcome_of(expected: bool | None, verdict: Verdict) -> Outcome:
    if expected is None or not verdict.judged:
        return "not-checked"
    if verdict.allowed == expected:
        return "as-expected"
    return "over-permissive" if verdict.allowed else "under-permissive"


def judge_results(
    policy: Policy | None, judged: Sequence[tuple[PlannedProbe, Exchange, Verdict]]
) -> list[ProbeResult]:
    results = []
    for planned, exchange, verdict in judged:
        if is_same_origin(planned.probe, planned.probe.url):
            results.append(ProbeResult(planned, exchange, verdict, None, "same-origin"))
            continue
        expected = expectation(policy, planned)
        results.append(
            ProbeResult(planned, exchange, verdict, expected, outcome_of(expected, verdict))
        )
    return results

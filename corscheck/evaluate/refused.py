"""Under-permissive findings: the front-end's own requests that browsers refuse, one finding per
culprit (a method or a header, or the origin itself). PURE."""

from __future__ import annotations

from collections.abc import Sequence

from corscheck import rules
from corscheck.browser import (
    Probe,
    cors_unsafe_request_header_names,
    is_cors_safelisted_method,
    normalize_method,
)
from corscheck.evaluate.build import dedupe, evidence_hop, make_finding, request_summary
from corscheck.evaluate.causes import cause_findings
from corscheck.evaluate.hygiene import expose_findings, max_age_findings
from corscheck.evaluate.model import Finding, ProbeResult
from corscheck.plan import ALLOWED, PRIVATE_NETWORK_REQUEST
from corscheck.policy import Policy
from corscheck.stack import Stack


def under_permissive_findings(
    target: str, policy: Policy | None, results: Sequence[ProbeResult], stack: Stack | None = None
) -> list[Finding]:
    """The front-end's refused requests: by their deployment cause where one shows (causes.py),
    else by the culprit in the allow-lists."""
    if policy is None:
        return []
    refused = [
        r for r in results if r.planned.origin_class == ALLOWED and r.outcome == "under-permissive"
    ]
    findings, explained = cause_findings(target, refused, results, stack or Stack())
    # An origin refused outright for a deployment cause has its other refusals from that cause.
    broken_origins = {
        r.planned.probe.origin
        for r in refused
        if id(r) in explained and r.planned.aspect == "origin"
    }
    refused = [
        r
        for r in refused
        if id(r) not in explained and r.planned.aspect not in ("error-path", "path-variant")
    ]
    for result in refused:
        probe = result.planned.probe
        if result.planned.aspect == "origin" and probe.credentials == "omit":
            broken_origins.add(probe.origin)
            findings.append(
                make_finding(
                    rules.ALLOWED_ORIGIN_REFUSED,
                    target,
                    result,
                    f"{probe.origin} is allowed by the policy but cannot read {target}",
                )
            )
    for result in refused:
        probe = result.planned.probe
        if probe.origin in broken_origins or result.planned.aspect != "origin":
            continue
        findings.append(
            make_finding(
                rules.CREDENTIALS_REFUSED,
                target,
                result,
                f"{probe.origin} cannot read {target} with credentials",
            )
        )
    findings += _refused_requests(
        target,
        [r for r in refused if r.planned.probe.origin not in broken_origins],
        results,
        "include" if policy.credentials else "omit",
    )
    findings += expose_findings(target, policy, results)
    findings += max_age_findings(target, policy, results)
    return dedupe(findings)


def _refused_requests(
    target: str,
    refused: Sequence[ProbeResult],
    results: Sequence[ProbeResult],
    front_end_credentials: str,
) -> list[Finding]:
    """One finding per culprit (a method or a header) of the refused requests of an allowed origin.

    The front-end's own requests (aspect "request": a method with every policy header) come first:
    they are what users meet, in the credentials mode the front-end uses (include where the
    policy says it sends credentials: the preflight is the same, but the evidence then shows the
    front-end's own request). The probes that carry one method or one header alone tell which of
    them the server refuses; the refused front-end request is the evidence.
    """
    culprits: dict[tuple[str, str, str], list[ProbeResult]] = {}
    ordered = sorted(
        (r for r in refused if r.planned.aspect in ("request", "method", "header")),
        key=lambda r: (
            r.planned.aspect != "request",
            r.planned.probe.credentials != front_end_credentials,
        ),
    )
    for result in ordered:
        if _fails_only_with_credentials(result, results):
            continue  # already reported as credentials-refused for the origin itself
        origin = result.planned.probe.origin
        for kind, subject in _culprits(result, results):
            culprits.setdefault((origin, kind, subject), []).append(result)
    # Headers refused in the same request for the same reason (`*` with credentials, say) are one
    # finding: their evidence is the same preflight.
    merged: dict[tuple[str, str, str], list[ProbeResult]] = {}
    first_header: dict[tuple[str, int], tuple[str, str, str]] = {}
    for (origin, kind, subject), witnesses in culprits.items():
        key = (origin, id(witnesses[0]))
        if kind == "header" and key in first_header:
            _, _, shown = first_header[key]
            earlier = merged.pop(first_header[key])
            merged[(origin, kind, f"{shown}, {subject}")] = list(
                {id(w): w for w in (*earlier, *witnesses)}.values()
            )
            first_header[key] = (origin, kind, f"{shown}, {subject}")
            continue
        if kind == "header":
            first_header[key] = (origin, kind, subject)
        merged[(origin, kind, subject)] = witnesses
    findings = []
    for (origin, kind, subject), witnesses in merged.items():
        witness = witnesses[0]
        requests = list(dict.fromkeys(request_summary(w) for w in witnesses))
        front_end = "the front-end's " if witness.planned.aspect == "request" else ""
        step = witness.verdict.failed_step
        if step == "preflight":
            failing = f"{front_end}{requests[0]} fails its preflight"
        else:
            # The preflight let it through; the response itself fails the CORS check (an error
            # page without CORS headers, typically).
            hop = evidence_hop(witness.exchange, step)
            status = f" ({hop.response.status})" if hop is not None else ""
            failing = (
                f"{front_end}{requests[0]} passes its preflight, but its {step or 'actual'} "
                f"response{status} fails the CORS check"
            )
        clause = _only_with_credentials(witness, results)
        if kind == "method":
            rule = rules.ALLOWED_METHOD_REFUSED
            passing = (
                ", while each of its headers passes with GET"
                if witness.planned.probe.headers and is_cors_safelisted_method(subject)
                else ""
            )
            message = f"{subject} is refused for {origin}: {failing}{passing}{clause}"
        elif kind == "header":
            rule = rules.ALLOWED_HEADER_REFUSED
            several = ", " in subject
            # Said only where the probe with the header alone was refused too: a header named by
            # the browser's reason alone may pass on its own (the server refuses the combination).
            refused_alone = all(
                (single := _sibling(witness, results, "GET", [name.lower()])) is not None
                and single is not witness
                and single.verdict.judged
                and not single.verdict.allowed
                for name in subject.split(", ")
            )
            alone = (
                f", and so does GET with {'each' if several else subject} alone"
                if front_end and refused_alone
                else ""
            )
            message = (
                f"request header{'s' if several else ''} {subject} "
                f"{'are' if several else 'is'} refused for {origin}: {failing}{alone}{clause}"
            )
        elif kind == "combination":
            rule = rules.ALLOWED_METHOD_REFUSED
            message = (
                f"{failing} for {origin}, although its method and each of its headers pass "
                f"alone{clause}"
            )
        else:
            # Not isolated (`quick` sends only the front-end's requests): say so, not guess.
            probe = witness.planned.probe
            simple = is_cors_safelisted_method(normalize_method(probe.method))
            rule = rules.ALLOWED_HEADER_REFUSED if simple else rules.ALLOWED_METHOD_REFUSED
            message = (
                f"{failing} for {origin}{clause}; --depth standard tells which of its "
                f"{'headers' if simple else 'method and headers'} the server refuses"
            )
        findings.append(
            make_finding(rule, target, witness, message, related=tuple(requests[1:]), step=step)
        )
    return findings


def _culprits(result: ProbeResult, results: Sequence[ProbeResult]) -> list[tuple[str, str]]:
    """What makes a refused request fail: ("method", M), ("header", H)..., ("combination", "") when
    each part passes alone, or ("unknown", "") when the parts were not tried alone."""
    probe = result.planned.probe
    method = normalize_method(probe.method)
    names = cors_unsafe_request_header_names(probe.headers)
    if result.verdict.reason_id == "PRE-METHOD" or (not names and result.verdict.preflight):
        return [("method", method)]
    found: list[tuple[str, str]] = []
    for name in names:
        alone = _sibling(result, results, "GET", [name])
        if alone is not None and not alone.verdict.allowed and alone.verdict.judged:
            found.append(("header", _written_name(probe, name)))
    if not is_cors_safelisted_method(method):
        alone = _sibling(result, results, method, [])
        if alone is not None and not alone.verdict.allowed and alone.verdict.judged:
            found.insert(0, ("method", method))
    elif method != "GET" and not found:
        # A safelisted method is preflighted only beside a non-safelisted header; when every header
        # passes with GET, the method is what the server refuses (Starlette: "Disallowed CORS
        # method").
        with_get = _sibling(result, results, "GET", names)
        if with_get is not None and with_get.verdict.allowed:
            return [("method", method)]
        if names and all(
            (alone := _sibling(result, results, "GET", [name])) is not None
            and alone.verdict.allowed
            for name in names
        ):
            return [("method", method)]
    named = result.verdict.refused_header
    if not found and named is not None:
        found.append(("header", _written_name(probe, named)))
    if found:
        return found
    # Nothing alone is refused: the combination is, if every part was really tried alone.
    parts = [_sibling(result, results, "GET", [name]) for name in names]
    if not is_cors_safelisted_method(method):
        parts.append(_sibling(result, results, method, []))
    tried = all(part is not None and part.verdict.judged for part in parts)
    return [("combination" if tried else "unknown", "")]


def _written_name(probe: Probe, lowered: str) -> str:
    return next((n for n, _ in probe.headers if n.lower() == lowered), lowered)


def _sibling(
    result: ProbeResult, results: Sequence[ProbeResult], method: str, names: Sequence[str]
) -> ProbeResult | None:
    """The probe from the same origin and credentials mode with exactly this method and headers."""
    probe = result.planned.probe
    wanted = sorted(names)
    for other in results:
        candidate = other.planned.probe
        if (
            other.planned.origin_class == ALLOWED
            and other.planned.aspect not in ("error-path", "path-variant")
            and candidate.origin == probe.origin
            and candidate.credentials == probe.credentials
            and normalize_method(candidate.method) == method
            and sorted(cors_unsafe_request_header_names(candidate.headers)) == wanted
            and not any(line == PRIVATE_NETWORK_REQUEST for line in candidate.extra_headers)
        ):
            return other
    return None


def _only_with_credentials(result: ProbeResult, results: Sequence[ProbeResult]) -> str:
    """A clause for a refusal that happens only with credentials (a wildcard that does not apply)."""
    if result.planned.probe.credentials != "include":
        return ""
    for other in results:
        planned = other.planned
        if (
            planned.probe.credentials == "omit"
            and planned.aspect == result.planned.aspect
            and planned.subject == result.planned.subject
            and planned.probe.origin == result.planned.probe.origin
            and other.verdict.allowed
        ):
            return " when credentials are included (a '*' in the preflight does not cover them)"
    return ""


def _fails_only_with_credentials(result: ProbeResult, results: Sequence[ProbeResult]) -> bool:
    if result.planned.probe.credentials != "include":
        return False
    twin = next(
        (
            r
            for r in results
            if r.planned.probe.credentials == "omit"
            and r.planned.aspect == result.planned.aspect
            and r.planned.probe.origin == result.planned.probe.origin
            and r.planned.subject == result.planned.subject
        ),
        None,
    )
    origin_read = next(
        (
            r
            for r in results
            if r.planned.aspect == "origin"
            and r.planned.origin_class == ALLOWED
            and r.planned.probe.origin == result.planned.probe.origin
            and r.planned.probe.credentials == "include"
        ),
        None,
    )
    return bool(twin and twin.verdict.allowed and origin_read and not origin_read.verdict.allowed)

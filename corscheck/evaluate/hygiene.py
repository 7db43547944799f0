"""Findings about how the CORS headers are written rather than whom they admit: exposed headers,
preflight cache lifetimes, private-network grants, Vary: Origin and malformed values. PURE."""

from __future__ import annotations

from collections.abc import Sequence

from corscheck import rules
from corscheck.browser import cors_check
from corscheck.evaluate.build import final_response, make_finding, preflight_hop
from corscheck.evaluate.model import Finding, ProbeResult
from corscheck.exchange import Response
from corscheck.headers import is_token, split_header_list
from corscheck.plan import ALLOWED, PRIVATE_NETWORK_REQUEST
from corscheck.policy import Policy

# Browsers cap the preflight cache (Chromium 7200 s, Firefox 86400 s): above the larger cap a max-age
# only shows that nobody chose it.
_BASELINE_MAX_AGE = 86400


def expose_findings(target: str, policy: Policy, results: Sequence[ProbeResult]) -> list[Finding]:
    if not policy.expose:
        return []
    reads = [
        r
        for r in results
        if r.planned.origin_class == ALLOWED and r.planned.aspect == "origin" and r.verdict.allowed
    ]
    findings = []
    for result in reads[:1]:
        readable = {h.lower() for h in result.verdict.readable_headers}
        missing = [h for h in policy.expose if h.lower() not in readable]
        if missing:
            findings.append(
                make_finding(
                    rules.EXPOSED_HEADER_MISSING,
                    target,
                    result,
                    f"the page cannot read {', '.join(missing)} "
                    f"(credentials {result.planned.probe.credentials})",
                    related=tuple(missing[1:]),
                )
            )
    return findings


def max_age_seconds(response: Response) -> int | None:
    """Access-Control-Max-Age as a browser reads it; None when absent, -1 when unusable."""
    value = response.headers.combined("Access-Control-Max-Age")
    if value is None:
        return None
    text = value.strip()
    return int(text) if text.isdigit() else -1


def max_age_findings(target: str, policy: Policy, results: Sequence[ProbeResult]) -> list[Finding]:
    passing = [
        r
        for r in results
        if r.planned.origin_class == ALLOWED and r.verdict.allowed and preflight_hop(r.exchange)
    ]
    if not passing:
        return []
    witness = passing[0]
    preflight = preflight_hop(witness.exchange)
    assert preflight is not None
    seconds = max_age_seconds(preflight.response)
    low = policy.max_age.min if policy.max_age else None
    high = policy.max_age.max if policy.max_age else _BASELINE_MAX_AGE
    if seconds is not None and seconds >= 0 and high is not None and seconds > high:
        return [
            make_finding(
                rules.MAX_AGE_TOO_LONG,
                target,
                witness,
                f"Access-Control-Max-Age is {seconds} s, above {high} s",
                step="preflight",
            )
        ]
    if low is not None and (seconds is None or seconds < low):
        shown = "absent (browsers use 5 s)" if seconds is None else f"{seconds} s"
        if seconds == -1:
            shown = "unusable (browsers do not cache)"
        return [
            make_finding(
                rules.MAX_AGE_TOO_SHORT,
                target,
                witness,
                f"Access-Control-Max-Age is {shown}, below {low} s",
                step="preflight",
            )
        ]
    return []


def _grants_private_network(result: ProbeResult) -> bool:
    preflight = preflight_hop(result.exchange)
    if preflight is None:
        return False
    granted = preflight.response.headers.combined("Access-Control-Allow-Private-Network")
    passes = cors_check(
        preflight.response, result.planned.probe.origin, result.planned.probe.credentials
    )
    return granted is not None and granted.strip() == "true" and passes is None


def private_network_findings(
    target: str, policy: Policy | None, results: Sequence[ProbeResult]
) -> list[Finding]:
    findings: list[Finding] = []
    asked = [
        r
        for r in results
        if PRIVATE_NETWORK_REQUEST in r.planned.probe.extra_headers
        and r.planned.probe.credentials == "omit"
        # A page on the target's own origin sends no preflight: there is nothing to grant.
        and r.outcome != "same-origin"
        and r.verdict.judged  # an exchange that ended early shows nothing either way
    ]
    for result in asked:
        probe = result.planned.probe
        trusted = policy is not None and policy.allows_origin(probe.origin)
        granted = _grants_private_network(result)
        if granted and not (trusted and policy is not None and policy.private_network):
            if result.planned.origin_class != ALLOWED:
                findings.append(
                    make_finding(
                        rules.PRIVATE_NETWORK_UNTRUSTED,
                        target,
                        result,
                        f"{probe.origin} is granted Access-Control-Allow-Private-Network: true",
                        step="preflight",
                    )
                )
        elif not granted and trusted and policy is not None and policy.private_network:
            findings.append(
                make_finding(
                    rules.PRIVATE_NETWORK_REFUSED,
                    target,
                    result,
                    f"{probe.origin} is not granted private network access",
                    step="preflight",
                )
            )
    return findings


def hygiene_findings(
    target: str, policy: Policy | None, results: Sequence[ProbeResult]
) -> list[Finding]:
    findings: list[Finding] = []
    omit = [r for r in results if r.planned.probe.credentials == "omit"]

    vary = _missing_vary(target, omit)
    if vary is not None:
        findings.append(vary)

    for result in omit:
        problem = _malformed(result)
        if problem:
            findings.append(make_finding(rules.MALFORMED_HEADER, target, result, problem))
            break

    for result in omit:
        hop = final_response(result.exchange)
        if hop is None:
            continue
        headers = hop.response.headers
        origin_value = (headers.combined("Access-Control-Allow-Origin") or "").strip()
        credentials_value = (headers.combined("Access-Control-Allow-Credentials") or "").strip()
        if origin_value == "*" and credentials_value == "true":
            findings.append(
                make_finding(
                    rules.WILDCARD_WITH_CREDENTIALS,
                    target,
                    result,
                    "the response allows any origin and credentials at once; "
                    "browsers refuse credentialed reads",
                )
            )
            break
    return findings


def _missing_vary(target: str, omit: Sequence[ProbeResult]) -> Finding | None:
    """Vary: Origin is needed wherever the CORS response headers depend on the request's Origin.

    Compared over the simple GETs of the target (one response each, no redirect) from every
    cross-origin probe: when Access-Control-Allow-Origin or -Credentials differ between two
    Origins (present for one and absent for another counts), a shared cache could hand one
    origin's answer to another, so each of those responses must say Vary: Origin (or *). A static
    answer (always `*`, always the same origin, or never any) needs none.
    """
    answers: dict[tuple[str | None, str | None], list[ProbeResult]] = {}
    for result in omit:
        hops = result.exchange.hops
        if (
            result.planned.aspect != "origin"
            or result.outcome == "same-origin"
            or len(hops) != 1
            or hops[0].kind != "actual"
        ):
            continue
        headers = hops[0].response.headers
        key = (
            _stripped(headers.combined("Access-Control-Allow-Origin")),
            _stripped(headers.combined("Access-Control-Allow-Credentials")),
        )
        answers.setdefault(key, []).append(result)
    if len(answers) < 2:
        return None
    unvaried = [
        (key, r) for key, group in answers.items() for r in group if not _varies_on_origin(r)
    ]
    if not unvaried:
        return None
    # The witness is a grant (an origin named in the answer) when one lacks Vary: that is the
    # answer a cache would hand to the wrong origin.
    unvaried.sort(key=lambda item: item[0][0] is None)
    witness_key, witness = unvaried[0]
    other_key, others = next((k, g) for k, g in answers.items() if k != witness_key)
    other = others[0]
    differs = ["Access-Control-Allow-Origin"] if other_key[0] != witness_key[0] else []
    if other_key[1] != witness_key[1]:
        differs.append("Access-Control-Allow-Credentials")
    return make_finding(
        rules.MISSING_VARY,
        target,
        witness,
        f"{' and '.join(differs)} {'differ' if len(differs) > 1 else 'differs'} by Origin "
        f"({_answer(witness_key)} for {witness.planned.probe.origin}, {_answer(other_key)} for "
        f"{other.planned.probe.origin}), but the response to {witness.planned.probe.origin} has "
        f"no Vary: Origin, so a shared cache can hand it to {other.planned.probe.origin}",
        related=tuple(dict.fromkeys(r.planned.probe.origin for _, r in unvaried[1:])),
    )


def _answer(key: tuple[str | None, str | None]) -> str:
    allow_origin, credentials = key
    text = f"'{allow_origin}'" if allow_origin is not None else "no Access-Control-Allow-Origin"
    return text + (f" with credentials '{credentials}'" if credentials is not None else "")


def _stripped(value: str | None) -> str | None:
    return value.strip() if value is not None else None


def _varies_on_origin(result: ProbeResult) -> bool:
    hop = result.exchange.hops[-1]
    listed = {
        v.strip().lower() for v in split_header_list(hop.response.headers.combined("Vary") or "")
    }
    return "origin" in listed or "*" in listed


def _malformed(result: ProbeResult) -> str | None:
    for hop in result.exchange.hops:
        headers = hop.response.headers
        origins = headers.get_all("Access-Control-Allow-Origin")
        if len(origins) > 1:
            return f"{len(origins)} Access-Control-Allow-Origin lines in one {hop.kind} response"
        if origins and "," in origins[0]:
            return f"Access-Control-Allow-Origin lists several origins: {origins[0].strip()!r}"
        credentials = headers.get_all("Access-Control-Allow-Credentials")
        if credentials and ", ".join(credentials).strip() not in ("true", "false"):
            shown = ", ".join(credentials).strip()
            return f"Access-Control-Allow-Credentials is {shown!r}; browsers accept only 'true'"
        if hop.kind == "preflight":
            for name in ("Access-Control-Allow-Methods", "Access-Control-Allow-Headers"):
                value = headers.combined(name)
                if value is not None and _has_bad_token(value):
                    return f"{name} cannot be parsed: {value!r}"
            age = max_age_seconds(hop.response)
            if age == -1:
                value = headers.combined("Access-Control-Max-Age")
                return f"Access-Control-Max-Age is not a number of seconds: {value!r}"
    return None


def _has_bad_token(value: str) -> bool:
    return any(not is_token(item) for item in split_header_list(value))

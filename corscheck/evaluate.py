"""(policy, probes, verdicts) → expectations, outcomes and findings. Pure.

Findings are grouped by root cause: a server that reflects any origin gets one finding with the other
bypasses as evidence, and an allowed origin that is refused outright does not also produce one finding
per method and header.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

from corscheck import rules
from corscheck.browser import (
    Exchange,
    Hop,
    Response,
    Verdict,
    cors_check,
    cors_unsafe_request_header_names,
    normalize_method,
)
from corscheck.fixes import detect_framework, fix_for
from corscheck.headers import HeaderLine, split_header_list
from corscheck.plan import ALLOWED, PRIVATE_NETWORK_REQUEST, PlannedProbe
from corscheck.policy import Policy, origin_matches
from corscheck.rules import Rule, Severity

Outcome = Literal["as-expected", "over-permissive", "under-permissive", "not-checked"]

_DEVELOPMENT_CLASSES = {"developer"}
_INSECURE_CLASSES = {"scheme-downgrade"}
_ANY_ORIGIN_CLASSES = {"unrelated"}
_NULL_CLASSES = {"null"}
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
# Browsers cap the preflight cache (Chromium 7200 s, Firefox 86400 s): above the larger cap a max-age
# only shows that nobody chose it.
_BASELINE_MAX_AGE = 86400


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


@dataclass(frozen=True, slots=True)
class Finding:
    rule: Rule
    severity: Severity
    target: str
    message: str
    evidence: Evidence
    notes: tuple[str, ...] = field(default=())
    fix: str = ""  # the rule's fix, or the framework's own setting (fixes.py)

    @property
    def title(self) -> str:
        return self.rule.title


def expectation(policy: Policy | None, planned: PlannedProbe) -> bool | None:
    """Whether the policy says a browser should let the page read; None when it has no say."""
    probe = planned.probe
    if policy is None:
        return None if planned.origin_class == ALLOWED else False
    if not policy.allows_origin(probe.origin):
        return False
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
    if expected is None:
        return "not-checked"
    if verdict.allowed == expected:
        return "as-expected"
    return "over-permissive" if verdict.allowed else "under-permissive"


def judge_results(
    policy: Policy | None, judged: Sequence[tuple[PlannedProbe, Exchange, Verdict]]
) -> list[ProbeResult]:
    results = []
    for planned, exchange, verdict in judged:
        expected = expectation(policy, planned)
        results.append(
            ProbeResult(planned, exchange, verdict, expected, outcome_of(expected, verdict))
        )
    return results


def evaluate(
    target: str,
    policy: Policy | None,
    results: Sequence[ProbeResult],
    framework: str | None = None,
) -> list[Finding]:
    """Every finding for one target, most severe first, with fixes for `framework` when known."""
    findings: list[Finding] = []
    findings += _origin_findings(target, policy, results)
    findings += _beyond_policy_findings(target, policy, results)
    findings += _under_permissive_findings(target, policy, results)
    findings += _private_network_findings(target, policy, results)
    findings += _hygiene_findings(target, policy, results)
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
    return [replace(f, fix=fix_for(f.rule.id, f.rule.fix, framework)) for f in findings]


# --- origin trust ------------------------------------------------------------------------------------


def _origin_findings(
    target: str, policy: Policy | None, results: Sequence[ProbeResult]
) -> list[Finding]:
    leaks = [
        r for r in results if r.planned.origin_class != ALLOWED and r.outcome == "over-permissive"
    ]
    if not leaks:
        return []
    by_class: dict[str, list[ProbeResult]] = {}
    for result in leaks:
        by_class.setdefault(result.planned.origin_class, []).append(result)

    findings: list[Finding] = []
    reflected_any = [
        r for cls in _ANY_ORIGIN_CLASSES for r in by_class.get(cls, []) if _reflects_origin(r)
    ]
    if reflected_any:
        # Root cause: no allow-list at all. Every other leaked origin is evidence of this one finding.
        credentialed = [r for r in reflected_any if r.planned.probe.credentials == "include"]
        rule = rules.ANY_ORIGIN_WITH_CREDENTIALS if credentialed else rules.ANY_ORIGIN
        witness = (credentialed or reflected_any)[0]
        others = sorted({r.planned.probe.origin for r in leaks} - {witness.planned.probe.origin})
        findings.append(
            _finding(
                rule,
                target,
                witness,
                f"{witness.planned.probe.origin} can read {target}"
                + (" with credentials" if credentialed else "")
                + f"; {len(others)} other crafted origins got through too",
                related=tuple(others),
            )
        )
        return findings

    wildcard_leaks = sorted(
        (r for r in leaks if _served_wildcard(r)),
        key=lambda r: r.planned.origin_class not in _ANY_ORIGIN_CLASSES,
    )
    if wildcard_leaks and (policy is None or not policy.is_public):
        witness = wildcard_leaks[0]
        rule = rules.PUBLIC_WILDCARD if policy is None else rules.ANY_ORIGIN
        findings.append(
            _finding(
                rule,
                target,
                witness,
                f"Access-Control-Allow-Origin: * lets every origin read {target} without credentials",
                base=rule.severity,
            )
        )

    bypasses: list[ProbeResult] = []
    for origin_class, class_leaks in by_class.items():
        specific = [r for r in class_leaks if not _served_wildcard(r)]
        if not specific:
            continue
        class_rule = _ORIGIN_CLASS_RULES.get(origin_class)
        if class_rule is None:
            bypasses += specific  # every crafted-domain class shares one root cause: a loose check
            continue
        findings.append(_origin_trust_finding(class_rule, target, specific))
    if bypasses:
        findings.append(_origin_trust_finding(rules.UNTRUSTED_ORIGIN, target, bypasses))
    return findings


_ORIGIN_CLASS_RULES: dict[str, Rule] = {
    **dict.fromkeys(_NULL_CLASSES, rules.NULL_ORIGIN),
    **dict.fromkeys(_INSECURE_CLASSES, rules.INSECURE_ORIGIN),
    **dict.fromkeys(_DEVELOPMENT_CLASSES, rules.DEVELOPMENT_ORIGIN),
}


def _origin_trust_finding(rule: Rule, target: str, leaks: Sequence[ProbeResult]) -> Finding:
    """One finding for every origin that got through by the same mistake; the worst is the witness."""
    credentialed = [r for r in leaks if r.planned.probe.credentials == "include"]
    witness = (credentialed or list(leaks))[0]
    origins = list(dict.fromkeys(r.planned.probe.origin for r in leaks))
    classes = list(dict.fromkeys(r.planned.origin_class for r in leaks))
    shown = "; ".join(_origin_class_description(c) for c in classes)
    others = len(origins) - 1
    message = (
        f"{witness.planned.probe.origin} can read {target}"
        + (" with credentials" if credentialed else " without credentials")
        + (f", and {others} more crafted origin{'s' if others > 1 else ''}" if others else "")
        + f" ({shown})"
    )
    return _finding(
        rule,
        target,
        witness,
        message,
        related=tuple(o for o in origins if o != witness.planned.probe.origin),
        base=rule.severity if credentialed else rules.lower_severity(rule.severity),
    )


def _origin_class_description(origin_class: str) -> str:
    from corscheck.origins import ORIGIN_CLASSES

    return ORIGIN_CLASSES.get(origin_class, origin_class)


def _final_response(exchange: Exchange) -> Hop | None:
    actual = [h for h in exchange.hops if h.kind == "actual"]
    if actual:
        return actual[-1]
    return exchange.hops[-1] if exchange.hops else None


def _reflects_origin(result: ProbeResult) -> bool:
    hop = _final_response(result.exchange)
    if hop is None:
        return False
    allow_origin = hop.response.headers.combined("Access-Control-Allow-Origin")
    return allow_origin is not None and allow_origin.strip() == result.planned.probe.origin


def _served_wildcard(result: ProbeResult) -> bool:
    hop = _final_response(result.exchange)
    if hop is None:
        return False
    allow_origin = hop.response.headers.combined("Access-Control-Allow-Origin")
    return allow_origin is not None and allow_origin.strip() == "*"


# --- methods and headers beyond the policy -------------------------------------------------------------


def _beyond_policy_findings(
    target: str, policy: Policy | None, results: Sequence[ProbeResult]
) -> list[Finding]:
    findings: list[Finding] = []
    allowed_leaks = [
        r for r in results if r.planned.origin_class == ALLOWED and r.outcome == "over-permissive"
    ]
    credential_leaks = [
        r
        for r in allowed_leaks
        if r.planned.aspect == "origin" and r.planned.probe.credentials == "include"
    ]
    if credential_leaks and policy is not None and not policy.credentials:
        witness = credential_leaks[0]
        findings.append(
            _finding(
                rules.CREDENTIALS_BEYOND_POLICY,
                target,
                witness,
                f"{witness.planned.probe.origin} can read {target} with credentials",
            )
        )
    # Credentials are judged above: a method or header is beyond the policy when it passes without them.
    allowed_leaks = [r for r in allowed_leaks if r.planned.probe.credentials == "omit"]
    for aspect, rule in (
        ("method", rules.METHOD_BEYOND_POLICY),
        ("header", rules.HEADER_BEYOND_POLICY),
    ):
        leaks = [r for r in allowed_leaks if r.planned.aspect == aspect]
        if not leaks:
            continue
        subjects = sorted({r.planned.subject for r in leaks})
        witness = leaks[0]
        advertised = _advertised(witness, aspect)
        findings.append(
            _finding(
                rule,
                target,
                witness,
                f"{', '.join(subjects)} allowed for {witness.planned.probe.origin} but not in the policy"
                + (f" (the preflight advertises {advertised})" if advertised else ""),
                related=tuple(subjects[1:]),
            )
        )
    for result in results:
        if _authorization_only_by_wildcard(result):
            findings.append(
                _finding(
                    rules.AUTHORIZATION_BY_WILDCARD,
                    target,
                    result,
                    "Authorization passes only because Access-Control-Allow-Headers is *; "
                    "browsers that follow the Fetch standard refuse it",
                )
            )
            break
    return findings


def _advertised(result: ProbeResult, aspect: str) -> str:
    preflight = _preflight(result.exchange)
    if preflight is None:
        return ""
    name = "Access-Control-Allow-Methods" if aspect == "method" else "Access-Control-Allow-Headers"
    value = ", ".join(preflight.response.headers.trimmed_values(name))
    return f"{name}: {value}" if value else ""


def _authorization_only_by_wildcard(result: ProbeResult) -> bool:
    probe = result.planned.probe
    if not result.verdict.allowed or probe.credentials == "include":
        return False
    if "authorization" not in cors_unsafe_request_header_names(probe.headers):
        return False
    preflight = _preflight(result.exchange)
    if preflight is None:
        return False
    listed = {
        item.lower()
        for item in split_header_list(
            preflight.response.headers.combined("Access-Control-Allow-Headers") or ""
        )
    }
    return "*" in listed and "authorization" not in listed


def _preflight(exchange: Exchange) -> Hop | None:
    return next((h for h in exchange.hops if h.kind == "preflight"), None)


# --- under-permissive ------------------------------------------------------------------------------


def _under_permissive_findings(
    target: str, policy: Policy | None, results: Sequence[ProbeResult]
) -> list[Finding]:
    if policy is None:
        return []
    findings: list[Finding] = []
    refused = [
        r for r in results if r.planned.origin_class == ALLOWED and r.outcome == "under-permissive"
    ]
    broken_origins: set[str] = set()
    for result in refused:
        probe = result.planned.probe
        if result.planned.aspect == "origin" and probe.credentials == "omit":
            broken_origins.add(probe.origin)
            findings.append(
                _finding(
                    rules.ALLOWED_ORIGIN_REFUSED,
                    target,
                    result,
                    f"{probe.origin} is allowed by the policy but cannot read {target}",
                )
            )
    for result in refused:
        probe = result.planned.probe
        if probe.origin in broken_origins or result.planned.aspect == "private-network":
            continue
        if result.planned.aspect == "origin":
            findings.append(
                _finding(
                    rules.CREDENTIALS_REFUSED,
                    target,
                    result,
                    f"{probe.origin} cannot read {target} with credentials",
                )
            )
        elif _fails_only_with_credentials(result, results):
            continue  # already reported as credentials-refused for the origin itself
        elif result.planned.aspect == "method":
            findings.append(
                _finding(
                    rules.ALLOWED_METHOD_REFUSED,
                    target,
                    result,
                    f"{normalize_method(probe.method)} from {probe.origin} is refused"
                    + _only_with_credentials(result, results),
                )
            )
        elif result.planned.aspect == "header":
            findings.append(
                _finding(
                    rules.ALLOWED_HEADER_REFUSED,
                    target,
                    result,
                    f"request header {result.planned.subject} from {probe.origin} is refused"
                    + _only_with_credentials(result, results),
                )
            )
    findings += _expose_findings(target, policy, results)
    findings += _max_age_findings(target, policy, results)
    return _dedupe(findings)


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


def _expose_findings(target: str, policy: Policy, results: Sequence[ProbeResult]) -> list[Finding]:
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
                _finding(
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


def _max_age_findings(target: str, policy: Policy, results: Sequence[ProbeResult]) -> list[Finding]:
    passing = [
        r
        for r in results
        if r.planned.origin_class == ALLOWED and r.verdict.allowed and _preflight(r.exchange)
    ]
    if not passing:
        return []
    witness = passing[0]
    preflight = _preflight(witness.exchange)
    assert preflight is not None
    seconds = max_age_seconds(preflight.response)
    low = policy.max_age.min if policy.max_age else None
    high = policy.max_age.max if policy.max_age else _BASELINE_MAX_AGE
    if seconds is not None and seconds >= 0 and high is not None and seconds > high:
        return [
            _finding(
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
            _finding(
                rules.MAX_AGE_TOO_SHORT,
                target,
                witness,
                f"Access-Control-Max-Age is {shown}, below {low} s",
                step="preflight",
            )
        ]
    return []


# --- private network ---------------------------------------------------------------------------------


def _grants_private_network(result: ProbeResult) -> bool:
    preflight = _preflight(result.exchange)
    if preflight is None:
        return False
    granted = preflight.response.headers.combined("Access-Control-Allow-Private-Network")
    passes = cors_check(
        preflight.response, result.planned.probe.origin, result.planned.probe.credentials
    )
    return granted is not None and granted.strip() == "true" and passes is None


def _private_network_findings(
    target: str, policy: Policy | None, results: Sequence[ProbeResult]
) -> list[Finding]:
    findings: list[Finding] = []
    asked = [
        r
        for r in results
        if PRIVATE_NETWORK_REQUEST in r.planned.probe.extra_headers
        and r.planned.probe.credentials == "omit"
    ]
    for result in asked:
        probe = result.planned.probe
        trusted = policy is not None and policy.allows_origin(probe.origin)
        granted = _grants_private_network(result)
        if granted and not (trusted and policy is not None and policy.private_network):
            if result.planned.origin_class != ALLOWED:
                findings.append(
                    _finding(
                        rules.PRIVATE_NETWORK_UNTRUSTED,
                        target,
                        result,
                        f"{probe.origin} is granted Access-Control-Allow-Private-Network: true",
                        step="preflight",
                    )
                )
        elif not granted and trusted and policy is not None and policy.private_network:
            findings.append(
                _finding(
                    rules.PRIVATE_NETWORK_REFUSED,
                    target,
                    result,
                    f"{probe.origin} is not granted private network access",
                    step="preflight",
                )
            )
    return findings


# --- hygiene -----------------------------------------------------------------------------------------


def _hygiene_findings(
    target: str, policy: Policy | None, results: Sequence[ProbeResult]
) -> list[Finding]:
    findings: list[Finding] = []
    omit = [r for r in results if r.planned.probe.credentials == "omit"]

    actual_reads = [r for r in omit if r.planned.aspect == "origin" and _final_response(r.exchange)]
    # Vary: Origin matters when the server names different origins to different requests (an echo or
    # a list): a cache could then hand one origin's answer to another. A single fixed origin, present
    # or absent, cannot be confused that way (Flask-CORS with one origin omits Vary, rightly).
    allow_origin_values = {
        _header(r, "Access-Control-Allow-Origin") for r in actual_reads if _is_actual(r)
    } - {None, "*"}
    if len(allow_origin_values) > 1:
        for result in actual_reads:
            hop = _final_response(result.exchange)
            if hop is None or hop.kind != "actual":
                continue
            value = hop.response.headers.combined("Access-Control-Allow-Origin")
            if value is None or value.strip() == "*":
                continue
            vary = {
                v.strip().lower()
                for v in split_header_list(hop.response.headers.combined("Vary") or "")
            }
            if "origin" not in vary and "*" not in vary:
                findings.append(
                    _finding(
                        rules.MISSING_VARY,
                        target,
                        result,
                        "Access-Control-Allow-Origin depends on the request's Origin "
                        "but the response has no Vary: Origin",
                    )
                )
                break

    for result in omit:
        problem = _malformed(result)
        if problem:
            findings.append(_finding(rules.MALFORMED_HEADER, target, result, problem))
            break

    for result in omit:
        hop = _final_response(result.exchange)
        if hop is None:
            continue
        headers = hop.response.headers
        origin_value = (headers.combined("Access-Control-Allow-Origin") or "").strip()
        credentials_value = (headers.combined("Access-Control-Allow-Credentials") or "").strip()
        if origin_value == "*" and credentials_value == "true":
            findings.append(
                _finding(
                    rules.WILDCARD_WITH_CREDENTIALS,
                    target,
                    result,
                    "the response allows any origin and credentials at once; "
                    "browsers refuse credentialed reads",
                )
            )
            break
    return findings


def _is_actual(result: ProbeResult) -> bool:
    hop = _final_response(result.exchange)
    return hop is not None and hop.kind == "actual"


def _header(result: ProbeResult, name: str) -> str | None:
    hop = _final_response(result.exchange)
    if hop is None:
        return None
    value = hop.response.headers.combined(name)
    return value.strip() if value is not None else None


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
    from corscheck.headers import is_token

    return any(not is_token(item) for item in split_header_list(value))


# --- building findings -------------------------------------------------------------------------------


def _finding(
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
    hop = _evidence_hop(result.exchange, step or result.verdict.failed_step)
    if (
        rule.direction == "over-permissive"
        and hop is not None
        and hop.kind == "actual"
        and not 200 <= hop.response.status < 300
    ):
        # A permissive error page leaks less than a permissive 200 with data.
        severity = rules.lower_severity(severity)
        notes.append(
            f"severity lowered: the response was {hop.response.status}, not a success with data"
        )
    if not result.verdict.actual_checked:
        notes.append(
            "the unsafe actual request was not sent (--send-unsafe); judged on the preflight"
        )
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
    )
    return Finding(rule, severity, target, message, evidence, tuple(notes), rule.fix)


def _evidence_hop(exchange: Exchange, step: str | None) -> Hop | None:
    if step == "preflight":
        return _preflight(exchange) or _final_response(exchange)
    return _final_response(exchange)


def _dedupe(findings: list[Finding]) -> list[Finding]:
    seen: set[tuple[str, str]] = set()
    unique = []
    for finding in findings:
        key = (finding.rule.id, finding.message)
        if key not in seen:
            seen.add(key)
            unique.append(finding)
    return unique

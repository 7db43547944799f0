"""(policy, probes, verdicts) → expectations, outcomes and findings. Pure.

Findings are grouped by root cause: a server that reflects any origin gets one finding with the other
bypasses as evidence, and an allowed origin that is refused outright does not also produce one finding
per method and header.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Literal
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from corscheck import rules
from corscheck.browser import (
    Exchange,
    Hop,
    Probe,
    Response,
    Verdict,
    cors_check,
    cors_unsafe_request_header_names,
    is_cors_safelisted_method,
    is_same_origin,
    normalize_method,
)
from corscheck.fixes import detect_framework, fix_for
from corscheck.headers import HeaderLine, split_header_list
from corscheck.plan import ALLOWED, PRIVATE_NETWORK_REQUEST, PlannedProbe
from corscheck.policy import Policy, origin_matches
from corscheck.rules import Rule, Severity

# "same-origin": the page is on the target's own origin, so no CORS applies and nothing is compared.
Outcome = Literal[
    "as-expected", "over-permissive", "under-permissive", "not-checked", "same-origin"
]

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
    # The request of that step as it went on the wire: its method (OPTIONS for a preflight) and
    # its CORS request lines (Origin, Access-Control-Request-*).
    sent_method: str = ""
    sent_lines: tuple[HeaderLine, ...] = ()
    # The class of the probe's origin (ALLOWED, or an attacker class of origins.ORIGIN_CLASSES): the
    # root cause a fingerprint names, where the crafted origin itself may change (baseline.py).
    origin_class: str = ""

    def page_request(self) -> str:
        """The page's fetch(), in one line."""
        text = f"fetch() from {self.origin}: {self.method}, credentials {self.credentials}"
        return text + "".join(f", {name}: {value}" for name, value in self.request_headers)

    def sent_request(self) -> list[str]:
        """The request of the evidence step as sent: its first line, then its CORS lines."""
        if not self.sent_method:
            return []
        kind = "preflight" if self.step == "preflight" else "actual request"
        return [f"{self.sent_method} ({kind})", *(f"{n}: {v}" for n, v in self.sent_lines)]

    def response(self) -> list[str]:
        """The response of the evidence step: status, then its CORS lines."""
        status = f"{self.step} → {self.status}" if self.status is not None else "no response"
        lines = [f"{name}: {value.strip()}" for name, value in self.response_lines]
        return [status, *lines] if lines else [f"{status} (no CORS headers)"]


@dataclass(frozen=True, slots=True)
class Suppression:
    """Why a finding is accepted: an [[ignore]] entry's reason, its expiry, and where it is written
    ("corscheck.toml:12", or "--ignore" for the command line)."""

    reason: str
    expires: str | None
    source: str


BaselineState = Literal["new", "unchanged"]


@dataclass(frozen=True, slots=True)
class Finding:
    rule: Rule
    severity: Severity
    target: str
    message: str
    evidence: Evidence
    notes: tuple[str, ...] = field(default=())
    fix: str = ""  # the rule's fix, or the framework's own setting (fixes.py)
    # Set after evaluation (suppress.py, baseline.py): an accepted finding stays in every report but
    # does not count for the exit code; with --baseline, only "new" findings do.
    suppressed: Suppression | None = None
    baseline: BaselineState | None = None

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


# --- fingerprints ------------------------------------------------------------------------------------

FINGERPRINT_VERSION = "corscheckFinding/v2"
# Rules whose findings gather every crafted origin that got through by one mistake (evaluate.py): the
# witness origin, and so its class, may change from run to run while the mistake stays the same.
_ONE_PER_TARGET = {
    rules.ANY_ORIGIN.id,
    rules.ANY_ORIGIN_WITH_CREDENTIALS.id,
    rules.UNTRUSTED_ORIGIN.id,
    rules.PUBLIC_WILDCARD.id,
}
_DEFAULT_PORTS = {"http": 80, "https": 443}


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
    netloc = host if port in (None, _DEFAULT_PORTS.get(scheme)) else f"{host}:{port}"
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
    # A fix for the browser's actual objection (_fix_for_reason) outranks the framework's knob.
    return [
        replace(f, fix=fix_for(f.rule.id, f.rule.fix, framework)) if f.fix == f.rule.fix else f
        for f in findings
    ]


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
                related=tuple(s for s in subjects if s != witness.planned.subject),
                step="preflight",
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
                    step="preflight",
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
        if probe.origin in broken_origins or result.planned.aspect != "origin":
            continue
        findings.append(
            _finding(
                rules.CREDENTIALS_REFUSED,
                target,
                result,
                f"{probe.origin} cannot read {target} with credentials",
            )
        )
    findings += _refused_requests(
        target, [r for r in refused if r.planned.probe.origin not in broken_origins], results
    )
    findings += _expose_findings(target, policy, results)
    findings += _max_age_findings(target, policy, results)
    return _dedupe(findings)


def _refused_requests(
    target: str, refused: Sequence[ProbeResult], results: Sequence[ProbeResult]
) -> list[Finding]:
    """One finding per culprit (a method or a header) of the refused requests of an allowed origin.

    The front-end's own requests (aspect "request": a method with every policy header) come first:
    they are what users meet. The probes that carry one method or one header alone tell which of
    them the server refuses; the refused front-end request is the evidence.
    """
    culprits: dict[tuple[str, str, str], list[ProbeResult]] = {}
    ordered = sorted(
        (r for r in refused if r.planned.aspect in ("request", "method", "header")),
        key=lambda r: (r.planned.aspect != "request", r.planned.probe.credentials != "omit"),
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
        requests = list(dict.fromkeys(_request_summary(w) for w in witnesses))
        front_end = "the front-end's " if witness.planned.aspect == "request" else ""
        step = witness.verdict.failed_step
        if step == "preflight":
            failing = f"{front_end}{requests[0]} fails its preflight"
        else:
            # The preflight let it through; the response itself fails the CORS check (an error
            # page without CORS headers, typically).
            hop = _evidence_hop(witness.exchange, step)
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
            _finding(rule, target, witness, message, related=tuple(requests[1:]), step=step)
        )
    return findings


def _request_summary(result: ProbeResult) -> str:
    probe = result.planned.probe
    names = ", ".join(name for name, _ in probe.headers)
    return f"{normalize_method(probe.method)}" + (f" with {names}" if names else "")


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
    if not found and result.verdict.reason_id == "PRE-HEADERS" and result.verdict.reason:
        named = next((n for n in names if f" {n} " in result.verdict.reason), None)
        if named is not None:
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

    vary = _missing_vary(target, omit)
    if vary is not None:
        findings.append(vary)

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
    return _finding(
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
        sent_method=hop.request.method if hop else "",
        sent_lines=tuple(
            line for line in (hop.request.headers if hop else ()) if _is_cors_request_line(line)
        ),
        origin_class=result.planned.origin_class,
    )
    fix = _fix_for_reason(rule, result, hop) or rule.fix
    return Finding(rule, severity, target, message, evidence, tuple(notes), fix)


def _is_cors_request_line(line: HeaderLine) -> bool:
    name = line[0].lower()
    return name == "origin" or name.startswith("access-control-request-")


def _fix_for_reason(rule: Rule, result: ProbeResult, hop: Hop | None) -> str | None:
    """A fix for what the browser actually objected to, where the rule's own fix would miss it: an
    allowed request refused because a header is broken, not because something is not listed."""
    if rule.direction != "under-permissive" or hop is None:
        return None
    reason_id = result.verdict.reason_id
    headers = hop.response.headers
    if reason_id == "CHECK-ACAO-MULTIPLE":
        count = len(headers.get_all("Access-Control-Allow-Origin"))
        copies = f"{count} Access-Control-Allow-Origin lines" if count > 1 else "a list of origins"
        return (
            f"The response carries {copies}, and browsers accept exactly one origin. Two layers "
            "usually add it (the framework's CORS middleware and a proxy's add_header, or two "
            "middlewares): keep CORS in one layer and remove it from the other."
        )
    if (
        reason_id == "CHECK-ACAO-MISSING"
        and result.verdict.failed_step == "actual"
        and result.verdict.preflight
    ):
        return (
            f"The preflight passes, but the actual response ({hop.response.status}) carries no "
            "Access-Control-Allow-Origin: send the CORS headers on every response, errors "
            "included (an authentication or error handler that answers before the CORS "
            "middleware often drops them)."
        )
    if reason_id == "CHECK-ACAO-MATCH":
        value = (headers.combined("Access-Control-Allow-Origin") or "").strip()
        return (
            f"The server answers Access-Control-Allow-Origin: {value}, which is not the page's "
            f"origin {result.planned.probe.origin}: answer with the request's Origin exactly as "
            "the browser sends it (scheme, host and port; no path or trailing slash) when it is "
            "allowed."
        )
    if reason_id == "PRE-REDIRECT":
        return (
            "Answer the preflight (OPTIONS) at this URL itself: browsers never follow a redirect "
            "of a preflight. Link to the final URL (often a trailing slash or http→https redirect)."
        )
    if reason_id == "PRE-PARSE":
        return (
            "Send Access-Control-Allow-Methods and Access-Control-Allow-Headers as comma-separated "
            "tokens (no quotes, slashes or other separators)."
        )
    if reason_id == "NET-DUPLICATE-HEADER":
        return (
            "Send Content-Length, Content-Disposition and Location once: two different values "
            "make Chromium drop the response before any CORS check."
        )
    return None


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

"""Over-permissive findings: attacker-crafted origins that read (grouped by root cause: one finding
for a server that reflects any origin, with the other bypasses as evidence), and methods, headers
and credentials granted beyond the policy. PURE."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from corscheck import rules
from corscheck.browser import (
    cors_unsafe_request_header_names,
)
from corscheck.evaluate.build import final_response, make_finding, preflight_hop
from corscheck.evaluate.model import Finding, ProbeResult, carries_credentials
from corscheck.evaluate.regex_findings import regex_findings
from corscheck.headers import split_header_list
from corscheck.plan import ALLOWED, WITNESS_CLASS
from corscheck.policy import Policy
from corscheck.rules import Rule
from corscheck.visitor import fetch_site
from corscheck.written import RegexWitness

_DEVELOPMENT_CLASSES = {"developer"}


_INSECURE_CLASSES = {"scheme-downgrade"}


_ANY_ORIGIN_CLASSES = {"unrelated"}


_NULL_CLASSES = {"null"}


def origin_findings(
    target: str,
    policy: Policy | None,
    results: Sequence[ProbeResult],
    witnesses: Sequence[RegexWitness] = (),
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
        # The witness reads with the visitor's cookies where any crafted origin does: the unrelated
        # (cross-site) one first, else a same-site one (a SameSite=Lax session, a browser that
        # blocks third-party cookies).
        credentialed = [r for r in reflected_any if carries_credentials(r.planned.probe)]
        credentialed += [
            r
            for r in leaks
            if r not in credentialed
            and carries_credentials(r.planned.probe)
            and _reflects_origin(r)
        ]
        rule = rules.ANY_ORIGIN_WITH_CREDENTIALS if credentialed else rules.ANY_ORIGIN
        witness = (credentialed or reflected_any)[0]
        others = sorted({r.planned.probe.origin for r in leaks} - {witness.planned.probe.origin})
        # Cross-site pages read with the visitor's cookies: any site the user visits. Same-site
        # ones only: a page on the API's own site, reached through a takeover or an XSS there.
        same_site_only = bool(credentialed) and _site_words(witness, target) != ""
        finding = make_finding(
            rule,
            target,
            witness,
            f"{witness.planned.probe.origin}{_site_words(witness, target)} can read {target}"
            + (" with credentials" if credentialed else "")
            + (
                f"; {len(others)} other crafted origins are granted too (cross-site ones read "
                "without the visitor's cookies)"
                if same_site_only
                else f"; {len(others)} other crafted origins got through too"
            ),
            related=tuple(others),
            base=rules.lower_severity(rule.severity) if same_site_only else None,
        )
        findings.append(_with_cookie_note(finding, leaks, target))
        return findings

    wildcard_leaks = sorted(
        (r for r in leaks if _served_wildcard(r)),
        key=lambda r: r.planned.origin_class not in _ANY_ORIGIN_CLASSES,
    )
    if wildcard_leaks and (policy is None or not policy.is_public):
        witness = wildcard_leaks[0]
        rule = rules.PUBLIC_WILDCARD if policy is None else rules.ANY_ORIGIN
        findings.append(
            make_finding(
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
        if origin_class == WITNESS_CLASS:
            findings += regex_findings(target, specific, witnesses)
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
    credentialed = [r for r in leaks if carries_credentials(r.planned.probe)]
    witness = (credentialed or list(leaks))[0]
    origins = list(dict.fromkeys(r.planned.probe.origin for r in leaks))
    classes = list(dict.fromkeys(r.planned.origin_class for r in leaks))
    shown = "; ".join(_origin_class_description(c) for c in classes)
    others = len(origins) - 1
    message = (
        f"{witness.planned.probe.origin}{_site_words(witness, target)} can read {target}"
        + (" with credentials" if credentialed else " without credentials")
        + (f", and {others} more crafted origin{'s' if others > 1 else ''}" if others else "")
        + f" ({shown})"
    )
    finding = make_finding(
        rule,
        target,
        witness,
        message,
        related=tuple(o for o in origins if o != witness.planned.probe.origin),
        base=rule.severity if credentialed else rules.lower_severity(rule.severity),
    )
    return _with_cookie_note(finding, leaks, target)


def _site_words(result: ProbeResult, target: str) -> str:
    """ " (a same-site page)" for a witness on the target's own site: a sibling subdomain or port,
    which reads only through a takeover or an XSS there, but carries SameSite=Lax cookies."""
    return (
        " (a same-site page)"
        if fetch_site(result.planned.probe.origin, target) != "cross-site"
        else ""
    )


def _with_cookie_note(finding: Finding, leaks: Sequence[ProbeResult], target: str) -> Finding:
    """Says so when cross-site pages read only without the visitor's cookies, while same-site
    pages read with them: the browser does not attach the session cookie cross-site."""
    cross = [r for r in leaks if fetch_site(r.planned.probe.origin, target) == "cross-site"]
    without = [
        r
        for r in cross
        if r.planned.probe.credentials == "include" and r.planned.probe.cookie == ""
    ]
    if not without or any(carries_credentials(r.planned.probe) for r in cross):
        return finding
    same_site = [r for r in leaks if r not in cross and carries_credentials(r.planned.probe)]
    note = (
        "cross-site pages read only without the visitor's cookies: this browser does not attach "
        "them to cross-site requests (a SameSite=Lax or Strict session in every browser, any "
        "session where third-party cookies are blocked)"
        + ("; same-site pages do attach them" if same_site else "")
    )
    return replace(finding, notes=(*finding.notes, note))


def _origin_class_description(origin_class: str) -> str:
    from corscheck.origins import ORIGIN_CLASSES

    if origin_class == WITNESS_CLASS:
        return "an origin the allow-list's own regex accepts"
    return ORIGIN_CLASSES.get(origin_class, origin_class)


def _reflects_origin(result: ProbeResult) -> bool:
    hop = final_response(result.exchange)
    if hop is None:
        return False
    allow_origin = hop.response.headers.combined("Access-Control-Allow-Origin")
    return allow_origin is not None and allow_origin.strip() == result.planned.probe.origin


def _served_wildcard(result: ProbeResult) -> bool:
    hop = final_response(result.exchange)
    if hop is None:
        return False
    allow_origin = hop.response.headers.combined("Access-Control-Allow-Origin")
    return allow_origin is not None and allow_origin.strip() == "*"


def beyond_policy_findings(
    target: str, policy: Policy | None, results: Sequence[ProbeResult]
) -> list[Finding]:
    findings: list[Finding] = []
    allowed_leaks = [
        r for r in results if r.planned.origin_class == ALLOWED and r.outcome == "over-permissive"
    ]
    credential_leaks = [
        r
        for r in allowed_leaks
        if r.planned.aspect == "origin" and carries_credentials(r.planned.probe)
    ]
    if credential_leaks and policy is not None and not policy.credentials:
        witness = credential_leaks[0]
        findings.append(
            make_finding(
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
            make_finding(
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
                make_finding(
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
    preflight = preflight_hop(result.exchange)
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
    preflight = preflight_hop(result.exchange)
    if preflight is None:
        return False
    listed = {
        item.lower()
        for item in split_header_list(
            preflight.response.headers.combined("Access-Control-Allow-Headers") or ""
        )
    }
    return "*" in listed and "authorization" not in listed

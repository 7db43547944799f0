"""Findings of the written allow-list: a regex's witness the server granted (one finding per regex,
naming where it is written, its framework's match rule, the flaw and the mended regex in that
framework's syntax), and the deployment's drift from the code. PURE."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from corscheck import rules
from corscheck.evaluate.build import make_finding
from corscheck.evaluate.model import Finding, ProbeResult, carries_credentials
from corscheck.plan import ALLOWED, WITNESS_CLASS
from corscheck.written import RULE_WORDS, RegexWitness, WrittenAllowList, flaw_words

# How each framework writes a regex entry, for the fix: {regex} is the mended regex.
FIX_SYNTAX: dict[str, str] = {
    "starlette": 'CORSMiddleware(allow_origin_regex=r"{regex}")',
    "flask": 'CORS(app, origins=[r"{regex}"])',
    "django": 'CORS_ALLOWED_ORIGIN_REGEXES = [r"{regex}"]',
    "litestar": 'CORSConfig(allow_origin_regex=r"{regex}") (and the exact origins in allow_origins)',
    "quart": 'cors(app, allow_origin=[re.compile(r"{regex}")])',
    "nginx": 'map $http_origin $cors_origin {{ default ""; "~{regex}" $http_origin; }}',
}


def regex_findings(
    target: str, leaks: Sequence[ProbeResult], witnesses: Sequence[RegexWitness]
) -> list[Finding]:
    """One finding per regex whose witnesses read (`leaks`: over-permissive results of
    WITNESS_CLASS, not served `*`); the witness that reads with credentials first."""
    by_origin = {w.origin: w for w in witnesses}
    by_regex: dict[str, list[ProbeResult]] = {}
    for result in leaks:
        if result.planned.probe.origin in by_origin:
            by_regex.setdefault(result.planned.derived_from, []).append(result)
    findings = []
    for regex_leaks in by_regex.values():
        credentialed = [r for r in regex_leaks if carries_credentials(r.planned.probe)]
        witness = (credentialed or regex_leaks)[0]
        found = by_origin[witness.planned.probe.origin]
        entry = found.entry
        origins = list(dict.fromkeys(r.planned.probe.origin for r in regex_leaks))
        message = (
            f"{found.origin} can read {target}"
            + (" with credentials" if credentialed else " without credentials")
            + f": {entry.setting} {_shown(entry.value)} at {entry.where} accepts it, "
            f"{RULE_WORDS[entry.rule]}"
            + (" ignoring case" if entry.ignore_case else "")
            + f"; {flaw_words(found.witness.kind)}"
        )
        finding = make_finding(
            rules.REGEX_ORIGIN,
            target,
            witness,
            message,
            related=tuple(o for o in origins if o != found.origin),
            base=rules.REGEX_ORIGIN.severity
            if credentialed
            else rules.lower_severity(rules.REGEX_ORIGIN.severity),
        )
        findings.append(_with_fix(finding, found))
    return findings


def _shown(regex: str) -> str:
    """A regex as Python writes it raw (backslashes as typed, not doubled as repr() shows them)."""
    return f'r"{regex}"' if '"' not in regex else f"r'{regex}'"


def _with_fix(finding: Finding, found: RegexWitness) -> Finding:
    entry = found.entry
    if found.mended is None:
        fix = (
            f"Replace {entry.setting} {_shown(entry.value)} ({entry.where}) with the exact origins the "
            f"front-ends use: no regex of that shape keeps them and refuses {found.origin}."
        )
    else:
        syntax = FIX_SYNTAX.get(found.framework, 'r"{regex}"')
        fix = (
            f"At {entry.where}, in place of {_shown(entry.value)}: "
            + syntax.format(regex=found.mended)
            + f". Checked: it refuses {found.origin} and still grants the origins the regex "
            "was written for."
        )
    return replace(finding, fix=fix)


def _read_and_refused(
    results: Sequence[ProbeResult],
) -> tuple[dict[str, ProbeResult], dict[str, ProbeResult]]:
    read: dict[str, ProbeResult] = {}
    refused: dict[str, ProbeResult] = {}
    for r in results:
        if r.planned.aspect != "origin" or r.planned.probe.origin == "null":
            continue
        (read if r.verdict.allowed else refused).setdefault(r.planned.probe.origin, r)
    return read, refused


def drift_findings(
    target: str, results: Sequence[ProbeResult], written: WrittenAllowList
) -> list[Finding]:
    """The deployment against the code, origin by origin (aspect "origin" probes): an origin the
    deployment lets read that the code grants through no entry is a finding: another layer adds
    CORS headers."""
    read, _ = _read_and_refused(results)
    findings: list[Finding] = []
    beyond = [r for origin, r in read.items() if written.grants(origin) is None]
    if beyond:
        witness = next((r for r in beyond if carries_credentials(r.planned.probe)), beyond[0])
        others = tuple(
            o for o in (r.planned.probe.origin for r in beyond) if o != witness.planned.probe.origin
        )
        findings.append(
            make_finding(
                rules.GRANT_BEYOND_CODE,
                target,
                witness,
                f"{witness.planned.probe.origin} can read {target}, but the code ({written.source}, "
                f"{written.framework}) grants it through no entry: another layer (a proxy, a "
                "gateway, a second middleware) adds CORS headers the code does not write",
                related=others,
            )
        )
    return findings


def drift_notes(results: Sequence[ProbeResult], written: WrittenAllowList) -> list[str]:
    """An origin the code grants that the deployment refused: a note on the target (a proxy strips
    or replaces the headers, or the route is outside the code's CORS settings)."""
    read, refused = _read_and_refused(results)
    return [
        f"the code ({written.source}) grants {origin} through {entry.setting} at {entry.where}, "
        "but the deployment refused it: a layer in front strips or replaces the CORS headers, or "
        "this route is outside the code's CORS settings"
        for origin in refused
        if origin not in read
        and (entry := written.grants(origin)) is not None
        and refused[origin].planned.origin_class in (ALLOWED, WITNESS_CLASS)
    ]

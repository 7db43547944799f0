"""SARIF 2.1.0 for GitHub code scanning and other SARIF viewers.

Locations. GitHub requires every result to have a physical location, and shows it as a file and line of
the repository. A finding's location is therefore where its target is declared: the policy file and the
line of the target's [[targets]] entry, or of the [policy] table when the URL came from the command line
(the path relative to the working directory, which in CI is the repository root). Without a policy file
the artifact is the audited URL itself, a stable URI that viewers list as the "file". The URL is also
always given as a logical location, so viewers that show those name the endpoint either way.

De-duplication. `partialFingerprints` carries the finding's stable fingerprint (evaluate/model.py
`fingerprint`: the rule, the normalized target and the root cause), so the same finding on the next
run is the same alert, wherever the location is.

CI gates. A finding accepted by an ignore carries `suppressions` (external, accepted, with the reason
as its justification); with `--baseline` every result has a `baselineState`, and the baseline's
findings that are gone are listed as results in state `absent`.
"""

from __future__ import annotations

import json
from typing import Any

from corscheck.evaluate import FINGERPRINT_VERSION, Finding
from corscheck.report.codec import proof_to_dict
from corscheck.report.model import Report
from corscheck.rules import CATALOG, Rule
from corscheck.target import SourceLocation

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_LEVELS = {"critical": "error", "high": "error", "medium": "warning", "low": "note"}
# GitHub maps security-severity to its own levels: >= 9 critical, >= 7 high, >= 4 medium, else low.
_SECURITY_SEVERITY = {"critical": "9.5", "high": "7.5", "medium": "5.0", "low": "2.0"}


def _rule(rule: Rule) -> dict[str, Any]:
    return {
        "id": rule.id,
        "name": "".join(part.capitalize() for part in rule.id.split("-")),
        "shortDescription": {"text": rule.title},
        "fullDescription": {"text": rule.explanation},
        "help": {
            "text": f"{rule.explanation}\n\nFix: {rule.fix}",
            "markdown": f"{rule.explanation}\n\n**Fix:** {rule.fix}",
        },
        "defaultConfiguration": {"level": _LEVELS[rule.severity]},
        "properties": {
            "security-severity": _SECURITY_SEVERITY[rule.severity],
            "tags": ["security", "cors", rule.direction],
            "precision": "very-high",
        },
    }


def _location(
    finding: Finding, source: SourceLocation | None, route: str | None = None
) -> dict[str, Any]:
    logical = [{"fullyQualifiedName": finding.target, "kind": "resource"}]
    if route is not None:
        # The OpenAPI route the target was made from, as viewers group results by it.
        logical.append({"fullyQualifiedName": route, "kind": "function"})
    if source is None:
        physical: dict[str, Any] = {"artifactLocation": {"uri": finding.target}}
    else:
        physical = {
            "artifactLocation": {"uri": source.file},
            "region": {"startLine": source.line},
        }
    return {"physicalLocation": physical, "logicalLocations": logical}


def _result(
    finding: Finding,
    index: dict[str, int],
    source: SourceLocation | None,
    baseline_state: str | None = None,
    route: str | None = None,
) -> dict[str, Any]:
    ev = finding.evidence
    evidence_lines = "; ".join(f"{n}: {v.strip()}" for n, v in ev.response_lines)
    result: dict[str, Any] = {
        "ruleId": finding.rule.id,
        "ruleIndex": index[finding.rule.id],
        "level": _LEVELS[finding.severity],
        "message": {
            "text": f"{finding.message}. Request: {ev.page_request()}. "
            + (f"Sent: {'; '.join(ev.sent_request())}. " if ev.sent_method else "")
            + f"Response {ev.step} {ev.status}: {evidence_lines or 'no CORS headers'}. "
            f"Fix: {finding.fix}"
        },
        "locations": [_location(finding, source, route)],
        "partialFingerprints": {FINGERPRINT_VERSION: finding.fingerprint},
        "properties": {
            "severity": finding.severity,
            "security-severity": _SECURITY_SEVERITY[finding.severity],
            "origin": ev.origin,
            "related": list(ev.related),
            # Per browser profile: who reads with the visitor's cookies (visitor.py).
            "exposure": {e.profile: e.summary() for e in finding.exposure},
            # With --prove: the evidence request replayed in headless Chromium.
            **({"proof": proof_to_dict(finding.proof)} if finding.proof else {}),
        },
    }
    if finding.suppressed is not None:
        until = f" (until {finding.suppressed.expires})" if finding.suppressed.expires else ""
        result["suppressions"] = [
            {
                "kind": "external",
                "status": "accepted",
                "justification": f"{finding.suppressed.reason}{until}",
                "location": {"physicalLocation": _suppression_location(finding.suppressed.source)},
            }
        ]
    state = baseline_state or finding.baseline
    if state is not None:
        result["baselineState"] = state
    return result


def _suppression_location(source: str) -> dict[str, Any]:
    """Where the ignore is written: its file and line, or the command line's --ignore."""
    path, _, line = source.rpartition(":")
    if path and line.isdigit() and int(line) > 0:
        return {"artifactLocation": {"uri": path}, "region": {"startLine": int(line)}}
    return {"artifactLocation": {"uri": source}}


def render(report: Report) -> str:
    index = {rule.id: n for n, rule in enumerate(CATALOG)}
    sources = {t.url: t.source for t in report.targets if t.source is not None}
    routes = {t.url: t.route.label for t in report.targets if t.route is not None}
    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": "corscheck",
                "version": report.version,
                "informationUri": "https://pypi.org/project/corscheck/",
                "rules": [_rule(rule) for rule in CATALOG],
            }
        },
        "results": [
            _result(f, index, sources.get(f.target), route=routes.get(f.target))
            for f in [*report.findings(), *report.suppressed()]
        ]
        + [
            _result(f, index, sources.get(f.target), "absent")
            for f in (report.baseline.fixed if report.baseline else ())
        ],
        "invocations": [
            {
                "executionSuccessful": report.error_count == 0,
                **(
                    {"properties": {"visitor": report.visitor.statement()}}
                    if report.visitor
                    else {}
                ),
                "toolExecutionNotifications": [
                    {"level": "error", "message": {"text": f"{t.url}: {e.kind}: {e.message}"}}
                    for t in report.targets
                    for e in t.errors
                ]
                # An expired or unused [[ignore]], and the run's other warnings.
                + [{"level": "warning", "message": {"text": w}} for w in report.all_warnings()],
            }
        ],
    }
    sarif = {"$schema": SCHEMA, "version": "2.1.0", "runs": [run]}
    return json.dumps(sarif, indent=2, ensure_ascii=False) + "\n"

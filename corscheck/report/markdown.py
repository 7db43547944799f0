"""Markdown: a summary table and the findings, sized for a pull-request comment or
$GITHUB_STEP_SUMMARY (GitHub Flavored Markdown).

Everything from the audited servers is text to show, never markup: URLs, origins and header lines go in
code spans, prose is backslash-escaped, so a hostile header cannot inject HTML, links or math.
"""

from __future__ import annotations

import re

from corscheck.evaluate import Finding, exposure_lines
from corscheck.report.model import Report
from corscheck.rules import SEVERITIES

_ICONS = {"critical": "🟥", "high": "🟧", "medium": "🟨", "low": "🟦"}
_MAX_ROWS = 50  # findings, and errors: the JSON report has everything
# GitHub refuses comments over 65,536 characters (the step summary allows 1 MiB); stay well below.
_MAX_CHARS = 60_000
_SPECIAL = re.compile(r"([\\`*_\[\]<>|&$~])")


def text(value: str) -> str:
    """Prose for Markdown: punctuation that could start markup escaped, on one line."""
    return _SPECIAL.sub(r"\\\1", " ".join(value.split()))


def code(value: str) -> str:
    """A code span for a table cell: a fence longer than any backtick run inside, `|` escaped (GFM
    splits cells on it even in code spans)."""
    value = " ".join(value.split())
    runs = [len(run) for run in re.findall(r"`+", value)]
    fence = "`" * (max(runs, default=0) + 1)
    pad = " " if value.startswith("`") or value.endswith("`") else ""
    escaped = value.replace("|", "\\|")
    return f"{fence}{pad}{escaped}{pad}{fence}"


def _exposure(finding: Finding) -> str:
    """The finding's exposure per browser profile, and its proof, as lines inside its table cell."""
    lines = "".join(
        f"<br>{profiles}: {text(summary)}" for profiles, summary in exposure_lines(finding)
    )
    if finding.proof is not None:
        icon = {True: "✅", False: "❌", None: "➖"}[finding.proof.agrees]
        lines += f"<br>{icon} {text(finding.proof.summary())}"
    return lines


def render(report: Report) -> str:
    findings = report.findings()
    rows = min(len(findings), _MAX_ROWS)
    while True:
        out = _render(report, rows)
        if len(out) <= _MAX_CHARS or rows == 0:
            return out
        rows //= 2


def _render(report: Report, rows: int) -> str:
    counts = report.counts()
    verdict = (
        "❌ failed"
        if report.reaches(report.fail_on)
        else ("⚠️ incomplete" if report.error_count else "✅ passed")
    )
    targets = report.targets
    passed = sum(1 for t in targets if t.passed)
    broken = sum(1 for t in targets if t.errors)
    out = [
        f"## corscheck: {verdict}",
        "",
        f"{len(targets)} targets ({passed} passed, {len(targets) - passed - broken} with findings, "
        f"{broken} not audited) · depth {report.depth} · fail on {report.fail_on} · "
        f"corscheck {text(report.version)}",
        "",
        *([f"Policy: {text(report.policy_statement)}", ""] if report.policy_statement else []),
        *([f"Visitor: {text(report.visitor.statement())}", ""] if report.visitor else []),
        *([f"Judged: {text(report.deployment)}", ""] if report.deployment else []),
        "| " + " | ".join(s for s in SEVERITIES) + " | errors |",
        "|" + "---:|" * (len(SEVERITIES) + 1),
        "| " + " | ".join(str(counts[s]) for s in SEVERITIES) + f" | {report.error_count} |",
        "",
        *([f"Proofs: {proofs.line()}", ""] if (proofs := report.proof_counts()) else []),
    ]
    findings = report.findings()
    # Targets made from OpenAPI routes name the route too: findings group by route.
    routes = {t.url: f" {text(t.route.label)}" for t in targets if t.route is not None}
    if findings:
        out += ["| severity | rule | target | finding |", "|---|---|---|---|"]
        for finding in findings[:rows]:
            state = f" ({finding.baseline})" if finding.baseline else ""
            out.append(
                f"| {_ICONS[finding.severity]} {finding.severity}{state} | `{finding.rule.id}` | "
                f"{code(finding.target)}{routes.get(finding.target, '')} | "
                f"{text(finding.message)}{_exposure(finding)} |"
            )
        if len(findings) > rows:
            out += ["", f"… and {len(findings) - rows} more findings in the JSON report."]
        out += ["", "<details><summary>Fixes</summary>", ""]
        for rule_id in dict.fromkeys(f.rule.id for f in findings):
            first = next(f for f in findings if f.rule.id == rule_id)
            out.append(f"- **`{rule_id}`** {text(first.title)}: {text(first.fix)}")
        out += ["", "</details>"]
    baseline = report.baseline_counts()
    if baseline is not None:
        out += [
            "",
            f"Baseline: {baseline['new']} new · {baseline['unchanged']} unchanged · "
            f"{baseline['fixed']} fixed",
        ]
    suppressed = report.suppressed()
    if suppressed:
        out += ["", f"<details><summary>Suppressed ({len(suppressed)})</summary>", ""]
        out += ["| severity | rule | target | reason |", "|---|---|---|---|"]
        for finding in suppressed[: max(rows, 1)]:
            why = finding.suppressed
            assert why is not None
            until = f", until {why.expires}" if why.expires else ""
            out.append(
                f"| {finding.severity} | `{finding.rule.id}` | {code(finding.target)} | "
                f"{text(why.reason)} ({code(why.source)}{until}) |"
            )
        out += ["", "</details>"]
    errors = [(t.url, e) for t in targets for e in t.errors]
    if errors:
        out += ["", "| target | error |", "|---|---|"]
        out += [
            f"| {code(url)} | {e.kind}: {text(e.message)} |" for url, e in errors[: max(rows, 1)]
        ]
        if len(errors) > max(rows, 1):
            out += ["", f"… and {len(errors) - max(rows, 1)} more errors in the JSON report."]
    notes = [(t.url, n) for t in targets for n in t.notes]
    out += (
        ["", *(f"> note ({code(url)}): {text(n)}" for url, n in notes[: max(rows, 1)])]
        if notes
        else []
    )
    warnings = report.all_warnings()
    if warnings:
        out += ["", *(f"> warning: {text(w)}" for w in warnings)]
    return "\n".join(out) + "\n"

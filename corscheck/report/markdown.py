"""Markdown: a summary table and the findings, sized for a pull-request comment or
$GITHUB_STEP_SUMMARY."""

from __future__ import annotations

from corscheck.report.model import Report
from corscheck.rules import SEVERITIES

_ICONS = {"critical": "🟥", "high": "🟧", "medium": "🟨", "low": "🟦"}
_MAX_FINDINGS = 50  # a PR comment has a size limit; the JSON report has everything


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render(report: Report) -> str:
    counts = report.counts()
    verdict = (
        "❌ failed"
        if report.reaches(report.fail_on)
        else ("⚠️ incomplete" if report.error_count else "✅ passed")
    )
    out = [
        f"## corscheck: {verdict}",
        "",
        f"{len(report.targets)} targets · depth {report.depth} · fail on {report.fail_on} · "
        f"corscheck {report.version}",
        "",
        "| " + " | ".join(s for s in SEVERITIES) + " | errors |",
        "|" + "---:|" * (len(SEVERITIES) + 1),
        "| " + " | ".join(str(counts[s]) for s in SEVERITIES) + f" | {report.error_count} |",
        "",
    ]
    findings = report.findings()
    if findings:
        out += ["| severity | rule | target | finding |", "|---|---|---|---|"]
        for finding in findings[:_MAX_FINDINGS]:
            out.append(
                f"| {_ICONS[finding.severity]} {finding.severity} | `{finding.rule.id}` | "
                f"{_cell(finding.target)} | {_cell(finding.message)} |"
            )
        if len(findings) > _MAX_FINDINGS:
            out.append(f"\n… and {len(findings) - _MAX_FINDINGS} more in the JSON report.")
        out.append("")
        out.append("<details><summary>Fixes</summary>\n")
        for rule_id in dict.fromkeys(f.rule.id for f in findings):
            first = next(f for f in findings if f.rule.id == rule_id)
            out.append(f"- **`{rule_id}`** {first.title}: {first.fix}")
        out.append("\n</details>")
    errors = [(t.url, e) for t in report.targets for e in t.errors]
    if errors:
        out += ["", "| target | error |", "|---|---|"]
        out += [f"| {_cell(url)} | {e.kind}: {_cell(e.message)} |" for url, e in errors]
    return "\n".join(out) + "\n"

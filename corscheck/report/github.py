"""GitHub Actions workflow commands: one ::error / ::warning / ::notice line per finding."""

from __future__ import annotations

from corscheck.report.model import Report

_LEVELS = {"critical": "error", "high": "error", "medium": "warning", "low": "notice"}


def escape_data(text: str) -> str:
    """Workflow-command message escaping: %, CR and LF."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """Property escaping: also : and , which separate properties."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def render(report: Report) -> str:
    lines = []
    for finding in report.findings():
        title = escape_property(f"{finding.rule.id}: {finding.title}")
        message = escape_data(f"{finding.target}: {finding.message}. Fix: {finding.fix}")
        lines.append(f"::{_LEVELS[finding.severity]} title={title}::{message}")
    for target in report.targets:
        for error in target.errors:
            title = escape_property(f"corscheck could not audit ({error.kind})")
            lines.append(f"::error title={title}::{escape_data(f'{target.url}: {error.message}')}")
    return "\n".join(lines) + ("\n" if lines else "")

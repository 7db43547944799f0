"""GitHub Actions workflow commands: one ::error / ::warning / ::notice line per finding.

A finding whose target is declared in a policy file is annotated on that file and line, so it shows in
the pull request's diff view; the others are annotations of the run. GitHub shows at most 10 of each
level per step, so findings come most severe first.
"""

from __future__ import annotations

from corscheck.report.model import Report
from corscheck.target import SourceLocation

_LEVELS = {"critical": "error", "high": "error", "medium": "warning", "low": "notice"}


def escape_data(text: str) -> str:
    """Workflow-command message escaping: %, CR and LF."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """Property escaping: also : and , which separate properties."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def command(level: str, message: str, *, title: str, source: SourceLocation | None = None) -> str:
    """One workflow command line, every part escaped."""
    properties = []
    if source is not None:
        properties += [f"file={escape_property(source.file)}", f"line={source.line}"]
    properties.append(f"title={escape_property(title)}")
    return f"::{level} {','.join(properties)}::{escape_data(message)}"


def render(report: Report) -> str:
    sources = {t.url: t.source for t in report.targets}
    lines = [
        command(
            _LEVELS[finding.severity],
            f"{finding.target}: {finding.message}. "
            + (f"Proof: {finding.proof.summary()}. " if finding.proof else "")
            + f"Fix: {finding.fix}",
            title=f"{finding.rule.id}: {finding.title}",
            source=sources.get(finding.target),
        )
        for finding in report.findings()
    ]
    for target in report.targets:
        for error in target.errors:
            lines.append(
                command(
                    "error",
                    f"{target.url}: {error.message}",
                    title=f"corscheck could not audit ({error.kind})",
                    source=target.source,
                )
            )
    # An expired or unused [[ignore]], and the run's other warnings: annotations of the run.
    lines += [command("warning", w, title="corscheck warning") for w in report.all_warnings()]
    return "".join(line + "\n" for line in lines)

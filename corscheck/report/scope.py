"""CORS that differs by path across the targets of one run: an allowed front-end that reads one
path of an API and is refused at another is a CORS configuration scoped by path. PURE: fed each
target's report in input order, it returns the report with what that shows added.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from corscheck import rules
from corscheck.errors import UsageError
from corscheck.evaluate.model import Finding
from corscheck.headers import has_cors_headers, serialize_origin
from corscheck.plan import ALLOWED
from corscheck.report.model import TargetReport

_REFUSED = frozenset({rules.ALLOWED_ORIGIN_REFUSED.id, rules.CREDENTIALS_REFUSED.id})
_SCOPED_BY = (
    "a CORS configuration scoped by path (Flask-CORS resources, an nginx location with its own "
    "add_header, routes mounted outside the CORS middleware)"
)


def granted_origins(report: TargetReport) -> tuple[str, ...]:
    """The allowed origins that read the target's own URL (not a redirect's), in probe order."""
    return tuple(
        dict.fromkeys(
            r.planned.probe.origin
            for r in report.probes
            if r.planned.origin_class == ALLOWED
            and r.planned.aspect == "origin"
            and r.planned.probe.url == report.url
            and r.verdict.allowed
        )
    )


class PathScopes:
    """What the run has seen so far, per API origin and front-end: where it reads, where not."""

    def __init__(self) -> None:
        self._granted: dict[tuple[str, str], str] = {}
        self._refused: dict[tuple[str, str], str] = {}

    def observe(self, report: TargetReport, granted: Sequence[str] | None = None) -> TargetReport:
        """`report` with what differs by path noted. `granted`: its `granted_origins`, where its
        probes were left in a worker process."""
        try:
            api = serialize_origin(report.url)
        except UsageError:
            return report
        if granted is None:
            granted = granted_origins(report)
        notes = list(report.notes)
        for origin in granted:
            refused_at = self._refused.get((api, origin))
            if refused_at is not None:
                notes.append(
                    f"CORS differs by path: {origin} reads this URL but is refused at "
                    f"{refused_at}, {_SCOPED_BY}"
                )
            self._granted.setdefault((api, origin), report.url)
        findings = [self._scoped(api, finding, report.url) for finding in report.findings]
        return replace(report, findings=tuple(findings), notes=tuple(dict.fromkeys(notes)))

    def _scoped(self, api: str, finding: Finding, url: str) -> Finding:
        if finding.rule.id not in _REFUSED or _answers_cors(finding):
            return finding
        key = (api, finding.evidence.origin)
        self._refused.setdefault(key, url)
        granted_at = self._granted.get(key)
        if granted_at is None:
            return finding
        note = f"{finding.evidence.origin} reads {granted_at} of the same API: {_SCOPED_BY}"
        return replace(finding, notes=(*finding.notes, note))


def _answers_cors(finding: Finding) -> bool:
    """Whether the refused response carries CORS headers: then a CORS layer answered there, and
    its answer, not the path's scope, is what refuses."""
    return has_cors_headers(finding.evidence.response_lines)

"""The report: every target with its probes, verdicts, findings and errors, plus a summary.

Every output format renders from this one model. `to_dict` is the JSON contract
(`corscheck.report/1`, schema in corscheck/data/report.schema.json); the version changes only with a
breaking change.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, cast

from corscheck.browser import Exchange, Hop, Probe, Verdict
from corscheck.errors import ErrorKind
from corscheck.evaluate import Finding, ProbeResult
from corscheck.policy import Policy
from corscheck.rules import SEVERITIES, Severity, severity_rank
from corscheck.target import Route, SourceLocation

SCHEMA = "corscheck.report/1"
MASK = "****"
# Past this many targets a run is large: reports summarize it, and the audit writes each target's
# probes to the JSON report as it finishes instead of keeping them (audit.py, keep_probes).
LARGE_RUN = 50
NOTHING_SENT = "no request was sent to this target, so nothing was checked"
_SENSITIVE_QUERY = re.compile(
    r"token|key|secret|password|passwd|pwd|signature|sig|auth|session|credential|code", re.I
)


@dataclass(frozen=True, slots=True)
class TargetErrorRecord:
    kind: ErrorKind
    message: str


IgnoreState = Literal["active", "expired", "unused"]


@dataclass(frozen=True, slots=True)
class IgnoreRecord:
    """An ignore of the run and what became of it: how many findings it matched, and whether it is
    active, expired (it suppresses nothing any more) or unused (it matched nothing: remove it)."""

    rule: str
    target: str | None
    origin: str | None
    reason: str
    expires: str | None
    source: str
    matched: int
    state: IgnoreState

    def warning(self) -> str | None:
        if self.state == "expired":
            return (
                f"ignore of {self.rule} ({self.source}) expired on {self.expires}: "
                f"its {self.matched} finding{'s' if self.matched != 1 else ''} count again"
            )
        if self.state == "unused":
            return f"ignore of {self.rule} ({self.source}) matched no finding: remove it"
        return None


@dataclass(frozen=True, slots=True)
class BaselineRecord:
    """The baseline a run was compared with, and its findings that are gone (fixed)."""

    path: str
    fixed: tuple[Finding, ...] = ()


@dataclass(frozen=True, slots=True)
class TargetReport:
    url: str
    policy: Policy | None
    probes: tuple[ProbeResult, ...] = ()
    findings: tuple[Finding, ...] = ()
    errors: tuple[TargetErrorRecord, ...] = ()
    requests_sent: int = 0
    source: SourceLocation | None = None
    # Counted from `probes`, and kept when a large run drops them once written (audit.py).
    probes_run: int = 0
    probes_checked: int = 0
    # For a target made from an OpenAPI route (openapi.py): the path template, its methods and how
    # the path was filled in.
    route: Route | None = None

    def __post_init__(self) -> None:
        if self.probes:
            checked = sum(1 for p in self.probes if p.outcome != "not-checked")
            object.__setattr__(self, "probes_run", len(self.probes))
            object.__setattr__(self, "probes_checked", checked)
        if not self.errors and not self.requests_sent:
            # No evidence, no pass: a target no request was made to was not audited, whatever
            # built this report (an audit, a merged report, a script).
            object.__setattr__(self, "errors", (TargetErrorRecord("input", NOTHING_SENT),))

    @property
    def active_findings(self) -> tuple[Finding, ...]:
        """The findings not suppressed by an ignore."""
        return tuple(f for f in self.findings if f.suppressed is None)

    @property
    def passed(self) -> bool:
        """No finding, no error, and at least one request really made (and answered)."""
        return not self.active_findings and not self.errors and self.requests_sent > 0


@dataclass(frozen=True, slots=True, repr=False)
class Report:
    version: str
    generated_at: str
    depth: str
    fail_on: str
    targets: tuple[TargetReport, ...] = ()
    warnings: tuple[str, ...] = field(default=())
    ignores: tuple[IgnoreRecord, ...] = ()
    baseline: BaselineRecord | None = None
    # The run stopped early (Ctrl-C, a closed stdout, an error): the targets done so far.
    partial: bool = False

    def __repr__(self) -> str:
        # Short on purpose: asyncio's SIGINT handling reprs the main task's result, and the default
        # repr of a large report costs seconds.
        return f"<Report {len(self.targets)} targets, {sum(self.counts().values())} findings>"

    def findings(self) -> list[Finding]:
        """The findings not suppressed, most severe first."""
        return sorted(
            (f for t in self.targets for f in t.findings if f.suppressed is None),
            key=lambda f: (severity_rank(f.severity), f.rule.id, f.target),
        )

    def suppressed(self) -> list[Finding]:
        """The findings an ignore accepted, most severe first."""
        return sorted(
            (f for t in self.targets for f in t.findings if f.suppressed is not None),
            key=lambda f: (severity_rank(f.severity), f.rule.id, f.target),
        )

    def counts(self) -> dict[Severity, int]:
        """Findings by severity, suppressed ones left out."""
        counts: dict[Severity, int] = dict.fromkeys(SEVERITIES, 0)
        for target in self.targets:
            for finding in target.findings:
                if finding.suppressed is None:
                    counts[finding.severity] += 1
        return counts

    def baseline_counts(self) -> dict[str, int] | None:
        """With a baseline: the findings (not suppressed) that are new and unchanged, and the
        baseline's findings that are gone."""
        if self.baseline is None:
            return None
        active = [f for t in self.targets for f in t.findings if f.suppressed is None]
        return {
            "new": sum(1 for f in active if f.baseline != "unchanged"),
            "unchanged": sum(1 for f in active if f.baseline == "unchanged"),
            "fixed": len(self.baseline.fixed),
        }

    def all_warnings(self) -> list[str]:
        """The run's warnings (an expired ignore is known before the run, so it is among them),
        then the ignores that matched nothing, known only at its end."""
        unused = [w for i in self.ignores if i.state == "unused" and (w := i.warning())]
        return [*self.warnings, *unused]

    @property
    def error_count(self) -> int:
        return sum(len(t.errors) for t in self.targets)

    def reaches(self, threshold: str) -> bool:
        """Whether any finding is at or above `threshold` ("never" is never reached)."""
        if threshold == "never":
            return False
        limit = SEVERITIES.index(cast(Severity, threshold))
        return any(
            severity_rank(f.severity) <= limit and f.counts
            for t in self.targets
            for f in t.findings
        )

    @property
    def passed(self) -> bool:
        return not self.reaches(self.fail_on) and self.error_count == 0 and not self.partial

    def to_dict(self) -> dict[str, Any]:
        return {
            **head_to_dict(self),
            "targets": [target_to_dict(t) for t in self.targets],
            **tail_to_dict(self),
            "summary": summary_to_dict(self),
        }


class ReportSink(Protocol):
    """Receives a report as the audit builds it: the run's settings, each target in input order, and
    the finished report (whose targets may have been stripped of their probes by then)."""

    def begin(self, head: Report) -> None: ...

    def add(self, target: TargetReport) -> None: ...

    def end(self, report: Report) -> None: ...


def head_to_dict(report: Report) -> dict[str, Any]:
    return {
        "schema": SCHEMA,
        "tool": {"name": "corscheck", "version": report.version},
        "generated_at": report.generated_at,
        "settings": {"depth": report.depth, "fail_on": report.fail_on},
        "warnings": list(report.warnings),
    }


def tail_to_dict(report: Report) -> dict[str, Any]:
    """What only the finished run can tell: the ignores and what they matched, and the baseline's
    findings that are gone. Written after the targets."""
    return {
        "ignores": [
            {
                "rule": i.rule,
                "target": i.target,
                "origin": i.origin,
                "reason": i.reason,
                "expires": i.expires,
                "source": i.source,
                "matched": i.matched,
                "state": i.state,
                "warning": i.warning(),
            }
            for i in report.ignores
        ],
        "baseline": None
        if report.baseline is None
        else {
            "file": report.baseline.path,
            "fixed": [finding_to_dict(f) for f in report.baseline.fixed],
        },
    }


def summary_to_dict(report: Report) -> dict[str, Any]:
    summary = {
        "targets": len(report.targets),
        "findings": report.counts(),
        "suppressed": sum(1 for t in report.targets for f in t.findings if f.suppressed),
        "errors": report.error_count,
        "requests": sum(t.requests_sent for t in report.targets),
        "passed": report.passed,
        **({"partial": True} if report.partial else {}),
    }
    baseline = report.baseline_counts()
    if baseline is not None:
        summary["baseline"] = baseline
    return summary


def target_to_dict(target: TargetReport) -> dict[str, Any]:
    # The probes of every credentials mode share one exchange (plan.py): it is written once, in
    # "exchanges", and each probe names it by index.
    exchanges: dict[int, int] = {}
    exchange_list: list[dict[str, Any]] = []
    probes = []
    for result in target.probes:
        index = exchanges.get(id(result.exchange))
        if index is None:
            index = exchanges[id(result.exchange)] = len(exchange_list)
            exchange_list.append(exchange_to_dict(result.exchange))
        probes.append(probe_to_dict(result, index))
    return {
        "url": target.url,
        "policy": target.policy.to_dict() if target.policy else None,
        "passed": target.passed,
        "requests": target.requests_sent,
        "probes": probes,
        "exchanges": exchange_list,
        "findings": [finding_to_dict(f) for f in target.findings],
        "errors": [{"kind": e.kind, "message": e.message} for e in target.errors],
        "source": None
        if target.source is None
        else {"file": target.source.file, "line": target.source.line},
        "route": None if target.route is None else target.route.to_dict(),
    }


def probe_to_dict(result: ProbeResult, exchange_index: int) -> dict[str, Any]:
    planned = result.planned
    return {
        "request": request_to_dict(planned.probe),
        "origin_class": planned.origin_class,
        "derived_from": planned.derived_from,
        "aspect": planned.aspect,
        "subject": planned.subject,
        "exchange": exchange_index,
        "verdict": verdict_to_dict(result.verdict),
        "expected": None
        if result.expected is None
        else ("allowed" if result.expected else "blocked"),
        "outcome": result.outcome,
    }


def request_to_dict(probe: Probe) -> dict[str, Any]:
    return {
        "url": probe.url,
        "origin": probe.origin,
        "method": probe.method,
        "headers": [list(line) for line in probe.headers],
        "credentials": probe.credentials,
    }


def hop_to_dict(hop: Hop) -> dict[str, Any]:
    return {
        "kind": hop.kind,
        "request": {
            "method": hop.request.method,
            "url": hop.request.url,
            "headers": [list(line) for line in hop.request.headers],
        },
        "response": {
            "status": hop.response.status,
            "reason": hop.response.reason,
            "headers": [list(line) for line in hop.response.headers.lines],
        },
    }


def exchange_to_dict(exchange: Exchange) -> dict[str, Any]:
    unsent = exchange.unsent
    return {
        "hops": [hop_to_dict(h) for h in exchange.hops],
        "unsent": None
        if unsent is None
        else {
            "method": unsent.method,
            "url": unsent.url,
            "headers": [list(x) for x in unsent.headers],
        },
    }


def verdict_to_dict(verdict: Verdict) -> dict[str, Any]:
    return {
        "allowed": verdict.allowed,
        "preflight": verdict.preflight,
        "reason_id": verdict.reason_id,
        "reason": verdict.reason,
        "failed_step": verdict.failed_step,
        "readable_headers": list(verdict.readable_headers),
        "actual_checked": verdict.actual_checked,
        "notes": list(verdict.notes),
    }


def finding_to_dict(finding: Finding) -> dict[str, Any]:
    evidence = finding.evidence
    suppressed = finding.suppressed
    return {
        "rule": finding.rule.id,
        "fingerprint": finding.fingerprint,
        "severity": finding.severity,
        "direction": finding.rule.direction,
        "title": finding.title,
        "target": finding.target,
        "message": finding.message,
        "evidence": {
            "origin": evidence.origin,
            "method": evidence.method,
            "request_headers": [list(line) for line in evidence.request_headers],
            "credentials": evidence.credentials,
            "step": evidence.step,
            "status": evidence.status,
            "response_lines": [list(line) for line in evidence.response_lines],
            "reason": evidence.reason,
            "related": list(evidence.related),
            "sent_method": evidence.sent_method,
            "sent_lines": [list(line) for line in evidence.sent_lines],
            "origin_class": evidence.origin_class,
        },
        "notes": list(finding.notes),
        "explanation": finding.rule.explanation,
        "fix": finding.fix,
        "suppressed": None
        if suppressed is None
        else {
            "reason": suppressed.reason,
            "expires": suppressed.expires,
            "source": suppressed.source,
        },
        "baseline": finding.baseline,
    }


def probe_column(result: ProbeResult) -> str:
    """The request kind of a probe, as a grid column: the method, "+Header" for a GET carrying a
    header, and "PNA" for the private-network preflight. Shared by the console and HTML grids."""
    probe = result.planned.probe
    if result.planned.aspect == "private-network":
        return f"{probe.method} PNA"
    if probe.headers and probe.method == "GET":
        return "+" + "+".join(name for name, _ in probe.headers)
    return probe.method + "".join(f"+{name}" for name, _ in probe.headers)


def may_hold_userinfo(target: TargetReport) -> bool:
    """Whether a URL's userinfo may appear in `target`: some text it was built from has an `@`.

    Cheap (each exchange is read once): the probes, verdicts and findings are all derived from the
    target URL, its errors and the exchanges' request and response lines, so when none of those has
    an `@`, the whole report can skip `masked`.
    """
    if "@" in target.url or any("@" in e.message for e in target.errors):
        return True
    seen: set[int] = set()
    for result in target.probes:
        exchange = result.exchange
        if id(exchange) in seen:
            continue
        seen.add(id(exchange))
        if "@" in result.planned.probe.url or _hops_hold_at(exchange):
            return True
    return False


def _hops_hold_at(exchange: Exchange) -> bool:
    for hop in exchange.hops:
        if "@" in hop.request.url or any("@" in v for _, v in hop.request.headers):
            return True
        if any("@" in v for _, v in hop.response.headers.lines):
            return True
    unsent = exchange.unsent
    return unsent is not None and ("@" in unsent.url or any("@" in v for _, v in unsent.headers))

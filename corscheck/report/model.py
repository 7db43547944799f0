"""The report: every target with its probes, verdicts, findings and errors, plus a summary.

Every output format renders from this one model. `to_dict` is the JSON contract
(`corscheck.report/1`, schema in corscheck/data/report.schema.json); the version changes only with a
breaking change.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, cast

from corscheck.browser import Probe, Verdict
from corscheck.errors import ErrorKind
from corscheck.evaluate import Finding, ProbeResult
from corscheck.evaluate.proof import ProofCounts, proof_counts
from corscheck.exchange import Exchange
from corscheck.policy import Policy
from corscheck.rules import SEVERITIES, Severity, severity_rank
from corscheck.stack import Stack
from corscheck.target import Route, SourceLocation
from corscheck.visitor import Visitor
from corscheck.wording import plural

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
                f"its {plural(self.matched, 'finding')} count again"
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
    # The CORS layer its fixes are worded for, and how sure that is (stack.py); None: no findings.
    stack: Stack | None = None
    # What the audit of this target met that is not a verdict (the server rate-limited it).
    notes: tuple[str, ...] = ()
    # The URL as given, where `url` is the https deployment it was judged as (deployment.py).
    given_url: str = ""
    # The probes in their compact JSON form (codec.checks_to_dict), where they were written by a
    # worker process and left there (audit.py): only this travels, and `probes` is empty.
    checks: dict[str, Any] | None = field(default=None, compare=False)

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
    # Whose browser the verdicts are about; cookie values are never kept here (codec writes names).
    visitor: Visitor | None = None
    policy_statement: str = ""  # what the verdicts are judged against (config.policy_statement)
    shard: tuple[int, int] | None = None  # --shard K/N: the share of the targets this run audited
    deployment: str = ""  # what the verdicts judge an http URL as (config.deployment_statement)

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

    def proof_counts(self) -> ProofCounts | None:
        """With --prove: the findings (not suppressed) proved, disproved and unprovable."""
        return proof_counts([f.proof for f in self.findings() if f.proof is not None])

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


@dataclass(frozen=True, slots=True)
class ProbeReport:
    """One fetch() from one origin, sent and judged: what `corscheck probe` reports."""

    probe: Probe
    exchange: Exchange
    verdict: Verdict
    visitor: str = ""  # whose browser the verdict is about (Visitor.probe_statement)


class ReportSink(Protocol):
    """Receives a report as the audit builds it: the run's settings, each target in input order, and
    the finished report (whose targets may have been stripped of their probes by then). A sink that
    also has `finished(target)` hears of each target as soon as it ends, in any order, unmasked:
    for counting (the progress line), never for showing.

    A sink whose `wants_probes` is False (the compact JSON, the progress line) may be given targets
    without their probes, where worker processes ran them (audit.Slim): their compact JSON form is
    in `checks`. Without the attribute, a sink gets every probe."""

    def begin(self, head: Report) -> None: ...

    def add(self, target: TargetReport) -> None: ...

    def end(self, report: Report) -> None: ...


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

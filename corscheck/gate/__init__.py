"""What a finding counts for in a CI gate: suppressions (`[[ignore]]`, `--ignore`), stable
fingerprints, and the baseline of an earlier report (`--baseline`; inputs.py reads it). The
values (`Ignore`, `Baseline`) are in suppression.py, which config.py resolves into.

A suppressed finding, or one already in the baseline, stays in every report, marked; it only stops
counting for `--fail-on` (`Finding.counts`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import date

from corscheck.evaluate import BaselineState, Finding, Suppression, fingerprint, normalized_target
from corscheck.gate.suppression import Baseline, Ignore
from corscheck.report.model import (
    BaselineRecord,
    IgnoreRecord,
    Report,
    TargetReport,
)


class Gate:
    """Marks each target's findings as the audit finishes it, and adds to the finished report what
    only the whole run can tell: which ignores matched nothing, and which baseline findings are gone.

    Not pure (it counts as targets go by), but it holds no I/O; one Gate serves one run.
    """

    def __init__(
        self, ignores: Sequence[Ignore] = (), baseline: Baseline | None = None, *, today: date
    ) -> None:
        self.ignores = tuple(ignores)
        self.baseline = baseline
        self.today = today
        self._matched = [0] * len(self.ignores)
        self._seen: Counter[str] = Counter()
        self._audited: set[str] = set()
        self._fixed_candidates = baseline.findings if baseline else ()
        self._remaining: Counter[str] = Counter(fp for fp, _ in self._fixed_candidates)

    @property
    def active(self) -> bool:
        return bool(self.ignores) or self.baseline is not None

    def warnings(self) -> list[str]:
        """What is known before the run: ignores that have expired."""
        return [
            f"ignore of {i.rule} ({i.source}) expired on {i.expires}; its findings count again"
            for i in self.ignores
            if i.expired(self.today)
        ]

    def mark(self, target: TargetReport) -> TargetReport:
        if not self.active or not target.findings:
            if not target.errors:
                self._audited.add(normalized_target(target.url))
            return target
        marked = []
        for finding in target.findings:
            suppression = None
            for index, ignore in enumerate(self.ignores):
                if ignore.matches(finding):
                    self._matched[index] += 1
                    if suppression is None and not ignore.expired(self.today):
                        suppression = Suppression(
                            ignore.reason,
                            None if ignore.expires is None else ignore.expires.isoformat(),
                            ignore.source,
                        )
            state: BaselineState | None = None
            if self.baseline is not None:
                fp = fingerprint(finding)
                if self._remaining[fp] > 0:
                    self._remaining[fp] -= 1
                    self._seen[fp] += 1
                    state = "unchanged"
                else:
                    state = "new"
            marked.append(replace(finding, suppressed=suppression, baseline=state))
        if not target.errors:
            self._audited.add(normalized_target(target.url))
        return replace(target, findings=tuple(marked))

    def close(self, report: Report) -> Report:
        records = tuple(
            IgnoreRecord(
                rule=ignore.rule,
                target=ignore.target,
                origin=ignore.origin,
                reason=ignore.reason,
                expires=None if ignore.expires is None else ignore.expires.isoformat(),
                source=ignore.source,
                matched=matched,
                state="expired"
                if ignore.expired(self.today)
                else ("active" if matched else "unused"),
            )
            for ignore, matched in zip(self.ignores, self._matched, strict=True)
        )
        baseline = None
        if self.baseline is not None:
            baseline = BaselineRecord(self.baseline.path, tuple(self._fixed()))
        return replace(report, ignores=records, baseline=baseline)

    def _fixed(self) -> Iterable[Finding]:
        """Baseline findings of the targets this run audited that no finding matched any more.
        A target this run did not audit (another shard's, or one that failed) fixed nothing."""
        left = Counter(self._remaining)
        for fp, finding in self._fixed_candidates:
            if left[fp] > 0 and normalized_target(finding.target) in self._audited:
                left[fp] -= 1
                yield finding

"""What a finding counts for in a CI gate: suppressions (`[[ignore]]`, `--ignore`), stable
fingerprints, and the baseline of an earlier report (`--baseline`). Pure, except `load_baseline`,
which reads the baseline file.

A suppressed finding, or one already in the baseline, stays in every report, marked; it only stops
counting for `--fail-on` (`Finding.counts`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import date

from corscheck.errors import UsageError
from corscheck.evaluate import BaselineState, Finding, Suppression, fingerprint, normalized_target
from corscheck.report.codec import decode_report, read_report_file
from corscheck.report.model import (
    SCHEMA,
    BaselineRecord,
    IgnoreRecord,
    Report,
    TargetReport,
)
from corscheck.suppression import Baseline, Ignore


def load_baseline(path: str) -> Baseline:
    """The findings of any corscheck JSON report (merged ones included). Raises UsageError."""

    data = read_report_file(path, "the baseline ")
    try:
        report = decode_report(data)
        found: list[tuple[str, Finding]] = []
        for raw, target in zip(data["targets"], report.targets, strict=True):
            for item, finding in zip(raw["findings"], target.findings, strict=True):
                # The report's own fingerprint when it has one: it was computed by the version that
                # saw the probes. Older reports get one computed from what they kept.
                stored = item.get("fingerprint")
                found.append((stored if isinstance(stored, str) else fingerprint(finding), finding))
    except (KeyError, TypeError, ValueError) as error:
        raise UsageError(f"baseline {path!r} does not follow {SCHEMA}: {error}") from None
    return Baseline(path, tuple(found))


# --- the gate ----------------------------------------------------------------------------------------


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

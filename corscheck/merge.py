"""Joining the JSON reports of sharded runs (`--shard K/N`, shard.py) back into one report, which any
format can then render.

The merged report lists the targets in the order of the files given, each file's targets in its own
order; it equals the unsharded run's report up to that order and the time it was generated.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from corscheck.errors import UsageError
from corscheck.inputs import read_report_file
from corscheck.masking import masked
from corscheck.report.codec import decode_report
from corscheck.report.model import (
    SCHEMA,
    BaselineRecord,
    IgnoreRecord,
    Report,
    may_hold_userinfo,
)
from corscheck.shard import in_shard, parse_shard, shard
from corscheck.visitor import Visitor

__all__ = ["in_shard", "merge_reports", "parse_shard", "shard"]


def merge_reports(paths: Sequence[str]) -> Report:
    """One report from shard reports: targets in the order of the files, the settings of the first,
    the time of the latest. Raises UsageError when a target is in two reports (a file given twice, or
    an earlier merged report caught by a glob)."""
    if not paths:
        raise UsageError("merge needs at least one JSON report")
    reports = [_load(path) for path in paths]
    seen: dict[str, str] = {}
    for path, report in zip(paths, reports, strict=True):
        for target in report.targets:
            if target.url in seen:
                raise UsageError(
                    f"{target.url} is in both {seen[target.url]!r} and {path!r}; "
                    "merge the reports of one sharded run, each once"
                )
            seen[target.url] = path
    first = reports[0]
    warnings = list(dict.fromkeys(w for r in reports for w in r.warnings))
    for setting in ("version", "depth", "fail_on", "visitor", "policy_statement"):
        values = list(dict.fromkeys(_shown_setting(getattr(r, setting)) for r in reports))
        if len(values) > 1:
            warnings.append(
                f"the merged reports differ in {setting.replace('_', '-')} ({', '.join(values)}); "
                f"the merged report states the first, {values[0]}"
            )
    for path, report in zip(paths, reports, strict=True):
        if report.partial:
            warnings.append(
                f"{path} is a partial report (its run stopped early): it holds only the targets "
                "done by then"
            )
    shard_warnings, shares_missing = _shard_check(paths, reports)
    warnings += shard_warnings
    # A report of an older corscheck may hold a URL's userinfo: masked here by its position.
    return Report(
        first.version,
        max(r.generated_at for r in reports),
        first.depth,
        first.fail_on,
        tuple(masked(t, userinfo=may_hold_userinfo(t)) for r in reports for t in r.targets),
        tuple(masked(warnings)),
        _merged_ignores(reports),
        _merged_baseline(reports),
        # A share that did not come is targets never audited: the merged run is not complete.
        partial=any(r.partial for r in reports) or shares_missing,
        visitor=first.visitor,
        policy_statement=first.policy_statement,
        deployment=next((r.deployment for r in reports if r.deployment), ""),
    )


def _shard_check(paths: Sequence[str], reports: Sequence[Report]) -> tuple[list[str], bool]:
    """What the shards' own K/N say: a share that is not among the reports (a CI job that failed
    before uploading its report), and a share that held no targets (fine, but worth a word). The
    second value is whether a share is missing."""
    warnings: list[str] = []
    given = [(path, r.shard) for path, r in zip(paths, reports, strict=True) if r.shard]
    for path, report in zip(paths, reports, strict=True):
        if report.shard and not report.targets:
            share, count = report.shard
            warnings.append(f"{path} (share {share}/{count}) holds no targets: its share was empty")
    counts = {count for _, (_, count) in given}
    if not given:
        return warnings, False
    if len(counts) > 1:
        warnings.append(
            f"the shards split the targets differently ({', '.join(f'/{n}' for n in sorted(counts))}): "
            "merge the reports of one sharded run"
        )
        return warnings, False
    (count,) = counts
    missing = sorted(set(range(1, count + 1)) - {share for _, (share, _) in given})
    if missing:
        shown = ", ".join(f"{share}/{count}" for share in missing)
        warnings.append(
            f"share{'s' if len(missing) > 1 else ''} {shown} of the sharded run {'are' if len(missing) > 1 else 'is'} "
            "missing: their targets are not in the merged report, which is marked partial"
        )
    return warnings, bool(missing)


def _shown_setting(value: object) -> str:
    return value.statement() if isinstance(value, Visitor) else str(value)


def _merged_ignores(reports: Sequence[Report]) -> tuple[IgnoreRecord, ...]:
    """Each shard ran the same ignores: what they matched adds up, and an ignore is unused only when
    no shard used it."""
    merged: dict[tuple[object, ...], IgnoreRecord] = {}
    for report in reports:
        for record in report.ignores:
            key = (record.rule, record.target, record.origin, record.source, record.expires)
            earlier = merged.get(key)
            if earlier is None:
                merged[key] = record
                continue
            matched = earlier.matched + record.matched
            state = earlier.state
            if state == "unused" and matched:
                state = "active"
            merged[key] = replace(earlier, matched=matched, state=state)
    return tuple(merged.values())


def _merged_baseline(reports: Sequence[Report]) -> BaselineRecord | None:
    baselines = [r.baseline for r in reports if r.baseline is not None]
    if not baselines:
        return None
    return BaselineRecord(baselines[0].path, tuple(f for b in baselines for f in b.fixed))


def _load(path: str) -> Report:
    data = read_report_file(path)
    try:
        return decode_report(data)
    except KeyError as error:
        raise UsageError(f"{path!r} does not follow {SCHEMA}: no {error} field") from None
    except (TypeError, ValueError) as error:
        raise UsageError(f"{path!r} does not follow {SCHEMA}: {error}") from None

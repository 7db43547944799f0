"""Joining the JSON reports of sharded runs (`--shard K/N`, shard.py) back into one report, which any
format can then render.

The merged report lists the targets in the order of the files given, each file's targets in its own
order; it equals the unsharded run's report up to that order and the time it was generated.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from corscheck.browser import Exchange, Hop, Probe, Request, Response, Verdict
from corscheck.errors import UsageError
from corscheck.evaluate import Evidence, Finding, ProbeResult, Suppression
from corscheck.headers import HeaderList
from corscheck.masking import masked
from corscheck.plan import PlannedProbe
from corscheck.policy import MaxAge, Policy, build_policy
from corscheck.report.model import (
    SCHEMA,
    BaselineRecord,
    IgnoreRecord,
    Report,
    TargetErrorRecord,
    TargetReport,
    may_hold_userinfo,
)
from corscheck.rules import RULES_BY_ID, SEVERITIES
from corscheck.shard import in_shard, parse_shard, shard
from corscheck.target import Route, SourceLocation

__all__ = ["in_shard", "merge_reports", "parse_shard", "report_from_dict", "shard"]


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
    for setting in ("version", "depth", "fail_on"):
        values = list(dict.fromkeys(str(getattr(r, setting)) for r in reports))
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
        partial=any(r.partial for r in reports),
    )


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


def read_report_data(path: str, label: str = "") -> dict[str, Any]:
    """The JSON document of a corscheck report at `path`, checked for the schema id; `label` names
    the report in errors ("baseline "). Raises UsageError."""
    try:
        data = json.loads(Path(path).read_text("utf-8"))
    except OSError as error:
        raise UsageError(f"cannot read {label}{path!r}: {error.strerror}") from None
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise UsageError(f"{label}{path!r} is not a corscheck JSON report") from None
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        raise UsageError(f"{label}{path!r} is not a {SCHEMA} report")
    return data


def _load(path: str) -> Report:
    data = read_report_data(path)
    try:
        return report_from_dict(data)
    except KeyError as error:
        raise UsageError(f"{path!r} does not follow {SCHEMA}: no {error} field") from None
    except (TypeError, ValueError) as error:
        raise UsageError(f"{path!r} does not follow {SCHEMA}: {error}") from None


def report_from_dict(data: dict[str, Any]) -> Report:
    """The report model back from its JSON form (Report.to_dict)."""
    return Report(
        version=data["tool"]["version"],
        generated_at=data["generated_at"],
        depth=data["settings"]["depth"],
        fail_on=data["settings"]["fail_on"],
        targets=tuple(_target(t) for t in data["targets"]),
        warnings=tuple(data.get("warnings", ())),
        ignores=tuple(
            IgnoreRecord(
                i["rule"],
                i["target"],
                i["origin"],
                i["reason"],
                i["expires"],
                i["source"],
                i["matched"],
                i["state"],
            )
            for i in data.get("ignores", ())
        ),
        baseline=BaselineRecord(
            baseline["file"], tuple(_finding(f) for f in baseline.get("fixed", ()))
        )
        if (baseline := data.get("baseline"))
        else None,
        partial=bool(data["summary"].get("partial", False)),
    )


def _lines(pairs: list[list[str]]) -> tuple[tuple[str, str], ...]:
    return tuple((name, value) for name, value in pairs)


def _policy(data: dict[str, Any] | None) -> Policy | None:
    if data is None:
        return None
    bounds = data.get("max-age")
    sends = data.get("sends")
    policy = build_policy(
        origins=data["origins"],
        methods=data["methods"],
        headers=data["headers"],
        expose=data["expose"],
        credentials=data["credentials"],
        max_age=MaxAge(bounds.get("min"), bounds.get("max")) if bounds else None,
        private_network=data["private-network"],
    )
    if sends is None:
        return policy
    return replace(
        policy, sends_methods=tuple(sends["methods"]), sends_headers=tuple(sends["headers"])
    )


def _exchange(data: dict[str, Any]) -> Exchange:
    hops = tuple(
        Hop(
            hop["kind"],
            Request(
                hop["request"]["method"], hop["request"]["url"], _lines(hop["request"]["headers"])
            ),
            Response(
                hop["response"]["status"],
                HeaderList(_lines(hop["response"]["headers"])),
                hop["response"]["reason"],
            ),
        )
        for hop in data["hops"]
    )
    unsent = data["unsent"]
    request = (
        Request(unsent["method"], unsent["url"], _lines(unsent["headers"])) if unsent else None
    )
    return Exchange(hops, request)


def _verdict(data: dict[str, Any]) -> Verdict:
    return Verdict(
        allowed=data["allowed"],
        preflight=data["preflight"],
        reason_id=data["reason_id"],
        reason=data["reason"],
        failed_step=data["failed_step"],
        readable_headers=tuple(data["readable_headers"]),
        actual_checked=data["actual_checked"],
        notes=tuple(data["notes"]),
    )


def _target(data: dict[str, Any]) -> TargetReport:
    exchanges = [_exchange(e) for e in data.get("exchanges", [])]
    probes = []
    for item in data["probes"]:
        request = item["request"]
        probe = Probe(
            url=request["url"],
            origin=request["origin"],
            method=request["method"],
            headers=_lines(request["headers"]),
            credentials=request["credentials"],
        )
        planned = PlannedProbe(
            probe, item["origin_class"], item["derived_from"], item["aspect"], item["subject"]
        )
        expected = {"allowed": True, "blocked": False, None: None}[item["expected"]]
        probes.append(
            ProbeResult(
                planned,
                exchanges[item["exchange"]],
                _verdict(item["verdict"]),
                expected,
                item["outcome"],
            )
        )
    findings = [_finding(item) for item in data["findings"]]
    return TargetReport(
        url=data["url"],
        policy=_policy(data["policy"]),
        probes=tuple(probes),
        findings=tuple(findings),
        errors=tuple(TargetErrorRecord(e["kind"], e["message"]) for e in data["errors"]),
        requests_sent=data["requests"],
        source=SourceLocation(source["file"], source["line"])
        if (source := data.get("source"))
        else None,
        route=Route(
            route["path"],
            data["url"],
            tuple(route["methods"]),
            tuple(route["headers"]),
            route["cookie_auth"],
            tuple(route["filled"]),
        )
        if (route := data.get("route"))
        else None,
    )


def _finding(item: dict[str, Any]) -> Finding:
    ev = item["evidence"]
    evidence = Evidence(
        origin=ev["origin"],
        method=ev["method"],
        request_headers=_lines(ev["request_headers"]),
        credentials=ev["credentials"],
        step=ev["step"],
        status=ev["status"],
        response_lines=_lines(ev["response_lines"]),
        reason=ev["reason"],
        related=tuple(ev["related"]),
        # Reports written before the evidence carried its request lack these two, and the origin
        # class came later still.
        sent_method=ev.get("sent_method", ""),
        sent_lines=_lines(ev.get("sent_lines", [])),
        origin_class=ev.get("origin_class", ""),
    )
    if item["severity"] not in SEVERITIES:
        raise ValueError(f"unknown severity {item['severity']!r}")
    suppressed = item.get("suppressed")
    baseline = item.get("baseline")
    if baseline not in (None, "new", "unchanged"):
        raise ValueError(f"unknown baseline state {baseline!r}")
    return Finding(
        RULES_BY_ID[item["rule"]],
        item["severity"],
        item["target"],
        item["message"],
        evidence,
        tuple(item["notes"]),
        item["fix"],
        suppressed=Suppression(suppressed["reason"], suppressed["expires"], suppressed["source"])
        if suppressed
        else None,
        baseline=baseline,
    )

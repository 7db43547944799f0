"""A self-contained HTML report: no scripts, fonts or styles from elsewhere; readable and printable."""

from __future__ import annotations

from html import escape

from corscheck.evaluate import Finding, ProbeResult
from corscheck.report.model import Report, TargetReport, probe_column
from corscheck.rules import SEVERITIES

_STYLE = """
body{font:15px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#1d2330;background:#f6f7f9}
main{max-width:1180px;margin:0 auto;padding:24px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 8px;word-break:break-all}
.meta{color:#5b6475;margin-bottom:16px}
.verdict{display:inline-block;padding:2px 10px;border-radius:12px;font-weight:600;color:#fff}
.failed{background:#c62828}.passed{background:#2e7d32}.incomplete{background:#8e24aa}
.counts{display:flex;gap:10px;margin:12px 0 20px;flex-wrap:wrap}
.count{background:#fff;border:1px solid #dde1e7;border-radius:8px;padding:8px 14px;min-width:90px}
.count b{font-size:20px;display:block}
.sev{display:inline-block;border-radius:4px;padding:0 6px;font-size:12px;font-weight:700;color:#fff;text-transform:uppercase}
.critical{background:#b71c1c}.high{background:#e65100}.medium{background:#f9a825;color:#222}.low{background:#1565c0}
.finding{background:#fff;border:1px solid #dde1e7;border-left:5px solid #999;border-radius:6px;padding:10px 14px;margin:10px 0}
.finding.critical{border-left-color:#b71c1c}.finding.high{border-left-color:#e65100}
.finding.medium{border-left-color:#f9a825}.finding.low{border-left-color:#1565c0}
.finding h3{font-size:15px;margin:0 0 6px}.rule{color:#5b6475;font-weight:400;font-family:ui-monospace,monospace;font-size:13px}
pre{background:#f1f3f6;border-radius:4px;padding:8px;overflow-x:auto;font-size:13px;margin:6px 0;white-space:pre-wrap;word-break:break-all}
.fix{color:#1b5e20}.note{color:#5b6475;font-size:13px}
table.grid{border-collapse:collapse;background:#fff;font-size:13px;margin:8px 0 4px}
.grid th,.grid td{border:1px solid #dde1e7;padding:3px 6px;text-align:center;white-space:nowrap}
.grid th{background:#eef0f4}.grid td.origin{text-align:left;font-family:ui-monospace,monospace}
.grid td.cls{color:#5b6475;text-align:left}
.ok{color:#2e7d32}.no{color:#9aa1ad}.over{background:#ffcdd2;font-weight:700}.under{background:#fff3c4;font-weight:700}
.legend{font-size:12px;color:#5b6475}.error{color:#8e24aa;font-weight:600}
@media print{body{background:#fff}.finding,.count{break-inside:avoid}}
"""


def render(report: Report) -> str:
    counts = report.counts()
    if report.reaches(report.fail_on):
        verdict, css = f"failed: findings at or above {report.fail_on}", "failed"
    elif report.error_count:
        verdict, css = "incomplete: some targets could not be audited", "incomplete"
    else:
        verdict, css = "passed", "passed"
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width,initial-scale=1'>",
        f"<title>corscheck report</title><style>{_STYLE}</style></head><body><main>",
        f"<h1>corscheck report <span class='verdict {css}'>{escape(verdict)}</span></h1>",
        f"<div class='meta'>{len(report.targets)} targets · depth {escape(report.depth)} · "
        f"{sum(t.requests_sent for t in report.targets)} requests · corscheck {escape(report.version)}"
        f" · {escape(report.generated_at)}</div>",
        "<div class='counts'>",
        *(
            f"<div class='count'><b>{counts[s]}</b><span class='sev {s}'>{s}</span></div>"
            for s in SEVERITIES
        ),
        f"<div class='count'><b>{report.error_count}</b>errors</div></div>",
    ]
    parts += [_target(t) for t in report.targets]
    parts.append("</main></body></html>\n")
    return "".join(parts)


def _target(target: TargetReport) -> str:
    status = (
        "could not be audited"
        if target.errors
        else (f"{len(target.findings)} findings" if target.findings else "passed")
    )
    out = [f"<section><h2>{escape(target.url)} <span class='note'>— {escape(status)}</span></h2>"]
    out += [f"<p class='error'>{escape(e.kind)}: {escape(e.message)}</p>" for e in target.errors]
    out += [_finding(f) for f in target.findings]
    if target.probes:
        out.append(_grid(target.probes))
    out.append("</section>")
    return "".join(out)


def _finding(finding: Finding) -> str:
    ev = finding.evidence
    request = f"{ev.method} with Origin: {ev.origin}, credentials: {ev.credentials}"
    request += "".join(f"\n{name}: {value}" for name, value in ev.request_headers)
    response = f"{ev.step} → {ev.status}" + "".join(
        f"\n{name}: {value.strip()}" for name, value in ev.response_lines
    )
    related = (
        f"<p class='note'>Also: {escape(', '.join(ev.related[:12]))}"
        + (f" and {len(ev.related) - 12} more" if len(ev.related) > 12 else "")
        + "</p>"
        if ev.related
        else ""
    )
    notes = "".join(f"<p class='note'>{escape(n)}</p>" for n in finding.notes)
    reason = f"<p class='note'>Browser: {escape(ev.reason)}</p>" if ev.reason else ""
    return (
        f"<div class='finding {finding.severity}'><h3><span class='sev {finding.severity}'>"
        f"{finding.severity}</span> {escape(finding.title)} <span class='rule'>"
        f"{escape(finding.rule.id)}</span></h3><p>{escape(finding.message)}</p>"
        f"<pre>{escape(request)}</pre><pre>{escape(response)}</pre>{reason}{related}{notes}"
        f"<p class='fix'><b>Fix:</b> {escape(finding.fix)}</p></div>"
    )


def _grid(probes: tuple[ProbeResult, ...]) -> str:
    columns: list[str] = []
    rows: dict[tuple[str, str], dict[tuple[str, str], ProbeResult]] = {}
    for result in probes:
        column = probe_column(result)
        if column not in columns:
            columns.append(column)
        key = (result.planned.probe.origin, result.planned.origin_class)
        rows.setdefault(key, {})[(column, result.planned.probe.credentials)] = result
    head = "".join(f"<th colspan='2'>{escape(c)}</th>" for c in columns)
    sub = "".join("<th>omit</th><th>include</th>" for _ in columns)
    body = []
    for (origin, origin_class), cells in rows.items():
        tds = []
        for column in columns:
            tds += [_cell(cells.get((column, mode))) for mode in ("omit", "include")]
        body.append(
            f"<tr><td class='origin'>{escape(origin)}</td><td class='cls'>{escape(origin_class)}</td>"
            + "".join(tds)
            + "</tr>"
        )
    return (
        "<details><summary>Probe grid</summary><table class='grid'><tr><th rowspan='2'>origin</th>"
        f"<th rowspan='2'>class</th>{head}</tr><tr>{sub}</tr>{''.join(body)}</table>"
        "<p class='legend'>✓ the page can read · blocked; red: more open than the policy, "
        "yellow: the real front-end breaks.</p></details>"
    )


def _cell(result: ProbeResult | None) -> str:
    if result is None:
        return "<td></td>"
    mark = "✓" if result.verdict.allowed else "·"
    css = {"over-permissive": "over", "under-permissive": "under"}.get(
        result.outcome, "ok" if result.verdict.allowed else "no"
    )
    title = escape(result.verdict.reason or ("readable" if result.verdict.allowed else "blocked"))
    return f"<td class='{css}' title='{title}'>{mark}</td>"

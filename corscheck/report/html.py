"""A self-contained HTML report: one file, no scripts, and no fonts, styles or images from elsewhere
(anything fetched would leak the report's reader to a third party, and CI artifacts are often viewed
offline). Readable on a laptop screen and printable: the probe grids are open, and colours print.

Everything from the audit is escaped: header values come from servers that may be hostile.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from corscheck.evaluate import Finding, ProbeResult, exposure_lines
from corscheck.report.model import Report, TargetReport, probe_column
from corscheck.rules import SEVERITIES

_MAX_RELATED = 12

_STYLE = """
*{box-sizing:border-box}
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1d2330;background:#f6f7f9}
main{max-width:1320px;margin:0 auto;padding:24px}
.mark{display:inline-block;min-width:1.4em;text-align:center;border-radius:3px;color:#fff;font-weight:700}
.mark.proved{background:#17663a}.mark.disproved{background:#b3261e}.mark.unprovable{background:#8a909c}
a{color:inherit}
h1{font-size:22px;margin:0 0 4px}
h2{font-size:18px;margin:32px 0 6px;word-break:break-all}
h3.grid-title{font-size:14px;margin:14px 0 4px;color:#3b4354}
code,pre,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
.meta{color:#5b6475;margin-bottom:14px}
.verdict{display:inline-block;padding:2px 10px;border-radius:12px;font-weight:600;color:#fff;font-size:16px;vertical-align:middle}
.failed{background:#c62828}.passed{background:#2e7d32}.incomplete{background:#8e24aa}
.counts{display:flex;gap:10px;margin:12px 0 16px;flex-wrap:wrap}
.count{background:#fff;border:1px solid #dde1e7;border-radius:8px;padding:8px 14px;min-width:96px}
.count b{font-size:20px;display:block}
.sev{display:inline-block;border-radius:4px;padding:0 6px;font-size:12px;font-weight:700;color:#fff;text-transform:uppercase;letter-spacing:.02em}
.critical{background:#b71c1c}.high{background:#d84315}.medium{background:#f9a825;color:#222}.low{background:#1565c0}
.warning{background:#fff8e1;border:1px solid #f3d37a;border-radius:6px;padding:6px 10px;margin:6px 0;font-size:14px}
table{border-collapse:collapse;background:#fff}
table.overview{width:100%;font-size:14px;margin:6px 0 8px}
.overview th,.overview td{border-bottom:1px solid #e4e7ec;padding:5px 8px;text-align:left}
.overview th{background:#eef0f4;font-weight:600}
.overview td.n{text-align:right;font-variant-numeric:tabular-nums;width:64px}
.overview td.url{word-break:break-all}
.status-passed{color:#2e7d32;font-weight:600}.status-findings{color:#c62828;font-weight:600}
.status-error{color:#8e24aa;font-weight:600}
.zero{color:#b3b9c4}
.sub{color:#5b6475;font-size:14px;font-weight:400}
.finding{background:#fff;border:1px solid #dde1e7;border-left:6px solid #999;border-radius:6px;padding:10px 14px;margin:10px 0}
.finding.critical{border-left-color:#b71c1c;background:#fff}.finding.high{border-left-color:#d84315;background:#fff}
.finding.medium{border-left-color:#f9a825;background:#fff}.finding.low{border-left-color:#1565c0;background:#fff}
.finding h3{font-size:15px;margin:0 0 6px}
.rule{color:#5b6475;font-weight:400;font-size:13px}
.message{margin:4px 0 8px}
dl.evidence{display:grid;grid-template-columns:88px 1fr;gap:4px 10px;margin:0}
dl.evidence dt{color:#5b6475;font-size:13px;padding-top:6px}
dl.evidence dd{margin:0;min-width:0}
pre{background:#f1f3f6;border-radius:4px;padding:6px 8px;font-size:13px;margin:0;white-space:pre-wrap;word-break:break-all}
dd.fix{color:#1b5e20;padding-top:5px}dd.text{padding-top:5px;font-size:14px}
.error-line{color:#8e24aa;font-weight:600}
.grid-wrap{overflow-x:auto;margin:4px 0}
table.grid{font-size:12px}
.grid th,.grid td{border:1px solid #dde1e7;padding:1px 5px;text-align:center;white-space:nowrap}
.grid thead th{white-space:normal;max-width:120px;line-height:1.2}
.grid td{min-width:30px}
.grid thead th{background:#eef0f4;font-weight:600}
.grid thead tr.modes th{font-weight:400;color:#5b6475;font-size:11px}
.grid td.origin{text-align:left}
.grid td.cls{color:#5b6475;text-align:left;font-size:12px}
.grid tr.mismatch td.origin{box-shadow:inset 4px 0 #c62828;font-weight:600}
.grid tr.allowed td.origin,.grid tr.allowed td.cls{background:#eef7ee}
.ok{color:#2e7d32;font-weight:700}
.no{color:#8d95a3}
.over{background:#c62828;color:#fff;font-weight:700}
.under{background:#ffb300;color:#222;font-weight:700}
.free{color:#8d95a3;background:repeating-linear-gradient(135deg,#fff 0 4px,#f1f3f6 4px 8px)}
.none{background:#fafbfc}
.legend{font-size:12px;color:#5b6475;margin:2px 0 0;display:flex;gap:14px;flex-wrap:wrap;align-items:center}
.key{display:inline-block;min-width:20px;text-align:center;border:1px solid #dde1e7;padding:0 4px;margin-right:4px}
footer{color:#8d95a3;font-size:12px;margin-top:32px}
@media print{
  body{background:#fff;font-size:12px}
  main{max-width:none;padding:0}
  *{-webkit-print-color-adjust:exact;print-color-adjust:exact}
  .finding,.count,tr{break-inside:avoid}
  h2,h3{break-after:avoid}
  .grid-wrap{overflow:visible}
  table.grid{font-size:10px}
  a{text-decoration:none}
}
"""

_LEGEND = (
    "<div class='legend'>"
    "<span><span class='key ok'>✓</span>the page can read the response</span>"
    "<span><span class='key no'>✗</span>the browser blocks it</span>"
    "<span><span class='key over'>✓!</span>readable, but the policy says blocked (too open)</span>"
    "<span><span class='key under'>✗!</span>blocked, but the policy says readable (front-end breaks)"
    "</span><span><span class='key free'>✓</span>no expectation (no policy for this origin)</span>"
    "<span>omit / incl.: the request without and with credentials (cookies, HTTP auth); "
    "blank: not probed; hover a cell for the browser's reason</span></div>"
)


def render(report: Report) -> str:
    counts = report.counts()
    if report.reaches(report.fail_on):
        verdict, css = f"failed: findings at or above {report.fail_on}", "failed"
    elif report.error_count:
        verdict, css = "incomplete: some targets could not be audited", "incomplete"
    else:
        verdict, css = "passed", "passed"
    requests = sum(t.requests_sent for t in report.targets)
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width,initial-scale=1'>",
        f"<title>corscheck report</title><style>{_STYLE}</style></head><body><main>",
        f"<h1>corscheck report <span class='verdict {css}'>{escape(verdict)}</span></h1>",
        f"<div class='meta'>{_plural(len(report.targets), 'target')} · depth "
        f"{escape(report.depth)} · {_plural(requests, 'request')} sent · fails on "
        f"{escape(report.fail_on)} · corscheck {escape(report.version)} · "
        f"{escape(report.generated_at)}</div>",
        *(
            [f"<div class='meta'>policy: {escape(report.policy_statement)}</div>"]
            if report.policy_statement
            else []
        ),
        *(
            [f"<div class='meta'>judged: {escape(report.deployment)}</div>"]
            if report.deployment
            else []
        ),
        *(
            [f"<div class='meta'>visitor: {escape(report.visitor.statement())}</div>"]
            if report.visitor
            else []
        ),
        "<div class='counts'>",
        *(
            f"<div class='count'><b>{counts[s]}</b><span class='sev {s}'>{s}</span></div>"
            for s in SEVERITIES
        ),
        f"<div class='count'><b>{report.error_count}</b>errors</div></div>",
        *(
            [f"<div class='meta'>proofs: {escape(proofs.line())}</div>"]
            if (proofs := report.proof_counts())
            else []
        ),
    ]
    parts += [f"<div class='warning'>{escape(w)}</div>" for w in report.all_warnings()]
    if report.targets:
        parts.append(_overview(report.targets))
    parts += [_target(n, t) for n, t in enumerate(report.targets, 1)]
    parts += _suppressed(report)
    parts.append(
        "<footer>Generated by corscheck. Verdicts follow the Fetch standard as Chromium applies it; "
        "secrets given with -H or in URLs are masked as ****.</footer>"
    )
    parts.append("</main></body></html>\n")
    return "".join(parts)


def _suppressed(report: Report) -> list[str]:
    """The accepted findings, each with its reason and where it is accepted: they stay visible,
    they just do not fail."""
    suppressed = report.suppressed()
    if not suppressed:
        return []
    rows = []
    for finding in suppressed:
        why = finding.suppressed
        assert why is not None
        rows.append(
            f"<tr><td><span class='sev {finding.severity}'>{finding.severity}</span></td>"
            f"<td class='mono'>{escape(finding.rule.id)}</td>"
            f"<td class='mono'>{escape(finding.target)}</td>"
            f"<td>{escape(why.statement())}</td></tr>"
        )
    return [
        f"<h2 id='suppressed'>Suppressed ({len(suppressed)})</h2>",
        "<table class='overview'><thead><tr><th>severity</th><th>rule</th><th>target</th>"
        f"<th>reason</th></tr></thead><tbody>{''.join(rows)}</tbody></table>",
    ]


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _status(target: TargetReport) -> tuple[str, str]:
    if target.errors:
        if all(e.kind == "status" for e in target.errors):
            return "answered only with errors", "status-error"
        return "not audited", "status-error"
    if target.active_findings:
        return _plural(len(target.active_findings), "finding"), "status-findings"
    return "passed", "status-passed"


def _overview(targets: Sequence[TargetReport]) -> str:
    head = "".join(f"<th>{s}</th>" for s in SEVERITIES)
    rows = []
    for n, target in enumerate(targets, 1):
        status, css = _status(target)
        by_severity = dict.fromkeys(SEVERITIES, 0)
        for finding in target.active_findings:
            by_severity[finding.severity] += 1
        cells = "".join(
            f"<td class='n{'' if by_severity[s] else ' zero'}'>{by_severity[s]}</td>"
            for s in SEVERITIES
        )
        rows.append(
            f"<tr><td class='url mono'><a href='#t{n}'>{escape(target.url)}</a></td>"
            f"<td class='{css}'>{escape(status)}</td>{cells}</tr>"
        )
    return (
        "<table class='overview'><thead><tr><th>target</th><th>result</th>"
        f"{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def _target(n: int, target: TargetReport) -> str:
    status, css = _status(target)
    against = (
        "against the policy" if target.policy is not None else "against the safe baseline"
    ) + (f" ({target.source.file}:{target.source.line})" if target.source else "")
    out = [
        f"<section id='t{n}'><h2><span class='mono'>{escape(target.url)}</span> "
        f"<span class='sub'>— <span class='{css}'>{escape(status)}</span> "
        f"{escape(against)}</span></h2>"
    ]
    out += [
        f"<p class='error-line'>Could not be audited: {escape(e.kind)}: {escape(e.message)}</p>"
        for e in target.errors
    ]
    for note in target.notes:
        out.append(f"<div class='meta'>note: {escape(note)}</div>")
    if target.stack is not None and target.findings:
        out.append(f"<div class='meta'>stack: {escape(target.stack.statement())}</div>")
        if target.stack.caveat:
            out.append(f"<div class='meta'>note: {escape(target.stack.caveat)}</div>")
    out += [_finding(f) for f in target.findings]  # suppressed ones too, marked
    if target.probes:
        out.append(_grid(target.probes))
    out.append("</section>")
    return "".join(out)


def _finding(finding: Finding) -> str:
    ev = finding.evidence
    rows = [("request", f"<pre>{escape(ev.page_request())}</pre>")]
    if ev.sent_method:
        rows.append(("sent", f"<pre>{escape(chr(10).join(ev.sent_request()))}</pre>"))
    rows.append(("response", f"<pre>{escape(chr(10).join(ev.response()))}</pre>"))
    if ev.reason:
        rows.append(("browser", escape(ev.reason)))
    if ev.related:
        more = len(ev.related) - _MAX_RELATED
        rows.append(
            (
                "also",
                escape(", ".join(ev.related[:_MAX_RELATED]))
                + (f" and {more} more" if more > 0 else ""),
            )
        )
    if finding.exposure:
        lines = (f"<b>{escape(p)}</b>: {escape(summary)}" for p, summary in exposure_lines(finding))
        rows.append(("browsers", "<br>".join(lines)))
    if finding.proof is not None:
        proof = finding.proof
        shown = escape(proof.summary()) + (
            f"<pre>{escape(proof.preview)}</pre>" if proof.preview else ""
        )
        kind, mark = {True: ("proved", "✓"), False: ("disproved", "✗"), None: ("unprovable", "–")}[
            proof.agrees
        ]
        rows.append(("proof", f"<span class='mark {kind}'>{mark}</span> {shown}"))
    rows += [("note", escape(note)) for note in finding.notes]
    if finding.suppressed is not None:
        why = finding.suppressed
        rows.insert(0, ("suppressed", escape(why.statement())))
    if finding.baseline is not None:
        rows.insert(0, ("baseline", escape(finding.baseline)))
    evidence = "".join(
        f"<dt>{label}</dt><dd class='text'>{value}</dd>"
        if not value.startswith("<pre>")
        else f"<dt>{label}</dt><dd>{value}</dd>"
        for label, value in rows
    )
    return (
        f"<div class='finding {finding.severity}'><h3><span class='sev {finding.severity}'>"
        f"{finding.severity}</span> {escape(finding.title)} <span class='rule mono'>"
        f"{escape(finding.rule.id)}</span></h3><p class='message'>{escape(finding.message)}</p>"
        f"<dl class='evidence'>{evidence}<dt>fix</dt><dd class='fix'>{escape(finding.fix)}</dd>"
        "</dl></div>"
    )


def _grid(probes: Sequence[ProbeResult]) -> str:
    """Origins down, request kinds across; each kind split by credentials mode."""
    columns: list[str] = []
    rows: dict[tuple[str, str], dict[tuple[str, str], ProbeResult]] = {}
    for result in probes:
        column = probe_column(result)
        if column not in columns:
            columns.append(column)
        key = (result.planned.probe.origin, result.planned.origin_class)
        rows.setdefault(key, {})[(column, result.planned.probe.credentials)] = result
    head = "".join(f"<th colspan='2' class='mono'>{escape(c)}</th>" for c in columns)
    sub = "".join("<th>omit</th><th>incl.</th>" for _ in columns)
    body = []
    for (origin, origin_class), cells in rows.items():
        mismatch = any(r.outcome in ("over-permissive", "under-permissive") for r in cells.values())
        row_css = " ".join(
            c for c, on in (("mismatch", mismatch), ("allowed", origin_class == "allowed")) if on
        )
        tds = [
            _cell(cells.get((column, mode)), column, mode)
            for column in columns
            for mode in ("omit", "include")
        ]
        body.append(
            f"<tr class='{row_css}'><td class='origin mono'>{escape(origin)}</td>"
            f"<td class='cls'>{escape(origin_class)}</td>{''.join(tds)}</tr>"
        )
    return (
        "<h3 class='grid-title'>Probe grid</h3><div class='grid-wrap'><table class='grid'><thead>"
        f"<tr><th rowspan='2'>origin</th><th rowspan='2'>class</th>{head}</tr>"
        f"<tr class='modes'>{sub}</tr></thead><tbody>{''.join(body)}</tbody></table></div>"
        f"{_LEGEND}"
    )


def _cell(result: ProbeResult | None, column: str, mode: str) -> str:
    if result is None:
        return "<td class='none'></td>"
    allowed = result.verdict.allowed
    mark = "✓" if allowed else "✗"
    seen = "readable" if allowed else "blocked"
    if result.outcome == "over-permissive":
        css, mark, expected = "over", mark + "!", "; the policy says blocked"
    elif result.outcome == "under-permissive":
        css, mark, expected = "under", mark + "!", "; the policy says readable"
    elif result.expected is None:
        css, expected = "free", "; no expectation"
    else:
        css, expected = ("ok" if allowed else "no"), "; as the policy says"
    reason = f" — {result.verdict.reason}" if result.verdict.reason else ""
    title = f"{column}, credentials {mode}: {seen}{expected}{reason}"
    return f"<td class='{css}' title='{escape(title)}'>{mark}</td>"

"""The terminal report: per target a verdict line, findings most severe first with evidence and fix, and
(verbose) the probe grid. Rich styles in a terminal, plain text when piped."""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import TYPE_CHECKING

from rich.console import Console, Group, RenderableType
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from corscheck.evaluate import Finding, ProbeResult, exposure_lines
from corscheck.evaluate.proof import Proof
from corscheck.report.model import LARGE_RUN, Report, TargetReport, probe_column
from corscheck.rules import SEVERITIES, Rule, severity_rank
from corscheck.websocket import is_websocket_url
from corscheck.wording import plural

if TYPE_CHECKING:
    from corscheck.report.model import ProbeReport

SEVERITY_STYLES = {
    "critical": "bold white on red",
    "high": "bold red",
    "medium": "yellow",
    "low": "cyan",
}
_MAX_TARGETS_IN_FULL = LARGE_RUN  # past this, large runs get a summary: top findings and counts
_MAX_TARGETS_LISTED = 20  # failing targets listed a line each in a large run's summary
_MAX_RELATED = 4


_GRID_ORIGIN_WIDTH = (
    34  # the origin column of the probe grid on a narrow terminal: longer ones fold
)
_GRID_MIN_CELLS = 3  # request columns a grid table shows at the least beside whole origins
_GRID_CLASS_WIDTH = 11
_GRID_CELL_WIDTH = 4  # a cell (✓✓!) and the space before it


def render(report: Report, *, color: bool = False, verbose: bool = False, width: int = 100) -> str:
    console, buffer = _console(color, width)
    for part in renderables(report, verbose=verbose, width=width):
        console.print(part)
    return _tidy(buffer.getvalue())


def _tidy(text: str) -> str:
    """Without trailing blanks: tables pad their cells, which plain-text readers and diffs dislike."""
    return "\n".join(line.rstrip() for line in text.split("\n"))


def renderables(report: Report, *, verbose: bool = False, width: int = 100) -> list[RenderableType]:
    parts: list[RenderableType] = [_header(report)]
    if report.policy_statement:
        parts.append(
            _hanging(Text("policy: ", style="dim"), Text(report.policy_statement, style="dim"))
        )
    if report.visitor is not None:
        parts.append(
            _hanging(Text("visitor: ", style="dim"), Text(report.visitor.statement(), style="dim"))
        )
    if report.deployment:
        parts.append(_hanging(Text("judged: ", style="dim"), Text(report.deployment, style="dim")))
    parts += [
        _hanging(Text("warning: ", style="yellow"), Text(w, style="yellow"))
        for w in report.all_warnings()
    ]
    if len(report.targets) > _MAX_TARGETS_IN_FULL and not verbose:
        parts += _large_run(report)
    else:
        for target in report.targets:
            parts.append(Text())
            parts += _target(target, verbose, width)
    parts += _suppressed(report)
    parts += _fixed(report)
    parts.append(Text())
    parts += _summary(report)
    return parts


def _hanging(lead: Text | str, rest: Text | str, indent: int = 0) -> RenderableType:
    """`lead` then `rest`, where `rest` wraps under itself and never to column 0: a line of the
    report that may be wider than the terminal (80 columns and up)."""
    grid = Table.grid()
    if indent:
        grid.add_column(width=indent)
    grid.add_column(no_wrap=True)
    grid.add_column(overflow="fold")
    cells = [
        Text(lead) if isinstance(lead, str) else lead,
        Text(rest) if isinstance(rest, str) else rest,
    ]
    grid.add_row(*([""] if indent else []), *cells)
    return grid


def _suppressed(report: Report) -> list[RenderableType]:
    """One line per accepted finding, with its reason: they stay visible, they just do not fail."""
    suppressed = report.suppressed()
    if not suppressed:
        return []
    parts: list[RenderableType] = [Text(), Text(f"Suppressed ({len(suppressed)})", style="bold")]
    for finding in suppressed:
        why = finding.suppressed
        assert why is not None
        line = Text(f"{finding.rule.id} ")
        line.append(finding.target, style="dim")
        line.append(f"  {why.statement()}", style="dim")
        parts.append(_hanging(Text(f"{finding.severity} ", style="dim"), line, indent=2))
    return parts


def _fixed(report: Report) -> list[RenderableType]:
    if report.baseline is None or not report.baseline.fixed:
        return []
    parts: list[RenderableType] = [
        Text(),
        Text(f"Fixed since the baseline ({len(report.baseline.fixed)})", style="bold green"),
    ]
    for finding in report.baseline.fixed:
        parts.append(
            _hanging(
                Text(f"{finding.severity} ", style="green"),
                Text(f"{finding.rule.id} {finding.target}", style="green"),
                indent=2,
            )
        )
    return parts


def _large_run(report: Report) -> list[RenderableType]:
    """A screenful for thousands of targets: each rule once with its count and one example in full,
    then the failing targets a line each, most severe first, up to a limit."""
    parts: list[RenderableType] = []
    first: dict[str, Finding] = {}  # each rule's first finding in input order
    for target in report.targets:
        for finding in target.active_findings:
            first.setdefault(finding.rule.id, finding)
    examples = dict(sorted(first.items(), key=lambda item: severity_rank(item[1].severity)))
    if examples:
        parts += [Text(), _top_rules(report, examples)]
    for finding in examples.values():
        parts.append(Text())
        parts.append(Text(f"{finding.rule.id}, for example at {finding.target}:", style="bold"))
        parts.append(_finding(finding))
    # The worst first, so that the ones left out are the least severe; errors after findings.
    failing = sorted(
        (t for t in report.targets if not t.passed),
        key=lambda t: (
            min((severity_rank(f.severity) for f in t.active_findings), default=len(SEVERITIES)),
            -len(t.active_findings),
        ),
    )
    if failing:
        parts.append(Text())
        parts.append(Text(f"Targets with findings or errors: {len(failing)}", style="bold"))
    for target in failing[:_MAX_TARGETS_LISTED]:
        line = Text("  ")
        if target.errors:
            line.append("! ", style="bold magenta")
            line.append(target.url)
            line.append(f"  {target.errors[0].kind}: {target.errors[0].message}", style="magenta")
        else:
            line.append("✗ ", style="bold red")
            line.append(target.url)
            line.append(f"  {_count_line(target.active_findings)}")
        parts.append(line)
    hidden = failing[_MAX_TARGETS_LISTED:]
    passed = len(report.targets) - len(failing)
    parts.append(
        Text(
            (f"  … and {len(hidden)} more ({_worst_counts(hidden)}). " if hidden else "  ")
            + f"{passed} passed. -v shows every target in full; -o report.json keeps every "
            "target with its evidence.",
            style="dim",
        )
    )
    return parts


def _worst_counts(targets: Sequence[TargetReport]) -> str:
    """The targets left out, by their worst finding: "55 critical, 150 high, 3 with errors"; never
    "less severe", which the ones left out need not be (a long list of criticals)."""
    worst: dict[str, int] = {}
    for target in targets:
        if target.active_findings:
            severity = min((f.severity for f in target.active_findings), key=severity_rank)
            worst[severity] = worst.get(severity, 0) + 1
        else:
            worst["with errors"] = worst.get("with errors", 0) + 1
    order = [*SEVERITIES, "with errors"]
    return ", ".join(f"{worst[key]} {key}" for key in order if key in worst)


def _header(report: Report) -> Text:
    requests = sum(t.requests_sent for t in report.targets)
    text = Text("corscheck ", style="bold")
    text.append(report.version)
    count = len(report.targets)
    text.append(
        f" · {plural(count, 'target')} · depth {report.depth} · {plural(requests, 'request')} sent",
        style="dim",
    )
    return text


def _target(target: TargetReport, verbose: bool, width: int = 100) -> list[RenderableType]:
    parts: list[RenderableType] = []
    line = Text()
    findings = target.active_findings
    if target.errors:
        mark = Text("! ", style="bold magenta")
    elif findings:
        mark = Text("✗ ", style="bold red")
    else:
        mark = Text("✓ ", style="bold green")
    line.append(target.url, style="bold")
    if target.route is not None:
        line.append(f"  {target.route.label}", style="cyan")
    if target.errors:
        dead_end = all(e.kind == "status" for e in target.errors)
        line.append(
            "  answered only with errors" if dead_end else "  could not be audited",
            style="magenta",
        )
    elif findings:
        line.append(f"  {_count_line(findings)}")
    else:
        policy = "the policy" if target.policy else "the safe baseline (no policy given)"
        line.append(
            f"  passed: {target.probes_run} probes, {target.probes_checked} checked against {policy}",
            style="green",
        )
    parts.append(_hanging(mark, line))
    for error in target.errors:
        parts.append(
            _hanging(
                Text(f"{error.kind}: ", style="magenta"), Text(error.message, style="magenta"), 4
            )
        )
    for note in target.notes:
        parts.append(_hanging(Text("note: ", style="yellow"), Text(note, style="yellow"), 4))
    if target.stack is not None and target.active_findings:
        parts.append(
            _hanging(Text("stack: ", style="dim"), Text(target.stack.statement(), style="dim"), 4)
        )
        if target.stack.caveat:
            parts.append(
                _hanging(Text("note: ", style="dim"), Text(target.stack.caveat, style="dim"), 4)
            )
    if target.route is not None and target.route.filled:
        filled = Text("; ".join(target.route.filled), style="dim")
        parts.append(_hanging(Text("path filled: ", style="dim"), filled, 4))
    for finding in findings:
        parts.append(_finding(finding))
    if verbose and target.probes:
        parts.append(probe_grid(target.probes, width))
    return parts


def _count_line(findings: Sequence[Finding]) -> str:
    counts: dict[str, int] = {}
    for f in findings:
        counts[f.severity] = counts.get(f.severity, 0) + 1
    detail = ", ".join(f"{n} {s}" for s, n in counts.items())
    return f"{plural(len(findings), 'finding')} ({detail})"


def _finding(finding: Finding) -> RenderableType:
    badge = Text(f" {finding.severity.upper()} ", style=SEVERITY_STYLES[finding.severity])
    head = Text(f" {finding.title} ", style="bold")
    # The rule id and the baseline tag hold together (a no-break space): a tag never ends alone.
    head.append(f"[{finding.rule.id}]", style="dim")
    if finding.baseline is not None:
        head.append(
            f"\u00a0{finding.baseline}", style="bold" if finding.baseline == "new" else "dim"
        )
    # Label and value columns, so that long values wrap under their value, not under the label.
    grid = Table.grid(padding=(0, 1))
    grid.add_column(width=4)
    grid.add_column(style="dim", width=9, no_wrap=True)
    grid.add_column(overflow="fold")
    grid.add_row("", "", Text(finding.message))  # Text everywhere: values may contain [brackets]
    ev = finding.evidence
    grid.add_row("", "request", Text(ev.page_request()))
    if ev.sent_method:
        grid.add_row("", "sent", Text("\n".join(ev.sent_request())))
    grid.add_row("", "response", Text("\n".join(ev.response())))
    if ev.reason:
        grid.add_row("", "browser", Text(ev.reason, style="italic"))
    if ev.related:
        shown = ", ".join(ev.related[:_MAX_RELATED])
        more = len(ev.related) - _MAX_RELATED
        grid.add_row("", "also", Text(shown + (f" (+{more} more)" if more > 0 else "")))
    for n, (profiles, summary) in enumerate(exposure_lines(finding)):
        grid.add_row("", "" if n else "browsers", Text(f"{profiles}: {summary}"))
    if finding.proof is not None:
        grid.add_row("", "proof", _proof(finding.proof))
    for note in finding.notes:
        grid.add_row("", "note", Text(note))
    grid.add_row("", Text("fix", style="green"), Text(finding.fix))
    # The head in its own column: a long title wraps under itself, never to column 0.
    return Group(_hanging(badge, head, indent=2), grid)


def _proof(proof: Proof) -> Text:
    """The proof line: green when the browser agrees, red when it contradicts corscheck."""
    style = {True: "green", False: "bold red", None: "dim"}[proof.agrees]
    text = Text(proof.summary(), style=style)
    if proof.preview:
        text.append(f"\n{proof.preview}", style="dim")
    return text


def probe_grid(probes: Sequence[ProbeResult], width: int = 100) -> RenderableType:
    """Origins down, requests across; each cell: without credentials, then with them.

    ✓ the page can read, · blocked, ! where that differs from the policy (red: too open, yellow: the
    real front-end breaks). The request kinds are numbered, with a key above the grid, and the grid
    is split into as many tables as `width` needs, so no line is wider than it.
    """
    columns: list[str] = []
    rows: dict[tuple[str, str], dict[str, dict[str, ProbeResult]]] = {}
    for result in probes:
        probe = result.planned.probe
        column = probe_column(result)
        if column not in columns:
            columns.append(column)
        row = rows.setdefault((probe.origin, result.planned.origin_class), {})
        row.setdefault(column, {})[probe.credentials] = result
    indent = 4
    longest_origin = max((len(o) for o, _ in rows), default=6)
    longest_class = max((len(c) for _, c in rows), default=5)
    # Whole origins where the width leaves room for a few request columns beside them (a hostname
    # folded mid-label is hard to read), then whole classes; else both are cut to fit.
    least = _GRID_MIN_CELLS * _GRID_CELL_WIDTH
    origin_width = longest_origin
    if width - indent - (origin_width + 1) - (_GRID_CLASS_WIDTH + 1) < least:
        origin_width = min(longest_origin, _GRID_ORIGIN_WIDTH)
    class_width = longest_class
    if width - indent - (origin_width + 1) - (class_width + 1) < least:
        class_width = min(longest_class, _GRID_CLASS_WIDTH)
    room = width - indent - (origin_width + 1) - (class_width + 1)
    per_table = max(1, room // _GRID_CELL_WIDTH)
    legend = Text(
        "probe grid: each cell is without credentials, then with them; "
        "✓ readable · blocked ! differs from the policy",
        style="dim",
    )
    key = Text("requests: ", style="dim")
    for number, column in enumerate(columns, 1):
        key.append(f"{number}={column}" + ("  " if number < len(columns) else ""), style="dim")
    parts: list[RenderableType] = [
        Padding(legend, (0, 0, 0, indent)),
        Padding(key, (0, 0, 0, indent)),
    ]
    for start in range(0, len(columns), per_table):
        shown = columns[start : start + per_table]
        table = Table(box=None, padding=(0, 0, 0, 1), header_style="bold", show_edge=False)
        # Folded, never cut: crafted origins differ by one character deep inside them.
        table.add_column("origin", width=origin_width, overflow="fold")
        table.add_column("class", style="dim", no_wrap=True, width=class_width, overflow="ellipsis")
        for number in range(start + 1, start + len(shown) + 1):
            table.add_column(str(number), justify="center", no_wrap=True, width=3)
        for (origin, origin_class), cells in rows.items():
            if not any(column in cells for column in shown):
                continue  # an origin no request of this table was sent from: no empty row
            marks = [_cell(cells.get(column, {})) for column in shown]
            table.add_row(Text(origin), Text(origin_class), *marks)
        parts.append(Padding(table, (0, 0, 0, indent)))
    return Group(*parts)


def _cell(by_mode: dict[str, ProbeResult]) -> Text:
    cell = Text()
    for mode in ("omit", "include"):
        result = by_mode.get(mode)
        if result is None:
            cell.append(" ")
            continue
        mark = "✓" if result.verdict.allowed else "·"
        if result.outcome == "over-permissive":
            cell.append(mark, style="bold red")
        elif result.outcome == "under-permissive":
            cell.append(mark, style="bold yellow")
        else:
            cell.append(mark, style="green" if result.verdict.allowed else "dim")
    if any(r.outcome in ("over-permissive", "under-permissive") for r in by_mode.values()):
        cell.append("!", style="bold red")
    return cell


def _top_rules(report: Report, examples: dict[str, Finding]) -> Table:
    targets: dict[str, set[str]] = {}
    for finding in report.findings():
        targets.setdefault(finding.rule.id, set()).add(finding.target)
    table = Table(title="Findings by rule", title_justify="left", box=None, header_style="bold")
    table.add_column("severity")
    table.add_column("rule")
    table.add_column("targets", justify="right")
    for rule_id, example in examples.items():
        severity = example.severity
        table.add_row(
            Text(severity, style=SEVERITY_STYLES[severity]), rule_id, str(len(targets[rule_id]))
        )
    return table


def _summary(report: Report) -> list[RenderableType]:
    counts = report.counts()
    text = Text()
    text.append(f"{plural(len(report.targets), 'target')} · ")
    text.append(" · ".join(f"{n} {s}" for s, n in counts.items()))
    text.append(f" · {plural(report.error_count, 'error')}")
    suppressed = len(report.suppressed())
    if suppressed:
        text.append(f" · {suppressed} suppressed")
    parts: list[RenderableType] = [_hanging(Text("Summary: ", style="bold"), text)]
    proofs = report.proof_counts()
    if proofs is not None:
        shown = Text(proofs.line(), style="bold red" if proofs.disproved else "")
        parts.append(_hanging(Text("Proofs: ", style="bold"), shown))
    baseline = report.baseline_counts()
    if baseline is not None:
        parts.append(
            Text(
                f"Baseline: {baseline['new']} new · {baseline['unchanged']} unchanged · "
                f"{baseline['fixed']} fixed"
            )
        )
    verdict = Text()
    if report.reaches(report.fail_on):
        verdict.append("FAILED", style="bold red")
        new = " new" if report.baseline is not None else ""
        verdict.append(f":{new} findings at or above '{report.fail_on}'")
    elif report.error_count:
        verdict.append("INCOMPLETE", style="bold magenta")
        verdict.append(": some targets could not be audited")
    else:
        verdict.append("PASSED", style="bold green")
        unchanged = sum(1 for f in report.findings() if f.baseline == "unchanged")
        below = sum(counts.values()) - unchanged
        notes = []
        if unchanged:
            notes.append(f"{unchanged} unchanged since the baseline")
        if below:
            notes.append(f"{plural(below, 'finding')} below '{report.fail_on}'")
        if notes:
            verdict.append(f" ({'; '.join(notes)})")
    return [*parts, verdict]


def _console(color: bool, width: int) -> tuple[Console, io.StringIO]:
    buffer = io.StringIO()
    console = Console(
        file=buffer,
        force_terminal=color,
        no_color=not color,
        color_system="standard" if color else None,
        width=width,
        highlight=False,
    )
    return console, buffer


def render_probe(result: ProbeReport, *, color: bool = False, width: int = 100) -> str:
    """One screen: the verdict and reason, then each request sent and the response lines that matter."""
    console, buffer = _console(color, width)
    verdict = result.verdict
    probe = result.probe
    socket = is_websocket_url(probe.url)
    verb = "open" if socket else "read"
    if verdict.allowed:
        badge = Text("ALLOWED  ", style="bold green")
        head = Text(f"a page on {probe.origin} can {verb} {probe.url}")
    else:
        badge = Text("BLOCKED  ", style="bold red")
        head = Text(f"a page on {probe.origin} cannot {verb} {probe.url}")
    console.print(_hanging(badge, head))
    if socket:
        call = Text(
            f"{probe.url!r}) · CORS does not apply: only the server's Origin check", style="dim"
        )
        console.print(_hanging(Text("new WebSocket(", style="dim"), call))
    else:
        call = Text(
            f"{probe.method!r}, credentials: {probe.credentials!r}"
            + "".join(f", {n}: {v}" for n, v in probe.headers)
            + f") · preflight {'sent' if verdict.preflight else 'not needed'}",
            style="dim",
        )
        console.print(_hanging(Text("fetch(", style="dim"), call))
    if result.visitor:
        console.print(_hanging(Text("visitor: ", style="dim"), Text(result.visitor, style="dim")))
    if verdict.reason:
        console.print(_hanging(Text("reason: ", style="bold"), Text(verdict.reason, style="bold")))
    for note in verdict.notes:
        console.print(_hanging(Text("note:   ", style="yellow"), Text(note, style="yellow")))
    for hop in result.exchange.hops:
        console.print()
        console.print(
            _hanging(
                Text(f"{hop.kind}: ", style="bold"),
                Text(f"{hop.request.method} {hop.request.url}", style="bold"),
            )
        )
        for name, value in hop.request.headers:
            console.print(
                _hanging(Text("  > ", style="dim"), Text(f"{name}: {value}", style="dim"))
            )
        console.print(Text(f"  < {hop.response.status} {hop.response.reason}".rstrip()))
        for name, value in hop.response.headers.lines:
            relevant = name.lower().startswith("access-control-") or name.lower() in (
                "vary",
                "location",
            )
            style = "" if relevant else "dim"
            console.print(
                _hanging(Text("  < ", style=style), Text(f"{name}: {value.strip()}", style=style))
            )
    if result.exchange.unsent is not None:
        unsent = result.exchange.unsent
        console.print()
        console.print(
            _hanging(
                Text("not sent: ", style="yellow"),
                Text(f"{unsent.method} {unsent.url} (unsafe; pass --send-unsafe)", style="yellow"),
            )
        )
    if verdict.allowed and verdict.readable_headers:
        console.print()
        console.print(_hanging("readable response headers: ", ", ".join(verdict.readable_headers)))
    return _tidy(buffer.getvalue())


def render_rules(catalog: Sequence[Rule], *, color: bool = False, width: int = 100) -> str:
    console, buffer = _console(color, width)
    table = Table(box=None, show_header=True, header_style="bold", padding=(0, 1))
    table.add_column("rule")
    table.add_column("severity")
    table.add_column("kind")
    table.add_column("title", overflow="fold")
    for rule in catalog:
        table.add_row(
            rule.id,
            Text(rule.severity, style=SEVERITY_STYLES[rule.severity]),
            rule.direction,
            rule.title,
        )
    console.print(table)
    console.print(Text("\nExplain one: corscheck rules RULE", style="dim"))
    return _tidy(buffer.getvalue())


def render_rule(rule: Rule, *, color: bool = False, width: int = 100) -> str:
    console, buffer = _console(color, width)
    console.print(
        Text(rule.id, style="bold"), Text(f" {rule.severity} · {rule.direction}", style="dim")
    )
    console.print(Text(rule.title, style="bold"))
    console.print()
    # Text, not markup: the texts hold regexes whose [a-z0-9-] rich would take for a style.
    console.print(Text(rule.explanation))
    console.print()
    console.print(Text("Fix: ", style="bold green"), Text(rule.fix))
    return _tidy(buffer.getvalue())

"""What the command line prints around the reports: widths, plurals, progress and quiet, colour."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from corscheck.cli import app
from corscheck.demo import serve_demo

runner = CliRunner()


def _run_piped(*args: str, columns: str | None = "80") -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "NO_COLOR")}
    if columns is not None:
        env["COLUMNS"] = columns
    return subprocess.run(
        [sys.executable, "-m", "corscheck", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )


@pytest.mark.parametrize("command", ["demo", "audit"])
def test_verbose_piped_with_columns_80_has_no_wider_line(command: str) -> None:
    with serve_demo() as base:
        args = ["demo", "-v"]
        if command == "audit":
            args = [
                *("audit", "-v", f"{base}/api/profile", f"{base}/api/admin", "--no-proxy"),
                *("--allow-origin", "https://app.example.com", "--credentials"),
            ]
        done = _run_piped(*args)
    assert done.returncode in (0, 1), done.stderr
    assert "probe grid" in done.stdout and "requests: 1=" in done.stdout
    lines = (done.stdout + done.stderr).splitlines()
    assert max(len(line) for line in lines) <= 80, [line for line in lines if len(line) > 80]
    # A rule id stays with its finding's head, indented: never wrapped to column 0.
    assert not [line for line in lines if line.startswith("[")]


def test_one_target_says_1_target() -> None:
    with serve_demo() as base:
        result = runner.invoke(app, ["audit", f"{base}/api/status", "--depth", "quick"])
    assert "· 1 target ·" in result.stdout
    assert "Summary: 1 target · " in result.stdout and "· 0 errors" in result.stdout


def test_color_flags_beat_the_terminal_check() -> None:
    colored = runner.invoke(app, ["rules", "--color"])
    plain = runner.invoke(app, ["rules", "--no-color"])
    assert "\x1b[" in colored.stdout
    assert "\x1b[" not in plain.stdout


def test_probe_console_points_nowhere_that_does_not_ship() -> None:
    with serve_demo() as base:
        result = runner.invoke(
            app, ["probe", f"{base}/api/search", "--origin", "https://app.example.com"]
        )
    assert "CORS-RULES" not in result.stdout


def test_quiet_demo_prints_only_the_report() -> None:
    result = runner.invoke(app, ["demo", "-q", "-v"])
    assert result.stdout.startswith("corscheck ")  # no intro
    assert not result.stderr


# --- every line laid out for the width (issue 26, point 10) ------------------------------------------

# What may start at column 0: the head, a target's line, a section's title, the verdict.
LINE_STARTS = (
    "corscheck ",
    "policy: ",
    "visitor: ",
    "warning: ",
    "✗ ",
    "✓ ",
    "! ",
    "Suppressed (",
    "Fixed since",
    "Summary: ",
    "Baseline: ",
    "Proofs: ",
    "FAILED",
    "PASSED",
    "INCOMPLETE",
)


def _check_layout(text: str, width: int, starts: tuple[str, ...]) -> None:
    for line in text.splitlines():
        assert len(line) <= width, line
        assert not line or line[0] == " " or line.startswith(starts), f"at column 0: {line!r}"
        assert line.strip() not in ("new", "unchanged", "[", "]"), f"a tag alone: {line!r}"


@pytest.mark.parametrize("width", [80, 100, 120])
def test_the_report_never_starts_a_continuation_at_column_0(width: int) -> None:
    from dataclasses import replace

    from corscheck.evaluate import Suppression
    from corscheck.report.console import render
    from tests.fixed_report import fixed_report

    report = fixed_report()
    users = report.targets[0]
    first, *rest = users.findings
    marked = (
        replace(first, baseline="new"),
        replace(rest[0], suppressed=Suppression("a known legacy client", "2027-01-01", "--ignore")),
        *rest[1:],
    )
    report = replace(report, targets=(replace(users, findings=marked), *report.targets[1:]))
    _check_layout(render(report, width=width), width, LINE_STARTS)


@pytest.mark.parametrize("width", [80, 100, 120])
def test_probe_never_starts_a_continuation_at_column_0(width: int) -> None:
    from corscheck.browser import Probe, judge
    from corscheck.exchange import Exchange, Hop, Request, Response
    from corscheck.headers import HeaderList
    from corscheck.report.console import render_probe
    from corscheck.report.model import ProbeReport

    url = "https://api.example.com/v1/a-rather-long-path/with/many/segments?and=a&query=string"
    origin = "https://a-front-end-with-a-long-name.example.com"
    probe = Probe(url, origin, "PUT", (("Content-Type", "application/json"),), "include")
    long_value = "X-Custom-Header-" + "a" * 120
    preflight = Request("OPTIONS", url, (("Origin", origin), ("X-Long", long_value)))
    answer = Response(
        204,
        HeaderList.of(
            (
                ("Access-Control-Allow-Origin", origin),
                ("Access-Control-Allow-Credentials", "true"),
                ("Access-Control-Allow-Methods", "PUT"),
                ("Access-Control-Allow-Headers", "content-type, " + long_value),
            )
        ),
    )
    exchange = Exchange((Hop("preflight", preflight, answer),), unsent=Request("PUT", url, ()))
    report = ProbeReport(
        probe, exchange, judge(probe, exchange), "Chrome/Edge, sending " + "x" * 90
    )
    starts = ("ALLOWED", "BLOCKED", "fetch(", "visitor: ", "reason: ", "note: ", "preflight: ")
    _check_layout(render_probe(report, width=width), width, (*starts, "not sent: ", "readable "))


@pytest.mark.parametrize("command", ["probe", "rules", "rule"])
def test_no_line_ends_in_a_blank(command: str) -> None:
    """Issue 34: probe and rules printed trailing spaces (rich pads table cells and wrapped lines)."""
    with serve_demo() as base:
        args = {
            "probe": ["probe", f"{base}/api/profile", "--origin", "https://a.example"],
            "rules": ["rules"],
            "rule": ["rules", "null-origin"],
        }[command]
        result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert [line for line in result.stdout.splitlines() if line != line.rstrip()] == []


@pytest.mark.parametrize("columns", ["80", "120"])
def test_the_grid_shows_each_crafted_origin_whole(columns: str) -> None:
    """A hostname folded mid-label is hard to read: where the width leaves room for a few request
    columns beside them, every origin of the grid stands whole on its row."""
    done = _run_piped("demo", "-v", columns=columns)
    assert done.returncode in (0, 1), done.stderr
    grid = done.stdout[done.stdout.index("probe grid") :]
    assert "https://app.example.com.corscheck-attacker.example " in grid
    assert max(len(line) for line in done.stdout.splitlines()) <= int(columns)

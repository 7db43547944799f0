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

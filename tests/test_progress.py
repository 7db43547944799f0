"""Progress while an audit runs: paced by an injected clock (no test waits or depends on timing), on
stderr only, and silent with -q."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

from corscheck.commands.progress import Progress, elapsed
from corscheck.demo import serve_demo
from corscheck.report.model import Report, TargetReport


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _target() -> TargetReport:
    return TargetReport(url="http://127.0.0.1:9/x", policy=None, requests_sent=1)


def _head() -> Report:
    return Report(version="0", generated_at="", depth="quick", fail_on="medium")


def test_off_a_terminal_a_line_at_most_every_five_seconds_and_one_at_the_end() -> None:
    clock, out = _Clock(), io.StringIO()
    progress = Progress(300, show=True, stream=out, live=False, clock=clock)
    progress.begin(_head())
    for second in range(12):  # a target finishes every second for 12 s
        clock.now += 1
        progress.add(_target())
        assert second >= 4 or out.getvalue() == ""  # nothing in the first five seconds
    lines = out.getvalue().splitlines()
    assert lines == [
        "corscheck: 5/300 targets · 0 findings · 0:05",
        "corscheck: 10/300 targets · 0 findings · 0:10",
    ]
    progress.end(_head())
    assert out.getvalue().splitlines()[-1] == "corscheck: 12/300 targets · 0 findings · 0:12"


def test_a_burst_of_targets_prints_no_more_lines() -> None:
    clock, out = _Clock(), io.StringIO()
    progress = Progress(1000, show=True, stream=out, live=False, clock=clock)
    progress.begin(_head())
    for _ in range(1000):  # all at the same instant
        progress.add(_target())
    progress.end(_head())
    assert out.getvalue() == "corscheck: 1000/1000 targets · 0 findings · 0:00\n"


def test_quiet_prints_nothing_but_still_counts() -> None:
    out = io.StringIO()
    progress = Progress(3, show=False, stream=out, live=False, clock=_Clock())
    progress.begin(_head())
    for _ in range(3):
        progress.add(_target())
    progress.end(_head())
    assert out.getvalue() == ""
    assert progress.so_far() == "3 of 3 targets audited, 0 findings so far"


def test_live_line_redraws_in_place_and_clears() -> None:
    clock, out = _Clock(), io.StringIO()
    progress = Progress(2, show=True, stream=out, live=True, clock=clock)
    progress.begin(_head())
    progress.add(_target())
    clock.now += 1
    progress.add(_target())
    progress.end(_head())
    text = out.getvalue()
    assert text.startswith("\rcorscheck: 1/2 targets · 0 findings · 0:00\x1b[K")
    assert "\rcorscheck: 2/2 targets" in text and text.endswith("\r\x1b[K")
    assert "\n" not in text


def test_the_live_clock_moves_between_completions_and_stops_with_the_run() -> None:
    clock, out = _Clock(), io.StringIO()
    progress = Progress(3, show=True, stream=out, live=True, clock=clock)
    progress.tick()
    assert out.getvalue() == ""  # nothing before the first line
    progress.begin(_head())
    progress.finished(_target())
    clock.now += 65
    progress.tick()  # what the ticker thread does every second
    assert out.getvalue().endswith("\rcorscheck: 1/3 targets · 0 findings · 1:05\x1b[K")
    progress.end(_head())
    cleared = out.getvalue()
    progress.tick()
    assert out.getvalue() == cleared and cleared.endswith("\r\x1b[K")


def test_singular_and_clock() -> None:
    progress = Progress(1, show=False, clock=_Clock())
    assert progress.line() == "corscheck: 0/1 target · 0 findings · 0:00"
    assert elapsed(3723) == "1:02:03" and elapsed(62) == "1:02"


def _audit_150(tmp_path: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    with serve_demo() as base:
        urls = tmp_path / "urls.txt"
        urls.write_text("".join(f"{base}/api/status?n={i}\n" for i in range(150)))
        with (tmp_path / "report.txt").open("w") as stdout:
            return subprocess.run(
                [
                    *(sys.executable, "-m", "corscheck", "audit", "-i", str(urls)),
                    *("--depth", "quick", "--no-proxy", *extra),
                ],
                stdout=stdout,
                stderr=subprocess.PIPE,
                text=True,
                timeout=120,
                cwd=tmp_path,
            )


def test_150_targets_with_stdout_to_a_file_progress_goes_to_stderr(tmp_path: Path) -> None:
    done = _audit_150(tmp_path)
    assert done.returncode == 0, done.stderr
    lines = done.stderr.splitlines()
    assert lines and all(line.startswith("corscheck: ") for line in lines)
    assert lines[-1].startswith("corscheck: 150/150 targets · 0 findings · ")
    report = (tmp_path / "report.txt").read_text()
    assert "Summary: 150 targets" in report and "corscheck: 150/150" not in report


def test_150_targets_quiet_leaves_stderr_empty(tmp_path: Path) -> None:
    done = _audit_150(tmp_path, "-q")
    assert done.returncode == 0
    assert done.stderr == ""
    assert "Summary: 150 targets" in (tmp_path / "report.txt").read_text()

"""Large runs: targets are audited within a bounded window, reach the sinks in input order, and the
JSON report is written as they finish while the run keeps only findings and counts."""

from __future__ import annotations

import asyncio
import io
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from corscheck.audit import _InOrder, audit, run_config
from corscheck.cli import app
from corscheck.config import AuditConfig
from corscheck.demo import DEMO_POLICY, serve_demo
from corscheck.report.json import JsonStream
from corscheck.report.model import LARGE_RUN, Report, TargetErrorRecord, TargetReport
from corscheck.runner import run_async
from corscheck.target import Target
from tests.conftest import SilentServer

runner = CliRunner()


def test_in_order_yields_input_order_whatever_finishes_first() -> None:
    async def main() -> list[int]:
        released = [asyncio.Event() for _ in range(6)]

        async def job(n: int) -> int:
            await released[n].wait()
            return n

        async def release_backwards() -> None:
            for event in reversed(released):
                event.set()
                await asyncio.sleep(0)

        releaser = asyncio.ensure_future(release_backwards())
        results = [n async for n in _InOrder((job(n) for n in range(6)), window=6).results()]
        await releaser
        return results

    assert asyncio.run(main()) == [0, 1, 2, 3, 4, 5]


@pytest.mark.parametrize("window", [1, 3, 8])
def test_in_order_never_runs_more_than_the_window(window: int) -> None:
    running = peak = 0

    async def job(n: int) -> int:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        for _ in range(n % 4):
            await asyncio.sleep(0)
        running -= 1
        return n

    async def main() -> list[int]:
        return [n async for n in _InOrder((job(n) for n in range(20)), window=window).results()]

    assert asyncio.run(main()) == list(range(20))
    assert 1 <= peak <= window


def test_in_order_hears_each_result_as_it_ends_and_keeps_those_done_ahead() -> None:
    """The progress line counts a target when it ends, not when the ones before it are done; a
    stopped run still has the results that ended behind a slow one (audit._InOrder)."""

    async def main() -> tuple[list[int], list[tuple[int, int]], list[int]]:
        slow = asyncio.Event()
        heard: list[int] = []

        async def job(n: int) -> int:
            if n == 1:
                await slow.wait()  # never set: the run stops while it runs
            return n

        in_order = _InOrder((job(n) for n in range(5)), window=5, on_done=heard.append)
        results = in_order.results()
        got = [await anext(results)]  # 0
        for _ in range(5):  # bounded: let 2, 3 and 4 end
            await asyncio.sleep(0)
        ahead = in_order.done_ahead()
        await results.aclose()
        return got, ahead, sorted(heard)

    got, ahead, heard = asyncio.run(main())
    assert got == [0]
    assert ahead == [(2, 2), (3, 3), (4, 4)]
    assert heard == [0, 2, 3, 4]


class Collect:
    """A sink that keeps what it is given."""

    def __init__(self) -> None:
        self.head: Report | None = None
        self.targets: list[TargetReport] = []
        self.report: Report | None = None

    def begin(self, head: Report) -> None:
        self.head = head

    def add(self, target: TargetReport) -> None:
        self.targets.append(target)

    def end(self, report: Report) -> None:
        self.report = report


def test_without_probes_the_run_keeps_counts_and_the_sinks_get_everything() -> None:
    with serve_demo() as base:
        urls = [f"{base}/api/profile?n={n}" for n in range(12)]
        sink = Collect()
        config = AuditConfig(tuple(Target(u, DEMO_POLICY) for u in urls), depth="quick")
        report = run_async(run_config(config, sinks=[sink], keep_probes=False))
    assert [t.url for t in report.targets] == urls
    assert [t.url for t in sink.targets] == urls
    assert sink.head is not None and sink.head.targets == ()
    assert sink.report is report
    for kept, streamed in zip(report.targets, sink.targets, strict=True):
        assert kept.probes == () and streamed.probes
        assert kept.probes_run == len(streamed.probes) > 0
        assert kept.probes_checked == streamed.probes_checked > 0
        assert kept.findings == streamed.findings and kept.findings


def test_with_probes_the_run_keeps_them() -> None:
    with serve_demo() as base:
        report = audit(AuditConfig((Target(base + "/api/status", DEMO_POLICY),), depth="quick"))
    assert report.targets[0].probes
    assert report.targets[0].probes_run == len(report.targets[0].probes)


def test_a_large_run_writes_the_whole_json_and_summarizes_the_console(tmp_path: Path) -> None:
    count = LARGE_RUN + 10
    out = tmp_path / "report.json"
    with serve_demo() as base:
        urls = [f"{base}/api/{'status' if n % 2 else 'profile'}?n={n}" for n in range(count)]
        listing = tmp_path / "urls.txt"
        listing.write_text("\n".join(urls) + "\n")
        args = ["audit", "-i", str(listing), "--depth", "quick", "-o", str(out)]
        result = runner.invoke(app, [*args, "--allow-origin", "https://app.example.com"])
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    data = json.loads(out.read_text("utf-8"))
    assert [t["url"] for t in data["targets"]] == urls
    # Every target keeps its probes, compact by default (each probe's shape and verdict).
    assert all(t["checks"]["by_verdict"] and not t["exchanges"] for t in data["targets"])
    assert list(data)[-1] == "summary" and data["summary"]["targets"] == count
    assert not list(tmp_path.glob("*.partial"))
    # The console names the failing targets up to a screenful and counts the rest.
    assert "Findings by rule" in result.output and "-v shows every target in full" in result.output
    assert "Summary:" in result.output


def test_json_on_stdout_is_streamed_in_input_order() -> None:
    with serve_demo() as base:
        urls = [f"{base}/api/status?n={n}" for n in range(LARGE_RUN + 1)]
        result = runner.invoke(
            app, ["audit", *urls, "--depth", "quick", "--format", "json", "--fail-on", "never"]
        )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert [t["url"] for t in data["targets"]] == urls
    assert "\n" not in result.stdout.strip(), "a large report is written compact"


def test_an_unwritable_json_output_fails_before_any_request(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["audit", "http://127.0.0.1:9/", "-o", str(tmp_path / "missing" / "report.json")]
    )
    assert result.exit_code == 2
    assert "cannot write" in result.output and "Traceback" not in result.output


def test_stream_writes_each_target_as_it_is_added() -> None:
    from tests.fixed_report import fixed_report

    report = fixed_report()
    out = io.StringIO()
    stream = JsonStream(out, indent=False)
    stream.begin(report)
    before = len(out.getvalue())
    stream.add(report.targets[0])
    assert len(out.getvalue()) > before
    assert report.targets[0].url in out.getvalue()[before:]


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_ctrl_c_stops_the_run_and_keeps_the_partial_report(
    tmp_path: Path, jobs: str, silent_server: SilentServer
) -> None:
    import os
    import signal
    import subprocess
    import sys

    # A server that never answers: the run is surely under way when it is interrupted.
    port, connected = silent_server.port, silent_server.connected
    listing = tmp_path / "urls.txt"
    listing.write_text("".join(f"http://127.0.0.1:{port}/t/{n}\n" for n in range(60)))
    out = tmp_path / "report.json"
    child = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "corscheck",
            "audit",
            "-i",
            str(listing),
            "-o",
            str(out),
            "--jobs",
            jobs,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # A child of a non-interactive shell may inherit SIGINT ignored; a terminal's Ctrl-C is not.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        process_group=0,
    )
    try:
        assert connected.wait(timeout=30), "corscheck never connected"
        # As a terminal's Ctrl-C: to the whole process group, the worker processes too.
        os.killpg(child.pid, signal.SIGINT)
        _, stderr = child.communicate(timeout=30)
        with pytest.raises(ProcessLookupError):  # no worker outlives the run
            os.killpg(child.pid, 0)
    finally:
        child.kill()
    assert child.returncode == 130
    assert stderr.strip().splitlines() == [
        "corscheck: error: interrupted: 0 of 60 targets audited, 0 findings so far; "
        f"the targets done so far are in {out}.partial"
    ]
    assert (tmp_path / "report.json.partial").exists() and not out.exists()


def test_a_closed_stdout_stops_the_run_quietly() -> None:
    import subprocess
    import sys

    with serve_demo() as base:
        urls = [f"{base}/api/status?n={n}" for n in range(LARGE_RUN + 10)]
        args = ["--depth", "quick", "--format", "json", "--fail-on", "never"]
        child = subprocess.Popen(
            [sys.executable, "-m", "corscheck", "audit", *urls, *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        assert child.stdout is not None and child.stderr is not None
        assert child.stdout.read(100).startswith(b'{"schema"')
        child.stdout.close()  # like `| head -c 100`: the rest does not fit in the pipe's buffer
        stderr = child.stderr.read()
        child.wait(timeout=60)
    assert child.returncode == 141
    assert stderr == b""


def test_a_large_run_lists_the_most_severe_targets_first() -> None:
    """Past the listing's limit the targets left out are the least severe, whatever the input
    order: a high finding at the end of a long run of medium ones is listed."""
    from dataclasses import replace

    from corscheck.report.console import render
    from tests.fixed_report import fixed_report

    fixed = fixed_report()
    high, _, medium = fixed.targets[0].findings
    mediums = [
        TargetReport(
            f"https://m{n}.example/x",
            None,
            findings=(replace(medium, target=f"https://m{n}.example/x"),),
            requests_sent=1,
        )
        for n in range(LARGE_RUN + 10)
    ]
    last = TargetReport(
        "https://last.example/x",
        None,
        findings=(replace(high, target="https://last.example/x"),),
        requests_sent=1,
    )
    shown = render(replace(fixed, targets=(*mediums, last)), width=120)
    listing = shown.split("Targets with findings or errors:", 1)[1]
    assert listing.splitlines()[1].strip().startswith("✗ https://last.example/x")
    hidden = LARGE_RUN + 10 + 1 - 20  # every target failed; 20 are listed
    assert f"… and {hidden} more ({hidden} medium)" in listing


def test_a_large_runs_left_out_targets_are_counted_by_severity_never_called_less_severe() -> None:
    """Issue 34: "205 more, less severe" was printed when 55 of them were critical."""
    from dataclasses import replace

    from corscheck.report.console import render
    from tests.fixed_report import fixed_report

    fixed = fixed_report()
    high = fixed.targets[0].findings[0]
    criticals = [
        TargetReport(
            f"https://c{n}.example/x",
            None,
            findings=(replace(high, severity="critical", target=f"https://c{n}.example/x"),),
            requests_sent=1,
        )
        for n in range(LARGE_RUN + 5)
    ]
    broken = TargetReport(
        "https://down.example/x",
        None,
        errors=(TargetErrorRecord("connect", "connection refused"),),
    )
    shown = render(replace(fixed, targets=(*criticals, broken)), width=120)
    assert "less severe" not in shown
    assert (
        f"… and {LARGE_RUN + 5 + 1 - 20} more ({LARGE_RUN + 5 - 20} critical, 1 with errors)"
        in shown
    )

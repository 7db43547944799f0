"""Reports are whole documents on every exit path: stdout and every -o file hold one complete, valid
JSON document (errors and a partial mark inside it) or nothing, whatever stops the run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from typer.testing import CliRunner

from corscheck.cli import app


class _Stalling(BaseHTTPRequestHandler):
    """Answers the first ANSWERED requests, then holds every other one until the test ends: the run
    can write some targets but never finish, however fast or slow the machine is."""

    ANSWERED = 400
    protocol_version = "HTTP/1.1"

    def _answer(self) -> None:
        server = self.server
        assert isinstance(server, _StallingServer)
        with server.lock:
            server.count += 1
            stall = server.count > self.ANSWERED
        if stall:
            server.release.wait(timeout=120)  # bounded: the fixture sets it at teardown
        self.send_response(204)
        self.send_header("Access-Control-Allow-Origin", "*")
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_GET = do_HEAD = do_OPTIONS = _answer

    def log_message(self, format: str, *args: object) -> None:
        pass


class _StallingServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Stalling)
        self.lock = threading.Lock()
        self.count = 0
        self.release = threading.Event()


@pytest.fixture
def slow_server() -> Iterator[str]:
    server = _StallingServer()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.release.set()
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


@pytest.mark.parametrize("signals", [1, 2], ids=["ctrl-c", "double-ctrl-c"])
def test_ctrl_c_leaves_valid_partial_reports_that_merge_reads(
    slow_server: str, tmp_path: Path, signals: int
) -> None:
    """A second SIGINT 5 ms after the first (a double Ctrl-C, `timeout -s INT`) changes nothing:
    exit 130, valid partial reports, no traceback (issue 34)."""
    urls = tmp_path / "urls.txt"
    urls.write_text("".join(f"{slow_server}/t{i}\n" for i in range(3000)))
    report = tmp_path / "report.json"
    stdout = (tmp_path / "stdout.json").open("wb")
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "corscheck", "audit", "-i", str(urls), "--depth", "quick"),
            *("--format", "json", "-o", str(report), "--no-proxy"),
        ],
        stdout=stdout,
        stderr=subprocess.PIPE,
        cwd=tmp_path,
    )
    partial = Path(f"{report}.partial")
    try:
        for _ in range(600):  # up to 60 s for the answered targets to be written
            if partial.exists() and partial.stat().st_size > 4000:
                break
            time.sleep(0.1)
        else:
            raise AssertionError("the run wrote no targets in time")
        for number in range(signals):
            if number:
                time.sleep(0.005)
            process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        stdout.close()
    assert process.returncode == 130, err
    assert b"Traceback" not in err and b"internal error" not in err, err
    assert not report.exists()
    for text in (partial.read_text(), (tmp_path / "stdout.json").read_text()):
        document = json.loads(text)
        assert document["summary"]["partial"] is True
        assert document["summary"]["passed"] is False
        assert 0 < len(document["targets"]) < 3000
        assert document["summary"]["targets"] == len(document["targets"])
    assert b"report.json.partial" in err
    merged = subprocess.run(
        [sys.executable, "-m", "corscheck", "merge", str(partial), "--format", "json"],
        capture_output=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert merged.returncode == 3, merged.stderr  # partial: not every target was audited
    document = json.loads(merged.stdout)
    assert document["summary"]["partial"] is True
    assert any("partial report" in w for w in document["warnings"])


def _audit_into_a_closed_stdout(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    """`corscheck audit ARGS` whose stdout nobody reads: its first write fails."""
    read, write = os.pipe()
    os.close(read)
    try:
        return subprocess.run(
            [sys.executable, "-m", "corscheck", "audit", *args, "--depth", "quick", "--no-proxy"],
            stdout=write,
            stderr=subprocess.PIPE,
            cwd=tmp_path,
            timeout=120,
        )
    finally:
        os.close(write)


def test_closed_stdout_still_finishes_the_files(slow_server: str, tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    process = _audit_into_a_closed_stdout(
        tmp_path, f"{slow_server}/a", f"{slow_server}/b", "--format", "json", "-o", str(report)
    )
    assert process.returncode == 141, process.stderr
    document = json.loads(Path(f"{report}.partial").read_text())
    assert document["summary"]["partial"] is True


def _invoke_json(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["audit", *args, "--format", "json", "--no-proxy"])
    return result.exit_code, result.stdout, result.stderr or ""


def test_a_stray_error_is_the_targets_error(
    slow_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An exception no step named (an EOFError here) is that target's error; the run goes on."""
    from corscheck.runner import Runner

    real = Runner.judged_exchange

    async def flaky(self: Runner, probe: object, preflights: object = None) -> object:
        if "/bad" in probe.url:  # type: ignore[attr-defined]
            raise EOFError("stream ended")
        return await real(self, probe, preflights)  # type: ignore[arg-type]

    monkeypatch.setattr(Runner, "judged_exchange", flaky)
    code, out, err = _invoke_json(f"{slow_server}/bad", f"{slow_server}/good")
    document = json.loads(out)
    assert [t["errors"] for t in document["targets"]] == [
        [{"kind": "protocol", "message": "EOFError: stream ended"}],
        [],
    ]
    assert code in (1, 3)
    assert "Aborted" not in err


def test_a_bug_is_one_line_and_the_report_is_still_whole(
    slow_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import corscheck.audit

    def broken(*args: object, **kwargs: object) -> None:
        raise TypeError("a bug")

    monkeypatch.setattr(corscheck.audit, "evaluate", broken)
    monkeypatch.delenv("CORSCHECK_DEBUG", raising=False)
    code, out, err = _invoke_json(f"{slow_server}/a")
    assert code == 2
    assert json.loads(out)["summary"]["partial"] is True
    assert err.strip().splitlines() == [
        "corscheck: internal error: TypeError: a bug (set CORSCHECK_DEBUG=1 for details and "
        "please report it)"
    ]


@pytest.mark.parametrize("fmt", ["console", "json", "markdown", "sarif", "junit", "github", "html"])
def test_a_closed_stdout_is_141_in_every_format(slow_server: str, tmp_path: Path, fmt: str) -> None:
    """Whatever the format, a reader that left (`| head`) ends the run quietly with 141."""
    process = _audit_into_a_closed_stdout(
        tmp_path, f"{slow_server}/a", "--format", fmt, "--fail-on", "never"
    )
    assert process.returncode == 141, process.stderr
    assert b"Traceback" not in process.stderr

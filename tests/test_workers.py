"""Worker processes (corscheck/runner/workers.py): how many a run gets, their part of the limits,
results in input order within the window, a worker's error and death, and the proof that matters:
an audit in worker processes writes the very report one process writes."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from corscheck.audit import _work_share
from corscheck.config import TARGETS_PER_WORKER, AuditConfig
from corscheck.demo import ROUTES, serve_routes
from corscheck.report.model import TargetReport
from corscheck.runner import HostNews, run_async
from corscheck.runner.workers import Share, WorkerFailed, Workers, share_of, worker_count
from corscheck.target import Target
from corscheck.transport.options import RunOptions
from tests.conftest import SilentServer

DEFAULTS = RunOptions()


@pytest.fixture
def one_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    """As the command line runs: a single thread (a test runner may have more)."""
    monkeypatch.setattr(threading, "active_count", lambda: 1)


@pytest.fixture
def two_cores(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("corscheck.runner.workers.usable_cores", lambda: 2)


# --- how many -----------------------------------------------------------------------------------


@pytest.mark.usefixtures("one_thread", "two_cores")
@pytest.mark.parametrize(
    ("targets", "expected"),
    [
        (TARGETS_PER_WORKER - 1, 1),  # too few to pay for a second process
        (2 * TARGETS_PER_WORKER - 1, 1),
        (2 * TARGETS_PER_WORKER, 2),
        (100 * TARGETS_PER_WORKER, 2),  # never more than the cores
    ],
)
def test_by_default_a_worker_per_core_for_every_hundred_targets(
    targets: int, expected: int
) -> None:
    assert worker_count(None, targets, DEFAULTS) == expected


@pytest.mark.usefixtures("one_thread")
def test_by_default_each_worker_keeps_four_requests_in_flight_to_a_host(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("corscheck.runner.workers.usable_cores", lambda: 64)
    many = 1000 * TARGETS_PER_WORKER
    assert worker_count(None, many, DEFAULTS) == 4  # 16 per host
    assert worker_count(None, many, RunOptions(per_host=23)) == 5
    assert worker_count(None, many, RunOptions(per_host=7)) == 1
    assert worker_count(12, many, RunOptions(per_host=12)) == 12  # as asked


@pytest.mark.usefixtures("one_thread", "two_cores")
def test_jobs_asked_for_are_given_up_to_the_targets_and_the_limits() -> None:
    assert worker_count(3, 10, DEFAULTS) == 3  # more than the cores, as asked
    assert worker_count(1, 10_000, DEFAULTS) == 1
    assert worker_count(8, 5, DEFAULTS) == 5
    assert worker_count(8, 500, RunOptions(per_host=3)) == 3  # each needs a request slot
    assert worker_count(8, 500, RunOptions(concurrency=2)) == 2


@pytest.mark.usefixtures("two_cores")
def test_no_workers_from_a_process_with_a_second_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(threading, "active_count", lambda: 2)
    assert worker_count(2, 10_000, DEFAULTS) == 1
    monkeypatch.setattr(threading, "active_count", lambda: 1)
    assert worker_count(2, 10_000, DEFAULTS) == 2


@pytest.mark.parametrize("count", [1, 2, 3, 7])
@pytest.mark.parametrize(
    "options",
    [DEFAULTS, RunOptions(concurrency=10, per_host=7, rate=20.0), RunOptions(concurrency=7)],
)
def test_the_workers_together_stay_within_the_runs_limits(options: RunOptions, count: int) -> None:
    share = share_of(options, count)
    if count <= min(options.concurrency, options.per_host):
        assert share.concurrency * count <= options.concurrency
        assert share.per_host * count <= options.per_host
    assert share.concurrency >= 1 and share.per_host >= 1
    if options.rate is not None:
        assert share.rate is not None and share.rate * count == pytest.approx(options.rate)
    else:
        assert share.rate is None
    assert (share.timeout, share.send_unsafe, share.retries) == (
        options.timeout,
        options.send_unsafe,
        options.retries,
    )


# --- the hand-out -------------------------------------------------------------------------------


def _serve(job: object) -> object:
    """A worker's `serve`: `job` run for each index handed out."""

    def serve(share: Share) -> None:
        run_async(share.run(job), interruptible=False)  # type: ignore[arg-type]

    return serve


async def _squared(index: int) -> tuple[int, int]:
    # Later indexes often end first: the order must come from the parent, not from the timing.
    await asyncio.sleep(((7 * index) % 5) / 1000)
    return index, index * index


def _collect(workers: Workers[object], total: int, window: int) -> tuple[list[object], int]:
    widest = 0

    async def collect() -> list[object]:
        nonlocal widest
        results = []
        async for result in workers.results(total, window):
            widest = max(widest, workers._next - workers._yielded)
            results.append(result)
        return results

    # Bounded: a hang is a failure here, not a frozen suite.
    return run_async(asyncio.wait_for(collect(), 60)), widest


@pytest.mark.parametrize(("count", "total", "window"), [(2, 50, 8), (3, 17, 1), (2, 1, 4)])
def test_results_come_in_input_order_and_never_beyond_the_window(
    count: int, total: int, window: int
) -> None:
    workers: Workers[object] = Workers.fork(count, _serve(_squared))  # type: ignore[arg-type]
    results, widest = _collect(workers, total, window)
    assert results == [(n, n * n) for n in range(total)]
    assert widest <= window
    for worker in workers._workers:  # every worker was waited for: none is left behind
        with pytest.raises(ChildProcessError):
            os.waitpid(worker.pid, os.WNOHANG)


def test_every_worker_gets_a_share_of_the_work() -> None:
    async def whose(index: int) -> int:
        await asyncio.sleep(0.001)
        return os.getpid()

    workers: Workers[object] = Workers.fork(2, _serve(whose))  # type: ignore[arg-type]
    pids, _ = _collect(workers, 40, 8)
    assert set(pids) == {w.pid for w in workers._workers}


def _telling(share: Share) -> None:
    """A worker's `serve` for the news test. Index 1 tells "hello" twice and "bye" once; index 0,
    in the other worker, ends once it has heard "bye". Each result: the worker, what it heard."""
    heard: list[str] = []
    got_bye = asyncio.Event()

    def hear(news: str) -> None:
        heard.append(news)
        if news == "bye":
            got_bye.set()

    async def job(index: int) -> tuple[int, list[str]]:
        if index == 0:
            await asyncio.wait_for(got_bye.wait(), 30)  # bounded: a hang fails here
        if index == 1:
            for news in ("hello", "hello", "bye"):
                share.tell(news)
        return os.getpid(), list(heard)

    run_async(share.run(job, hear), interruptible=False)


def test_what_a_worker_tells_the_others_hear_once_in_the_order_told() -> None:
    workers: Workers[tuple[int, list[str]]] = Workers.fork(2, _telling)
    # Window 2: index 0 and index 1 go out at once, one to each worker.
    results, _ = _collect(workers, 2, 2)  # type: ignore[arg-type]
    (listener, heard), (teller, told) = results
    assert listener != teller
    assert heard == ["hello", "bye"]
    assert told == []  # a worker does not hear its own news


def test_news_is_one_line() -> None:
    share = Share(-1, -1)
    with pytest.raises(ValueError, match="one line"):
        share.tell("two\nlines")


def test_a_jobs_error_is_raised_in_the_parent_with_the_workers_traceback() -> None:
    async def failing(index: int) -> int:
        if index == 5:
            raise ValueError("index 5 is bad")
        return index

    workers: Workers[object] = Workers.fork(2, _serve(failing))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="index 5 is bad") as raised:
        _collect(workers, 20, 4)
    assert any("in a worker process" in note for note in raised.value.__notes__)


def test_a_worker_that_dies_is_an_error_not_a_hang() -> None:
    async def dying(index: int) -> int:
        if index == 3:
            os._exit(9)
        return index

    workers: Workers[object] = Workers.fork(2, _serve(dying))  # type: ignore[arg-type]
    with pytest.raises(WorkerFailed, match="ended with"):
        _collect(workers, 20, 4)


def test_a_worker_that_exits_without_working_is_an_error_not_a_hang() -> None:
    workers: Workers[object] = Workers.fork(2, lambda share: None)
    with pytest.raises(WorkerFailed):
        _collect(workers, 20, 4)


def test_a_result_that_cannot_travel_is_an_error_not_a_hang() -> None:
    async def unpicklable(index: int) -> object:
        return (lambda: index) if index == 4 else index

    workers: Workers[object] = Workers.fork(2, _serve(unpicklable))  # type: ignore[arg-type]
    with pytest.raises(Exception, match="pickle"):
        _collect(workers, 20, 4)


def test_an_error_in_the_parents_hearing_of_a_result_ends_the_run() -> None:
    workers: Workers[object] = Workers.fork(2, _serve(_squared))  # type: ignore[arg-type]

    def on_done(result: object) -> None:
        raise OSError("the progress line's stream is closed")

    async def collect() -> list[object]:
        return [result async for result in workers.results(20, 4, on_done)]

    with pytest.raises(OSError, match="stream is closed"):
        run_async(asyncio.wait_for(collect(), 60))


def test_a_run_stopped_early_ends_its_workers() -> None:
    async def slow(index: int) -> int:
        await asyncio.sleep(0.01)
        return index

    workers: Workers[object] = Workers.fork(2, _serve(slow))  # type: ignore[arg-type]

    async def first_three() -> list[object]:
        results = workers.results(1000, 16)
        taken = [await anext(results) for _ in range(3)]
        await results.aclose()  # type: ignore[attr-defined]
        return taken

    assert run_async(first_three()) == [0, 1, 2]
    for worker in workers._workers:
        with pytest.raises(ChildProcessError):
            os.waitpid(worker.pid, os.WNOHANG)


# --- the whole audit ----------------------------------------------------------------------------


def _audit(urls: list[str], folder: Path, jobs: int, *extra: str) -> tuple[dict[str, object], str]:
    listing = folder / "urls.txt"
    listing.write_text("".join(f"{url}\n" for url in urls))
    out = folder / f"jobs{jobs}.json"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "corscheck",
            "audit",
            "-i",
            str(listing),
            "--jobs",
            str(jobs),
            "--fail-on",
            "never",
            "--quiet",
            "-o",
            str(out),
            *extra,
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    text = re.sub(r'\["Date"," ?[^"]*"\]', '["Date","…"]', out.read_text("utf-8"))
    report = json.loads(text)  # without the clock: when it ran and the server's Date lines
    report.pop("generated_at")
    return report, done.stdout


@pytest.mark.parametrize(
    "extra",
    [
        pytest.param(("--depth", "quick"), id="quick"),
        # The probes written in full: they travel whole.
        pytest.param(("--depth", "standard", "--detail", "full"), id="full"),
        # A policy, a secret header and a secret in the URLs: masked alike either way.
        pytest.param(
            (
                "--allow-origin",
                "https://app.example.com",
                "--credentials",
                "-H",
                "Authorization: Bearer hunter2-token",
            ),
            id="policy",
        ),
    ],
)
def test_an_audit_in_worker_processes_writes_the_report_one_process_writes(
    tmp_path: Path, extra: tuple[str, ...]
) -> None:
    # A path that refuses the front-end the others let read: notes that join targets (PathScopes).
    routes = {**ROUTES, "/api/closed": lambda origin, preflight: (200, [])}
    with serve_routes(routes) as base:
        # Every route, each under several paths and with a secret in some queries: passing and
        # failing targets interleaved, more of them than one window.
        urls = [
            f"{base}{path}?n={n}" + ("&token=s3cr3t-value" if n % 3 == 0 else "")
            for n in range(16)
            for path in routes
        ]
        one, one_printed = _audit(urls, tmp_path, 1, *extra)
        two, two_printed = _audit(urls, tmp_path, 2, *extra)
    assert len(one["targets"]) == len(urls)  # type: ignore[arg-type]
    assert two == one
    assert two_printed == one_printed
    text = json.dumps(two)
    assert "s3cr3t-value" not in text and "token=****" in text
    assert "hunter2-token" not in text
    if "--allow-origin" in extra:
        assert "CORS differs by path" in text or "of the same API" in text


def test_workers_end_with_a_parent_killed_outright(
    tmp_path: Path, silent_server: SilentServer
) -> None:
    import signal
    import time

    # A server that never answers: the workers are busy when their parent is killed.
    port, connected = silent_server.port, silent_server.connected
    listing = tmp_path / "urls.txt"
    listing.write_text("".join(f"http://127.0.0.1:{port}/t/{n}\n" for n in range(300)))
    child = subprocess.Popen(
        [sys.executable, "-m", "corscheck", "audit", "-i", str(listing), "--jobs", "2", "-q"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        process_group=0,
    )
    try:
        assert connected.wait(timeout=30), "corscheck never connected"
        child.kill()  # the parent alone, with no chance to stop its workers itself
        child.wait(timeout=30)
        deadline = time.monotonic() + 30  # a bound, not a timing: they are gone well before
        while time.monotonic() < deadline:
            try:
                os.killpg(child.pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.05)
        with pytest.raises(ProcessLookupError):
            os.killpg(child.pid, 0)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(child.pid, signal.SIGKILL)


@pytest.mark.parametrize(
    ("files", "at_most"),
    [
        ({"cpu.max": "max 100000\n"}, None),  # no quota: the affinity
        ({"cpu.max": "150000 100000\n"}, 2),  # one and a half CPUs: two workers can use them
        ({"cpu.max": "100000 100000\n"}, 1),
        ({"cpu/cpu.cfs_quota_us": "50000\n", "cpu/cpu.cfs_period_us": "100000\n"}, 1),  # v1
        ({"cpu/cpu.cfs_quota_us": "-1\n", "cpu/cpu.cfs_period_us": "100000\n"}, None),
        ({"cpu.max": "garbage"}, None),
        ({}, None),
    ],
)
def test_a_containers_cpu_quota_caps_the_cores(
    tmp_path: Path, files: dict[str, str], at_most: int | None
) -> None:
    from corscheck.runner.workers import usable_cores

    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    affinity = len(os.sched_getaffinity(0))
    expected = affinity if at_most is None else min(affinity, at_most)
    assert usable_cores(tmp_path) == expected


# --- what the workers tell each other of a host -------------------------------------------------


class _OneTargetShare:
    """Stands in for a worker's Share in `_work_share`: hands out index 0 after passing on `news`,
    and keeps what the worker tells and sends."""

    def __init__(self, news: list[str]) -> None:
        self.news = news
        self.told: list[str] = []
        self.results: list[object] = []

    async def run(self, job: Any, hear: Any) -> None:
        for line in self.news:
            hear(line)
        self.results.append(await job(0))

    def tell(self, news: str) -> None:
        self.told.append(news)


def test_a_worker_keeps_the_pace_another_slowed_a_host_to_and_tells_its_own() -> None:
    """_work_share wires a worker's runner to its Share: a host another worker slowed to 1000/s
    that limits this worker too is slowed to 500/s (half the heard pace, where a runner of its own
    would start from 10/s), and the others are told, then that the host answers."""
    limited = threading.Event()

    def limited_once(origin: str | None, preflight: bool) -> tuple[int, list[tuple[str, str]]]:
        if not limited.is_set():
            limited.set()
            return 429, [("Retry-After", "0")]
        return 200, [("Access-Control-Allow-Origin", "https://app.example.com")]

    with serve_routes({"/api": limited_once}) as base:
        config = AuditConfig(
            (Target(base + "/api", None),), depth="quick", options=RunOptions(trust_env=False)
        )
        share = _OneTargetShare([HostNews(base, 1000.0).line()])
        _work_share(config, 2, False, share)  # type: ignore[arg-type]
    (report,) = share.results
    assert isinstance(report, TargetReport)
    assert any("slowed to 500 requests/s" in note for note in report.notes), report.notes
    assert share.told == [HostNews(base, 500.0).line(), HostNews(base).line()]

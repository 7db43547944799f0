"""Worker processes for a run of many targets: forked before the run's event loop starts, each is
handed target indexes one at a time and sends its reports back; the parent takes them in input order.

Why processes: an audit spends its time in Python (reading answers, the browser's walk, judging),
not waiting for the network, so one process keeps one core busy and leaves the others idle. The
targets of a sweep are independent, so each core can take its own. Workers share nothing but the
run's limits, and those are divided among them (`share_of`), so together they never exceed them.

Why fork: a worker inherits the resolved run (targets, policies, the visitor) without pickling it
and without importing anything again, and starts in milliseconds. Only from a process with one
thread (`worker_count`): a fork copies the calling thread alone, and a lock another thread held
would stay held in the child.

Why a hand-out, not a fixed split: the parent writes reports in input order, so it hands out the
next index only within `window` of the last report written. A slow target holds back no more than
it does in one process, memory stays bounded, and a worker that finishes early takes the next one.

What one worker learns, the others hear (`Share.tell`): the parent passes each piece of news on
(a host that rate-limits the run, the pace it was slowed to: the runner's HostNews).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import pickle
import signal
import struct
import sys
import threading
import time
import traceback
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Generic, TypeVar

from corscheck.config import TARGETS_PER_WORKER
from corscheck.transport.options import RunOptions

T = TypeVar("T")
_LENGTH = struct.Struct("!I")  # each message: its length, then its pickle
_HOST_SLOTS = 4  # by default, the least of the per-host limit a worker gets
_STOP_WAIT = 5.0  # seconds a finished worker gets to exit before it is killed


class WorkerFailed(RuntimeError):
    """A worker process ended before the targets it was handed were done."""


def usable_cores(cgroup: Path = Path("/sys/fs/cgroup")) -> int:
    """The cores this process may keep busy: its CPU affinity, and no more than a container's CPU
    quota (cgroup v2 `cpu.max`, v1 `cpu.cfs_quota_us`) allows. A container capped at one CPU on a
    host of many sees every core in its affinity, and workers beyond the quota only wait."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    quota = _cpu_quota(cgroup)
    return max(1, min(cores, math.ceil(quota))) if quota is not None else cores


def _cpu_quota(cgroup: Path) -> float | None:
    """CPUs' worth of time the cgroup may use per period; None: no quota, or none readable."""
    try:
        quota, period = (cgroup / "cpu.max").read_text().split()[:2]
        return None if quota == "max" else int(quota) / int(period)
    except (OSError, ValueError):
        pass
    try:
        quota_us = int((cgroup / "cpu" / "cpu.cfs_quota_us").read_text())
        period_us = int((cgroup / "cpu" / "cpu.cfs_period_us").read_text())
    except (OSError, ValueError):
        return None
    return quota_us / period_us if quota_us > 0 and period_us > 0 else None


def worker_count(requested: int | None, targets: int, options: RunOptions) -> int:
    """How many worker processes audit `targets` targets: `requested` (--jobs), else one per usable
    core for every TARGETS_PER_WORKER targets, each with at least _HOST_SLOTS of the per-host limit.
    1 means none: the run stays in this process.

    Never more than the targets, nor than the run's total and per-host limits (each worker needs a
    request slot of each); none where forking is impossible or unsafe (a second thread), nor for a
    run with a rate limit."""
    if not hasattr(os, "fork") or threading.active_count() > 1:
        return 1
    if options.rate is not None:
        # A rate is a spacing between requests (nginx's limit_req refuses a burst): only one
        # process can keep it exactly.
        return 1
    wanted = requested
    if wanted is None:
        # Each keeps a few requests in flight to a host: a sweep of one API on a machine of many
        # cores would otherwise be many workers waiting on one request each.
        wanted = min(usable_cores(), targets // TARGETS_PER_WORKER, options.per_host // _HOST_SLOTS)
    return max(1, min(wanted, targets, options.concurrency, options.per_host))


def share_of(options: RunOptions, count: int) -> RunOptions:
    """One worker's part of the run's limits, so that `count` workers together stay within them."""
    return replace(
        options,
        concurrency=max(1, options.concurrency // count),
        per_host=max(1, options.per_host // count),
        rate=None if options.rate is None else options.rate / count,
    )


@dataclass
class _Worker:
    pid: int
    tasks: int  # the parent writes indexes here, a line each, then END; news any time; -1: closed
    results: int  # the worker writes its messages here
    handed: int = 0  # indexes handed out whose result has not come back
    received: bytearray = field(default_factory=bytearray)
    outbox: bytearray = field(default_factory=bytearray)  # lines not yet taken by the pipe
    told_end: bool = False  # END is in the outbox (or written)
    ended: bool = False


# The last line the parent writes: EOF without it means the parent is gone, not done.
_END = b"end\n"
_NEWS = b"+"  # a task line that starts so is news from another worker, not an index


class Share:
    """A worker's own end: the indexes it is handed, and the way its results go back."""

    def __init__(self, tasks: int, results: int) -> None:
        self._tasks = tasks
        self._results = results

    async def run(
        self, job: Callable[[int], Awaitable[object]], hear: Callable[[str], None] | None = None
    ) -> None:
        """Runs `job` for each index handed to this worker, concurrently, and sends each result
        back as it ends; returns once the parent has handed out everything and all have ended.
        `hear` gets the news other workers `tell`, before any index handed out after it.
        A job that raises sends its error instead (the parent stops the run); a parent that is
        gone ends the worker at once."""
        loop = asyncio.get_running_loop()
        indexes: asyncio.Queue[int | None] = asyncio.Queue()
        unread = b""
        ended = False  # END came: no more indexes, news still may

        def readable() -> None:
            nonlocal unread, ended
            try:
                chunk = os.read(self._tasks, 65536)
            except BlockingIOError:
                return
            if not chunk:
                loop.remove_reader(self._tasks)
                if not ended:
                    os._exit(1)  # the parent died: nobody reads what this worker would send
                return
            *lines, unread = (unread + chunk).split(b"\n")
            for line in lines:
                if line + b"\n" == _END:
                    ended = True
                    indexes.put_nowait(None)
                elif line.startswith(_NEWS):
                    if hear is not None:
                        hear(line[len(_NEWS) :].decode())
                else:
                    indexes.put_nowait(int(line))

        os.set_blocking(self._tasks, False)
        loop.add_reader(self._tasks, readable)
        running: set[asyncio.Task[None]] = set()
        while (index := await indexes.get()) is not None:
            task = asyncio.ensure_future(self._answer(job, index))
            running.add(task)
            task.add_done_callback(running.discard)
        await asyncio.gather(*running)
        loop.remove_reader(self._tasks)

    async def _answer(self, job: Callable[[int], Awaitable[object]], index: int) -> None:
        try:
            self._send(("result", index, await job(index)))
        except Exception as error:  # the job's, or a result that cannot be pickled
            self.send_error(error, index)
            raise

    def tell(self, news: str) -> None:
        """Passes `news` (one line) to the other workers; the parent passes each piece on once."""
        if "\n" in news:
            raise ValueError(f"news is one line: {news!r}")
        self._send(("news", -1, news))

    def send_error(self, error: BaseException, index: int = -1) -> None:
        """Tells the parent of `error` (in the job for `index`; -1: in the worker itself)."""
        self._send(("error", index, _portable(error)))

    def _send(self, message: object) -> None:
        # Blocking: a parent busy writing its report holds the worker back, which is the point.
        data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
        view = memoryview(_LENGTH.pack(len(data)) + data)
        while view:
            view = view[os.write(self._results, view) :]


def _portable(error: BaseException) -> BaseException:
    """`error` as the parent can unpickle it, the worker's traceback noted on it."""
    where = "".join(traceback.format_exception(error))
    try:
        pickle.loads(pickle.dumps(error))
    except Exception:
        error = RuntimeError(f"{type(error).__name__}: {error}")
    error.add_note(f"in a worker process:\n{where}")
    return error


class Workers(Generic[T]):
    """The parent's end: the forked workers, and their results in input order (`results`)."""

    def __init__(self, workers: list[_Worker]) -> None:
        self._workers = workers
        self._arrived: dict[int, T] = {}
        self._yielded = 0
        self._next = 0
        self._failure: BaseException | None = None
        self._closed = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._total = 0  # the run's shape, set by `results`
        self._window = 0
        self._passed_on: set[str] = set()  # news the workers have been told

    @classmethod
    def fork(cls, count: int, serve: Callable[[Share], None]) -> Workers[T]:
        """Forks `count` workers, each calling `serve` with its Share and then exiting.

        Call it before any event loop runs in this process. A worker leaves everything it inherited
        alone: it never flushes the parent's buffers or open reports (os._exit), ignores Ctrl-C
        (the parent stops it) and ends with its parent."""
        sys.stdout.flush()
        sys.stderr.flush()
        parent = os.getpid()
        workers: list[_Worker] = []
        # Ctrl-C held back until a new worker ignores it: one that came between the fork and that
        # would run the parent's own handler in the worker.
        held = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:
            for _ in range(count):
                tasks_read, tasks_write = os.pipe()
                results_read, results_write = os.pipe()
                pid = os.fork()
                if pid == 0:  # the worker
                    _become_worker(parent, workers, tasks_write, results_read)
                    share = Share(tasks_read, results_write)
                    code = 1
                    try:
                        signal.pthread_sigmask(signal.SIG_SETMASK, held)
                        serve(share)
                        code = 0
                    except BaseException as error:
                        with contextlib.suppress(BaseException):
                            share.send_error(error)
                    finally:
                        os._exit(code)
                os.close(tasks_read)
                os.close(results_write)
                workers.append(_Worker(pid, tasks_write, results_read))
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, held)
        return cls(workers)

    async def results(
        self, total: int, window: int, on_done: Callable[[T], None] | None = None
    ) -> AsyncIterator[T]:
        """The results of indexes 0 … total-1 in that order. Indexes are handed out at most
        `window` beyond the last result yielded, to the worker with the fewest in hand; `on_done`
        hears of each result as it arrives, in any order. Raises a worker's error, or WorkerFailed
        for a worker that ended early."""
        loop = self._loop = asyncio.get_running_loop()
        self._total, self._window = total, window
        wake = asyncio.Event()

        def readable(worker: _Worker) -> None:
            # A callback's exception would only be logged by the loop, and the run would wait
            # for ever: whatever goes wrong here ends the run instead.
            try:
                self._read(worker, on_done)
                self._hand_out()
            except BaseException as error:
                self._failure = self._failure or error
            wake.set()

        for worker in self._workers:
            os.set_blocking(worker.results, False)
            loop.add_reader(worker.results, readable, worker)
        try:
            self._hand_out()
            while self._yielded < total:
                while self._yielded not in self._arrived:
                    if self._failure is not None:
                        raise self._failure
                    wake.clear()
                    await wake.wait()
                result = self._arrived.pop(self._yielded)
                self._yielded += 1
                self._hand_out()
                yield result
        finally:
            for worker in self._workers:
                if not worker.ended:
                    loop.remove_reader(worker.results)
                if worker.tasks >= 0:
                    loop.remove_writer(worker.tasks)
            self.close()

    def done_ahead(self) -> list[tuple[int, T]]:
        """The results that arrived but were not yielded (one before them had not), by index."""
        return sorted(self._arrived.items(), key=lambda item: item[0])

    def _read(self, worker: _Worker, on_done: Callable[[T], None] | None) -> None:
        try:
            chunk = os.read(worker.results, 1 << 20)
        except BlockingIOError:
            return
        if not chunk:
            assert self._loop is not None
            self._loop.remove_reader(worker.results)
            worker.ended = True
            if self._failure is None and (
                worker.handed or (all(w.ended for w in self._workers) and self._next < self._total)
            ):
                self._failure = WorkerFailed(
                    f"a worker process (pid {worker.pid}) ended with "
                    f"{worker.handed} target(s) unfinished"
                )
            return
        received = worker.received
        received += chunk
        messages = []
        start = 0
        while len(received) - start >= _LENGTH.size:
            (length,) = _LENGTH.unpack_from(received, start)
            end = start + _LENGTH.size + length
            if len(received) < end:
                break
            messages.append(bytes(received[start + _LENGTH.size : end]))
            start = end
        del received[:start]  # before anything below can raise: no message is read twice
        for message in messages:
            kind, index, payload = pickle.loads(message)
            if index >= 0:
                worker.handed -= 1
            if kind == "error":
                self._failure = self._failure or payload
                continue
            if kind == "news":
                self._pass_on(worker, payload)
                continue
            self._arrived[index] = payload
            if on_done is not None:
                on_done(payload)

    def _pass_on(self, teller: _Worker, news: str) -> None:
        if news in self._passed_on:
            return
        self._passed_on.add(news)
        line = _NEWS + news.encode() + b"\n"
        for worker in self._workers:
            if worker is not teller and worker.tasks >= 0:
                worker.outbox += line
                self._flush(worker)

    def _hand_out(self) -> None:
        if self._closed or self._failure is not None:
            return
        cap = -(-self._window // len(self._workers))  # each worker's part of the window
        limit = min(self._total, self._yielded + self._window)
        while self._next < limit:
            worker = min(self._workers, key=lambda w: (w.ended, w.handed))
            if worker.ended or worker.handed >= cap:
                break
            worker.outbox += b"%d\n" % self._next
            worker.handed += 1
            self._next += 1
        for worker in self._workers:
            if self._next >= self._total and not worker.told_end:
                worker.outbox += _END
                worker.told_end = True
            self._flush(worker)

    def _flush(self, worker: _Worker) -> None:
        """Writes what the worker's pipe takes now; the rest when it can take more (a worker
        blocked sending a result must not block the parent that would read it)."""
        if worker.tasks < 0 or not worker.outbox:
            return
        assert self._loop is not None
        try:
            written = os.write(worker.tasks, worker.outbox)
        except BlockingIOError:
            written = 0
        except OSError as error:
            if worker.told_end:
                # A worker that was told END and is done has left: news for it is moot. One that
                # died with work in hand is found by its results' end.
                worker.outbox.clear()
                self._loop.remove_writer(worker.tasks)
                return
            self._failure = self._failure or WorkerFailed(
                f"a worker process (pid {worker.pid}): {error}"
            )
            return
        del worker.outbox[:written]
        self._loop.remove_writer(worker.tasks)
        if worker.outbox:
            self._loop.add_writer(worker.tasks, self._flush, worker)

    def close(self) -> None:
        """Ends the workers: those done exit on their own once told there is no more; any still
        working (a stop, an error) are terminated. Waits for all. Safe to call twice."""
        if self._closed:
            return
        self._closed = True
        unfinished = self._failure is not None or self._yielded < self._next
        for worker in self._workers:
            if worker.tasks >= 0:
                if not worker.told_end:
                    unfinished = True  # more was to come: it ends as a dead parent's worker
                os.close(worker.tasks)
                worker.tasks = -1
            if unfinished:
                _signal(worker.pid, signal.SIGTERM)
            os.close(worker.results)
        deadline = time.monotonic() + _STOP_WAIT
        for worker in self._workers:
            while os.waitpid(worker.pid, os.WNOHANG) == (0, 0):
                if time.monotonic() > deadline:
                    _signal(worker.pid, signal.SIGKILL)
                    os.waitpid(worker.pid, 0)
                    break
                time.sleep(0.005)


def _become_worker(
    parent: int, siblings: list[_Worker], tasks_write: int, results_read: int
) -> None:
    """The first steps of a new worker: Ctrl-C ignored, ended with its parent, and only its own
    pipe ends kept (another worker's, held open here, would hide the parent closing it)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _die_with(parent)
    for other in siblings:
        if other.tasks >= 0:
            os.close(other.tasks)
        os.close(other.results)
    os.close(tasks_write)
    os.close(results_read)


def _die_with(parent: int) -> None:
    """SIGTERM when the parent dies (Linux), even killed outright: a worker would otherwise go on
    sending requests for a run nobody reads."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return  # elsewhere, the END line tells a finished parent from one that is gone
    if os.getppid() != parent:  # it died before the line above
        os._exit(1)


def _signal(pid: int, number: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, number)

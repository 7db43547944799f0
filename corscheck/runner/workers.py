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
"""

from __future__ import annotations

import asyncio
import contextlib
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
from typing import Generic, TypeVar

from corscheck.config import TARGETS_PER_WORKER
from corscheck.transport.options import RunOptions

T = TypeVar("T")
_LENGTH = struct.Struct("!I")  # each message: its length, then its pickle
_HOST_SLOTS = 4  # by default, the least of the per-host limit a worker gets
_STOP_WAIT = 5.0  # seconds a finished worker gets to exit before it is killed


class WorkerFailed(RuntimeError):
    """A worker process ended before the targets it was handed were done."""


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity where the system tells it)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def worker_count(requested: int | None, targets: int, options: RunOptions) -> int:
    """How many worker processes audit `targets` targets: `requested` (--jobs), else one per usable
    core for every TARGETS_PER_WORKER targets, each with at least _HOST_SLOTS of the per-host limit.
    1 means none: the run stays in this process.

    Never more than the targets, nor than the run's total and per-host limits (each worker needs a
    request slot of each); none where forking is impossible or unsafe (a second thread)."""
    if not hasattr(os, "fork") or threading.active_count() > 1:
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
    tasks: int  # the parent writes indexes here, a line each; closed: no more
    results: int  # the worker writes its messages here
    handed: int = 0  # indexes handed out whose result has not come back
    received: bytearray = field(default_factory=bytearray)
    ended: bool = False


class Share:
    """A worker's own end: the indexes it is handed, and the way its results go back."""

    def __init__(self, tasks: int, results: int) -> None:
        self._tasks = tasks
        self._results = results

    async def run(self, job: Callable[[int], Awaitable[object]]) -> None:
        """Runs `job` for each index handed to this worker, concurrently, and sends each result
        back as it ends; returns once the parent has handed out everything and all have ended.
        A job that raises sends its error instead, and the worker stops."""
        loop = asyncio.get_running_loop()
        indexes: asyncio.Queue[int | None] = asyncio.Queue()
        unread = b""

        def readable() -> None:
            nonlocal unread
            try:
                chunk = os.read(self._tasks, 65536)
            except BlockingIOError:
                return
            if not chunk:
                loop.remove_reader(self._tasks)
                indexes.put_nowait(None)
                return
            *lines, unread = (unread + chunk).split(b"\n")
            for line in lines:
                indexes.put_nowait(int(line))

        os.set_blocking(self._tasks, False)
        loop.add_reader(self._tasks, readable)
        running: set[asyncio.Task[None]] = set()
        while (index := await indexes.get()) is not None:
            task = asyncio.ensure_future(self._answer(job, index))
            running.add(task)
            task.add_done_callback(running.discard)
        await asyncio.gather(*running)

    async def _answer(self, job: Callable[[int], Awaitable[object]], index: int) -> None:
        try:
            result = await job(index)
        except Exception as error:
            self._send(("error", index, _portable(error)))
            raise
        self._send(("result", index, result))

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

    @classmethod
    def fork(cls, count: int, serve: Callable[[Share], None]) -> Workers[T]:
        """Forks `count` workers, each calling `serve` with its Share and then exiting.

        Call it before any event loop runs in this process. A worker leaves everything it inherited
        alone: it never flushes the parent's buffers or open reports (os._exit), and ignores Ctrl-C
        (the parent stops it)."""
        sys.stdout.flush()
        sys.stderr.flush()
        workers: list[_Worker] = []
        for _ in range(count):
            tasks_read, tasks_write = os.pipe()
            results_read, results_write = os.pipe()
            pid = os.fork()
            if pid == 0:  # the worker
                code = 1
                try:
                    signal.signal(signal.SIGINT, signal.SIG_IGN)
                    # The other workers' pipe ends: held open here, they would hide the parent's
                    # end of a pipe (no EOF when it closes its side).
                    for other in workers:
                        os.close(other.tasks)
                        os.close(other.results)
                    os.close(tasks_write)
                    os.close(results_read)
                    serve(Share(tasks_read, results_write))
                    code = 0
                finally:
                    os._exit(code)
            os.close(tasks_read)
            os.close(results_write)
            workers.append(_Worker(pid, tasks_write, results_read))
        return cls(workers)

    async def results(
        self, total: int, window: int, on_done: Callable[[T], None] | None = None
    ) -> AsyncIterator[T]:
        """The results of indexes 0 … total-1 in that order. Indexes are handed out at most
        `window` beyond the last result yielded, to the worker with the fewest in hand; `on_done`
        hears of each result as it arrives, in any order. Raises a worker's error, or WorkerFailed
        for a worker that ended early."""
        loop = asyncio.get_running_loop()
        wake = asyncio.Event()
        cap = -(-window // len(self._workers))  # each worker's part of the window

        def readable(worker: _Worker) -> None:
            try:
                chunk = os.read(worker.results, 1 << 20)
            except BlockingIOError:
                return
            if chunk:
                self._receive(worker, chunk, on_done)
            else:
                loop.remove_reader(worker.results)
                worker.ended = True
                if worker.handed and self._failure is None:
                    self._failure = WorkerFailed(
                        f"a worker process (pid {worker.pid}) ended with "
                        f"{worker.handed} target(s) unfinished"
                    )
            self._hand_out(total, window, cap)
            wake.set()

        for worker in self._workers:
            os.set_blocking(worker.results, False)
            loop.add_reader(worker.results, readable, worker)
        try:
            self._hand_out(total, window, cap)
            while self._yielded < total:
                while self._yielded not in self._arrived:
                    if self._failure is not None:
                        raise self._failure
                    wake.clear()
                    await wake.wait()
                result = self._arrived.pop(self._yielded)
                self._yielded += 1
                self._hand_out(total, window, cap)
                yield result
        finally:
            for worker in self._workers:
                if not worker.ended:
                    loop.remove_reader(worker.results)
            self.close()

    def done_ahead(self) -> list[tuple[int, T]]:
        """The results that arrived but were not yielded (one before them had not), by index."""
        return sorted(self._arrived.items(), key=lambda item: item[0])

    def _receive(self, worker: _Worker, chunk: bytes, on_done: Callable[[T], None] | None) -> None:
        received = worker.received
        received += chunk
        start = 0
        while len(received) - start >= _LENGTH.size:
            (length,) = _LENGTH.unpack_from(received, start)
            end = start + _LENGTH.size + length
            if len(received) < end:
                break
            kind, index, payload = pickle.loads(received[start + _LENGTH.size : end])
            start = end
            worker.handed -= 1
            if kind == "error":
                self._failure = self._failure or payload
                continue
            self._arrived[index] = payload
            if on_done is not None:
                on_done(payload)
        del received[:start]

    def _hand_out(self, total: int, window: int, cap: int) -> None:
        if self._closed or self._failure is not None:
            return
        limit = min(total, self._yielded + window)
        while self._next < limit:
            worker = min(self._workers, key=lambda w: (w.ended, w.handed))
            if worker.ended or worker.handed >= cap:
                break
            try:
                os.write(worker.tasks, b"%d\n" % self._next)
            except OSError as error:  # a worker that died; its EOF says so too
                self._failure = WorkerFailed(f"a worker process (pid {worker.pid}): {error}")
                return
            worker.handed += 1
            self._next += 1
        if self._next >= total:
            self._close_tasks()

    def _close_tasks(self) -> None:
        for worker in self._workers:
            if worker.tasks >= 0:
                os.close(worker.tasks)
                worker.tasks = -1

    def close(self) -> None:
        """Ends the workers: those done exit on their own once told there is no more; any still
        working (a stop, an error) are terminated. Waits for all. Safe to call twice."""
        if self._closed:
            return
        self._closed = True
        unfinished = self._failure is not None or self._yielded < self._next
        self._close_tasks()
        for worker in self._workers:
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


def _signal(pid: int, number: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, number)

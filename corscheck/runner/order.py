"""Requests in the order of their targets: a semaphore that admits its waiters by priority, and the
priority of the task that waits (the index of the target it audits).

The audit writes its targets in input order, so the earliest target waiting for a request slot
should get it first: with plain FIFO semaphores, a target whose requests come in rounds (the
cookie-less twins after their credentialed requests) queues behind every later target's first
round, and the first report line waits for all of them.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from contextvars import ContextVar
from types import TracebackType

# The index of the target the current task works for; tasks it starts inherit it.
PRIORITY: ContextVar[int] = ContextVar("corscheck_priority", default=0)


class OrderedSemaphore:
    """`asyncio.Semaphore`, but a free slot goes to the waiter with the lowest PRIORITY (then the
    earliest to arrive)."""

    def __init__(self, value: int) -> None:
        self._free = value
        self._waiters: list[tuple[int, int, asyncio.Future[None]]] = []
        self._arrivals = itertools.count()

    async def acquire(self) -> None:
        if self._free > 0 and not self._waiters:
            self._free -= 1
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiters, (PRIORITY.get(), next(self._arrivals), waiter))
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self.release()  # granted, then cancelled before use: pass the slot on
            raise

    def release(self) -> None:
        while self._waiters:
            _, _, waiter = heapq.heappop(self._waiters)
            if not waiter.done():
                waiter.set_result(None)
                return
        self._free += 1

    async def __aenter__(self) -> None:
        await self.acquire()

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.release()

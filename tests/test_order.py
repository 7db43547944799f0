"""runner/order.py: request slots go to the earliest target first."""

from __future__ import annotations

import asyncio

from corscheck.runner.order import PRIORITY, OrderedSemaphore


def run(coroutine: object) -> object:
    return asyncio.run(coroutine)  # type: ignore[arg-type]


async def _take(slots: OrderedSemaphore, order: list[str], name: str, priority: int) -> None:
    """A task working for the target `priority`: it takes a slot and notes when it got it."""
    PRIORITY.set(priority)
    async with slots:
        order.append(name)


def test_a_free_slot_goes_to_the_lowest_priority_then_the_earliest() -> None:
    async def scenario() -> list[str]:
        slots = OrderedSemaphore(1)
        order: list[str] = []
        await slots.acquire()  # held, so that everyone below has to wait

        tasks = [
            asyncio.ensure_future(_take(slots, order, name, priority))
            for name, priority in (("late target", 3), ("first target", 1), ("second a", 2),
                                   ("second b", 2))
        ]  # fmt: skip
        await asyncio.sleep(0)  # everyone queues
        slots.release()
        await asyncio.gather(*tasks)
        return order

    assert run(scenario()) == ["first target", "second a", "second b", "late target"]


def test_without_waiters_a_slot_is_taken_at_once_and_given_back() -> None:
    async def scenario() -> bool:
        slots = OrderedSemaphore(2)
        await slots.acquire()
        await slots.acquire()
        slots.release()
        await asyncio.wait_for(slots.acquire(), timeout=1)
        return True

    assert run(scenario())


def test_a_cancelled_waiter_does_not_keep_the_slot() -> None:
    async def scenario() -> list[str]:
        slots = OrderedSemaphore(1)
        order: list[str] = []
        await slots.acquire()

        gone = asyncio.ensure_future(_take(slots, order, "cancelled", 0))
        kept = asyncio.ensure_future(_take(slots, order, "kept", 5))
        await asyncio.sleep(0)
        gone.cancel()
        await asyncio.sleep(0)
        slots.release()
        await asyncio.wait_for(kept, timeout=1)
        return order

    assert run(scenario()) == ["kept"]


def test_granted_then_cancelled_passes_the_slot_on() -> None:
    async def scenario() -> list[str]:
        slots = OrderedSemaphore(1)
        order: list[str] = []
        await slots.acquire()

        first = asyncio.ensure_future(_take(slots, order, "first", 0))
        second = asyncio.ensure_future(_take(slots, order, "second", 1))
        await asyncio.sleep(0)
        slots.release()  # granted to `first`, which is cancelled before it runs
        first.cancel()
        await asyncio.wait_for(second, timeout=1)
        return order

    assert run(scenario()) == ["second"]

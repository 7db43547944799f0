"""HTTP layer throughput on loopback: corscheck's transport against httpx and aiohttp.

    python benchmarks/bench_transport.py [--requests 10000]

Each client sends the same GET with an Origin to benchmarks/cors_target_server.py (started and stopped
here) at a few concurrency levels, and prints requests per second. aiohttp is measured only if it is
installed (it is not a corscheck dependency).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from corscheck.exchange import Request
from corscheck.runner import Runner, run_async
from corscheck.transport.options import RunOptions

HERE = Path(__file__).resolve().parent
Sender = Callable[[str, int, int], Awaitable[float]]


async def corscheck_transport(url: str, total: int, concurrency: int) -> float:
    options = RunOptions(concurrency=concurrency, per_host=concurrency)
    request = Request("GET", url, (("Origin", "https://app.example.com"),))
    async with Runner(options) as runner:
        started = time.perf_counter()
        await asyncio.gather(*(runner.send(request) for _ in range(total)))
        return total / (time.perf_counter() - started)


async def httpx_default(url: str, total: int, concurrency: int) -> float:
    import httpx

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits) as client:
        gate = asyncio.Semaphore(concurrency)

        async def one() -> None:
            async with gate:
                await client.get(url, headers={"Origin": "https://app.example.com"})

        started = time.perf_counter()
        await asyncio.gather(*(one() for _ in range(total)))
        return total / (time.perf_counter() - started)


async def aiohttp_plain(url: str, total: int, concurrency: int) -> float:
    import aiohttp

    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def one() -> None:
            async with session.get(url, headers={"Origin": "https://app.example.com"}) as response:
                await response.read()

        started = time.perf_counter()
        await asyncio.gather(*(one() for _ in range(total)))
        return total / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=10_000)
    args = parser.parse_args()
    server = subprocess.Popen(
        [sys.executable, str(HERE / "cors_target_server.py"), "--seconds", "600"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert server.stdout is not None and server.stdin is not None
    url = f"http://127.0.0.1:{int(server.stdout.readline())}/t/1"
    clients: dict[str, Sender] = {
        "corscheck (asyncio loop)": corscheck_transport,
        "httpx default transport": httpx_default,
    }
    try:
        import aiohttp  # noqa: F401

        clients["aiohttp (reference)"] = aiohttp_plain
    except ImportError:
        pass
    try:
        print(
            f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}; {args.requests} GETs"
        )
        print(f"{'client':<28} {'c=20':>8} {'c=64':>8} {'c=100':>8}  (requests/s)")
        for name, sender in clients.items():
            rates = [asyncio.run(sender(url, args.requests, c)) for c in (20, 64, 100)]
            print(f"{name:<28} " + " ".join(f"{r:>8.0f}" for r in rates))
        rates = [run_async(corscheck_transport(url, args.requests, c)) for c in (20, 64, 100)]
        print(f"{'corscheck (uvloop)':<28} " + " ".join(f"{r:>8.0f}" for r in rates))
    finally:
        server.stdin.close()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()

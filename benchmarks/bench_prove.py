"""What --prove costs: an audit of one loopback app with N over-permissive findings' worth of
targets, then the proofs in headless Chromium, timed apart (the browser's start, then per finding).

    python benchmarks/bench_prove.py [--targets 1 10] [--repeat 3]

Needs the prove extra and a Chromium on PATH. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import socket
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from corscheck.audit import run_config
from corscheck.config import Flags, resolve
from corscheck.deliver import proven, settings_for
from corscheck.prove.chromium import find_browser
from corscheck.runner import run_async


def app() -> Any:
    """Every path reflects any origin with credentials: one critical finding per target."""

    async def answer(scope: Any, receive: Any, send: Any) -> None:
        headers = dict(scope["headers"])
        origin = headers.get(b"origin")
        lines = [(b"content-type", b"application/json"), (b"vary", b"Origin")]
        if origin:
            lines += [(b"access-control-allow-origin", origin)]
            lines += [(b"access-control-allow-credentials", b"true")]
        await send({"type": "http.response.start", "status": 200, "headers": lines})
        await send({"type": "http.response.body", "body": b'{"items": [1, 2, 3]}'})

    return answer


def serve() -> tuple[str, Any]:
    import uvicorn

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app(), log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    for _ in range(500):  # bounded wait for start-up
        if server.started:
            break
        time.sleep(0.01)
    return f"http://127.0.0.1:{sock.getsockname()[1]}", server


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--targets", type=int, nargs="+", default=[1, 10])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    executable = find_browser(None)
    base, server = serve()
    try:
        print("targets  findings  audit s  prove s  per finding s")
        for count in args.targets:
            urls = [f"{base}/items/{n}" for n in range(count)]
            config = resolve(Flags(depth="quick"), urls)
            best: tuple[float, float, int] | None = None
            for _ in range(args.repeat):
                start = time.perf_counter()
                report = run_async(run_config(config))
                audited = time.perf_counter()
                proved = proven(report, settings_for(config, executable), quiet=True)
                done = time.perf_counter()
                findings = len(proved.findings())
                assert all(f.proof and f.proof.proved for f in proved.findings())
                run = (audited - start, done - audited, findings)
                best = run if best is None or run[1] < best[1] else best
            assert best is not None
            audit_s, prove_s, findings = best
            print(
                f"{count:7d}  {findings:8d}  {audit_s:7.2f}  {prove_s:7.2f}  "
                f"{prove_s / max(findings, 1):13.3f}"
            )
    finally:
        server.should_exit = True


if __name__ == "__main__":
    main()

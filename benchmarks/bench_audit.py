"""Audit throughput: corscheck against N loopback URLs at each depth; prints wall time, HTTP requests/s,
peak memory (RSS of the corscheck process) and corscheck's CPU share.

    python benchmarks/bench_audit.py                 # 100 and 1,000 URLs
    python benchmarks/bench_audit.py --sizes 1000 10000 --depths quick standard

Starts its own server (benchmarks/cors_target_server.py) on 127.0.0.1 and stops it; every run is bounded.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def start_server() -> tuple[subprocess.Popen[str], int]:
    server = subprocess.Popen(
        [sys.executable, str(HERE / "cors_target_server.py"), "--seconds", "1800"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert server.stdout is not None
    port = int(server.stdout.readline())
    return server, port


def run_audit(urls_file: Path, depth: str, extra: list[str]) -> dict[str, float]:
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "corscheck", "audit", "-i", str(urls_file), "--depth", depth,
             "--fail-on", "never", "--format", "json", *extra],
            stdout=out,
            stderr=subprocess.PIPE,
            text=True,
            timeout=900,
        )  # fmt: skip
        wall = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if done.returncode not in (0, 1):
            raise SystemExit(f"audit failed ({done.returncode}): {done.stderr.strip()[:500]}")
        out.seek(0)
        report = json.load(out)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    requests = report["summary"]["requests"]
    findings = sum(report["summary"]["findings"].values())
    return {
        "wall": wall,
        "requests": requests,
        "rps": requests / wall,
        "cpu_share": cpu / wall,
        "peak_mb": after.ru_maxrss / 1024,
        "findings": findings,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000])
    parser.add_argument("--depths", nargs="+", default=["quick", "standard"])
    parser.add_argument("--extra", nargs=argparse.REMAINDER, default=[], help="more audit options")
    args = parser.parse_args()
    server, port = start_server()
    try:
        print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}")
        print(f"{'urls':>6} {'depth':>9} {'wall s':>8} {'requests':>9} {'req/s':>8} "
              f"{'cpu %':>6} {'peak MB':>8} {'findings':>9}")  # fmt: skip
        for size in args.sizes:
            with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as urls:
                urls.writelines(f"http://127.0.0.1:{port}/t/{n}\n" for n in range(size))
            for depth in args.depths:
                r = run_audit(Path(urls.name), depth, args.extra)
                print(f"{size:>6} {depth:>9} {r['wall']:>8.2f} {r['requests']:>9.0f} {r['rps']:>8.0f} "
                      f"{100 * r['cpu_share']:>6.0f} {r['peak_mb']:>8.0f} {r['findings']:>9.0f}")  # fmt: skip
            os.unlink(urls.name)
    finally:
        assert server.stdin is not None
        server.stdin.close()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()

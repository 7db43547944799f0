"""Audit throughput and scaling: corscheck on N URLs at each depth, over loopback and in-process.

For each mode, size and depth it prints wall time, HTTP requests sent (the JSON report's
summary.requests), requests/s, corscheck's CPU share (user+sys CPU of the corscheck process / wall)
and its peak memory (max RSS of that process alone), then how time and peak memory grow from the
1,000-URL run to the largest one. Modes: `network` audits http://127.0.0.1:<port>/t/<n> served by
cors_target_server.py; `app` audits http://testserver/t/<n> in-process with
`corscheck audit --app asgi_target:app` (the same four behaviours, no sockets).

    python benchmarks/bench_audit.py          # 100, 1,000, 10,000 URLs; quick, standard; both modes
    python benchmarks/bench_audit.py --sizes 100 1000 --depths quick
    python benchmarks/bench_audit.py --sizes 100 1000 --depths quick --modes app
    python benchmarks/bench_audit.py --depths quick standard thorough --modes network
    python benchmarks/bench_audit.py --sizes 1000 --repeat 5 --report console   # fastest of 5
    python benchmarks/bench_audit.py --sizes 1000 --extra --concurrency 128   # more audit options

Starts its own server (benchmarks/cors_target_server.py) on 127.0.0.1 when a network mode runs and
stops it; every audit is killed after --timeout seconds (900 by default), so every run is bounded.
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import platform
import re
import select
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
DEPTHS = ("quick", "standard", "thorough")
MODES = ("network", "app")
APP_BASE_URL = "http://testserver"  # corscheck's default --base-url for --app
# ru_maxrss is in KiB on Linux, in bytes on macOS.
RSS_UNITS_PER_MB = 1024 * 1024 if sys.platform == "darwin" else 1024


@dataclass(frozen=True)
class Measurement:
    wall: float  # seconds, from spawning corscheck to its exit (start-up and report included)
    requests: int
    cpu: float  # user + sys seconds of the corscheck process
    peak_mb: float
    findings: int
    errors: int  # targets that could not be audited (exit code 3), not failed runs

    @property
    def rps(self) -> float:
        return self.requests / self.wall

    @property
    def cpu_share(self) -> float:
        return self.cpu / self.wall


def machine() -> str:
    # platform.processor() is empty on most Linux systems; /proc/cpuinfo names the model there.
    model = platform.processor()
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    model = line.partition(":")[2].strip()
                    break
    except OSError:
        pass
    return (
        f"machine: {os.cpu_count()} cores, {model or 'unknown CPU'}, "
        f"Python {platform.python_version()}, {platform.system()} {platform.release()}"
    )


def start_server(seconds: float) -> tuple[subprocess.Popen[str], int]:
    server = subprocess.Popen(
        [sys.executable, str(HERE / "cors_target_server.py"), "--seconds", str(seconds)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert server.stdout is not None
    port = int(server.stdout.readline())
    return server, port


def stop_server(server: subprocess.Popen[str]) -> None:
    assert server.stdin is not None
    server.stdin.close()  # the server stops when its stdin closes
    try:
        server.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait(timeout=10)


def write_urls(path: Path, mode: str, size: int, port: int | None) -> None:
    # A file, not the command line: the argument list has a size limit, and -i is how large
    # audits are run.
    # With --app, corscheck joins paths to its --base-url; absolute URLs on that host work too.
    base = f"http://127.0.0.1:{port}" if mode == "network" else APP_BASE_URL
    with path.open("w", encoding="utf-8") as urls:
        urls.writelines(f"{base}/t/{n}\n" for n in range(size))


def exited_within(child: subprocess.Popen[bytes], timeout: float) -> bool:
    """Whether the child exits within `timeout` s, without reaping it (wait4 reads its rusage)."""
    if hasattr(os, "pidfd_open"):  # Linux: sleep until the exit itself, so wall time is exact
        pidfd = os.pidfd_open(child.pid)
        try:
            ready, _, _ = select.select([pidfd], [], [], timeout)
        finally:
            os.close(pidfd)
        return bool(ready)
    # Elsewhere: poll for a zombie without reaping it; the deadline bounds the loop.
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if os.waitid(os.P_PID, child.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None:
            return True
        time.sleep(0.002)
    return False


def run_audit(
    command: list[str], env: dict[str, str], workdir: Path, timeout: float
) -> Measurement | str:
    """One corscheck run: its measurement, or why it failed."""
    report_path = workdir / "report.json"
    stderr_path = workdir / "stderr.txt"
    with report_path.open("wb") as stdout, stderr_path.open("wb") as stderr:
        started = time.perf_counter()
        child = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr, cwd=workdir, env=env
        )
        timed_out = not exited_within(child, timeout)
        wall = time.perf_counter() - started
        if timed_out:
            child.kill()
        # wait4 gives this one process's rusage. RUSAGE_CHILDREN would not do: its ru_maxrss is
        # the largest RSS of any child ever waited for, so a later, smaller run would show an
        # earlier run's peak. (This process's own peak also carries over: see read_report.)
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)  # reaped here; Popen must not wait
    if timed_out:
        return f"timed out after {timeout:g} s"
    # 0: nothing reached --fail-on; 1: findings did; 3: some targets could not be audited (counted
    # as errors below). Anything else (2: usage or internal error, < 0: a signal) is a failed run.
    if child.returncode not in (0, 1, 3):
        return f"exit {child.returncode}: {last_line(stderr_path)}"
    figures = read_report(report_path, timeout)
    if isinstance(figures, str):
        return f"exit {child.returncode}, but {figures}"
    return Measurement(
        wall=wall,
        requests=figures["requests"],
        cpu=usage.ru_utime + usage.ru_stime,
        peak_mb=usage.ru_maxrss / RSS_UNITS_PER_MB,
        findings=figures["findings"],
        errors=figures["errors"],
    )


def fastest_of(
    runs: int, command: list[str], env: dict[str, str], workdir: Path, timeout: float
) -> Measurement | str:
    """The fastest of `runs` runs: on a shared machine, the one least disturbed by other work."""
    best: Measurement | str = "not run"
    for _ in range(runs):
        result = run_audit(command, env, workdir, timeout)
        if isinstance(result, str):
            return result
        if isinstance(best, str) or result.wall < best.wall:
            best = result
    return best


def last_line(path: Path) -> str:
    with path.open("rb") as handle:
        handle.seek(max(0, path.stat().st_size - 4096))  # a traceback's last line names the error
        lines = handle.read().decode("utf-8", errors="replace").strip().splitlines()
    return lines[-1][:300] if lines else "no message"


def read_report(path: Path, timeout: float) -> dict[str, int] | str:
    """The figures of a JSON report, read by a helper process (this script with --report-figures).

    Not read here, as this process must stay small: a child's ru_maxrss starts from its parent's
    peak RSS (fork and exec carry the high-water mark over), so once this process had held a large
    report, every later corscheck run would show at least that much peak memory.
    """
    try:
        done = subprocess.run(
            [sys.executable, str(Path(__file__).resolve()), "--report-figures", str(path)],
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        return f"reading the JSON report took over {timeout:g} s"
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines()
        return f"the JSON report cannot be read: {lines[-1] if lines else done.returncode}"
    figures: dict[str, int] = json.loads(done.stdout)
    return figures


def report_figures(path: Path) -> dict[str, int]:
    """Requests, findings and target errors of a corscheck JSON or console report."""
    text = path.read_text("utf-8", errors="replace")
    if not text.startswith("{"):
        # The console report: "corscheck X · N targets · depth D · R requests sent" first, and
        # "Summary: N targets · 1 critical · … · E errors" last.
        requests = re.search(r"(\d+) requests sent", text)
        summary = re.search(r"Summary: .*", text)
        if requests is None or summary is None:
            raise ValueError("not a corscheck console report")
        counts = [int(n) for n in re.findall(r"(\d+) (?:critical|high|medium|low)\b", summary[0])]
        errors = re.search(r"(\d+) errors", summary[0])
        return {
            "requests": int(requests[1]),
            "findings": sum(counts),
            "errors": int(errors[1]) if errors else 0,
        }
    with path.open("rb") as handle:
        # json.load reads the whole object, so key order does not matter: a streaming writer may
        # put "summary" after "targets".
        report = json.load(handle)
    summary = report.get("summary", {})
    targets = report.get("targets", [])
    # The per-target counts are the fallback should the summary ever lack one.
    findings = summary.get("findings", {})
    return {
        "requests": summary.get("requests", sum(t.get("requests", 0) for t in targets)),
        "findings": sum(findings.values()) if isinstance(findings, dict) else int(findings),
        "errors": summary.get("errors", sum(bool(t.get("errors")) for t in targets)),
    }


def audit_command(
    mode: str, urls_file: Path, depth: str, report: str, extra: list[str]
) -> list[str]:
    command = [sys.executable, "-m", "corscheck", "audit", "-i", str(urls_file), "--depth", depth]
    if mode == "app":
        command += ["--app", "asgi_target:app"]
    # The report on stdout, redirected to a file: --fail-on never keeps findings from failing the run.
    return [*command, "--fail-on", "never", "--format", report, *extra]


def short(size: int) -> str:
    return f"{size / 1000:g}k" if size >= 1000 else str(size)


def scaling_lines(
    results: dict[tuple[str, int, str], Measurement],
    sizes: list[int],
    depths: list[str],
    modes: list[str],
) -> list[str]:
    """The largest run against the 1,000-URL one (or the smallest, if 1,000 is not a size)."""
    largest = max(sizes)
    base = 1000 if 1000 in sizes and largest > 1000 else min(sizes)
    if base == largest:
        return []
    lines = [f"scaling ({short(base)} → {short(largest)} URLs, ×{largest / base:g}):"]
    for depth in depths:
        for mode in modes:
            small, large = results.get((mode, base, depth)), results.get((mode, largest, depth))
            if small is None or large is None:
                lines.append(f"  {depth} {mode}: not measured (a run failed)")
                continue
            time_ratio = large.wall / small.wall
            memory_ratio = large.peak_mb / small.peak_mb
            lines.append(
                f"  {depth} {mode}: {short(base)}→{short(largest)} time ×{time_ratio:.1f}, "
                f"peak memory ×{memory_ratio:.1f}"
            )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000, 10000])
    parser.add_argument("--depths", nargs="+", choices=DEPTHS, default=["quick", "standard"])
    parser.add_argument("--modes", nargs="+", choices=MODES, default=list(MODES))
    parser.add_argument("--timeout", type=float, default=900, help="seconds per audit run")
    parser.add_argument(
        "--repeat", type=int, default=1, help="runs per row; the fastest is shown (default 1)"
    )
    parser.add_argument(
        "--report",
        choices=("json", "console"),
        default="json",
        help="the report corscheck writes (json: every probe and exchange; console: the summary)",
    )
    parser.add_argument("--extra", nargs=argparse.REMAINDER, default=[], help="more audit options")
    parser.add_argument("--report-figures", type=Path, help=argparse.SUPPRESS)  # see read_report
    args = parser.parse_args()
    if args.report_figures is not None:
        print(json.dumps(report_figures(args.report_figures)))
        return
    if min(args.sizes) < 1 or args.timeout <= 0 or args.repeat < 1:
        parser.error("sizes, --timeout and --repeat must be positive")

    # The working tree's corscheck from any directory, and asgi_target for --app. Each run's working
    # directory is a fresh temporary one, so no corscheck.toml or pyproject.toml changes the policy.
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), str(HERE), env.get("PYTHONPATH")]))

    # Byte-compiled first: with PYTHONDONTWRITEBYTECODE set, every run would compile corscheck
    # from source and the start-up figures would measure the compiler.
    compileall.compile_dir(REPO / "corscheck", quiet=1)
    print(machine(), flush=True)
    server, port = None, None
    if "network" in args.modes:
        # The server outlives every network run, even if each one took its whole timeout.
        network_runs = len(args.sizes) * len(args.depths) * args.repeat
        server, port = start_server(args.timeout * network_runs + 60)
    results: dict[tuple[str, int, str], Measurement] = {}
    try:
        print(f"{'mode':>7} {'urls':>6} {'depth':>8} {'wall s':>8} {'requests':>9} {'req/s':>7} "
              f"{'cpu %':>6} {'peak MB':>8} {'findings':>9} {'errors':>6}", flush=True)  # fmt: skip
        for mode in args.modes:
            for size in args.sizes:
                with tempfile.TemporaryDirectory(prefix="corscheck-bench-") as tmp:
                    workdir = Path(tmp)
                    urls_file = workdir / "urls.txt"
                    write_urls(urls_file, mode, size, port)
                    for depth in args.depths:
                        command = audit_command(mode, urls_file, depth, args.report, args.extra)
                        result = fastest_of(args.repeat, command, env, workdir, args.timeout)
                        row = f"{mode:>7} {size:>6} {depth:>8}"
                        if isinstance(result, str):
                            print(f"{row} FAILED: {result}", flush=True)
                            continue
                        results[mode, size, depth] = r = result
                        print(f"{row} {r.wall:>8.2f} {r.requests:>9} {r.rps:>7.0f} "
                              f"{100 * r.cpu_share:>6.0f} {r.peak_mb:>8.0f} {r.findings:>9} "
                              f"{r.errors:>6}", flush=True)  # fmt: skip
    finally:
        if server is not None:
            stop_server(server)
    lines = scaling_lines(results, args.sizes, args.depths, args.modes)
    if lines:
        print()
        print("\n".join(lines))


if __name__ == "__main__":
    main()

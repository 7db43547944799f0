"""corscheck against a real peer and against the raw request rate, in one run, on one nginx.

    python benchmarks/bench_race.py                 # 1,000 URLs, 3 rounds, the fastest run of each tool
    python benchmarks/bench_race.py --urls 200 --repeat 1

What it does, every step bounded:
1. The peer's own environment: benchmarks/.venv-peer (git-ignored) gets corsair_scan 0.2.0 and aiohttp
   from the package index (once; later runs reuse it).
2. nginx from Debian (one worker, access log on) serves http://127.0.0.1:<port>/t<k>/<n> on a free
   loopback port: k = n % 4 picks the CORS behaviour (0 reflects any origin with credentials, 1 allows
   only https://app.example.com, 2 answers *, 3 trusts null and the allowed origin).
3. On the same URLs it times corsair_scan (its CLI, the allowed origin given so that all four of its
   tests run), corscheck at quick and standard with no policy, corscheck at standard with the
   policy (each with its default worker processes, then in one process, --jobs 1), and aiohttp's
   raw rate (GET with an Origin, 64 in flight, in one process, as many requests as corscheck's
   policy run sent). Requests are counted in nginx's access log, so every tool is counted alike.
4. It prints wall time, requests per URL, the time ratio to the peer, the fraction of aiohttp's
   rate, the JSON report's bytes per passing URL, and the start-up ratio to `import typer`.

Nothing here is a test. Timings on a shared VM vary: the tools take turns, --repeat rounds of one run
each, and the fastest run of each tool is kept.
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
PEER_VENV = HERE / ".venv-peer"
PEER_PACKAGES = ("corsair_scan==0.2.0", "aiohttp")
ALLOWED = "https://app.example.com"
RUN_TIMEOUT = 900.0  # seconds: every tool is killed after this
RAW = "aiohttp raw GET"

# One nginx worker in the folder {root}, its access log counting the requests: every benchmark's
# nginx starts so (Nginx formats it); what follows is inside its http block.
NGINX_PRELUDE = """
worker_processes 1;
daemon off;
pid {root}/nginx.pid;
error_log {root}/error.log;
events {{ worker_connections 4096; }}
http {{
  access_log {root}/access.log;
  client_body_temp_path {root}/body; proxy_temp_path {root}/proxy;
  fastcgi_temp_path {root}/fastcgi; uwsgi_temp_path {root}/uwsgi; scgi_temp_path {root}/scgi;
"""

NGINX_CONF = (
    NGINX_PRELUDE
    + """
  keepalive_requests 100000;
  default_type application/json;
  map $http_origin $allowed_only {{ "{allowed}" $http_origin; default ""; }}
  map $http_origin $allowed_or_null {{ "{allowed}" $http_origin; "null" "null"; default ""; }}
  map $allowed_only $credentials_1 {{ "" ""; default "true"; }}
  map $allowed_or_null $credentials_3 {{ "" ""; default "true"; }}
  server {{
    listen 127.0.0.1:{port};
    location /t0/ {{
      if ($request_method = OPTIONS) {{
        add_header Access-Control-Allow-Origin $http_origin always;
        add_header Access-Control-Allow-Credentials true always;
        add_header Access-Control-Allow-Methods "GET, POST, PUT" always;
        add_header Access-Control-Allow-Headers "Content-Type, Authorization" always;
        add_header Vary Origin always;
        return 204;
      }}
      add_header Access-Control-Allow-Origin $http_origin always;
      add_header Access-Control-Allow-Credentials true always;
      add_header Vary Origin always;
      return 200 '{{"ok":true}}';
    }}
    location /t1/ {{
      if ($request_method = OPTIONS) {{
        add_header Access-Control-Allow-Origin $allowed_only always;
        add_header Access-Control-Allow-Credentials $credentials_1 always;
        add_header Access-Control-Allow-Methods "GET, POST, PUT" always;
        add_header Vary Origin always;
        return 204;
      }}
      add_header Access-Control-Allow-Origin $allowed_only always;
      add_header Access-Control-Allow-Credentials $credentials_1 always;
      add_header Vary Origin always;
      return 200 '{{"ok":true}}';
    }}
    location /t2/ {{
      if ($request_method = OPTIONS) {{
        add_header Access-Control-Allow-Origin * always;
        add_header Access-Control-Allow-Methods "GET, POST, PUT" always;
        return 204;
      }}
      add_header Access-Control-Allow-Origin * always;
      return 200 '{{"ok":true}}';
    }}
    location /t3/ {{
      if ($request_method = OPTIONS) {{
        add_header Access-Control-Allow-Origin $allowed_or_null always;
        add_header Access-Control-Allow-Credentials $credentials_3 always;
        add_header Access-Control-Allow-Methods "GET, POST, PUT" always;
        add_header Vary Origin always;
        return 204;
      }}
      add_header Access-Control-Allow-Origin $allowed_or_null always;
      add_header Access-Control-Allow-Credentials $credentials_3 always;
      add_header Vary Origin always;
      return 200 '{{"ok":true}}';
    }}
  }}
}}
"""
)

# aiohttp's raw rate: the same URLs, GET with an Origin, a bounded number of requests in flight.
RAW_CLIENT = """
import asyncio, sys, time
import aiohttp

async def main(urls, total, in_flight, origin):
    connector = aiohttp.TCPConnector(limit=in_flight)
    async with aiohttp.ClientSession(connector=connector) as session:
        queue = iter(range(total))

        async def worker():
            for n in queue:
                async with session.get(urls[n % len(urls)], headers={"Origin": origin}) as answer:
                    await answer.read()

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(in_flight)))
        print(time.perf_counter() - start)

urls = open(sys.argv[1]).read().split()
asyncio.run(main(urls, int(sys.argv[2]), 64, sys.argv[3]))
"""


@dataclass(frozen=True)
class Run:
    name: str
    wall: float
    requests: int
    report_bytes_per_pass: float | None = None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def peer_python() -> Path:
    python = PEER_VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(PEER_VENV)], check=True)
    ready = subprocess.run(
        [str(python), "-c", "import corsair_scan, aiohttp"], capture_output=True, check=False
    )
    if ready.returncode != 0:
        subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", *PEER_PACKAGES],
            check=True,
            timeout=RUN_TIMEOUT,
        )
    return python


def nginx_binary() -> str:
    for candidate in (shutil.which("nginx"), "/usr/sbin/nginx"):
        if candidate and Path(candidate).exists():
            return candidate
    sys.exit("bench_race: nginx not found (Debian's nginx package)")


class Nginx:
    """nginx on a free loopback port, stopped on the way out; counts requests in its access log."""

    def __init__(self, root: Path, template: str = NGINX_CONF) -> None:
        self.root = root
        self.port = free_port()
        conf = root / "nginx.conf"
        conf.write_text(template.format(root=root, port=self.port, allowed=ALLOWED))
        self.process = subprocess.Popen(
            [nginx_binary(), "-c", str(conf), "-p", str(root), "-e", str(root / "error.log")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        self.stop()
        sys.exit(f"bench_race: nginx did not start (see {root / 'error.log'})")

    def requests_since(self, mark: int, status: int | None = None) -> int:
        """Requests logged since `mark` (lines then), or only those answered `status`."""
        log = self.root / "access.log"
        lines = log.read_bytes().splitlines()[mark:] if log.exists() else []
        if status is None:
            return len(lines)
        return sum(1 for line in lines if f'" {status} '.encode() in line)

    def _lines(self) -> int:
        log = self.root / "access.log"
        return log.read_bytes().count(b"\n") if log.exists() else 0

    def mark(self) -> int:
        return self._lines()

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def timed(command: list[str], nginx: Nginx) -> tuple[float, int, subprocess.CompletedProcess[str]]:
    mark = nginx.mark()
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, timeout=RUN_TIMEOUT, check=False)
    wall = time.perf_counter() - start
    time.sleep(0.2)  # nginx writes its log as each request ends; let the last lines land
    return wall, nginx.requests_since(mark), done


def bytes_per_passing_url(report: Path) -> float | None:
    data = json.loads(report.read_text("utf-8"))
    passing = [t for t in data["targets"] if t["passed"]]
    if not passing:
        return None
    return sum(len(json.dumps(t, separators=(",", ":"))) for t in passing) / len(passing)


def fastest(runs: list[Run]) -> Run:
    return min(runs, key=lambda r: r.wall)


def race(urls: list[str], nginx: Nginx, work: Path, repeat: int) -> list[Run]:
    peer = peer_python()
    corsair = peer.parent / "corsair"
    listing = work / "urls.txt"
    listing.write_text("\n".join(urls) + "\n")
    corsair_input = work / "corsair.json"
    corsair_input.write_text(
        json.dumps([{"url": u, "verb": "GET", "headers": {"Origin": ALLOWED}} for u in urls])
    )
    corscheck = [
        sys.executable,
        "-m",
        "corscheck",
        "audit",
        "-i",
        str(listing),
        "--fail-on",
        "never",
    ]
    policy = ["--allow-origin", ALLOWED, "--credentials"]
    one_process = [*corscheck, "--jobs", "1"]
    plans = {
        "corsair_scan 0.2.0": [str(corsair), str(corsair_input), "-r", str(work / "corsair-out.json")],
        "corscheck quick": [*corscheck, "--depth", "quick", "-o", str(work / "quick.json")],
        "corscheck standard": [*corscheck, "--depth", "standard", "-o", str(work / "standard.json")],
        "corscheck standard, policy": [
            *corscheck, "--depth", "standard", *policy, "-o", str(work / "policy.json"),
        ],
        # The same in one process (--jobs 1): what the worker processes add, and the figure on a
        # machine with one core.
        "quick, one process": [*one_process, "--depth", "quick", "-o", str(work / "q1.json")],
        "standard, one process": [*one_process, "--depth", "standard", "-o", str(work / "s1.json")],
        "policy, one process": [
            *one_process, "--depth", "standard", *policy, "-o", str(work / "p1.json"),
        ],
    }  # fmt: skip
    reports = {
        "corscheck quick": work / "quick.json",
        "corscheck standard": work / "standard.json",
        "corscheck standard, policy": work / "policy.json",
    }
    client = work / "raw_client.py"
    client.write_text(RAW_CLIENT)
    runs: dict[str, list[Run]] = {name: [] for name in [*plans, RAW]}
    # Round after round, every tool once a round: a machine that slows down or speeds up during the
    # race (a shared VM does) weighs on every tool alike, and the fastest of each is compared.
    for _ in range(repeat):
        for name, command in plans.items():
            wall, sent, done = timed(command, nginx)
            if done.returncode not in (0, 1):
                sys.exit(f"bench_race: {name} failed ({done.returncode}): {done.stderr[-500:]}")
            report = reports.get(name)
            runs[name].append(
                Run(name, wall, sent, bytes_per_passing_url(report) if report else None)
            )
        raw_total = runs["corscheck standard, policy"][0].requests
        mark = nginx.mark()
        done = subprocess.run(
            [str(peer), str(client), str(listing), str(raw_total), ALLOWED],
            capture_output=True,
            text=True,
            timeout=RUN_TIMEOUT,
            check=True,
        )
        time.sleep(0.2)
        runs[RAW].append(Run(RAW, float(done.stdout.strip()), nginx.requests_since(mark)))
    results = [fastest(each) for each in runs.values()]
    return results


def startup_ratio(runs: int = 20) -> dict[str, float]:
    """Each command's fastest start-up over `runs` rounds, against `import typer`'s. The commands
    take turns, as the race's tools do, so a machine that slows down weighs on each alike."""
    commands = {
        "import typer": [sys.executable, "-c", "import typer"],
        "corscheck --version": [sys.executable, "-m", "corscheck", "--version"],
        "corscheck audit --help": [sys.executable, "-m", "corscheck", "audit", "--help"],
    }
    fastest = dict.fromkeys(commands, float("inf"))
    for _ in range(runs):
        for name, command in commands.items():
            start = time.perf_counter()
            subprocess.run(command, capture_output=True, check=True, timeout=60)
            fastest[name] = min(fastest[name], time.perf_counter() - start)
    typer = fastest.pop("import typer")
    return {name: wall / typer for name, wall in fastest.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--urls", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    compileall.compile_dir(REPO / "corscheck", quiet=1)
    with tempfile.TemporaryDirectory(prefix="corscheck-race-") as folder:
        work = Path(folder)
        root = work / "nginx"
        root.mkdir()
        nginx = Nginx(root)
        try:
            urls = [f"http://127.0.0.1:{nginx.port}/t{n % 4}/{n}" for n in range(args.urls)]
            results = race(urls, nginx, work, args.repeat)
        finally:
            nginx.stop()
    peer = next(r for r in results if r.name.startswith("corsair"))
    raw = next(r for r in results if r.name == RAW)
    raw_rate = raw.requests / raw.wall
    print(
        f"{args.urls} URLs on nginx (1 worker), fastest of {args.repeat} rounds; "
        f"{os.cpu_count()} cores"
    )
    print(
        f"{'run':28} {'wall s':>7} {'req/URL':>8} {'req/s':>7} {'vs peer':>8} "
        f"{'of raw':>7} {'B/passing URL':>14}"
    )
    for run in results:
        rate = run.requests / run.wall
        per_pass = f"{run.report_bytes_per_pass:,.0f}" if run.report_bytes_per_pass else "-"
        print(
            f"{run.name:28} {run.wall:7.2f} {run.requests / args.urls:8.1f} {rate:7.0f} "
            f"{peer.wall / run.wall:7.2f}x {rate / raw_rate:7.2f} {per_pass:>14}"
        )
    for command, ratio in startup_ratio().items():
        print(f"start-up: {command} is {ratio:.2f}x `import typer`")
    return 0


if __name__ == "__main__":
    sys.exit(main())

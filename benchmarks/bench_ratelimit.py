"""A host that rate-limits the run, audited in one process and in worker processes, on one nginx.

    python benchmarks/bench_ratelimit.py              # 40 URLs, --jobs 1 then --jobs 2
    python benchmarks/bench_ratelimit.py --urls 20

nginx (Debian's, one worker) answers 429 past `limit_req rate=40r/s burst=10 nodelay` for static
JSON files with an Access-Control-Allow-Origin. corscheck audits them at quick depth, once in one
process and once in two workers. The host's limits are the host's, however many processes send to
it: the workers together should send no faster than the pace the report names. It prints, per run,
the wall time, the requests and 429s in nginx's access log, the request rate the host got, and the
paces the report's "slowed to" notes name. Every run is bounded (bench_race.RUN_TIMEOUT).

Nothing here is a test: how often a run meets the limit depends on the burst it sends first.
"""

from __future__ import annotations

import argparse
import collections
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_race import NGINX_PRELUDE, RUN_TIMEOUT, Nginx

LIMITED_CONF = (
    NGINX_PRELUDE
    + """
  limit_req_zone $binary_remote_addr zone=audit:1m rate=40r/s;
  server {{
    listen 127.0.0.1:{port};
    location / {{
      # A static file: `return` would answer before limit_req's phase runs.
      limit_req zone=audit burst=10 nodelay;
      limit_req_status 429;
      root {root}/www;
      default_type application/json;
      add_header Access-Control-Allow-Origin {allowed} always;
      add_header Vary Origin always;
    }}
  }}
}}
"""
)


def paces(report: Path) -> dict[str, int]:
    """How many targets' notes name each pace the host was slowed to."""
    counted: collections.Counter[str] = collections.Counter()
    for target in json.loads(report.read_text("utf-8"))["targets"]:
        for note in target["notes"]:
            found = re.search(r"slowed to ([\d.]+) requests/s", note)
            if found:
                counted[found[1] + "/s"] += 1
    return dict(counted)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--urls", type=int, default=40)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="corscheck-ratelimit-") as folder:
        root = Path(folder)
        (root / "www" / "api").mkdir(parents=True)
        for n in range(args.urls):
            (root / "www" / "api" / str(n)).write_text('{"ok":true}\n')
        nginx = Nginx(root, LIMITED_CONF)
        try:
            listing = root / "urls.txt"
            listing.write_text(
                "".join(f"http://127.0.0.1:{nginx.port}/api/{n}\n" for n in range(args.urls))
            )
            print(f"{args.urls} URLs behind nginx's limit_req (40 r/s, burst 10, 429), quick depth")
            print(
                f"{'run':14} {'wall s':>7} {'requests':>9} {'429s':>5} {'host got':>9}  slowed to"
            )
            for jobs in (1, 2):
                time.sleep(1.0)  # the zone forgets the run before
                report = root / f"jobs{jobs}.json"
                mark = nginx.mark()
                start = time.perf_counter()
                command = [sys.executable, "-m", "corscheck", "audit", "-i", str(listing)]
                command += ["--depth", "quick", "--jobs", str(jobs), "--fail-on", "never"]
                subprocess.run(
                    [*command, "-f", "json", "-o", str(report)],
                    capture_output=True,
                    check=True,
                    timeout=RUN_TIMEOUT,
                )
                wall = time.perf_counter() - start
                time.sleep(0.2)  # nginx writes a line after answering
                sent = nginx.requests_since(mark)
                limited = nginx.requests_since(mark, status=429)
                name = "one process" if jobs == 1 else f"{jobs} workers"
                print(
                    f"{name:14} {wall:7.1f} {sent:9d} {limited:5d} {sent / wall:7.1f}/s  "
                    f"{paces(report)}"
                )
        finally:
            nginx.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())

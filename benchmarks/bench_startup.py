"""Start-up time: `corscheck --version` and `--help` against `python -c pass` and `import typer`.

    python benchmarks/bench_startup.py [--runs 20]

Prints the fastest and the median wall time of each command over the runs, and the ratio of the
fastest to `python -c pass` and to `import typer`: on a shared machine the fastest run is the one
least disturbed by other work, so its ratio is the steadiest.
"""

from __future__ import annotations

import argparse
import compileall
import statistics
import subprocess
import sys
import time
from pathlib import Path

COMMANDS = {
    "python -c pass": [sys.executable, "-c", "pass"],
    'python -c "import typer"': [sys.executable, "-c", "import typer"],
    "corscheck --version": [sys.executable, "-m", "corscheck", "--version"],
    "corscheck --help": [sys.executable, "-m", "corscheck", "--help"],
    "corscheck rules": [sys.executable, "-m", "corscheck", "rules"],
    "corscheck audit --help": [sys.executable, "-m", "corscheck", "audit", "--help"],
}


def timings(command: list[str], runs: int) -> tuple[float, float]:
    """The fastest and the median wall time of `runs` runs, in seconds."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        times.append(time.perf_counter() - started)
    return min(times), statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=20)
    runs = parser.parse_args().runs
    # Byte-compiled first: with PYTHONDONTWRITEBYTECODE set, each run would compile from source.
    compileall.compile_dir(Path(__file__).resolve().parent.parent / "corscheck", quiet=1)
    results = {name: timings(command, runs) for name, command in COMMANDS.items()}
    base = results["python -c pass"][0]
    typer_time = results['python -c "import typer"'][0]
    print(f"{'command':<28} {'fastest ms':>10} {'median ms':>10} {'x python':>9} {'x typer':>8}")
    for name, (fastest, median) in results.items():
        print(
            f"{name:<28} {fastest * 1000:>10.0f} {median * 1000:>10.0f} {fastest / base:>9.1f} "
            f"{fastest / typer_time:>8.2f}"
        )


if __name__ == "__main__":
    main()

"""Start-up time: `corscheck --version` and `--help` against `python -c pass` and `import typer`.

    python benchmarks/bench_startup.py [--runs 20]

Prints the median wall time of each command over the runs, and its ratio to `python -c pass`.
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


def median_seconds(command: list[str], runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=20)
    runs = parser.parse_args().runs
    # Byte-compiled first: with PYTHONDONTWRITEBYTECODE set, each run would compile from source.
    compileall.compile_dir(Path(__file__).resolve().parent.parent / "corscheck", quiet=1)
    results = {name: median_seconds(command, runs) for name, command in COMMANDS.items()}
    base = results["python -c pass"]
    typer_time = results['python -c "import typer"']
    print(f"{'command':<28} {'median ms':>10} {'x python':>9} {'x typer':>8}")
    for name, seconds in results.items():
        print(
            f"{name:<28} {seconds * 1000:>10.0f} {seconds / base:>9.1f} {seconds / typer_time:>8.2f}"
        )


if __name__ == "__main__":
    main()

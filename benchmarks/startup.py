"""Start-up cost of `advisor --help` against a bare `import pydantic, pluggy, click`.

The CLI imports its engine, catalog and plugins only inside commands; this measures that the
help path stays close to the cost of importing the libraries it is built on. Run by hand:

    python benchmarks/startup.py [--runs 20]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time


def median_seconds(cmd: list[str], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    baseline = median_seconds([sys.executable, "-c", "import pydantic, pluggy, click"], args.runs)
    python_only = median_seconds([sys.executable, "-c", "pass"], args.runs)
    help_ = median_seconds([sys.executable, "-m", "advisor", "--help"], args.runs)
    plugins = median_seconds([sys.executable, "-m", "advisor", "checks", "--format", "json"], args.runs)
    print(f"python -c pass                      {python_only * 1000:7.1f} ms")
    print(f"import pydantic, pluggy, click      {baseline * 1000:7.1f} ms")
    print(f"advisor --help                      {help_ * 1000:7.1f} ms   ratio to bare import {help_ / baseline:.2f}")
    print(
        f"advisor checks (loads all plugins)  {plugins * 1000:7.1f} ms   ratio to bare import {plugins / baseline:.2f}"
    )


if __name__ == "__main__":
    main()

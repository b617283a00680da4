"""Start-up cost of `advisor --help` against a bare `import pydantic, pluggy, click`.

The CLI imports its engine, catalog and plugins only inside commands; this measures that the
help path stays close to the cost of importing the libraries it is built on. The machine may be
shared and noisy, so the commands run interleaved (one round runs each once, in a shuffled order)
and each round gives its own ratio to the bare import; the median ratio is reported with the
quartiles of the rounds. Run by hand:

    python benchmarks/startup.py [--runs 20]

:mod:`plan_speed` measures `advisor plan` the same way, with :func:`interleaved_ratios`.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import time
from typing import NamedTuple

#: What every ratio is measured against: the libraries the CLI is built on, and nothing else.
BARE_IMPORT: list[str] = [sys.executable, "-c", "import pydantic, pluggy, click"]


def advisor_command(*args: str) -> list[str]:
    """``advisor ARGS`` run by this interpreter (the environment's PYTHONPATH picks the tree)."""
    return [sys.executable, "-m", "advisor", *args]


class Ratio(NamedTuple):
    """A command's wall time over the bare import's, across interleaved rounds."""

    median: float
    low: float  # first quartile of the per-round ratios
    high: float  # third quartile
    seconds: float  # median wall time of the command itself

    def __str__(self) -> str:
        return f"{self.median:5.2f}x (IQR {self.low:.2f}-{self.high:.2f}, {self.seconds * 1000:6.0f} ms)"


#: Commands run as an installed package runs: with its bytecode cached (pip compiles it on install; an
#: editable tree under PYTHONDONTWRITEBYTECODE=1 would recompile every module on every run).
ENVIRONMENT = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def _seconds(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True, env=ENVIRONMENT)
    return time.perf_counter() - start


def interleaved_ratios(commands: dict[str, list[str]], runs: int, seed: int = 0) -> tuple[float, dict[str, Ratio]]:
    """The bare import's median seconds, and each command's :class:`Ratio` to it over ``runs`` rounds."""
    shuffle = random.Random(seed).shuffle
    bare: list[float] = []
    ratios: dict[str, list[float]] = {name: [] for name in commands}
    times: dict[str, list[float]] = {name: [] for name in commands}
    for cmd in [BARE_IMPORT, *commands.values()]:  # a warm-up round: bytecode written, files in the page cache
        _seconds(cmd)
    for _ in range(runs):
        order = ["", *commands]
        shuffle(order)
        round_times = {name: _seconds(commands[name] if name else BARE_IMPORT) for name in order}
        bare.append(round_times[""])
        for name in commands:
            times[name].append(round_times[name])
            ratios[name].append(round_times[name] / round_times[""])
    result = {}
    for name, values in ratios.items():
        low, median, high = statistics.quantiles(values, n=4) if len(values) > 1 else (values[0],) * 3
        result[name] = Ratio(median, low, high, statistics.median(times[name]))
    return statistics.median(bare), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    bare, ratios = interleaved_ratios(
        {
            "python -c pass": [sys.executable, "-c", "pass"],
            "advisor --help": advisor_command("--help"),
            "advisor checks (loads all plugins)": advisor_command("checks", "--format", "json"),
        },
        args.runs,
    )
    print(f"{'import pydantic, pluggy, click':36} {bare * 1000:6.0f} ms")
    for name, ratio in ratios.items():
        print(f"{name:36} {ratio}")


if __name__ == "__main__":
    main()

"""How many threads llama.cpp gets, and whether the history says another count ran faster (pure).

The default is this machine's physical cores (within the affinity mask: what llama.cpp itself picks),
fewer when other work keeps CPUs busy: llama.cpp's threads spin at barriers, so one thread that
shares its core with other work stalls them all (on a shared 2-core VM two threads gave 3–6 tok/s
where one gave 37–54). The count is the largest that leaves no more contention than
``busy.contention_cpus`` (catalog/smoke_policy.yaml), at least one. ``--threads`` overrides it.

:func:`thread_hint` compares this run with the history: runs are made comparable across models by
their speed relative to their uncalibrated prediction, and when another thread count's median is
clearly better (``threads.hint_margin``) the result says so.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable
from typing import NamedTuple

from advisor.smoke.policy import smoke_policy


class ThreadChoice(NamedTuple):
    """The thread count for the run and why, in words for the output."""

    threads: int
    reason: str


def choose_threads(asked: int | None, physical: int, usable: int, others_busy: float | None) -> ThreadChoice:
    """``--threads`` when given; else the physical cores, fewer when other work keeps CPUs busy."""
    if asked is not None:
        return ThreadChoice(asked, f"--threads {asked}")
    cores = f"{physical} physical core{'s' if physical != 1 else ''}"
    if others_busy is None:
        return ThreadChoice(physical, f"{cores}; the load could not be measured")
    fits = math.floor(usable - others_busy + smoke_policy().busy.contention_cpus)
    threads = max(1, min(physical, fits))
    if threads < physical:
        return ThreadChoice(threads, f"{cores}, but other work kept {others_busy:.1f} of {usable} CPUs busy")
    return ThreadChoice(threads, f"{cores}; other work kept {others_busy:.1f} of {usable} CPUs busy")


class PastRun(NamedTuple):
    """One earlier run of this machine and device: its thread count and measured/predicted speed."""

    threads: int
    ratio: float


def thread_hint(past: Iterable[PastRun], threads: int, ratio: float | None) -> str | None:
    """A hint when another thread count decoded clearly faster (relative to its prediction) before."""
    if ratio is None or ratio <= 0:
        return None
    by_count: dict[int, list[float]] = {}
    for run in past:
        if run.threads != threads and run.ratio > 0:
            by_count.setdefault(run.threads, []).append(run.ratio)
    if not by_count:
        return None
    best, ratios = max(by_count.items(), key=lambda item: statistics.median(item[1]))
    median = statistics.median(ratios)
    if median < ratio * (1 + smoke_policy().threads.hint_margin):
        return None
    runs = f"{len(ratios)} run{'s' if len(ratios) != 1 else ''}"
    return (
        f"--threads {best} decoded at {median:.2f}x its prediction on this machine before (median of {runs}), "
        f"this run with {threads} at {ratio:.2f}x: try --threads {best}"
    )

"""Quality on a 0–1 scale from published benchmark scores.

Accuracy benchmarks are taken as a fraction of 100; an arena Elo is placed on 0–1 by a linear map
between stated anchors. The quality issue replaces this with per-benchmark normalisation and
predicted scores; the basis string says which benchmarks were used so every number is explainable.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from advisor.catalog_records import BenchmarkScore

#: Elo anchors: 1000 → 0.0 and 1500 → 1.0 (stated mapping; LMArena scores of 2024–2026 lie in 1000–1500).
ELO_FLOOR, ELO_CEILING = 1000.0, 1500.0

#: Quality bars for the answers' ``quality`` level (stated policy, on the same 0–1 scale).
QUALITY_BARS: dict[str, float] = {"low": 0.30, "medium": 0.50, "high": 0.65, "frontier": 0.80}

#: Which benchmarks speak for which use case; the first ones present are averaged.
USE_CASE_BENCHMARKS: dict[str, tuple[str, ...]] = {
    "code": ("humaneval", "mmlu_pro", "mmlu"),
    "extraction": ("ifeval", "mmlu_pro", "mmlu"),
    "classification": ("mmlu_pro", "mmlu", "ifeval"),
    "agent": ("ifeval", "gpqa", "mmlu_pro", "mmlu"),
}
GENERAL_BENCHMARKS: tuple[str, ...] = ("mmlu_pro", "mmlu", "gpqa", "ifeval", "arena_elo")


@dataclass(frozen=True)
class QualityScore:
    """A 0–1 score and the benchmarks it was computed from."""

    value: float
    basis: str


def normalise(score: BenchmarkScore) -> float:
    """One benchmark on 0–1: percent / 100, or Elo mapped linearly between the anchors."""
    if score.scale == "elo":
        return min(1.0, max(0.0, (score.value - ELO_FLOOR) / (ELO_CEILING - ELO_FLOOR)))
    return min(1.0, max(0.0, score.value / 100.0))


def quality_from_benchmarks(benchmarks: Mapping[str, BenchmarkScore], use_case: str) -> QualityScore | None:
    """Mean of the use case's benchmarks if any are published, else of the general ones; None if none."""
    for names in (USE_CASE_BENCHMARKS.get(use_case, ()), GENERAL_BENCHMARKS):
        present = [n for n in names if n in benchmarks]
        if present:
            values = [normalise(benchmarks[n]) for n in present]
            basis = ", ".join(f"{n}={benchmarks[n].value:g}" for n in present)
            return QualityScore(sum(values) / len(values), f"mean of published {basis}")
    return None


def quality_bar(level: str | None, min_quality: float | None) -> float | None:
    """The bar from the answers: an explicit ``min_quality`` wins over the level."""
    if min_quality is not None:
        return min_quality
    return QUALITY_BARS.get(level) if level else None

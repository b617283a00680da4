"""The built-in ranking (trylast, so any plugin's ranking wins).

Order: cleaner verdict first (pass before info before warn), then higher quality in steps of
0.05 (differences smaller than that are noise between benchmark harnesses), then lower monthly
cost, then faster decode; candidates without a known quality come after those with one.
"""

from __future__ import annotations

from advisor import Assessment, hookimpl

VERDICT_ORDER = {"pass": 0, "info": 1, "warn": 2}
QUALITY_STEP = 0.05


def ranking_key(assessment: Assessment) -> tuple[int, int, int, float, float, str]:
    quality = assessment.metrics.get("quality")
    cost = assessment.metrics.get("monthly_cost_usd")
    speed = assessment.metrics.get("decode_tokens_per_s")
    return (
        VERDICT_ORDER.get(assessment.verdict, 3),
        0 if isinstance(quality, int | float) else 1,
        -round(float(quality) / QUALITY_STEP) if isinstance(quality, int | float) else 0,
        float(cost) if isinstance(cost, int | float) else float("inf"),
        -float(speed) if isinstance(speed, int | float) else 0.0,
        assessment.candidate.key,
    )


@hookimpl(trylast=True)
def advisor_rank(candidates: list[Assessment]) -> list[Assessment]:
    return sorted(candidates, key=ranking_key)

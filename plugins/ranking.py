"""The built-in ranking (trylast, so any plugin's ranking wins).

Order, each key breaking the ties of the one before:

1. cleaner verdict first (pass, then info, then warn);
2. evidence: a quality backed by published scores (the model's own, a base model's, or partly
   filled from the capability boundary) before a predicted-only upper bound, before no quality;
   a promise does not outrank a measurement;
3. quality, in steps of ``quality_step`` (smaller differences are noise between evaluation
   harnesses). With a quality bar, anything above ``bar + headroom`` counts as good enough and
   ties, so cost decides among candidates that comfortably clear the bar; raising the bar raises
   that ceiling and moves the ranking towards stronger models;
4. lower monthly cost;
5. quality again, uncapped: when cost ties (hardware already owned, a flat price), the better model;
6. faster decode; 7. the candidate key (a total, deterministic order).

Every key comes from the assessment's metrics and the answers, never from plugin load order.
The step and the headroom are policy (catalog/quality_policy.yaml, ``ranking``).
"""

from __future__ import annotations

from advisor import Assessment, Requirements, hookimpl
from advisor.estimate.quality import quality_bar, quality_policy

VERDICT_ORDER = {"pass": 0, "info": 1, "warn": 2}
EVIDENCE_ORDER = {"published": 0, "inherited": 0, "mixed": 0, "predicted": 1}


def ranking_key(assessment: Assessment, bar: float | None = None) -> tuple[int, int, int, float, int, float, str]:
    """The sort key of one acceptable assessment under the quality ``bar`` (None: no bar asked)."""
    policy = quality_policy().ranking
    quality = assessment.metrics.get("quality")
    cost = assessment.metrics.get("monthly_cost_usd")
    speed = assessment.metrics.get("decode_tokens_per_s")
    if isinstance(quality, int | float):
        kind = assessment.metrics.get("quality_kind")
        evidence = EVIDENCE_ORDER.get(kind, 0) if isinstance(kind, str) else 0
        counted = float(quality) if bar is None else min(float(quality), bar + policy.headroom)
        band = -round(counted / policy.quality_step)
        full_band = -round(float(quality) / policy.quality_step)
    else:
        evidence, band, full_band = 2, 0, 0
    return (
        VERDICT_ORDER.get(assessment.verdict, 3),
        evidence,
        band,
        float(cost) if isinstance(cost, int | float) else float("inf"),
        full_band,
        -float(speed) if isinstance(speed, int | float) else 0.0,
        assessment.candidate.key,
    )


@hookimpl(trylast=True)
def advisor_rank(candidates: list[Assessment], requirements: Requirements) -> list[Assessment]:
    bar = quality_bar(requirements.quality, requirements.min_quality)
    return sorted(candidates, key=lambda a: ranking_key(a, bar))

"""The built-in ranking (trylast, so any plugin's ranking wins).

Order, each key breaking the ties of the one before:

1. cleaner verdict first: pass and info together, then warn. An ``info`` finding is a note or a
   catalog gap (an API whose languages the catalog does not list), not a fault of the model, so it
   must never outrank a quality difference;
2. evidence: a quality backed by published scores (the model's own, a base model's, or partly
   filled from the capability boundary) before a predicted-only upper bound, before no quality;
   a promise does not outrank a measurement;
3. quality, in steps of ``quality_step`` (smaller differences are noise between evaluation
   harnesses). With a quality bar, anything above ``bar + headroom`` counts as good enough and
   ties, so cost decides among candidates that comfortably clear the bar; raising the bar raises
   that ceiling and moves the ranking towards stronger models. At the levels of ``quality_first``
   (high, frontier) quality is not capped: the strongest affordable model leads;
4. lower monthly cost;
5. quality again, uncapped: when cost ties (hardware already owned, a flat price), the better model;
6. faster decode; 7. the candidate key (a total, deterministic order).

Every key comes from the assessment's metrics and the answers, never from plugin load order.
The step and the headroom are policy (catalog/quality_policy.yaml, ``ranking``).
"""

from __future__ import annotations

from advisor import Assessment, Requirements, hookimpl
from advisor.estimate.quality import quality_bar, quality_policy
from advisor.model.metrics import PriceMetrics, QualityMetrics, SizingMetrics

VERDICT_ORDER = {"pass": 0, "info": 0, "warn": 1}
EVIDENCE_ORDER = {"published": 0, "inherited": 0, "mixed": 0, "predicted": 1}


def ranking_key(assessment: Assessment, bar: float | None = None) -> tuple[int, int, int, float, int, float, str]:
    """The sort key of one acceptable assessment; quality counts up to ``bar`` + headroom (None: uncapped)."""
    policy = quality_policy().ranking
    measured = QualityMetrics.from_metrics(assessment.metrics)
    cost = PriceMetrics.from_metrics(assessment.metrics).monthly_usd
    speed = SizingMetrics.from_metrics(assessment.metrics).decode_tokens_per_s
    quality = measured.value
    if quality is not None:
        evidence = EVIDENCE_ORDER.get(measured.kind, 0) if measured.kind is not None else 0
        counted = quality if bar is None else min(quality, bar + policy.headroom)
        band = -round(counted / policy.quality_step)
        full_band = -round(quality / policy.quality_step)
    else:
        evidence, band, full_band = 2, 0, 0
    return (
        VERDICT_ORDER.get(assessment.verdict, 3),
        evidence,
        band,
        cost if cost is not None else float("inf"),
        full_band,
        -speed if speed is not None else 0.0,
        assessment.candidate.key,
    )


@hookimpl(trylast=True)
def advisor_rank(candidates: list[Assessment], requirements: Requirements) -> list[Assessment]:
    bar = quality_bar(requirements.quality, requirements.min_quality)
    cap = None if requirements.quality in quality_policy().ranking.quality_first else bar
    return sorted(candidates, key=lambda a: ranking_key(a, cap))

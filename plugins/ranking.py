"""The built-in ranking (trylast, so any plugin's ranking wins), with a stated utility.

A failing check has already removed a candidate; this orders the acceptable ones by their value to the
business. Order, each key breaking the ties of the one before:

1. verdict, counting only hard warnings: pass, info and *soft* warnings together, then hard warnings.
   An ``info`` finding is a note or a catalog gap (an API whose languages the catalog does not list),
   and a soft warning (``ranking.soft_warns`` in catalog/quality_policy.yaml: COST002, a tier-1 rate
   limit the team lifts by asking the provider for a higher tier) is an operational note: neither is a
   fault of the model, so neither may outrank a quality difference;
2. evidence kind: a quality backed by published scores (the model's own, a base model's, or partly
   filled from the capability boundary) before a predicted-only upper bound, before no quality;
3. credible quality, in steps of ``quality_step`` (smaller differences are noise between harnesses).
   Credible quality shrinks the measured quality towards ``evidence_prior`` by how much relevant
   evidence stands behind it: (W·q + k·prior) / (W + k), W the use-case weight of the model's
   published scores (a base model's count half, imputed ones at most ``imputed_evidence``, scaled by how
   many published scores they rest on, predicted ones not at all) and k = ``evidence_strength``.
   Several benchmarks the use case needs beat one generic number. At the levels of ``quality_first``
   (high, frontier) it is uncapped: the strongest, best evidenced affordable model leads. Below them
   anything above ``bar + headroom`` ties, so cost decides among candidates that comfortably clear it;
4. lower monthly cost;
5. quality again, uncapped; 6. higher precision (smaller quantization loss): on owned hardware the
   cost of every weight format is the same power bill, and a bank runs BF16/FP8 rather than 4-bit;
7. faster decode; 8. the candidate key (a total, deterministic order).

An assessment without QUAL001 evidence (another plugin's candidate) is ranked on its quality as given.
Every key comes from the assessment's findings, metrics and the answers, never from plugin load order.
:func:`ranking_basis` states the rule in one line for the plan (``ranking_basis`` in the plan JSON).
"""

from __future__ import annotations

from typing import Any

from advisor import Assessment, Requirements, hookimpl
from advisor.estimate.quality import quality_bar, quality_policy, ranking_basis_text
from advisor.model.metrics import PriceMetrics, QualityMetrics, SizingMetrics

EVIDENCE_ORDER = {"published": 0, "inherited": 0, "mixed": 0, "predicted": 1}
#: how much a published score of the base model (not the fine-tune itself) counts as evidence
INHERITED_EVIDENCE = 0.5


def hard_warning(assessment: Assessment) -> bool:
    """True when a warn finding is about the model, not an operational note (``ranking.soft_warns``)."""
    soft = set(quality_policy().ranking.soft_warns)
    return any(f.severity == "warn" and f.check not in soft for f in assessment.findings)


def imputed_share(support: object) -> float:
    """How much of its weight an imputed score counts as evidence: ``ranking.imputed_evidence`` × min(1, n /
    ``imputed_evidence_full_at``), n the published scores the prediction rests on (unknown n: none)."""
    policy = quality_policy().ranking
    if not isinstance(support, int) or support <= 0:
        return 0.0
    return policy.imputed_evidence * min(1.0, support / policy.imputed_evidence_full_at)


def evidence_weight(assessment: Assessment) -> float | None:
    """The use-case weight of the published scores behind the quality (QUAL001's evidence); None if unknown.

    An imputed score (predicted from the model's other published scores by the catalog's latent fit) is not a
    measurement: it counts :func:`imputed_share` of its weight; a boundary prediction counts nothing.
    """
    for finding in assessment.findings:
        if finding.check != "QUAL001" or not isinstance(finding.evidence, dict):
            continue
        components: Any = finding.evidence.get("components")
        if not isinstance(components, list):
            return None
        share = INHERITED_EVIDENCE if finding.evidence.get("kind") == "inherited" else 1.0
        total = 0.0
        for comp in components:
            weight = comp.get("weight") if isinstance(comp, dict) else None
            if not isinstance(weight, int | float):
                continue
            if comp.get("origin") == "published":
                total += float(weight) * share
            elif comp.get("origin") == "imputed":
                total += float(weight) * share * imputed_share(comp.get("support"))
        return total
    return None


def credible_quality(quality: float, weight: float | None) -> float:
    """Quality shrunk towards the policy's prior by the evidence behind it (unknown evidence: unchanged)."""
    if weight is None:
        return quality
    policy = quality_policy().ranking
    k = policy.evidence_strength
    return (weight * quality + k * policy.evidence_prior) / (weight + k)


def counted_quality(credible: float, cap: float | None) -> float:
    """Credible quality as the ranking counts it: above ``cap`` (the comfortable level) only ``above_cap_share``
    of the surplus counts, so a clearly stronger model still beats a weaker one at nearly the same price."""
    if cap is None or credible <= cap:
        return credible
    return cap + quality_policy().ranking.above_cap_share * (credible - cap)


def cost_penalty(cost: float | None, budget: float | None) -> float:
    """``cost_weight`` × the share of the monthly budget a candidate spends (0 without a positive budget)."""
    if cost is None or budget is None or budget <= 0:
        return 0.0
    return quality_policy().ranking.cost_weight * cost / budget


def cost_band(cost: float | None, budget: float | None) -> float:
    """The monthly cost in steps of ``cost_step`` × the budget (costs that close are equal), or as is."""
    if cost is None:
        return float("inf")
    if budget is None or budget <= 0:
        return cost
    return float(round(cost / (quality_policy().ranking.cost_step * budget)))


def ranking_key(
    assessment: Assessment, bar: float | None = None, budget: float | None = None
) -> tuple[int, int, int, float, int, float, float, float, str]:
    """The sort key of one acceptable assessment.

    ``bar`` None (the quality-first levels): the utility is the credible quality, uncapped. Otherwise the
    utility is the counted quality (full up to ``bar`` + headroom, ``above_cap_share`` of the surplus above)
    minus ``cost_weight`` × the share of ``budget`` the candidate spends. The utility counts in steps of
    ``quality_step``; the monthly cost breaks ties.
    """
    policy = quality_policy().ranking
    measured = QualityMetrics.from_metrics(assessment.metrics)
    cost = PriceMetrics.from_metrics(assessment.metrics).monthly_usd
    speed = SizingMetrics.from_metrics(assessment.metrics).decode_tokens_per_s
    quality = measured.value
    if quality is not None:
        evidence = EVIDENCE_ORDER.get(measured.kind, 0) if measured.kind is not None else 0
        credible = credible_quality(quality, evidence_weight(assessment))
        if bar is None:
            utility = credible
        else:
            utility = counted_quality(credible, bar + policy.headroom) - cost_penalty(cost, budget)
        band = -round(utility / policy.quality_step)
        full_band = -round(quality / policy.quality_step)
    else:
        evidence, band, full_band = 2, 0, 0
    return (
        1 if hard_warning(assessment) else 0,
        evidence,
        band,
        cost_band(cost, budget),
        full_band,
        measured.quant_penalty or 0.0,
        cost if cost is not None else float("inf"),
        -speed if speed is not None else 0.0,
        assessment.candidate.key,
    )


def ranking_basis(requirements: Requirements) -> str:
    """One line saying how the built-in ranking ordered the candidates for these answers."""
    return ranking_basis_text(requirements.quality, requirements.min_quality, requirements.budget.monthly_usd)


@hookimpl(trylast=True)
def advisor_rank(candidates: list[Assessment], requirements: Requirements) -> list[Assessment]:
    bar = quality_bar(requirements.quality, requirements.min_quality)
    cap = None if requirements.quality in quality_policy().ranking.quality_first else bar
    budget = requirements.budget.monthly_usd
    return sorted(candidates, key=lambda a: ranking_key(a, cap, budget))

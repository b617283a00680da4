"""The JSON output of ``advisor plan`` and ``advisor check`` (docs/design.md §4: keys may be added, never renamed)."""

from __future__ import annotations

from typing import Any

from advisor.model.metrics import DECODE_TOKENS_PER_S, MONTHLY_COST_USD, QUALITY, TOTAL_BYTES
from advisor.model.plan import Assessment, Plan

#: Metrics every candidate row carries, null when unknown (the contract's four, then the rest).
CORE_METRICS = (QUALITY, MONTHLY_COST_USD, TOTAL_BYTES, DECODE_TOKENS_PER_S)


def assessment_to_json(assessment: Assessment) -> dict[str, Any]:
    candidate = assessment.candidate
    metrics = {name: assessment.metrics.get(name) for name in CORE_METRICS}
    metrics.update({k: v for k, v in sorted(assessment.metrics.items()) if k not in metrics})
    return {
        "id": candidate.id,
        "kind": candidate.kind,
        "name": candidate.name,
        "quant": candidate.quant,
        "hardware": candidate.hardware,
        "hardware_count": candidate.hardware_count,
        "rank": assessment.rank,
        "verdict": assessment.verdict,
        "license": candidate.license,
        "params": candidate.params,
        "active_params": candidate.active_params,
        "metrics": metrics,
        "findings": [
            {
                "check": f.check,
                "category": f.category,
                "plugin": f.plugin,
                "severity": f.severity,
                "message": f.message,
                "remediation": f.remediation,
                "evidence": f.evidence,
            }
            for f in assessment.findings
        ],
    }


def ordered_assessments(plan: Plan) -> list[Assessment]:
    """Ranked first (by rank), then the rejected ones by id: stable across runs."""
    ranked = plan.ranked
    rest = sorted((a for a in plan.assessments if a.rank is None), key=lambda a: a.candidate.key)
    return [*ranked, *rest]


def plan_to_json(plan: Plan) -> dict[str, Any]:
    strategy = plan.strategy
    return {
        "schema_version": plan.schema_version,
        "requirements": plan.requirements,
        "strategy": {
            "recommended": strategy.recommended,
            "scores": strategy.scores,
            "reasons": strategy.reasons,
            "flip_conditions": strategy.flip_conditions,
            "signals": [s.model_dump(mode="json") for s in strategy.signals],
        },
        "candidates": [assessment_to_json(a) for a in ordered_assessments(plan)],
        "deployment": plan.deployment.model_dump(mode="json") if plan.deployment else None,
        "plugin_errors": plan.plugin_errors,
    }

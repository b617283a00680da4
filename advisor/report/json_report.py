"""The JSON output of ``advisor plan`` and ``advisor check`` (docs/design.md §4: keys may be added, never renamed).

A plan's JSON runs to megabytes (every finding's evidence), and the standard library's pure-Python
indenting encoder took a tenth of a plan's run time; :func:`json_text` writes the same text faster,
and only strict JSON (no ``NaN``/``Infinity``, whatever a plugin puts in its metrics).
"""

from __future__ import annotations

from json.encoder import INFINITY, encode_basestring
from typing import Any

from advisor.model.metrics import DECODE_TOKENS_PER_S, MONTHLY_COST_USD, QUALITY, TOTAL_BYTES
from advisor.model.plan import Assessment, Plan
from advisor.report.view import ranking_basis

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
        "evaluate_first": plan.evaluate_first,
        "ranking_basis": ranking_basis(plan),
    }


def json_text(data: Any) -> str:
    """``json.dumps(data, indent=2, ensure_ascii=False)``, the same text in about half the time, and strict.

    The standard encoder indents in pure Python with nested generators; this writes into one list.
    It takes what ``json.dumps`` takes without a ``default`` (dict, list, tuple, str, int, float,
    bool, None; dict keys str, int, float, bool or None) and raises TypeError for anything else.
    Unlike ``json.dumps`` it never writes ``NaN`` or ``Infinity``, which are not JSON (RFC 8259): a
    non-finite number (a plugin's NaN metric, an infinite "never") is written as ``null``, "no
    value", the way the contract writes any unknown number (docs/design.md §7).
    """
    parts: list[str] = []
    append = parts.append

    def write(value: Any, newline: str) -> None:
        # ``newline`` is a line break and the indentation of the level ``value`` sits at
        if isinstance(value, str):
            append(encode_basestring(value))
        elif value is None:
            append("null")
        elif value is True:
            append("true")
        elif value is False:
            append("false")
        elif isinstance(value, int):
            append(int.__repr__(value))
        elif isinstance(value, float):
            append(float.__repr__(value) if value - value == 0.0 else "null")  # inf - inf and nan - nan are nan
        elif isinstance(value, dict):
            if not value:
                append("{}")
                return
            inner = newline + "  "
            separator = "{" + inner
            for key, item in value.items():
                append(separator)
                append(encode_basestring(key if isinstance(key, str) else _key_text(key)))
                append(": ")
                if isinstance(item, str):
                    append(encode_basestring(item))
                else:
                    write(item, inner)
                separator = "," + inner
            append(newline + "}")
        elif isinstance(value, list | tuple):
            if not value:
                append("[]")
                return
            inner = newline + "  "
            separator = "[" + inner
            for item in value:
                append(separator)
                if isinstance(item, str):
                    append(encode_basestring(item))
                else:
                    write(item, inner)
                separator = "," + inner
            append(newline + "]")
        else:
            raise TypeError(f"Object of type {value.__class__.__name__} is not JSON serializable")

    write(data, "\n")
    return "".join(parts)


def _float_text(value: float) -> str:
    if value != value:
        return "NaN"
    if value == INFINITY:
        return "Infinity"
    if value == -INFINITY:
        return "-Infinity"
    return float.__repr__(value)


def _key_text(key: Any) -> str:
    """A non-string dict key as ``json.dumps`` spells it (before quoting)."""
    if isinstance(key, float):
        return _float_text(key)
    if key is True:
        return "true"
    if key is False:
        return "false"
    if key is None:
        return "null"
    if isinstance(key, int):
        return int.__repr__(key)
    raise TypeError(f"keys must be str, int, float, bool or None, not {key.__class__.__name__}")

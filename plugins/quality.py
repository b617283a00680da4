"""Quality checks: QUAL001 (quality bar), QUAL002 (languages), QUAL003 (predicted or inherited quality),
QUAL004 (quantization loss).

Thin rules over ``advisor.estimate.quality``: the numbers, the policy and the basis strings come
from there; these checks only decide severities and point to the better option.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from advisor import AdvisorContext, Candidate, Check, Finding, Requirements, hookimpl
from advisor.engine.sizing import size_candidate
from advisor.estimate.quality import (
    QualityEstimate,
    candidate_quality,
    predicted_range,
    quality_bar,
    quality_policy,
    quant_penalty,
)

#: How well a variant fits its hardware, worst to best; a suggested quant must fit at least as well.
FIT_ORDER = {"no": 0, "cpu": 1, "partial": 2, "gpu": 3}


def assessed_quality(
    candidate: Candidate, requirements: Requirements, context: AdvisorContext
) -> QualityEstimate | None:
    """The candidate's quality for the answers' use case, memoised on the catalog (several checks read it)."""
    catalog = context.catalog
    key = (
        "quality",
        candidate.kind,
        candidate.id,
        candidate.quant,
        candidate.params,
        candidate.active_params,
        candidate.pretraining_tokens,
        candidate.base_model,
        tuple(sorted((name, score.value) for name, score in candidate.benchmarks.items())),
        requirements.use_case,
    )
    if key not in catalog.derived:
        catalog.derived[key] = candidate_quality(candidate, requirements.use_case, catalog)
    return catalog.derived[key]  # type: ignore[return-value]


def _level(requirements: Requirements) -> str:
    if requirements.min_quality is not None:
        return "min_quality"
    return requirements.quality or "no level"


def meets_quality_bar(candidate: Candidate, requirements: Requirements, context: AdvisorContext) -> Iterator[Finding]:
    """QUAL001: quality against the bar; a published (or inherited) score below it fails."""
    bar = quality_bar(requirements.quality, requirements.min_quality)
    if candidate.kind == "build":
        yield Finding(
            severity="info",
            message="quality of a model not yet built is unknown; the target size "
            f"was chosen for the '{candidate.extra.get('target_quality')}' level (assumption)",
        )
        return
    estimate = assessed_quality(candidate, requirements, context)
    if estimate is None:
        yield Finding(
            severity="info",
            message="no published benchmark score in the catalog and no model size to predict from; quality unknown",
            metrics={"quality": None, "quality_basis": "unknown: no published score, size not known"},
            remediation="check the provider's published evaluations before relying on it",
        )
        return
    metrics = estimate.metrics()
    evidence = estimate.as_dict(detail=False)
    label = "upper bound" if estimate.kind == "predicted" else "quality"
    if bar is None:
        yield Finding(
            severity="pass", message=f"{label} {estimate.value:.2f} (no bar asked): {estimate.basis}", metrics=metrics
        )
        return
    against = f"the bar {bar:.2f} ({_level(requirements)})"
    if estimate.value >= bar:
        note = ": not confirmed by a published score (QUAL003)" if estimate.kind == "predicted" else ""
        yield Finding(
            severity="pass",
            message=f"{label} {estimate.value:.2f} meets {against}{note}: {estimate.basis}",
            metrics=metrics,
            evidence=evidence,
        )
        return
    quant_note, remediation = "", "a larger or newer model"
    if estimate.before_quant >= bar and estimate.penalty is not None:
        quant_note = f"; without the {estimate.penalty.quant} loss it would be {estimate.before_quant:.2f}"
        remediation = "a higher-precision weight format (Q8_0 or F16) on more memory"
    what, severity = "quality", "fail"
    extra: dict[str, object] = {}
    span = predicted_range(estimate)
    if span is not None:
        # an upper bound below the bar fails: the model cannot be expected to reach the bar (issue 14)
        prediction = estimate.prediction
        policy = quality_policy().prediction
        taus = policy.quantiles
        what = (
            f"even the predicted upper bound {estimate.value:.2f} (range {span[0]:.2f}–{span[1]:.2f} for "
            f"τ {min(taus):g}–{max(taus):g})"
        )
        if prediction is not None and prediction.tokens_assumed:
            # D = 20·N understates modern over-trained models 10–100×: a bound on it is no bound unless it
            # stays below the bar at the most over-trained D as well (assumed_tokens_max_factor × 20·N)
            factor = policy.assumed_tokens_max_factor
            generous = predicted_range(estimate, factor) or span
            what += f" (on assumed pre-training tokens, D = 20·N; {generous[1]:.2f} at {factor:g}× those tokens)"
            if generous[1] >= bar:
                severity = "warn"
                what = what.replace("even the predicted", "the predicted", 1)
            extra = {"upper_bound_at_max_tokens": round(generous[1], 4)}
        extra = {**extra, "upper_bound_range": [round(span[0], 4), round(span[1], 4)]}
        remediation += "; if you believe this one is stronger, find its published scores or evaluate it on your task"
    else:
        what = f"{what} {estimate.value:.2f}"
    yield Finding(
        severity=severity,
        message=f"{what} is below {against}{quant_note}: {estimate.basis}",
        metrics=metrics,
        evidence={**evidence, **extra},
        remediation=remediation,
    )


def _language(code: str) -> str:
    """ISO 639-1 primary subtag, lower case: "ru-RU" and "RU" are both "ru"."""
    return code.strip().lower().replace("_", "-").split("-")[0]


def required_languages(requirements: Requirements) -> tuple[list[str], list[str]]:
    """(required, wanted) languages from the answers, per the policy: the first listed language is
    required, the others wanted; every listed language is required for the use cases that say so."""
    policy = quality_policy().languages
    listed = list(dict.fromkeys(_language(code) for code in requirements.languages if code.strip()))
    if policy.required == "all" or requirements.use_case in policy.all_required_for:
        return listed, []
    return listed[:1], listed[1:]


def speaks_languages(candidate: Candidate, requirements: Requirements) -> Iterator[Finding]:
    """QUAL002: a required language missing from the model card fails; a wanted one warns."""
    if candidate.kind == "build":
        return
    required, wanted = required_languages(requirements)
    if not required and not wanted:
        return
    if not candidate.languages:
        yield Finding(
            severity="info",
            message=f"supported languages not listed in the catalog; check the model card for "
            f"{', '.join(required + wanted)}",
        )
        return
    have = {_language(code) for code in candidate.languages}
    missing_required = [code for code in required if code not in have]
    missing_wanted = [code for code in wanted if code not in have]
    listed = ", ".join(sorted(have))
    if missing_required:
        why = (
            "every language is required for translation"
            if requirements.use_case in quality_policy().languages.all_required_for
            else "the first language in the answers is the one the product must speak"
        )
        yield Finding(
            severity="fail",
            message=f"the model card does not list {', '.join(missing_required)} ({why}); it lists {listed}",
            evidence={"required": required, "wanted": wanted, "listed": sorted(have)},
            remediation="pick a model whose card lists the language, or fine-tune and evaluate one on it",
        )
    elif missing_wanted:
        yield Finding(
            severity="warn",
            message=f"the model card does not list {', '.join(missing_wanted)} among its languages ({listed})",
            evidence={"required": required, "wanted": wanted, "listed": sorted(have)},
            remediation="test it on that language, or pick a model that lists it",
        )
    else:
        yield Finding(severity="pass", message=f"model card lists {', '.join(required + wanted)}")


def predicted_quality(candidate: Candidate, requirements: Requirements, context: AdvisorContext) -> Iterator[Finding]:
    """QUAL003: say so when no published score of the model itself stands behind its quality."""
    estimate = assessed_quality(candidate, requirements, context)
    if estimate is None:
        return
    if estimate.kind == "predicted" and estimate.prediction is not None:
        prediction = estimate.prediction
        span = predicted_range(estimate)
        spread = f" (range {span[0]:.2f}–{span[1]:.2f} over the policy's quantiles)" if span is not None else ""
        yield Finding(
            severity="info",
            message=f"quality {estimate.value:.2f}{spread} is a predicted upper bound, not a measurement: the "
            f"{prediction.describe()}",
            metrics=estimate.metrics(),
            evidence={"prediction": prediction.as_dict(), "notes": list(estimate.notes)},
            remediation="evaluate the model on your own task before committing to it",
        )
    elif estimate.kind == "inherited":
        yield Finding(
            severity="info",
            message=f"quality {estimate.value:.2f} comes from the base model {estimate.inherited_from}; "
            "this fine-tune publishes no scores of its own",
            metrics=estimate.metrics(),
            remediation="evaluate the fine-tune on your own task",
        )


def _better_quant(
    candidate: Candidate, requirements: Requirements, context: AdvisorContext, current: float
) -> tuple[str, float, str] | None:
    """The lowest-loss GGUF quant that fits this variant's hardware at least as well as the current one."""
    catalog = context.catalog
    here = size_candidate(candidate, catalog, requirements.context_tokens)
    floor = max(FIT_ORDER.get(here.fit.fits, 0) if here is not None else 0, FIT_ORDER["cpu"])
    params = candidate.active_params or candidate.params
    options = []
    for quant in catalog.quants.values():
        if quant.format != "gguf":
            continue
        penalty = quant_penalty(quant.id, params)
        if penalty is None or penalty.penalty is None or penalty.penalty >= current:
            continue
        options.append((penalty.penalty, quant.bits_per_weight, quant.id))
    for penalty_value, _, quant_id in sorted(options):
        sizing = size_candidate(candidate.model_copy(update={"quant": quant_id}), catalog, requirements.context_tokens)
        if sizing is not None and FIT_ORDER.get(sizing.fit.fits, 0) >= floor:
            return quant_id, penalty_value, sizing.fit.fits
    return None


def quantization_loss(candidate: Candidate, requirements: Requirements, context: AdvisorContext) -> Iterator[Finding]:
    """QUAL004: the weight format's quality loss, shown; heavy loss warns and names a better quant that fits."""
    if not candidate.quant:
        return
    params = candidate.active_params or candidate.params
    penalty = quant_penalty(candidate.quant, params)
    if penalty is None:
        return
    if penalty.penalty is None:
        yield Finding(severity="info", message=penalty.describe(), evidence=penalty.as_dict())
        return
    heavy = quality_policy().quantization.heavy_loss
    if penalty.penalty < heavy:
        yield Finding(severity="pass", message=f"quantization loss {penalty.describe()}", evidence=penalty.as_dict())
        return
    better = _better_quant(candidate, requirements, context, penalty.penalty)
    if better is not None:
        quant_id, loss, fits = better
        remediation = f"{quant_id} fits the same hardware ({fits}) and loses about {loss:.3f}"
    elif size_candidate(candidate, context.catalog, requirements.context_tokens) is None:
        remediation = "a quant with a smaller loss (Q4_K_M or above); this variant cannot be sized to check the fit"
    else:
        remediation = "no lower-loss GGUF quant fits this hardware: more memory, or a smaller model at higher precision"
    yield Finding(
        severity="warn",
        message=f"heavy quantization loss (≥ {heavy:.3f}): {penalty.describe()}",
        evidence={**penalty.as_dict(), "better_quant": better[0] if better else None},
        remediation=remediation,
    )


@hookimpl
def advisor_register_checks(register: Callable[[Check], None]) -> None:
    register(
        Check(id="QUAL001", category="quality", summary="Expected quality meets the quality bar", run=meets_quality_bar)
    )
    register(
        Check(id="QUAL002", category="quality", summary="Model supports the required languages", run=speaks_languages)
    )
    register(
        Check(
            id="QUAL003",
            category="quality",
            summary="Quality rests on a prediction or a base model's scores",
            run=predicted_quality,
            kinds=("api", "open_source"),
        )
    )
    register(
        Check(
            id="QUAL004",
            category="quality",
            summary="Quantization loss of the weight format",
            run=quantization_loss,
            kinds=("open_source",),
        )
    )

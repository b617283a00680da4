"""Expected quality on a 0–1 scale, with the basis that explains it.

Three sources, in this order of trust (docs/quality.md):

1. **Published scores** from the catalog (MMLU, MMLU-Pro, GPQA, IFEval, HumanEval, MATH, Arena with
   its date). Each is normalised on its own scale — (score − floor) / (ceiling − floor), floor =
   chance for multiple-choice benchmarks, the Open LLM Leaderboard v2 rule — and the use case's
   weights average them (catalog/quality_policy.yaml says why each weight).
2. **Inherited scores**: a fine-tune that publishes none takes its catalog base model's, and says so.
3. **Predicted scores**: the capability boundary (advisor.estimate.scaling) at the model's training
   compute z = log10(6·N·D); an upper bound at a stated quantile, with D ≈ 20·N (Chinchilla)
   when the tokens are not published. With published tokens the boundary also fills the benchmarks
   a model does not publish, so one lucky benchmark cannot stand for the whole score.

A weight format's quality loss (catalog/quant_quality.yaml, llama.cpp's published KL-divergence
runs) is subtracted last and shown. The policy and tables are data with sources; this module
holds only the arithmetic (advisor.catalog.tables reads the files).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from advisor.catalog.records import BenchmarkScore, ModelRecord
from advisor.catalog.tables import load_table
from advisor.estimate import benchmark_scale, scaling
from advisor.estimate.benchmark_scale import (
    BenchmarkScale,
    Imputed,
    Population,
    ScaleSettings,
    fitted_scale,
    population_key,
)
from advisor.estimate.scaling import (
    Boundary,
    BoundarySpec,
    ComputeSource,
    DataPoint,
    FitSettings,
    Sigmoid,
    compute_z,
    fit_boundary,
    fit_sigmoid_quantile,
    training_flops,
)
from advisor.estimate.units import human_count
from advisor.files.cache import memoised
from advisor.model.metrics import Metrics, QualityMetrics

if TYPE_CHECKING:
    from advisor.catalog.loader import Catalog
    from advisor.model.candidate import Candidate

QualityKind = Literal["published", "inherited", "mixed", "predicted"]
Origin = Literal["published", "predicted", "imputed"]

POLICY_FILE = "quality_policy.yaml"
QUANT_FILE = "quant_quality.yaml"


# --------------------------------------------------------------------------------------------- policy data


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Anchor(_Strict):
    """Where a benchmark's 0 and 1 are: chance (or a stated floor) and the scale's top."""

    floor: float
    ceiling: float
    why: str

    @model_validator(mode="after")
    def _ordered(self) -> Anchor:
        if self.ceiling <= self.floor:
            raise ValueError("ceiling must be above floor")
        return self


class PredictionPolicy(_Strict):
    quantile: float = Field(gt=0.0, lt=1.0)
    quantiles: list[float]
    use: list[str]
    impute_missing: bool
    assumed_tokens_max_factor: float = Field(default=1.0, ge=1.0)


class ComputePolicy(_Strict):
    file: str
    model_column: str
    flops_column: str
    flops_unit: float


class BoundaryEntry(_Strict):
    name: str
    label: str
    file: str
    column: str
    catalog_key: str | None = None


class FitPolicy(_Strict):
    lambda_b: float = Field(ge=0.0)
    b_min: float = Field(gt=0.0)
    b_max: float = Field(gt=0.0)
    z_star_min: float
    z_star_max: float
    grid_z: int = Field(ge=2)
    grid_b: int = Field(ge=2)
    refinements: int = Field(ge=0)
    golden_iterations: int = Field(ge=1)
    bins: int = Field(ge=1)


class QuantizationPolicy(_Strict):
    heavy_loss: float = Field(gt=0.0)


class LanguagePolicy(_Strict):
    required: Literal["first", "all"]
    all_required_for: list[str]


class RankingPolicy(_Strict):
    quality_step: float = Field(gt=0.0)
    headroom: float = Field(ge=0.0)
    quality_first: tuple[str, ...] = ()
    soft_warns: tuple[str, ...] = ()
    evidence_strength: float = Field(default=2.0, gt=0.0)
    evidence_prior: float = Field(default=0.5, ge=0.0, le=1.0)
    above_cap_share: float = Field(default=0.5, ge=0.0, le=1.0)
    cost_weight: float = Field(default=0.25, ge=0.0)
    cost_step: float = Field(default=0.05, gt=0.0)
    imputed_evidence: float = Field(default=0.0, ge=0.0, le=1.0)
    imputed_evidence_full_at: int = Field(default=6, ge=1)


class ImputationPolicy(_Strict):
    """How missing benchmarks are filled from the catalog's latent fit (advisor.estimate.benchmark_scale)."""

    enabled: bool = True
    benchmarks: list[str]
    factors: int = Field(default=1, ge=1, le=4)
    ridge: float = Field(default=1e-3, ge=0.0)
    shrinkage: float = Field(default=1.0, ge=0.0)
    min_records: int = Field(default=8, ge=2)
    min_scores: int = Field(default=2, ge=2)
    min_published: int = Field(default=1, ge=1)

    def settings(self) -> ScaleSettings:
        return ScaleSettings(
            factors=self.factors,
            ridge=self.ridge,
            shrinkage=self.shrinkage,
            min_records=self.min_records,
            min_scores=self.min_scores,
        )


class QualityPolicy(_Strict):
    """Typed view of catalog/quality_policy.yaml."""

    as_of: dt.date
    sources: list[str]
    normalisation: dict[str, Anchor]
    use_case_weights: dict[str, dict[str, float]]
    bars: dict[str, float]
    prediction: PredictionPolicy
    compute: ComputePolicy
    boundaries: list[BoundaryEntry]
    fit: FitPolicy
    quantization: QuantizationPolicy
    languages: LanguagePolicy
    ranking: RankingPolicy
    imputation: ImputationPolicy

    @model_validator(mode="after")
    def _consistent(self) -> QualityPolicy:
        for use_case, weights in self.use_case_weights.items():
            unknown = sorted(set(weights) - set(self.normalisation))
            if unknown:
                raise ValueError(f"use_case_weights.{use_case}: no normalisation for {', '.join(unknown)}")
            if any(w < 0 for w in weights.values()) or not any(w > 0 for w in weights.values()):
                raise ValueError(f"use_case_weights.{use_case}: weights must be >= 0 with at least one > 0")
        unknown = sorted(set(self.imputation.benchmarks) - set(self.normalisation))
        if unknown:
            raise ValueError(f"imputation.benchmarks: no normalisation for {', '.join(unknown)}")
        keys = {b.catalog_key for b in self.boundaries if b.catalog_key}
        missing = sorted(set(self.prediction.use) - keys)
        if missing:
            raise ValueError(f"prediction.use: no boundary predicts {', '.join(missing)}")
        if self.prediction.quantile not in self.prediction.quantiles:
            raise ValueError("prediction.quantile must be one of prediction.quantiles")
        levels = [self.bars[k] for k in ("low", "medium", "high", "frontier") if k in self.bars]
        if len(levels) != 4 or levels != sorted(levels):
            raise ValueError("bars: low, medium, high and frontier are required, in increasing order")
        return self

    def fit_settings(self) -> FitSettings:
        return FitSettings(**self.fit.model_dump())

    def compute_source(self) -> ComputeSource:
        return ComputeSource(**self.compute.model_dump())

    def spec(self, name: str) -> BoundarySpec:
        for entry in self.boundaries:
            if entry.name == name:
                return BoundarySpec(**entry.model_dump())
        raise KeyError(name)

    def spec_for_key(self, catalog_key: str) -> BoundarySpec | None:
        for entry in self.boundaries:
            if entry.catalog_key == catalog_key:
                return BoundarySpec(**entry.model_dump())
        return None

    def weights(self, use_case: str) -> dict[str, float]:
        """The use case's benchmark weights; an unknown use case is weighted like chat."""
        return self.use_case_weights.get(use_case) or self.use_case_weights["chat"]


class QuantLoss(_Strict):
    kld: float
    mean_delta_p_pct: float
    delta_ppl: float
    imatrix: str
    size_gib: float
    same_top_pct: float | None = None


class SmallModelTable(_Strict):
    name: str
    params: int
    fp16_ppl: float
    source: str
    quants: dict[str, QuantLoss]


class LargeModelTable(_Strict):
    name: str
    params: int
    fp16_ppl: float
    source: str
    note: str
    ppl_delta_pct: dict[str, float]


class QuantQuality(_Strict):
    """Typed view of catalog/quant_quality.yaml."""

    as_of: dt.date
    sources: list[str]
    notes: str
    reference_formats: list[str]
    small_model: SmallModelTable
    large_model: LargeModelTable

    def size_ratio(self) -> float:
        """Median over quant types of (large-model % ΔPPL) / (small-model % ΔPPL)."""
        ratios = []
        for quant, pct_large in self.large_model.ppl_delta_pct.items():
            small = self.small_model.quants.get(quant)
            if small is not None and small.delta_ppl > 0:
                ratios.append(pct_large / (100.0 * small.delta_ppl / self.small_model.fp16_ppl))
        ratios.sort()
        if not ratios:
            return 1.0
        mid = len(ratios) // 2
        return ratios[mid] if len(ratios) % 2 else (ratios[mid - 1] + ratios[mid]) / 2.0


@lru_cache(maxsize=1)
def quality_policy() -> QualityPolicy:
    """The packaged quality policy, validated once."""
    return load_table(POLICY_FILE, QualityPolicy)


@lru_cache(maxsize=1)
def quant_quality() -> QuantQuality:
    """The packaged quantization-loss tables, validated once."""
    return load_table(QUANT_FILE, QuantQuality)


# --------------------------------------------------------------------------------------------- boundaries


@lru_cache(maxsize=64)
def fitted_boundary(name: str, quantile: float) -> Boundary:
    """The boundary ``name`` at ``quantile``, fitted on the shipped data (memoised per process).

    Quantiles are fitted in increasing order, each kept above the one below (no crossing).
    """
    policy = quality_policy()
    lower = [q for q in sorted(policy.prediction.quantiles) if q < quantile]
    floor = fitted_boundary(name, lower[-1]) if lower else None
    return fit_boundary(
        policy.spec(name), quantile, policy.compute_source(), policy.fit_settings(), floor, fit=_remembered_fit
    )


def _remembered_fit(points: Sequence[DataPoint], tau: float, settings: FitSettings, floor: Sigmoid | None) -> Sigmoid:
    """:func:`fit_sigmoid_quantile`, its result kept in the user's cache between runs.

    The same points, quantile, settings, floor and fitting code always give the same curve, but the
    fit (with the numpy import it needs) is a sixth of an ``advisor plan``; the cache entry is keyed
    on all of them, so a change to any refits. JSON keeps a float's exact value.
    """
    key = repr((tuple((p.z, p.y) for p in points), tau, settings, floor))
    data = memoised(
        "boundaries", key, [Path(scaling.__file__)], lambda: asdict(fit_sigmoid_quantile(points, tau, settings, floor))
    )
    try:
        return Sigmoid(**{name: float(data[name]) for name in ("y0", "L", "z_star", "b")})
    except (KeyError, TypeError, ValueError):
        return fit_sigmoid_quantile(points, tau, settings, floor)


def all_boundaries() -> list[Boundary]:
    """Every configured boundary at every configured quantile, in policy order."""
    policy = quality_policy()
    return [fitted_boundary(b.name, q) for b in policy.boundaries for q in policy.prediction.quantiles]


# --------------------------------------------------------------------------------------------- pieces


def normalise_value(benchmark: str, value: float) -> float | None:
    """clip((value − floor) / (ceiling − floor), 0, 1) with the benchmark's anchors; None without anchors."""
    anchor = quality_policy().normalisation.get(benchmark)
    if anchor is None:
        return None
    return min(1.0, max(0.0, (value - anchor.floor) / (anchor.ceiling - anchor.floor)))


def normalise(benchmark: str, score: BenchmarkScore) -> float | None:
    """One published score on 0–1 (see :func:`normalise_value`)."""
    return normalise_value(benchmark, score.value)


def ranking_basis_text(level: str | None, min_quality: float | None, budget_usd: float | None = None) -> str:
    """One line saying how the built-in ranking (plugins/ranking.py) orders candidates at this quality level.

    It is the plan's ``ranking_basis`` (docs/design.md §7), the sentence a report shows above its table.
    """
    policy = quality_policy().ranking
    bar = quality_bar(level, min_quality)
    evidence = (
        "quality discounted for thin evidence (several benchmarks the use case needs count more than one "
        "generic number; a prediction after a measurement)"
    )
    budget = budget_usd is not None and budget_usd > 0
    near = f"costs within {policy.cost_step:.0%} of the budget count as equal, then " if budget else ""
    tail = (
        f"; catalog gaps (info) and operational warnings ({', '.join(policy.soft_warns) or 'none'}) do not lower "
        f"a rank; {near}higher-precision weights first"
    )
    if bar is None:
        return f"Ranked by {evidence}, then monthly cost{tail}."
    if level in policy.quality_first:
        return f"Ranked quality first ({level} bar {bar:.2f}): {evidence}, then monthly cost{tail}."
    cap = bar + policy.headroom
    spend = f", less {policy.cost_weight:g} × the share of the budget spent" if budget else ", then monthly cost"
    return (
        f"Ranked with cost weighted (bar {bar:.2f}): {evidence}; above {cap:.2f} quality counts "
        f"{policy.above_cap_share:.0%}{spend}{tail}."
    )


def quality_bar(level: str | None, min_quality: float | None) -> float | None:
    """The bar from the answers: an explicit ``min_quality`` wins over the level."""
    if min_quality is not None:
        return min_quality
    return quality_policy().bars.get(level) if level else None


@dataclass(frozen=True)
class Component:
    """One benchmark's contribution: its raw value, normalised value, weight and origin."""

    benchmark: str
    value: float
    scale: str
    normalised: float
    weight: float
    origin: Origin
    as_of: str | None = None
    source: str | None = None
    note: str | None = None
    extrapolated: bool = False
    support: int | None = None  # imputed: how many of the model's published scores the prediction rests on

    def describe(self) -> str:
        approx = f"{self.value:.0f}" if abs(self.value) >= 100 else f"{self.value:.1f}"  # never 1.4e+03
        raw = {"published": f"{self.value:g}", "imputed": f"~{approx} imputed"}.get(self.origin, f"≤{self.value:.1f}")
        dated = f" ({self.as_of})" if self.benchmark == "arena_elo" else ""
        if self.benchmark == "arena_elo" and self.as_of is None:
            dated = " (undated)" if self.origin == "published" else ""  # an imputed Elo is no snapshot
        extra = ", extrapolated" if self.extrapolated else ""
        return f"{self.benchmark} {raw}{dated}{extra} → {self.normalised:.2f}×{self.weight:g}"

    def as_dict(self, detail: bool = True) -> dict[str, Any]:
        """The component as JSON; ``detail`` adds the score's source and note."""
        data: dict[str, Any] = {
            "benchmark": self.benchmark,
            "value": round(self.value, 2),
            "scale": self.scale,
            "normalised": round(self.normalised, 4),
            "weight": self.weight,
            "origin": self.origin,
            "as_of": self.as_of,
            "extrapolated": self.extrapolated,
            "support": self.support,
        }
        if detail:
            data.update(source=self.source, note=self.note)
        return data


@dataclass(frozen=True)
class Prediction:
    """Boundary values at one model's training compute."""

    params: float
    tokens: float
    tokens_assumed: bool
    z: float
    quantile: float
    values: dict[str, float]  # catalog key -> predicted score in percent
    extrapolated: tuple[str, ...] = ()

    @property
    def flops(self) -> float:
        return training_flops(self.params, self.tokens)

    def describe(self) -> str:
        tokens = (
            f"D = 20·N = {human_count(self.tokens)} tokens assumed "
            "(Chinchilla-optimal; pre-training tokens not published)"
            if self.tokens_assumed
            else f"D = {human_count(self.tokens)} published tokens"
        )
        return f"τ={self.quantile:g} base-model boundary at z={self.z:.2f} (N = {self.params / 1e9:.3g}B, {tokens})"

    def as_dict(self) -> dict[str, Any]:
        return {
            "params": self.params,
            "tokens": self.tokens,
            "tokens_assumed": self.tokens_assumed,
            "flops": self.flops,
            "z": round(self.z, 3),
            "quantile": self.quantile,
            "values": {k: round(v, 2) for k, v in self.values.items()},
            "extrapolated": list(self.extrapolated),
        }


@dataclass(frozen=True)
class QuantPenalty:
    """The quality a weight format costs a model of a given size (0 for the reference formats)."""

    quant: str
    penalty: float | None
    at_reference: float | None = None
    size_factor: float = 1.0
    params: float | None = None
    imatrix: str | None = None
    kld: float | None = None

    @property
    def known(self) -> bool:
        return self.penalty is not None

    def describe(self) -> str:
        if self.penalty is None:
            return f"{self.quant}: no published llama.cpp quality delta for this format (loss unknown, not applied)"
        if self.at_reference is None:
            return f"{self.quant}: reference precision, no loss"
        size = f"{self.params / 1e9:.3g}B" if self.params else "size unknown"
        scaled = f" × {self.size_factor:.2f} for {size}" if self.size_factor != 1.0 else f" ({size})"
        return (
            f"{self.quant} −{self.penalty:.4f} (llama.cpp mean Δp {self.at_reference * 100:.2f} points at LLaMA 3 8B"
            f"{scaled})"
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "quant": self.quant,
            "penalty": None if self.penalty is None else round(self.penalty, 4),
            "at_8b": self.at_reference,
            "size_factor": round(self.size_factor, 4),
            "params": self.params,
            "imatrix": self.imatrix,
            "kld_8b": self.kld,
        }


def size_factor(params: float | None, table: QuantQuality | None = None) -> float:
    """How much of the 8B loss a model of ``params`` parameters sees: 1 up to 8B, the published
    70B/8B ratio from 70B up, log-linear in between."""
    table = table or quant_quality()
    if not params:
        return 1.0
    small, large = table.small_model.params, table.large_model.params
    ratio = table.size_ratio()
    if params <= small:
        return 1.0
    if params >= large:
        return ratio
    return float(ratio ** (math.log(params / small) / math.log(large / small)))


def quant_penalty(quant: str | None, params: float | None) -> QuantPenalty | None:
    """The penalty of ``quant`` for a model of ``params`` (active) parameters; None without a quant."""
    if not quant:
        return None
    table = quant_quality()
    key = quant.strip().upper()
    if key in {q.upper() for q in table.reference_formats}:
        return QuantPenalty(quant=key, penalty=0.0, params=params)
    loss = table.small_model.quants.get(key)
    if loss is None:
        return QuantPenalty(quant=key, penalty=None, params=params)
    at_ref = abs(loss.mean_delta_p_pct) / 100.0
    factor = size_factor(params, table)
    return QuantPenalty(
        quant=key,
        penalty=at_ref * factor,
        at_reference=at_ref,
        size_factor=factor,
        params=params,
        imatrix=loss.imatrix,
        kld=loss.kld,
    )


def predict_scores(params: float, tokens: float | None, quantile: float | None = None) -> Prediction:
    """Boundary scores (percent) for every predicting benchmark at this model's compute.

    ``tokens`` None uses the Chinchilla-optimal D = 20·N (catalog/cost_constants.yaml) and says so.
    """
    from advisor.estimate.cost_constants import cost_constants

    policy = quality_policy()
    tau = quantile if quantile is not None else policy.prediction.quantile
    assumed = tokens is None or tokens <= 0
    d = cost_constants().chinchilla_tokens_per_param * params if assumed else float(tokens or 0)
    z = compute_z(params, d)
    values: dict[str, float] = {}
    outside: list[str] = []
    for key in policy.prediction.use:
        spec = policy.spec_for_key(key)
        if spec is None:
            continue
        boundary = fitted_boundary(spec.name, tau)
        # the fit keeps quantiles apart on a grid; taking the max over lower quantiles makes it exact
        lower = [fitted_boundary(spec.name, q).predict(z) for q in policy.prediction.quantiles if q < tau]
        values[key] = 100.0 * max([boundary.predict(z), *lower])
        if boundary.extrapolated(z):
            outside.append(key)
    return Prediction(
        params=params, tokens=d, tokens_assumed=assumed, z=z, quantile=tau, values=values, extrapolated=tuple(outside)
    )


# --------------------------------------------------------------------------------------------- the estimate


@dataclass(frozen=True)
class QualityEstimate:
    """A candidate's quality, how it was reached, and the numbers behind each step."""

    value: float
    before_quant: float
    kind: QualityKind
    use_case: str
    components: tuple[Component, ...]
    basis: str
    prediction: Prediction | None = None
    penalty: QuantPenalty | None = None
    inherited_from: str | None = None
    weight_total: float = 0.0
    weight_available: float = 0.0
    weight_published: float = 0.0
    notes: tuple[str, ...] = field(default_factory=tuple)

    def metrics(self) -> Metrics:
        """The metrics a finding carries (``quality`` and ``quality_basis`` are what reports read)."""
        penalty = None if self.penalty is None or self.penalty.penalty is None else round(self.penalty.penalty, 4)
        return QualityMetrics(
            round(self.value, 3), self.basis, self.kind, round(self.before_quant, 3), penalty
        ).to_metrics()

    def as_dict(self, detail: bool = True) -> dict[str, Any]:
        """Everything behind the number; ``detail`` adds each score's source and note."""
        return {
            "quality": round(self.value, 4),
            "basis": self.basis,
            "kind": self.kind,
            "use_case": self.use_case,
            "before_quant": round(self.before_quant, 4),
            "quant_penalty": None if self.penalty is None else self.penalty.as_dict(),
            "inherited_from": self.inherited_from,
            "components": [c.as_dict(detail) for c in self.components],
            "weight_covered": round(self.weight_available / self.weight_total, 4) if self.weight_total else None,
            "weight_published": round(self.weight_published / self.weight_total, 4) if self.weight_total else None,
            "prediction": None if self.prediction is None else self.prediction.as_dict(),
            "notes": list(self.notes),
        }


def _describe(
    kind: QualityKind,
    use_case: str,
    components: list[Component],
    before: float,
    value: float,
    prediction: Prediction | None,
    penalty: QuantPenalty | None,
    inherited_from: str | None,
) -> str:
    head = {
        "published": "published scores",
        "inherited": f"scores of base model {inherited_from} (this fine-tune publishes none)",
        "mixed": "published scores, missing ones filled with predicted upper bounds",
        "predicted": "predicted upper bound (no published score)",
    }[kind]
    imputed = [c.benchmark for c in components if c.origin == "imputed"]
    if imputed:
        head += f" ({', '.join(imputed)} imputed from the catalog's latent fit: predictions, not measurements)"
    parts = ", ".join(c.describe() for c in components)
    text = f"{head}; {use_case} weights: {parts} = {before:.3f}"
    if prediction is not None and any(c.origin == "predicted" for c in components):
        text += f"; prediction: {prediction.describe()}"
    if penalty is not None and penalty.penalty is not None and penalty.penalty > 0:
        text += f"; quant {penalty.describe()} → {value:.3f}"
    elif penalty is not None and penalty.penalty is None:
        text += f"; {penalty.describe()}"
    return text


def denormalise(benchmark: str, normalised: float) -> float:
    """The raw score (percent, or Elo) that normalises to ``normalised`` (the inverse of :func:`normalise_value`)."""
    anchor = quality_policy().normalisation[benchmark]
    return anchor.floor + normalised * (anchor.ceiling - anchor.floor)


def normalised_scores(benchmarks: Mapping[str, BenchmarkScore], only: Iterable[str] | None = None) -> dict[str, float]:
    """A record's published scores on 0–1, for the benchmarks with anchors (and in ``only``, if given)."""
    keep = set(only) if only is not None else None
    out = {}
    for name, score in benchmarks.items():
        value = normalise(name, score)
        if value is not None and (keep is None or name in keep):
            out[name] = value
    return out


def scale_population(
    models: Iterable[ModelRecord], apis: Iterable[tuple[str | None, Mapping[str, BenchmarkScore]]]
) -> Population:
    """The catalog's published scores as the latent fit's population (advisor.estimate.benchmark_scale).

    ``apis`` are ``(open_weights_model, benchmarks)`` pairs: an API serving a catalog open model is merged
    into that model (the model's own scores win), so the same weights count once; identical score sets
    (an alias listed twice) count once. Only the policy's ``imputation.benchmarks`` enter.
    """
    only = quality_policy().imputation.benchmarks
    merged: dict[str, dict[str, float]] = {m.id: normalised_scores(m.benchmarks, only) for m in models}
    extra: list[dict[str, float]] = []
    for hosted, scores in apis:
        values = normalised_scores(scores, only)
        if hosted is not None and hosted in merged:
            merged[hosted] = {**values, **merged[hosted]}
        else:
            extra.append(values)
    return population_key([*merged.values(), *extra])


def catalog_scale(catalog: Catalog) -> BenchmarkScale | None:
    """The latent fit on this catalog's published scores (None when the policy turns imputation off).

    Fitted once per catalog content: memoised on the catalog (cleared when it changes) and, by content, per
    process (:func:`advisor.estimate.benchmark_scale.fitted_scale`).
    """
    policy = quality_policy().imputation
    if not policy.enabled:
        return None
    key = ("benchmark scale",)
    if key not in catalog.derived:
        population = scale_population(
            catalog.models.values(), [(api.open_weights_model, api.benchmarks) for api in catalog.apis.values()]
        )
        catalog.derived[key] = _remembered_scale(population, policy.settings())
    return catalog.derived[key]  # type: ignore[return-value]


def _remembered_scale(population: Population, settings: ScaleSettings) -> BenchmarkScale:
    """:func:`fitted_scale`, kept in the user's cache between runs (keyed on the population, the settings and the
    fitting code, like the boundaries): later plans skip the fit (~0.1 s in plain Python)."""
    data = memoised(
        "benchmark_scale",
        repr((population, settings)),
        [Path(benchmark_scale.__file__)],
        lambda: fitted_scale(population, settings).as_dict(),
    )
    try:
        return BenchmarkScale.from_dict(data, settings)
    except (KeyError, TypeError, ValueError):
        return fitted_scale(population, settings)


def _imputed_component(name: str, imputed: Imputed, weight: float, scale: BenchmarkScale) -> Component:
    factors = scale.settings.factors
    return Component(
        benchmark=name,
        value=denormalise(name, imputed.normalised),
        scale="elo" if name == "arena_elo" else "percent",
        normalised=imputed.normalised,
        weight=weight,
        origin="imputed",
        source=(
            f"imputed: catalog relation fitted on {imputed.records} records publishing {name} "
            f"(latent fit, {factors} abilit{'y' if factors == 1 else 'ies'}, {imputed.population} records)"
        ),
        note=(
            f"a prediction from this model's {', '.join(imputed.from_benchmarks)}, not a measurement; "
            f"in-sample residual sd {imputed.residual_sd:.2f} (out-of-sample error: docs/quality.md §1b)"
        ),
        support=len(imputed.from_benchmarks),
    )


def estimate_quality(
    benchmarks: Mapping[str, BenchmarkScore],
    use_case: str,
    *,
    params: float | None = None,
    tokens: float | None = None,
    quant: str | None = None,
    inherited_from: str | None = None,
    scale: BenchmarkScale | None = None,
) -> QualityEstimate | None:
    """The 0–1 quality for ``use_case`` from published scores, the missing ones imputed from ``scale`` (the
    catalog's latent fit) when given, then filled or replaced by the boundary prediction as the policy says;
    None when there is nothing to go on (no score and no size)."""
    policy = quality_policy()
    weights = policy.weights(use_case)
    components: list[Component] = []
    for name, weight in weights.items():
        score = benchmarks.get(name)
        if score is None or weight <= 0:
            continue
        normalised = normalise(name, score)
        if normalised is None:
            continue
        components.append(
            Component(
                benchmark=name,
                value=score.value,
                scale=score.scale,
                normalised=normalised,
                weight=weight,
                origin="published",
                as_of=score.as_of.isoformat() if score.as_of else None,
                source=score.source,
                note=score.note,
            )
        )
    notes: list[str] = []
    imputation = policy.imputation
    if scale is not None and components:
        own = normalised_scores(benchmarks, imputation.benchmarks)
        if sum(1 for name in own if name in scale.loadings) >= imputation.min_published:
            missing = [n for n, w in weights.items() if w > 0 and n in imputation.benchmarks and n not in own]
            for name, imputed in scale.impute(own, missing).items():
                components.append(_imputed_component(name, imputed, weights[name], scale))
    prediction: Prediction | None = None
    have = {c.benchmark for c in components}
    wanted = [n for n in policy.prediction.use if weights.get(n, 0) > 0 and n not in have]
    # predict for a model with no score at all (D assumed if unknown), or fill the gaps of one with
    # published tokens; never fill gaps on an assumed D (it would understate the model)
    if wanted and params and (not components or (policy.prediction.impute_missing and tokens)):
        prediction = predict_scores(float(params), tokens)
    elif wanted and components and params:
        notes.append(f"{', '.join(wanted)} not published and not predicted: pre-training tokens unknown")
    if prediction is not None:
        for name in wanted:
            value = prediction.values.get(name)
            spec = policy.spec_for_key(name)
            normalised = normalise_value(name, value) if value is not None else None
            if value is None or normalised is None or spec is None:
                continue
            components.append(
                Component(
                    benchmark=name,
                    value=value,
                    scale="percent",
                    normalised=normalised,
                    weight=weights[name],
                    origin="predicted",
                    source=f"catalog/{spec.file}: {spec.column}",
                    note=f"upper bound: τ={prediction.quantile:g} boundary",
                    extrapolated=name in prediction.extrapolated,
                )
            )
        if prediction.tokens_assumed:
            notes.append(
                "pre-training tokens not published: D = 20·N assumed (Chinchilla), which understates "
                "modern over-trained models"
            )
    if not components:
        return None
    order = list(weights)
    components.sort(key=lambda c: order.index(c.benchmark))
    total_weight = sum(c.weight for c in components)
    before = sum(c.normalised * c.weight for c in components) / total_weight
    penalty = quant_penalty(quant, params)
    value = max(0.0, before - (penalty.penalty or 0.0)) if penalty is not None else before
    predicted = [c for c in components if c.origin == "predicted"]
    kind: QualityKind
    if inherited_from is not None:
        kind = "inherited"
    elif not predicted:
        kind = "published"  # imputed components rest on the model's own published scores
    elif len(predicted) == len(components):
        kind = "predicted"
    else:
        kind = "mixed"
    basis = _describe(kind, use_case, components, before, value, prediction, penalty, inherited_from)
    return QualityEstimate(
        value=value,
        before_quant=before,
        kind=kind,
        use_case=use_case,
        components=tuple(components),
        basis=basis,
        prediction=prediction,
        penalty=penalty,
        inherited_from=inherited_from,
        weight_total=sum(w for w in weights.values() if w > 0),
        weight_available=total_weight,
        weight_published=sum(c.weight for c in components if c.origin == "published"),
        notes=tuple(notes),
    )


def predicted_range(estimate: QualityEstimate, tokens_factor: float = 1.0) -> tuple[float, float] | None:
    """The quality of a predicted-only estimate at the lowest and highest of the policy's quantiles.

    A boundary is an upper bound at one quantile; the spread across quantiles (τ = 0.9 to 0.98) is the
    uncertainty of that bound, shown as a range. None for an estimate that is not purely predicted.
    ``tokens_factor`` multiplies an *assumed* D = 20·N (published tokens are used as they are): at
    ``prediction.assumed_tokens_max_factor`` it is the bound of the most over-trained model of that size.
    """
    prediction = estimate.prediction
    if estimate.kind != "predicted" or prediction is None:
        return None
    policy = quality_policy()
    tokens = prediction.tokens * tokens_factor if prediction.tokens_assumed else prediction.tokens
    penalty = estimate.penalty.penalty if estimate.penalty is not None and estimate.penalty.penalty else 0.0
    values = []
    for tau in sorted(policy.prediction.quantiles):
        scores = predict_scores(prediction.params, tokens, tau).values
        parts = [
            (normalise_value(c.benchmark, scores[c.benchmark]), c.weight)
            for c in estimate.components
            if c.benchmark in scores
        ]
        known = [(n, w) for n, w in parts if n is not None]
        if not known:
            return None
        values.append(max(0.0, sum(n * w for n, w in known) / sum(w for _, w in known) - penalty))
    return min(values), max(values)


def candidate_quality(candidate: Candidate, use_case: str, catalog: Catalog | None = None) -> QualityEstimate | None:
    """A candidate's quality: its own scores, else its catalog base model's, else the boundary.

    The catalog supplies what a candidate record may lack: a hosted API's pre-training tokens
    (from the open model it serves) and the base model of a fine-tune that publishes no score.
    """
    if candidate.kind == "build":
        return None
    benchmarks: Mapping[str, BenchmarkScore] = candidate.benchmarks
    tokens = candidate.pretraining_tokens
    inherited_from: str | None = None
    if catalog is not None:
        hosted = catalog.models.get(candidate.repo_id or "")
        if tokens is None and hosted is not None:
            tokens = hosted.pretraining_tokens
        base = catalog.models.get(candidate.base_model or "")
        if not benchmarks and base is not None and base.benchmarks and base.id != candidate.id:
            benchmarks, inherited_from = base.benchmarks, base.id
    params = candidate.active_params or candidate.params
    return estimate_quality(
        benchmarks,
        use_case,
        params=params,
        tokens=tokens,
        quant=candidate.quant if candidate.kind == "open_source" else None,
        inherited_from=inherited_from,
        scale=catalog_scale(catalog) if catalog is not None else None,
    )


def catalog_check(boundary: Boundary, models: Iterable[ModelRecord]) -> tuple[int, int, list[str]]:
    """Out-of-sample check of a base-model boundary on the catalog's (mostly instruction-tuned) models.

    Returns (at or below, evaluated, ids above): over catalog models with published pre-training
    tokens and a published score for the boundary's catalog benchmark, how many stay at or below
    the boundary at their own compute. It is the evidence behind the policy's ``prediction.use``.
    """
    key = boundary.spec.catalog_key
    if key is None:
        return 0, 0, []
    below, total, above = 0, 0, []
    for record in sorted(models, key=lambda r: r.id):
        score = record.benchmarks.get(key)
        if score is None or not record.pretraining_tokens:
            continue
        z = compute_z(float(record.active_params or record.params), record.pretraining_tokens)
        total += 1
        if score.value <= 100.0 * boundary.predict(z) + 1e-9:
            below += 1
        else:
            above.append(record.id)
    return below, total, above

"""The quality estimator: normalisation, weights, the capability boundary fit, predictions,
quantization penalties, and that every catalog model's quality is explained by its basis."""

from __future__ import annotations

import math
import random

import pytest
from pydantic import ValidationError

from advisor.catalog.records import BenchmarkScore
from advisor.engine.variants import api_candidate, open_candidate
from advisor.estimate import scaling
from advisor.estimate.cost_constants import cost_constants
from advisor.estimate.quality import (
    QualityPolicy,
    all_boundaries,
    candidate_quality,
    catalog_check,
    estimate_quality,
    fitted_boundary,
    normalise,
    normalise_value,
    predict_scores,
    quality_bar,
    quality_policy,
    quant_penalty,
    quant_quality,
    size_factor,
)
from advisor.estimate.scaling import (
    DataPoint,
    FitSettings,
    Sigmoid,
    compute_z,
    coverage,
    fit_sigmoid_quantile,
    pseudo_r2,
    read_points,
)
from advisor.model.context import AdvisorContext

SRC = "https://example.com/scores"


def score(value: float, scale: str = "percent", as_of: str | None = None) -> BenchmarkScore:
    return BenchmarkScore.model_validate({"value": value, "scale": scale, "source": SRC, "as_of": as_of})


# ------------------------------------------------------------------------------------------- normalisation


def test_normalisation_puts_chance_at_zero_and_a_perfect_score_at_one() -> None:
    anchors = quality_policy().normalisation
    for name, anchor in anchors.items():
        assert normalise_value(name, anchor.floor) == 0.0
        assert normalise_value(name, anchor.ceiling) == 1.0
        middle = (anchor.floor + anchor.ceiling) / 2
        assert normalise_value(name, middle) == pytest.approx(0.5)
        assert normalise_value(name, anchor.floor - 10) == 0.0  # below chance is clipped, not negative
    # multiple-choice floors are chance: 4 choices for MMLU and GPQA, 10 for MMLU-Pro
    assert anchors["mmlu"].floor == 25.0 and anchors["gpqa"].floor == 25.0 and anchors["mmlu_pro"].floor == 10.0
    assert normalise("arena_elo", score(1250, "elo")) == pytest.approx(0.5)
    assert normalise_value("no_such_benchmark", 50) is None


def test_weighted_mean_uses_the_use_case_weights() -> None:
    benchmarks = {"mmlu": score(70), "ifeval": score(80), "humaneval": score(60), "arena_elo": score(1200, "elo")}
    for use_case in ("chat", "code", "extraction"):
        weights = quality_policy().weights(use_case)
        estimate = estimate_quality(benchmarks, use_case)
        assert estimate is not None and estimate.kind == "published"
        used = {n: w for n, w in weights.items() if n in benchmarks}
        expected = sum(normalise(n, benchmarks[n]) * w for n, w in used.items()) / sum(used.values())  # type: ignore[operator,misc]
        assert estimate.value == pytest.approx(expected)
        assert {c.benchmark for c in estimate.components} == set(used)
    # the use case changes the answer: code leans on HumanEval, extraction on IFEval
    code = estimate_quality(benchmarks, "code")
    extraction = estimate_quality(benchmarks, "extraction")
    assert code is not None and extraction is not None and code.value < extraction.value


def test_basis_names_every_score_and_the_arena_date() -> None:
    estimate = estimate_quality({"mmlu": score(70), "arena_elo": score(1250, "elo", "2025-02-21")}, "chat")
    assert estimate is not None
    assert "mmlu 70" in estimate.basis and "arena_elo 1250 (2025-02-21)" in estimate.basis
    assert f"= {estimate.value:.3f}" in estimate.basis
    undated = estimate_quality({"arena_elo": score(1250, "elo")}, "chat")
    assert undated is not None and "(undated)" in undated.basis


def test_no_score_and_no_size_means_unknown() -> None:
    assert estimate_quality({}, "chat") is None
    assert estimate_quality({"bleu": score(30)}, "chat") is None  # a benchmark the policy has no anchors for


def test_quality_bar_from_level_or_explicit_minimum() -> None:
    bars = quality_policy().bars
    assert bars["low"] < bars["medium"] < bars["high"] < bars["frontier"]
    assert quality_bar("high", None) == bars["high"]
    assert quality_bar("high", 0.33) == 0.33
    assert quality_bar(None, None) is None


def test_policy_rejects_inconsistent_weights() -> None:
    data = quality_policy().model_dump()
    data["use_case_weights"]["chat"]["bleu"] = 1.0
    with pytest.raises(ValidationError, match="no normalisation for bleu"):
        QualityPolicy.model_validate(data)
    data = quality_policy().model_dump()
    data["prediction"]["use"] = ["arena_elo"]
    with pytest.raises(ValidationError, match="no boundary predicts arena_elo"):
        QualityPolicy.model_validate(data)


# ------------------------------------------------------------------------------------------- the fit


def test_compute_is_six_n_d() -> None:
    assert compute_z(7e9, 2e12) == pytest.approx(math.log10(6 * 7e9 * 2e12))
    with pytest.raises(ValueError):
        compute_z(0, 1e12)


def test_fit_recovers_a_known_quantile_curve() -> None:
    """Points below a known sigmoid with uniform noise on [-0.1, 0]: the 0.9-quantile curve is the
    sigmoid shifted down by 0.01, and the fit must find it."""
    truth = Sigmoid(y0=0.2, L=0.7, z_star=23.0, b=1.5)
    rng = random.Random(7)
    points = []
    for i in range(400):
        z = 20.0 + 6.0 * rng.random()
        points.append(DataPoint(model=f"m{i}", z=z, y=truth(z) - 0.1 * rng.random()))
    curve = fit_sigmoid_quantile(points, 0.9, FitSettings(lambda_b=0.0))
    worst = max(abs(curve(z / 10) - (truth(z / 10) - 0.01)) for z in range(200, 261))
    assert worst < 0.02
    assert coverage(points, curve) == pytest.approx(0.9, abs=0.02)
    assert pseudo_r2(points, curve, 0.9) > 0.8


def test_pruning_the_grid_never_changes_the_fit(monkeypatch: pytest.MonkeyPatch) -> None:
    """Grid pairs that cannot reach the best objective leave the search early; the fitted
    parameters must be the very same floats as the full search's (shipped data, with and without
    a floor, and noisy random data at several quantiles)."""
    policy = quality_policy()
    settings = policy.fit_settings()
    mmlu = read_points(policy.spec("mmlu"), policy.compute_source())
    rng = random.Random(11)
    noisy = sorted(
        (DataPoint(model=str(i), z=rng.uniform(19, 26), y=min(1.0, max(0.0, rng.gauss(0.5, 0.2)))) for i in range(60)),
        key=lambda p: (p.z, p.model),
    )

    def fits() -> list[Sigmoid]:
        low = fit_sigmoid_quantile(mmlu, 0.9, settings)
        return [
            low,
            fit_sigmoid_quantile(mmlu, 0.98, settings, low),
            *(fit_sigmoid_quantile(noisy, tau, settings) for tau in (0.5, 0.9)),
        ]

    pruned = fits()
    monkeypatch.setattr(scaling, "_PRUNE_MARGIN", math.inf)  # nothing is ever dropped
    assert fits() == pruned


def test_pseudo_r2_is_zero_for_the_unconditional_quantile() -> None:
    points = [DataPoint(model=str(i), z=20 + i / 10, y=(i * 37 % 100) / 100) for i in range(50)]
    ys = sorted(p.y for p in points)
    constant = ys[math.ceil(0.9 * len(ys)) - 1]
    flat = Sigmoid(y0=constant, L=0.0, z_star=22.0, b=1.0)
    assert pseudo_r2(points, flat, 0.9) == pytest.approx(0.0)


def test_shipped_boundaries_cover_their_quantile() -> None:
    """Done-when: coverage on the shipped data within a few points of τ, for every benchmark."""
    boundaries = all_boundaries()
    assert len(boundaries) == len(quality_policy().boundaries) * len(quality_policy().prediction.quantiles)
    for boundary in boundaries:
        assert abs(boundary.coverage - boundary.quantile) <= 0.03, (boundary.spec.name, boundary.quantile)
        assert boundary.n >= 50
        assert boundary.curve.y0 >= 0.0 and boundary.curve.y0 + boundary.curve.L <= 1.0 + 1e-9
        assert boundary.curve.b > 0
    main = [b for b in boundaries if b.spec.name in {"mmlu", "mmlu_pro", "bbh"}]
    assert all(b.r2 > 0.4 for b in main)


def test_higher_quantiles_never_cross_below_lower_ones() -> None:
    """The fit keeps τ = 0.98 above τ = 0.9 on a grid (tolerance: the dip between grid points);
    predictions take the max over lower quantiles, so they never cross at all."""
    quantiles = sorted(quality_policy().prediction.quantiles)
    for entry in quality_policy().boundaries:
        low, high = (fitted_boundary(entry.name, q) for q in quantiles[:2])
        for step in range(81):
            z = 18.0 + step / 10
            assert high.predict(z) >= low.predict(z) - 1e-3, (entry.name, z)
    for params, tokens in ((1e8, 1e11), (1e9, 2e12), (8e9, 15e12), (70e9, 15e12), (400e9, 40e12)):
        low_values = predict_scores(params, tokens, quantiles[0]).values
        high_values = predict_scores(params, tokens, quantiles[1]).values
        assert all(high_values[k] >= low_values[k] for k in low_values)


def test_prediction_uses_chinchilla_when_tokens_are_unknown() -> None:
    params = 7e9
    assumed = predict_scores(params, None)
    assert assumed.tokens_assumed and assumed.tokens == cost_constants().chinchilla_tokens_per_param * params
    assert assumed.z == pytest.approx(compute_z(params, assumed.tokens))
    published = predict_scores(params, 2e12)
    assert not published.tokens_assumed
    tau = quality_policy().prediction.quantile
    for key, value in published.values.items():
        spec = quality_policy().spec_for_key(key)
        assert spec is not None
        assert value == pytest.approx(100 * fitted_boundary(spec.name, tau).predict(published.z))
    # more training compute never lowers the bound
    assert all(published.values[k] >= assumed.values[k] for k in published.values)


def test_predicting_boundaries_hold_as_upper_bounds_on_the_catalog(context: AdvisorContext) -> None:
    """The policy's choice of predicting benchmarks, checked against the catalog's published
    (instruction-tuned) scores: the base-model boundary must bound them to be used."""
    policy = quality_policy()
    for boundary in all_boundaries():
        if boundary.quantile != policy.prediction.quantile or boundary.spec.catalog_key is None:
            continue
        below, total, _ = catalog_check(boundary, context.catalog.models.values())
        if total < 10:
            continue
        share = below / total
        if boundary.spec.catalog_key in policy.prediction.use:
            assert share >= 0.7, (boundary.spec.name, below, total)
        else:
            assert share < 0.7, (boundary.spec.name, below, total)


# ------------------------------------------------------------------------------------------- quantization


def test_quant_penalty_from_the_published_tables() -> None:
    table = quant_quality()
    small = table.small_model
    q4 = quant_penalty("Q4_K_M", small.params)
    assert q4 is not None and q4.penalty == pytest.approx(abs(small.quants["Q4_K_M"].mean_delta_p_pct) / 100)
    assert quant_penalty("q4_k_m", small.params) == q4  # case-insensitive
    assert quant_penalty("F16", 8e9).penalty == 0.0  # type: ignore[union-attr]
    unknown = quant_penalty("FP8", 8e9)
    assert unknown is not None and unknown.penalty is None and "unknown" in unknown.describe()
    assert quant_penalty(None, 8e9) is None
    order = ["Q2_K", "Q3_K_M", "Q4_K_M", "Q6_K"]
    values = [quant_penalty(q, small.params).penalty for q in order]  # type: ignore[union-attr]
    assert values == sorted(values, reverse=True)  # type: ignore[type-var]


def test_larger_models_lose_less() -> None:
    table = quant_quality()
    ratio = table.size_ratio()
    assert 0.2 < ratio < 1.0
    assert size_factor(1e9) == 1.0 and size_factor(table.small_model.params) == 1.0
    assert size_factor(table.large_model.params) == pytest.approx(ratio)
    assert size_factor(400e9) == pytest.approx(ratio)
    factors = [size_factor(n) for n in (8e9, 14e9, 32e9, 70e9)]
    assert factors == sorted(factors, reverse=True)
    big = quant_penalty("Q4_K_M", 70e9)
    small = quant_penalty("Q4_K_M", 8e9)
    assert big is not None and small is not None and big.penalty < small.penalty  # type: ignore[operator]


def test_penalty_is_subtracted_and_shown() -> None:
    benchmarks = {"mmlu": score(70), "ifeval": score(80)}
    plain = estimate_quality(benchmarks, "chat")
    quantized = estimate_quality(benchmarks, "chat", params=8e9, tokens=15e12, quant="Q3_K_M")
    penalty = quant_penalty("Q3_K_M", 8e9)
    assert plain is not None and quantized is not None and penalty is not None and penalty.penalty is not None
    assert quantized.before_quant == pytest.approx(
        sum(c.normalised * c.weight for c in quantized.components) / sum(c.weight for c in quantized.components)
    )
    assert quantized.value == pytest.approx(quantized.before_quant - penalty.penalty)
    assert "Q3_K_M −" in quantized.basis
    assert quantized.metrics()["quality_quant_penalty"] == pytest.approx(round(penalty.penalty, 4))


# ------------------------------------------------------------------------------------------- prediction


def test_missing_scores_are_filled_only_with_published_tokens() -> None:
    benchmarks = {"ifeval": score(51.2)}
    filled = estimate_quality(benchmarks, "chat", params=0.27e9, tokens=6e12)
    assert filled is not None and filled.kind == "mixed"
    predicted = [c for c in filled.components if c.origin == "predicted"]
    assert {c.benchmark for c in predicted} == set(quality_policy().prediction.use)
    assert all("≤" in c.describe() for c in predicted) and "published tokens" in filled.basis
    # one lucky benchmark no longer stands for the whole score
    alone = estimate_quality(benchmarks, "chat")
    assert alone is not None and filled.value < alone.value
    not_filled = estimate_quality(benchmarks, "chat", params=0.27e9, tokens=None)
    assert not_filled is not None and not_filled.kind == "published" and not_filled.notes


def test_no_score_at_all_gives_a_labelled_upper_bound() -> None:
    estimate = estimate_quality({}, "chat", params=7e9, tokens=None)
    assert estimate is not None and estimate.kind == "predicted" and estimate.prediction is not None
    assert estimate.prediction.tokens_assumed
    assert "upper bound" in estimate.basis and "τ=0.9" in estimate.basis and "Chinchilla" in estimate.basis


def test_every_catalog_quality_is_explained_by_its_basis(context: AdvisorContext) -> None:
    """Done-when: every catalog model's and API's quality recomputes from the components its basis
    lists (normalised × weight, averaged, minus the quant penalty)."""
    catalog = context.catalog
    candidates = [open_candidate(r, quant="Q4_K_M") for r in catalog.models.values()]
    candidates += [api_candidate(r, catalog) for r in catalog.apis.values()]
    known = 0
    for candidate in candidates:
        for use_case in ("chat", "code", "rag"):
            estimate = candidate_quality(candidate, use_case, catalog)
            if estimate is None:  # an API with no score this use case weighs (agent-only scores count for none)
                weighed = set(candidate.benchmarks) & set(quality_policy().weights(use_case))
                assert candidate.kind == "api" and not weighed and not candidate.params
                continue
            known += 1
            assert 0.0 <= estimate.value <= 1.0
            components = estimate.components
            mean = sum(c.normalised * c.weight for c in components) / sum(c.weight for c in components)
            assert estimate.before_quant == pytest.approx(mean)
            penalty = estimate.penalty.penalty if estimate.penalty and estimate.penalty.penalty else 0.0
            assert estimate.value == pytest.approx(max(0.0, mean - penalty))
            for component in components:
                assert f"{component.benchmark} " in estimate.basis
                assert normalise_value(component.benchmark, component.value) == pytest.approx(component.normalised)
            origins = {c.origin for c in components}
            if estimate.kind == "published":
                # the model's own scores, the missing use-case benchmarks imputed from them (one scale, issue 14)
                assert "published" in origins and origins <= {"published", "imputed"}
                if "imputed" in origins:
                    assert "imputed from the catalog's latent fit" in estimate.basis
            elif estimate.kind == "predicted":
                assert origins == {"predicted"} and "upper bound" in estimate.basis
    assert known > 100
    # every open model gets a quality: published, inherited or predicted from its size
    for record in catalog.models.values():
        assert candidate_quality(open_candidate(record), "chat", catalog) is not None, record.id


def test_fine_tune_without_scores_inherits_its_base_model(context: AdvisorContext) -> None:
    catalog = context.catalog
    base = next(r for r in sorted(catalog.models.values(), key=lambda r: r.id) if r.benchmarks)
    fine_tune = open_candidate(base).model_copy(
        update={"id": "acme/fine-tune", "benchmarks": {}, "base_model": base.id}
    )
    estimate = candidate_quality(fine_tune, "chat", catalog)
    expected = candidate_quality(open_candidate(base), "chat", catalog)
    assert estimate is not None and expected is not None
    assert estimate.kind == "inherited" and estimate.inherited_from == base.id
    assert estimate.value == pytest.approx(expected.value) and base.id in estimate.basis


def test_api_hosting_an_open_model_uses_its_tokens(context: AdvisorContext) -> None:
    catalog = context.catalog
    api = next(
        (
            r
            for _, r in sorted(catalog.apis.items())
            if r.open_weights_model in catalog.models and catalog.models[r.open_weights_model].pretraining_tokens
        ),
        None,
    )
    if api is None:
        pytest.skip("no API in the catalog hosts a catalog model with published tokens")
    hosted = catalog.models[api.open_weights_model or ""]
    candidate = api_candidate(api, catalog).model_copy(update={"benchmarks": {}})
    estimate = candidate_quality(candidate, "chat", catalog)
    assert estimate is not None and estimate.prediction is not None
    assert estimate.prediction.tokens == hosted.pretraining_tokens and estimate.penalty is None

"""The latent benchmark scale (advisor/estimate/benchmark_scale.py) on populations where the answer is known.

A synthetic catalog is generated from a known one-ability model (normalised_b = a_b + s_b·θ + noise), each
record publishing a random subset of the benchmarks, as real models do. The fit must recover the hidden
scores of records it has never seen far better than the old rule (a missing benchmark reads as the mean of
the model's other scores), a record known from one score must be pulled toward the average, and the fit
must be deterministic. Then the same maths on the shipped catalog: the issue's pair (granite-3.3-8b known
from saturated benchmarks, Qwen3-30B-A3B-2507 measured on hard ones) lands on one scale.
"""

from __future__ import annotations

import random
import statistics

import pytest

from advisor.estimate.benchmark_scale import ScaleSettings, fit_scale, fitted_scale, population_key

BENCHMARKS = ("easy_a", "easy_b", "mid_a", "mid_b", "hard_a", "hard_b", "hard_c")
#: (intercept, slope) per benchmark: saturated ones high and flat, hard ones low and steep
TRUTH = {
    "easy_a": (0.85, 0.05),
    "easy_b": (0.80, 0.07),
    "mid_a": (0.60, 0.12),
    "mid_b": (0.55, 0.15),
    "hard_a": (0.40, 0.18),
    "hard_b": (0.30, 0.20),
    "hard_c": (0.45, 0.16),
}
NOISE = 0.02


def _population(n: int, seed: int) -> tuple[list[dict[str, float]], list[float]]:
    rng = random.Random(seed)
    records, thetas = [], []
    for _ in range(n):
        theta = rng.gauss(0.0, 1.0)
        chosen = rng.sample(BENCHMARKS, rng.randint(2, 6))
        records.append({b: TRUTH[b][0] + TRUTH[b][1] * theta + rng.gauss(0.0, NOISE) for b in chosen})
        thetas.append(theta)
    return records, thetas


def test_fit_recovers_hidden_scores_of_unseen_records_better_than_the_old_mean() -> None:
    """Fitted on 120 records, it imputes the hard benchmarks of 60 new records from their other scores within
    about the noise plus the ability's uncertainty, and at least three times closer than the old rule."""
    train, _ = _population(120, seed=1)
    test, thetas = _population(60, seed=2)
    scale = fit_scale(train, ScaleSettings())
    assert set(scale.loadings) == set(BENCHMARKS)
    errors, baseline = [], []
    for record, theta in zip(test, thetas, strict=True):
        for hidden in ("hard_a", "hard_b"):
            rest = {b: v for b, v in record.items() if b != hidden}
            if hidden in record or not rest:
                continue
            truth = TRUTH[hidden][0] + TRUTH[hidden][1] * theta
            imputed = scale.impute(rest, [hidden])[hidden]
            assert imputed.records > 0 and imputed.from_benchmarks == tuple(sorted(rest))
            errors.append(abs(imputed.normalised - truth))
            baseline.append(abs(statistics.fmean(rest.values()) - truth))
    assert len(errors) > 30
    mae, old = statistics.fmean(errors), statistics.fmean(baseline)
    assert mae < 0.06, mae
    assert mae * 3 < old, (mae, old)


def test_relation_recovers_the_known_loadings() -> None:
    """The fitted relation between two benchmarks (Δhard / Δeasy per unit ability) matches the generating one."""
    train, _ = _population(200, seed=3)
    scale = fit_scale(train, ScaleSettings())
    for b, (a, s) in TRUTH.items():
        loading = scale.loadings[b]
        assert loading.intercept == pytest.approx(a, abs=0.03), b
        # the ability's sign is arbitrary; its scale is the population's (standardised)
        assert abs(loading.slopes[0]) == pytest.approx(s, rel=0.15), b


def test_one_score_is_shrunk_toward_the_average_and_many_are_not() -> None:
    """A record known from one extreme score gets a less extreme ability than one with the same extreme
    scores everywhere: one noisy number is weak evidence (the posterior mean under the ability prior)."""
    train, _ = _population(150, seed=4)
    scale = fit_scale(train, ScaleSettings(shrinkage=25.0))
    top = {b: TRUTH[b][0] + TRUTH[b][1] * 2.5 for b in BENCHMARKS}
    one = scale.impute({"mid_a": top["mid_a"]}, ["hard_b"])["hard_b"].normalised
    many = scale.impute({b: v for b, v in top.items() if b != "hard_b"}, ["hard_b"])["hard_b"].normalised
    mean = TRUTH["hard_b"][0]
    assert mean < one < many <= top["hard_b"] + 0.05


def test_fit_is_deterministic_and_cached_by_content() -> None:
    """Same population, same settings: the same loadings to the bit, whatever the records' order."""
    train, _ = _population(80, seed=5)
    first = fit_scale(train, ScaleSettings())
    again = fit_scale(list(reversed(train)), ScaleSettings())
    assert first.loadings.keys() == again.loadings.keys()
    for b in first.loadings:
        assert first.loadings[b].intercept == pytest.approx(again.loadings[b].intercept, abs=1e-6)
    key = population_key(train)
    assert fitted_scale(key, ScaleSettings()) is fitted_scale(population_key(list(reversed(train))), ScaleSettings())


def test_thin_benchmarks_and_records_stay_out_of_the_fit() -> None:
    """A benchmark fewer than ``min_records`` records publish is not fitted (so never imputed); a record with
    one (fitted) score does not enter the fit; identical records count once; nothing to go on imputes nothing."""
    train, _ = _population(60, seed=6)
    train += [{"rare": 0.5, "easy_a": 0.8}] * 3 + [{"easy_a": 0.9}]
    key = population_key(train)
    assert sum(1 for r in key if dict(r) == {"rare": 0.5, "easy_a": 0.8}) == 1
    scale = fit_scale(train, ScaleSettings(min_records=8))
    assert "rare" not in scale.loadings
    # the rare records keep one fitted score once "rare" is dropped, so they leave the fit too
    assert scale.population == sum(1 for r in train[:60] if len(r) >= 2)
    assert scale.impute({"rare": 0.5}, ["hard_a"]) == {}
    assert scale.impute({"easy_a": 0.8}, ["rare", "easy_a"]) == {}
    assert fit_scale([], ScaleSettings()).loadings == {}
    with pytest.raises(ValueError, match="factors"):
        fit_scale(train, ScaleSettings(factors=0))


def test_two_abilities_fit_a_two_ability_population() -> None:
    """With ``factors: 2`` the fit recovers a population generated from two abilities (reasoning and, say,
    instruction following) better than one ability can."""
    rng = random.Random(7)
    loadings = {b: (0.5, rng.uniform(0.05, 0.2), rng.uniform(-0.15, 0.15)) for b in BENCHMARKS}
    records = []
    for _ in range(200):
        t1, t2 = rng.gauss(0, 1), rng.gauss(0, 1)
        chosen = rng.sample(BENCHMARKS, rng.randint(4, 7))
        records.append({b: loadings[b][0] + loadings[b][1] * t1 + loadings[b][2] * t2 for b in chosen})
    one = fit_scale(records, ScaleSettings(factors=1))
    two = fit_scale(records, ScaleSettings(factors=2))
    assert two.noise_variance < one.noise_variance / 4

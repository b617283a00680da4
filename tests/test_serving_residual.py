"""The learned-residual experiment (benchmarks/serving_residual.py): its maths must be right for its
measured "no" (docs/serving.md §2) to mean anything.

A residual ``log(measured / predicted) ≈ intercept + Σ coef x feature`` that is fitted wrongly would report "no
gain" for the wrong reason; these tests pin the regression (recovers a planted effect, ignores gross outliers as
the physical fit's Tukey loss does, shrinks to the physical model under a strong ridge) and the correction it
applies (zero coefficients leave the physical prediction alone; a known coefficient moves it by exp(coef x x)).
"""

from __future__ import annotations

import math
import random
from typing import Any

import pytest

from tests.conftest import load_script


@pytest.fixture(scope="module")
def residual() -> Any:
    return load_script("benchmarks/serving_residual.py")


def test_zero_coefficients_give_the_physical_model(residual: Any) -> None:
    """No intercept and zero coefficients: the multiplier is exactly 1, whatever the features."""
    r = residual.Residual(0.0, {"log_batch": 0.0, "moe": 0.0})
    assert r.factor({"log_batch": 5.5, "moe": 1.0}) == 1.0


def test_a_known_coefficient_moves_the_prediction_by_exp_coef_times_feature(residual: Any) -> None:
    """coef 0.1 on log_batch at log_batch = 2 multiplies the physical throughput by e^0.2 (+22 %)."""
    r = residual.Residual(0.0, {"log_batch": 0.1})
    assert r.factor({"log_batch": 2.0}) == pytest.approx(math.exp(0.2))
    assert residual.Residual(-0.5, {}).factor({}) == pytest.approx(math.exp(-0.5))


def _synthetic(outliers: float) -> tuple[list[dict[str, float]], list[float], list[float]]:
    rng = random.Random(7)
    xs = [{"x": rng.uniform(-2, 2), "z": rng.uniform(0, 1)} for _ in range(300)]
    ys = [0.2 + 0.3 * f["x"] + rng.gauss(0, 0.03) for f in xs]
    for i in range(int(outliers * len(ys))):
        ys[i] = 3.0  # a source ~20x off: the physical fit ignores such rows, so must the residual
    return xs, ys, [1.0] * len(ys)


def test_fit_recovers_a_planted_effect(residual: Any) -> None:
    """y = 0.2 + 0.3 x (+ noise), z irrelevant: the fit finds 0.2, 0.3 and ~0 for z with a weak ridge."""
    xs, ys, ws = _synthetic(0.0)
    r = residual.fit_residual(xs, ys, ws, ["x", "z"], ridge=1e-6)
    assert r.intercept == pytest.approx(0.2, abs=0.02)
    assert r.coefficients["x"] == pytest.approx(0.3, abs=0.02)
    assert abs(r.coefficients["z"]) < 0.03


def test_fit_ignores_gross_outliers_as_the_tukey_loss_does(residual: Any) -> None:
    """10 % of rows at log error 3 (far beyond the 0.5 scale) must not pull the coefficients."""
    xs, ys, ws = _synthetic(0.1)
    r = residual.fit_residual(xs, ys, ws, ["x", "z"], ridge=1e-6)
    assert r.coefficients["x"] == pytest.approx(0.3, abs=0.03)
    assert r.intercept == pytest.approx(0.2, abs=0.03)


def test_a_strong_ridge_returns_the_physical_model(residual: Any) -> None:
    """A huge penalty shrinks intercept and coefficients to ~0: multiplier ~1."""
    xs, ys, ws = _synthetic(0.0)
    r = residual.fit_residual(xs, ys, ws, ["x", "z"], ridge=1e6)
    assert r.factor({"x": 2.0, "z": 1.0}) == pytest.approx(1.0, abs=1e-3)
    assert residual.fit_residual(xs, ys, ws, []) == residual.Residual(0.0, {})


def test_row_features_of_published_rows(residual: Any) -> None:
    """Features read from a real row: engine flag, GPU count in log, burst flag, and every named feature."""
    sa = residual.sa
    notes: list[str] = []
    data = sa.cases(sa.read_rows([], notes), sa.read_models([sa.DATA], notes), sa.hardware([]), notes)
    engine = sa.serving_constants().engine("vllm")
    sglang = next(c for c in data if c.row.engine == "sglang" and c.row.tp == 8)
    burst = next(c for c in data if c.row.mode == "burst")
    f = residual.row_features(sglang, residual.capacity(sglang, engine))
    assert set(f) == set(residual.FEATURES)
    assert f["sglang"] == 1.0 and f["log_gpus"] == pytest.approx(math.log(8))
    assert 0.0 < f["decode_share"] <= 1.0
    assert residual.row_features(burst, residual.capacity(burst, engine))["burst"] == 1.0


def test_a_missing_data_directory_is_bad_input(residual: Any, capsys: pytest.CaptureFixture[str]) -> None:
    """``--data`` naming no directory: exit 2 and a one-line message naming the flag, before any fitting."""
    assert residual.main(["--data", "/nonexistent/serving-data"]) == 2
    err = capsys.readouterr().err
    assert "--data" in err and "not a directory" in err and "Traceback" not in err

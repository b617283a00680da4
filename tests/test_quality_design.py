"""The balanced I-optimal evaluation design (advisor/estimate/design.py, docs/quality.md §6).

What an ML lead would check before trusting "evaluate these K models first": the rank-one update is
the inverse it claims to be, the greedy takes what its criterion says, every compute region gets a
model, the budget is never exceeded, the same input gives the same output, and the command and the
plan say so in a stable shape.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from advisor.cli import main
from advisor.estimate.design import (
    DesignCandidate,
    DesignSettings,
    average_information,
    balanced_design,
    boundary_gradient,
    evaluation_gpu_hours,
    identity_over,
    information,
    integrated_variance,
    quantile_bins,
    sherman_morrison,
    variance_reduction,
)
from advisor.estimate.scaling import Sigmoid

CURVE = Sigmoid(y0=0.25, L=0.7, z_star=23.0, b=1.2)


def _pool(n: int = 24) -> list[DesignCandidate]:
    return [DesignCandidate(id=f"m{i:02d}", z=20.0 + 6.0 * i / (n - 1), cost=1.0 + i) for i in range(n)]


# --------------------------------------------------------------------------------------------- the maths


def test_sherman_morrison_equals_direct_inversion() -> None:
    """Adding models one rank-one update at a time gives (λI + Σ J Jᵀ)⁻¹ to rounding."""
    zs = [20.5, 22.0, 23.1, 24.7, 25.5, 21.3]
    m_inverse = identity_over(1e-3)
    for z in zs:
        m_inverse = sherman_morrison(m_inverse, boundary_gradient(CURVE, z))
    direct = np.linalg.inv(np.array(information(CURVE, zs, 1e-3)))
    assert np.allclose(np.array(m_inverse), direct, rtol=1e-6, atol=1e-8)


def test_variance_reduction_is_the_drop_of_the_integrated_variance() -> None:
    """ΔV from the O(p²) formula equals V(before) − V(after) computed from the updated inverse."""
    average = average_information(CURVE, (20.0, 26.0), 51)
    m_inverse = identity_over(1e-2)
    for z in (21.0, 24.0):
        m_inverse = sherman_morrison(m_inverse, boundary_gradient(CURVE, z))
    j = boundary_gradient(CURVE, 22.7)
    reduction, leverage = variance_reduction(m_inverse, average, j)
    after = sherman_morrison(m_inverse, j)
    assert reduction == pytest.approx(integrated_variance(m_inverse, average) - integrated_variance(after, average))
    assert leverage == pytest.approx(float(np.array(j) @ np.array(m_inverse) @ np.array(j)))


def test_gradient_matches_finite_differences() -> None:
    """J(z) is the derivative of the boundary wrt (y0, L, z*, b) (central differences)."""
    z, eps = 23.8, 1e-6
    names = ("y0", "L", "z_star", "b")
    for index, name in enumerate(names):
        up = Sigmoid(**{**CURVE.__dict__, name: getattr(CURVE, name) + eps})
        down = Sigmoid(**{**CURVE.__dict__, name: getattr(CURVE, name) - eps})
        assert boundary_gradient(CURVE, z)[index] == pytest.approx((up(z) - down(z)) / (2 * eps), rel=1e-5, abs=1e-8)


def test_greedy_takes_the_largest_reduction() -> None:
    """With one bin and a count budget of 1, the pick is the argmax of ΔV over all candidates, computed here."""
    pool = _pool(9)
    settings = DesignSettings(ridge=1e-2, bins=1, grid=41)
    design = balanced_design(pool, CURVE, settings, count=1)
    average = average_information(CURVE, (pool[0].z, pool[-1].z), 41)
    start = identity_over(1e-2)
    expected = max(pool, key=lambda c: (variance_reduction(start, average, boundary_gradient(CURVE, c.z))[0], c.id))
    assert design.models == [expected.id]
    assert design.steps[0].variance_reduction == pytest.approx(
        variance_reduction(start, average, boundary_gradient(CURVE, expected.z))[0]
    )


def test_hand_checkable_duplicate_point_is_worth_less() -> None:
    """Two candidates at the same z as an already evaluated model and one elsewhere: the elsewhere one wins."""
    pool = [DesignCandidate("a", 23.0), DesignCandidate("b", 23.0), DesignCandidate("c", 25.0)]
    design = balanced_design(pool, CURVE, DesignSettings(ridge=1e-2, bins=1), count=1, prior=[23.0] * 6)
    assert design.models == ["c"]


def test_every_bin_is_covered_before_any_gets_a_second() -> None:
    """With 4 bins and 8 picks, every bin gets exactly 2, and the first 4 picks span the 4 bins."""
    pool = _pool(40)
    design = balanced_design(pool, CURVE, DesignSettings(bins=4), count=8)
    bins = [s.bin for s in design.steps]
    assert sorted(bins[:4]) == [1, 2, 3, 4]
    assert sorted(bins) == [1, 1, 2, 2, 3, 3, 4, 4]
    assert [b.selected for b in design.bins] == [2, 2, 2, 2]


def test_quantile_bins_are_equal_count() -> None:
    bins = quantile_bins(_pool(10), 4)
    counts = [list(bins.values()).count(i) for i in (1, 2, 3, 4)]
    assert sum(counts) == 10 and max(counts) - min(counts) <= 1
    assert bins["m00"] == 1 and bins["m09"] == 4


def test_cost_budget_is_respected_and_prefers_cheap_information() -> None:
    """Under a GPU-hour budget the selection never costs more than the budget; per unit cost the
    greedy picks a cheaper model than the count-only design when both lie in the same bin."""
    pool = _pool(24)
    design = balanced_design(pool, CURVE, DesignSettings(bins=4), cost_budget=30.0)
    assert design.total_cost <= 30.0 + 1e-9
    assert design.per_cost and "cost budget" in design.stopped
    assert all(b.cumulative_cost <= 30.0 + 1e-9 for b in design.steps)
    by_count = balanced_design(pool, CURVE, DesignSettings(bins=1), count=1)
    by_cost = balanced_design(pool, CURVE, DesignSettings(bins=1), count=1, cost_budget=1e9)
    cost = {c.id: c.cost for c in pool}
    assert cost[by_cost.models[0]] <= cost[by_count.models[0]]


def test_design_is_deterministic_and_ties_go_to_the_smaller_id() -> None:
    """Identical candidates (same z, same cost) differ only by id: the smaller id is taken first; the
    same input gives the same steps in any input order."""
    pool = [DesignCandidate(id, 22.0) for id in ("z9", "a1", "m5")]
    design = balanced_design(pool, CURVE, DesignSettings(bins=1), count=3)
    assert design.models == ["a1", "m5", "z9"]
    big = _pool(30)
    assert balanced_design(big, CURVE, count=10) == balanced_design(list(reversed(big)), CURVE, count=10)


def test_bad_design_input_is_refused() -> None:
    with pytest.raises(ValueError, match="count, a cost budget"):
        balanced_design(_pool(5), CURVE)
    with pytest.raises(ValueError, match="unique"):
        balanced_design([DesignCandidate("a", 20.0), DesignCandidate("a", 21.0)], CURVE, count=1)


def test_evaluation_cost_scales_with_size() -> None:
    """2·N·T / (peak · MFU): 7B on 14,042 × 2,400 tokens at 989 TFLOPs and 30 % MFU is ~0.44 GPU-hours,
    and a 70B model costs ten times as much."""
    small = evaluation_gpu_hours(7e9, 14042 * 2400, 989.4, 0.3)
    assert small == pytest.approx(2 * 7e9 * 14042 * 2400 / (989.4e12 * 0.3) / 3600)
    assert evaluation_gpu_hours(70e9, 14042 * 2400, 989.4, 0.3) == pytest.approx(10 * small)
    with pytest.raises(ValueError):
        evaluation_gpu_hours(7e9, 1e6, 989.4, 0.0)

"""The balanced I-optimal evaluation design (advisor/estimate/design.py, docs/quality.md §6).

What an ML lead would check before trusting "evaluate these K models first": the rank-one update is
the inverse it claims to be, the greedy takes what its criterion says, every compute region gets a
model, the budget is never exceeded, the same input gives the same output, and the command and the
plan say so in a stable shape.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from advisor.engine.evaluation_design import evaluate_first
from advisor.engine.session import Session
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
from advisor.model.candidate import Candidate
from advisor.model.plan import Assessment
from tests.conftest import ROOT

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


# --------------------------------------------------------------------------------------------- the command


def advisor(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "advisor", *args], capture_output=True, text=True, cwd=ROOT, timeout=300
    )


@pytest.fixture(scope="module")
def designed() -> tuple[dict[str, Any], str]:
    proc = advisor("quality", "design", "--budget", "8", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout), proc.stdout


def test_design_json_has_the_documented_shape(designed: tuple[dict[str, Any], str]) -> None:
    """The keys of docs/design.md §7 are there: benchmark, budget, pool, selected[model, bin,
    variance_reduction, cumulative_cost], baselines{random_median_pinball, design_pinball}."""
    payload, _ = designed
    assert payload["benchmark"] == "mmlu" and payload["budget"] == 8 and payload["pool"] >= 100
    assert len(payload["selected"]) == 8
    for step in payload["selected"]:
        assert set(step) >= {"model", "bin", "variance_reduction", "cumulative_cost", "leverage", "gpu_hours", "reason"}
    costs = [s["cumulative_cost"] for s in payload["selected"]]
    assert costs == sorted(costs) and payload["total_gpu_hours"] == pytest.approx(costs[-1], abs=1e-3)
    # the default binning gives every eighth of the compute range exactly one model
    assert sorted(s["bin"] for s in payload["selected"]) == list(range(1, 9))
    base = payload["baselines"]
    assert set(base) >= {"random_median_pinball", "design_pinball", "largest_first_pinball", "seeds"}
    assert base["seeds"] >= 50 and base["held_out"] == payload["pool"] - 8


def test_design_output_is_deterministic(designed: tuple[dict[str, Any], str]) -> None:
    """The same pool and budget give the same bytes (the issue's second criterion)."""
    _, first = designed
    again = advisor("quality", "design", "--budget", "8", "--format", "json")
    assert again.returncode == 0 and again.stdout == first


def test_design_table_fits_100_columns() -> None:
    proc = advisor("quality", "design", "--budget", "6", "--benchmark", "arc_c")
    assert proc.returncode == 0, proc.stderr
    assert "ARC-Challenge" in proc.stdout
    assert max(len(line) for line in proc.stdout.splitlines()) <= 100


def test_gpu_hour_budget_is_respected_on_a_pool_file(tmp_path: Path) -> None:
    """A user's YAML pool: big models cost more, the budget is never exceeded, the greedy works per hour."""
    pool = tmp_path / "pool.yaml"
    rows = [{"model": f"org/m{i}", "params": 10 ** (8.5 + i / 4), "tokens": 2e12} for i in range(12)]
    pool.write_text(json.dumps({"models": rows}), encoding="utf-8")  # JSON is YAML
    proc = advisor("quality", "design", "--budget-gpu-hours", "3", "--pool", str(pool), "--format", "json")
    assert proc.returncode == 0, proc.stderr
    payload = json.loads(proc.stdout)
    assert payload["criterion"] == "variance reduction per GPU-hour"
    assert payload["selected"] and payload["total_gpu_hours"] <= 3.0
    assert payload["baselines"] is None  # no scores in the pool: nothing to check against


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("--budget", "5", "--benchmark", "nope"), "--benchmark nope: unknown; expected one of mmlu, arc_c"),
        (("--budget", "5", "--pool", "hub"), "--pool hub: unknown; expected one of leaderboard, catalog"),
        (("--pool", "catalog"), "--budget: give --budget K"),
        (("--budget", "5", "--pool", "missing.csv"), "--pool missing.csv: cannot read"),
    ],
)
def test_design_bad_input_exits_2_with_one_line(args: tuple[str, ...], expected: str) -> None:
    proc = advisor("quality", "design", *args)
    assert proc.returncode == 2, proc.stderr
    assert expected in proc.stderr and "Traceback" not in proc.stderr


def test_pool_file_row_without_compute_names_the_field(tmp_path: Path) -> None:
    pool = tmp_path / "pool.csv"
    pool.write_text("model,params\norg/a,7e9\n", encoding="utf-8")
    proc = advisor("quality", "design", "--budget", "1", "--pool", str(pool))
    assert proc.returncode == 2
    assert "model 1 (org/a): give `tokens`" in proc.stderr


# --------------------------------------------------------------------------------------------- the plan


def _assessment(model: str, quality: float, params: float, rank: int) -> Assessment:
    candidate = Candidate(
        id=model, kind="open_source", name=model, params=int(params), pretraining_tokens=1.5e13, quant="Q4_K_M"
    )
    return Assessment(candidate=candidate, metrics={"quality": quality}, rank=rank)


def test_plan_section_appears_only_when_candidates_are_close(session: Session) -> None:
    """Five models within 0.05 of the best: the design picks 3 to evaluate, each with a cost; when
    the best is far ahead of the rest (published scores already decide), there is no section."""
    catalog = session.catalog
    sizes = (1e9, 4e9, 8e9, 30e9, 70e9)
    close = [_assessment(f"org/close-{i}", 0.70 - 0.01 * i, p, i + 1) for i, p in enumerate(sizes)]
    section = evaluate_first(close, catalog)
    assert section is not None
    assert len(section["selected"]) == 3 and len(section["close"]) == 5
    assert all(s["gpu_hours"] > 0 for s in section["selected"])
    by_model = {s["model"]: s["gpu_hours"] for s in section["selected"]}
    assert len(set(by_model.values())) == 3  # each evaluation's own cost, from its size
    apart = [_assessment(f"org/far-{i}", 0.80 - 0.10 * i, p, i + 1) for i, p in enumerate(sizes)]
    assert evaluate_first(apart, catalog) is None


def test_plan_markdown_and_json_carry_the_section(session: Session) -> None:
    """The section is a Markdown heading with one row per model and its GPU-hours, and the plan JSON's
    ``evaluate_first`` key (null when there is nothing to choose between)."""
    from advisor.model.plan import Plan, StrategyDecision
    from advisor.report.json_report import plan_to_json
    from advisor.report.markdown import plan_to_markdown

    sizes = (1e9, 4e9, 8e9, 30e9, 70e9)
    assessments = [_assessment(f"org/close-{i}", 0.70 - 0.01 * i, p, i + 1) for i, p in enumerate(sizes)]
    strategy = StrategyDecision(recommended="open_source", scores={}, reasons=[], flip_conditions=[])
    section = evaluate_first(assessments, session.catalog)
    plan = Plan(requirements={}, strategy=strategy, assessments=assessments, evaluate_first=section)
    text = plan_to_markdown(plan)
    assert "## Evaluate these first on your own data" in text
    for step in section["selected"] if section else []:
        assert f"| {step['model']} |" in text.split("## Evaluate these first", 1)[1]
    assert plan_to_json(plan)["evaluate_first"] == section
    bare = Plan(requirements={}, strategy=strategy, assessments=assessments)
    assert "Evaluate these first" not in plan_to_markdown(bare) and plan_to_json(bare)["evaluate_first"] is None
    from advisor.report.html import plan_to_html  # the HTML page carries the same section (issue 14)

    page = plan_to_html(plan)
    assert "Evaluate these first on your own data" in page and "Evaluate these first" not in plan_to_html(bare)
    for step in section["selected"] if section else []:
        assert f"<td>{step['model']}</td>" in page


def test_catalog_pool_has_no_baseline_and_counts_what_it_skips() -> None:
    """Catalog models have no score on the user's task: no held-out check; models without published
    pre-training tokens cannot be placed on the compute axis and are counted, not silently dropped."""
    proc = advisor("quality", "design", "--budget", "4", "--pool", "catalog", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    payload = json.loads(proc.stdout)
    assert payload["pool_source"] == "catalog" and payload["pool_skipped"] > 0
    assert len(payload["selected"]) == 4 and payload["baselines"] is None

"""Which models to evaluate first: the balanced I-optimal design of a capability boundary.

A team that can afford to evaluate K models on its own task wants the K whose scores pin down the
boundary q_τ(z) = y0 + L·σ(b·(z − z*)) (advisor.estimate.scaling) best over the whole compute range.
The answer is an optimal experimental design; the method and its sources are in docs/quality.md §6.

**Information matrix.** The boundary is linearised at the current fit θ̂ = (y0, L, z*, b): a model
at z contributes its gradient J(z) = ∂q/∂θ (p = 4):

    J(z) = (1,  σ,  −L·b·σ(1−σ),  L·(z − z*)·σ(1−σ)),   σ = σ(b·(z − z*))

and a selection S has M(S) = λ·I + Σ_{i∈S} J(z_i) J(z_i)ᵀ. This is the local (Chernoff 1953)
Gauss–Newton information of a non-linear model; for a quantile fit the asymptotic covariance of θ̂
is τ(1−τ)·H⁻¹ M H⁻¹ with H = Σ f_i(0)·J Jᵀ (Koenker 2005, §4), which is proportional to M⁻¹ when
the density of the scores at the boundary is the same for every model — the only assumption a
design made before the scores are known can make. λ·I (a ridge, "regularised start") keeps M
invertible before p models are chosen.

**Criterion.** The integrated prediction variance over the compute range, on a grid g_1..g_G:

    V(S) = (1/G) Σ_g J(g)ᵀ M(S)⁻¹ J(g) = trace(M(S)⁻¹ A),   A = (1/G) Σ_g J(g) J(g)ᵀ

(in units of the score noise σ², which cancels in every comparison). Adding a model with gradient
j gives, by Sherman–Morrison, M⁻¹ ← M⁻¹ − u uᵀ / (1 + jᵀu) with u = M⁻¹ j, so its reduction is

    ΔV = uᵀ A u / (1 + h),   h = jᵀ M⁻¹ j  (the candidate's leverage)

at O(p²) per candidate, with no inversion.

**Balanced, greedy, under a budget.** Candidates are split into B equal-count bins of z (sorted by
z then id); by default B is the number of models to select (K, or what a GPU-hour budget buys at
the median cost), so every K-th of the compute range gets exactly one model. At each step the
eligible candidates are the unselected, affordable ones in the bins that have, among bins with an
affordable candidate left, the fewest picks: every region gets its k-th model before any gets a
(k+1)-th. Among them the greedy takes the largest ΔV (with a cost budget, the largest ΔV per GPU-
hour); ties go to the smaller id. It stops when the count or the cost budget is used, or no
affordable candidate is left. Everything is deterministic.

Pure maths in plain Python (p = 4: a plan that shows the section need not import numpy), no file I/O.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from advisor.estimate.scaling import DataPoint, Sigmoid, pinball

#: Number of parameters of the linearised boundary (y0, L, z*, b).
PARAMETERS = ("y0", "L", "z_star", "b")


@dataclass(frozen=True)
class DesignCandidate:
    """A model that could be evaluated: its id, log10 training FLOPs and the cost of evaluating it."""

    id: str
    z: float
    cost: float = 1.0


@dataclass(frozen=True)
class DesignSettings:
    """The ridge λ of M₀ = λI, the number of z bins and of grid points of the integral.

    ``bins`` = 0 means one bin per model to select (see :func:`bin_count`).
    """

    ridge: float = 1e-3
    bins: int = 0
    grid: int = 101


@dataclass(frozen=True)
class DesignStep:
    """One greedy step: the model taken, where it sits and what it buys."""

    step: int
    model: str
    z: float
    bin: int
    leverage: float
    variance_before: float
    variance_reduction: float
    cost: float
    cumulative_cost: float
    eligible: int
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "model": self.model,
            "z": round(self.z, 3),
            "bin": self.bin,
            "leverage": significant(self.leverage),
            "variance_before": significant(self.variance_before),
            "variance_reduction": significant(self.variance_reduction),
            "relative_reduction": round(self.variance_reduction / self.variance_before, 4)
            if self.variance_before > 0
            else 0.0,
            "cost": round(self.cost, 4),
            "cumulative_cost": round(self.cumulative_cost, 4),
            "eligible": self.eligible,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class DesignBin:
    """One equal-count bin of log compute: its index (1 = least compute), z range and size."""

    index: int
    z_min: float
    z_max: float
    candidates: int
    selected: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "bin": self.index,
            "z_range": [round(self.z_min, 3), round(self.z_max, 3)],
            "candidates": self.candidates,
            "selected": self.selected,
        }


@dataclass(frozen=True)
class Design:
    """The ordered selection with the variance it leaves and why it stopped."""

    steps: tuple[DesignStep, ...]
    bins: tuple[DesignBin, ...]
    z_range: tuple[float, float]
    variance_start: float
    variance_end: float
    per_cost: bool
    stopped: str

    @property
    def models(self) -> list[str]:
        return [s.model for s in self.steps]

    @property
    def total_cost(self) -> float:
        return self.steps[-1].cumulative_cost if self.steps else 0.0


def significant(value: float, digits: int = 4) -> float:
    """``value`` rounded to ``digits`` significant digits (variances span many decades)."""
    if value == 0 or not math.isfinite(value):
        return value
    return round(value, digits - 1 - math.floor(math.log10(abs(value))))


def _logistic(t: float) -> float:
    return 1.0 / (1.0 + math.exp(-t)) if t >= 0 else math.exp(t) / (1.0 + math.exp(t))


def boundary_gradient(curve: Sigmoid, z: float) -> tuple[float, float, float, float]:
    """J(z) = ∂q/∂(y0, L, z*, b) of q(z) = y0 + L·σ(b·(z − z*)) at ``curve``'s parameters."""
    s = _logistic(curve.b * (z - curve.z_star))
    slope = s * (1.0 - s)
    return (1.0, s, -curve.L * curve.b * slope, curve.L * (z - curve.z_star) * slope)


Matrix = list[list[float]]
Vector = list[float]


def _matvec(m: Matrix, v: Sequence[float]) -> Vector:
    return [sum(a * b for a, b in zip(row, v, strict=True)) for row in m]


def _dot(a: Sequence[float], b: Sequence[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


def identity_over(ridge: float, p: int = len(PARAMETERS)) -> Matrix:
    """M₀⁻¹ = I / λ: the inverse of the regularised start."""
    return [[1.0 / ridge if i == k else 0.0 for k in range(p)] for i in range(p)]


def average_information(curve: Sigmoid, z_range: tuple[float, float], grid: int) -> Matrix:
    """A = (1/G) Σ_g J(g) J(g)ᵀ over ``grid`` evenly spaced points of ``z_range``."""
    lo, hi = z_range
    points = [lo] if grid <= 1 or hi <= lo else [lo + (hi - lo) * i / (grid - 1) for i in range(grid)]
    p = len(PARAMETERS)
    total = [[0.0] * p for _ in range(p)]
    for z in points:
        j = boundary_gradient(curve, z)
        for i in range(p):
            for k in range(p):
                total[i][k] += j[i] * j[k]
    return [[value / len(points) for value in row] for row in total]


def information(curve: Sigmoid, zs: Sequence[float], ridge: float) -> Matrix:
    """M = λI + Σ J(z_i) J(z_i)ᵀ for the models at ``zs`` (what :func:`sherman_morrison` inverts step by step)."""
    p = len(PARAMETERS)
    m = [[ridge if i == k else 0.0 for k in range(p)] for i in range(p)]
    for z in zs:
        j = boundary_gradient(curve, z)
        for i in range(p):
            for k in range(p):
                m[i][k] += j[i] * j[k]
    return m


def integrated_variance(m_inverse: Matrix, average: Matrix) -> float:
    """V = trace(M⁻¹ A): the prediction variance averaged over the grid (units of σ²)."""
    p = len(m_inverse)
    return sum(m_inverse[i][k] * average[k][i] for i in range(p) for k in range(p))


def sherman_morrison(m_inverse: Matrix, j: Sequence[float]) -> Matrix:
    """(M + j jᵀ)⁻¹ from M⁻¹: M⁻¹ − (M⁻¹j)(M⁻¹j)ᵀ / (1 + jᵀM⁻¹j), O(p²) (M⁻¹ is symmetric)."""
    u = _matvec(m_inverse, j)
    scale = 1.0 + _dot(j, u)
    return [[m_inverse[i][k] - u[i] * u[k] / scale for k in range(len(u))] for i in range(len(u))]


def variance_reduction(m_inverse: Matrix, average: Matrix, j: Sequence[float]) -> tuple[float, float]:
    """(ΔV, leverage h) of adding a model with gradient ``j``: ΔV = uᵀAu / (1 + h), u = M⁻¹j, h = jᵀu."""
    u = _matvec(m_inverse, j)
    h = _dot(j, u)
    return _dot(u, _matvec(average, u)) / (1.0 + h), h


def quantile_bins(candidates: Sequence[DesignCandidate], bins: int) -> dict[str, int]:
    """Candidate id -> bin (1 = least compute): ``bins`` equal-count bins of (z, id) order."""
    ordered = sorted(candidates, key=lambda c: (c.z, c.id))
    count = max(1, min(bins, len(ordered)))
    size = len(ordered) / count
    result: dict[str, int] = {}
    for i in range(count):
        for candidate in ordered[round(i * size) : round((i + 1) * size)]:
            result[candidate.id] = i + 1
    return result


def bin_count(
    settings: DesignSettings, candidates: Sequence[DesignCandidate], count: int | None, cost_budget: float | None
) -> int:
    """How many equal-count bins: ``settings.bins``, or with 0 one per model the budget selects —
    ``count``, else as many as the cost budget buys at the median candidate cost."""
    if settings.bins > 0:
        return settings.bins
    if count is not None:
        return max(1, count)
    costs = sorted(c.cost for c in candidates)
    if not costs or cost_budget is None:
        return 1
    median = costs[len(costs) // 2]
    return max(1, min(len(costs), int(cost_budget / median) if median > 0 else len(costs)))


def balanced_design(
    candidates: Sequence[DesignCandidate],
    curve: Sigmoid,
    settings: DesignSettings | None = None,
    *,
    count: int | None = None,
    cost_budget: float | None = None,
    z_range: tuple[float, float] | None = None,
    prior: Sequence[float] = (),
) -> Design:
    """The balanced greedy I-optimal selection of at most ``count`` models costing at most ``cost_budget``.

    ``z_range``: where the prediction variance is integrated (default: the candidates' range).
    ``prior``: z of models already evaluated (they enter M, not the selection). With a cost budget
    the greedy maximises ΔV per unit of cost; with a count only, ΔV.
    """
    settings = settings or DesignSettings()
    if count is None and cost_budget is None:
        raise ValueError("give a count, a cost budget or both")
    if settings.ridge <= 0:
        raise ValueError(f"ridge must be > 0, got {settings.ridge}")
    ids = [c.id for c in candidates]
    if len(set(ids)) != len(ids):
        raise ValueError("candidate ids must be unique")
    if any(c.cost < 0 or not math.isfinite(c.cost) or not math.isfinite(c.z) for c in candidates):
        raise ValueError("candidate z and cost must be finite, cost >= 0")
    if z_range is None:
        zs = [c.z for c in candidates] or [0.0]
        z_range = (min(zs), max(zs))
    average = average_information(curve, z_range, settings.grid)
    m_inverse = identity_over(settings.ridge)
    for z in prior:  # M = λI + Σ_prior J Jᵀ, inverted one rank-one update at a time
        m_inverse = sherman_morrison(m_inverse, boundary_gradient(curve, z))
    gradients = {c.id: boundary_gradient(curve, c.z) for c in candidates}
    bin_of = quantile_bins(candidates, bin_count(settings, candidates, count, cost_budget))
    n_bins = max(bin_of.values(), default=0)
    picks = dict.fromkeys(range(1, n_bins + 1), 0)
    remaining = sorted(candidates, key=lambda c: c.id)
    per_cost = cost_budget is not None
    start = integrated_variance(m_inverse, average)
    steps: list[DesignStep] = []
    spent = 0.0
    stopped = "every candidate selected"
    while remaining:
        if count is not None and len(steps) >= count:
            stopped = f"count budget of {count} used"
            break
        left = None if cost_budget is None else cost_budget - spent
        affordable = [c for c in remaining if left is None or c.cost <= left + 1e-12]
        if not affordable:
            stopped = f"cost budget of {cost_budget:g} leaves {left:.4g}: no remaining candidate is affordable"
            break
        fewest = min(picks[bin_of[c.id]] for c in affordable)
        eligible = [c for c in affordable if picks[bin_of[c.id]] == fewest]
        variance = integrated_variance(m_inverse, average)
        best: tuple[float, str, DesignCandidate, float, float] | None = None
        for candidate in eligible:  # sorted by id: the first of equal scores wins
            reduction, leverage = variance_reduction(m_inverse, average, gradients[candidate.id])
            score = reduction / candidate.cost if per_cost and candidate.cost > 0 else reduction
            if per_cost and candidate.cost == 0:
                score = math.inf
            if best is None or score > best[0]:
                best = (score, candidate.id, candidate, reduction, leverage)
        assert best is not None
        _, _, chosen, reduction, leverage = best
        m_inverse = sherman_morrison(m_inverse, gradients[chosen.id])
        spent += chosen.cost
        bin_index = bin_of[chosen.id]
        picks[bin_index] += 1
        remaining = [c for c in remaining if c.id != chosen.id]
        criterion = "variance reduction per unit cost" if per_cost else "variance reduction"
        steps.append(
            DesignStep(
                step=len(steps) + 1,
                model=chosen.id,
                z=chosen.z,
                bin=bin_index,
                leverage=leverage,
                variance_before=variance,
                variance_reduction=reduction,
                cost=chosen.cost,
                cumulative_cost=spent,
                eligible=len(eligible),
                reason=f"bin {bin_index}/{n_bins} had {fewest} pick(s), the fewest; largest {criterion} "
                f"({reduction / variance:.1%} of V) among {len(eligible)} eligible; leverage {leverage:.3g}",
            )
        )
    bins = []
    for index in range(1, n_bins + 1):
        members = [c.z for c in candidates if bin_of[c.id] == index]
        bins.append(DesignBin(index, min(members), max(members), len(members), picks[index]))
    return Design(
        steps=tuple(steps),
        bins=tuple(bins),
        z_range=z_range,
        variance_start=start,
        variance_end=integrated_variance(m_inverse, average),
        per_cost=per_cost,
        stopped=stopped,
    )


def evaluation_gpu_hours(active_params: float, tokens: float, gpu_tflops: float, mfu: float) -> float:
    """GPU-hours of one evaluation: 2·N·T FLOPs (a forward pass per token) / (peak FLOP/s · MFU) / 3600."""
    if active_params <= 0 or tokens <= 0 or gpu_tflops <= 0 or not 0 < mfu <= 1:
        raise ValueError("parameters, tokens and GPU TFLOPs must be > 0 and MFU in (0, 1]")
    return 2.0 * active_params * tokens / (gpu_tflops * 1e12 * mfu) / 3600.0


@dataclass(frozen=True)
class HoldoutScore:
    """A boundary scored on models it was not fitted on: mean pinball loss at τ and coverage."""

    n: int
    pinball: float
    coverage: float
    coverage_error: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "pinball": round(self.pinball, 5),
            "coverage": round(self.coverage, 4),
            "coverage_error": round(self.coverage_error, 4),
        }


def holdout_score(curve: Sigmoid, points: Sequence[DataPoint], tau: float) -> HoldoutScore:
    """Mean ρ_τ(y − q(z)) over ``points``, their share at or below q, and |share − τ|."""
    if not points:
        return HoldoutScore(0, float("nan"), float("nan"), float("nan"))
    loss = sum(pinball(p.y - curve(p.z), tau) for p in points) / len(points)
    share = sum(1 for p in points if p.y <= curve(p.z) + 1e-12) / len(points)
    return HoldoutScore(len(points), loss, share, abs(share - tau))


def random_selection(ids: Sequence[str], count: int, seed: int) -> list[str]:
    """``count`` of ``ids`` drawn uniformly without replacement by seed ``seed`` (reproducible)."""
    import random

    return sorted(random.Random(seed).sample(sorted(ids), min(count, len(ids))))


def largest_first(candidates: Sequence[DesignCandidate], count: int) -> list[str]:
    """The naive baseline: the ``count`` candidates of most compute (ties by id)."""
    return [c.id for c in sorted(candidates, key=lambda c: (-c.z, c.id))[:count]]

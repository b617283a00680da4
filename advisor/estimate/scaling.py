"""Capability boundaries (prescriptive scaling): the best benchmark score attainable at a given
pre-training compute, fitted as a high conditional quantile of published evaluations.

Method (Zhang, Jin, Syrgkanis, Kakade, arXiv 2602.15327; re-implemented from the description,
no code copied): with ``C = 6·N·D`` training FLOPs (N parameters, active ones for MoE; D tokens)
and ``z = log10(C)``, the τ-quantile of a benchmark's raw accuracy is modelled as

    q_τ(z) = y0 + L·σ(b·(z − z*)),   σ(t) = 1 / (1 + e^(−t)),
    y0 ≥ 0, L ≥ 0, y0 + L ≤ 1, b > 0           (monotone, saturating, inside [0, 1])

and fitted by minimising the mean pinball (check) loss ρ_τ(u) = max(τ·u, (τ − 1)·u) plus a small
ridge λ_b·b² that keeps the sigmoid from collapsing into a step. Why this shape: scores are
bounded, rise with compute and saturate; a high quantile (τ = 0.9, 0.98) describes what the
*best* models of a compute budget reach, which is the question "could this model be good
enough?" asks, while the mean would describe a typical, possibly badly trained, model.

The fit is exact for the inner parameters: for fixed (z*, b) the loss is convex in (y0, L), for
fixed L the best y0 is the τ-quantile of the residuals (clipped to the constraints), and the
partial minimum over y0 is convex in L, so a golden-section search finds L. (z*, b) come from a
grid refined twice around the best cell; a grid pair whose loss, by convexity, can no longer
reach the best one found leaves the search early (the result is the same to the bit, at a fifth
of the work: a plan fits its boundary on every run). numpy is imported only inside the fitting
functions; predicting with a fitted boundary is plain arithmetic.

Goodness of fit: ``coverage`` is the share of models at or below the boundary (it should sit near
τ), ``bin_coverage`` the same inside equal-count bins of z, and ``r2`` the Koenker–Machado
pseudo-R² for quantile regression: 1 − (pinball loss of the boundary) / (pinball loss of the
best constant), i.e. how much of the τ-quantile's spread compute explains.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

from advisor.catalog.tables import read_csv, require_columns

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

    FloatArray = NDArray[np.float64]
    IntArray = NDArray[np.intp]
    BoolArray = NDArray[np.bool_]

#: Higher-quantile boundaries stay above lower ones over this z range (1e18 to 1e26 FLOPs: from
#: GPT-2-sized models to past today's largest open ones), so τ = 0.98 never predicts below τ = 0.9.
FLOOR_Z_RANGE = (18.0, 26.0)


@dataclass(frozen=True)
class FitSettings:
    """Search space and regularisation of the boundary fit (values from quality_policy.yaml)."""

    lambda_b: float = 1e-4
    b_min: float = 0.05
    b_max: float = 20.0
    z_star_min: float = 18.0
    z_star_max: float = 28.0
    grid_z: int = 41
    grid_b: int = 25
    refinements: int = 2
    golden_iterations: int = 48
    bins: int = 4


@dataclass(frozen=True)
class BoundarySpec:
    """One benchmark column of the shipped data and the catalog benchmark key it predicts."""

    name: str
    label: str
    file: str
    column: str
    catalog_key: str | None = None


@dataclass(frozen=True)
class ComputeSource:
    """Where the training compute of each evaluated model is: a file, its model and FLOPs columns."""

    file: str
    model_column: str = "Model"
    flops_column: str = "FLOPs (1E21)"
    flops_unit: float = 1e21


@dataclass(frozen=True)
class Sigmoid:
    """q(z) = y0 + L·σ(b·(z − z*))."""

    y0: float
    L: float
    z_star: float
    b: float

    def __call__(self, z: float) -> float:
        t = self.b * (z - self.z_star)
        # numerically safe logistic for large |t|
        s = 1.0 / (1.0 + math.exp(-t)) if t >= 0 else math.exp(t) / (1.0 + math.exp(t))
        return self.y0 + self.L * s

    def as_dict(self) -> dict[str, float]:
        return {"y0": round(self.y0, 4), "L": round(self.L, 4), "z_star": round(self.z_star, 3), "b": round(self.b, 4)}


#: A curve fit: the points, the quantile, the settings and the floor curve (or None) -> the curve.
CurveFit = Callable[[Sequence["DataPoint"], float, FitSettings, "Sigmoid | None"], "Sigmoid"]


@dataclass(frozen=True)
class DataPoint:
    """One evaluated model: its name, log10 training FLOPs and raw accuracy (0–1)."""

    model: str
    z: float
    y: float


@dataclass(frozen=True)
class Boundary:
    """A fitted capability boundary with the statistics that say how far to trust it."""

    spec: BoundarySpec
    quantile: float
    curve: Sigmoid
    r2: float
    coverage: float
    n: int
    z_min: float
    z_max: float
    bin_coverage: tuple[float, ...] = field(default_factory=tuple)

    def predict(self, z: float) -> float:
        """The boundary's raw score (0–1) at ``z``."""
        return min(1.0, max(0.0, self.curve(z)))

    def extrapolated(self, z: float) -> bool:
        """True when ``z`` lies outside the compute range the boundary was fitted on."""
        return z < self.z_min or z > self.z_max

    def as_dict(self) -> dict[str, Any]:
        return {
            "benchmark": self.spec.name,
            "label": self.spec.label,
            "catalog_key": self.spec.catalog_key,
            "quantile": self.quantile,
            "params": self.curve.as_dict(),
            "r2": round(self.r2, 4),
            "coverage": round(self.coverage, 4),
            "bin_coverage": [round(c, 4) for c in self.bin_coverage],
            "n": self.n,
            "z_range": [round(self.z_min, 3), round(self.z_max, 3)],
            "source": f"catalog/{self.spec.file}: {self.spec.column}",
        }


def training_flops(params: float, tokens: float) -> float:
    """C = 6·N·D (forward + backward pass per token per parameter)."""
    return 6.0 * params * tokens


def compute_z(params: float, tokens: float) -> float:
    """z = log10(6·N·D); the boundaries' x axis."""
    if params <= 0 or tokens <= 0:
        raise ValueError("parameters and tokens must be positive to compute training FLOPs")
    return math.log10(training_flops(params, tokens))


def pinball(residual: float, tau: float) -> float:
    """ρ_τ(u): τ·u above the quantile, (τ − 1)·u below it."""
    return tau * residual if residual >= 0 else (tau - 1.0) * residual


def coverage(points: Sequence[DataPoint], curve: Sigmoid) -> float:
    """Share of models at or below the boundary."""
    if not points:
        return float("nan")
    return sum(1 for p in points if p.y <= curve(p.z) + 1e-12) / len(points)


def bin_coverage(points: Sequence[DataPoint], curve: Sigmoid, bins: int) -> tuple[float, ...]:
    """Coverage inside ``bins`` equal-count bins of z (low compute first): a local check."""
    ordered = sorted(points, key=lambda p: (p.z, p.model))
    if not ordered or bins < 1:
        return ()
    size = len(ordered) / bins
    result = []
    for i in range(bins):
        chunk = ordered[round(i * size) : round((i + 1) * size)]
        if chunk:
            result.append(coverage(chunk, curve))
    return tuple(result)


def pseudo_r2(points: Sequence[DataPoint], curve: Sigmoid, tau: float) -> float:
    """Koenker–Machado R¹(τ) = 1 − V(boundary) / V(best constant), both under the pinball loss."""
    ys = sorted(p.y for p in points)
    if not ys:
        return float("nan")
    constant = ys[max(0, math.ceil(tau * len(ys)) - 1)]
    v_const = sum(pinball(y - constant, tau) for y in ys)
    v_fit = sum(pinball(p.y - curve(p.z), tau) for p in points)
    return 1.0 - v_fit / v_const if v_const > 0 else float("nan")


def read_points(spec: BoundarySpec, compute: ComputeSource) -> list[DataPoint]:
    """The models of ``spec.file`` that have both a score and a training compute, as (z, y) points.

    Compute comes from ``compute.file`` joined on the model name; rows without FLOPs (the data
    does not give tokens for, e.g., Mistral and Qwen2 models) are left out.
    """
    flops_rows = read_csv(compute.file)
    require_columns(compute.file, flops_rows, (compute.model_column, compute.flops_column), "training compute")
    flops: dict[str, float] = {}
    for row in flops_rows:
        raw = (row.get(compute.flops_column) or "").strip()
        if raw:
            flops[row[compute.model_column]] = float(raw) * compute.flops_unit
    rows = flops_rows if spec.file == compute.file else read_csv(spec.file)
    require_columns(spec.file, rows, (spec.column,), f"boundary {spec.name}")
    points = []
    for row in rows:
        model = row.get(compute.model_column, "")
        raw = (row.get(spec.column) or "").strip()
        if model in flops and raw and flops[model] > 0:
            points.append(DataPoint(model=model, z=math.log10(flops[model]), y=float(raw)))
    return sorted(points, key=lambda p: (p.z, p.model))


class _GridFit(NamedTuple):
    """The (z*, b) pairs of a grid that may hold its minimum objective, with their best (y0, L)."""

    rows: IntArray  # indices into the grid, ascending: every pair left out has a larger objective
    y0: FloatArray
    ell: FloatArray
    objective: FloatArray  # mean pinball loss + lambda_b·b²


#: Pruning (see :func:`_reachable`) needs the search's points this far apart, so that rounding in
#: the losses (~1e-15) and the feasibility tolerance (1e-12) move a secant's bound by < 1e-8 ...
_PRUNE_MIN_GAP = 1e-3
#: ... and a pair is dropped only when its bound is above the best reached by more than this.
_PRUNE_MARGIN = 1e-8


def _grid_fit(
    z: FloatArray,
    y: FloatArray,
    tau: float,
    z_star: FloatArray,
    b: FloatArray,
    iterations: int,
    lambda_b: float,
    floor: tuple[FloatArray, FloatArray] | None = None,
) -> _GridFit:
    """For each (z*, b) pair: the best (y0, L) and the objective (vectorised over pairs).

    ``floor`` = (z grid, values): the curve must stay at or above these values (the boundary of
    a lower quantile), which bounds y0 from below for each L; the problem stays convex.

    L comes from a golden-section search per pair. The loss is convex in L, so the four points
    the search holds (its bracket and two probes) bound from below what the pair can still reach;
    a pair whose bound lies above the best objective already reached is dropped from the search.
    Each pair's arithmetic is its own (row-wise), so the pairs kept get exactly the values the
    full search gives them, and the first minimum over the grid is the first minimum over ``rows``.
    """
    import numpy as np

    n = z.shape[0]
    rows = np.arange(z_star.shape[0])
    s = 1.0 / (1.0 + np.exp(-b[:, None] * (z[None, :] - z_star[:, None])))
    penalty = lambda_b * b**2
    k = max(0, math.ceil(tau * n) - 1)
    s_floor = None
    if floor is not None:
        s_floor = 1.0 / (1.0 + np.exp(-b[:, None] * (floor[0][None, :] - z_star[:, None])))

    def loss_at(ell: FloatArray) -> tuple[FloatArray, FloatArray]:
        residual = y[None, :] - ell[:, None] * s
        y0 = np.partition(residual, k, axis=1)[:, k]
        lower = np.zeros_like(ell)
        if floor is not None and s_floor is not None:
            lower = np.maximum(lower, (floor[1][None, :] - ell[:, None] * s_floor).max(axis=1))
        upper = 1.0 - ell
        y0 = np.minimum(np.maximum(y0, lower), upper)
        u = residual - y0[:, None]
        loss = np.where(u >= 0, tau * u, (tau - 1.0) * u).mean(axis=1)
        return np.where(lower <= upper + 1e-12, loss, np.inf), y0

    lo = np.zeros_like(z_star)
    hi = np.ones_like(z_star)
    f_lo = np.full_like(z_star, np.nan)  # not evaluated until a probe becomes an end of the bracket
    f_hi = f_lo
    ratio = (math.sqrt(5.0) - 1.0) / 2.0
    c = hi - ratio * (hi - lo)
    d = lo + ratio * (hi - lo)
    fc, _ = loss_at(c)
    fd, _ = loss_at(d)
    for _ in range(iterations):
        keep = _reachable(lo, c, d, hi, f_lo, fc, fd, f_hi, penalty)
        if keep.sum() < 0.75 * keep.shape[0]:  # compacting costs a copy: only when it pays
            rows = rows[keep]
            s, penalty, lo, hi, c, d, f_lo, f_hi, fc, fd = (
                a[keep] for a in (s, penalty, lo, hi, c, d, f_lo, f_hi, fc, fd)
            )
            if s_floor is not None:
                s_floor = s_floor[keep]
        left = fc <= fd  # the minimum lies in [lo, d]: d becomes hi, c becomes d
        hi = np.where(left, d, hi)
        lo = np.where(left, lo, c)
        f_hi = np.where(left, fd, f_hi)
        f_lo = np.where(left, f_lo, fc)
        probe = np.where(left, hi - ratio * (hi - lo), lo + ratio * (hi - lo))
        f_probe, _ = loss_at(probe)
        c, d, fc, fd = (
            np.where(left, probe, d),
            np.where(left, c, probe),
            np.where(left, f_probe, fd),
            np.where(left, fc, f_probe),
        )
    ell = np.where(fc <= fd, c, d)
    loss, y0 = loss_at(ell)
    return _GridFit(rows=rows, y0=y0, ell=ell, objective=loss + penalty)


def _reachable(
    lo: FloatArray,
    c: FloatArray,
    d: FloatArray,
    hi: FloatArray,
    f_lo: FloatArray,
    fc: FloatArray,
    fd: FloatArray,
    f_hi: FloatArray,
    penalty: FloatArray,
) -> BoolArray:
    """The pairs whose golden-section search may still end at the smallest objective of the grid.

    A convex f lies above each of its secants extended beyond the secant's two points: on [lo, c]
    and [d, hi] above the secant through c and d, on [c, d] above the secants through (lo, c) and
    (d, hi). The least of these bounds over the bracket [lo, hi] is where the search can still end;
    a pair is dropped when it is above the objective some pair already reached (an objective only
    falls). An end not evaluated yet (NaN) gives no bound on [c, d]; an undefined bound (an
    infeasible point) or points closer than ``_PRUNE_MIN_GAP`` keep the pair.
    """
    import numpy as np

    def lowest(f: FloatArray, slope: FloatArray, run: FloatArray) -> FloatArray:
        # the smaller end of a line through (x, f) with this slope over [x, x + run]
        return np.minimum(f, f + slope * run)

    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        middle = (fd - fc) / (d - c)
        outer = np.minimum(lowest(fc, -middle, c - lo), lowest(fd, middle, hi - d))
        inner = np.fmax(lowest(fc, (fc - f_lo) / (c - lo), d - c), lowest(fd, (fd - f_hi) / (hi - d), d - c))
        bound = np.minimum(outer, inner) + penalty
        reached = float(np.min(np.minimum(fc, fd) + penalty))
    apart = np.minimum(np.minimum(c - lo, d - c), hi - d) >= _PRUNE_MIN_GAP
    return ~(apart & np.isfinite(bound) & (bound > reached + _PRUNE_MARGIN))


def fit_sigmoid_quantile(
    points: Sequence[DataPoint], tau: float, settings: FitSettings | None = None, floor: Sigmoid | None = None
) -> Sigmoid:
    """The τ-quantile sigmoid boundary of ``points`` (see the module docstring for the method).

    ``floor`` is the boundary of a lower quantile: the fit stays at or above it over
    ``FLOOR_Z_RANGE`` (and the data's range), so the quantiles do not cross where they are used.
    """
    import numpy as np

    settings = settings or FitSettings()
    if len(points) < 5:
        raise ValueError(f"need at least 5 points to fit a boundary, got {len(points)}")
    if not 0.0 < tau < 1.0:
        raise ValueError(f"quantile must be in (0, 1), got {tau}")
    z = np.array([p.z for p in points], dtype=float)
    y = np.array([p.y for p in points], dtype=float)
    log_b_min, log_b_max = math.log(settings.b_min), math.log(settings.b_max)
    zs_axis = np.linspace(settings.z_star_min, settings.z_star_max, settings.grid_z)
    lb_axis = np.linspace(log_b_min, log_b_max, settings.grid_b)
    dz = float(zs_axis[1] - zs_axis[0]) if settings.grid_z > 1 else 1.0
    dlb = float(lb_axis[1] - lb_axis[0]) if settings.grid_b > 1 else 1.0
    floor_grid = None
    if floor is not None:
        grid = np.linspace(min(float(z.min()), FLOOR_Z_RANGE[0]), max(float(z.max()), FLOOR_Z_RANGE[1]), 81)
        floor_grid = (grid, np.array([floor(float(g)) for g in grid]))
    best: tuple[float, float, float, float, float] | None = None  # objective, y0, L, z*, b
    for round_index in range(settings.refinements + 1):
        zz, bb = np.meshgrid(zs_axis, np.exp(lb_axis), indexing="ij")
        z_star, b = zz.ravel(), bb.ravel()
        fit = _grid_fit(z, y, tau, z_star, b, settings.golden_iterations, settings.lambda_b, floor_grid)
        j = int(np.argmin(fit.objective))  # first minimum: deterministic
        i = int(fit.rows[j])
        objective = float(fit.objective[j])
        if not math.isfinite(objective):
            raise ValueError("no sigmoid in the search space stays above the lower quantile's boundary")
        if best is None or objective < best[0]:
            best = (objective, float(fit.y0[j]), float(fit.ell[j]), float(z_star[i]), float(b[i]))
        if round_index == settings.refinements:
            break
        # refine: a finer grid over the neighbouring cells of the best point so far
        centre_z, centre_lb = best[3], math.log(best[4])
        zs_axis = np.clip(np.linspace(centre_z - dz, centre_z + dz, 11), settings.z_star_min, settings.z_star_max)
        lb_axis = np.clip(np.linspace(centre_lb - dlb, centre_lb + dlb, 11), log_b_min, log_b_max)
        dz, dlb = dz / 5.0, dlb / 5.0
    assert best is not None
    _, y0_best, l_best, zs_best, b_best = best
    return Sigmoid(y0=y0_best, L=l_best, z_star=zs_best, b=b_best)


def fit_boundary(
    spec: BoundarySpec,
    tau: float,
    compute: ComputeSource,
    settings: FitSettings | None = None,
    floor: Boundary | None = None,
    fit: CurveFit | None = None,
) -> Boundary:
    """Read the shipped data for ``spec`` and fit its τ boundary, with coverage and pseudo-R².

    ``floor``: the same benchmark's boundary at a lower quantile, which this one must not cross.
    ``fit``: what fits the curve (default :func:`fit_sigmoid_quantile`; a caller may keep its
    results between runs, as :func:`advisor.estimate.quality.fitted_boundary` does).
    """
    settings = settings or FitSettings()
    points = read_points(spec, compute)
    curve = (fit or fit_sigmoid_quantile)(points, tau, settings, floor.curve if floor is not None else None)
    return Boundary(
        spec=spec,
        quantile=tau,
        curve=curve,
        r2=pseudo_r2(points, curve, tau),
        coverage=coverage(points, curve),
        n=len(points),
        z_min=points[0].z,
        z_max=points[-1].z,
        bin_coverage=bin_coverage(points, curve, settings.bins),
    )

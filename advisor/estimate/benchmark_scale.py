"""One scale for every benchmark: fill the scores a model does not publish from the ones it does.

Why: a use case's quality is a weighted mean of normalised benchmark scores, and models publish different
benchmarks. Averaged over different sets, the means are not on one scale: a model known only from saturated
benchmarks (HumanEval 90 %) reads near the frontier while a stronger one measured on hard benchmarks
(LiveCodeBench 43 %) reads lower, so richer, harder evidence makes a model look weaker (issue 14). Comparing
every model on the same benchmarks needs the scores it does not publish, predicted from the ones it does,
using how the benchmarks relate across the catalog records that publish several of them.

The method is a low-rank latent model of the normalised scores (0–1), one (or a few) abilities θ per record:

    normalised[r, b] ≈ a_b + s_b · θ_r          (s_b, θ_r vectors of ``factors`` entries)

fitted by alternating least squares on the population's published scores (records with at least
``min_scores``): for fixed abilities each benchmark's (a_b, s_b) is a ridge regression (``ridge`` on s_b,
the intercept free) over the records that publish it; for fixed loadings each record's ability is the
posterior mean under a standard-normal prior, θ = (SᵀS + λ·I)⁻¹ Sᵀ(y − a) with λ = ``shrinkage`` × the
fitted residual variance (empirical Bayes: a record known from one score is pulled toward the average
ability as far as one noisy score warrants); the abilities are then standardised (mean 0, variance 1 per
factor) so the prior and the scale agree. Deterministic: the start is the leading principal components of
the z-scored, zero-filled matrix by power iteration from a fixed vector, and records are processed in a
fixed order. A model is imputed by the same posterior-mean step from its own published scores, so a record
of the population and a new one are treated alike.

Pure arithmetic: the population (each record's normalised scores) is passed in; reading the catalog,
choosing which benchmarks to impute and caching are the caller's (advisor.estimate.quality). Fitting the
shipped catalog takes a few tens of milliseconds in plain Python; :func:`fitted_scale` memoises it by
content. Measured out of sample in benchmarks/quality_imputation.py (docs/quality.md §1b).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

#: a population as a hashable value: per record, its (benchmark, normalised score) pairs
Population = tuple[tuple[tuple[str, float], ...], ...]


@dataclass(frozen=True)
class ScaleSettings:
    """The fit's knobs (catalog/quality_policy.yaml ``imputation`` says why each value)."""

    factors: int = 1
    ridge: float = 1e-3
    shrinkage: float = 1.0
    min_records: int = 8
    min_scores: int = 2
    iterations: int = 300
    tolerance: float = 1e-10


@dataclass(frozen=True)
class Loading:
    """One benchmark's relation to the latent abilities, with what it was fitted on."""

    benchmark: str
    intercept: float
    slopes: tuple[float, ...]
    records: int
    residual_sd: float


@dataclass(frozen=True)
class Imputed:
    """A benchmark's predicted normalised score for one model, and what it rests on."""

    benchmark: str
    normalised: float
    records: int  # population records that publish this benchmark (its relation's support)
    population: int  # records the latent fit used
    residual_sd: float  # in-sample residual standard deviation of the benchmark's relation
    from_benchmarks: tuple[str, ...]  # the model's published scores the prediction came from


@dataclass(frozen=True)
class BenchmarkScale:
    """The fitted latent model: a loading per benchmark and the prior weight on abilities."""

    loadings: Mapping[str, Loading]
    population: int
    noise_variance: float
    prior_weight: float
    settings: ScaleSettings
    iterations: int

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready (floats keep their exact value), for a cache between runs; :meth:`from_dict` reads it."""
        return {
            "loadings": [
                [x.benchmark, x.intercept, list(x.slopes), x.records, x.residual_sd] for x in self.loadings.values()
            ],
            "population": self.population,
            "noise_variance": self.noise_variance,
            "prior_weight": self.prior_weight,
            "iterations": self.iterations,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], settings: ScaleSettings) -> BenchmarkScale:
        """The scale :meth:`as_dict` wrote (KeyError, TypeError or ValueError on anything else)."""
        loadings = {
            str(b): Loading(str(b), float(a), tuple(float(x) for x in slopes), int(n), float(sd))
            for b, a, slopes, n, sd in data["loadings"]
        }
        if any(len(x.slopes) != settings.factors for x in loadings.values()):
            raise ValueError("cached scale has another number of factors")
        return cls(
            loadings,
            int(data["population"]),
            float(data["noise_variance"]),
            float(data["prior_weight"]),
            settings,
            int(data["iterations"]),
        )

    def ability(self, scores: Mapping[str, float]) -> tuple[float, ...] | None:
        """Posterior-mean ability from normalised scores on fitted benchmarks; None without any."""
        fitted = [(self.loadings[b], y) for b, y in scores.items() if b in self.loadings]
        rows = [(loading.slopes, y - loading.intercept) for loading, y in fitted]
        if not rows:
            return None
        return _posterior(rows, self.settings.factors, self.prior_weight)

    def predict(self, benchmark: str, ability: Sequence[float]) -> float:
        """clip(a_b + s_b · θ, 0, 1)."""
        loading = self.loadings[benchmark]
        value = loading.intercept + sum(s * t for s, t in zip(loading.slopes, ability, strict=True))
        return min(1.0, max(0.0, value))

    def impute(self, scores: Mapping[str, float], benchmarks: Iterable[str]) -> dict[str, Imputed]:
        """Predicted normalised scores for ``benchmarks`` the model does not publish (fitted ones only)."""
        ability = self.ability(scores)
        if ability is None:
            return {}
        used = tuple(sorted(b for b in scores if b in self.loadings))
        out: dict[str, Imputed] = {}
        for benchmark in benchmarks:
            loading = self.loadings.get(benchmark)
            if loading is None or benchmark in scores:
                continue
            out[benchmark] = Imputed(
                benchmark=benchmark,
                normalised=self.predict(benchmark, ability),
                records=loading.records,
                population=self.population,
                residual_sd=loading.residual_sd,
                from_benchmarks=used,
            )
        return out


def population_key(records: Iterable[Mapping[str, float]]) -> Population:
    """A canonical, hashable population: each record's scores sorted; identical records kept once, sorted.

    Identical score sets are one model listed twice (an API alias, a provider serving the same weights);
    counting them twice would weigh that model double and leak it into its own out-of-sample check.
    """
    unique = {tuple(sorted((b, float(v)) for b, v in record.items())) for record in records}
    return tuple(sorted(r for r in unique if r))


@lru_cache(maxsize=8)
def fitted_scale(population: Population, settings: ScaleSettings) -> BenchmarkScale:
    """:func:`fit_scale` memoised by content (the population and the settings)."""
    return fit_scale([dict(record) for record in population], settings)


def fit_scale(population: Sequence[Mapping[str, float]], settings: ScaleSettings) -> BenchmarkScale:
    """Fit the latent model on ``population`` (normalised scores per record) by alternating least squares."""
    k = settings.factors
    if k < 1:
        raise ValueError("factors must be at least 1")
    counts: dict[str, int] = {}
    for record in population:
        if len(record) >= settings.min_scores:
            for b in record:
                counts[b] = counts.get(b, 0) + 1
    benchmarks = sorted(b for b, n in counts.items() if n >= settings.min_records)
    kept = set(benchmarks)
    data = [
        {b: float(v) for b, v in record.items() if b in kept}
        for record in population
        if len(record) >= settings.min_scores
    ]
    data = [r for r in data if len(r) >= settings.min_scores]
    if not data or not benchmarks:
        return BenchmarkScale({}, 0, 0.0, 0.0, settings, 0)
    columns = {b: [(i, r[b]) for i, r in enumerate(data) if b in r] for b in benchmarks}
    thetas = _start(data, benchmarks, k)
    loadings: dict[str, Loading] = {}
    previous, noise, prior, done = math.inf, 0.0, 0.0, 0
    for done in range(1, settings.iterations + 1):  # noqa: B007 - reported as the iterations used
        loadings = _loadings(columns, thetas, settings.ridge)
        objective = sum(loading.residual_sd**2 * loading.records for loading in loadings.values())
        noise = max(objective / sum(loading.records for loading in loadings.values()), 1e-8)
        prior = settings.shrinkage * noise
        thetas = _standardise([_posterior(_rows(record, loadings), k, prior) for record in data])
        if abs(previous - objective) <= settings.tolerance * max(1.0, objective):
            break
        previous = objective
    loadings = _loadings(columns, thetas, settings.ridge)
    return BenchmarkScale(loadings, len(data), noise, prior, settings, done)


# --------------------------------------------------------------------------------------------- pieces


def _dot(a: Sequence[float], b: Sequence[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


def _solve(matrix: list[list[float]], rhs: list[float]) -> list[float]:
    """Gauss–Jordan with partial pivoting for the small symmetric positive-definite systems here."""
    n = len(rhs)
    a = [[*row, rhs[i]] for i, row in enumerate(matrix)]
    for col in range(n):
        pivot = max(range(col, n), key=lambda r: abs(a[r][col]))
        a[col], a[pivot] = a[pivot], a[col]
        if abs(a[col][col]) < 1e-15:
            return [0.0] * n
        for r in range(n):
            if r != col:
                f = a[r][col] / a[col][col]
                a[r] = [x - f * y for x, y in zip(a[r], a[col], strict=True)]
    return [a[i][n] / a[i][i] for i in range(n)]


def _rows(scores: Mapping[str, float], loadings: Mapping[str, Loading]) -> list[tuple[tuple[float, ...], float]]:
    """(s_b, y_b − a_b) for each of the scores on a fitted benchmark."""
    return [(loadings[b].slopes, y - loadings[b].intercept) for b, y in scores.items() if b in loadings]


def _posterior(rows: Sequence[tuple[Sequence[float], float]], k: int, prior: float) -> tuple[float, ...]:
    """argmin Σ (y − s·θ)² + prior·|θ|²: the ability's posterior mean under a N(0, I) prior."""
    if k == 1:  # the shipped setting, in closed form (the fit runs inside every plan)
        denominator = sum(s[0] * s[0] for s, _ in rows) + prior
        return (sum(s[0] * y for s, y in rows) / denominator if denominator > 0 else 0.0,)
    matrix = [[sum(s[i] * s[j] for s, _ in rows) + (prior if i == j else 0.0) for j in range(k)] for i in range(k)]
    rhs = [sum(s[i] * y for s, y in rows) for i in range(k)]
    return tuple(_solve(matrix, rhs))


def _loadings(
    columns: Mapping[str, Sequence[tuple[int, float]]], thetas: Sequence[tuple[float, ...]], ridge: float
) -> dict[str, Loading]:
    """Per benchmark, ridge regression of its scores on [1, θ] (the intercept unpenalised), with its residual sd."""
    k = len(thetas[0])
    out: dict[str, Loading] = {}
    for b, column in columns.items():
        if k == 1:  # the shipped setting, in closed form
            out[b] = _line(b, [(thetas[i][0], y) for i, y in column], ridge)
            continue
        xs = [(1.0, *thetas[i]) for i, _ in column]
        ys = [y for _, y in column]
        matrix = [
            [sum(x[i] * x[j] for x in xs) + (ridge if i == j and i > 0 else 0.0) for j in range(k + 1)]
            for i in range(k + 1)
        ]
        rhs = [sum(x[i] * y for x, y in zip(xs, ys, strict=True)) for i in range(k + 1)]
        coef = _solve(matrix, rhs)
        residual = [y - _dot(coef, x) for x, y in zip(xs, ys, strict=True)]
        sd = math.sqrt(sum(e * e for e in residual) / len(residual))
        out[b] = Loading(b, coef[0], tuple(coef[1:]), len(ys), sd)
    return out


def _line(benchmark: str, points: Sequence[tuple[float, float]], ridge: float) -> Loading:
    """y ≈ a + s·θ by least squares with ``ridge`` on s: the one-ability case of :func:`_loadings`."""
    n = len(points)
    sx = sum(t for t, _ in points)
    sy = sum(y for _, y in points)
    sxx = sum(t * t for t, _ in points) + ridge
    sxy = sum(t * y for t, y in points)
    det = n * sxx - sx * sx
    slope = (n * sxy - sx * sy) / det if det > 0 else 0.0
    intercept = (sy - slope * sx) / n
    sse = sum((y - intercept - slope * t) ** 2 for t, y in points)
    return Loading(benchmark, intercept, (slope,), n, math.sqrt(sse / n))


def _standardise(thetas: Sequence[tuple[float, ...]]) -> list[tuple[float, ...]]:
    """Each factor to mean 0 and variance 1 over the population (the prior's scale)."""
    k, n = len(thetas[0]), len(thetas)
    means = [sum(t[i] for t in thetas) / n for i in range(k)]
    sds = [math.sqrt(sum((t[i] - means[i]) ** 2 for t in thetas) / n) or 1.0 for i in range(k)]
    return [tuple((t[i] - means[i]) / sds[i] for i in range(k)) for t in thetas]


def _start(data: Sequence[Mapping[str, float]], benchmarks: Sequence[str], k: int) -> list[tuple[float, ...]]:
    """The leading ``k`` principal components of the z-scored matrix (missing = 0), by power iteration."""
    stats = {}
    for b in benchmarks:
        ys = [r[b] for r in data if b in r]
        mean = sum(ys) / len(ys)
        stats[b] = (mean, math.sqrt(sum((y - mean) ** 2 for y in ys) / len(ys)) or 1.0)
    z = [[(r[b] - stats[b][0]) / stats[b][1] if b in r else 0.0 for b in benchmarks] for r in data]
    m = len(benchmarks)
    gram = [[sum(row[i] * row[j] for row in z) for j in range(m)] for i in range(m)]  # ZᵀZ, m × m
    columns: list[list[float]] = []
    for factor in range(k):
        v = [1.0 if (j + factor) % 2 == 0 else 0.5 for j in range(m)]
        for _ in range(200):
            w = [_dot(row, v) for row in gram]
            norm = math.sqrt(_dot(w, w)) or 1.0
            w = [x / norm for x in w]
            if max(abs(x - y) for x, y in zip(w, v, strict=True)) < 1e-12:
                break
            v = w
        eigen = _dot(v, [_dot(row, v) for row in gram])
        gram = [[gram[i][j] - eigen * v[i] * v[j] for j in range(m)] for i in range(m)]  # deflate
        columns.append([_dot(row, v) for row in z])
    return _standardise([tuple(col[i] for col in columns) for i in range(len(data))])

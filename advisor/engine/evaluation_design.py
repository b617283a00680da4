"""Which models to evaluate first, put together: pools of models with their compute and evaluation
cost, the design over them (advisor.estimate.design), its held-out check on the packaged leaderboard
data, and the plan's "evaluate these first on your own data" section.

Pools: ``leaderboard`` (the packaged ObsScaling base models with training FLOPs and a score on the
benchmark), ``catalog`` (catalog models with published pre-training tokens) and a user's file (CSV,
YAML or JSON rows with ``model``, ``params`` and ``tokens`` or ``flops``). docs/quality.md §6.
"""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from advisor.errors import InputError
from advisor.estimate.design import (
    Design,
    DesignCandidate,
    balanced_design,
    holdout_score,
    largest_first,
    random_selection,
    significant,
)
from advisor.estimate.design_policy import benchmark_boundary, benchmark_spec, design_policy, evaluation_cost
from advisor.estimate.scaling import DataPoint, compute_z

if TYPE_CHECKING:
    from advisor.catalog.loader import Catalog
    from advisor.model.plan import Assessment

POOLS = ("leaderboard", "catalog")
#: A pool file is read whole: bounded so a wrong path cannot exhaust memory.
MAX_POOL_BYTES = 5_000_000
MAX_POOL_ROWS = 10_000
#: Random selections the command's baseline draws (the benchmark draws its own number).
BASELINE_SEEDS = 50
#: The fitter needs at least this many points.
MIN_FIT = 5


@dataclass(frozen=True)
class PoolModel:
    """A model of a pool: id, log10 training FLOPs, active parameters, and its score when known."""

    id: str
    z: float
    active_params: float
    score: float | None = None
    family: str | None = None


@dataclass(frozen=True)
class Pool:
    """The models a design chooses from, where they came from, and what was left out and why."""

    source: str
    models: tuple[PoolModel, ...]
    skipped: tuple[str, ...] = field(default_factory=tuple)


def gpu_tflops(catalog: Catalog) -> float:
    """BF16 peak of the policy's evaluation device (catalog/hardware.yaml)."""
    device = design_policy().evaluation.device
    record = catalog.hardware.get(device)
    if record is None or not record.bf16_tflops:
        raise InputError(f"catalog/quality_design.yaml evaluation.device: {device} has no bf16_tflops in the catalog")
    return float(record.bf16_tflops)


def require_benchmark(name: str) -> None:
    """Exit 2 with the valid names for an unknown benchmark."""
    names = design_policy().benchmarks
    if name not in names:
        raise InputError(f"--benchmark {name}: unknown; expected one of {', '.join(names)}")


# --------------------------------------------------------------------------------------------- pools


def leaderboard_pool(benchmark: str) -> Pool:
    """The packaged leaderboard models with training FLOPs and a score on ``benchmark``.

    Active parameters: FLOPs / (6·D) with the data's own D (so MoE models count what a token
    uses), else the data's "Model Size (B)".
    """
    from advisor.catalog.tables import read_csv
    from advisor.estimate.quality import quality_policy
    from advisor.estimate.scaling import read_points

    compute = quality_policy().compute_source()
    points = read_points(benchmark_spec(benchmark), compute)
    sizes: dict[str, tuple[float, str | None]] = {}
    for row in read_csv(compute.file):
        flops, tokens, size = (
            (row.get(k) or "").strip() for k in (compute.flops_column, "Pretraining Data Size (T)", "Model Size (B)")
        )
        if flops and tokens and float(tokens) > 0:
            params = float(flops) * compute.flops_unit / (6.0 * float(tokens) * 1e12)
        elif size:
            params = float(size) * 1e9
        else:
            continue
        sizes[row[compute.model_column]] = (params, row.get("Model Family"))
    models = []
    skipped = []
    for p in points:
        if p.model in sizes:
            models.append(PoolModel(p.model, p.z, sizes[p.model][0], p.y, sizes[p.model][1]))
        else:
            skipped.append(f"{p.model}: no size")
    return Pool("leaderboard", tuple(models), tuple(skipped))


def catalog_pool(catalog: Catalog) -> Pool:
    """Catalog models with published pre-training tokens (compute is unknown for the others)."""
    models, skipped = [], []
    for record in sorted(catalog.models.values(), key=lambda r: r.id):
        params = float(record.active_params or record.params or 0)
        if not record.pretraining_tokens or params <= 0:
            skipped.append(f"{record.id}: pre-training tokens not published")
            continue
        models.append(PoolModel(record.id, compute_z(params, record.pretraining_tokens), params))
    return Pool("catalog", tuple(models), tuple(skipped))


def _number(value: Any, where: str, name: str) -> float | None:
    if value is None or value == "":
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InputError(f"{where}: {name} must be a number, got {value!r}") from None
    if not math.isfinite(number) or number <= 0:
        raise InputError(f"{where}: {name} must be a positive number, got {value!r}")
    return number


def file_pool(path: Path) -> Pool:
    """Models from a CSV, YAML or JSON file: rows (a list, or ``models: [...]``) with ``model``,
    ``params`` (parameters, a count such as 7e9; ``active_params`` for MoE) and either ``tokens``
    (pre-training tokens) or ``flops`` (training FLOPs); ``score`` (0–1) is optional."""
    import csv
    import io

    try:
        size = path.stat().st_size
    except OSError as exc:
        raise InputError(f"--pool {path}: cannot read: {exc.strerror or exc}") from None
    if size > MAX_POOL_BYTES:
        raise InputError(f"--pool {path}: {size} bytes, more than the {MAX_POOL_BYTES} a pool file may have")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"--pool {path}: cannot read as UTF-8 text: {exc}") from None
    suffix = path.suffix.lower()
    rows: Any
    if suffix == ".csv":
        rows = list(csv.DictReader(io.StringIO(text)))
    elif suffix in {".yaml", ".yml", ".json"}:
        import yaml

        try:
            rows = json.loads(text) if suffix == ".json" else yaml.safe_load(text)
        except (ValueError, yaml.YAMLError) as exc:  # json.JSONDecodeError is a ValueError
            raise InputError(f"--pool {path}: not valid {suffix[1:].upper()}: {str(exc).splitlines()[0]}") from None
        if isinstance(rows, Mapping):
            rows = rows.get("models")
    else:
        raise InputError(f"--pool {path}: expected a .csv, .yaml, .yml or .json file, or one of {', '.join(POOLS)}")
    if not isinstance(rows, list) or not all(isinstance(r, Mapping) for r in rows):
        raise InputError(f"--pool {path}: expected a list of models (or `models:` with a list), each a mapping")
    if len(rows) > MAX_POOL_ROWS:
        raise InputError(f"--pool {path}: {len(rows)} models, more than {MAX_POOL_ROWS}")
    models: list[PoolModel] = []
    seen: set[str] = set()
    for index, row in enumerate(rows, start=1):
        where = f"--pool {path}: model {index}"
        name = str(row.get("model") or "").strip()
        if not name:
            raise InputError(f"{where}: `model` (the model's name) is required")
        if name in seen:
            raise InputError(f"{where}: {name} is listed twice")
        seen.add(name)
        params = _number(row.get("active_params"), where, "active_params") or _number(
            row.get("params"), where, "params"
        )
        tokens = _number(row.get("tokens"), where, "tokens")
        flops = _number(row.get("flops"), where, "flops")
        score = row.get("score")
        if params is None:
            raise InputError(f"{where} ({name}): `params` (parameters, e.g. 7e9) is required")
        if flops is None and tokens is None:
            raise InputError(f"{where} ({name}): give `tokens` (pre-training tokens) or `flops` (training FLOPs)")
        z = math.log10(flops) if flops is not None else compute_z(params, tokens or 0.0)
        value = None
        if score not in (None, ""):
            value = _number(score, where, "score")
            if value is not None and value > 1:
                raise InputError(f"{where} ({name}): score must be between 0 and 1, got {score!r}")
        models.append(PoolModel(name, z, params, value))
    if not models:
        raise InputError(f"--pool {path}: no models")
    return Pool(str(path), tuple(models))


def resolve_pool(pool: str, benchmark: str, catalog: Catalog) -> Pool:
    if pool == "leaderboard":
        return leaderboard_pool(benchmark)
    if pool == "catalog":
        return catalog_pool(catalog)
    path = Path(pool)
    if not path.suffix:
        raise InputError(f"--pool {pool}: unknown; expected one of {', '.join(POOLS)} or a .csv/.yaml/.json file")
    return file_pool(path)


# --------------------------------------------------------------------------------------------- the design


def candidates(pool: Pool, benchmark: str, tflops: float) -> list[DesignCandidate]:
    """The pool as design candidates, each with its evaluation's GPU-hours on ``benchmark``."""
    return [DesignCandidate(m.id, m.z, evaluation_cost(m.active_params, benchmark, tflops)) for m in pool.models]


def _fit(points: Sequence[DataPoint], tau: float) -> Any:
    from advisor.estimate.quality import quality_policy
    from advisor.estimate.scaling import fit_sigmoid_quantile

    return fit_sigmoid_quantile(points, tau, quality_policy().fit_settings())


def baselines(pool: Pool, design: Design, tau: float, seeds: int = BASELINE_SEEDS) -> dict[str, Any] | None:
    """Held-out check when every pool model has a score: fit the boundary on the design's selection,
    on ``seeds`` random selections of the same size and on the largest-first one, and score each on
    the models left out (pinball loss at τ, coverage error). None when the pool has no scores or
    the selection is too small to fit."""
    scored = [m for m in pool.models if m.score is not None]
    k = len(design.steps)
    if len(scored) != len(pool.models) or k < MIN_FIT or len(scored) - k < 1:
        return None
    points = {m.id: DataPoint(m.id, m.z, float(m.score or 0.0)) for m in scored}

    def score(selected: Sequence[str]) -> Any:
        chosen = set(selected)
        curve = _fit([points[i] for i in sorted(chosen)], tau)
        return holdout_score(curve, [p for i, p in sorted(points.items()) if i not in chosen], tau)

    designed = score(design.models)
    randoms = [score(random_selection(list(points), k, seed)) for seed in range(seeds)]
    largest = score(largest_first([DesignCandidate(m.id, m.z) for m in scored], k))
    random_pinball = statistics.median(r.pinball for r in randoms)
    return {
        "design_pinball": round(designed.pinball, 5),
        "random_median_pinball": round(random_pinball, 5),
        "largest_first_pinball": round(largest.pinball, 5),
        "design_coverage_error": round(designed.coverage_error, 4),
        "random_median_coverage_error": round(statistics.median(r.coverage_error for r in randoms), 4),
        "largest_first_coverage_error": round(largest.coverage_error, 4),
        "design_beats_random_share": round(sum(1 for r in randoms if designed.pinball < r.pinball) / len(randoms), 4),
        "seeds": seeds,
        "held_out": designed.n,
        "note": "scores of the pool's models not selected; the linearisation point is the boundary fitted on "
        "the whole packaged data (the selection's own scores are in-sample for its shape)",
    }


def design_payload(
    pool: Pool,
    benchmark: str,
    tau: float,
    tflops: float,
    count: int | None,
    gpu_hours: float | None,
    with_baselines: bool = True,
) -> dict[str, Any]:
    """The JSON of ``advisor quality design`` (docs/design.md §7, docs/quality.md §6)."""
    policy = design_policy()
    boundary = benchmark_boundary(benchmark, tau)
    design = balanced_design(
        candidates(pool, benchmark, tflops), boundary.curve, policy.settings(), count=count, cost_budget=gpu_hours
    )
    entry = policy.benchmarks[benchmark]
    steps = []
    for step in design.steps:
        row = step.as_dict()
        row["gpu_hours"] = row.pop("cost")
        steps.append(row)
    return {
        "benchmark": benchmark,
        "label": boundary.spec.label,
        "quantile": tau,
        "budget": count,
        "budget_gpu_hours": gpu_hours,
        "pool": len(pool.models),
        "pool_source": pool.source,
        "pool_skipped": len(pool.skipped),
        "criterion": "variance reduction per GPU-hour" if design.per_cost else "variance reduction",
        "linearised_at": {"params": boundary.curve.as_dict(), "source": boundary.as_dict()["source"], "n": boundary.n},
        "settings": {"ridge": policy.design.ridge, "bins": policy.design.bins, "grid": policy.design.grid},
        "z_range": [round(design.z_range[0], 3), round(design.z_range[1], 3)],
        "variance": {
            "start": significant(design.variance_start),
            "end": significant(design.variance_end),
            "unit": "score noise variance σ² (only ratios matter)",
        },
        "bins": [b.as_dict() for b in design.bins],
        "selected": steps,
        "total_gpu_hours": round(design.total_cost, 4),
        "stopped": design.stopped,
        "cost_basis": f"estimate: 2·N·{entry.items}·{entry.tokens_per_item:g} tokens FLOPs / ({tflops:g} TFLOPs "
        f"{policy.evaluation.device} BF16 · MFU {policy.evaluation.mfu:g}); band ×{_band(policy)} "
        f"(catalog/quality_design.yaml; {entry.source})",
        "baselines": baselines(pool, design, tau) if with_baselines else None,
    }


def _band(policy: Any) -> str:
    low = policy.evaluation.mfu / policy.evaluation.mfu_band[1] * policy.evaluation.tokens_band[0]
    high = policy.evaluation.mfu / policy.evaluation.mfu_band[0] * policy.evaluation.tokens_band[1]
    return f"{low:.2g}–×{high:.2g}"


# --------------------------------------------------------------------------------------------- the plan


def evaluate_first(assessments: Sequence[Assessment], catalog: Catalog) -> dict[str, Any] | None:
    """The plan's "evaluate these first on your own data": None unless at least ``plan.evaluate``
    + 1 of the best-ranked models are within ``plan.close_quality`` of the best quality and their
    training compute is known; then the design over them picks ``plan.evaluate``, with each cost."""
    from advisor.model.metrics import QualityMetrics

    policy = design_policy()
    best: dict[str, Assessment] = {}
    for a in sorted((a for a in assessments if a.rank is not None), key=lambda a: a.rank or 0):
        best.setdefault(a.candidate.id, a)
    shortlist = list(best.values())[: policy.plan.shortlist]
    qualities = {a.candidate.id: QualityMetrics.from_metrics(a.metrics).value for a in shortlist}
    known = [q for q in qualities.values() if isinstance(q, int | float)]
    if not known:
        return None
    top = max(known)
    close: list[PoolModel] = []
    for a in shortlist:
        quality = qualities[a.candidate.id]
        if not isinstance(quality, int | float) or quality < top - policy.plan.close_quality:
            continue
        c = a.candidate
        hosted = catalog.models.get(c.repo_id or "")
        tokens = c.pretraining_tokens or (hosted.pretraining_tokens if hosted is not None else None)
        params = c.active_params or c.params or (hosted.active_params or hosted.params if hosted is not None else None)
        if tokens and params:
            close.append(PoolModel(c.id, compute_z(float(params), float(tokens)), float(params), float(quality)))
    if len(close) <= policy.plan.evaluate:
        return None
    benchmark = policy.design.default_benchmark
    tflops = gpu_tflops(catalog)
    from advisor.estimate.quality import quality_policy

    tau = quality_policy().prediction.quantile
    payload = design_payload(
        Pool("shortlist", tuple(close)), benchmark, tau, tflops, policy.plan.evaluate, None, with_baselines=False
    )
    quality_of = {m.id: m.score for m in close}
    return {
        "reason": f"{len(close)} shortlisted models are within {policy.plan.close_quality:g} of the best quality "
        f"({top:.2f}): published scores cannot separate them; evaluate these on your own data first",
        "benchmark_proxy": benchmark,
        "close": sorted(m.id for m in close),
        "selected": [
            {
                "model": s["model"],
                "quality": quality_of[s["model"]],
                "bin": s["bin"],
                "variance_reduction": s["variance_reduction"],
                "gpu_hours": s["gpu_hours"],
                "cumulative_gpu_hours": s["cumulative_cost"],
                "reason": s["reason"],
            }
            for s in payload["selected"]
        ],
        "cost_basis": f"GPU-hours to run an {payload['label']}-sized evaluation; {payload['cost_basis']}",
    }

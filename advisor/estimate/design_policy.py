"""The constants of the evaluation design (catalog/quality_design.yaml), typed, and what follows
from them alone: which data a benchmark name means, its boundary, the GPU-hours of one evaluation.

The file is read and validated by :mod:`advisor.catalog.tables`; the arithmetic is in
:mod:`advisor.estimate.design`. docs/quality.md §6 explains every value.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

from pydantic import BaseModel, ConfigDict, Field, model_validator

from advisor.catalog.tables import load_table
from advisor.estimate.design import DesignSettings, evaluation_gpu_hours
from advisor.estimate.scaling import Boundary, BoundarySpec

DESIGN_FILE = "quality_design.yaml"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DesignSection(_Strict):
    ridge: float = Field(gt=0.0)
    bins: int = Field(ge=0)
    grid: int = Field(ge=2)
    default_benchmark: str


class PlanSection(_Strict):
    close_quality: float = Field(ge=0.0, le=1.0)
    shortlist: int = Field(ge=2)
    evaluate: int = Field(ge=1)


class EvaluationSection(_Strict):
    device: str
    mfu: float = Field(gt=0.0, le=1.0)
    mfu_band: tuple[float, float]
    tokens_band: tuple[float, float]


class BenchmarkEntry(_Strict):
    """A benchmark name: either a quality-policy boundary or a column of a packaged CSV."""

    boundary: str | None = None
    file: str | None = None
    column: str | None = None
    label: str | None = None
    items: int = Field(ge=1)
    tokens_per_item: float = Field(gt=0.0)
    source: str

    @model_validator(mode="after")
    def _one_source(self) -> BenchmarkEntry:
        if (self.boundary is None) == (self.file is None or self.column is None):
            raise ValueError("give either boundary, or file and column")
        return self

    @property
    def tokens(self) -> float:
        """Tokens one evaluation processes: items × tokens per item (an estimate)."""
        return self.items * self.tokens_per_item


class Release(_Strict):
    year: int
    source: str


class ReleaseSection(_Strict):
    split_year: int
    families: dict[str, Release]
    models: dict[str, Release] = Field(default_factory=dict)

    def year(self, model: str, family: str | None) -> int | None:
        """The model's release year: its own entry, else its family's; None when neither is listed."""
        if model in self.models:
            return self.models[model].year
        entry = self.families.get(family or "")
        return entry.year if entry else None


class DesignPolicy(_Strict):
    """Typed view of catalog/quality_design.yaml."""

    as_of: dt.date
    design: DesignSection
    plan: PlanSection
    evaluation: EvaluationSection
    benchmarks: dict[str, BenchmarkEntry]
    release: ReleaseSection

    @model_validator(mode="after")
    def _default_known(self) -> DesignPolicy:
        if self.design.default_benchmark not in self.benchmarks:
            raise ValueError(f"design.default_benchmark: {self.design.default_benchmark} is not in benchmarks")
        return self

    def settings(self) -> DesignSettings:
        return DesignSettings(ridge=self.design.ridge, bins=self.design.bins, grid=self.design.grid)


@lru_cache(maxsize=1)
def design_policy() -> DesignPolicy:
    """The packaged design constants, validated once."""
    return load_table(DESIGN_FILE, DesignPolicy)


def benchmark_spec(name: str) -> BoundarySpec:
    """The data behind ``--benchmark name``; KeyError for an unknown name."""
    from advisor.estimate.quality import quality_policy

    entry = design_policy().benchmarks[name]
    if entry.boundary is not None:
        return quality_policy().spec(entry.boundary)
    assert entry.file is not None and entry.column is not None
    return BoundarySpec(name=name, label=entry.label or entry.column, file=entry.file, column=entry.column)


@lru_cache(maxsize=32)
def benchmark_boundary(name: str, quantile: float) -> Boundary:
    """The packaged boundary of benchmark ``name`` at ``quantile`` (the policy's cached fit when it has one)."""
    from advisor.estimate.quality import fitted_boundary, quality_policy
    from advisor.estimate.scaling import fit_boundary

    entry = design_policy().benchmarks[name]
    policy = quality_policy()
    if entry.boundary is not None and quantile in policy.prediction.quantiles:
        return fitted_boundary(entry.boundary, quantile)
    return fit_boundary(benchmark_spec(name), quantile, policy.compute_source(), policy.fit_settings())


def evaluation_cost(active_params: float, benchmark: str, gpu_tflops: float) -> float:
    """GPU-hours (an estimate, band in the policy) to evaluate a model of ``active_params`` on ``benchmark``."""
    policy = design_policy()
    entry = policy.benchmarks[benchmark]
    return evaluation_gpu_hours(active_params, entry.tokens, gpu_tflops, policy.evaluation.mfu)

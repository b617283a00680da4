"""The estimators' constants, read from catalog/estimator_constants.yaml (data, with sources)."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

import yaml
from pydantic import BaseModel, ConfigDict


class BackendConstants(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    reserve_mib: float


class PartialOffload(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    sync_penalty_ms: float
    cpu_bandwidth_gb_s_default: float


class ComputeBuffer(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    ubatch: int


class Batching(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    max_streams: int
    per_stream_share: float


class EstimatorConstants(BaseModel):
    """Typed view of estimator_constants.yaml."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    backends: dict[str, BackendConstants]
    partial_offload: PartialOffload
    compute_buffer: ComputeBuffer
    margin_mib: float
    default_host_ram_gib: float
    usable_fraction: dict[str, float]
    batching: Batching
    sources: list[str]
    as_of: str


@lru_cache(maxsize=1)
def estimator_constants() -> EstimatorConstants:
    """Load the packaged constants once."""
    text = resources.files("advisor_catalog").joinpath("estimator_constants.yaml").read_text("utf-8")
    data = yaml.safe_load(text)
    data["as_of"] = str(data["as_of"])
    return EstimatorConstants.model_validate(data)

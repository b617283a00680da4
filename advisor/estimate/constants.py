"""The estimators' constants: the schema of catalog/estimator_constants.yaml (data, with sources)."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

from pydantic import BaseModel, ConfigDict

from advisor.catalog.tables import load_table


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
    as_of: dt.date


@lru_cache(maxsize=1)
def estimator_constants() -> EstimatorConstants:
    """The packaged constants, validated once."""
    return load_table("estimator_constants.yaml", EstimatorConstants)

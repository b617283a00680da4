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


class SmallMemory(BaseModel):
    """A lower usable fraction for devices of a kind up to a memory size (Apple: macOS wires less of a small Mac)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    up_to_gib: float
    usable_fraction: float


class OsHeadroom(BaseModel):
    """System RAM the operating system and other programs keep: ``max(min_gib, fraction × RAM)``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    min_gib: float
    fraction: float

    def usable_gib(self, ram_gib: float) -> float:
        """RAM a model may use on a machine with ``ram_gib``."""
        return max(0.0, ram_gib - max(self.min_gib, self.fraction * ram_gib))


class EstimatorConstants(BaseModel):
    """Typed view of estimator_constants.yaml."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    backends: dict[str, BackendConstants]
    partial_offload: PartialOffload
    compute_buffer: ComputeBuffer
    margin_mib: float
    default_host_ram_gib: float
    usable_fraction: dict[str, float]
    usable_fraction_small: dict[str, SmallMemory] = {}
    os_headroom: OsHeadroom = OsHeadroom(min_gib=0.0, fraction=0.0)
    batching: Batching
    sources: list[str]
    as_of: dt.date


@lru_cache(maxsize=1)
def estimator_constants() -> EstimatorConstants:
    """The packaged constants, validated once."""
    return load_table("estimator_constants.yaml", EstimatorConstants)

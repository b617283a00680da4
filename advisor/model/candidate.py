"""A candidate: one way to get an LLM (an API, an open-weights model in one deployment variant,
or building one), described in the terms the checks need."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from advisor.catalog.records import ApiRecord, ArchitectureConfig, BenchmarkScore

CandidateKind = Literal["api", "open_source", "build"]


class Candidate(BaseModel):
    """One option to assess. Open-weights candidates carry one deployment variant each."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(description="catalog id: a Hugging Face repo id, a LiteLLM key, or build/...")
    kind: CandidateKind
    name: str
    provider: str | None = None
    # facts about the model (open weights, build targets, and hosted open models)
    repo_id: str | None = None
    params: int | None = None
    active_params: int | None = None
    architecture: ArchitectureConfig | None = None
    license: str | None = None
    context_length: int | None = None
    languages: list[str] = Field(default_factory=list)
    pretraining_tokens: float | None = None
    benchmarks: dict[str, BenchmarkScore] = Field(default_factory=dict)
    gated: bool = False
    base_model: str | None = None
    use_cases: list[str] = Field(default_factory=list)
    source: str | None = None
    # API facts
    api: ApiRecord | None = None
    # the deployment variant (open weights)
    quant: str | None = None
    hardware: str | None = Field(default=None, description="hardware catalog id of the accelerator")
    hardware_count: int | None = None
    host_ram_gib: float | None = Field(default=None, description="host RAM available for offload")
    engine: str | None = None
    extra: dict[str, object] = Field(default_factory=dict, description="plugin-specific facts")

    @property
    def key(self) -> str:
        """Unique key of the candidate *variant*: id, quant and hardware."""
        parts = [self.id]
        if self.quant:
            parts.append(self.quant)
        if self.hardware:
            parts.append(f"{self.hardware_count or 1}x{self.hardware}")
        return "@".join(parts[:1]) + ("@" + "/".join(parts[1:]) if len(parts) > 1 else "")

"""Planning defaults (catalog/planning.yaml): the variants `plan` and `fit` assess, what "cloud" rents,
what a from-scratch build targets and the GPU-server format of each quant level.

They are choices, not measurements, so they live as data beside the reasons for them; this module
only types them (the quant lists of `plan`, `fit` and the deployment plan are in one place).
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, PositiveInt

from advisor.catalog.tables import load_table

ServerQuantization = Literal["fp8", "awq"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PlanningQuants(_Strict):
    """The weight formats assessed by default, and how each maps to a GPU server's weights."""

    plan: tuple[str, ...] = Field(min_length=1)
    fit: tuple[str, ...] = Field(min_length=1)
    serve: tuple[str, ...] = Field(min_length=1)
    server_quantization: dict[str, ServerQuantization | None]


class CloudDefaults(_Strict):
    """The rented device types considered for "cloud" and the device counts an instance offers."""

    devices: tuple[str, ...] = Field(min_length=1)
    counts: tuple[PositiveInt, ...] = Field(min_length=1)


class ApiEndpoint(_Strict):
    """How to call one provider's chat API: the base URL, the key's environment variable, and whether
    the OpenAI client works against it (``openai_compatible``), with the documentation it was read from."""

    base_url: str = Field(pattern=r"^https://")
    key_env: str
    openai_compatible: bool = True
    model_prefix: str = ""
    note: str | None = None
    docs: str = Field(pattern=r"^https?://")


class PlanningDefaults(_Strict):
    """Typed view of catalog/planning.yaml."""

    as_of: dt.date
    quants: PlanningQuants
    cloud: CloudDefaults
    default_cpu_device: str
    build_target_params: dict[Literal["low", "medium", "high", "frontier"], PositiveInt]
    record_max_age_days: PositiveInt = Field(
        description="a plan warns when a record it leans on was last checked longer ago than this"
    )
    api_endpoints: dict[str, ApiEndpoint] = Field(default_factory=dict)

    def server_quantization(self, quant: str) -> ServerQuantization | None:
        """The vLLM/SGLang ``--quantization`` a GGUF quant level maps to (None: load the 16-bit weights)."""
        return self.quants.server_quantization.get(quant.upper())


@lru_cache(maxsize=1)
def planning_defaults() -> PlanningDefaults:
    """The packaged planning defaults, validated once."""
    return load_table("planning.yaml", PlanningDefaults)

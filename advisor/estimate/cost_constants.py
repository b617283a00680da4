"""The cost estimators' constants (catalog/cost_constants.yaml) and the answers that override them.

The answers file carries cost-specific answers under the cost plugin's namespace
(``plugins: {cost: {cache_hit_rate: 0.5, ...}}``, the Requirements contract's place for plugin
answers), so the core schema does not grow a key for every pricing detail. They are validated
here, with errors that name the field.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from functools import lru_cache
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from advisor.catalog.tables import load_table
from advisor.errors import InputError

FinetuneMethod = Literal["full", "lora", "qlora"]
FINETUNE_METHODS: tuple[FinetuneMethod, ...] = ("qlora", "lora", "full")


class CostConstants(BaseModel):
    """Typed view of cost_constants.yaml; every value is printed with the results that use it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    hours_per_month: float
    days_per_month: float
    peak_to_average: float
    max_utilisation: float
    horizon_months: float
    comparable_quality_margin: float
    rub_per_usd: float
    rub_per_usd_as_of: dt.date
    rub_per_usd_source: str
    amortisation_months: float
    spot_discount: float
    average_power_fraction: float
    pue: float
    usd_per_kwh: float
    grid_kg_co2_per_kwh: float
    mlops_hours_per_month: dict[str, float]
    desktop_hours_per_month: float
    cluster_hours_per_month: dict[str, float]
    node_devices: int
    engineer_usd_per_hour: float
    engineer_hours_per_month: float
    training_device: str
    training_cluster_gpus: int
    chinchilla_tokens_per_param: float
    training_mfu_low: float
    training_mfu_high: float
    training_overhead: float
    training_power_fraction: float
    data_usd_per_billion_tokens: float
    pretraining_team_min: int
    pretraining_months: float
    finetune_tokens: float
    finetune_mfu: float
    finetune_engineer_months: float
    finetune_flops_per_param_token: dict[str, float]
    finetune_bytes_per_param: dict[str, float]
    sources: list[str]
    as_of: dt.date

    @property
    def engineer_usd_per_month(self) -> float:
        """Loaded cost of one full-time engineer-month."""
        return self.engineer_usd_per_hour * self.engineer_hours_per_month


class CostAnswers(BaseModel):
    """Answers under ``plugins.cost``: traffic facts only the user knows, and local prices.

    Every field is optional; None means "use the stated default from cost_constants.yaml".
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    cache_hit_rate: float = Field(
        default=0.0, ge=0.0, le=1.0, description="share of input tokens a provider's prompt cache serves"
    )
    batch_share: float = Field(
        default=0.0, ge=0.0, le=1.0, description="share of requests that can wait for a batch API (up to 24 h)"
    )
    peak_to_average: float | None = Field(default=None, ge=1.0, description="peak over average request rate")
    gpu_pricing: Literal["on_demand", "spot"] = "on_demand"
    capex_usd_per_device: float | None = Field(default=None, ge=0.0, description="purchase price of one accelerator")
    usd_per_kwh: float | None = Field(default=None, ge=0.0)
    pue: float | None = Field(default=None, ge=1.0)
    grid_kg_co2_per_kwh: float | None = Field(default=None, ge=0.0)
    training_tokens: float | None = Field(default=None, gt=0.0, description="pretraining token budget D")
    training_gpus: int | None = Field(default=None, ge=1, description="GPUs in the training cluster")
    finetune_tokens: float | None = Field(default=None, gt=0.0)
    horizon_months: float | None = Field(default=None, gt=0.0)
    rub_per_usd: float | None = Field(default=None, gt=0.0, description="roubles per US dollar for rouble prices")


@lru_cache(maxsize=1)
def cost_constants() -> CostConstants:
    """The packaged cost constants, validated once."""
    return load_table("cost_constants.yaml", CostConstants)


def cost_answers(raw: Mapping[str, Any] | None, where: str = "answers") -> CostAnswers:
    """Validate ``plugins.cost``; a bad value is an InputError naming ``plugins.cost.<field>``."""
    if raw is None:
        return CostAnswers()
    if not isinstance(raw, Mapping):
        raise InputError(f"{where}: plugins.cost: expected a mapping, got {type(raw).__name__}")
    try:
        return CostAnswers.model_validate(dict(raw))
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"])
        if first["type"] == "extra_forbidden":
            known = ", ".join(CostAnswers.model_fields)
            raise InputError(f"{where}: plugins.cost.{field}: unknown key (known: {known})") from None
        raise InputError(f"{where}: plugins.cost.{field}: {first['msg']}") from None


@lru_cache(maxsize=64)
def _cached_answers(key: tuple[tuple[str, Any], ...]) -> CostAnswers:
    return cost_answers(dict(key))


def answers_for(plugins: Mapping[str, Mapping[str, Any]]) -> CostAnswers:
    """The cost answers of one Requirements' ``plugins`` mapping (validated once per distinct value)."""
    raw = plugins.get("cost")
    if raw is None:
        return CostAnswers()
    if not isinstance(raw, Mapping):
        return cost_answers(raw)
    try:
        return _cached_answers(tuple(sorted(raw.items())))
    except TypeError:
        return cost_answers(raw)


class CostSettings(BaseModel):
    """The constants with the answers' overrides applied: what the estimators actually use."""

    model_config = ConfigDict(frozen=True)

    constants: CostConstants
    answers: CostAnswers

    @property
    def peak_to_average(self) -> float:
        return self.answers.peak_to_average or self.constants.peak_to_average

    @property
    def pue(self) -> float:
        return self.answers.pue or self.constants.pue

    @property
    def usd_per_kwh(self) -> float:
        return self.answers.usd_per_kwh if self.answers.usd_per_kwh is not None else self.constants.usd_per_kwh

    @property
    def grid_kg_co2_per_kwh(self) -> float:
        grid = self.answers.grid_kg_co2_per_kwh
        return grid if grid is not None else self.constants.grid_kg_co2_per_kwh

    @property
    def horizon_months(self) -> float:
        return self.answers.horizon_months or self.constants.horizon_months

    @property
    def rub_per_usd(self) -> float:
        return self.answers.rub_per_usd or self.constants.rub_per_usd

    @property
    def training_gpus(self) -> int:
        return self.answers.training_gpus or self.constants.training_cluster_gpus

    @property
    def finetune_tokens(self) -> float:
        return self.answers.finetune_tokens or self.constants.finetune_tokens

    @property
    def seconds_per_month(self) -> float:
        return self.constants.days_per_month * 86_400.0

    def origin(self, name: str) -> str:
        """``answers`` when the answers file set ``name``, else ``default``."""
        return "answers" if getattr(self.answers, name, None) not in (None, 0.0) else "default"

    def assumptions(self) -> list[str]:
        """Every constant and answer the cost estimates rest on, one printable line each."""
        c, a = self.constants, self.answers
        hours = ", ".join(f"{level} {h:g} h" for level, h in c.mlops_hours_per_month.items())
        cluster = ", ".join(f"{level} {h:g} h" for level, h in c.cluster_hours_per_month.items())
        return [
            f"month = {c.days_per_month} days = {c.hours_per_month:g} h",
            f"peak request rate = {self.peak_to_average:g} × the daily average ({self.origin('peak_to_average')})",
            f"replicas sized to at most {c.max_utilisation:.0%} utilisation at the peak",
            f"API: cached-input share {a.cache_hit_rate:.0%}, batch share {a.batch_share:.0%} (answers, "
            "plugins.cost); discounts only where the catalog lists cached/batch prices; cache writes not modelled",
            f"cloud GPUs billed {a.gpu_pricing.replace('_', '-')} 24×7 for the replicas the peak needs; spot = "
            f"catalog spot price or on-demand × (1 − {c.spot_discount:.0%}) when none is listed",
            f"own hardware amortised over {c.amortisation_months:g} months when its price is known "
            "(catalog price_usd or plugins.cost.capex_usd_per_device)",
            f"power = TDP × {c.average_power_fraction:.0%} average load × PUE {self.pue:g} × ${self.usd_per_kwh:g}/kWh",
            f"CO2 = kWh × {self.grid_kg_co2_per_kwh:g} kg/kWh ({self.origin('grid_kg_co2_per_kwh')})",
            f"engineer time (reported beside the cash, never in the cash budget): one server by MLOps level "
            f"{hours}/month; a cluster (more than {c.node_devices} devices) {cluster}; one user on own machine "
            f"{c.desktop_hours_per_month:g} h; at ${c.engineer_usd_per_hour:g}/h",
            f"pretraining: 6·N·D FLOPs × (1 + {c.training_overhead:g} for ablations/restarts), D = "
            f"{c.chinchilla_tokens_per_param:g}·N unless plugins.cost.training_tokens, MFU "
            f"{c.training_mfu_low:.0%}–{c.training_mfu_high:.0%} on {c.training_device}, {self.training_gpus:,} GPUs",
            f"pretraining team max(ML engineers, {c.pretraining_team_min}) × {c.pretraining_months:g} months × "
            f"${c.engineer_usd_per_month:,.0f}/month; data ${c.data_usd_per_billion_tokens:g} per 1B tokens",
            f"fine-tuning: {self.finetune_tokens:.3g} tokens, ~4·N·D (LoRA/QLoRA) or 6·N·D (full) at "
            f"{c.finetune_mfu:.0%} MFU + {c.finetune_engineer_months:g} engineer-month",
            f"comparable quality: an API within {c.comparable_quality_margin:g} of the self-hosted model's score",
            f"constants: catalog/cost_constants.yaml (as of {c.as_of})",
        ]


def cost_settings(plugins: Mapping[str, Mapping[str, Any]] | None = None) -> CostSettings:
    """Constants plus the validated ``plugins.cost`` answers of one run."""
    return CostSettings(constants=cost_constants(), answers=answers_for(plugins or {}))

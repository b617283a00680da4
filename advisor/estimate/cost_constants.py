"""The cost estimators' constants and assumptions, read from catalog/cost_constants.yaml."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

import yaml
from pydantic import BaseModel, ConfigDict


class CostConstants(BaseModel):
    """Typed view of cost_constants.yaml; every value is printed with the results that use it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    hours_per_month: float
    days_per_month: float
    amortisation_months: float
    average_power_fraction: float
    pue: float
    usd_per_kwh: float
    grid_kg_co2_per_kwh: float
    mlops_hours_per_month: dict[str, float]
    desktop_hours_per_month: float
    engineer_usd_per_hour: float
    training_mfu: float
    chinchilla_tokens_per_param: float
    sources: list[str]
    as_of: str


@lru_cache(maxsize=1)
def cost_constants() -> CostConstants:
    """Load the packaged cost constants once."""
    text = resources.files("advisor_catalog").joinpath("cost_constants.yaml").read_text("utf-8")
    data = yaml.safe_load(text)
    data["as_of"] = str(data["as_of"])
    return CostConstants.model_validate(data)

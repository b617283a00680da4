"""Money: API bills from traffic, self-hosting from GPU-hours or capex plus power, training from FLOPs.

Formulas follow shared/research/cost.md §5; every constant comes from
catalog/estimator_constants.yaml (``cost:``) and is printed with the result.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from advisor.catalog_records import ApiRecord
from advisor.estimate.cost_constants import CostConstants


@dataclass(frozen=True)
class MonthlyTokens:
    """Tokens per month implied by the traffic answers."""

    input_tokens: float
    output_tokens: float

    @property
    def total(self) -> float:
        return self.input_tokens + self.output_tokens


def monthly_tokens(
    requests_per_day: float, input_tokens: float, output_tokens: float, days_per_month: float
) -> MonthlyTokens:
    """Requests/day × tokens/request × days/month, for input and output separately."""
    requests = requests_per_day * days_per_month
    return MonthlyTokens(requests * input_tokens, requests * output_tokens)


def api_monthly_cost_usd(api: ApiRecord, tokens: MonthlyTokens, input_tokens_per_request: float) -> float:
    """The API bill: input and output tokens at list prices, with the long-context tier when prompts exceed it."""
    price_in, price_out = api.input_usd_per_1m, api.output_usd_per_1m
    for tier in sorted(api.long_context_tiers, key=lambda t: t.above_input_tokens):
        if input_tokens_per_request > tier.above_input_tokens:
            price_in, price_out = tier.input_usd_per_1m, tier.output_usd_per_1m
    return (tokens.input_tokens * price_in + tokens.output_tokens * price_out) / 1e6


def replicas_needed(peak_concurrency: int, streams_per_replica: int) -> int:
    """Replicas to serve the peak number of simultaneous streams."""
    return max(1, math.ceil(peak_concurrency / max(streams_per_replica, 1)))


def cloud_monthly_cost_usd(usd_per_device_hour: float, devices: int, replicas: int, hours_per_month: float) -> float:
    """Rented accelerators running all month."""
    return usd_per_device_hour * devices * replicas * hours_per_month


def energy_kwh_per_month(tdp_w: float, devices: int, power_fraction: float, pue: float, hours: float) -> float:
    """``devices × TDP × average power fraction × hours × PUE``."""
    return devices * tdp_w / 1000.0 * power_fraction * hours * pue


def on_prem_monthly_cost_usd(purchase_usd: float, devices: int, energy_kwh: float, constants: CostConstants) -> float:
    """Hardware bought up front and written off over the amortisation period, plus electricity."""
    return purchase_usd * devices / constants.amortisation_months + energy_kwh * constants.usd_per_kwh


def operator_monthly_cost_usd(mlops: str, constants: CostConstants, *, desktop: bool = False) -> float:
    """Engineer time that running one's own inference costs: by MLOps maturity for a served
    deployment, a small fixed amount for one user running a model on their own machine."""
    hours = constants.desktop_hours_per_month if desktop else constants.mlops_hours_per_month[mlops]
    return hours * constants.engineer_usd_per_hour


def training_flops(params: float, tokens: float) -> float:
    """Pretraining compute, ``6 · N · D`` FLOPs (Kaplan et al. 2020; Hoffmann et al. 2022)."""
    return 6.0 * params * tokens


def training_device_hours(flops: float, device_tflops: float, mfu: float) -> float:
    """Accelerator-hours to spend ``flops`` at a model FLOPs utilisation ``mfu``."""
    return flops / (device_tflops * 1e12 * mfu) / 3600.0

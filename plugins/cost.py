"""COST001: what each candidate costs per month (and up front), against the budget.

API: list prices × monthly tokens. Self-hosting: rented GPU-hours (cloud) or power (own hardware),
plus operator time by MLOps level. Build: pretraining compute at 6·N·D on rented H100s.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from advisor import AdvisorContext, Candidate, Check, Finding, Requirements, hookimpl
from advisor.estimate.constants import estimator_constants
from advisor.estimate.cost import (
    api_monthly_cost_usd,
    cloud_monthly_cost_usd,
    energy_kwh_per_month,
    monthly_tokens,
    operator_monthly_cost_usd,
    replicas_needed,
    training_device_hours,
    training_flops,
)
from advisor.estimate.cost_constants import cost_constants
from advisor.sizing import size_candidate

TRAINING_DEVICE = "h100-sxm"


def _budget_finding(
    monthly: float,
    requirements: Requirements,
    detail: str,
    metrics: dict[str, float | int | str | None],
    evidence: dict[str, object],
) -> Finding:
    limit = requirements.budget.monthly_usd
    if limit is not None and monthly > limit:
        return Finding(
            severity="fail",
            message=f"about ${monthly:,.0f}/month ({detail}) exceeds the ${limit:,.0f} monthly budget (estimate)",
            metrics=metrics,
            evidence=evidence,
            remediation="a cheaper model or quant, less traffic, or a larger budget",
        )
    within = f" within the ${limit:,.0f} budget" if limit is not None else ""
    return Finding(
        severity="pass",
        message=f"about ${monthly:,.0f}/month{within} ({detail}; estimate)",
        metrics=metrics,
        evidence=evidence,
    )


def monthly_cost(candidate: Candidate, requirements: Requirements, context: AdvisorContext) -> Iterator[Finding]:
    constants = cost_constants()
    traffic = requirements.traffic
    tokens = monthly_tokens(
        traffic.requests_per_day, traffic.input_tokens, traffic.output_tokens, constants.days_per_month
    )
    evidence: dict[str, object] = {
        "monthly_input_tokens": tokens.input_tokens,
        "monthly_output_tokens": tokens.output_tokens,
    }
    if candidate.kind == "api" and candidate.api is not None:
        cost = api_monthly_cost_usd(candidate.api, tokens, traffic.input_tokens)
        evidence["prices_per_1m"] = [candidate.api.input_usd_per_1m, candidate.api.output_usd_per_1m]
        yield _budget_finding(
            cost,
            requirements,
            f"{tokens.total / 1e6:,.1f}M tokens at list prices",
            {"monthly_cost_usd": round(cost, 2), "upfront_cost_usd": 0.0},
            evidence,
        )
        return
    if candidate.kind == "build":
        yield from _build_cost(candidate, requirements, context)
        return
    sizing = size_candidate(candidate, context.catalog, requirements.context_tokens)
    device = sizing.device if sizing else None
    if sizing is None or (device is None and candidate.hardware is None):
        yield Finding(severity="info", message="self-hosting cost unknown: the variant could not be sized")
        return
    batching = estimator_constants().batching
    replicas = replicas_needed(traffic.peak_concurrency, batching.max_streams)
    count = candidate.hardware_count or 1
    desktop = bool(requirements.on_hand_hardware) and traffic.peak_concurrency == 1
    operator = operator_monthly_cost_usd(requirements.team.mlops, constants, desktop=desktop)
    evidence.update(
        {"replicas": replicas, "streams_per_replica": batching.max_streams, "operator_usd": round(operator, 2)}
    )
    if requirements.on_hand_hardware:
        tdp = device.tdp_w if device and device.tdp_w else 0.0
        kwh = energy_kwh_per_month(
            tdp, count * replicas, constants.average_power_fraction, constants.pue, constants.hours_per_month
        )
        cost = kwh * constants.usd_per_kwh + operator
        evidence.update({"energy_kwh": round(kwh, 1), "co2_kg": round(kwh * constants.grid_kg_co2_per_kwh, 1)})
        detail = f"own hardware: power {kwh:,.0f} kWh + operator time; hardware already owned"
    elif device is not None and device.rental is not None:
        rent = cloud_monthly_cost_usd(device.rental.on_demand_usd_per_hour, count, replicas, constants.hours_per_month)
        cost = rent + operator
        evidence["rental"] = device.rental.model_dump(mode="json")
        detail = (
            f"{replicas}× {count}× {device.id} at ${device.rental.on_demand_usd_per_hour:g}/h "
            f"({device.rental.provider}, {device.rental.as_of}) + operator time"
        )
    else:
        yield Finding(severity="info", message=f"no rental price in the catalog for {candidate.hardware}")
        return
    metrics: dict[str, float | int | str | None] = {"monthly_cost_usd": round(cost, 2), "upfront_cost_usd": 0.0}
    if tokens.total > 0:
        metrics["usd_per_1m_tokens"] = round(cost / (tokens.total / 1e6), 4)
    yield _budget_finding(cost, requirements, detail, metrics, evidence)


def _build_cost(candidate: Candidate, requirements: Requirements, context: AdvisorContext) -> Iterator[Finding]:
    constants = cost_constants()
    device = context.catalog.find_hardware(TRAINING_DEVICE)
    if candidate.params is None or device is None or device.rental is None or not device.bf16_tflops:
        yield Finding(severity="info", message="build cost unknown: no training device price in the catalog")
        return
    tokens = constants.chinchilla_tokens_per_param * candidate.params
    flops = training_flops(candidate.params, tokens)
    hours = training_device_hours(flops, device.bf16_tflops, constants.training_mfu)
    upfront = hours * device.rental.on_demand_usd_per_hour
    evidence = {
        "training_tokens": tokens,
        "training_flops": flops,
        "device_hours": round(hours),
        "mfu": constants.training_mfu,
        "device": device.id,
    }
    metrics: dict[str, float | int | str | None] = {"upfront_cost_usd": round(upfront, 0)}
    message = (
        f"pretraining {candidate.params / 1e9:.0f}B params on {tokens / 1e12:.2f}T tokens "
        f"(Chinchilla 20 tokens/param) ≈ {flops:.2e} FLOPs ≈ {hours:,.0f} {device.id}-hours ≈ "
        f"${upfront:,.0f} compute alone at {constants.training_mfu:.0%} MFU (estimate; data and team extra)"
    )
    budget = max(requirements.budget.upfront_usd, requirements.strategy.long_term_budget_usd)
    if upfront > budget:
        yield Finding(
            severity="fail",
            message=message + f"; exceeds the ${budget:,.0f} upfront/long-term budget",
            evidence=evidence,
            metrics=metrics,
            remediation="fine-tune an open model instead, or raise the long-term budget",
        )
    else:
        yield Finding(severity="pass", message=message, evidence=evidence, metrics=metrics)


@hookimpl
def advisor_register_checks(register: Callable[[Check], None]) -> None:
    register(
        Check(id="COST001", category="cost", summary="Monthly (and upfront) cost fits the budget", run=monthly_cost)
    )

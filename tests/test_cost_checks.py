"""COST001 / COST002 on catalog candidates: each figure recomposed by hand from the catalog price,
the constants and the check's own intermediate metrics."""

from __future__ import annotations

import math
import re
from typing import Any

import pytest
from advisor_plugins import cost as cost_plugin

from advisor.engine.variants import api_candidate, open_candidate
from advisor.estimate.cost_constants import cost_constants
from advisor.model.candidate import Candidate
from advisor.model.checks import Finding
from advisor.model.context import AdvisorContext
from advisor.model.requirements import Requirements

SMALL_TEAM = {
    "traffic": {"requests_per_day": 3000, "input_tokens": 800, "output_tokens": 300, "peak_concurrency": 8},
    "team": {"ml_engineers": 0, "mlops": "none"},
    "budget": {"monthly_usd": 300},
}


def _requirements(**data: Any) -> Requirements:
    return Requirements.model_validate(data)


def _run(candidate: Candidate, requirements: Requirements, context: AdvisorContext) -> list[Finding]:
    return list(cost_plugin.monthly_cost(candidate, requirements, context))


def _metrics(findings: list[Finding]) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for finding in findings:
        merged.update(finding.metrics)
    return merged


def _open(
    context: AdvisorContext, model: str, quant: str, hardware: str, count: int, ram: float | None = None
) -> Candidate:
    record = context.catalog.models[model]
    return open_candidate(record, quant=quant, hardware=hardware, hardware_count=count, host_ram_gib=ram)


def test_api_bill_with_cache_discount(context: AdvisorContext) -> None:
    api = api_candidate(context.catalog.apis["gpt-4o-mini"], context.catalog)  # $0.15 in, $0.075 cached, $0.60 out
    inp, out = 3000 * 800 * 30.44, 3000 * 300 * 30.44
    listed = _metrics(_run(api, _requirements(**SMALL_TEAM), context))
    assert listed["monthly_cost_usd"] == pytest.approx((inp * 0.15 + out * 0.60) / 1e6, abs=0.01)
    cached = _metrics(_run(api, _requirements(**SMALL_TEAM, plugins={"cost": {"cache_hit_rate": 0.5}}), context))
    assert cached["monthly_cost_usd"] == pytest.approx((inp / 2 * 0.15 + inp / 2 * 0.075 + out * 0.60) / 1e6, abs=0.01)
    assert cached["usd_per_1m_tokens"] == pytest.approx(cached["monthly_cost_usd"] / ((inp + out) / 1e6), rel=1e-3)


def test_rate_limit_warning(context: AdvisorContext) -> None:
    sonnet = api_candidate(context.catalog.apis["claude-sonnet-4-6"], context.catalog)  # tier 1: 50 RPM, 30k ITPM
    calm = list(cost_plugin.rate_limits(sonnet, _requirements(**SMALL_TEAM)))
    assert [f.severity for f in calm] == ["pass"]
    assert "6.2 requests/min" in calm[0].message  # 3000 / 1440 × 3 = 6.25
    busy = _requirements(traffic={"requests_per_day": 200_000, "input_tokens": 1000, "output_tokens": 500})
    warned = list(cost_plugin.rate_limits(sonnet, busy))
    assert [f.severity for f in warned] == ["warn"]
    assert "417 requests/min > 50" in warned[0].message  # 200,000 / 1440 × 3
    batched = _requirements(**busy.model_dump(include={"traffic"}), plugins={"cost": {"batch_share": 0.9}})
    assert [f.severity for f in cost_plugin.rate_limits(sonnet, batched)] == ["warn"]  # no batch price: no relief
    deepseek = api_candidate(context.catalog.apis["deepseek/deepseek-v4-flash"], context.catalog)
    assert list(cost_plugin.rate_limits(deepseek, busy)) == []  # no published per-minute limit


def test_rented_gpus_recompose(context: AdvisorContext) -> None:
    candidate = _open(context, "Qwen/Qwen2.5-7B-Instruct", "Q4_K_M", "l4", 1)
    requirements = _requirements(**SMALL_TEAM)
    findings = _run(candidate, requirements, context)
    m = _metrics(findings)
    c = cost_constants()
    price = context.catalog.find_hardware("l4").rental.on_demand_usd_per_hour  # type: ignore[union-attr]
    assert "not in the cash budget" in findings[0].message
    # engineer time (team.engineer_time defaults to extra) is the fixed part of the cost of ownership,
    # never of the cash: the cash is the rent
    operator = c.mlops_hours_per_month["none"] * c.engineer_usd_per_hour
    assert m["selfhost_fixed_usd"] == pytest.approx(operator)
    assert m["engineer_hours_per_month"] == c.mlops_hours_per_month["none"]
    assert m["engineer_usd_per_month"] == pytest.approx(operator)
    assert m["deployment_scale"] == "server" and m["engineer_time"] == "extra"
    assert m["selfhost_replica_usd"] == pytest.approx(price * c.hours_per_month, abs=0.01)
    assert m["monthly_cost_usd"] == pytest.approx(m["replicas"] * price * c.hours_per_month, abs=0.01)
    assert m["tco_monthly_usd"] == pytest.approx(operator + m["monthly_cost_usd"], abs=0.01)
    assert m["replicas"] == 1  # 8 streams fit one replica's 16; 6 requests/min is far below its rate
    spot = price * (1 - c.spot_discount) * c.hours_per_month
    assert m["spot_monthly_cost_usd"] == pytest.approx(spot, abs=0.01)
    tokens = 3000 * 1100 * 30.44
    assert m["usd_per_1m_tokens"] == pytest.approx(m["monthly_cost_usd"] / tokens * 1e6, rel=1e-3)
    assert findings[0].severity == "fail" and "exceeds the $300 monthly budget" in findings[0].message
    paid = _requirements(**{**SMALL_TEAM, "team": {"mlops": "none", "engineer_time": "already_paid"}})
    m_paid = _metrics(_run(candidate, paid, context))
    assert m_paid["monthly_cost_usd"] == pytest.approx(m["monthly_cost_usd"])  # the cash does not change
    assert m_paid["tco_monthly_usd"] == pytest.approx(m["monthly_cost_usd"])  # salaried hours add no cost
    energy = next(f for f in findings if f.message.startswith("energy"))
    kwh = 72 / 1000 * c.average_power_fraction * c.hours_per_month * c.pue  # L4 TDP 72 W
    assert energy.metrics["energy_kwh_per_month"] == pytest.approx(kwh, abs=0.1)
    assert energy.metrics["co2_kg_per_month"] == pytest.approx(kwh * c.grid_kg_co2_per_kwh, abs=0.1)


def test_peak_load_adds_replicas(context: AdvisorContext) -> None:
    candidate = _open(context, "Qwen/Qwen2.5-7B-Instruct", "Q4_K_M", "l4", 1)
    busy = {
        **SMALL_TEAM,
        "traffic": {**SMALL_TEAM["traffic"], "requests_per_day": 300_000, "peak_concurrency": 200},
        "latency": {"min_tokens_per_s": 20},
    }
    m = _metrics(_run(candidate, _requirements(**busy), context))
    # 200 streams on vLLM (advisor.engine.deployment_sizing): a replica holds the streams that keep 20 tokens/s
    # each; the stated peak concurrency is the peak (a closed loop), so the rate bound is the day's average
    # (208 requests/min) at <= 70 % utilisation, not 3x it on top of the stated peak
    assert m["streams_per_replica"] >= 16
    by_rate = math.ceil(300_000 / 1440 / m["replica_requests_per_min"])
    by_streams = math.ceil(200 / m["streams_per_replica"])
    assert m["replicas"] == max(by_rate, by_streams) > 1


def test_own_gpus_split_into_replicas_with_capex_from_the_answers(context: AdvisorContext) -> None:
    candidate = _open(context, "Qwen/Qwen2.5-14B-Instruct", "Q4_K_M", "a100-80gb", 2, ram=512)
    requirements = _requirements(
        traffic={"requests_per_day": 20_000, "input_tokens": 3000, "output_tokens": 400, "peak_concurrency": 32},
        hardware=[{"gpu": "a100-80gb", "count": 2}, {"ram_gb": 512}],
        team={"ml_engineers": 4, "mlops": "strong"},
        plugins={"cost": {"capex_usd_per_device": 10_000, "usd_per_kwh": 0.10}},
    )
    m = _metrics(_run(candidate, requirements, context))
    c = cost_constants()
    assert m["devices_per_replica"] == 1 and m["replica_groups_owned"] == 2  # a 14B model fits one 80 GB GPU
    power = 400 / 1000 * c.average_power_fraction * c.hours_per_month * c.pue * 0.10
    amortised = 10_000 / c.amortisation_months
    # the two owned GPUs are sunk: power only; devices bought for the peak add their amortised price
    assert m["selfhost_owned_replica_usd"] == pytest.approx(power, abs=0.01)
    assert m["selfhost_replica_usd"] == pytest.approx(power + amortised, abs=0.01)
    held = min(m["replicas"], 2)
    bought = max(0, m["replicas"] - 2)
    assert m["monthly_cost_usd"] == pytest.approx(held * power + bought * (power + amortised), abs=0.05)
    assert m["upfront_cost_usd"] == pytest.approx(bought * 10_000)


def test_one_user_on_own_laptop(context: AdvisorContext) -> None:
    candidate = _open(context, "Qwen/Qwen2.5-7B-Instruct", "Q4_K_M", "m3-max", 1)
    requirements = _requirements(
        traffic={"requests_per_day": 50, "input_tokens": 2000, "output_tokens": 300, "peak_concurrency": 1},
        hardware=[{"gpu": "m3-max"}],
    )
    findings = _run(candidate, requirements, context)
    m = _metrics(findings)
    c = cost_constants()
    # one user on their own laptop: no cash at all (power not in the catalog for Apple); the couple of
    # hours a month of upkeep are reported as staff time, never billed
    assert m["monthly_cost_usd"] == 0
    assert m["engineer_hours_per_month"] == c.desktop_hours_per_month and m["deployment_scale"] == "desktop"
    assert m["replicas"] == 1 and m["batching_gain"] == 1
    assert "the machine is yours anyway" in findings[0].message


def test_pretraining_and_finetuning(context: AdvisorContext) -> None:
    build = Candidate(
        id="build/pretrain-70b", kind="build", name="Pretrain 70B", params=70_000_000_000, active_params=70_000_000_000
    )
    requirements = _requirements(
        team={"ml_engineers": 40, "mlops": "strong"},
        budget={"upfront_usd": 20_000_000},
        strategy={"tech_leadership_ambition": True, "long_term_budget_usd": 1e8, "unmet_by_existing": True},
    )
    findings = _run(build, requirements, context)
    m = _metrics(findings)
    c = cost_constants()
    h100 = context.catalog.find_hardware("h100-sxm")
    assert h100 is not None and h100.rental is not None and h100.bf16_tflops
    flops = 6 * 70e9 * 20 * 70e9 * (1 + c.training_overhead)
    hours_high = flops / (h100.bf16_tflops * 1e12 * c.training_mfu_low * 3600)
    team = 40 * c.engineer_usd_per_month * c.pretraining_months
    data = 1.4e12 / 1e9 * c.data_usd_per_billion_tokens
    assert m["training_gpu_hours_high"] == pytest.approx(hours_high, abs=1)
    assert m["upfront_cost_usd"] == pytest.approx(hours_high * h100.rental.on_demand_usd_per_hour + team + data, abs=1)
    assert m["training_days_low"] == pytest.approx(m["training_gpu_hours_low"] / c.training_cluster_gpus / 24, abs=0.1)
    assert m["finetune_method"] == "qlora"
    assert m["finetune_usd"] < m["upfront_cost_usd"] / 100
    kwh = hours_high * h100.tdp_w / 1000 * c.training_power_fraction * c.pue  # type: ignore[operator]
    assert m["training_kwh"] == pytest.approx(kwh, rel=1e-3)
    assert findings[0].severity == "pass"
    poor = _requirements(strategy={"long_term_budget_usd": 1e6})
    assert _run(build, poor, context)[0].severity == "fail"
    tokens = _metrics(_run(build, _requirements(plugins={"cost": {"training_tokens": 15e12}}), context))
    assert tokens["training_gpu_hours_high"] == pytest.approx(hours_high * 15e12 / 1.4e12, abs=2)


def test_finetune_candidate(context: AdvisorContext) -> None:
    """A build candidate carrying ``extra.method`` (the fine-tune road proposed for variants.py)."""
    candidate = Candidate(
        id="build/finetune-qwen2.5-72b",
        kind="build",
        name="QLoRA fine-tune",
        params=72_700_000_000,
        base_model="Qwen/Qwen2.5-72B-Instruct",
        extra={"method": "qlora"},
    )
    findings = _run(candidate, _requirements(budget={"upfront_usd": 50_000}), context)
    c = cost_constants()
    assert findings[0].severity == "pass"
    assert findings[0].metrics["upfront_cost_usd"] > c.finetune_engineer_months * c.engineer_usd_per_month
    assert "qlora fine-tune of Qwen/Qwen2.5-72B-Instruct" in findings[0].message


def test_own_gpus_without_a_price_rent_the_overflow(context: AdvisorContext) -> None:
    """Power is all the owned pair costs; replicas beyond it are rented at the catalog price."""
    candidate = _open(context, "Qwen/Qwen2.5-14B-Instruct", "Q4_K_M", "a100-80gb", 2, ram=512)
    requirements = _requirements(
        traffic={"requests_per_day": 20_000, "input_tokens": 3000, "output_tokens": 400, "peak_concurrency": 256},
        latency={"min_tokens_per_s": 40},
        hardware=[{"gpu": "a100-80gb", "count": 2}, {"ram_gb": 512}],
        team={"ml_engineers": 4, "mlops": "strong"},
    )
    findings = _run(candidate, requirements, context)
    m = _metrics(findings)
    c = cost_constants()
    a100 = context.catalog.find_hardware("a100-80gb")
    assert a100 is not None and a100.rental is not None
    power = 400 / 1000 * c.average_power_fraction * c.hours_per_month * c.pue * c.usd_per_kwh
    rent = a100.rental.on_demand_usd_per_hour * c.hours_per_month
    replicas, devices = m["replicas"], m["devices_per_replica"]
    owned = m["selfhost_owned_replicas"]
    assert replicas >= math.ceil(256 / m["streams_per_replica"]) and replicas > owned
    assert owned * devices == 2
    assert m["selfhost_owned_replica_usd"] == pytest.approx(devices * power, abs=0.01)
    assert m["selfhost_replica_usd"] == pytest.approx(devices * rent, abs=0.01)
    assert m["monthly_cost_usd"] == pytest.approx(
        owned * devices * power + (replicas - owned) * devices * rent, abs=0.05
    )
    assert any(f"rent the other {(replicas - owned) * devices} a100-80gb" in f.message for f in findings)
    # an owned device never costs more than renting the same device
    assert m["selfhost_owned_replica_usd"] <= m["selfhost_replica_usd"]


def test_on_premises_never_rents_the_overflow(context: AdvisorContext) -> None:
    """On-prem: the peak beyond the owned GPUs is a capacity shortfall (queueing, what to buy), never rented."""
    candidate = _open(context, "Qwen/Qwen2.5-14B-Instruct", "Q4_K_M", "a100-80gb", 2, ram=512)
    requirements = _requirements(
        traffic={"requests_per_day": 20_000, "input_tokens": 3000, "output_tokens": 400, "peak_concurrency": 256},
        latency={"min_tokens_per_s": 40},
        privacy={"on_prem_required": True},
        hardware=[{"gpu": "a100-80gb", "count": 2}, {"ram_gb": 512}],
        team={"ml_engineers": 4, "mlops": "strong"},
    )
    findings = _run(candidate, requirements, context)
    text = " ".join(f.message + " " + (f.remediation or "") for f in findings)
    assert not re.search(r"\brent", text)
    shortfall = next(f for f in findings if f.message.startswith("capacity shortfall"))
    assert shortfall.severity == "warn" and "queue" in shortfall.message and "buy" in shortfall.message
    c = cost_constants()
    power = 400 / 1000 * c.average_power_fraction * c.hours_per_month * c.pue * c.usd_per_kwh
    assert _metrics(findings)["monthly_cost_usd"] == pytest.approx(2 * power, abs=0.05)


def test_the_power_of_owned_hardware_over_a_zero_budget_warns_but_does_not_reject(context: AdvisorContext) -> None:
    """A developer with one RTX 4090 and no budget (monthly 0) asks for a private coding helper. The only new
    cash is the card's electricity (~$30/month): an ML lead would run Qwen3-Coder-30B-A3B on it, not reject
    every model for its power bill. So power alone over the budget is a warning naming the bill; the plan
    (tests below, `advisor plan`) still offers the models that fit."""
    candidate = _open(context, "Qwen/Qwen3-Coder-30B-A3B-Instruct", "Q4_K_M", "rtx-4090", 1, ram=64)
    requirements = _requirements(
        traffic={"requests_per_day": 500, "input_tokens": 4000, "output_tokens": 500, "peak_concurrency": 1},
        hardware=[{"gpu": "rtx-4090", "count": 1}, {"ram_gb": 64}],
        budget={"monthly_usd": 0},
        privacy={"on_prem_required": True},
    )
    findings = [f for f in _run(candidate, requirements, context) if f.severity in ("warn", "fail")]
    budget = [f for f in findings if "budget" in f.message]
    assert [f.severity for f in budget] == ["warn"], budget
    assert "electricity" in budget[0].message and "$0" in budget[0].message
    assert _metrics(budget)["monthly_cost_usd"] > 0  # the bill is still counted and shown


def test_buying_devices_over_a_zero_budget_still_fails(context: AdvisorContext) -> None:
    """Power is the only cost that may pass a zero budget with a warning: a peak that needs devices bought
    beyond the ones owned is new spending, and exceeding the budget with it fails as before."""
    candidate = _open(context, "Qwen/Qwen2.5-14B-Instruct", "Q4_K_M", "a100-80gb", 1, ram=512)
    requirements = _requirements(
        traffic={"requests_per_day": 200_000, "input_tokens": 3000, "output_tokens": 400, "peak_concurrency": 256},
        hardware=[{"gpu": "a100-80gb", "count": 1}, {"ram_gb": 512}],
        budget={"monthly_usd": 0},
        plugins={"cost": {"capex_usd_per_device": 10_000}},
    )
    findings = _run(candidate, requirements, context)
    assert any(f.severity == "fail" and "exceeds" in f.message for f in findings), [f.message for f in findings]

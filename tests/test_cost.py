"""Cost maths (advisor.estimate.cost) on hand-computed cases, and COST001/COST002 on catalog candidates."""

from __future__ import annotations

import math
import random

import pytest

from advisor.catalog.records import ApiRecord
from advisor.errors import InputError
from advisor.estimate.cost import (
    BreakEven,
    PricedOption,
    ServingCost,
    api_cost,
    cheapest_comparable,
    cost_curve,
    finetune_estimate,
    implied_mfu,
    log_volumes,
    monthly_tokens,
    payback_months,
    peak_requests_per_s,
    pretraining_estimate,
    rate_limit_excesses,
    replica_capacity,
    replica_tokens_per_month,
    replicas_for_load,
)
from advisor.estimate.cost_constants import cost_answers, cost_constants, cost_settings
from advisor.estimate.memory import GIB


def _api(**extra: object) -> ApiRecord:
    fields: dict[str, object] = {
        "id": "x",
        "name": "x",
        "provider": "p",
        "input_usd_per_1m": 1.0,
        "output_usd_per_1m": 4.0,
        "context_window": 1_000_000,
        "source": "https://e.com",
        "as_of": "2026-01-01",
    }
    fields.update(extra)
    return ApiRecord.model_validate(fields)


TOKENS = monthly_tokens(1000, 1000, 100, 30)  # 30M input, 3M output


def _serving(
    fixed: float, unit: float, capacity: float, min_replicas: int = 1, owned: int = 0, owned_unit: float | None = None
) -> ServingCost:
    """A deployment's cost structure at its minimum replica count (break-even does not depend on today's)."""
    return ServingCost(fixed, unit, min_replicas, capacity, min_replicas, owned, owned_unit)


# ------------------------------------------------------------------------------------------------ API


def test_api_cost_with_cache_and_batch_by_hand() -> None:
    api = _api(cached_input_usd_per_1m=0.1, batch_input_usd_per_1m=0.5, batch_output_usd_per_1m=2.0)
    bill = api_cost(api, TOKENS, 1000, cache_hit_rate=0.5, batch_share=0.2)
    # interactive 80 %: 12 M uncached input × $1 + 12 M cached × $0.1 + 2.4 M output × $4
    assert bill.input_usd == pytest.approx(12.0)
    assert bill.cached_input_usd == pytest.approx(1.2)
    assert bill.output_usd == pytest.approx(9.6)
    # batch 20 %: 6 M input × $0.5 + 0.6 M output × $2
    assert bill.batch_usd == pytest.approx(4.2)
    assert bill.total_usd == pytest.approx(27.0)
    assert bill.usd_per_1m(TOKENS) == pytest.approx(27.0 / 33.0)
    assert bill.notes == ()


def test_api_discounts_need_catalog_prices() -> None:
    bill = api_cost(_api(), TOKENS, 1000, cache_hit_rate=0.5, batch_share=0.5)
    assert bill.total_usd == pytest.approx(30 + 12)  # list prices
    assert bill.cache_hit_rate == 0 and bill.batch_share == 0
    assert any("cached-input" in n for n in bill.notes) and any("batch" in n for n in bill.notes)


def test_long_context_tier_scales_cached_price() -> None:
    api = _api(
        cached_input_usd_per_1m=0.1,
        long_context_tiers=[{"above_input_tokens": 200_000, "input_usd_per_1m": 2.0, "output_usd_per_1m": 8.0}],
    )
    short = api_cost(api, TOKENS, 1000, cache_hit_rate=1.0)
    long = api_cost(api, TOKENS, 300_000, cache_hit_rate=1.0)
    assert short.total_usd == pytest.approx(30 * 0.1 + 3 * 4)
    assert long.prices.tier_above_input_tokens == 200_000
    assert long.total_usd == pytest.approx(30 * 0.2 + 3 * 8)


def test_rate_limits() -> None:
    # 144,000 requests/day = 100/min on average; 3x peak = 300/min
    assert peak_requests_per_s(144_000, 3.0) * 60 == pytest.approx(300)
    found = rate_limit_excesses(300, 1500, 50, 30_000)
    assert [(e.what, e.needed, e.limit) for e in found] == [("requests/min", 300, 50), ("tokens/min", 450_000, 30_000)]
    assert rate_limit_excesses(10, 1000, 50, 30_000) == []
    assert rate_limit_excesses(10, 1000, None, None) == []


# ------------------------------------------------------------------------------------------------ self-hosting


def test_replica_capacity_by_hand() -> None:
    # 50 tok/s single stream; 16 streams × 0.6 = 9.6× -> 480 tok/s; prefill 800 / 4000 = 0.2 s
    cap = replica_capacity(50, 4000, 800, 300, 16, 16, 0.6, 0.7)
    assert cap.decode_tokens_per_s == pytest.approx(480)
    assert cap.batching_gain == pytest.approx(9.6)
    assert cap.service_s == pytest.approx(0.2 + 300 / 480)
    assert cap.requests_per_s == pytest.approx(0.7 / 0.825)
    # the peak rate needs ceil(2 / 0.848) = 3 replicas; 40 streams need ceil(40 / 16) = 3
    assert replicas_for_load(2.0, cap, 40, 16) == 3
    assert replicas_for_load(0.1, cap, 40, 16) == 3
    assert replicas_for_load(0.1, cap, 1, 16) == 1
    no_prefill = replica_capacity(50, None, 800, 300, 1, 16, 0.6, 0.7)
    assert no_prefill.service_s == pytest.approx(300 / 50)


def test_replica_tokens_reproduce_the_replica_count() -> None:
    cap = replica_capacity(50, 4000, 800, 300, 16, 16, 0.6, 0.7)
    seconds = 30.44 * 86_400
    per_replica = replica_tokens_per_month(cap, 1100, seconds, 3.0)
    for requests_per_day in (1_000, 50_000, 400_000):
        volume = requests_per_day * 30.44 * 1100
        by_rate = replicas_for_load(peak_requests_per_s(requests_per_day, 3.0), cap, 1, 16)
        assert max(1, math.ceil(volume / per_replica - 1e-9)) == by_rate


def test_serving_cost_steps() -> None:
    serving = ServingCost(fixed_usd=1000, per_replica_usd=500, replicas=2, replica_tokens=1e9, min_replicas=2)
    assert serving.monthly_usd == 2000
    assert serving.at_volume(1e8) == 2000  # two replicas minimum
    assert serving.at_volume(2.5e9) == 1000 + 3 * 500
    assert serving.usd_per_1m_at_capacity == pytest.approx(0.5)
    assert _serving(0, 100, 1e9).at_volume(0) == 100


# ------------------------------------------------------------------------------------------------ break-even


def test_break_even_by_hand() -> None:
    # F = $6,000 operator, U = $600 per replica of 1e9 tokens, API $1 per 1M tokens:
    # one replica earns $1,000 at API prices, $400 over its cost; 15 replicas cover F -> 1.5e10 tokens
    assert _serving(6000, 600, 1e9).break_even(1e-6).first == pytest.approx(1.5e10)
    assert _serving(6000, 600, 1e9).at_volume(1.5e10) == pytest.approx(1.5e10 * 1e-6)
    assert _serving(6000, 600, 1e9).at_volume(1.49e10) > 1.49e10 * 1e-6
    # a replica that costs more than its tokens earn at API prices never breaks even
    assert _serving(6000, 1200, 1e9).break_even(1e-6).first is None
    # one more replica (9 for 8.0e9+) costs $8,400: the API is cheaper again up to 8.4e9, never after
    assert _serving(6000 - 3000, 600, 1e9).break_even(1e-6) == BreakEven(7.8e9, 8.4e9)
    # three replicas are needed anyway (stream slots): they break even once the API bill reaches $300
    assert _serving(0, 100, 1e9, min_replicas=3).break_even(1e-6).first == pytest.approx(3e8)
    # one replica (F + U = $1,600) cannot earn more than $1,000; two ($1,700) can, from 1.7e9 tokens
    assert _serving(1500, 100, 1e9).break_even(1e-6).first == pytest.approx(1.7e9)


def test_break_even_on_own_hardware_by_hand() -> None:
    # two owned replicas cost $50 (power) each, more are rented at $600; F = $1,000
    assert _serving(1000, 600, 1e9, 1, 2, 50).break_even(1e-6).first == pytest.approx(1.1e9)
    # F = $3,000 is not covered by the owned pair ($1,900 short); rented replicas earn $400 each:
    # 5 replicas: 3000 + 2 × 50 + 3 × 600 = $4,900 -> 4.9e9 tokens
    assert _serving(3000, 600, 1e9, 1, 2, 50).break_even(1e-6).first == pytest.approx(4.9e9)
    assert _serving(3000, 600, 1e9, 1, 2, 50).at_volume(4.9e9) == pytest.approx(4900)
    assert ServingCost(3000, 600, 5, 1e9, 1, 2, 50).monthly_usd == pytest.approx(4900)
    # rented replicas that earn less ($1,000) than they cost ($1,500): the cheap owned pair carries a third
    # replica up to 3e9 tokens (1000 + 100 + 1500 = $2,600 <= $3,000), not a fourth ($4,100 > $4,000)
    window = _serving(1000, 1500, 1e9, 1, 2, 50).break_even(1e-6)
    assert window == BreakEven(1.1e9, None, 3e9)


def test_break_even_is_the_first_volume_where_self_hosting_wins() -> None:
    rng = random.Random(5)
    grid = [10 ** (6 + i / 200) for i in range(1400)]
    for _ in range(300):
        fixed, unit = rng.uniform(0, 20_000), rng.uniform(50, 3000)
        capacity, price = 10 ** rng.uniform(7, 11), 10 ** rng.uniform(-8, -5)
        floor = rng.choice([1, 1, 2, 5])
        owned, owned_unit = rng.choice([(0, None), (2, rng.uniform(10, 400)), (4, rng.uniform(10, 4000))])
        volume = _serving(fixed, unit, capacity, floor, owned, owned_unit).break_even(price).first

        def cost(v: float) -> float:
            return _serving(fixed, unit, capacity, floor, owned, owned_unit).at_volume(v)  # noqa: B023

        wins = [v for v in grid if cost(v) <= price * v]
        span = _serving(fixed, unit, capacity, floor, owned, owned_unit).break_even(price)
        assert span.first == volume
        if volume is None:
            assert not wins
            continue
        assert cost(volume * (1 + 1e-9)) <= price * volume * (1 + 1e-6)
        assert all(v >= volume * (1 - 1e-9) for v in wins)
        if span.always is not None:
            assert span.until is None
            assert all(cost(v) <= price * v * (1 + 1e-9) for v in grid if v >= span.always * (1 + 1e-9))
            assert cost(span.always * (1 + 1e-9)) <= price * span.always * (1 + 1e-6)
        else:
            assert span.until is not None
            assert all(cost(v) > price * v for v in grid if v > span.until * (1 + 1e-9))
            assert cost(span.until) <= price * span.until * (1 + 1e-9)


def test_payback_and_comparable_quality() -> None:
    assert payback_months(1_000_000, 50_000) == pytest.approx(20)
    assert payback_months(1_000_000, -1) is None
    options = [PricedOption("cheap", 0.5, 1e-7), PricedOption("good", 0.8, 1e-6), PricedOption("unknown", None, 1e-9)]
    assert cheapest_comparable(options, 0.77, 0.05).key == "good"  # type: ignore[union-attr]
    assert cheapest_comparable(options, 0.5, 0.05).key == "cheap"  # type: ignore[union-attr]
    assert cheapest_comparable(options, None, 0.05).key == "unknown"  # type: ignore[union-attr]
    assert cheapest_comparable(options, 0.95, 0.05) is None


def test_cost_curve_crosses_at_break_even() -> None:
    serving = ServingCost(6000, 600, 1, 1e9)
    volumes = log_volumes(1e8, 1e12, 41)
    assert volumes[0] == pytest.approx(1e8) and volumes[-1] == pytest.approx(1e12)
    points = cost_curve(1e-6, serving, 1_000_000, 36, volumes)
    cheaper = [p.tokens_per_month for p in points if p.usd["open_source"] <= p.usd["api"]]
    assert min(cheaper) >= 1.5e10 * (1 - 1e-9)
    assert points[0].usd["build"] == pytest.approx(1_000_000 / 36 + 6600)
    with pytest.raises(ValueError):
        log_volumes(10, 1, 5)


# ------------------------------------------------------------------------------------------------ building


def test_pretraining_by_hand() -> None:
    run = pretraining_estimate(70e9, 1.4e12, 989.4, 0.25, 0.40, 2.69, 1024, 0.5)
    assert run.flops == pytest.approx(5.88e23 * 1.5)
    assert run.device_hours_low == pytest.approx(8.82e23 / (989.4e12 * 0.40 * 3600))
    assert run.device_hours_high == pytest.approx(8.82e23 / (989.4e12 * 0.25 * 3600))
    assert run.compute_usd_low == pytest.approx(run.device_hours_low * 2.69)
    assert run.days_low == pytest.approx(run.device_hours_low / 1024 / 24)


def test_mfu_range_is_calibrated_on_published_runs() -> None:
    """The constants' MFU range lies inside what published runs imply (cost.md §4.2)."""
    published = {
        "Llama 2 70B (A100)": implied_mfu(70e9, 2e12, 1_720_320, 312),
        "Llama 3 70B (H100)": implied_mfu(70e9, 15e12, 6.4e6, 989.4),
        "Llama 3.1 405B (H100)": implied_mfu(405e9, 15e12, 30.84e6, 989.4),
        "DeepSeek-V3 37B active (H800)": implied_mfu(37e9, 14.8e12, 2.788e6, 989.4),
    }
    assert published["Llama 2 70B (A100)"] == pytest.approx(0.435, abs=0.002)
    assert published["DeepSeek-V3 37B active (H800)"] == pytest.approx(0.331, abs=0.002)
    constants = cost_constants()
    assert min(published.values()) - 0.03 <= constants.training_mfu_low < constants.training_mfu_high
    assert constants.training_mfu_high <= max(published.values())


def test_finetune_memory_and_devices() -> None:
    device_bytes = 80 * GIB * 0.9
    qlora = finetune_estimate(70e9, 1e8, "qlora", 4, 0.74, 989.4, device_bytes, 0.3, 2.69)
    assert qlora.flops == pytest.approx(2.8e19)
    assert qlora.device_hours == pytest.approx(2.8e19 / (989.4e12 * 0.3 * 3600))
    assert qlora.devices == 1
    full = finetune_estimate(70e9, 1e8, "full", 6, 12, 989.4, device_bytes, 0.3, 2.69)
    assert full.devices == math.ceil(840e9 / device_bytes) == 11
    # QLoRA paper: a 65B model fits one 48 GB GPU
    assert finetune_estimate(65e9, 1e8, "qlora", 4, 0.74, 1, 48 * GIB, 0.3, 1).devices == 1


# ------------------------------------------------------------------------------------------------ answers


def test_cost_answers_are_validated_with_the_field_named() -> None:
    assert cost_answers({"cache_hit_rate": 0.4}).cache_hit_rate == 0.4
    with pytest.raises(InputError, match=r"a.yaml: plugins\.cost\.cache_hit_rate"):
        cost_answers({"cache_hit_rate": 1.5}, "a.yaml")
    with pytest.raises(InputError, match=r"plugins\.cost\.cache_rate: unknown key"):
        cost_answers({"cache_rate": 0.4})
    with pytest.raises(InputError, match="expected a mapping"):
        cost_answers("half")  # type: ignore[arg-type]


def test_settings_apply_overrides_and_print_them() -> None:
    settings = cost_settings({"cost": {"grid_kg_co2_per_kwh": 0.05, "peak_to_average": 5}})
    assert settings.grid_kg_co2_per_kwh == 0.05 and settings.peak_to_average == 5
    assert settings.pue == cost_constants().pue
    lines = settings.assumptions()
    assert any("0.05 kg/kWh (answers)" in line for line in lines)
    assert any("5 × the daily average (answers)" in line for line in lines)


def test_stream_slots_follow_the_latency_target() -> None:
    from advisor.estimate.cost import streams_per_replica

    assert streams_per_replica(480, 16, 20) == 24  # 480 tok/s shared at ≥ 20 tok/s per stream
    assert streams_per_replica(200, 16, 20) == 16  # never below the batching limit
    assert streams_per_replica(480, 16, 0) == 16
    cap = replica_capacity(50, 4000, 800, 300, 16, 16, 0.6, 0.7)
    by_rate = replica_tokens_per_month(cap, 1100, 30.44 * 86_400, 3.0)
    # 40 streams today over 1e8 tokens: a 24-slot replica carries 6e7 tokens of today's shape
    assert replica_tokens_per_month(cap, 1100, 30.44 * 86_400, 3.0, 1e8, 40, 24) == pytest.approx(min(by_rate, 6e7))

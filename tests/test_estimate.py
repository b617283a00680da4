"""The pure estimators, against hand-computed values and published facts."""

from __future__ import annotations

import pytest

from advisor.catalog.records import ArchitectureConfig
from advisor.engine.session import Session
from advisor.estimate.constants import estimator_constants
from advisor.estimate.cost import (
    api_cost,
    energy_kwh_per_month,
    monthly_tokens,
    training_device_hours,
    training_flops,
)
from advisor.estimate.fit import Device, Footprint, decide_fit
from advisor.estimate.memory import GIB, estimate_kv_cache_bytes
from advisor.estimate.speed import decode_tokens_per_s, prefill_tokens_per_s

LLAMA31_8B = ArchitectureConfig(
    model_type="llama",
    num_hidden_layers=32,
    hidden_size=4096,
    intermediate_size=14336,
    num_attention_heads=32,
    num_key_value_heads=8,
    head_dim=128,
    vocab_size=128256,
)


def test_kv_cache_llama31_8b_exact() -> None:
    # 32 layers x 131072 cells x 8 KV heads x 128 dims x (K and V) x 2 bytes
    assert estimate_kv_cache_bytes(LLAMA31_8B, 131072) == 32 * 131072 * 8 * 128 * 2 * 2 == 17_179_869_184
    assert estimate_kv_cache_bytes(LLAMA31_8B, 8192, "q8_0") == int(32 * 8192 * 8 * 128 * 2 * 34 / 32)


def test_kv_cache_mha_llama2_7b_per_token() -> None:
    arch = ArchitectureConfig(
        model_type="llama", num_hidden_layers=32, hidden_size=4096, num_attention_heads=32, vocab_size=32000
    )
    assert estimate_kv_cache_bytes(arch, 1) == 512 * 1024  # 512 KiB/token (hardware_fit.md §2.4)


def test_kv_cache_sliding_window_layers_are_capped() -> None:
    gemma2 = ArchitectureConfig(
        model_type="gemma2",
        num_hidden_layers=4,
        hidden_size=2304,
        num_attention_heads=8,
        num_key_value_heads=4,
        head_dim=256,
        vocab_size=256000,
        sliding_window=4096,
    )
    per_cell = 2 * 4 * 256 * 2
    assert estimate_kv_cache_bytes(gemma2, 8192) == 2 * 4096 * per_cell + 2 * 8192 * per_cell
    typed = ArchitectureConfig.model_validate(
        {**gemma2.model_dump(), "model_type": "x", "layer_types": ["sliding_attention", "full_attention"] * 2}
    )
    assert estimate_kv_cache_bytes(typed, 8192) == estimate_kv_cache_bytes(gemma2, 8192)


def test_kv_cache_mla_caches_the_latent() -> None:
    dsv3 = ArchitectureConfig.model_validate(
        {
            "model_type": "deepseek_v3",
            "num_hidden_layers": 61,
            "hidden_size": 7168,
            "num_attention_heads": 128,
            "vocab_size": 129280,
            "kv_lora_rank": 512,
            "qk_rope_head_dim": 64,
        }
    )
    assert estimate_kv_cache_bytes(dsv3, 1000) == 61 * 1000 * (512 + 64) * 2


def test_kv_cache_rejects_unknown_type() -> None:
    with pytest.raises(ValueError, match="unknown KV cache type"):
        estimate_kv_cache_bytes(LLAMA31_8B, 10, "q3")


def _footprint(weights: float, kv: float, layers: int = 80) -> Footprint:
    return Footprint(
        weights_bytes=int(weights),
        kv_cache_bytes=int(kv),
        overhead_bytes=int(1.0 * GIB),
        n_layers=layers,
        output_bytes=int(0.5e9),
        active_weights_bytes=int(weights),
        active_params=70_000_000_000,
    )


def test_70b_on_one_24gb_gpu_is_partial_offload_with_layer_count() -> None:
    constants = estimator_constants()
    rtx4090 = Device(memory_gib=24, bandwidth_gb_s=1008, backend="cuda", tflops=165)
    fit = decide_fit(_footprint(42.5e9, 2.7e9), rtx4090, 64 * GIB, None, constants)
    assert fit.fits == "partial"
    assert 30 <= fit.gpu_layers - 1 <= 45
    assert fit.decode_tokens_per_s is not None and fit.decode_tokens_per_s < 10


def test_fit_kinds() -> None:
    constants = estimator_constants()
    gpu = Device(memory_gib=24, bandwidth_gb_s=1008, backend="cuda")
    assert decide_fit(_footprint(5e9, 1e9, 32), gpu, 0, None, constants).fits == "gpu"
    assert decide_fit(_footprint(5e9, 1e9, 32), gpu, 0, None, constants).gpu_layers == 33
    assert decide_fit(_footprint(5e9, 1e9, 32), None, 32 * GIB, 90, constants).fits == "cpu"
    assert decide_fit(_footprint(140e9, 1e9), gpu, 32 * GIB, None, constants).fits == "no"


def test_two_gpus_hold_what_one_cannot() -> None:
    constants = estimator_constants()
    one = Device(memory_gib=48, bandwidth_gb_s=864, backend="cuda", count=1)
    two = Device(memory_gib=48, bandwidth_gb_s=864, backend="cuda", count=2)
    fp = _footprint(60e9, 5e9)
    assert decide_fit(fp, one, 0, None, constants).fits == "no"
    assert decide_fit(fp, two, 0, None, constants).fits == "gpu"


def test_apple_usable_fraction() -> None:
    constants = estimator_constants()
    m3max = Device(memory_gib=128, bandwidth_gb_s=400, backend="metal", kind="apple")
    assert decide_fit(_footprint(100e9, 5e9), m3max, 0, None, constants).fits == "no"  # > 0.75 x 128 GiB
    assert decide_fit(_footprint(70e9, 5e9), m3max, 0, None, constants).fits == "gpu"


def test_decode_speed_reproduces_published_4090() -> None:
    # llama.cpp discussion #15013: RTX 4090, Llama-2-7B Q4_0 (3.826 GB) tg128 = 186.21 t/s
    from advisor.engine.host import PluginHost
    from advisor.estimate.speed import decode_constants_for

    catalog = Session(host=PluginHost().load(entrypoints=False)).catalog
    cuda = decode_constants_for(catalog.hardware["rtx-4090"])
    speed = decode_tokens_per_s(3.826e9, 1008, cuda.fixed_ms, cuda.efficiency)
    assert abs(speed / 186.21 - 1) < 0.05


def test_prefill_formula() -> None:
    assert prefill_tokens_per_s(1e9, 100, 0.5) == pytest.approx(25_000)


def test_api_cost_with_long_context_tier() -> None:
    from advisor.catalog.records import ApiRecord

    api = ApiRecord(
        id="x",
        name="x",
        provider="p",
        input_usd_per_1m=1.0,
        output_usd_per_1m=4.0,
        context_window=1_000_000,
        source="https://e.com",
        as_of="2026-01-01",
        long_context_tiers=[{"above_input_tokens": 200_000, "input_usd_per_1m": 2.0, "output_usd_per_1m": 8.0}],
    )
    tokens = monthly_tokens(1000, 1000, 100, 30)
    assert api_cost(api, tokens, 1000).total_usd == pytest.approx((30e6 * 1 + 3e6 * 4) / 1e6)
    assert api_cost(api, tokens, 300_000).total_usd == pytest.approx((30e6 * 2 + 3e6 * 8) / 1e6)


def test_cost_helpers() -> None:
    assert energy_kwh_per_month(700, 1, 1.0, 1.56, 730) == pytest.approx(797.2, rel=1e-3)  # cost.md §3.4
    flops = training_flops(70e9, 1.4e12)
    assert flops == pytest.approx(5.88e23)
    assert training_device_hours(flops, 1000, 0.5) == pytest.approx(5.88e23 / 5e14 / 3600)

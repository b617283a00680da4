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
from advisor.estimate.memory import (
    DEFAULT_CACHE,
    GIB,
    MIB,
    CacheSettings,
    compute_buffer,
    estimate_kv_cache_bytes,
    kv_cache_read_bytes,
    uses_mla_cache,
)
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
    """A decoded token reads 512 KiB of Llama-2-7B's cache per token in context (no padding on reads)."""
    arch = ArchitectureConfig(
        model_type="llama", num_hidden_layers=32, hidden_size=4096, num_attention_heads=32, vocab_size=32000
    )
    assert kv_cache_read_bytes(arch, 1) == 512 * 1024  # 512 KiB/token (hardware_fit.md §2.4)
    # but llama.cpp allocates whole 256-cell blocks: -c 1 holds 256 cells
    assert estimate_kv_cache_bytes(arch, 1) == 256 * 512 * 1024


def test_kv_cache_context_is_padded_to_256_cells() -> None:
    """llama-context.cpp pads n_ctx to 256; a non-unified cache pads each slot's share again."""
    per_cell = 32 * 8 * 128 * 2 * 2
    assert estimate_kv_cache_bytes(LLAMA31_8B, 5000) == 5120 * per_cell
    assert estimate_kv_cache_bytes(LLAMA31_8B, 8192, settings=CacheSettings(slots=4)) == 8192 * per_cell
    # 3 slots, separate streams: 8192 // 3 = 2730 -> 2816 cells per slot, 8448 in all
    assert estimate_kv_cache_bytes(LLAMA31_8B, 8192, settings=CacheSettings(slots=3, unified=False)) == 8448 * per_cell


def _arch(**fields: object) -> ArchitectureConfig:
    return ArchitectureConfig.model_validate(fields)


QWEN25_7B = _arch(
    model_type="qwen2", num_hidden_layers=28, hidden_size=3584, num_attention_heads=28, num_key_value_heads=4,
    vocab_size=152064, sliding_window=131072, use_sliding_window=False,
)  # fmt: skip
QWEN3_8B = _arch(
    model_type="qwen3", num_hidden_layers=36, hidden_size=4096, num_attention_heads=32, num_key_value_heads=8,
    head_dim=128, vocab_size=151936,
)  # fmt: skip
GEMMA2_9B = _arch(
    model_type="gemma2", num_hidden_layers=42, hidden_size=3584, num_attention_heads=16, num_key_value_heads=8,
    head_dim=256, vocab_size=256000, sliding_window=4096,
)  # fmt: skip
GEMMA3_12B = _arch(
    model_type="gemma3_text", num_hidden_layers=48, hidden_size=3840, num_attention_heads=16, num_key_value_heads=8,
    head_dim=256, vocab_size=262208, sliding_window=1024, sliding_window_pattern=6,
)  # fmt: skip
GPT_OSS_20B = _arch(
    model_type="gpt_oss", num_hidden_layers=24, hidden_size=2880, num_attention_heads=64, num_key_value_heads=8,
    head_dim=64, vocab_size=201088, sliding_window=128,
    layer_types=["sliding_attention", "full_attention"] * 12,
)  # fmt: skip
DEEPSEEK_V2_LITE = _arch(
    model_type="deepseek_v2", num_hidden_layers=27, hidden_size=2048, num_attention_heads=16,
    num_key_value_heads=16, vocab_size=102400, kv_lora_rank=512, qk_rope_head_dim=64, qk_nope_head_dim=128,
    v_head_dim=128,
)  # fmt: skip
MISTRAL_7B = _arch(
    model_type="mistral", num_hidden_layers=32, hidden_size=4096, num_attention_heads=32, num_key_value_heads=8,
    vocab_size=32000, sliding_window=4096,
)  # fmt: skip
PHI3_MINI = _arch(
    model_type="phi3", num_hidden_layers=32, hidden_size=3072, num_attention_heads=32, num_key_value_heads=32,
    vocab_size=32064, sliding_window=2047,
)  # fmt: skip
SERVER = CacheSettings(slots=4)  # llama-server's default: 4 slots on one unified cache
SPLIT = CacheSettings(slots=4, unified=False)


@pytest.mark.parametrize(
    ("arch", "context", "settings", "cells_times_layers", "bytes_per_cell"),
    [
        # GQA, all layers full: layers x pad(context) x 2 x kv heads x head dim x 2 B
        (LLAMA31_8B, 8192, DEFAULT_CACHE, 32 * 8192, 2 * 8 * 128 * 2),
        (LLAMA31_8B, 8192, SERVER, 32 * 8192, 2 * 8 * 128 * 2),
        (QWEN25_7B, 32768, DEFAULT_CACHE, 28 * 32768, 2 * 4 * 128 * 2),  # use_sliding_window false
        (QWEN3_8B, 32768, SERVER, 36 * 32768, 2 * 8 * 128 * 2),
        # Mistral's and Phi-3's windows are not used by llama.cpp (no SWA for LLM_ARCH_LLAMA, Phi SWA disabled)
        (MISTRAL_7B, 32768, DEFAULT_CACHE, 32 * 32768, 2 * 8 * 128 * 2),
        (PHI3_MINI, 4096, SERVER, 32 * 4096, 2 * 32 * 96 * 2),
        # Gemma 2: 21 global layers x 8192 + 21 sliding x pad(4096 + 512, 256) = 4608
        (GEMMA2_9B, 8192, DEFAULT_CACHE, 21 * 8192 + 21 * 4608, 2 * 8 * 256 * 2),
        # 4 slots sharing one stream: window x 4 + 512 > 8192, so the sliding layers hold all 8192
        (GEMMA2_9B, 8192, SERVER, 42 * 8192, 2 * 8 * 256 * 2),
        # Gemma 3: 8 global layers (every sixth) + 40 sliding x pad(1024 + 512) = 1536
        (GEMMA3_12B, 32768, DEFAULT_CACHE, 8 * 32768 + 40 * 1536, 2 * 8 * 256 * 2),
        (GEMMA3_12B, 32768, SERVER, 8 * 32768 + 40 * 4608, 2 * 8 * 256 * 2),  # pad(1024 x 4 + 512)
        # 4 separate streams of 8192 cells; each stream's sliding cache pad(1024 + 512) = 1536
        (GEMMA3_12B, 32768, SPLIT, 8 * 4 * 8192 + 40 * 4 * 1536, 2 * 8 * 256 * 2),
        # gpt-oss: alternating, window 128: 12 x 8192 + 12 x pad(128 + 512) = 768 (sinks add no cache)
        (GPT_OSS_20B, 8192, DEFAULT_CACHE, 12 * 8192 + 12 * 768, 2 * 8 * 64 * 2),
        (GPT_OSS_20B, 8192, SERVER, 12 * 8192 + 12 * 1024, 2 * 8 * 64 * 2),  # pad(128 x 4 + 512)
        (GPT_OSS_20B, 65536, CacheSettings(slots=8, unified=False), 12 * 65536 + 12 * 8 * 768, 2 * 8 * 64 * 2),
        # DeepSeek-V2-Lite from a config.json: current conversion, MLA latent 512 + 64 rope, no V
        (DEEPSEEK_V2_LITE, 4096, DEFAULT_CACHE, 27 * 4096, 576 * 2),
        (DEEPSEEK_V2_LITE, 4096, SERVER, 27 * 4096, 576 * 2),
        # forced off (an older GGUF): 16 heads x (K 128 + 64, V 128)
        (DEEPSEEK_V2_LITE, 4096, CacheSettings(mla=False), 27 * 4096, 16 * (192 + 128) * 2),
    ],
)
def test_kv_cache_as_llama_cpp_allocates_it(
    arch: ArchitectureConfig, context: int, settings: CacheSettings, cells_times_layers: int, bytes_per_cell: int
) -> None:
    """Cells per layer from llama-context.cpp / llama-kv-cache-iswa.cpp, computed by hand for each case."""
    assert estimate_kv_cache_bytes(arch, context, settings=settings) == cells_times_layers * bytes_per_cell


def test_kv_cache_issue_figures_deepseek_v2_lite() -> None:
    """The issue's example: 121.5 MiB with the MLA cache, 1080 MiB for an older GGUF without key_length_mla."""
    assert estimate_kv_cache_bytes(DEEPSEEK_V2_LITE, 4096) / MIB == 121.5
    old_gguf = _arch(
        model_type="deepseek2", gguf_architecture="deepseek2", num_hidden_layers=27, hidden_size=2048,
        num_attention_heads=16, num_key_value_heads=16, head_dim=192, v_head_dim=128, vocab_size=102400,
        kv_lora_rank=512, qk_rope_head_dim=64,
    )  # fmt: skip
    assert not uses_mla_cache(old_gguf)
    assert estimate_kv_cache_bytes(old_gguf, 4096) / MIB == 1080
    new_gguf = _arch(**{**old_gguf.model_dump(), "head_dim": 576, "num_key_value_heads": 1, "key_length_mla": 192})
    assert uses_mla_cache(new_gguf) and estimate_kv_cache_bytes(new_gguf, 4096) / MIB == 121.5


def test_kv_cache_deepseek_v3_mla_and_q8_0() -> None:
    dsv3 = _arch(
        model_type="deepseek_v3", num_hidden_layers=61, hidden_size=7168, num_attention_heads=128,
        vocab_size=129280, kv_lora_rank=512, qk_rope_head_dim=64,
    )  # fmt: skip
    assert estimate_kv_cache_bytes(dsv3, 1024) == 61 * 1024 * (512 + 64) * 2
    assert estimate_kv_cache_bytes(LLAMA31_8B, 8192, "q8_0") == 32 * 8192 * 2 * 1024 * 34 // 32


def test_kv_cache_swa_full_and_mixed_types() -> None:
    """--swa-full gives sliding layers the whole context; -ctk q8_0 -ctv f16 mixes per element."""
    full = estimate_kv_cache_bytes(GEMMA3_12B, 32768, settings=CacheSettings(swa_full=True))
    assert full == 48 * 32768 * 2 * 8 * 256 * 2
    mixed = estimate_kv_cache_bytes(LLAMA31_8B, 8192, "q8_0", CacheSettings(type_v="f16"))
    assert mixed == 32 * 8192 * 1024 * (34 / 32 + 2)


def test_kv_cache_skips_layers_without_their_own_cache() -> None:
    """Gemma 3n's last num_kv_shared_layers reuse earlier caches; hybrid models' linear layers hold state."""
    gemma3n = _arch(
        model_type="gemma3n_text", num_hidden_layers=30, hidden_size=2048, num_attention_heads=8,
        num_key_value_heads=2, head_dim=256, vocab_size=262400, sliding_window=512, num_kv_shared_layers=10,
        layer_types=(["sliding_attention"] * 4 + ["full_attention"]) * 6,
    )  # fmt: skip
    per_cell = 2 * 2 * 256 * 2
    # 20 layers with a cache: 4 global (4, 9, 14, 19) x 4096 + 16 sliding x pad(512 + 512) = 1024
    assert estimate_kv_cache_bytes(gemma3n, 4096) == (4 * 4096 + 16 * 1024) * per_cell
    hybrid = _arch(
        model_type="qwen3_next", num_hidden_layers=8, hidden_size=2048, num_attention_heads=16,
        num_key_value_heads=2, head_dim=256, vocab_size=151936,
        layer_types=["linear_attention"] * 3 + ["full_attention"] + ["linear_attention"] * 3 + ["full_attention"],
    )  # fmt: skip
    assert estimate_kv_cache_bytes(hybrid, 4096) == 2 * 4096 * per_cell


def test_compute_buffer_follows_the_graph() -> None:
    """Logits dominate a 128k vocabulary with flash attention; the KQ scores dominate without it."""
    llama2 = ArchitectureConfig(
        model_type="llama", num_hidden_layers=32, hidden_size=4096, intermediate_size=11008,
        num_attention_heads=32, vocab_size=32000,
    )  # fmt: skip
    # 512 x (128256 + 4096) x 4 B = 258.5 MiB, as llama.cpp prints for Llama-3-8B
    assert compute_buffer(LLAMA31_8B, 4096).bytes / MIB == 258.5
    assert compute_buffer(LLAMA31_8B, 4096).phase == "logits"
    # no FA: 512 x (4096 x 32 + 4 x 4096) x 4 B + the f32 mask 4096 x 512 x 4 B = 296 MiB
    no_fa = compute_buffer(llama2, 4096, CacheSettings(flash_attn=False))
    assert no_fa.bytes / MIB == 296 and no_fa.phase.startswith("attention")
    # at 131k without flash attention the scores alone are 131072 x 512 x 32 x 4 B = 8 GiB
    assert compute_buffer(LLAMA31_8B, 131072, CacheSettings(flash_attn=False)).bytes > 8 * GIB
    assert compute_buffer(LLAMA31_8B, 131072).bytes < 1 * GIB


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
    from advisor.estimate.speed import decode_constants_for, decode_overhead_ms

    catalog = Session(host=PluginHost().load(entrypoints=False)).catalog
    cuda = decode_constants_for(catalog.hardware["rtx-4090"])
    speed = decode_tokens_per_s(3.826e9, 1008, decode_overhead_ms(cuda, 32, False), cuda.efficiency)
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


def test_compute_buffer_counts_only_the_logits_rows_asked_for() -> None:
    """llama.cpp reserves logits for a full micro-batch; a CPU run touches only the rows it computes."""
    full = compute_buffer(LLAMA31_8B, 4096)
    one = compute_buffer(LLAMA31_8B, 4096, CacheSettings(outputs=1))
    assert full.bytes - 511 * 4 * 128256 <= one.bytes < full.bytes

"""The serving capacity model (advisor/estimate/serving.py): hand-checked roofline cases.

Each case says what an experienced inference engineer expects and why; the numbers come from the
formulas in docs/serving.md, never from the implementation.
"""

from __future__ import annotations

import math

import pytest

from advisor.catalog.records import ArchitectureConfig
from advisor.estimate.memory import kv_cache_read_bytes
from advisor.estimate.serving import (
    GIB,
    EngineEfficiency,
    ServedModel,
    ServingGpu,
    Topology,
    Workload,
    concurrency_for_stream_floor,
    decode_step,
    expected_active_experts,
    kv_capacity_tokens,
    max_concurrency,
    replicas_for_peak,
    ring_allreduce_seconds,
    served_model_from_config,
    serving_capacity,
    serving_constants,
    weights_read_per_microbatch,
)

LLAMA_8B_CONFIG = ArchitectureConfig(
    model_type="llama",
    num_hidden_layers=32,
    hidden_size=4096,
    intermediate_size=14336,
    num_attention_heads=32,
    num_key_value_heads=8,
    vocab_size=128256,
)
# H100 SXM: 80 GiB, 3350 GB/s, 989 dense BF16 TFLOPS, NVLink 450 GB/s each way (catalog/hardware.yaml).
H100 = ServingGpu(80 * GIB, 3350, 989.4, 450, 2, 50, 8)
# An idealised engine: full bandwidth, no overheads, so the expected numbers are pure roofline.
IDEAL = EngineEfficiency(
    memory_fraction=0.9, bandwidth_efficiency=1.0, compute_efficiency=1.0, step_overhead_ms=0, activation_reserve_gib=0
)


def llama_8b() -> ServedModel:
    return served_model_from_config(LLAMA_8B_CONFIG, params=8.03e9, active_params=8.03e9, bytes_per_param=2.0)


def test_kv_bytes_per_token_come_from_the_memory_estimator() -> None:
    """Llama-3.1-8B: 32 layers x 8 KV heads x 128 x 2 (K,V) x 2 bytes = 128 KiB per token (no copy of the formula)."""
    model = llama_8b()
    assert model.kv_bytes_per_token == kv_cache_read_bytes(LLAMA_8B_CONFIG, 1.0, "f16") == 131072


def test_single_h100_llama_8b_at_concurrency_one_is_bandwidth_bound() -> None:
    """One stream reads 16.06 GB of BF16 weights per token: 16.06e9 / 3.35e12 = 4.8 ms, ~208 tok/s ideal.

    Compute (2 x 8e9 FLOPs on 989 TFLOPS = 16 µs) is negligible, so the step is memory-bound and the
    per-stream speed is the bandwidth roofline.
    """
    step = decode_step(llama_8b(), H100, Topology(), IDEAL, batch=1, context=1000)
    assert step.memory_s > 100 * step.compute_s
    weights_s = 16.06e9 / 3.35e12
    kv_s = 1000 * 131072 / 3.35e12
    assert step.seconds == pytest.approx(weights_s + kv_s, rel=1e-3)
    assert 1 / step.seconds == pytest.approx(204, rel=0.02)


def test_single_h100_llama_8b_with_catalog_constants_is_realistic() -> None:
    """With the fitted vLLM constants a single H100 gives 80-180 tok/s for one 8B BF16 stream (published: ~120-150)."""
    engine = serving_constants().engine("vllm")
    gpu = serving_constants().gpu("h100-sxm", 80, 3350, 989.4)
    cap = serving_capacity(llama_8b(), gpu, Topology(), engine, Workload(512, 256, 1))
    assert 80 < cap.per_stream_tokens_per_s < 180
    assert cap.bound == "memory"


def test_tp2_roughly_halves_weight_time_but_pays_all_reduce() -> None:
    """TP=2: each GPU reads half the weights (2.4 ms instead of 4.8 ms) and adds 2 all-reduces per layer.

    The all-reduce of batch x hidden x 2 bytes over NVLink is small but not zero: the step is a bit
    more than half of TP=1's, never less.
    """
    model = llama_8b()
    one = decode_step(model, H100, Topology(1), IDEAL, batch=8, context=1000)
    two = decode_step(model, H100, Topology(2), IDEAL, batch=8, context=1000)
    assert two.memory_s == pytest.approx(one.memory_s / 2, rel=1e-6)
    expected_comm = 2 * 32 * ring_allreduce_seconds(8 * 4096 * 2, 2, 450, 2)
    assert two.tp_comm_s == pytest.approx(expected_comm)
    assert two.tp_comm_s > 0 and one.tp_comm_s == 0
    assert one.seconds / 2 < two.seconds < one.seconds


def test_ring_all_reduce_formula() -> None:
    """2(n-1)/n x size / bandwidth + 2(n-1) x latency: 8 GPUs, 1 MB at 450 GB/s, 2 µs per hop."""
    expected = 14 / 8 * 1e6 / 450e9 + 14 * 2e-6
    assert ring_allreduce_seconds(1e6, 8, 450, 2) == pytest.approx(expected)
    assert ring_allreduce_seconds(1e6, 1, 450, 2) == 0.0


def test_moe_expected_active_experts() -> None:
    """E x (1 - (1 - k/E)^b): one token touches exactly k experts; a big batch touches nearly all.

    gpt-oss-120b (128 experts, top-4) at batch 64: 128 x (1 - (124/128)^64) = 111.2 (the figure
    SemiAnalysis quotes: "nearly all 111/128 unique experts are loaded per decode step").
    """
    assert expected_active_experts(256, 8, 1) == pytest.approx(8)
    assert expected_active_experts(128, 4, 64) == pytest.approx(111.2, abs=0.1)
    assert expected_active_experts(128, 4, 10_000) == pytest.approx(128)
    assert expected_active_experts(0, 0, 5) == 0.0
    with pytest.raises(ValueError):
        expected_active_experts(8, 9, 1)


def test_moe_weights_read_grow_with_batch_towards_the_whole_model() -> None:
    """DeepSeek-V3-like: at batch 1 a step reads ~ active params (37B), at batch 512 ~ the whole 671B."""
    model = ServedModel(671e9, 37e9, 671e9, 61, 7168, 70272, 256, 8, kv_split_by_tp=False)
    assert weights_read_per_microbatch(model, 1) == pytest.approx(37e9, rel=1e-6)
    assert weights_read_per_microbatch(model, 512) == pytest.approx(671e9, rel=0.01)
    assert weights_read_per_microbatch(model, 8) < weights_read_per_microbatch(model, 64)


def test_kv_limited_max_concurrency() -> None:
    """One H100, vLLM at 0.9: 72 GiB - 16.06 GB weights - 2 GiB reserve = 55.0 GiB of KV;
    at 128 KiB per token that is 450,000 tokens: 219 requests of 2,048 tokens.
    """
    engine = EngineEfficiency(0.9, 1.0, 1.0, 0.0, activation_reserve_gib=2.0)
    model = llama_8b()
    free = 80 * GIB * 0.9 - 16.06e9 - 2 * GIB
    assert kv_capacity_tokens(model, H100, Topology(), engine) == pytest.approx(free / 131072)
    assert max_concurrency(model, H100, Topology(), engine, 2048) == math.floor(free / 131072 / 2048)
    cap = serving_capacity(model, H100, Topology(), engine, Workload(1024, 1024, 1000))
    assert cap.batch == cap.max_concurrency < 1000
    assert cap.bound == "kv-cache"


def test_weights_that_do_not_fit_are_refused() -> None:
    """A 70B BF16 model (140 GB) does not fit on one 80 GB GPU: a clear error, not a negative capacity."""
    model = ServedModel(70e9, 70e9, 140e9, 80, 8192, 327680)
    with pytest.raises(ValueError, match="do not fit"):
        serving_capacity(model, H100, Topology(), IDEAL, Workload(512, 256, 1))
    assert serving_capacity(model, H100, Topology(2), IDEAL, Workload(512, 256, 1)).per_stream_tokens_per_s > 0


def test_throughput_rises_with_concurrency_until_the_kv_bound_and_per_stream_falls() -> None:
    """Continuous batching: aggregate tokens/s never falls as concurrency rises (memory-bound steps get
    cheaper per token), while each stream gets slower; past the KV limit the batch stops growing."""
    engine = serving_constants().engine("vllm")
    gpu = serving_constants().gpu("h100-sxm", 80, 3350, 989.4)
    model = llama_8b()
    caps = [
        serving_capacity(model, gpu, Topology(), engine, Workload(1024, 256, c))
        for c in (1, 2, 4, 8, 16, 32, 64, 128, 256)
    ]
    outputs = [c.output_tokens_per_s for c in caps]
    assert outputs == sorted(outputs)
    streams = [c.per_stream_tokens_per_s for c in caps]
    assert streams == sorted(streams, reverse=True)
    assert outputs[-1] > 10 * outputs[0]
    assert caps[-1].ttft_s > caps[0].ttft_s


def test_pipeline_parallel_gives_memory_not_bandwidth() -> None:
    """PP=2 holds half the weights per GPU (so the KV pool grows), but each stage re-reads its weights per
    micro-batch: a decode step is no faster than TP alone, and the inter-node hop adds latency."""
    model = ServedModel(671e9, 37e9, 671e9, 61, 7168, 70272, 256, 8, kv_split_by_tp=False)
    tp8 = Topology(8, 1)
    tp8pp2 = Topology(8, 2)
    assert kv_capacity_tokens(model, H100, tp8pp2, IDEAL) > 0 > kv_capacity_tokens(model, H100, tp8, IDEAL)
    step = decode_step(model, H100, tp8pp2, IDEAL, batch=32, context=2000)
    assert step.pp_comm_s > 0


def test_replicas_for_peak() -> None:
    """12,000 output tok/s at peak, 2,600 per replica: 5 replicas (4 would give 10,400)."""
    assert replicas_for_peak(12_000, 2_600) == 5
    assert replicas_for_peak(10, 2_600) == 1
    with pytest.raises(ValueError):
        replicas_for_peak(10, 0)


def test_concurrency_for_a_stream_floor_is_the_largest_meeting_it() -> None:
    """The largest concurrency whose streams still get >= 30 tok/s; one more request breaks the floor."""
    engine = serving_constants().engine("vllm")
    gpu = serving_constants().gpu("h100-sxm", 80, 3350, 989.4)
    model = llama_8b()
    c = concurrency_for_stream_floor(model, gpu, Topology(), engine, 1024, 256, 30.0)
    assert c > 1
    at = serving_capacity(model, gpu, Topology(), engine, Workload(1024, 256, c)).per_stream_tokens_per_s
    above = serving_capacity(model, gpu, Topology(), engine, Workload(1024, 256, c + 1)).per_stream_tokens_per_s
    assert at >= 30.0 > above
    assert concurrency_for_stream_floor(model, gpu, Topology(), engine, 1024, 256, 10_000.0) == 0


def test_engine_constants_name_their_flags_and_sources() -> None:
    """vLLM pre-allocates 0.9 of GPU memory (--gpu-memory-utilization), SGLang 0.88 (--mem-fraction-static)."""
    constants = serving_constants()
    assert constants.engines["vllm"].memory_fraction == 0.9
    assert constants.engines["vllm"].memory_fraction_flag == "--gpu-memory-utilization"
    assert constants.engines["sglang"].memory_fraction == 0.88
    assert constants.engines["sglang"].memory_fraction_flag == "--mem-fraction-static"
    assert all(e.source for e in constants.engines.values())
    with pytest.raises(ValueError, match="unknown serving engine"):
        constants.engine("tgi")


def test_bad_topology_and_workload_are_refused() -> None:
    with pytest.raises(ValueError, match="tensor_parallel"):
        Topology(0)
    with pytest.raises(ValueError, match="concurrency"):
        Workload(10, 10, 0)

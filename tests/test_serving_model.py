"""The serving capacity model (advisor/estimate/serving.py): hand-checked roofline cases.

Each case says what an experienced inference engineer expects and why; the numbers come from the
formulas in docs/serving.md, never from the implementation.
"""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path
from typing import Any

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
from advisor.model.context import AdvisorContext
from tests.conftest import load_script
from tests.test_cli import advisor

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


def test_sliding_window_layers_hold_only_their_window() -> None:
    """gpt-oss alternates full and 128-token sliding-window layers: at a 4k-token context the window layers
    add only 128/4096 of a full layer per token, so a token costs about half the KV of 36 full layers."""
    arch = ArchitectureConfig.model_validate(
        {"model_type": "gpt_oss", "num_hidden_layers": 36, "hidden_size": 2880, "num_attention_heads": 64,
         "num_key_value_heads": 8, "head_dim": 64, "sliding_window": 128, "vocab_size": 201088,
         "layer_types": ["sliding_attention", "full_attention"] * 18, "num_local_experts": 128,
         "num_experts_per_tok": 4}
    )  # fmt: skip
    model = served_model_from_config(arch, 116.8e9, 5.1e9, 0.53125)
    full_layer = 8 * 64 * 2 * 2  # KV heads x head_dim x (K,V) x 2 bytes
    assert model.kv_bytes_per_token == pytest.approx(18 * full_layer * (1 + 128 / 4096))


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
    expected_comm = 2 * 32 * ring_allreduce_seconds(8 * 4096 * 2, 2, 450, H100.link_latency_us)
    assert two.tp_comm_s == pytest.approx(expected_comm)
    assert two.tp_comm_s > 0 and one.tp_comm_s == 0
    assert one.seconds / 2 < two.seconds < one.seconds


def test_all_reduce_is_a_fixed_latency_plus_the_ring_volume() -> None:
    """latency + 2(n-1)/n x size / bandwidth: 8 GPUs, 1 MB at 450 GB/s, 8 µs per call.

    Small decode all-reduces are latency-bound: 8 KB (batch 1 x hidden 4096 x 2 bytes) costs about the
    latency alone, which is why TP pays most at small batch (sglang #2904: 6-10 µs on 8 H100).
    """
    expected = 8e-6 + 14 / 8 * 1e6 / 450e9
    assert ring_allreduce_seconds(1e6, 8, 450, 8) == pytest.approx(expected)
    assert ring_allreduce_seconds(8192, 8, 450, 8) == pytest.approx(8e-6, rel=0.01)
    assert ring_allreduce_seconds(1e6, 1, 450, 8) == 0.0


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


# ----------------------------------------------------------------------------- behaviours a lead expects


def _catalog_engine() -> tuple[EngineEfficiency, ServingGpu]:
    constants = serving_constants()
    return constants.engine("vllm"), constants.gpu("h100-sxm", 80, 3350, 989.4)


def test_throughput_saturates_at_high_concurrency() -> None:
    """Doubling the streams from 1 to 2 nearly doubles aggregate tokens/s (the step is bound by reading
    the weights, shared by the batch); from 128 to 256 it gains far less (KV reads, compute and the
    others' prefills grow with the batch): continuous batching saturates."""
    engine, gpu = _catalog_engine()
    model = llama_8b()

    def out(c: int) -> float:
        return serving_capacity(model, gpu, Topology(), engine, Workload(512, 256, c)).output_tokens_per_s

    assert out(2) / out(1) > 1.7
    assert out(256) / out(128) < out(2) / out(1)
    assert out(256) / out(128) < 1.6


def test_tensor_parallel_across_nodes_costs_more_than_within() -> None:
    """TP=16 over two 8-GPU nodes pays an all-reduce over InfiniBand (50 GB/s, 20 µs) on top of NVLink
    at every layer; the same 16 GPUs on one NVLink domain do not: the step is slower across nodes."""
    engine, gpu = _catalog_engine()
    model = ServedModel(671e9, 37e9, 671e9, 61, 7168, 70272, 256, 8, kv_split_by_tp=False)
    across = decode_step(model, gpu, Topology(16, 1, 1, gpus_per_node=8), engine, batch=8, context=2000)
    within = decode_step(model, gpu, Topology(16, 1, 1, gpus_per_node=16), engine, batch=8, context=2000)
    assert across.tp_comm_s > within.tp_comm_s
    assert across.seconds > within.seconds
    assert across.memory_s == within.memory_s


def test_moe_at_small_batch_reads_few_experts() -> None:
    """DeepSeek-V3 at one stream reads ~37B parameters per token (8 of 256 experts), at 64 streams ~222
    experts per layer: the batch-1 step reads several times fewer bytes, so per-stream speed is far
    higher than a dense 671B model's would be."""
    engine, gpu = _catalog_engine()
    moe = ServedModel(671e9, 37e9, 671e9, 61, 7168, 70272, 256, 8, kv_split_by_tp=False)
    dense = ServedModel(671e9, 671e9, 671e9, 61, 7168, 70272, kv_split_by_tp=False)
    one = decode_step(moe, gpu, Topology(8), engine, batch=1, context=1000)
    many = decode_step(moe, gpu, Topology(8), engine, batch=64, context=1000)
    assert many.memory_s > 4 * one.memory_s
    assert decode_step(dense, gpu, Topology(8), engine, batch=1, context=1000).memory_s > 10 * one.memory_s


def test_moe_grouped_gemm_pays_its_tile_at_small_batch() -> None:
    """A touched expert computes a whole tile of rows however few tokens it got: at batch 1 the routed
    FLOPs are the tile's (16 rows), not one token's; at a batch that fills the tiles, the tokens'."""
    from advisor.estimate.serving import linear_flops

    moe = ServedModel(30.5e9, 3.3e9, 61e9, 48, 2048, 98304, 128, 8)
    assert linear_flops(moe, 1, 16) > 5 * linear_flops(moe, 1, 1)
    assert linear_flops(moe, 4096, 16) == pytest.approx(linear_flops(moe, 4096, 1))


def test_4bit_and_fp8_are_faster_than_bf16_at_small_batch() -> None:
    """At one stream a decode step reads the weights: AWQ (4.25 bits) and FP8 (8 bits) read 3.8x and 2x
    fewer bytes than BF16, so their streams are faster (not proportionally: the fixed per-layer costs
    stay)."""
    from advisor.engine.host import PluginHost
    from advisor.engine.session import Session
    from advisor.estimate.serving import device_capacity

    catalog = Session(host=PluginHost(strict=False).load(entrypoints=False)).context.catalog
    record = catalog.models["meta-llama/Llama-3.1-8B-Instruct"]
    assert record.architecture is not None and record.params is not None
    speed = {
        fmt: device_capacity(
            record.architecture, float(record.params), float(record.params), fmt, catalog.hardware["l40s"],
            "vllm", Topology(), Workload(512, 256, 1),
        ).per_stream_tokens_per_s
        for fmt in ("BF16", "FP8", "AWQ")
    }  # fmt: skip
    assert speed["AWQ"] > speed["FP8"] > speed["BF16"]
    assert speed["AWQ"] < 3.8 * speed["BF16"]


def test_enforce_eager_is_slow_at_small_batch_and_hidden_at_large() -> None:
    """Without CUDA graphs each layer's kernels are launched by the CPU (~300 µs per layer): a one-stream
    step of a 1B model (2.5 GB read: ~1-2 ms of GPU work; 16 layers = 4.8 ms of launches) becomes
    launch-bound; at a batch whose GPU work outlasts the launches, they overlap and cost nothing more."""
    engine, gpu = _catalog_engine()
    eager = replace(engine, enforce_eager=True)
    model = ServedModel(1.24e9, 1.24e9, 2.47e9, 16, 2048, 32768)  # Llama-3.2-1B in BF16
    small = decode_step(model, gpu, Topology(), engine, batch=1, context=1000).seconds
    small_eager = decode_step(model, gpu, Topology(), eager, batch=1, context=1000).seconds
    assert small_eager > 1.5 * small
    big = decode_step(model, gpu, Topology(), engine, batch=256, context=4000).seconds
    big_eager = decode_step(model, gpu, Topology(), eager, batch=256, context=4000).seconds
    assert big_eager == pytest.approx(big)


def test_ttft_grows_with_the_prompt_and_with_the_queue() -> None:
    """TTFT = per-request cost + the prompt's prefill + the prefills queued ahead: a 16k prompt waits
    longer than a 1k one, and 64 streams wait longer than one."""
    engine, gpu = _catalog_engine()
    model = llama_8b()
    short = serving_capacity(model, gpu, Topology(), engine, Workload(1024, 256, 1)).ttft_s
    long = serving_capacity(model, gpu, Topology(), engine, Workload(16000, 256, 1)).ttft_s
    busy = serving_capacity(model, gpu, Topology(), engine, Workload(1024, 256, 64)).ttft_s
    assert long > 5 * (short - engine.request_overhead_ms / 1000)
    assert busy > short


# ----------------------------------------------------------------------------- product path = harness


def _harness() -> Any:
    """benchmarks/serving_accuracy.py as a module (it is a script, not a package)."""
    return load_script("benchmarks/serving_accuracy.py")


def test_fit_rows_carry_serving_capacity_for_the_requested_workload(context: AdvisorContext) -> None:
    """``advisor fit MODEL --hardware 8xh100-sxm --engine vllm --tp 8 --concurrency 64 --input-tokens 1024
    --output-tokens 1024``: what an outsider types to check us. The row's ``serving`` names the workload
    and equals ``device_capacity`` (= ``serving_capacity`` of the same shapes) on the same inputs."""
    proc = advisor(
        "fit", "meta-llama/Llama-3.1-8B-Instruct", "--hardware", "8xh100-sxm", "--quant", "F16", "--engine", "vllm",
        "--tp", "8", "--concurrency", "64", "--input-tokens", "1024", "--output-tokens", "1024", "--format", "json",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    (row,) = json.loads(proc.stdout)["rows"]
    serving = row["serving"]
    assert (serving["input_tokens"], serving["output_tokens"], serving["concurrency"]) == (1024, 1024, 64)
    record = context.catalog.models["meta-llama/Llama-3.1-8B-Instruct"]
    assert record.architecture is not None and record.params is not None
    engine = serving_constants().engine("vllm")
    device = context.catalog.hardware["h100-sxm"]
    gpu = serving_constants().gpu("h100-sxm", device.memory_gib, device.bandwidth_gb_s, device.bf16_tflops or 0)
    model = served_model_from_config(record.architecture, float(record.params), float(record.params), 2.0)
    cap = serving_capacity(model, gpu, Topology(8, 1, 1, 8), engine, Workload(1024, 1024, 64))
    assert serving["checkpoint_format"] == "BF16"
    assert serving["output_tokens_per_s"] == round(cap.output_tokens_per_s, 1)
    assert serving["per_stream_tokens_per_s"] == round(cap.per_stream_tokens_per_s, 1)
    assert serving["ttft_s"] == round(cap.ttft_s, 3)
    assert serving["tpot_ms"] == round(cap.tpot_s * 1000, 2)


def test_workload_flags_need_a_serving_engine() -> None:
    """--input-tokens without --engine vllm/sglang is bad input (exit 2, the flag named), not ignored."""
    proc = advisor("fit", "meta-llama/Llama-3.1-8B-Instruct", "--hardware", "h100-sxm", "--input-tokens", "10")
    assert proc.returncode == 2
    assert "--input-tokens" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.parametrize(
    ("key", "catalog_id"),
    [
        ("llama-3.1-8b", "meta-llama/Llama-3.1-8B-Instruct"),
        ("qwen3-30b-a3b", "Qwen/Qwen3-30B-A3B"),
        ("gpt-oss-120b", "openai/gpt-oss-120b"),
    ],
)
def test_harness_and_product_derive_the_same_model_shapes(context: AdvisorContext, key: str, catalog_id: str) -> None:
    """The accuracy harness must judge the shapes the product uses: the catalog record through
    ``served_model_from_config`` and the harness entry (a config file or explicit numbers) agree on
    layers, hidden size, experts, top-k and KV bytes per token (within 5 %: gpt-oss's sliding layers)."""
    harness = _harness()
    shape = harness.read_models([harness.DATA], [])[key].model
    record = context.catalog.models[catalog_id]
    assert record.architecture is not None and record.params is not None
    product = served_model_from_config(
        record.architecture, float(record.params), float(record.active_params or record.params), shape.bytes_per_param
    )
    assert (product.layers, product.hidden, product.experts, product.experts_per_token, product.is_mla) == (
        shape.layers, shape.hidden, shape.experts, shape.experts_per_token, shape.is_mla,
    )  # fmt: skip
    assert product.kv_bytes_per_token == pytest.approx(shape.kv_bytes_per_token, rel=0.05)
    assert product.active_params == pytest.approx(shape.active_params, rel=0.05)


def test_harness_reads_extra_directories_without_double_counting(tmp_path: Path) -> None:
    """``--data DIR`` holding a copy of the design files plus its own: identical duplicate models and rows
    are kept once, only the directory's own rows count as new, and a differing model shape overrides
    with a note (the later file wins)."""
    harness = _harness()
    extra = tmp_path / "data"
    (extra / "configs").mkdir(parents=True)
    for name in ("serving_measurements.csv", "serving_models.yaml"):
        (extra / name).write_text((harness.DATA / name).read_text(encoding="utf-8"), encoding="utf-8")
    (extra / "configs" / "Llama-3-8B.json").write_text(
        (harness.DATA / "configs" / "Llama-3-8B.json").read_text(encoding="utf-8"), encoding="utf-8"
    )
    header = (harness.DATA / "serving_measurements.csv").read_text(encoding="utf-8").splitlines()[0]
    new_row = "x-1,https://example.org,2026-01-01,vllm,llama-3.1-8b,h100-sxm,1,1,512,256,8,output,900,,,new"
    (extra / "serving_measurements_x.csv").write_text(f"{header}\n{new_row}\n", encoding="utf-8")
    (extra / "serving_models_x.yaml").write_text(
        "qwen3-14b-awq:\n  params: 14.8e9\n  active_params: 14.8e9\n  weight_bytes: 9.0e9\n  layers: 40\n"
        "  hidden: 5120\n  kv_bytes_per_token: 163840\n  precision: bf16\n",
        encoding="utf-8",
    )
    notes: list[str] = []
    design = harness.read_rows([], [])
    rows = harness.read_rows([extra], notes)
    assert len(rows) == len(design) + 1
    assert [r.source for r in rows if r.new] == ["x-1"]
    models = harness.read_models([harness.DATA, extra], notes)
    assert models["qwen3-14b-awq"].model.weight_bytes == 9.0e9
    assert any("qwen3-14b-awq" in n for n in notes) and not any("llama-3.1-8b" in n for n in notes)


def test_harness_evaluates_every_held_out_split(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The harness reports in-sample, leave-one-source-out, leave-one-publisher-out, leave-one-device-class-out
    and leave-one-model-family-out figures for throughput, TTFT and TPOT (no fitted number is pinned).

    It runs on the 32 design rows (8 sources) copied to a directory of their own: every split refits the
    constants once per held-out group, which over all ~700 rows takes minutes (benchmarks/, not a unit test)."""
    import shutil

    harness = _harness()
    for name in ("serving_measurements.csv", "serving_models.yaml"):
        shutil.copy(harness.DATA / name, tmp_path / name)
    shutil.copytree(harness.DATA / "configs", tmp_path / "configs")
    monkeypatch.setattr(harness, "DATA", tmp_path)
    result = harness.evaluate([])
    assert result["rows"] <= 40  # the design rows only: the copy, not benchmarks/data/, was read
    splits = ("leave_one_source_out", "leave_one_publisher_out", "leave_one_device_class_out")
    for label in ("in_sample", *splits, "leave_one_model_family_out"):
        assert set(result[label]) == {"throughput", "ttft", "tpot"}
        assert result[label]["throughput"]["rows"] == result["rows"] > 0
    assert set(result["fitted"]) >= {"bandwidth_efficiency", "layer_overhead_us", "request_overhead_ms"}


def test_pages_of_one_publisher_are_held_out_together() -> None:
    """Seventeen GPUStack pages are one harness and one team: the strict split holds the publisher out, so a
    page is never tested while its siblings sit in the fit. GitHub pages group by owner, others by host."""
    harness = _harness()
    gpustack = "https://github.com/gpustack/gpustack/blob/main/docs/performance-lab/qwen3-8b/h100.md"
    assert harness.publisher(gpustack) == harness.publisher("https://github.com/GPUStack/other/issues/1")
    assert harness.publisher(gpustack) != harness.publisher("https://github.com/vllm-project/vllm/issues/20469")
    assert harness.publisher("https://www.blog.vllm.ai/2024/09/05/perf-update.html") == "blog.vllm.ai"
    rows = harness.read_rows([], [])
    assert len({r.publisher for r in rows}) < len({r.source for r in rows})

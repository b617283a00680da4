"""Benchmark modes, batched prefill, and prefill token budgets of the serving model.

Why these exist: published vLLM/SGLang numbers come from three kinds of runs (a closed loop at
``--max-concurrency c``; ``c`` prompts fired at once at request rate inf; an offline ``benchmark_latency``
batch). The accuracy harness predicts each row in its own mode through
:func:`advisor.estimate.serving.benchmark_capacity` (one formula shared with the product, which plans the
closed loop). Expected values come from the formulas in docs/serving.md §1.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from advisor.estimate.serving import (
    BENCHMARK_MODES,
    GIB,
    EngineEfficiency,
    ServedModel,
    ServingGpu,
    Topology,
    Workload,
    batched_prefill_seconds,
    benchmark_capacity,
    decode_step,
    layer_overhead_seconds,
    prefill_seconds,
    serving_capacity,
    serving_constants,
)
from tests.test_serving_model import _harness

H100 = ServingGpu(80 * GIB, 3350, 989.4, 450, 2, 50, 8)
# A dense 8B-like model: 32 layers, hidden 4096, 128 KiB of KV per token.
DENSE = ServedModel(8e9, 8e9, 16e9, 32, 4096, 131072)
# An engine with per-layer costs, so sharing a pass visibly saves them.
ENGINE = EngineEfficiency(
    memory_fraction=0.9,
    bandwidth_efficiency=0.7,
    compute_efficiency=0.5,
    step_overhead_ms=1.0,
    activation_reserve_gib=2.0,
    layer_overhead_us=20.0,
    eager_layer_overhead_us=300.0,
    prefill_compute_efficiency=0.4,
    prefill_token_budget=8192,
)


def test_one_prompt_in_one_pass_is_the_closed_loop_prefill() -> None:
    """One formula: the closed loop's per-prompt prefill is the batched prefill of one prompt in one pass."""
    for prompt in (128, 2048, 16000):
        assert batched_prefill_seconds(DENSE, H100, Topology(), ENGINE, prompt, 1, passes=1) == pytest.approx(
            prefill_seconds(DENSE, H100, Topology(), ENGINE, prompt)
        )


def test_prompts_sharing_a_pass_share_its_fixed_costs() -> None:
    """32 prompts of 200 tokens (6400 tokens) fit one 8192-token pass: the per-layer costs (32 x 320 µs =
    10 ms, eager because a prefill runs outside the CUDA graphs) and the weight read are paid once, not 32
    times; the FLOPs are all 32 prompts' (the pass costs at least their compute)."""
    one = prefill_seconds(DENSE, H100, Topology(), ENGINE, 200)
    together = batched_prefill_seconds(DENSE, H100, Topology(), ENGINE, 200, 32)
    fixed = DENSE.layers * layer_overhead_seconds(DENSE, ENGINE, True)
    assert fixed == pytest.approx(32 * 320e-6)
    assert together < 32 * one - 30 * fixed
    flops = 2 * 8e9 * 6400 + 32 * 2 * 32 * 200**2 * 4096
    assert together >= flops / (0.4 * 989.4e12)


def test_token_budget_sets_the_number_of_passes() -> None:
    """A 32k-token prompt with an 8192-token budget is four chunked passes (vLLM chunked prefill), each paying
    the per-layer costs; with a 2048 budget sixteen passes: the fixed part grows fourfold."""
    fixed = DENSE.layers * layer_overhead_seconds(DENSE, ENGINE, True)
    at_8k = batched_prefill_seconds(DENSE, H100, Topology(), ENGINE, 32768, 1)
    at_2k = batched_prefill_seconds(DENSE, H100, Topology(), replace(ENGINE, prefill_token_budget=2048), 32768, 1)
    assert at_2k - at_8k == pytest.approx(12 * fixed, rel=0.05)


def test_closed_mode_is_the_product_capacity() -> None:
    """``closed`` is exactly what ``advisor fit`` / ``plan`` compute (serving_capacity)."""
    load = Workload(1024, 256, 16)
    assert benchmark_capacity(DENSE, H100, Topology(), ENGINE, load, "closed") == serving_capacity(
        DENSE, H100, Topology(), ENGINE, load
    )


def test_burst_within_the_batch_is_one_closed_loop_cycle() -> None:
    """64 prompts fired at a server, all admitted: each prompt's prefill is its own pass (the server admits
    them one by one and each stalls the running batch), then 256 decode steps at batch 64. That is one cycle of
    the closed loop at concurrency 64: the same throughput and TPOT = step + 63 prefills spread over 256 tokens."""
    load = Workload(512, 256, 64)
    cap = benchmark_capacity(DENSE, H100, Topology(), ENGINE, load, "burst")
    one = prefill_seconds(DENSE, H100, Topology(), ENGINE, 512)
    step = decode_step(DENSE, H100, Topology(), ENGINE, 64, 512 + 128).seconds
    assert cap.output_tokens_per_s == pytest.approx(64 * 256 / (64 * one + 256 * step))
    assert cap.tpot_s == pytest.approx(step + 63 * one / 256)
    closed = serving_capacity(DENSE, H100, Topology(), ENGINE, load)
    assert cap.output_tokens_per_s == pytest.approx(closed.output_tokens_per_s)
    assert cap.batch == 64


def test_burst_beyond_the_batch_runs_in_waves_with_a_tail() -> None:
    """With max_num_seqs 256, 384 prompts run as a full wave of 256 and a half wave of 128: the tail wave
    decodes at half the batch for as many steps, so 384 prompts deliver less per second than 512 (two full
    waves), and both less than a closed loop holding 256 in flight with its batch always full."""
    engine = replace(ENGINE, max_num_seqs=256)

    def rate(n: int) -> float:
        return benchmark_capacity(DENSE, H100, Topology(), engine, Workload(200, 200, n), "burst").output_tokens_per_s

    assert rate(384) < rate(512)
    cap = benchmark_capacity(DENSE, H100, Topology(), engine, Workload(200, 200, 384), "burst")
    assert (cap.batch, cap.bound) == (256, "max-num-seqs")


def test_offline_batch_reports_the_batched_prefill_as_ttft() -> None:
    """benchmark_latency's fixed batch: every request's first token comes after the one batched prefill and one
    step (plus the per-request cost), so TTFT is that, and the run decodes the batch once."""
    load = Workload(128, 128, 8)
    cap = benchmark_capacity(DENSE, H100, Topology(), ENGINE, load, "offline")
    prefill = batched_prefill_seconds(DENSE, H100, Topology(), ENGINE, 128, 8)
    step = decode_step(DENSE, H100, Topology(), ENGINE, 8, 128 + 64).seconds
    assert cap.ttft_s == pytest.approx(ENGINE.request_overhead_ms / 1000 + prefill + step)
    assert cap.output_tokens_per_s == pytest.approx(8 * 128 / (prefill + 128 * step))


def test_unknown_mode_is_a_value_error() -> None:
    assert BENCHMARK_MODES == ("closed", "burst", "offline")
    with pytest.raises(ValueError, match="benchmark mode"):
        benchmark_capacity(DENSE, H100, Topology(), ENGINE, Workload(10, 10, 1), "open")


@pytest.mark.parametrize(
    ("engine", "device", "memory_gib", "budget"),
    [
        ("vllm", "h100-sxm", 80, 8192),  # >= 70 GiB: the larger OpenAI-server default
        ("vllm", "a100-80gb", 80, 2048),  # vLLM's A100 exception (PR #17885)
        ("vllm", "l40s", 48, 2048),
        ("sglang", "l40s", 48, 8192),  # 35-160 GiB
        ("sglang", "rtx-4090", 24, 2048),  # below 35 GiB
        ("sglang", "b200", 180, 16384),  # 160 GiB and above
    ],
)
def test_default_prefill_token_budget_follows_the_engines(
    engine: str, device: str, memory_gib: float, budget: int
) -> None:
    """vLLM --max-num-batched-tokens and SGLang --chunked-prefill-size defaults by GPU (catalog/serving_model.yaml)."""
    assert serving_constants().engine(engine, device, memory_gib).prefill_token_budget == budget


@pytest.mark.parametrize(
    ("notes", "mode"),
    [
        ("vLLM benchmark_latency.py (offline, batch size 1 = concurrency)", "offline"),
        ("1000 prompts fired at request-rate inf with no --max-concurrency: concurrency = 1000", "burst"),
        ("ShareGPT 640 prompts at request rate inf (concurrency = 640 fired at once)", "burst"),
        ("500 prompts at QPS inf so concurrency = 500", "burst"),
        ("300 prompts, 256 in / 128 out, request rate inf, --max-concurrency swept", "closed"),
        ("40 prompts at --max-concurrency 4, request-rate inf", "closed"),
        ("SGLang v0.5.7 TP=8 EP=1; output tput/GPU 74.6 x 8 GPUs", "closed"),
    ],
)
def test_harness_reads_the_benchmark_mode_from_the_notes(notes: str, mode: str) -> None:
    """A stated concurrency cap makes a request-rate-inf run a closed loop; without one the prompts are a burst."""
    assert _harness().benchmark_mode(notes) == mode


def test_harness_reads_a_stated_token_budget() -> None:
    """A row stating --max-num-batched-tokens / --chunked-prefill-size is predicted with that budget."""
    harness = _harness()
    assert harness._stated_prefill_budget("--chunked-prefill-size 16384 --attention-backend x") == 16384
    assert harness._stated_prefill_budget("--max-num-batched-tokens 8192") == 8192
    assert harness._stated_prefill_budget("nothing") is None


def test_rows_contradicting_their_own_numbers_are_left_out() -> None:
    """No stream emits faster than 1 / TPOT, so c streams cannot exceed c / TPOT: a row published at 266 tok/s
    with 1000 streams at 6.24 s per token (160 tok/s at most) is inconsistent and skipped with a note; one
    within the factor 1.5 of slack (averages, read-off charts) is kept; decode-only rows are not judged."""
    harness = _harness()
    row = harness.Row("s", "sglang", "m", "g", 1, 1, 215, 196, 1000, "output", 266.0, None, 6.244, False)
    assert not harness.self_consistent(row)
    assert harness.self_consistent(replace(row, measured=200.0))
    assert harness.self_consistent(replace(row, metric="decode"))
    assert harness.self_consistent(replace(row, tpot_s=None))

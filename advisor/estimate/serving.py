"""Serving capacity of a continuous-batching engine (vLLM, SGLang) on TP x PP x DP GPUs: pure roofline maths.

Why a separate model from :mod:`advisor.estimate.speed`: that one sizes one llama.cpp stream on one
layer split. A serving engine batches many sequences into every forward pass, splits each layer over
the GPUs of a node (tensor parallel, TP), splits the layers over nodes (pipeline parallel, PP) and
runs independent copies (data-parallel replicas, DP). Its capacity comes from first principles, the
way roofline planners (LLM-Viewer, llm-analysis, the "transformer inference arithmetic" write-ups) do,
plus the fixed costs an engine pays that a pure roofline misses:

- **Decode step** (every sequence of the batch advances one token): each GPU reads its share of the
  active weights once per micro-batch plus the KV cache of every sequence, against its memory
  bandwidth, bounded below by compute. For a mixture of experts the weights read are the shared part
  plus the experts the batch actually touches: with batch ``b`` and top-``k`` routing over ``E``
  experts, the expected number of distinct experts per layer is ``E x (1 - (1 - k/E)^b)``; the
  grouped GEMM of a touched expert computes at least one tile of ``moe_tile_tokens`` rows however
  few tokens were routed to it (fused-MoE kernels pad each expert's tokens to the tile).
- **Fixed costs of a step**: a per-step cost (scheduler, sampling, CUDA-graph replay), a per-layer
  cost (the kernels of a layer each take a few microseconds however small their work: the reason a
  small model or a small per-GPU shard reaches a low share of peak bandwidth), extra per MoE layer
  (routing, token permutation, grouped GEMMs) and per MLA layer (its extra projections). Without
  CUDA graphs (``--enforce-eager``) every layer also pays the CPU launch of its kernels.
- **Tensor parallel** pays two all-reduces per layer (after attention and after the MLP, Megatron-LM)
  of ``batch x hidden x activation bytes``: a fixed latency per call (latency-bound at small batch)
  plus the ring's ``2(n-1)/n x size / link bandwidth``; across nodes the node-local reduction is
  followed by an all-reduce of the node's shard over the network, with its own latency.
- **Pipeline parallel**: the batch is split into ``min(PP, batch)`` micro-batches that stream through
  the stages; each stage re-reads its weights per micro-batch, and a token pays ``PP - 1`` inter-node
  activation transfers.
- **Prefill** of a prompt: ``2 x active params x prompt + 2 x layers x prompt^2 x hidden`` FLOPs, but
  never faster than reading the weights the prompt's tokens touch (a MoE prompt touches every expert),
  plus its all-reduces and the per-layer kernel costs.
- Under a closed-loop load of ``c`` concurrent requests (``benchmark_serving --max-concurrency c``)
  every request needs one prefill per ``output`` decode steps; chunked prefill runs those prefills
  inside the decode steps, so a cycle is ``output`` steps and ``c`` prefills: aggregate output
  tokens/s ``= c x output / (output x t_step + c x t_prefill)``; a stream's TPOT (first token
  excluded, as benchmark_serving reports it) is ``t_step + (c - 1) x t_prefill / output`` (the
  others' prefills stall its steps); TTFT is a fixed per-request cost (HTTP, tokenisation,
  scheduling), one prefill, on average half of the prefills queued ahead, and one step.
- **Benchmark modes** (:func:`benchmark_capacity`): the product plans the closed loop; published runs that
  fire every prompt at once (``burst``) or run one offline batch (``offline``) are predicted as waves of the
  batch the engine admits, the offline batch prefilled together in passes of the engine's token budget
  (vLLM ``--max-num-batched-tokens``, SGLang ``--chunked-prefill-size``). The accuracy harness calls it.
- **KV memory** bounds the concurrency: ``memory x fraction - weights per GPU - activation reserve``
  on every GPU of the replica, over the KV bytes of one request (``prompt + output`` tokens).

The constants (catalog/serving_model.yaml) are documented where a source gives them (memory
fractions, link bandwidths, all-reduce latencies, the MoE tile, eager launch costs) and fitted on
published measurements where none does (bandwidth and compute shares, per-step and per-layer costs;
benchmarks/serving_accuracy.py). Everything here is an estimate; the measured band is in docs/serving.md.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

from advisor.catalog.tables import load_table
from advisor.estimate.memory import kv_cache_read_bytes

if TYPE_CHECKING:
    from advisor.catalog.records import ArchitectureConfig, HardwareRecord

GIB = 1024**3

# ----------------------------------------------------------------------------- the inputs


@dataclass(frozen=True)
class ServedModel:
    """The numbers of a model the serving maths needs (all bytes as stored, e.g. BF16 = 2 per param).

    ``mla``: the attention is DeepSeek's multi-head latent attention (extra projections per layer, a
    compressed KV cache that every TP rank keeps whole); ``None`` means "MLA exactly when the KV cache is
    not split by TP", the only MLA signal older model records carry.
    """

    params: float
    active_params: float
    weight_bytes: float
    layers: int
    hidden: int
    kv_bytes_per_token: float
    experts: int = 0
    experts_per_token: int = 0
    kv_split_by_tp: bool = True
    mla: bool | None = None
    #: Bytes per parameter outside the routed experts when it differs from theirs (gpt-oss in MXFP4 and
    #: Kimi-K2-Thinking in INT4 quantize only the routed experts and keep attention and the rest in BF16).
    shared_bytes_per_param: float | None = None

    @property
    def bytes_per_param(self) -> float:
        return self.weight_bytes / self.params

    @property
    def shared_bytes(self) -> float:
        """Bytes of the weights outside the routed experts (all of a dense model)."""
        shared = self.params - self.routed_expert_params
        bpp = self.shared_bytes_per_param if self.shared_bytes_per_param is not None else self.bytes_per_param
        return min(self.weight_bytes, shared * bpp)

    @property
    def is_mla(self) -> bool:
        return (not self.kv_split_by_tp) if self.mla is None else self.mla

    @property
    def routed_expert_params(self) -> float:
        """Parameters in the routed experts: from ``total = shared + P_e`` and ``active = shared + P_e k/E``."""
        if self.experts <= 0 or self.experts_per_token <= 0 or self.experts_per_token >= self.experts:
            return 0.0
        return (self.params - self.active_params) / (1.0 - self.experts_per_token / self.experts)


@dataclass(frozen=True)
class ServingGpu:
    """One GPU and its links: memory, bandwidth, dense tensor TFLOPS at the weights' precision.

    ``link_latency_us`` / ``inter_node_latency_us``: the fixed cost of one all-reduce call inside the node /
    of the step between nodes (not per ring hop: small all-reduces are one-shot kernels).
    """

    memory_bytes: float
    bandwidth_gb_s: float
    tflops: float
    link_gb_s: float
    link_latency_us: float
    inter_node_gb_s: float
    inter_node_latency_us: float
    backend: str = "cuda"


@dataclass(frozen=True)
class Topology:
    """How one model is laid out: TP inside a node, PP across nodes, DP independent replicas."""

    tensor_parallel: int = 1
    pipeline_parallel: int = 1
    data_parallel: int = 1
    gpus_per_node: int = 8

    def __post_init__(self) -> None:
        for name in ("tensor_parallel", "pipeline_parallel", "data_parallel", "gpus_per_node"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1")

    @property
    def gpus_per_replica(self) -> int:
        return self.tensor_parallel * self.pipeline_parallel

    @property
    def gpus(self) -> int:
        return self.gpus_per_replica * self.data_parallel

    @property
    def nodes_per_replica(self) -> int:
        return math.ceil(self.gpus_per_replica / self.gpus_per_node)

    @property
    def nodes(self) -> int:
        return math.ceil(self.gpus / self.gpus_per_node)


@dataclass(frozen=True)
class EngineEfficiency:
    """The constants of one engine and its KV memory fraction (see catalog/serving_model.yaml).

    ``enforce_eager``: the engine runs without CUDA graphs (vLLM ``--enforce-eager``, SGLang
    ``--disable-cuda-graph``): every layer of a decode step then also pays ``eager_layer_overhead_us``.
    ``max_num_seqs``: the scheduler's cap on running sequences (vLLM ``--max-num-seqs``; 0: none), on top
    of the KV limit. ``prefill_token_budget``: the most prompt tokens one forward pass takes (vLLM
    ``--max-num-batched-tokens``, SGLang ``--chunked-prefill-size``), used when prompts are prefilled together.
    ``rocm_efficiency``: the share of the bandwidth and compute efficiencies the engine reaches on AMD GPUs
    (ROCm kernels), fitted on the published MI300X/MI325X runs.
    """

    memory_fraction: float
    bandwidth_efficiency: float
    compute_efficiency: float
    step_overhead_ms: float
    activation_reserve_gib: float
    layer_overhead_us: float = 0.0
    moe_layer_overhead_us: float = 0.0
    activation_bytes: float = 2.0
    mla_layer_overhead_us: float = 0.0
    eager_layer_overhead_us: float = 0.0
    request_overhead_ms: float = 0.0
    moe_tile_tokens: int = 1
    enforce_eager: bool = False
    prefill_compute_efficiency: float | None = None
    max_num_seqs: int = 0
    rocm_efficiency: float = 1.0
    prefill_token_budget: int = 8192

    @property
    def prefill_efficiency(self) -> float:
        """Share of the TFLOPS a prefill reaches (the decode one when no separate value is given)."""
        return self.compute_efficiency if self.prefill_compute_efficiency is None else self.prefill_compute_efficiency

    def vendor_factor(self, gpu: ServingGpu) -> float:
        """The share of the CUDA efficiencies the engine reaches on this GPU's software stack (ROCm: fitted)."""
        return self.rocm_efficiency if gpu.backend == "rocm" else 1.0


@dataclass(frozen=True)
class Workload:
    """A closed-loop load: ``concurrency`` requests in flight, each ``prompt_tokens`` in, ``output_tokens`` out."""

    prompt_tokens: int
    output_tokens: int
    concurrency: int

    def __post_init__(self) -> None:
        if self.prompt_tokens < 1 or self.output_tokens < 1 or self.concurrency < 1:
            raise ValueError("prompt_tokens, output_tokens and concurrency must be at least 1")


# ----------------------------------------------------------------------------- the formulas


def expected_active_experts(experts: int, top_k: int, batch: float) -> float:
    """Distinct experts a batch of ``batch`` tokens touches in one layer: ``E x (1 - (1 - k/E)^b)``."""
    if experts <= 0:
        return 0.0
    if not 0 < top_k <= experts:
        raise ValueError("top_k must be between 1 and the number of experts")
    return float(experts * (1.0 - (1.0 - top_k / experts) ** max(batch, 0.0)))


def ring_allreduce_seconds(message_bytes: float, gpus: int, link_gb_s: float, latency_us: float) -> float:
    """One all-reduce over ``gpus``: ``latency + 2(n-1)/n x size / bandwidth``; zero on one GPU.

    The latency is per call: small all-reduces run as one-shot kernels whose cost barely depends on the
    GPU count (vLLM/TensorRT-LLM custom all-reduce on 8 H100: 6-10 µs from 512 B to 32 KB, sglang #2904);
    large ones are bandwidth-bound rings (the ``2(n-1)/n`` bus factor of nccl-tests).
    """
    if gpus <= 1:
        return 0.0
    return latency_us * 1e-6 + 2 * (gpus - 1) / gpus * message_bytes / (link_gb_s * 1e9)


def weights_read_per_microbatch(model: ServedModel, microbatch: float) -> float:
    """Bytes of weights one micro-batch reads (whole model): shared weights plus the experts it touches."""
    expert_params = model.routed_expert_params
    if expert_params <= 0:
        return model.weight_bytes
    touched = expected_active_experts(model.experts, model.experts_per_token, microbatch) / model.experts
    shared = model.shared_bytes
    return shared + (model.weight_bytes - shared) * touched


def linear_flops(model: ServedModel, tokens: float, tile_tokens: int = 1) -> float:
    """FLOPs of the weight matmuls for ``tokens`` tokens: ``2 x active x tokens`` for a dense model.

    A MoE's routed experts compute at least ``tile_tokens`` rows per touched expert (the fused-MoE
    kernels pad each expert's token group to the GEMM tile), so a small batch pays for the tile.
    """
    expert_params = model.routed_expert_params
    if expert_params <= 0:
        return 2.0 * model.active_params * tokens
    touched = expected_active_experts(model.experts, model.experts_per_token, tokens)
    routed_per_expert = expert_params / model.experts
    per_expert_tokens = tokens * model.experts_per_token / touched if touched > 0 else 0.0
    shared = model.params - expert_params
    return 2.0 * (shared * tokens + routed_per_expert * touched * max(per_expert_tokens, float(tile_tokens)))


def weights_bytes_per_gpu(model: ServedModel, topology: Topology) -> float:
    """Weights each GPU of a replica holds (TP splits every layer, PP splits the layers)."""
    return model.weight_bytes / topology.gpus_per_replica


def tp_allreduce_seconds(message_bytes: float, gpu: ServingGpu, topology: Topology) -> float:
    """One tensor-parallel all-reduce: inside the node; hierarchical when TP spans nodes.

    Across nodes NCCL reduces inside each node first, all-reduces the node's shard
    (``size / GPUs per node``) over the network between nodes, then gathers inside the node.
    """
    tp = topology.tensor_parallel
    if tp <= topology.gpus_per_node:
        return ring_allreduce_seconds(message_bytes, tp, gpu.link_gb_s, gpu.link_latency_us)
    nodes = math.ceil(tp / topology.gpus_per_node)
    inside = ring_allreduce_seconds(message_bytes, topology.gpus_per_node, gpu.link_gb_s, gpu.link_latency_us)
    shard = message_bytes / topology.gpus_per_node
    return inside + ring_allreduce_seconds(shard, nodes, gpu.inter_node_gb_s, gpu.inter_node_latency_us)


def layer_overhead_seconds(model: ServedModel, engine: EngineEfficiency, eager: bool) -> float:
    """The fixed kernel cost of one layer's forward: dense part, plus MoE and MLA parts, plus eager launches."""
    us = engine.layer_overhead_us
    if model.experts > 0:
        us += engine.moe_layer_overhead_us
    if model.is_mla:
        us += engine.mla_layer_overhead_us
    if eager:
        us += engine.eager_layer_overhead_us
    return us * 1e-6


@dataclass(frozen=True)
class DecodeStep:
    """One decode step of the whole batch: its parts and total (seconds).

    The GPU's work (memory or compute, all-reduces, per-layer kernel costs) and the CPU's kernel launches
    (``launch_s``, only without CUDA graphs) overlap, since launches are asynchronous: the step takes the
    longer of the two, plus the engine's per-step cost (``step_s``: scheduling, sampling).
    """

    memory_s: float
    compute_s: float
    tp_comm_s: float
    pp_comm_s: float
    overhead_s: float
    launch_s: float = 0.0
    step_s: float = 0.0

    @property
    def seconds(self) -> float:
        gpu = max(self.memory_s, self.compute_s) + self.tp_comm_s + self.pp_comm_s + self.overhead_s
        return max(gpu, self.launch_s) + self.step_s


def decode_step(
    model: ServedModel, gpu: ServingGpu, topology: Topology, engine: EngineEfficiency, batch: int, context: float
) -> DecodeStep:
    """Every sequence of ``batch`` (mean ``context`` tokens cached) advances one token."""
    tp, pp = topology.tensor_parallel, topology.pipeline_parallel
    microbatches = max(1, min(pp, batch))
    micro = batch / microbatches
    weights = weights_read_per_microbatch(model, micro) * microbatches / (tp * pp)
    kv_share = tp if model.kv_split_by_tp else 1
    kv = batch * context * model.kv_bytes_per_token / (kv_share * pp)
    vendor = engine.vendor_factor(gpu)
    memory = (weights + kv) / (vendor * engine.bandwidth_efficiency * gpu.bandwidth_gb_s * 1e9)
    flops = linear_flops(model, micro, engine.moe_tile_tokens) * microbatches
    compute = flops / (tp * pp * vendor * engine.compute_efficiency * gpu.tflops * 1e12)
    message = micro * model.hidden * engine.activation_bytes
    tp_comm = 2 * model.layers / pp * microbatches * tp_allreduce_seconds(message, gpu, topology)
    pp_comm = (pp - 1) * (gpu.inter_node_latency_us * 1e-6 + message / (gpu.inter_node_gb_s * 1e9)) if pp > 1 else 0.0
    overhead = model.layers * layer_overhead_seconds(model, engine, False) * microbatches / pp
    # Without CUDA graphs the CPU launches every kernel; launches overlap the GPU's work (they are
    # asynchronous), so they only cost when they take longer than it.
    launch = model.layers * engine.eager_layer_overhead_us * 1e-6 * microbatches / pp if engine.enforce_eager else 0.0
    return DecodeStep(memory, compute, tp_comm, pp_comm, overhead, launch, engine.step_overhead_ms / 1000.0)


def prefill_seconds(
    model: ServedModel, gpu: ServingGpu, topology: Topology, engine: EngineEfficiency, prompt: int
) -> float:
    """One prompt's prefill pass (under a closed-loop load each prompt is its own pass).

    ``max(compute, weights the tokens touch / bandwidth)`` + all-reduces + the per-layer costs. Compute is
    ``2 x active x prompt + 2 x layers x prompt^2 x hidden`` FLOPs over the TP GPUs; a MoE prompt touches
    (nearly) every expert, so a short prompt on a big MoE is bound by reading them. A prefill runs outside
    the captured CUDA graphs and pays the eager per-layer cost on top of its work: fitted on the published
    runs, it behaves as a serial per-prompt cost (input processing, scheduling, graph-less launches), not
    as an overlapped one, and each prompt as its own pass (prompts sharing a pass fit worse).
    """
    return batched_prefill_seconds(model, gpu, topology, engine, prompt, 1, passes=1)


def batched_prefill_seconds(
    model: ServedModel,
    gpu: ServingGpu,
    topology: Topology,
    engine: EngineEfficiency,
    prompt: int,
    prompts: int,
    passes: int | None = None,
) -> float:
    """``prompts`` prompts of ``prompt`` tokens prefilled together, packed into passes of at most
    ``engine.prefill_token_budget`` tokens (vLLM ``--max-num-batched-tokens``, SGLang ``--chunked-prefill-size``).

    The FLOPs are those of every prompt (weights for all tokens, attention per prompt); every pass reads the
    weights its tokens touch, pays its all-reduces and the per-layer costs once. ``passes`` overrides the
    packing (one pass for :func:`prefill_seconds`). This is how a batch submitted at once is prefilled (an
    offline batch, or prompts fired at request rate inf): the per-pass costs are shared by the prompts of a pass.
    """
    if prompt < 1 or prompts < 1:
        raise ValueError("prompt and prompts must be at least 1")
    tp, pp = topology.tensor_parallel, topology.pipeline_parallel
    tokens = prompt * prompts
    if passes is None:
        passes = max(1, math.ceil(tokens / max(engine.prefill_token_budget, 1)))
    per_pass = tokens / passes
    attention = 2.0 * model.layers * prompt**2 * model.hidden * prompts
    flops = linear_flops(model, tokens, engine.moe_tile_tokens) + attention
    vendor = engine.vendor_factor(gpu)
    compute = flops / (tp * vendor * engine.prefill_efficiency * gpu.tflops * 1e12)
    bandwidth = vendor * engine.bandwidth_efficiency * gpu.bandwidth_gb_s * 1e9
    memory = passes * weights_read_per_microbatch(model, per_pass) / (tp * pp) / bandwidth
    message = per_pass * model.hidden * engine.activation_bytes
    comm = passes * 2 * model.layers * tp_allreduce_seconds(message, gpu, topology)
    pp_s = passes * (pp - 1) * (gpu.inter_node_latency_us * 1e-6 + message / (gpu.inter_node_gb_s * 1e9))
    overhead = passes * model.layers * layer_overhead_seconds(model, engine, True)
    return max(compute, memory) + comm + pp_s + overhead


def kv_capacity_tokens(model: ServedModel, gpu: ServingGpu, topology: Topology, engine: EngineEfficiency) -> float:
    """Tokens of KV cache one replica can hold; ``<= 0`` when the weights do not fit.

    Per GPU: ``memory x fraction - weights per GPU - activation reserve`` (vLLM ``--gpu-memory-utilization``,
    SGLang ``--mem-fraction-static``). KV is split by TP (heads) and PP (layers); MLA's latent cache
    is replicated on every TP rank (``kv_split_by_tp=False``).
    """
    free = gpu.memory_bytes * engine.memory_fraction - weights_bytes_per_gpu(model, topology)
    free -= engine.activation_reserve_gib * GIB
    kv_share = topology.tensor_parallel if model.kv_split_by_tp else 1
    return free * kv_share * topology.pipeline_parallel / model.kv_bytes_per_token


def max_concurrency(
    model: ServedModel, gpu: ServingGpu, topology: Topology, engine: EngineEfficiency, tokens_per_request: int
) -> int:
    """Requests of ``tokens_per_request`` whose KV fits in one replica at once (0 when nothing fits)."""
    if tokens_per_request < 1:
        raise ValueError("tokens_per_request must be at least 1")
    return max(0, int(kv_capacity_tokens(model, gpu, topology, engine) // tokens_per_request))


@dataclass(frozen=True)
class ServingCapacity:
    """What one replica (and the DP copies) delivers under a closed-loop load: an estimate."""

    concurrency: int
    batch: int
    max_concurrency: int
    output_tokens_per_s: float
    per_stream_tokens_per_s: float
    ttft_s: float
    tpot_s: float
    decode_step_s: float
    prefill_s: float
    bound: str
    replicas: int

    @property
    def total_output_tokens_per_s(self) -> float:
        return self.output_tokens_per_s * self.replicas


def serving_capacity(
    model: ServedModel, gpu: ServingGpu, topology: Topology, engine: EngineEfficiency, workload: Workload
) -> ServingCapacity:
    """Aggregate and per-stream output tokens/s, TTFT and TPOT of one replica at ``workload.concurrency``.

    Requests above the KV limit or the engine's ``max_num_seqs`` wait (the batch is capped at the
    smaller); the waiting ones lengthen TTFT by whole request lifetimes. Raises ValueError when the weights do not fit.
    """
    tokens = workload.prompt_tokens + workload.output_tokens
    limit = max_concurrency(model, gpu, topology, engine, tokens)
    if limit < 1:
        raise ValueError("the weights and one request's KV cache do not fit in this topology")
    batch = min(workload.concurrency, limit)
    if engine.max_num_seqs > 0:
        batch = min(batch, engine.max_num_seqs)
    context = workload.prompt_tokens + workload.output_tokens / 2.0
    step = decode_step(model, gpu, topology, engine, batch, context)
    prefill = prefill_seconds(model, gpu, topology, engine, workload.prompt_tokens)
    # Each request's prefill is its own pass in the cycle: the published closed-loop runs fit this better
    # than prompts sharing a pass up to the batched-token budget (tried: 50 % -> 44 % within 25 %).
    cycle = workload.output_tokens * step.seconds + batch * prefill
    output = batch * workload.output_tokens / cycle
    tpot = step.seconds + (batch - 1) * prefill / workload.output_tokens
    prefill_share = batch * prefill / cycle
    ttft = engine.request_overhead_ms / 1000.0 + prefill * (1.0 + (batch - 1) * prefill_share / 2.0) + step.seconds
    waiting = workload.concurrency - batch
    if waiting > 0:
        ttft += math.ceil(waiting / batch) * workload.output_tokens * tpot
    bound = "compute" if step.compute_s > step.memory_s else "memory"
    if batch < workload.concurrency:
        bound = "kv-cache" if batch == limit else "max-num-seqs"
    return ServingCapacity(
        concurrency=workload.concurrency,
        batch=batch,
        max_concurrency=limit,
        output_tokens_per_s=output,
        per_stream_tokens_per_s=1.0 / tpot,
        ttft_s=ttft,
        tpot_s=tpot,
        decode_step_s=step.seconds,
        prefill_s=prefill,
        bound=bound,
        replicas=topology.data_parallel,
    )


#: How a published benchmark loads the engine. ``closed``: ``c`` requests in flight, a new one as one ends
#: (``benchmark_serving --max-concurrency c``; what the product plans for). ``burst``: ``c`` requests submitted
#: at once (request rate inf without a concurrency cap) and the run lasts until the last one ends. ``offline``:
#: one fixed batch of ``c`` prompts (``benchmark_latency``, ``LLM.generate``): prefilled together, then decoded.
BENCHMARK_MODES = ("closed", "burst", "offline")


def benchmark_capacity(
    model: ServedModel,
    gpu: ServingGpu,
    topology: Topology,
    engine: EngineEfficiency,
    workload: Workload,
    mode: str = "closed",
) -> ServingCapacity:
    """The capacity a benchmark run in ``mode`` measures (see :data:`BENCHMARK_MODES`).

    ``closed`` is :func:`serving_capacity`. ``burst`` and ``offline``: the ``c`` requests run in waves of the
    batch the engine admits (KV limit, ``max_num_seqs``); a wave's prompts are prefilled, then decoded
    together, so the run's throughput is ``c x output / makespan`` and a last, partial wave (the tail) runs
    at a smaller batch. An offline batch is prefilled together (:func:`batched_prefill_seconds`, passes of
    the token budget; TPOT is the decode step). Prompts fired at a server are admitted one by one: each
    prompt's prefill is its own pass and stalls the running batch, as in the closed loop (what the published
    burst runs fit; prompts sharing passes put GPUStack's 1000-prompt runs 2-4x too fast). TTFT: the mean
    over requests of their wave's start, the passes up to theirs, one step and the per-request cost.
    Raises ValueError for an unknown mode or weights that do not fit.
    """
    if mode == "closed":
        return serving_capacity(model, gpu, topology, engine, workload)
    if mode not in BENCHMARK_MODES:
        raise ValueError(f"unknown benchmark mode {mode!r}; expected one of {list(BENCHMARK_MODES)}")
    prompt, output, n = workload.prompt_tokens, workload.output_tokens, workload.concurrency
    limit = max_concurrency(model, gpu, topology, engine, prompt + output)
    if limit < 1:
        raise ValueError("the weights and one request's KV cache do not fit in this topology")
    batch = min(n, limit)
    if engine.max_num_seqs > 0:
        batch = min(batch, engine.max_num_seqs)
    context = prompt + output / 2.0
    one_prompt = prefill_seconds(model, gpu, topology, engine, prompt)

    def wave(size: int) -> tuple[float, float, int]:
        """A wave's prefill seconds, its decode step seconds and its prefill passes."""
        step = decode_step(model, gpu, topology, engine, size, context).seconds
        if mode == "burst":
            return size * one_prompt, step, size
        tokens = size * prompt
        passes = max(1, math.ceil(tokens / max(engine.prefill_token_budget, 1)))
        return batched_prefill_seconds(model, gpu, topology, engine, prompt, size, passes), step, passes

    sizes = [batch] * (n // batch) + ([n % batch] if n % batch else [])
    start = ttft_sum = 0.0
    for size in sizes:
        prefill, step, passes = wave(size)
        ttft_sum += size * (start + prefill * (passes + 1) / (2 * passes) + step)
        start += prefill + output * step
    first = decode_step(model, gpu, topology, engine, batch, context)
    tpot = first.seconds + ((batch - 1) * one_prompt / output if mode == "burst" else 0.0)
    bound = "compute" if first.compute_s > first.memory_s else "memory"
    if batch < n:
        bound = "kv-cache" if batch == limit else "max-num-seqs"
    return ServingCapacity(
        concurrency=n,
        batch=batch,
        max_concurrency=limit,
        output_tokens_per_s=n * output / start,
        per_stream_tokens_per_s=1.0 / tpot,
        ttft_s=engine.request_overhead_ms / 1000.0 + ttft_sum / n,
        tpot_s=tpot,
        decode_step_s=first.seconds,
        prefill_s=wave(batch)[0],
        bound=bound,
        replicas=topology.data_parallel,
    )


def replicas_for_peak(peak_output_tokens_per_s: float, replica_output_tokens_per_s: float) -> int:
    """Replicas a peak load of output tokens/s needs: ``ceil(peak / per replica)``, at least one."""
    if replica_output_tokens_per_s <= 0:
        raise ValueError("replica_output_tokens_per_s must be positive")
    return max(1, math.ceil(peak_output_tokens_per_s / replica_output_tokens_per_s))


def concurrency_for_stream_floor(
    model: ServedModel,
    gpu: ServingGpu,
    topology: Topology,
    engine: EngineEfficiency,
    prompt_tokens: int,
    output_tokens: int,
    min_tokens_per_s: float,
) -> int:
    """The largest concurrency whose per-stream speed stays at or above ``min_tokens_per_s`` (0: none).

    Per-stream speed falls as concurrency rises, so a bisection over ``1..max_concurrency`` finds it.
    """
    limit = max_concurrency(model, gpu, topology, engine, prompt_tokens + output_tokens)

    def ok(c: int) -> bool:
        load = Workload(prompt_tokens, output_tokens, c)
        return serving_capacity(model, gpu, topology, engine, load).per_stream_tokens_per_s >= min_tokens_per_s

    if limit < 1 or not ok(1):
        return 0
    low, high = 1, limit
    while low < high:
        mid = (low + high + 1) // 2
        if ok(mid):
            low = mid
        else:
            high = mid - 1
    return low


#: The context at which :func:`served_model_from_config` averages the KV bytes per token (a serving request's
#: typical prompt + output: 1-8k tokens in the published benchmarks).
KV_REFERENCE_CONTEXT = 4096.0


def served_model_from_config(
    arch: ArchitectureConfig,
    params: float,
    active_params: float,
    bytes_per_param: float,
    kv_bytes_per_element: float = 2.0,
    shared_bytes_per_param: float | None = None,
) -> ServedModel:
    """A :class:`ServedModel` from a config.json: KV bytes per token from :mod:`advisor.estimate.memory`.

    ``kv_bytes_per_element`` is 2 for a BF16/FP16 cache and 1 for FP8 (``--kv-cache-dtype fp8``).
    ``shared_bytes_per_param``: the weights outside the routed experts are stored at this precision and only
    the experts at ``bytes_per_param`` (a checkpoint that quantizes the experts alone); None: all alike.
    """
    # KV bytes per cached token at a reference context: sliding-window layers (gpt-oss, Gemma) hold only
    # their window, so their share per token shrinks with context; full-attention layers hold every token.
    kv_f16 = kv_cache_read_bytes(arch, KV_REFERENCE_CONTEXT, "f16") / KV_REFERENCE_CONTEXT
    extra = arch.model_extra or {}
    mla = isinstance(extra.get("kv_lora_rank"), int) and int(extra["kv_lora_rank"]) > 0
    experts = arch.num_local_experts or int(extra.get("n_routed_experts") or extra.get("num_experts") or 0)
    k = arch.num_experts_per_tok or 0
    weight_bytes = params * bytes_per_param
    if shared_bytes_per_param is not None and experts > 0 and 0 < k < experts:
        routed = min(params, (params - active_params) / (1.0 - k / experts))
        weight_bytes = routed * bytes_per_param + (params - routed) * shared_bytes_per_param
    return ServedModel(
        params=params,
        active_params=active_params,
        weight_bytes=weight_bytes,
        layers=arch.num_hidden_layers,
        hidden=arch.hidden_size,
        kv_bytes_per_token=kv_f16 * kv_bytes_per_element / 2.0,
        experts=experts,
        experts_per_token=arch.num_experts_per_tok or 0,
        kv_split_by_tp=not mla,
        mla=mla,
        shared_bytes_per_param=shared_bytes_per_param,
    )


#: Bytes per parameter of a server checkpoint format: 16-bit 2; 8-bit (FP8, INT8) 1 plus per-block scales,
#: taken as 1; 4-bit with one 16-bit scale per group of 128 (AWQ, GPTQ W4A16) or one 8-bit scale per 32
#: (MXFP4, the OCP MX format) is 4 + 16/128 = 4 + 8/32 = 4.25 bits = 0.53125 bytes.
FORMAT_BYTES = {
    "BF16": 2.0,
    "FP8": 1.0,
    "INT8": 1.0,
    "GPTQ-INT8": 1.0,
    "AWQ": 0.53125,
    "GPTQ-INT4": 0.53125,
    "GPTQ": 0.53125,
    "INT4": 0.53125,
    "MXFP4": 0.53125,
}
#: Formats whose matrix multiplies run on FP8 tensor cores (the rest at BF16 rate).
FP8_FORMATS = frozenset({"FP8", "INT8", "GPTQ-INT8"})


def checkpoint_model(
    arch: ArchitectureConfig,
    params: float,
    active_params: float,
    checkpoint_format: str,
    experts_only: bool = False,
    bytes_per_param: float | None = None,
) -> ServedModel:
    """The :class:`ServedModel` of a checkpoint in ``checkpoint_format`` (its weight bytes: what must fit);
    ``bytes_per_param`` overrides the format's (a stated group size), ``experts_only`` keeps the rest in BF16."""
    if checkpoint_format not in FORMAT_BYTES:
        raise ValueError(f"unknown checkpoint format {checkpoint_format!r}; expected one of {sorted(FORMAT_BYTES)}")
    shared = FORMAT_BYTES["BF16"] if experts_only else None
    stored = bytes_per_param if bytes_per_param is not None else FORMAT_BYTES[checkpoint_format]
    return served_model_from_config(arch, params, active_params, stored, 2.0, shared)


def device_capacity(
    arch: ArchitectureConfig,
    params: float,
    active_params: float,
    checkpoint_format: str,
    device: HardwareRecord,
    engine: str,
    topology: Topology,
    workload: Workload,
    experts_only: bool = False,
    bytes_per_param: float | None = None,
) -> ServingCapacity:
    """One replica's capacity for a catalog model and device: what ``advisor plan`` and ``advisor fit --engine``
    both report. ``experts_only``: the checkpoint stores only the routed experts in ``checkpoint_format`` and
    the rest in BF16; ``bytes_per_param`` overrides the format's bytes per (quantized) weight. Raises ValueError
    for an unknown format, a device without bandwidth or TFLOPS, or weights that do not fit the topology."""
    model = checkpoint_model(arch, params, active_params, checkpoint_format, experts_only, bytes_per_param)
    fp8 = checkpoint_format in FP8_FORMATS
    tflops = (device.fp8_tflops if fp8 else device.bf16_tflops) or device.fp16_tflops or 0.0
    if tflops <= 0 or device.bandwidth_gb_s <= 0:
        raise ValueError(f"{device.id}: no TFLOPS or bandwidth in the catalog for a serving estimate")
    constants = serving_constants()
    gpu = constants.gpu(device.id, device.memory_gib, device.bandwidth_gb_s, tflops, device.backend)
    return serving_capacity(model, gpu, topology, constants.engine(engine, device.id, device.memory_gib), workload)


# ----------------------------------------------------------------------------- the constants


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class EngineRecord(_Strict):
    memory_fraction: float = Field(gt=0, le=1)
    memory_fraction_flag: str
    bandwidth_efficiency: float = Field(gt=0, le=1)
    compute_efficiency: float = Field(gt=0, le=1)
    prefill_compute_efficiency: float = Field(gt=0, le=1)
    rocm_efficiency: float = Field(gt=0, le=1)
    max_num_seqs: int = Field(ge=0)
    max_num_seqs_large_gpu: int = Field(ge=0)
    small_batch_devices: list[str] = Field(default_factory=list)
    step_overhead_ms: float = Field(ge=0)
    layer_overhead_us: float = Field(ge=0)
    moe_layer_overhead_us: float = Field(ge=0)
    mla_layer_overhead_us: float = Field(ge=0)
    eager_layer_overhead_us: float = Field(ge=0)
    request_overhead_ms: float = Field(ge=0)
    moe_tile_tokens: int = Field(ge=1)
    activation_reserve_gib: float = Field(ge=0)
    prefill_token_budgets: list[tuple[float, int]] = Field(min_length=1)
    source: str

    def prefill_token_budget(self, device_id: str, memory_gib: float) -> int:
        """The default prompt tokens per pass on a GPU: the tier with the largest ``min GiB`` it reaches
        (``small_batch_devices`` take the first tier, as vLLM's A100 exception does)."""
        tiers = sorted(self.prefill_token_budgets)
        if device_id in self.small_batch_devices:
            return tiers[0][1]
        return max((t for t in tiers if memory_gib >= t[0]), default=tiers[0])[1]


class LinkRecord(_Strict):
    gb_s: float = Field(gt=0)
    latency_us: float = Field(ge=0)
    source: str


#: GPU memory from which vLLM uses its larger batch defaults (``device_memory >= 70 * GiB_bytes``).
LARGE_GPU_GIB = 70.0


class ServingConstants(_Strict):
    """Typed view of catalog/serving_model.yaml."""

    engines: dict[str, EngineRecord]
    links: dict[str, LinkRecord]
    device_links: dict[str, str]
    default_intra_node_link: str
    default_inter_node_link: str
    activation_bytes: float
    sources: list[str]
    as_of: dt.date

    def engine(self, name: str, device_id: str | None = None, memory_gib: float | None = None) -> EngineEfficiency:
        """The engine's constants; with a device, its default ``max_num_seqs`` and prefill token budget there.

        vLLM raises the default from 256 to 1024 on GPUs of at least 70 GiB other than the A100
        (``EngineArgs.get_batch_defaults``); without a device no cap is applied.
        """
        if name not in self.engines:
            raise ValueError(f"unknown serving engine {name!r}; expected one of {sorted(self.engines)}")
        e = self.engines[name]
        seqs = 0
        budget = max(tokens for _, tokens in e.prefill_token_budgets)
        if device_id is not None and memory_gib is not None:
            large = memory_gib >= LARGE_GPU_GIB and device_id not in e.small_batch_devices
            seqs = e.max_num_seqs_large_gpu if large else e.max_num_seqs
            budget = e.prefill_token_budget(device_id, memory_gib)
        return EngineEfficiency(
            memory_fraction=e.memory_fraction,
            bandwidth_efficiency=e.bandwidth_efficiency,
            compute_efficiency=e.compute_efficiency,
            step_overhead_ms=e.step_overhead_ms,
            activation_reserve_gib=e.activation_reserve_gib,
            layer_overhead_us=e.layer_overhead_us,
            moe_layer_overhead_us=e.moe_layer_overhead_us,
            activation_bytes=self.activation_bytes,
            mla_layer_overhead_us=e.mla_layer_overhead_us,
            eager_layer_overhead_us=e.eager_layer_overhead_us,
            request_overhead_ms=e.request_overhead_ms,
            moe_tile_tokens=e.moe_tile_tokens,
            prefill_compute_efficiency=e.prefill_compute_efficiency,
            max_num_seqs=seqs,
            rocm_efficiency=e.rocm_efficiency,
            prefill_token_budget=budget,
        )

    def gpu(
        self, device_id: str, memory_gib: float, bandwidth_gb_s: float, tflops: float, backend: str = "cuda"
    ) -> ServingGpu:
        """A :class:`ServingGpu` for a catalog device: its links from ``device_links`` (or the defaults)."""
        intra = self.links[self.device_links.get(device_id, self.default_intra_node_link)]
        inter = self.links[self.default_inter_node_link]
        return ServingGpu(
            memory_bytes=memory_gib * GIB,
            bandwidth_gb_s=bandwidth_gb_s,
            tflops=tflops,
            link_gb_s=intra.gb_s,
            link_latency_us=intra.latency_us,
            inter_node_gb_s=inter.gb_s,
            inter_node_latency_us=inter.latency_us,
            backend=backend,
        )


@lru_cache(maxsize=1)
def serving_constants() -> ServingConstants:
    """The packaged serving constants, validated once."""
    return load_table("serving_model.yaml", ServingConstants)

"""The built-in deployment plan (trylast): engine, quant, GPUs, replicas and the launch command.

llama.cpp's server for CPU, Apple silicon, partial offload and a single GPU with few concurrent
streams (one binary, GGUF files); vLLM for CUDA/ROCm GPUs serving many streams or spanning
several GPUs (continuous batching, tensor and data parallelism); SGLang for agent workloads on
the same GPUs (multi-turn prefix reuse and constrained decoding). Replicas and devices per
replica come from COST001's metrics, so the plan deploys what was costed.
"""

from __future__ import annotations

import shlex

from advisor import AdvisorContext, Assessment, Deployment, Requirements, hookimpl
from advisor.catalog.planning import planning_defaults
from advisor.engine.sizing import Sizing, size_candidate
from advisor.estimate.constants import estimator_constants
from advisor.model.metrics import (
    DEVICES_PER_REPLICA,
    REPLICA_GROUPS_OWNED,
    REPLICA_REQUESTS_PER_MIN,
    REPLICAS,
    SPOT_MONTHLY_COST_USD,
    integer,
    number,
)

#: Above this many concurrent streams a single GPU is better served by a batching server.
LLAMA_CPP_MAX_STREAMS = 8
GPU_MEMORY_UTILIZATION = "0.90"


def _positive(value: int | None, default: int) -> int:
    return value if value is not None and value > 0 else default


def _gguf_name(repo_id: str, quant: str) -> str:
    return f"{repo_id.split('/')[-1]}-{quant}.gguf"


def _server_model(repo_id: str, quant: str) -> tuple[str, str | None, list[str]]:
    """The checkpoint a GPU server loads for a GGUF quant level, its ``--quantization`` and notes."""
    quantization = planning_defaults().server_quantization(quant)  # catalog/planning.yaml
    if quantization == "awq":
        return (
            f"{repo_id}-AWQ",
            "awq",
            [
                f"{quant} maps to 4-bit AWQ on a GPU server: {repo_id}-AWQ is the usual name of the publisher's AWQ "
                "build (Qwen publish them); if there is none, quantize with AutoAWQ / llm-compressor"
            ],
        )
    if quantization == "fp8":
        return repo_id, "fp8", [f"{quant} maps to FP8 weights quantized at load time from the original checkpoint"]
    return repo_id, None, []


@hookimpl(trylast=True)
def advisor_deployment_plan(
    candidate: Assessment, requirements: Requirements, context: AdvisorContext
) -> Deployment | None:
    chosen = candidate.candidate
    if chosen.kind != "open_source" or chosen.quant is None:
        return None
    sizing = size_candidate(chosen, context.catalog, requirements.context_tokens)
    metrics = candidate.metrics
    traffic = requirements.traffic
    on_hand = bool(requirements.on_hand_hardware)
    count = chosen.hardware_count or 1
    per_replica = _positive(integer(metrics, DEVICES_PER_REPLICA), count)
    replicas = _positive(integer(metrics, REPLICAS), 1)
    owned_groups = _positive(integer(metrics, REPLICA_GROUPS_OWNED), 1) if on_hand else 1
    record = sizing.device if sizing is not None else None
    gpu_server = (
        sizing is not None
        and sizing.fit.fits == "gpu"
        and record is not None
        and record.kind == "gpu"
        and record.backend in {"cuda", "rocm"}
    )
    several = per_replica > 1 or owned_groups > 1 or replicas > 1
    notes = _capacity_notes(candidate, requirements, per_replica, replicas, owned_groups, on_hand)
    if gpu_server and (several or traffic.peak_concurrency > LLAMA_CPP_MAX_STREAMS):
        data_parallel = owned_groups if on_hand else 1
        total = per_replica * (data_parallel if on_hand else replicas)
        if requirements.use_case == "agent":
            command, engine, extra = _sglang(chosen.id, chosen.quant, per_replica, data_parallel, requirements)
        else:
            command, engine, extra = _vllm(chosen.id, chosen.quant, per_replica, data_parallel, requirements)
        return Deployment(
            candidate=chosen.key,
            engine=engine,
            quant=chosen.quant,
            hardware=chosen.hardware,
            hardware_count=total,
            replicas=data_parallel if on_hand else replicas,
            command=command,
            notes=extra + notes,
        )
    return _llama_cpp(candidate, requirements, sizing, notes)


def _capacity_notes(
    candidate: Assessment,
    requirements: Requirements,
    per_replica: int,
    replicas: int,
    owned_groups: int,
    on_hand: bool,
) -> list[str]:
    chosen = candidate.candidate
    hardware = f"{per_replica}× {chosen.hardware}" if chosen.hardware else "the CPU"
    capacity = number(candidate.metrics, REPLICA_REQUESTS_PER_MIN)
    each = f"; each serves ≈ {capacity:,.3g} requests/min" if capacity is not None else ""
    notes = [
        f"{replicas} replica(s) of {hardware} for the peak ({requirements.traffic.peak_concurrency} concurrent "
        f"streams){each} (estimate; COST001)"
    ]
    if on_hand and replicas > owned_groups:
        notes.append(
            f"the peak needs {replicas} replicas but the machine holds {owned_groups}: add hardware or accept "
            "queueing at the peak"
        )
    elif not on_hand and replicas > 1:
        notes.append(f"run one instance per replica ({replicas}) behind a load balancer")
    spot = number(candidate.metrics, SPOT_MONTHLY_COST_USD)
    if spot is not None:
        notes.append(f"on spot/preemptible instances ≈ ${spot:,.0f}/month, only with a fallback for preemptions")
    return notes


def _vllm(
    repo_id: str, quant: str, tensor_parallel: int, data_parallel: int, requirements: Requirements
) -> tuple[str, str, list[str]]:
    model, quantization, notes = _server_model(repo_id, quant)
    parts = ["vllm", "serve", model, "--tensor-parallel-size", str(tensor_parallel)]
    if data_parallel > 1:
        parts += ["--data-parallel-size", str(data_parallel)]
    parts += ["--max-model-len", str(requirements.context_tokens), "--gpu-memory-utilization", GPU_MEMORY_UTILIZATION]
    if quantization:
        parts += ["--quantization", quantization]
    parts += ["--port", "8000"]
    notes.append(
        "vLLM: continuous batching (PagedAttention) for many concurrent streams; tensor parallelism splits a model "
        "over GPUs, data parallelism runs copies"
    )
    sglang = _sglang_parts(model, quantization, tensor_parallel, data_parallel, requirements)
    notes.append(f"SGLang serves the same checkpoint and reuses shared prompt prefixes: {shlex.join(sglang)}")
    return shlex.join(parts), "vllm", notes


def _sglang_parts(
    model: str, quantization: str | None, tensor_parallel: int, data_parallel: int, requirements: Requirements
) -> list[str]:
    parts = ["python", "-m", "sglang.launch_server", "--model-path", model, "--tp-size", str(tensor_parallel)]
    if data_parallel > 1:
        parts += ["--dp-size", str(data_parallel)]
    parts += ["--context-length", str(requirements.context_tokens)]
    if quantization:
        parts += ["--quantization", quantization]
    return [*parts, "--port", "30000"]


def _sglang(
    repo_id: str, quant: str, tensor_parallel: int, data_parallel: int, requirements: Requirements
) -> tuple[str, str, list[str]]:
    model, quantization, notes = _server_model(repo_id, quant)
    parts = _sglang_parts(model, quantization, tensor_parallel, data_parallel, requirements)
    notes.append(
        "SGLang for agents: RadixAttention reuses the shared prefix of multi-turn calls and its grammar backend "
        "constrains tool-call JSON; vLLM (`vllm serve`) is the alternative"
    )
    return shlex.join(parts), "sglang", notes


def _llama_cpp(
    candidate: Assessment, requirements: Requirements, sizing: Sizing | None, notes: list[str]
) -> Deployment:
    chosen = candidate.candidate
    assert chosen.quant is not None
    fit = sizing.fit if sizing is not None else None
    ctx = requirements.context_tokens
    parallel = max(1, min(requirements.traffic.peak_concurrency, estimator_constants().batching.max_streams))
    gpu_layers = fit.gpu_layers if fit is not None else 0
    parts = [
        "llama-server",
        "-m",
        _gguf_name(chosen.id, chosen.quant),
        "-ngl",
        str(gpu_layers),
        "-c",
        str(ctx * parallel),
        "--parallel",
        str(parallel),
        "--host",
        "127.0.0.1",
        "--port",
        "8080",
    ]
    lead = [
        "llama.cpp server: one binary, GGUF weights, CPU / Apple Metal / single-GPU with partial offload",
        f"download a {chosen.quant} GGUF of {chosen.id} (or let `llama-server -hf <publisher>/<model>-GGUF:"
        f"{chosen.quant}` fetch it where the network is allowed); `-c` is the total context shared by {parallel} "
        f"slot(s) of {ctx} tokens",
    ]
    fits = fit.fits if fit is not None else None
    if fits == "partial":
        lead.append(f"-ngl {gpu_layers}: partial offload, the remaining layers run on the CPU")
    if fits == "cpu":
        lead.append("CPU only: add --threads <physical cores>")
    return Deployment(
        candidate=chosen.key,
        engine="llama.cpp",
        quant=chosen.quant,
        hardware=chosen.hardware,
        hardware_count=chosen.hardware_count or 1,
        replicas=1,
        command=shlex.join(parts),
        notes=lead + notes,
    )

"""The built-in deployment plan (trylast): vLLM on CUDA/ROCm GPUs for multi-GPU or many concurrent
streams; llama.cpp server for one device, Apple, partial offload or CPU."""

from __future__ import annotations

import shlex

from advisor import AdvisorContext, Assessment, Deployment, Requirements, hookimpl
from advisor.sizing import size_candidate

#: vLLM weight options for each assessed variant; 4-bit needs a pre-quantized AWQ/GPTQ checkpoint.
VLLM_QUANTIZATION = {"F16": None, "Q8_0": "fp8", "Q4_K_M": "awq"}


def _gguf_name(repo_id: str, quant: str) -> str:
    return f"{repo_id.split('/')[-1]}-{quant}.gguf"


@hookimpl(trylast=True)
def advisor_deployment_plan(
    candidate: Assessment, requirements: Requirements, context: AdvisorContext
) -> Deployment | None:
    chosen = candidate.candidate
    if chosen.kind != "open_source" or chosen.quant is None:
        return None
    sizing = size_candidate(chosen, context.catalog, requirements.context_tokens)
    ctx = requirements.context_tokens
    parallel = min(requirements.traffic.peak_concurrency, 16)
    count = chosen.hardware_count or 1
    notes: list[str] = []
    concurrency = requirements.traffic.peak_concurrency
    on_cuda = sizing is not None and sizing.device is not None and sizing.device.backend in {"cuda", "rocm"}
    if sizing is not None and sizing.fit.fits == "gpu" and on_cuda and (count > 1 or concurrency > 8):
        quantization = VLLM_QUANTIZATION.get(chosen.quant)
        parts = [
            "vllm",
            "serve",
            chosen.id,
            "--tensor-parallel-size",
            str(count),
            "--max-model-len",
            str(ctx),
            "--gpu-memory-utilization",
            "0.90",
        ]
        if quantization:
            parts += ["--quantization", quantization]
            if quantization == "awq":
                notes.append(f"use an AWQ 4-bit checkpoint of {chosen.id} in place of the original weights")
        notes.append("vLLM batches many streams across the GPUs; llama.cpp is simpler for one device")
        return Deployment(
            candidate=chosen.key,
            engine="vllm",
            quant=chosen.quant,
            hardware=chosen.hardware,
            hardware_count=count,
            command=shlex.join(parts),
            notes=notes,
        )
    gpu_layers = sizing.fit.gpu_layers if sizing is not None else 0
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
    notes.append(
        f"download a {chosen.quant} GGUF of {chosen.id}; `-c` is the total context shared by "
        f"{parallel} parallel slots of {ctx} tokens"
    )
    if sizing is not None and sizing.fit.fits == "partial":
        notes.append(f"-ngl {gpu_layers}: partial offload, the remaining layers run on the CPU")
    if sizing is not None and sizing.fit.fits == "cpu":
        notes.append("CPU only: set --threads to the number of physical cores")
    return Deployment(
        candidate=chosen.key,
        engine="llama.cpp",
        quant=chosen.quant,
        hardware=chosen.hardware,
        hardware_count=count,
        command=shlex.join(parts),
        notes=notes,
    )

"""The built-in next steps (trylast) of the recommended road: for self-hosting the engine, quant,
GPUs, replicas and launch command; for an API how to integrate it (endpoint, model name, key
variable, rate-limit tier); for building the fine-tune that comes first and the training plan.

llama.cpp's server for CPU, Apple silicon, partial offload and a single GPU with few concurrent
streams (one binary, GGUF files); vLLM for CUDA/ROCm GPUs serving many streams or spanning
several GPUs (continuous batching, tensor and data parallelism); SGLang for agent workloads on
the same GPUs (multi-turn prefix reuse and constrained decoding). Replicas and devices per
replica come from COST001's metrics, so the plan deploys what was costed.
"""

from __future__ import annotations

import json
import shlex

from advisor import AdvisorContext, Assessment, Deployment, Requirements, hookimpl
from advisor.catalog.planning import planning_defaults
from advisor.engine.sizing import Sizing, size_candidate
from advisor.estimate.constants import estimator_constants
from advisor.estimate.cost_constants import cost_settings
from advisor.estimate.units import human_count
from advisor.model.metrics import (
    DEVICES_PER_REPLICA,
    REPLICA_GROUPS_OWNED,
    REPLICA_REQUESTS_PER_MIN,
    REPLICAS,
    SPOT_MONTHLY_COST_USD,
    PretrainingMetrics,
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
    if chosen.kind == "api":
        return _api_steps(candidate, requirements)
    if chosen.kind == "build":
        return _build_steps(candidate, requirements, context)
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
    if requirements.privacy.air_gapped:
        notes.append(
            "air gap: download the weights and the engine (container image or wheels) on a connected machine, "
            "verify their checksums, carry them in offline on approved media, and run with HF_HUB_OFFLINE=1 "
            "so nothing tries to reach the network"
        )
    elif requirements.privacy.on_prem_required:
        notes.append("on premises: serve from your own hardware only; no traffic to cloud endpoints")
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


def _api_steps(candidate: Assessment, requirements: Requirements) -> Deployment:
    """The API road's next step: the endpoint, model name, key variable and rate-limit tier to integrate."""
    chosen = candidate.candidate
    api = chosen.api
    provider = chosen.provider or (api.provider if api is not None else "")
    endpoint = planning_defaults().api_endpoints.get(provider)
    model = chosen.id
    if endpoint is not None and endpoint.model_prefix and model.startswith(endpoint.model_prefix):
        model = model[len(endpoint.model_prefix) :]
    limits = None
    if api is not None and (api.requests_per_minute or api.tokens_per_minute):
        limits = {
            "requests_per_minute": api.requests_per_minute,
            "tokens_per_minute": api.tokens_per_minute,
            "note": api.notes,
        }
    details: dict[str, object] = {
        "provider": provider,
        "model": model,
        "base_url": endpoint.base_url if endpoint is not None else None,
        "key_env": endpoint.key_env if endpoint is not None else None,
        "openai_compatible": endpoint.openai_compatible if endpoint is not None else None,
        "rate_limit": limits,
        "docs": endpoint.docs if endpoint is not None else None,
        "regions": list(api.regions) if api is not None else [],
    }
    notes = []
    if endpoint is None:
        notes.append(f"no endpoint recorded for provider {provider!r}: see the provider's API documentation")
        command = f"# call {model} through {provider}'s API"
    else:
        body = json.dumps({"model": model, "messages": [{"role": "user", "content": "Hello"}]})
        url = endpoint.base_url.rstrip("/") + "/chat/completions"
        # double quotes around the header so the shell expands the key variable
        command = (
            f'curl {shlex.quote(url)} -H "Authorization: Bearer ${endpoint.key_env}" '
            f"-H 'Content-Type: application/json' -d {shlex.quote(body)}"
        )
        client = "the OpenAI client (openai-python / openai-node)" if endpoint.openai_compatible else "its own REST API"
        notes.append(
            f"integrate with {client}: base_url={endpoint.base_url}, model={model!r}, key in ${endpoint.key_env} "
            f"({endpoint.docs})"
        )
        if endpoint.note:
            notes.append(endpoint.note)
    if limits is not None:
        notes.append(
            f"published default rate limit: {api.requests_per_minute or '-'} requests/min, "  # type: ignore[union-attr]
            f"{api.tokens_per_minute or '-'} tokens/min; higher tiers follow spend (COST002 compares the peak)"  # type: ignore[union-attr]
        )
    else:
        notes.append("no published per-minute limit in the catalog: ask the provider for the account's quota")
    notes.append(
        "before launch: a pilot on a few hundred real prompts scored against your bar, a spend alert at the "
        "monthly budget, and a fallback model for outages"
    )
    return Deployment(kind="api", candidate=chosen.id, engine="api", command=command, notes=notes, api=details)


def _build_steps(candidate: Assessment, requirements: Requirements, context: AdvisorContext) -> Deployment:
    """The build road's next steps: the fine-tune that comes first and the pretraining plan behind it."""
    chosen = candidate.candidate
    settings = cost_settings(requirements.plugins)
    c = settings.constants
    metrics = PretrainingMetrics.from_metrics(candidate.metrics)
    params = float(chosen.params or 0)
    tokens = settings.answers.training_tokens or c.chinchilla_tokens_per_param * params
    days = metrics.days_high or metrics.days_low or 0.0
    training = {
        "params": int(params),
        "tokens": tokens,
        "flops": metrics.flops,
        "device": c.training_device,
        "gpus": settings.training_gpus,
        "gpu_hours_low": metrics.gpu_hours_low,
        "gpu_hours_high": metrics.gpu_hours_high,
        "weeks": round(days / 7, 1) if days else None,
        "team": metrics.team_size or c.pretraining_team_min,
        "months": c.pretraining_months,
        "upfront_usd": metrics.upfront_usd,
        "languages": list(requirements.languages),
    }
    base = str(chosen.extra.get("finetune_base") or "")
    finetune = None
    notes = []
    if base:
        method = metrics.finetune_method or "qlora"
        finetune = {
            "base_model": base,
            "method": method,
            "tokens": settings.finetune_tokens,
            "usd": metrics.finetune_usd,
            "why": str(chosen.extra.get("finetune_why") or ""),
        }
        notes.append(
            f"first: {method} fine-tune {base} on {human_count(settings.finetune_tokens)} tokens of your domain data "
            f"(≈ ${metrics.finetune_usd or 0:,.0f}); {finetune['why']}".rstrip("; ")
        )
    weeks = f"{training['weeks']:g} weeks" if training["weeks"] else "an unknown time"
    notes.append(
        f"then pretraining {params / 1e9:,.0f}B on {tokens / 1e12:,.2f}T tokens: {settings.training_gpus:,} "
        f"{c.training_device} for {weeks} of compute, a team of {training['team']} over {c.pretraining_months:g} "
        "months (data, training, evaluation, post-training; COST001)"
    )
    command = f"axolotl train {base.split('/')[-1].lower()}-{metrics.finetune_method or 'qlora'}.yaml" if base else ""
    return Deployment(
        kind="build",
        candidate=chosen.id,
        engine="training",
        command=command or "# pretraining: see training",
        notes=notes,
        training=training,
        finetune=finetune,
    )


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
    each = f"; each serves ≈ {human_count(capacity)} requests/min" if capacity is not None else ""
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

"""The built-in next steps (trylast) of the recommended road: for self-hosting the engine, quant,
GPUs, replicas and launch command; for an API how to integrate it (endpoint, model name, key
variable, rate-limit tier); for building the fine-tune that comes first and the training plan.

llama.cpp's server for CPU, Apple silicon, partial offload and a single GPU with few concurrent
streams (one binary, GGUF files); vLLM for CUDA/ROCm GPUs serving many streams or spanning
several GPUs (continuous batching, tensor and data parallelism); SGLang for agent workloads on
the same GPUs (multi-turn prefix reuse and constrained decoding). The engine, checkpoint, topology,
replicas and capacity are the one sizing LAT001 and COST001 judged (``advisor.engine.deployment_sizing``);
the commands and Kubernetes manifests come from ``advisor.serving`` (docs/serving.md §4);
llama-server's ``-c``/``--parallel`` are the context the fit was sized at.
"""

from __future__ import annotations

import json
import shlex

from advisor import AdvisorContext, Assessment, Candidate, Deployment, Requirements, hookimpl
from advisor.catalog.planning import planning_defaults
from advisor.engine.deployment_sizing import DeploymentSizing, size_deployment
from advisor.engine.sizing import Sizing, size_candidate
from advisor.estimate.constants import estimator_constants
from advisor.estimate.cost_constants import cost_settings
from advisor.estimate.serving import serving_constants
from advisor.estimate.units import human_count
from advisor.hub import gguf_repos_of
from advisor.model.metrics import (
    REPLICA_REQUESTS_PER_MIN,
    SPOT_MONTHLY_COST_USD,
    PretrainingMetrics,
    number,
)
from advisor.serving import (
    Artifact,
    ServingLayout,
    engine_commands,
    expert_parallel_needed,
    llm_compressor_recipe,
    serving_artifacts,
)


def _gguf_name(repo_id: str, quant: str) -> str:
    return f"{repo_id.split('/')[-1]}-{quant}.gguf"


#: Where an air-gapped site keeps the weights it was brought (the server loads that directory).
WEIGHTS_DIR = "/models"


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
    sized = size_deployment(chosen, requirements, context.catalog)
    sizing = sized.sizing if sized is not None else size_candidate(chosen, context.catalog, requirements.context_tokens)
    on_hand = bool(requirements.on_hand_hardware)
    per_replica = sized.devices_per_replica if sized is not None else (chosen.hardware_count or 1)
    replicas = sized.replicas if sized is not None else 1
    owned_groups = (sized.owned_replicas or 1) if sized is not None and on_hand else 1
    floor = sized.floor_replicas if sized is not None else None
    notes = _capacity_notes(candidate, requirements, per_replica, replicas, owned_groups, on_hand, floor)
    if requirements.privacy.air_gapped:
        notes.append(
            "air gap: download the weights and the engine (container image or wheels) on a connected machine, "
            "verify their checksums, carry them in offline on approved media, and run with HF_HUB_OFFLINE=1 "
            "so nothing tries to reach the network"
        )
    elif requirements.privacy.on_prem_required:
        notes.append("on premises: serve from your own hardware only; no traffic to cloud endpoints")
    if sized is not None and sized.topology is not None and sized.checkpoint is not None:
        return _gpu_server(candidate, requirements, sized, notes)
    return _llama_cpp(candidate, requirements, context, sizing, notes)


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
    floor: int | None = None,
) -> list[str]:
    chosen = candidate.candidate
    hardware = f"{per_replica}× {chosen.hardware}" if chosen.hardware else "the CPU"
    capacity = number(candidate.metrics, REPLICA_REQUESTS_PER_MIN)
    each = f"; each serves ≈ {human_count(capacity)} requests/min" if capacity is not None else ""
    notes = [
        f"{replicas} replica(s) of {hardware} for the peak ({requirements.traffic.peak_concurrency} concurrent "
        f"streams){each} (estimate; COST001)"
    ]
    if on_hand and owned_groups > replicas:
        notes.append(
            f"the GPUs hold {owned_groups} replicas of this shape and all of them run: each carries its share of the "
            "peak (headroom, and a replica can fail or be updated without an outage)"
        )
    if on_hand and replicas > owned_groups:
        notes.append(
            f"the peak needs {replicas} replicas but the machine holds {owned_groups}: add hardware or accept "
            "queueing at the peak"
        )
    elif not on_hand and replicas > 1:
        notes.append(f"run one instance per replica ({replicas}) behind a load balancer")
    if not on_hand and floor is not None and floor < replicas:
        notes.append(
            f"the day's average needs {floor} replica(s): scale between {floor} and {replicas} on queue length "
            "(the HorizontalPodAutoscaler in the manifests)"
        )
    spot = number(candidate.metrics, SPOT_MONTHLY_COST_USD)
    if spot is not None:
        notes.append(f"on spot/preemptible instances ≈ ${spot:,.0f}/month, only with a fallback for preemptions")
    return notes


def _gpu_server(
    candidate: Assessment, requirements: Requirements, sized: DeploymentSizing, notes: list[str]
) -> Deployment:
    """vLLM / SGLang: the checkpoint, topology and capacity LAT001 and COST001 judged, with its commands and
    manifests."""
    chosen = candidate.candidate
    ckpt, topology, engine = sized.checkpoint, sized.topology, sized.engine
    assert chosen.quant is not None and ckpt is not None and topology is not None
    constants = serving_constants()
    fraction = constants.engines[engine].memory_fraction
    lead = list(ckpt.notes)
    local = f"{WEIGHTS_DIR}/{ckpt.repo.split('/')[-1]}" if requirements.privacy.air_gapped else None
    moe = (chosen.architecture.model_extra or {}).get("moe_intermediate_size") if chosen.architecture else None
    # online FP8 scales whole tensors, not 128-column blocks: its experts split like the BF16 weights they come from
    blocks = "BF16" if ckpt.online_quantization else ckpt.format
    ep = expert_parallel_needed(moe if isinstance(moe, int) else None, topology.tensor_parallel, blocks)
    layout = ServingLayout(
        ckpt.repo,
        engine,
        topology,
        requirements.context_tokens,
        fraction,
        local_path=local,
        expert_parallel=ep,
        quantization=ckpt.online_quantization,
    )
    if ep:
        lead.append(
            f"expert parallel: each expert's {moe} columns over TP={topology.tensor_parallel} are not whole "
            f"128-column {ckpt.format} blocks, so the experts are placed whole on the ranks (the publishers' "
            "cards give this fix for the 'not divisible by weight quantization block_n' load error)"
        )
    commands = engine_commands(layout)
    # the autoscaler runs between the replicas the day's average needs and those of the peak (own hardware: all)
    artifacts = serving_artifacts(layout, max_replicas=topology.data_parallel, min_replicas=sized.floor_replicas)
    if ckpt.scheme is not None and ckpt.quantize_to is not None:
        name = f"quantize-{ckpt.scheme.lower().replace('_', '-')}.py"
        artifacts.append(Artifact("script", name, llm_compressor_recipe(chosen.id, ckpt.quantize_to, ckpt.scheme)))
    other = "sglang" if engine == "vllm" else "vllm"
    alt = ServingLayout(
        ckpt.repo,
        other,
        topology,
        requirements.context_tokens,
        constants.engines[other].memory_fraction,
        local_path=local,
        expert_parallel=ep,
        quantization=ckpt.online_quantization,
    )
    alt_serve = [c.text for c in engine_commands(alt) if c.role == "server"]
    if engine == "vllm":
        lead.append(
            "vLLM: continuous batching (PagedAttention) for many concurrent streams; tensor parallel inside a node, "
            "pipeline parallel across nodes, data-parallel replicas"
        )
        lead.append(f"SGLang serves the same checkpoint and reuses shared prompt prefixes: {alt_serve[0]}")
    else:
        lead.append(
            "SGLang for agents: RadixAttention reuses the shared prefix of multi-turn calls and its grammar backend "
            f"constrains tool-call JSON; vLLM is the alternative: {alt_serve[-1]}"
        )
    nodes = topology.nodes
    if nodes > 1 or topology.gpus_per_replica > 1:
        lead.append(
            f"topology: {nodes} node(s) of up to {topology.gpus_per_node} GPUs; TP={topology.tensor_parallel} inside "
            f"a node, PP={topology.pipeline_parallel} across nodes, {topology.data_parallel} replica(s)"
        )
    if len(commands) > 1:
        lead.append(
            "run in order: "
            + "; ".join(f"{i}. [{c.role}] on {c.host}: {c.text}" for i, c in enumerate(commands, start=1))
        )
    lead.append(
        f"files: {', '.join(a.filename for a in artifacts)} (`advisor plan --out-dir DIR` writes them; the Kubernetes "
        "manifests are the alternative to the script)"
    )
    if local is not None:
        lead.append(
            f"air gap: the first commands download {ckpt.repo} on a connected machine into {local} and copy it in; "
            "the server then runs with HF_HUB_OFFLINE=1 on that directory under the repository's name"
        )
    capacity = sized.serving
    capacity_json = None
    if capacity is not None:
        capacity_json = {
            "concurrency": capacity.concurrency,
            "output_tokens_per_s": round(capacity.output_tokens_per_s, 1),
            "per_stream_tokens_per_s": round(capacity.per_stream_tokens_per_s, 1),
            "ttft_s": round(capacity.ttft_s, 3),
        }
        lead.append(
            f"each replica at {capacity.concurrency} concurrent streams: ≈ {capacity.output_tokens_per_s:,.0f} output "
            f"tokens/s, {capacity.per_stream_tokens_per_s:,.1f} tokens/s per stream, TTFT ≈ {capacity.ttft_s:.2f} s "
            f"({capacity.bound}-bound; estimate, docs/serving.md gives its accuracy band; the same sizing as LAT001 "
            "and COST001)"
        )
    total = topology.gpus
    return Deployment(
        candidate=chosen.key,
        engine=engine,
        quant=chosen.quant,
        hardware=chosen.hardware,
        hardware_count=total,
        replicas=topology.data_parallel,
        command=commands[0].text,
        commands=[c.text for c in commands],
        steps=[{"role": c.role, "host": c.host, "text": c.text} for c in commands],
        topology={
            "tensor_parallel": topology.tensor_parallel,
            "pipeline_parallel": topology.pipeline_parallel,
            "data_parallel": topology.data_parallel,
            "nodes": nodes,
            "gpus_per_node": topology.gpus_per_node,
            "replicas": topology.data_parallel,
        },
        artifacts=[{"kind": a.kind, "filename": a.filename, "content": a.content} for a in artifacts],
        capacity=capacity_json,
        notes=lead + notes,
    )


def _gguf_airgap_note(context: AdvisorContext, repo_id: str, quant: str) -> str:
    """How an air-gapped llama.cpp site brings a GGUF in: download on a connected machine, copy, serve the file."""
    record = context.catalog.models.get(repo_id)
    repos = gguf_repos_of(record) if record is not None else []
    local = f"{WEIGHTS_DIR}/{repo_id.split('/')[-1]}-GGUF"
    if not repos:
        return (
            f"air gap: no GGUF repository of {repo_id} in the catalog: convert it on a connected machine with "
            f"llama.cpp's convert_hf_to_gguf.py and llama-quantize to {quant}, record the .gguf's sha256 checksum, "
            f"copy it into {local} on approved media, verify the checksum there, and pass that file to -m"
        )
    download = shlex.join(["huggingface-cli", "download", repos[0], "--include", f"*{quant}*", "--local-dir", local])
    return (
        f"air gap: on a connected machine `{download}` (the catalog's GGUF repository), verify the checksums, carry "
        f"{local} in on approved media, and pass its {quant} .gguf (the first part if split) to -m; llama-server "
        "then never reaches the network"
    )


def _llama_slots(
    chosen: Candidate, context: AdvisorContext, sizing: Sizing | None, ctx: int, wanted: int
) -> tuple[int, Sizing | None]:
    """The most slots (up to ``wanted``) whose ``-c ctx x slots`` still fits as the one-slot sizing did.

    llama.cpp splits ``-c`` evenly over ``--parallel`` slots (each gets ``c / slots`` cells unless
    ``--kv-unified``), so N slots of ``ctx`` tokens allocate the KV cache of ``-c ctx x N``: the command is
    sized at exactly that context (advisor.engine.sizing), never at one slot while asking for N.
    """
    if sizing is None:
        return 1, None
    base = sizing.fit
    for slots in range(wanted, 1, -1):
        wider = size_candidate(chosen, context.catalog, ctx * slots)
        if wider is not None and wider.fit.fits == base.fits and wider.fit.gpu_layers >= base.gpu_layers:
            return slots, wider
    return 1, sizing


def _llama_cpp(
    candidate: Assessment,
    requirements: Requirements,
    context: AdvisorContext,
    sizing: Sizing | None,
    notes: list[str],
) -> Deployment:
    chosen = candidate.candidate
    assert chosen.quant is not None
    ctx = requirements.context_tokens
    wanted = max(1, min(requirements.traffic.peak_concurrency, estimator_constants().batching.max_streams))
    parallel, sizing = _llama_slots(chosen, context, sizing, ctx, wanted)
    fit = sizing.fit if sizing is not None else None
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
    record = context.catalog.models.get(chosen.id)
    repos = gguf_repos_of(record) if record is not None else []
    source = (
        f"download its {chosen.quant} file from {repos[0]} (the catalog's GGUF repository; or let "
        f"`llama-server -hf {repos[0]}:{chosen.quant}` fetch it where the network is allowed)"
        if repos
        else "no GGUF repository in the catalog: convert it with llama.cpp's convert_hf_to_gguf.py and llama-quantize "
        f"to {chosen.quant}"
    )
    lead = [
        "llama.cpp server: one binary, GGUF weights, CPU / Apple Metal / single-GPU with partial offload",
        f"a {chosen.quant} GGUF of {chosen.id}: {source}; `-c` is the total context split over {parallel} "
        f"slot(s) of {ctx} tokens, the context the fit was sized at",
    ]
    fits = fit.fits if fit is not None else None
    if requirements.privacy.air_gapped:
        lead.append(_gguf_airgap_note(context, chosen.id, chosen.quant))
    if parallel < wanted:
        lead.append(
            f"{parallel} slot(s), not {wanted}: {wanted} slots of {ctx} tokens need the KV cache of -c {ctx * wanted}, "
            "which does not fit as sized; more streams queue, or use a shorter context or a bigger machine"
        )
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

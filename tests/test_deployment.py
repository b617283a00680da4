"""The built-in deployment plan: engine choice, quant flags, GPUs and replicas, the exact command."""

from __future__ import annotations

import shlex
from typing import Any

import pytest
from advisor_plugins import deployment

from advisor.engine.variants import api_candidate, open_candidate
from advisor.model.candidate import Candidate
from advisor.model.context import AdvisorContext
from advisor.model.plan import Assessment, Deployment
from advisor.model.requirements import Requirements


def _plan(
    context: AdvisorContext,
    model: str,
    quant: str,
    device: str,
    count: int,
    metrics: dict[str, Any],
    ram: float | None = None,
    **answers: Any,
) -> Deployment | None:
    candidate = open_candidate(
        context.catalog.models[model], quant=quant, hardware=device, hardware_count=count, host_ram_gib=ram
    )
    requirements = Requirements.model_validate(answers)
    return deployment.advisor_deployment_plan(Assessment(candidate=candidate, metrics=metrics), requirements, context)


def _args(command: str) -> dict[str, str]:
    parts = shlex.split(command)
    return {parts[i]: parts[i + 1] for i in range(len(parts) - 1) if parts[i].startswith("-")}


BANK = {
    "context_tokens": 16384,
    "traffic": {"requests_per_day": 20_000, "input_tokens": 3000, "output_tokens": 400, "peak_concurrency": 32},
    "hardware": [{"gpu": "a100-80gb", "count": 2}, {"ram_gb": 512}],
}
OWN_PAIR = {"replicas": 2, "devices_per_replica": 1, "replica_groups_owned": 2, "replica_requests_per_min": 55.3}


def test_two_owned_gpus_serve_two_vllm_replicas(context: AdvisorContext) -> None:
    plan = _plan(context, "Qwen/Qwen2.5-14B-Instruct", "Q4_K_M", "a100-80gb", 2, OWN_PAIR, ram=512, **BANK)
    assert plan is not None and plan.engine == "vllm"
    # no 4-bit build of Qwen2.5-14B in the catalog's quantized_releases: the published BF16 repo, never a guess
    assert plan.command.startswith("vllm serve Qwen/Qwen2.5-14B-Instruct ")
    args = _args(plan.command)
    assert args["--tensor-parallel-size"] == "1" and args["--data-parallel-size"] == "2"
    assert args["--max-model-len"] == "16384" and args["--gpu-memory-utilization"] == "0.9"
    assert "--quantization" not in args
    assert plan.hardware_count == 2
    # how many replicas the peak needs is the capacity model's answer (docs/serving.md): one or two A100s for 32
    # streams of 3k-token prompts on a 14B BF16 model; the GPUs hold two and both run, as the data-parallel size
    # says (the note saying so appears when the peak needs fewer than the GPUs hold)
    (needed,) = [int(n.split()[0]) for n in plan.notes if "replica(s) of 1× a100-80gb for the peak" in n]
    assert 1 <= needed <= 2
    assert any("requests/min" in n for n in plan.notes if "for the peak" in n)
    holds = any("the GPUs hold 2 replicas of this shape and all of them run" in n for n in plan.notes)
    assert holds == (needed < 2)
    assert any(n.startswith("SGLang serves the same checkpoint") for n in plan.notes)


@pytest.mark.parametrize(
    ("model", "quant", "model_arg", "quantization"),
    [
        # no publisher 8-bit build: the engine quantizes the BF16 weights to FP8 as it loads them
        ("Qwen/Qwen2.5-14B-Instruct", "Q8_0", "Qwen/Qwen2.5-14B-Instruct", "fp8"),
        ("Qwen/Qwen2.5-14B-Instruct", "F16", "Qwen/Qwen2.5-14B-Instruct", None),
        ("Qwen/Qwen3-0.6B", "Q8_0", "Qwen/Qwen3-0.6B-FP8", None),  # the publisher's FP8 build (quantized_releases)
    ],
)
def test_quant_levels_map_to_checkpoints_that_exist(
    context: AdvisorContext, model: str, quant: str, model_arg: str, quantization: str | None
) -> None:
    """A GGUF quant level becomes a checkpoint the publisher ships (the catalog's releases) or the model itself."""
    plan = _plan(context, model, quant, "a100-80gb", 2, OWN_PAIR, ram=512, **BANK)
    assert plan is not None
    assert shlex.split(plan.command)[2] == model_arg
    assert _args(plan.command).get("--quantization") == quantization


def test_rented_replicas_are_separate_instances(context: AdvisorContext) -> None:
    """Rented replicas are separate instances behind a load balancer, as many as the one sizing
    (advisor.engine.deployment_sizing) says the peak needs; never one --data-parallel-size command over them."""
    from advisor.engine.deployment_sizing import size_deployment

    metrics = {"spot_monthly_cost_usd": 1234.0}
    traffic = {"requests_per_day": 1_000_000, "input_tokens": 1000, "output_tokens": 500, "peak_concurrency": 2000}
    plan = _plan(context, "Qwen/Qwen2.5-7B-Instruct", "Q8_0", "l40s", 1, metrics, traffic=traffic)
    assert plan is not None and plan.engine == "vllm"
    candidate = open_candidate(
        context.catalog.models["Qwen/Qwen2.5-7B-Instruct"], quant="Q8_0", hardware="l40s", hardware_count=1
    )
    sized = size_deployment(candidate, Requirements.model_validate({"traffic": traffic}), context.catalog)
    assert sized is not None and sized.replicas > 1
    assert "--data-parallel-size" not in plan.command
    assert plan.hardware_count == sized.replicas * sized.devices_per_replica
    assert any(f"run one instance per replica ({sized.replicas}) behind a load balancer" in n for n in plan.notes)
    # the autoscaler scales on queue length between the replicas the day's average needs and those of the peak
    import yaml

    manifests = [doc for a in plan.artifacts if a["kind"] == "kubernetes" for doc in yaml.safe_load_all(a["content"])]
    hpa = next(d for d in manifests if d["kind"] == "HorizontalPodAutoscaler")
    assert hpa["spec"]["maxReplicas"] == sized.replicas
    assert 1 <= hpa["spec"]["minReplicas"] == sized.floor_replicas < sized.replicas
    assert any("spot/preemptible instances ≈ $1,234/month" in n for n in plan.notes)


def test_agents_get_sglang(context: AdvisorContext) -> None:
    """Agents on a batching server (32 concurrent streams is beyond llama-server's few slots) get SGLang."""
    traffic = {"requests_per_day": 20_000, "peak_concurrency": 32}
    plan = _plan(context, "Qwen/Qwen2.5-7B-Instruct", "F16", "l40s", 1, {}, use_case="agent", traffic=traffic)
    assert plan is not None and plan.engine == "sglang"
    assert plan.command.startswith("python -m sglang.launch_server --model-path Qwen/Qwen2.5-7B-Instruct --tp 1")


def test_laptop_gets_llama_server_with_all_layers(context: AdvisorContext) -> None:
    traffic = {"requests_per_day": 50, "input_tokens": 2000, "output_tokens": 300, "peak_concurrency": 1}
    plan = _plan(
        context,
        "openai/gpt-oss-20b",
        "Q4_K_M",
        "m3-max",
        1,
        {"replicas": 1},
        hardware=[{"gpu": "m3-max"}],
        traffic=traffic,
    )
    assert plan is not None and plan.engine == "llama.cpp"
    args = _args(plan.command)
    assert shlex.split(plan.command)[:3] == ["llama-server", "-m", "gpt-oss-20b-Q4_K_M.gguf"]
    layers = context.catalog.models["openai/gpt-oss-20b"].architecture.num_hidden_layers
    assert args["-ngl"] == str(layers + 1)  # every repeating layer plus the output layer
    assert args["-c"] == "8192" and args["--parallel"] == "1"


def test_one_gpu_few_streams_stays_on_llama_cpp(context: AdvisorContext) -> None:
    traffic = {"requests_per_day": 500, "peak_concurrency": 4}
    plan = _plan(
        context,
        "Qwen/Qwen2.5-7B-Instruct",
        "Q4_K_M",
        "rtx-4090",
        1,
        {"replicas": 1},
        traffic=traffic,
        hardware=[{"gpu": "rtx-4090"}],
    )
    assert plan is not None and plan.engine == "llama.cpp"
    assert _args(plan.command)["-c"] == str(8192 * 4)


def test_cpu_only(context: AdvisorContext) -> None:
    plan = _plan(
        context,
        "Qwen/Qwen2.5-7B-Instruct",
        "Q4_K_M",
        "cpu-ddr5-dual",
        1,
        {"replicas": 1},
        ram=64,
        hardware=[{"cpu": "cpu-ddr5-dual", "ram_gb": 64}],
    )
    assert plan is not None and plan.engine == "llama.cpp"
    assert _args(plan.command)["-ngl"] == "0"
    assert any("--threads" in n for n in plan.notes)


def test_every_road_gets_next_steps(context: AdvisorContext) -> None:
    """An API gets how to integrate it (endpoint, model, key variable); a build gets a training plan
    (issue 13: the API road used to end in ``deployment: null``)."""
    api = api_candidate(context.catalog.apis["gpt-4o-mini"], context.catalog)
    plan = deployment.advisor_deployment_plan(Assessment(candidate=api), Requirements(), context)
    assert plan is not None and plan.kind == "api"
    assert plan.api is not None
    assert plan.api["base_url"] == "https://api.openai.com/v1" and plan.api["key_env"] == "OPENAI_API_KEY"
    assert plan.api["model"] == "gpt-4o-mini"
    assert '"Authorization: Bearer $OPENAI_API_KEY"' in plan.command  # double quotes: the shell expands it
    groq = api_candidate(context.catalog.apis["groq/openai/gpt-oss-20b"], context.catalog)
    routed = deployment.advisor_deployment_plan(Assessment(candidate=groq), Requirements(), context)
    assert routed is not None and routed.api is not None and routed.api["model"] == "openai/gpt-oss-20b"
    build = Candidate(id="build/pretrain-8b", kind="build", name="b", params=8_000_000_000)
    steps = deployment.advisor_deployment_plan(Assessment(candidate=build), Requirements(), context)
    assert steps is not None and steps.kind == "build" and steps.training is not None
    assert steps.training["tokens"] == 20 * 8_000_000_000  # Chinchilla D = 20 N

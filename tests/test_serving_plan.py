"""Serving plans wired into the deployment (issue 15): topology, commands, manifests and capacity.

What an ML lead expects of a self-hosted plan: a model too big for one node is split TP inside a node and
PP across nodes (not one command of data parallelism over GPUs in two machines); every command names a
repository that exists (the model's own or a publisher release the catalog records); the llama-server
command is the one that was sized; and the plan hands over files that validate against upstream schemas.
"""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml
from advisor_plugins import deployment
from test_serving_artifacts import SGLANG_FLAGS, VLLM_FLAGS, check_flags, validate

from advisor.engine.sizing import size_candidate
from advisor.engine.variants import open_candidate
from advisor.estimate.serving import Topology, Workload, device_capacity
from advisor.model.context import AdvisorContext
from advisor.model.plan import Assessment, Deployment
from advisor.model.requirements import Requirements
from tests.conftest import FIXTURES
from tests.test_cli import advisor

SCENARIOS = FIXTURES / "scenarios"
CLUSTER = {
    "use_case": "rag",
    "context_tokens": 16384,
    "traffic": {"requests_per_day": 400_000, "input_tokens": 3000, "output_tokens": 400, "peak_concurrency": 256},
    "privacy": {"on_prem_required": True},
    "hardware": [{"gpu": "h100-sxm", "count": 16}, {"ram_gb": 2048}],
}


def _plan(context: AdvisorContext, model: str, quant: str, device: str, count: int, **answers: Any) -> Deployment:
    candidate = open_candidate(context.catalog.models[model], quant=quant, hardware=device, hardware_count=count)
    metrics = {"replicas": 1, "devices_per_replica": count, "replica_groups_owned": 1}
    plan = deployment.advisor_deployment_plan(
        Assessment(candidate=candidate, metrics=metrics), Requirements.model_validate(answers), context
    )
    assert plan is not None
    return plan


def test_sixteen_h100_strongest_open_model_is_a_two_node_plan_that_validates(context: AdvisorContext) -> None:
    """DeepSeek-V3 (671B, shipped in FP8) on 2 nodes x 8 H100: TP=8 inside a node, PP=2 across, one replica;
    a Ray head, a worker, one ``vllm serve``; a LeaderWorkerSet of one group of two pods; and a capacity."""
    plan = _plan(context, "deepseek-ai/DeepSeek-V3", "Q8_0", "h100-sxm", 16, **CLUSTER)
    assert plan.engine == "vllm"
    assert plan.topology == {
        "tensor_parallel": 8,
        "pipeline_parallel": 2,
        "data_parallel": 1,
        "nodes": 2,
        "gpus_per_node": 8,
        "replicas": 1,
    }
    roles = [c["role"] for c in plan.steps]
    assert roles == ["ray-head", "ray-worker", "server"]
    assert plan.command == plan.commands[0] and plan.commands == [s["text"] for s in plan.steps]
    serve = check_flags(plan.steps[-1]["text"], VLLM_FLAGS)
    assert serve[:3] == ["vllm", "serve", "deepseek-ai/DeepSeek-V3"]
    assert "--quantization" not in serve  # FP8 as shipped: the config says so
    args = dict(zip(serve[3::2], serve[4::2], strict=False))
    assert args["--tensor-parallel-size"] == "8" and args["--pipeline-parallel-size"] == "2"
    kinds = []
    for artifact in plan.artifacts:
        if artifact["kind"] == "kubernetes":
            for doc in yaml.safe_load_all(artifact["content"]):
                validate(doc)
                kinds.append(doc["kind"])
    assert "LeaderWorkerSet" in kinds and "InferenceService" in kinds
    assert plan.capacity is not None
    # each replica the peak needs carries its share of the 256 streams (one sizing: advisor.engine.deployment_sizing)
    assert 1 <= plan.capacity["concurrency"] <= 256
    assert 0 < plan.capacity["per_stream_tokens_per_s"] <= plan.capacity["output_tokens_per_s"]
    assert plan.capacity["ttft_s"] > 0


def _repos_named(command: str) -> list[str]:
    words = shlex.split(command)
    named = []
    for i, w in enumerate(words[:-1]):
        if (w == "serve" and words[i - 1] == "vllm") or w in {"--model-path", "download", "--served-model-name"}:
            named.append(words[i + 1])
    return named


@pytest.mark.parametrize(
    ("model", "quant", "engine_use"),
    [
        ("openai/gpt-oss-120b", "Q4_K_M", "rag"),
        ("google/gemma-3-4b-it", "Q4_K_M", "rag"),
        ("Qwen/Qwen2.5-14B-Instruct", "Q4_K_M", "agent"),
        ("Qwen/Qwen3-0.6B", "Q8_0", "rag"),
        ("deepseek-ai/DeepSeek-V3", "Q4_K_M", "rag"),
    ],
)
def test_no_command_names_a_repository_that_is_not_in_the_catalog(
    context: AdvisorContext, model: str, quant: str, engine_use: str
) -> None:
    """Never ``{repo}-AWQ`` (gemma-3-4b-it-AWQ does not exist) nor ``--quantization awq`` on gpt-oss (MXFP4)."""
    answers = {**CLUSTER, "use_case": engine_use, "privacy": {"air_gapped": True}}
    plan = _plan(context, model, quant, "h100-sxm", 16, **answers)
    record = context.catalog.models[model]
    known = {model, *(r.repo for r in record.quantized_releases)}
    for command in plan.steps:
        assert "--quantization" not in command["text"]
        for repo in _repos_named(command["text"]):
            assert repo in known or repo.startswith("/models/"), (repo, command["text"])
        if command["role"] == "server":
            check_flags(command["text"], VLLM_FLAGS if plan.engine == "vllm" else SGLANG_FLAGS)
    assert _repos_named(plan.steps[-1]["text"])


def test_gpt_oss_is_served_as_shipped_in_mxfp4(context: AdvisorContext) -> None:
    """gpt-oss-120b ships in MXFP4 (63 GB): one H100 holds it, with little room left for KV, so a replica is
    TP1 or TP2 (twice the KV room, many more streams at the bar), never the whole node; no --quantization."""
    plan = _plan(context, "openai/gpt-oss-120b", "Q4_K_M", "h100-sxm", 16, **CLUSTER)
    assert "vllm serve openai/gpt-oss-120b " in plan.command and "--quantization" not in plan.command
    assert plan.topology is not None and plan.topology["tensor_parallel"] in (1, 2)
    assert plan.topology["tensor_parallel"] * plan.topology["data_parallel"] == 16


def test_no_publisher_build_means_bf16_and_an_llm_compressor_recipe(context: AdvisorContext) -> None:
    """gemma-3-4b-it has no 4-bit release from Google: serve the BF16 repo and hand over the quantize step."""
    record = context.catalog.models["google/gemma-3-4b-it"]
    assert not any(r.format.upper() in {"AWQ", "GPTQ", "GPTQ-INT4", "INT4"} for r in record.quantized_releases)
    plan = _plan(context, "google/gemma-3-4b-it", "Q4_K_M", "h100-sxm", 16, **CLUSTER)
    assert "vllm serve google/gemma-3-4b-it " in plan.command
    recipe = [a for a in plan.artifacts if a["filename"].startswith("quantize-")]
    assert recipe and "oneshot(" in recipe[0]["content"] and "W4A16" in recipe[0]["content"]
    assert any("llm-compressor" in n for n in plan.notes)


def test_air_gapped_plan_brings_weights_in_and_serves_offline(context: AdvisorContext) -> None:
    answers = {**CLUSTER, "privacy": {"air_gapped": True}}
    plan = _plan(context, "deepseek-ai/DeepSeek-V3", "Q8_0", "h100-sxm", 16, **answers)
    roles = [c["role"] for c in plan.steps]
    assert roles[:4] == ["download", "checksum", "copy", "verify"]
    assert plan.steps[0]["text"].startswith("huggingface-cli download deepseek-ai/DeepSeek-V3 --local-dir ")
    assert plan.steps[-1]["text"].startswith("env HF_HUB_OFFLINE=1 vllm serve /models/")
    assert any("HF_HUB_OFFLINE=1" in n for n in plan.notes)


@pytest.mark.parametrize(
    ("model", "ctx", "peak", "device"),
    [
        ("Qwen/Qwen2.5-7B-Instruct", 8192, 4, "rtx-4090"),
        ("Qwen/Qwen2.5-7B-Instruct", 8192, 1, "rtx-4090"),
        ("Qwen/Qwen2.5-7B-Instruct", 8192, 6, "l4"),
        # the case: 3 slots of 32k on a 24 GB card do not fit where one slot does
        ("Qwen/Qwen2.5-14B-Instruct", 32768, 3, "rtx-4090"),
    ],
)
def test_llama_server_context_and_slots_are_what_was_sized(
    context: AdvisorContext, model: str, ctx: int, peak: int, device: str
) -> None:
    """llama.cpp splits ``-c`` over ``--parallel`` slots (each gets c / slots without ``--kv-unified``): the
    command's ``-c`` is the context the fit was sized at, it still fits the GPU, and each slot gets ``ctx``."""
    traffic = {"requests_per_day": 500, "peak_concurrency": peak}
    answers = {"traffic": traffic, "hardware": [{"gpu": device}], "context_tokens": ctx}
    plan = _plan(context, model, "Q4_K_M", device, 1, **answers)
    assert plan.engine == "llama.cpp"
    words = shlex.split(plan.command)
    args = dict(zip(words[3::2], words[4::2], strict=False))
    total, slots = int(args["-c"]), int(args["--parallel"])
    assert total == ctx * slots and 1 <= slots <= peak
    candidate = open_candidate(context.catalog.models[model], quant="Q4_K_M", hardware=device, hardware_count=1)
    sized = size_candidate(candidate, context.catalog, total)
    assert sized is not None and sized.fit.fits == "gpu" and args["-ngl"] == str(sized.fit.gpu_layers)
    if slots < peak:
        assert any(f"{slots} slot(s), not {peak}" in n for n in plan.notes)


def test_plan_out_dir_writes_the_artifacts_and_says_so(tmp_path: Path) -> None:
    """``advisor plan --out-dir DIR`` writes every artifact of the deployment (created if missing) and lists them."""
    out = tmp_path / "new" / "plan"
    proc = advisor(
        "plan", "--answers", str(SCENARIOS / "multinode_onprem.yaml"), "--out-dir", str(out), "--format", "json"
    )
    assert proc.returncode == 0, proc.stderr
    deployment = json.loads(proc.stdout)["deployment"]
    names = sorted(a["filename"] for a in deployment["artifacts"])
    assert names and sorted(p.name for p in out.iterdir()) == names
    for artifact in deployment["artifacts"]:
        assert (out / artifact["filename"]).read_text() == artifact["content"]
        assert f"wrote {out / artifact['filename']}" in proc.stderr


def test_plan_out_dir_that_cannot_be_a_directory_is_exit_2_naming_it(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    for target in (blocker, blocker / "sub"):
        proc = advisor("plan", "--answers", str(SCENARIOS / "multinode_onprem.yaml"), "--out-dir", str(target))
        assert proc.returncode == 2, proc.stderr
        assert f"--out-dir {target}" in proc.stderr and "Traceback" not in proc.stderr


def test_fit_engine_rows_carry_the_serving_capacity_the_plan_uses(context: AdvisorContext) -> None:
    """``advisor fit --engine vllm --tp 2 --concurrency 16``: each row carries ``serving`` with the numbers
    ``device_capacity`` gives for the same checkpoint, topology and load (one function for plan and fit)."""
    proc = advisor(
        "fit", "Qwen/Qwen3-0.6B", "--hardware", "2xh100-sxm", "--quant", "Q8_0", "--engine", "vllm",
        "--tp", "2", "--concurrency", "16", "--format", "json",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    (row,) = json.loads(proc.stdout)["rows"]
    serving = row["serving"]
    assert {k: serving[k] for k in ("engine", "tensor_parallel", "pipeline_parallel", "concurrency")} == {
        "engine": "vllm",
        "tensor_parallel": 2,
        "pipeline_parallel": 1,
        "concurrency": 16,
    }
    record = context.catalog.models["Qwen/Qwen3-0.6B"]
    assert record.architecture is not None and record.params is not None
    expected = device_capacity(
        record.architecture,
        float(record.params),
        float(record.active_params or record.params),
        "FP8",  # Qwen publish Qwen3-0.6B-FP8: the server format of Q8_0
        context.catalog.hardware["h100-sxm"],
        "vllm",
        Topology(2, 1, 1, 2),
        Workload(500, 200, 16),
    )
    assert serving["output_tokens_per_s"] == round(expected.output_tokens_per_s, 1)
    assert serving["per_stream_tokens_per_s"] == round(expected.per_stream_tokens_per_s, 1)
    assert serving["ttft_s"] == round(expected.ttft_s, 3)
    assert serving["checkpoint"] == "Qwen/Qwen3-0.6B-FP8"


@pytest.mark.parametrize(
    ("args", "names"),
    [
        (["--hardware", "2xh100-sxm", "--engine", "vllm", "--tp", "4"], "--tp"),
        (["--hardware", "2xh100-sxm", "--engine", "vllm", "--tp", "2", "--pp", "2"], "--tp"),
        (["--engine", "sglang"], "--engine"),
        (["--hardware", "rtx-4090", "--tp", "2"], "--tp"),
    ],
)
def test_fit_engine_options_refuse_what_cannot_run(args: list[str], names: str) -> None:
    proc = advisor("fit", "Qwen/Qwen3-0.6B", "--quant", "Q8_0", *args)
    assert proc.returncode == 2, proc.stderr
    assert names in proc.stderr and "Traceback" not in proc.stderr


def test_a_multi_step_plan_lists_every_step_in_its_notes(context: AdvisorContext) -> None:
    """The reports show ``command`` (the first step) and the notes: a two-node plan must not read as
    ``ray start --head`` alone, so the notes list every step with where it runs, and the files."""
    plan = _plan(context, "deepseek-ai/DeepSeek-V3", "Q8_0", "h100-sxm", 16, **CLUSTER)
    order = next(n for n in plan.notes if n.startswith("run in order: "))
    for step in plan.steps:
        assert step["text"] in order and step["host"] in order
    assert any(all(a["filename"] in n for a in plan.artifacts) for n in plan.notes)


@pytest.mark.parametrize(
    ("model", "repo"),
    [("mistralai/Devstral-Small-2507", "mistralai/Devstral-Small-2507_gguf"), ("openai/gpt-oss-20b", None)],
)
def test_air_gapped_llama_server_plan_says_how_the_gguf_comes_in(
    context: AdvisorContext, model: str, repo: str | None
) -> None:
    """An offline desktop plan names the catalog's GGUF repository to download on a connected machine (never a
    guessed ``<publisher>/<model>-GGUF``), or says to convert when the catalog lists none."""
    answers = {
        "traffic": {"requests_per_day": 50, "peak_concurrency": 1},
        "privacy": {"air_gapped": True},
        "hardware": [{"gpu": "m3-max"}],
    }
    plan = _plan(context, model, "Q4_K_M", "m3-max", 1, **answers)
    assert plan.engine == "llama.cpp"
    note = next(n for n in plan.notes if n.startswith("air gap: ") and "/models/" in n)
    if repo is None:
        assert "convert_hf_to_gguf.py" in note and "huggingface-cli" not in note
    else:
        assert f"huggingface-cli download {repo} --include '*Q4_K_M*' --local-dir /models/" in note


# --- one sizing of the deployment: LAT001, COST001 and the plan judge the same deployment --------------------


def _findings(check: Any, candidate: Any, requirements: Requirements, context: AdvisorContext) -> list[Any]:
    return list(check(candidate, requirements, context))


def _assess(
    context: AdvisorContext, model: str, quant: str, device: str, count: int, answers: dict[str, Any]
) -> tuple[Any, Requirements, list[Any], list[Any], Deployment]:
    """LAT001's and COST001's findings and the deployment plan of one owned variant, as ``advisor plan`` runs them."""
    from advisor_plugins import cost, hardware

    requirements = Requirements.model_validate(answers)
    candidate = open_candidate(context.catalog.models[model], quant=quant, hardware=device, hardware_count=count)
    lat = _findings(hardware.fast_enough, candidate, requirements, context)
    costs = _findings(cost.monthly_cost, candidate, requirements, context)
    metrics = {k: v for f in costs for k, v in f.metrics.items() if v is not None}
    plan = deployment.advisor_deployment_plan(Assessment(candidate=candidate, metrics=metrics), requirements, context)
    assert plan is not None
    return candidate, requirements, lat, costs, plan


MESSENGER = {
    "use_case": "chat",
    "context_tokens": 8192,
    "traffic": {"requests_per_day": 50_000_000, "input_tokens": 300, "output_tokens": 150, "peak_concurrency": 20_000},
    "latency": {"min_tokens_per_s": 20},
    "hardware": [{"gpu": "h100-sxm", "count": 64}],
}


def test_sixty_four_h100_serve_a_small_model_as_sixty_four_replicas(context: AdvisorContext) -> None:
    """gemma-3-4b on 64 owned H100 for a huge messenger: a 4B model fits one GPU, so each GPU is a replica
    (TP1 x DP64) and each stream decodes at one H100's batched speed, not 64 GPUs' layer split (12 tokens/s
    before issue 15). LAT001 passes the 20 tokens/s bar at the concurrency each replica carries."""
    from advisor.engine.deployment_sizing import size_deployment

    candidate, requirements, lat, _costs, plan = _assess(
        context, "google/gemma-3-4b-it", "Q8_0", "h100-sxm", 64, MESSENGER
    )
    sized = size_deployment(candidate, requirements, context.catalog)
    assert sized is not None and sized.engine == "vllm"
    assert sized.topology is not None and sized.topology.gpus_per_replica == 1
    assert [f.severity for f in lat] == ["pass"]
    assert sized.per_stream_tokens_per_s >= 20
    assert plan.topology is not None and plan.topology["tensor_parallel"] == 1
    assert plan.topology["data_parallel"] == 64 and plan.topology["nodes"] == 8


def test_llama_70b_on_four_l40s_clears_fifteen_tokens_per_s_with_tensor_parallel(context: AdvisorContext) -> None:
    """Llama-3.3-70B on 4 owned L40S with a 15 tokens/s bar: a layer split reads all the weights through
    one GPU at a time; tensor parallel reads a share each, so it clears the bar (LAT001 passes). In BF16
    (141 GB) only TP4 holds it; in 8-bit (Meta ships no FP8 build: the engine quantizes at load) a TP2
    replica holds it and clears the bar, and two of them carry the peak."""
    answers = {
        "traffic": {"requests_per_day": 2000, "peak_concurrency": 12},
        "latency": {"min_tokens_per_s": 15},
        "hardware": [{"gpu": "l40s", "count": 4}],
    }
    _c, _r, lat, _costs, plan = _assess(context, "meta-llama/Llama-3.3-70B-Instruct", "F16", "l40s", 4, answers)
    assert [f.severity for f in lat] == ["pass"], lat[0].message
    assert plan.engine == "vllm" and "--quantization" not in plan.command
    assert plan.topology is not None and plan.topology["tensor_parallel"] == 4
    _c, _r, lat, _costs, plan = _assess(context, "meta-llama/Llama-3.3-70B-Instruct", "Q8_0", "l40s", 4, answers)
    assert [f.severity for f in lat] == ["pass"], lat[0].message
    assert "--quantization fp8" in plan.command
    assert plan.topology is not None and plan.topology["tensor_parallel"] >= 2
    assert plan.topology["tensor_parallel"] * plan.topology["data_parallel"] == 4


def test_deepseek_on_sixteen_h100_does_not_ask_for_hundreds_more(context: AdvisorContext) -> None:
    """DeepSeek-V3 (FP8, TP8 x PP2) on 16 owned H100 at the bank's load: the replicas the peak needs come from
    the serving model (continuous batching over 16 GPUs), so a shortfall, if any, is a few replicas of 16,
    not the 240 more H100s of 16 streams at 0.6 each; the devices to buy are (replicas needed - held) x 16."""
    from advisor.engine.deployment_sizing import size_deployment
    from advisor.model.metrics import OverflowMetrics, ServingMetrics

    candidate, requirements, _lat, costs, plan = _assess(
        context, "deepseek-ai/DeepSeek-V3", "Q8_0", "h100-sxm", 16, CLUSTER
    )
    sized = size_deployment(candidate, requirements, context.catalog)
    assert sized is not None and sized.devices_per_replica == 16 and sized.owned_replicas == 1
    serving = ServingMetrics.from_metrics(costs[0].metrics)
    assert serving.replicas == sized.replicas and serving.devices_per_replica == 16
    extra = [OverflowMetrics.from_metrics(f.metrics).extra_devices for f in costs if f.severity == "warn"]
    assert extra in ([], [(sized.replicas - 1) * 16])
    assert sum(e or 0 for e in extra) < 240
    assert plan.topology is not None and plan.topology["pipeline_parallel"] == 2


@pytest.mark.parametrize(
    ("model", "quant", "device", "count", "answers"),
    [
        ("deepseek-ai/DeepSeek-V3", "Q8_0", "h100-sxm", 16, CLUSTER),
        ("openai/gpt-oss-120b", "Q4_K_M", "h100-sxm", 16, CLUSTER),
        ("google/gemma-3-4b-it", "Q8_0", "h100-sxm", 64, MESSENGER),
        ("Qwen/Qwen3-32B", "Q4_K_M", "a100-80gb", 2, {**CLUSTER, "hardware": [{"gpu": "a100-80gb", "count": 2}]}),
        ("Qwen/Qwen2.5-7B-Instruct", "Q4_K_M", "rtx-4090", 1, {"traffic": {"peak_concurrency": 2}}),
    ],
)
def test_latency_cost_and_plan_size_the_same_deployment(
    context: AdvisorContext, model: str, quant: str, device: str, count: int, answers: dict[str, Any]
) -> None:
    """LAT001's evidence, COST001's replica metrics and the deployment's topology and capacity all come from
    one ``size_deployment``: same engine, devices per replica, replicas and per-stream speed."""
    from advisor.engine.deployment_sizing import size_deployment
    from advisor.model.metrics import ServingMetrics

    candidate, requirements, lat, costs, plan = _assess(context, model, quant, device, count, answers)
    sized = size_deployment(candidate, requirements, context.catalog)
    assert sized is not None
    evidence = lat[0].evidence
    assert evidence["engine"] == sized.engine == plan.engine
    assert evidence["replicas"] == sized.replicas and evidence["devices_per_replica"] == sized.devices_per_replica
    assert evidence["per_stream_tokens_per_s"] == round(sized.per_stream_tokens_per_s, 1)
    serving = ServingMetrics.from_metrics(costs[0].metrics)
    assert (serving.replicas, serving.devices_per_replica) == (sized.replicas, sized.devices_per_replica)
    assert serving.streams_per_replica == sized.stream_limit
    assert plan.replicas == sized.running_replicas
    if sized.topology is not None:
        assert plan.topology is not None
        assert plan.topology["tensor_parallel"] * plan.topology["pipeline_parallel"] == sized.devices_per_replica
        assert plan.capacity is not None
        assert plan.capacity["per_stream_tokens_per_s"] == round(sized.per_stream_tokens_per_s, 1)
        assert plan.capacity["concurrency"] == sized.streams_per_replica


@pytest.mark.parametrize(
    ("model", "expert_parallel"), [("Qwen/Qwen3-235B-A22B-Instruct-2507", True), ("deepseek-ai/DeepSeek-V3", False)]
)
def test_block_fp8_experts_that_do_not_split_get_expert_parallel(
    context: AdvisorContext, model: str, expert_parallel: bool
) -> None:
    """Qwen3-235B-A22B-FP8 at TP8 does not load without expert parallel (1536 expert columns / 8 = 192, not whole
    128-column FP8 blocks: the Qwen card's own note); DeepSeek-V3 (2048 / 8 = 256) splits as is."""
    plan = _plan(context, model, "Q8_0", "h100-sxm", 16, **CLUSTER)
    serve = plan.steps[-1]["text"]
    assert plan.topology is not None
    tp = plan.topology["tensor_parallel"]
    record = context.catalog.models[model]
    assert record.architecture is not None
    moe = int(record.architecture.model_extra["moe_intermediate_size"])
    assert ((moe // tp) % 128 != 0) is expert_parallel or tp < 8
    assert ("--enable-expert-parallel" in serve) is ((moe // tp) % 128 != 0)
    check_flags(serve, VLLM_FLAGS)


@pytest.mark.parametrize("model", ["mistralai/Devstral-Small-2507", "openai/gpt-oss-20b", "Qwen/Qwen2.5-7B-Instruct"])
def test_llama_server_plan_never_guesses_a_gguf_repository(context: AdvisorContext, model: str) -> None:
    """The llama-server plan's download hint names the catalog's GGUF repository (``-hf REPO:QUANT``) or says to
    convert; never a ``<publisher>/<model>-GGUF`` guess that may not exist."""
    from advisor.hub import gguf_repos_of

    answers = {"traffic": {"requests_per_day": 50, "peak_concurrency": 1}, "hardware": [{"gpu": "m3-max"}]}
    plan = _plan(context, model, "Q4_K_M", "m3-max", 1, **answers)
    assert plan.engine == "llama.cpp"
    text = " ".join(plan.notes)
    repos = gguf_repos_of(context.catalog.models[model])
    assert "<publisher>" not in text
    assert set(re.findall(r"-hf (\S+?):", text)) <= set(repos)
    if repos:
        assert f"llama-server -hf {repos[0]}:Q4_K_M" in text
    else:
        assert "convert_hf_to_gguf.py" in text


def test_no_catalog_model_is_served_from_a_guessed_repository(context: AdvisorContext) -> None:
    """Every catalog model, at 4 and 8 bits on 16 owned H100 (air-gapped, so the download step names the repo
    too): the server loads the model's own repo or a release the catalog records, never ``{repo}-AWQ``; a
    4-bit BF16 fallback comes with the llm-compressor script; ``--quantization`` appears only as the engine's
    online FP8 of the model's own BF16 repo (an 8-bit variant whose publisher ships no 8-bit build)."""
    from advisor.hub import gguf_repos_of

    answers = {**CLUSTER, "privacy": {"air_gapped": True}}
    served = 0
    for model, record in sorted(context.catalog.models.items()):
        known = {model, *(r.repo for r in record.quantized_releases), *gguf_repos_of(record)}
        for quant in ("Q4_K_M", "Q8_0"):
            plan = _plan(context, model, quant, "h100-sxm", 16, **answers)
            online = any("quantizes the BF16 weights to FP8 as it loads" in n for n in plan.notes)
            for step in plan.steps:
                if "--quantization" in step["text"]:
                    assert quant == "Q8_0" and online and "--quantization fp8" in step["text"], (model, step["text"])
                for repo in _repos_named(step["text"]):
                    assert repo in known or repo.startswith("/models/"), (model, quant, step["text"])
            if plan.engine in {"vllm", "sglang"}:
                served += 1
                assert _repos_named(plan.steps[0]["text"]), plan.steps[0]
                if any("the publisher ships no" in n for n in plan.notes) and not online:
                    assert any(a["filename"].startswith("quantize-") for a in plan.artifacts), model
                if online:
                    assert not any(a["filename"].startswith("quantize-") for a in plan.artifacts), model
                    assert any("--quantization fp8" in step["text"] for step in plan.steps), model
    assert served > len(context.catalog.models)

"""Serving plans wired into the deployment (issue 15): topology, commands, manifests and capacity.

What an ML lead expects of a self-hosted plan: a model too big for one node is split TP inside a node and
PP across nodes (not one command of data parallelism over GPUs in two machines); every command names a
repository that exists (the model's own or a publisher release the catalog records); the llama-server
command is the one that was sized; and the plan hands over files that validate against upstream schemas.
"""

from __future__ import annotations

import json
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
    assert plan.capacity["concurrency"] == 256
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
    plan = _plan(context, "openai/gpt-oss-120b", "Q4_K_M", "h100-sxm", 16, **CLUSTER)
    assert "vllm serve openai/gpt-oss-120b " in plan.command
    assert plan.topology is not None and plan.topology["tensor_parallel"] == 1


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
    assert roles[:2] == ["download", "copy"]
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

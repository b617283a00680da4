"""Serving topology, commands and manifests (advisor/serving/): plans that run.

Every generated manifest is validated against the upstream resource schemas kept in
tests/data/schemas/ (SOURCES.md says where each comes from); every command must parse as a shell
command and use only flags the engines document (docs/serving.md, "Flags and their sources").
"""

from __future__ import annotations

import copy
import json
import shlex
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from referencing import Registry, Resource

from advisor.estimate.serving import Topology
from advisor.serving.artifacts import Artifact, serving_artifacts
from advisor.serving.commands import engine_commands, sglang_commands, vllm_commands
from advisor.serving.kubernetes import deployment_service_autoscaler, inference_service, leader_worker_set
from advisor.serving.layout import ServingLayout, choose_topology

SCHEMAS = Path(__file__).parent / "data" / "schemas"
K8S = SCHEMAS / "kubernetes-v1.33"

# The flags each engine documents (vLLM engine args / serve CLI; SGLang server arguments), 2026-12-05.
VLLM_FLAGS = {
    "--tensor-parallel-size",
    "--pipeline-parallel-size",
    "--data-parallel-size",
    "--distributed-executor-backend",
    "--max-model-len",
    "--gpu-memory-utilization",
    "--served-model-name",
    "--host",
    "--port",
    "--enable-expert-parallel",  # docs.vllm.ai engine args; serving/expert_parallel_deployment (read 2026-12-05)
    "--quantization",  # docs.vllm.ai engine args; features/quantization/fp8 "online dynamic quantization" (2026-12-05)
}
SGLANG_FLAGS = {
    "--model-path",
    "--tp",
    "--dp",
    "--nnodes",
    "--node-rank",
    "--dist-init-addr",
    "--context-length",
    "--mem-fraction-static",
    "--served-model-name",
    "--host",
    "--port",
    "--ep-size",  # docs.sglang.io server arguments: --ep-size, --expert-parallel-size (read 2026-12-05)
    "--quantization",  # docs.sglang.io server arguments and quantization page: online "--quantization fp8"
}


def _k8s_validator(root: str) -> jsonschema.protocols.Validator:
    definitions = json.loads((K8S / "_definitions.json").read_text())
    schema = json.loads((K8S / root).read_text())
    registry: Registry[Any] = Registry().with_resource(
        "https://kubernetes.io/api/_definitions.json", Resource.from_contents(definitions)
    )
    cls = jsonschema.validators.validator_for(schema)
    return cls(schema, registry=registry)


def _strict(schema: Any) -> Any:
    """What ``kubectl apply --validate=strict`` enforces on a CRD: no field the schema does not list."""
    if isinstance(schema, dict):
        out = {k: _strict(v) for k, v in schema.items()}
        if "properties" in out and not out.get("x-kubernetes-preserve-unknown-fields"):
            out.setdefault("additionalProperties", False)
        return out
    if isinstance(schema, list):
        return [_strict(v) for v in schema]
    return schema


def _crd_validator(name: str) -> jsonschema.protocols.Validator:
    schema = _strict(json.loads((SCHEMAS / "crd" / name).read_text()))
    schema.pop("x-trimmed", None)
    return jsonschema.Draft7Validator(schema)


VALIDATORS = {
    ("apps/v1", "Deployment"): lambda: _k8s_validator("deployment-apps-v1.json"),
    ("v1", "Service"): lambda: _k8s_validator("service-v1.json"),
    ("autoscaling/v2", "HorizontalPodAutoscaler"): lambda: _k8s_validator(
        "horizontalpodautoscaler-autoscaling-v2.json"
    ),
    ("leaderworkerset.x-k8s.io/v1", "LeaderWorkerSet"): lambda: _crd_validator("leaderworkerset-v1.json"),
    ("serving.kserve.io/v1beta1", "InferenceService"): lambda: _crd_validator("inferenceservice-v1beta1.json"),
}


def validate(document: dict[str, Any]) -> None:
    key = (document["apiVersion"], document["kind"])
    assert key in VALIDATORS, f"no schema for {key}"
    VALIDATORS[key]().validate(document)


def check_flags(text: str, allowed: set[str]) -> list[str]:
    words = shlex.split(text)
    flags = [w.split("=", 1)[0] for w in words if w.startswith("--")]
    unknown = [f for f in flags if f not in allowed]
    assert not unknown, f"undocumented flags {unknown} in {text!r}"
    return words


def layouts() -> list[ServingLayout]:
    """Single node (1 GPU, TP=4 + DP), multi-node (2 x 8 H100 for a 671B FP8 model), air-gapped variants."""
    one = choose_topology(16e9, 80, 1, 1, 0.9)
    node_tp = choose_topology(140e9, 80, 8, 1, 0.9)
    two_nodes = choose_topology(671e9, 80, 8, 2, 0.9)
    out = []
    for engine in ("vllm", "sglang"):
        fraction = 0.9 if engine == "vllm" else 0.88
        out += [
            ServingLayout("meta-llama/Llama-3.1-8B-Instruct", engine, one, 8192, fraction),
            ServingLayout("meta-llama/Llama-3.3-70B-Instruct", engine, node_tp, 32768, fraction),
            ServingLayout("deepseek-ai/DeepSeek-V3", engine, two_nodes, 32768, fraction),
            ServingLayout("deepseek-ai/DeepSeek-V3", engine, two_nodes, 32768, fraction, local_path="/models/dsv3"),
            ServingLayout(
                "meta-llama/Llama-3.3-70B-Instruct", engine, node_tp, 32768, fraction, local_path="/models/l70"
            ),
            ServingLayout("meta-llama/Llama-3.3-70B-Instruct", engine, node_tp, 32768, fraction, quantization="fp8"),
        ]
    return out


# ----------------------------------------------------------------------------- topology


def test_sixteen_h100_in_two_nodes_for_deepseek_v3_is_tp8_inside_pp2_across() -> None:
    """671 GB of FP8 weights on 2 nodes x 8 H100 80 GB: one node holds 8 x ~63 GiB usable = too little, so
    TP = the 8 GPUs of a node (NVLink) and PP = 2 across the nodes, one replica: vLLM's documented layout."""
    t = choose_topology(671e9, 80, 8, 2, 0.9)
    assert (t.tensor_parallel, t.pipeline_parallel, t.data_parallel) == (8, 2, 1)
    assert t.nodes_per_replica == 2 and t.gpus == 16


def test_small_model_on_a_cluster_becomes_data_parallel_replicas() -> None:
    """An 8B BF16 model fits one GPU: 16 H100 in 2 nodes are 16 single-GPU replicas, never one 16-GPU split."""
    t = choose_topology(16e9, 80, 8, 2, 0.9)
    assert (t.tensor_parallel, t.pipeline_parallel, t.data_parallel) == (1, 1, 16)


def test_70b_bf16_on_one_node_is_tensor_parallel() -> None:
    """140 GB needs 4 H100 (2 would hold 70 GB each, over the ~63 GiB usable): TP=4, two replicas on 8 GPUs."""
    t = choose_topology(140e9, 80, 8, 1, 0.9)
    assert (t.tensor_parallel, t.pipeline_parallel, t.data_parallel) == (4, 1, 2)


def test_model_too_big_for_the_cluster_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="do not fit on 1 node"):
        choose_topology(671e9, 80, 8, 1, 0.9)


# ----------------------------------------------------------------------------- commands


def test_two_node_vllm_plan_is_a_ray_cluster_and_one_serve_with_tp_and_pp() -> None:
    """Head: ray start --head --port=6379; worker: ray start --address=HEAD:6379; then one vllm serve with
    TP=8 inside a node and PP=2 across, on the Ray backend (docs.vllm.ai, Parallelism and Scaling)."""
    layout = ServingLayout("deepseek-ai/DeepSeek-V3", "vllm", choose_topology(671e9, 80, 8, 2, 0.9), 32768, 0.9)
    commands = vllm_commands(layout)
    assert [c.role for c in commands] == ["ray-head", "ray-worker", "server"]
    assert shlex.split(commands[0].text) == ["ray", "start", "--head", "--port=6379"]
    assert shlex.split(commands[1].text) == ["ray", "start", "--address=HEAD_NODE_IP:6379"]
    words = check_flags(commands[2].text, VLLM_FLAGS)
    assert words[:3] == ["vllm", "serve", "deepseek-ai/DeepSeek-V3"]
    assert words[words.index("--tensor-parallel-size") + 1] == "8"
    assert words[words.index("--pipeline-parallel-size") + 1] == "2"
    assert "--data-parallel-size" not in words
    assert words[words.index("--distributed-executor-backend") + 1] == "ray"


def test_no_data_parallel_flag_over_gpus_in_two_nodes() -> None:
    """The issue's bad command: --data-parallel-size 8 --tensor-parallel-size 2 for 16 GPUs in two nodes.
    A TP=2 layout on 2 x 8 GPUs gives one command per node with at most 4 DP ranks (8 GPUs) each."""
    from advisor.estimate.serving import Topology

    layout = ServingLayout("Qwen/Qwen2.5-32B-Instruct", "vllm", Topology(2, 1, 8, 8), 16384, 0.9)
    (command,) = vllm_commands(layout)
    words = check_flags(command.text, VLLM_FLAGS)
    dp = int(words[words.index("--data-parallel-size") + 1])
    tp = int(words[words.index("--tensor-parallel-size") + 1])
    assert dp * tp <= 8
    assert "each of the 2 nodes" in command.host


def test_two_node_sglang_plan_is_one_command_per_node_rank() -> None:
    """SGLang's documented multi-node form: --tp 16 --nnodes 2 --node-rank r --dist-init-addr HEAD:PORT."""
    layout = ServingLayout("deepseek-ai/DeepSeek-V3", "sglang", choose_topology(671e9, 80, 8, 2, 0.9), 32768, 0.88)
    commands = sglang_commands(layout)
    assert len(commands) == 2
    for rank, command in enumerate(commands):
        words = check_flags(command.text, SGLANG_FLAGS)
        assert words[:3] == ["python", "-m", "sglang.launch_server"]
        assert words[words.index("--tp") + 1] == "16"
        assert words[words.index("--nnodes") + 1] == "2"
        assert words[words.index("--node-rank") + 1] == str(rank)
        assert words[words.index("--mem-fraction-static") + 1] == "0.88"


def test_air_gapped_plan_brings_the_weights_in_and_runs_offline() -> None:
    """Download on a connected machine, record checksums there, copy, verify them on the server, then serve the
    local directory with HF_HUB_OFFLINE=1 under the repository's name (clients keep the same model id): a
    security reviewer wants proof that what reached the enclave is what left the Hub."""
    layout = ServingLayout(
        "deepseek-ai/DeepSeek-V3", "vllm", choose_topology(671e9, 80, 8, 2, 0.9), 32768, 0.9, local_path="/models/dsv3"
    )
    commands = engine_commands(layout)
    assert [c.role for c in commands][:4] == ["download", "checksum", "copy", "verify"]
    record, verify = shlex.split(commands[1].text), shlex.split(commands[3].text)
    assert record[:2] == verify[:2] == ["sh", "-c"]
    assert "cd /models/dsv3" in record[2] and "sha256sum" in record[2] and "> SHA256SUMS" in record[2]
    assert "cd /models/dsv3" in verify[2] and "sha256sum -c" in verify[2]
    assert shlex.split(commands[0].text) == [
        "huggingface-cli",
        "download",
        "deepseek-ai/DeepSeek-V3",
        "--local-dir",
        "/models/dsv3",
    ]
    serve = shlex.split(commands[-1].text)
    assert serve[:5] == ["env", "HF_HUB_OFFLINE=1", "vllm", "serve", "/models/dsv3"]
    assert serve[serve.index("--served-model-name") + 1] == "deepseek-ai/DeepSeek-V3"


@pytest.mark.parametrize(
    "layout", layouts(), ids=lambda lay: f"{lay.engine}-{lay.repo}-{lay.topology}-{lay.local_path}"
)
def test_every_command_parses_and_uses_documented_flags(layout: ServingLayout) -> None:
    for command in engine_commands(layout):
        words = shlex.split(command.text)
        assert words
        if command.role == "server":
            check_flags(command.text, VLLM_FLAGS if layout.engine == "vllm" else SGLANG_FLAGS)


# ----------------------------------------------------------------------------- manifests


@pytest.mark.parametrize(
    "layout", layouts(), ids=lambda lay: f"{lay.engine}-{lay.repo}-{lay.topology}-{lay.local_path}"
)
def test_every_manifest_is_valid_yaml_and_valid_against_its_upstream_schema(layout: ServingLayout) -> None:
    artifacts = serving_artifacts(layout, max_replicas=6)
    kube = [a for a in artifacts if a.kind == "kubernetes"]
    assert kube
    for artifact in kube:
        documents = list(yaml.safe_load_all(artifact.content))
        assert documents
        for document in documents:
            validate(document)
            for container in _containers(document):
                command = container.get("command", [])
                if command[:2] == ["/bin/sh", "-c"]:
                    shlex.split(command[2])


def _containers(document: dict[str, Any]) -> list[dict[str, Any]]:
    spec = document.get("spec", {})
    if document["kind"] == "Deployment":
        return list(spec["template"]["spec"]["containers"])
    if document["kind"] == "LeaderWorkerSet":
        t = spec["leaderWorkerTemplate"]
        return [*t["leaderTemplate"]["spec"]["containers"], *t["workerTemplate"]["spec"]["containers"]]
    return []


def test_schema_validation_catches_a_broken_manifest() -> None:
    """The validators are not vacuous: a Deployment without a selector, a LeaderWorkerSet with a field the
    CRD does not know and an HPA with a bad metric type are all rejected."""
    layout = ServingLayout("meta-llama/Llama-3.1-8B-Instruct", "vllm", choose_topology(16e9, 80, 1, 1, 0.9), 8192, 0.9)
    deployment, _, hpa = deployment_service_autoscaler(layout, 4)
    broken = copy.deepcopy(deployment)
    del broken["spec"]["selector"]
    with pytest.raises(jsonschema.ValidationError):
        validate(broken)
    bad_hpa = copy.deepcopy(hpa)
    bad_hpa["spec"]["metrics"][0]["type"] = 7
    with pytest.raises(jsonschema.ValidationError):
        validate(bad_hpa)
    big = ServingLayout("deepseek-ai/DeepSeek-V3", "vllm", choose_topology(671e9, 80, 8, 2, 0.9), 32768, 0.9)
    lws, _ = leader_worker_set(big)
    lws["spec"]["leaderWorkerTemplate"]["sise"] = 2
    with pytest.raises(jsonschema.ValidationError):
        validate(lws)
    isvc = inference_service(big)
    isvc["spec"]["predictor"]["workerSpec"]["tensorParallelSize"] = "eight"
    with pytest.raises(jsonschema.ValidationError):
        validate(isvc)


def test_multi_node_layout_gets_a_leader_worker_set_with_one_group_per_replica() -> None:
    """LWS group size = nodes per replica (2), 8 GPUs per pod; the leader starts Ray and vllm serve."""
    layout = ServingLayout("deepseek-ai/DeepSeek-V3", "vllm", choose_topology(671e9, 80, 8, 2, 0.9), 32768, 0.9)
    lws, service = leader_worker_set(layout)
    template = lws["spec"]["leaderWorkerTemplate"]
    assert lws["spec"]["replicas"] == 1 and template["size"] == 2
    leader = template["leaderTemplate"]["spec"]["containers"][0]
    assert leader["resources"]["limits"]["nvidia.com/gpu"] == "8"
    assert "--pipeline-parallel-size 2" in leader["command"][2] and "leader --ray_cluster_size" in leader["command"][2]
    assert service["spec"]["selector"]["role"] == "leader"
    with pytest.raises(ValueError, match="Deployment"):
        leader_worker_set(ServingLayout("a/b", "vllm", choose_topology(16e9, 80, 8, 1, 0.9), 4096, 0.9))


def test_single_node_replicas_scale_on_queue_length() -> None:
    """Deployment replicas = DP; the HPA scales the Deployment on vllm:num_requests_waiting per pod."""
    layout = ServingLayout(
        "meta-llama/Llama-3.3-70B-Instruct", "vllm", choose_topology(140e9, 80, 8, 1, 0.9), 32768, 0.9
    )
    deployment, service, hpa = deployment_service_autoscaler(layout, max_replicas=6)
    assert deployment["spec"]["replicas"] == 2
    pod = deployment["spec"]["template"]["spec"]["containers"][0]
    assert pod["resources"]["limits"]["nvidia.com/gpu"] == "4"
    assert hpa["spec"]["scaleTargetRef"]["name"] == deployment["metadata"]["name"]
    assert hpa["spec"]["metrics"][0]["pods"]["metric"]["name"] == "vllm:num_requests_waiting"
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (2, 6)
    assert service["spec"]["selector"] == deployment["spec"]["selector"]["matchLabels"]


def test_artifacts_are_named_results() -> None:
    layout = ServingLayout("deepseek-ai/DeepSeek-V3", "vllm", choose_topology(671e9, 80, 8, 2, 0.9), 32768, 0.9)
    artifacts = serving_artifacts(layout)
    assert all(isinstance(a, Artifact) and a.filename and a.content for a in artifacts)
    assert {a.filename for a in artifacts} == {
        "serve-vllm.sh",
        "vllm-leaderworkerset.yaml",
        "kserve-inferenceservice.yaml",
    }
    assert "&id" not in "".join(a.content for a in artifacts)


def test_bad_layout_input_is_refused_with_the_field_named() -> None:
    topology = choose_topology(16e9, 80, 1, 1, 0.9)
    with pytest.raises(ValueError, match="engine"):
        ServingLayout("a/b", "tgi", topology, 4096, 0.9)
    with pytest.raises(ValueError, match="repo"):
        ServingLayout("not a repo", "vllm", topology, 4096, 0.9)


@pytest.mark.parametrize(
    ("moe_intermediate", "tp", "fmt", "needed"),
    [
        (1536, 8, "FP8", True),  # Qwen3-235B-A22B-FP8 at TP8: 192 columns per rank, not a 128-column block
        (1536, 4, "FP8", False),  # TP4: 384 = 3 blocks
        (2560, 8, "FP8", True),  # Qwen3-Coder-480B-FP8 at TP8: 320
        (2048, 16, "FP8", False),  # DeepSeek-V3 over 2 x 8: 128
        (1536, 8, "BF16", False),  # unquantized weights split anywhere
        (None, 8, "FP8", False),  # dense model
    ],
)
def test_expert_parallel_when_block_quantized_experts_do_not_split(
    moe_intermediate: int | None, tp: int, fmt: str, needed: bool
) -> None:
    """Block-quantized MoE weights (FP8 128x128 blocks, 4-bit groups of 128) load under tensor parallel only when
    each rank's slice of an expert is whole blocks; else vLLM stops with "not divisible by weight quantization
    block_n = 128" and the publishers' cards (Qwen3-235B-A22B-FP8, Qwen3-Coder-480B-FP8) say to enable expert
    parallel: the experts are then placed whole on ranks instead of split."""
    from advisor.serving.layout import expert_parallel_needed

    assert expert_parallel_needed(moe_intermediate, tp, fmt) is needed


def test_expert_parallel_layout_adds_the_engines_flag() -> None:
    topology = Topology(8, 1, 1, 8)
    for engine, flag in (("vllm", ["--enable-expert-parallel"]), ("sglang", ["--ep-size", "8"])):
        layout = ServingLayout(
            "Qwen/Qwen3-235B-A22B-Instruct-2507-FP8", engine, topology, 16384, 0.9, expert_parallel=True
        )
        (server,) = [c for c in engine_commands(layout) if c.role == "server"]
        words = check_flags(server.text, VLLM_FLAGS if engine == "vllm" else SGLANG_FLAGS)
        assert words[words.index(flag[0]) : words.index(flag[0]) + len(flag)] == flag


def test_online_fp8_is_one_flag_on_either_engine_and_nothing_else_is_accepted() -> None:
    topology = choose_topology(70e9, 48, 4, 1, 0.9)
    for engine, flags in (("vllm", VLLM_FLAGS), ("sglang", SGLANG_FLAGS)):
        layout = ServingLayout("meta-llama/Llama-3.3-70B-Instruct", engine, topology, 8192, 0.9, quantization="fp8")
        (server,) = [c for c in engine_commands(layout) if c.role == "server"]
        words = check_flags(server.text, flags)
        assert words[words.index("--quantization") + 1] == "fp8"
    with pytest.raises(ValueError, match="quantization"):
        ServingLayout("meta-llama/Llama-3.3-70B-Instruct", "vllm", topology, 8192, 0.9, quantization="awq")

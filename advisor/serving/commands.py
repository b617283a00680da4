"""The commands that start a layout on vLLM or SGLang, on one node or a cluster, and bring weights in.

Every flag is the engines' documented one (docs/serving.md, "Flags and their sources"):

- vLLM ``vllm serve MODEL`` with ``--tensor-parallel-size``, ``--pipeline-parallel-size``,
  ``--data-parallel-size`` (only for replicas inside one node), ``--max-model-len``,
  ``--gpu-memory-utilization``, ``--served-model-name``, ``--host``, ``--port``,
  ``--enable-expert-parallel`` (a quantized MoE whose experts do not split into whole blocks),
  ``--quantization fp8`` (online FP8 of a 16-bit checkpoint) and,
  across nodes, ``--distributed-executor-backend ray`` on a Ray cluster (head ``ray start --head --port=6379``,
  workers ``ray start --address=HEAD:6379``; docs.vllm.ai "Parallelism and Scaling").
- SGLang ``python -m sglang.launch_server --model-path MODEL`` with ``--tp``, ``--dp``,
  ``--context-length``, ``--mem-fraction-static``, ``--served-model-name``, ``--host``, ``--port``,
  ``--ep-size`` (expert parallel), ``--quantization fp8`` and, across nodes, ``--nnodes``, ``--node-rank``,
  ``--dist-init-addr`` (SGLang's documented multi-node form runs tensor parallel over all GPUs of the
  replica).
- Air-gapped: ``huggingface-cli download REPO --local-dir DIR`` on a connected machine, a SHA-256
  manifest of the files recorded there (``sha256sum``, GNU coreutils), a copy, the manifest checked on
  each serving node (``sha256sum -c``), and the engine started with ``HF_HUB_OFFLINE=1`` on the local
  directory.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass

from advisor.serving.layout import ServingLayout

RAY_PORT = 6379
SGLANG_DIST_PORT = 20000
HEAD = "HEAD_NODE_IP"


@dataclass(frozen=True)
class Command:
    """One command line, where it runs (``host``) and what it does (``role``)."""

    role: str
    host: str
    text: str


def _join(words: list[str]) -> str:
    return shlex.join(words)


def _offline_prefix(layout: ServingLayout) -> list[str]:
    return ["env", "HF_HUB_OFFLINE=1"] if layout.local_path else []


def vllm_serve_words(layout: ServingLayout, data_parallel: int = 1) -> list[str]:
    """``vllm serve`` for one replica (or ``data_parallel`` replicas inside one node)."""
    t = layout.topology
    words = [*_offline_prefix(layout), "vllm", "serve", layout.model_ref]
    if layout.local_path:
        words += ["--served-model-name", layout.repo]
    words += ["--tensor-parallel-size", str(t.tensor_parallel)]
    if t.pipeline_parallel > 1:
        words += ["--pipeline-parallel-size", str(t.pipeline_parallel)]
    if data_parallel > 1:
        words += ["--data-parallel-size", str(data_parallel)]
    if layout.multi_node:
        words += ["--distributed-executor-backend", "ray"]
    if layout.expert_parallel:
        words += ["--enable-expert-parallel"]
    words += _quantization(layout)
    words += [
        "--max-model-len",
        str(layout.max_model_len),
        "--gpu-memory-utilization",
        f"{layout.memory_fraction:g}",
        "--host",
        "0.0.0.0",
        "--port",
        str(layout.port),
    ]
    return words


def ray_commands(layout: ServingLayout) -> list[Command]:
    """A Ray cluster for one multi-node vLLM replica: the head, then every worker node."""
    workers = layout.topology.nodes_per_replica - 1
    return [
        Command("ray-head", "head node (node 0)", _join(["ray", "start", "--head", f"--port={RAY_PORT}"])),
        Command(
            "ray-worker",
            f"each of the {workers} other node(s)",
            _join(["ray", "start", f"--address={HEAD}:{RAY_PORT}"]),
        ),
    ]


def vllm_commands(layout: ServingLayout) -> list[Command]:
    """The vLLM commands of a layout, in the order they are run."""
    t = layout.topology
    if layout.multi_node:
        host = "head node, once every worker has joined (`ray status`)"
        if t.data_parallel > 1:
            host += f"; repeat on {t.data_parallel} groups of {t.nodes_per_replica} nodes, a load balancer in front"
        return [*ray_commands(layout), Command("server", host, _join(vllm_serve_words(layout)))]
    per_node = max(1, t.gpus_per_node // t.gpus_per_replica)
    local_dp = min(t.data_parallel, per_node)
    nodes = -(-t.data_parallel // local_dp)
    host = "the node" if nodes == 1 else f"each of the {nodes} nodes (a load balancer in front)"
    return [Command("server", host, _join(vllm_serve_words(layout, local_dp)))]


def sglang_commands(layout: ServingLayout) -> list[Command]:
    """The SGLang commands: one per node rank across nodes, else one (with ``--dp``) per node."""
    t = layout.topology
    base = [*_offline_prefix(layout), "python", "-m", "sglang.launch_server", "--model-path", layout.model_ref]
    if layout.local_path:
        base += ["--served-model-name", layout.repo]
    tail = [
        *_quantization(layout),
        "--context-length",
        str(layout.max_model_len),
        "--mem-fraction-static",
        f"{layout.memory_fraction:g}",
        "--host",
        "0.0.0.0",
        "--port",
        str(layout.port),
    ]
    if layout.multi_node:
        nnodes = t.nodes_per_replica
        tp = t.gpus_per_replica
        return [
            Command(
                "server",
                f"node {rank}" + (" (head)" if rank == 0 else ""),
                _join(
                    [
                        *base,
                        "--tp",
                        str(tp),
                        "--nnodes",
                        str(nnodes),
                        "--node-rank",
                        str(rank),
                        "--dist-init-addr",
                        f"{HEAD}:{SGLANG_DIST_PORT}",
                        *_sglang_ep(layout, tp),
                        *tail,
                    ]
                ),
            )
            for rank in range(nnodes)
        ]
    per_node = max(1, t.gpus_per_node // t.gpus_per_replica)
    local_dp = min(t.data_parallel, per_node)
    words = [*base, "--tp", str(t.tensor_parallel)]
    if local_dp > 1:
        words += ["--dp", str(local_dp)]
    words += _sglang_ep(layout, t.tensor_parallel)
    nodes = -(-t.data_parallel // local_dp)
    host = "the node" if nodes == 1 else f"each of the {nodes} nodes (a load balancer in front)"
    return [Command("server", host, _join(words + tail))]


def _quantization(layout: ServingLayout) -> list[str]:
    """``--quantization fp8`` (the same flag on vLLM and SGLang) when the engine quantizes as it loads."""
    return ["--quantization", layout.quantization] if layout.quantization else []


def _sglang_ep(layout: ServingLayout, tp: int) -> list[str]:
    """SGLang's expert parallel over the replica's tensor-parallel ranks (``--ep-size``), when the layout needs it."""
    return ["--ep-size", str(tp)] if layout.expert_parallel else []


def engine_commands(layout: ServingLayout) -> list[Command]:
    """The commands of the layout's engine, preceded by the weight transfer when air-gapped."""
    serve = vllm_commands(layout) if layout.engine == "vllm" else sglang_commands(layout)
    return [*airgap_commands(layout), *serve]


def airgap_commands(layout: ServingLayout) -> list[Command]:
    """Bring the weights in: download on a connected machine, copy, serve offline ([] when online)."""
    if not layout.local_path:
        return []
    path = layout.local_path
    record = f"cd {shlex.quote(path)} && find . -type f ! -name SHA256SUMS -print0 | xargs -0 sha256sum > SHA256SUMS"
    return [
        Command(
            "download",
            "a machine with Internet access",
            _join(["huggingface-cli", "download", layout.repo, "--local-dir", path]),
        ),
        Command("checksum", "the connected machine (record what left the Hub)", _join(["sh", "-c", record])),
        Command(
            "copy",
            "the connected machine, once per serving node (or via removable media)",
            _join(["rsync", "-a", "--partial", f"{path}/", f"SERVER:{path}/"]),
        ),
        Command(
            "verify",
            "each serving node, before the server starts",
            _join(["sh", "-c", f"cd {shlex.quote(path)} && sha256sum -c --quiet SHA256SUMS"]),
        ),
    ]

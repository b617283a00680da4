"""What one serving deployment is (model, engine, TP x PP x DP on nodes) and how it is chosen.

The rule is vLLM's own (docs.vllm.ai, "Parallelism and Scaling"): one GPU if the model fits; else
tensor parallel inside one node; else tensor parallel = the GPUs of a node and pipeline parallel =
the nodes. The GPUs left over become data-parallel replicas. Splitting a node's GPUs into one
command of ``--data-parallel-size`` over GPUs that sit in several nodes is never produced.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from advisor.estimate.serving import Topology

GIB = 1024**3
ENGINES = ("vllm", "sglang")


@dataclass(frozen=True)
class ServingLayout:
    """One deployment: the model, the engine and its topology, and the settings the commands carry.

    ``local_path`` set means air-gapped: the engine loads the weights from that directory with the
    Hub offline (``HF_HUB_OFFLINE=1``) and serves them under the repository's name. ``expert_parallel``
    places a mixture of experts' experts whole on the ranks instead of splitting each (see
    :func:`expert_parallel_needed`). ``quantization``: the engine quantizes the weights as it loads them.
    """

    repo: str
    engine: str
    topology: Topology
    max_model_len: int
    memory_fraction: float
    local_path: str | None = None
    port: int = 8000
    image: str | None = None
    expert_parallel: bool = False
    #: The engine quantizes the 16-bit weights as it loads them (``--quantization fp8``: vLLM's and SGLang's
    #: online dynamic FP8, no calibration data): the checkpoint has no publisher FP8 build.
    quantization: str | None = None

    def __post_init__(self) -> None:
        if self.quantization not in (None, "fp8"):
            raise ValueError(f"quantization: expected fp8 or none, got {self.quantization!r}")
        if self.engine not in ENGINES:
            raise ValueError(f"engine: expected one of {', '.join(ENGINES)}, got {self.engine!r}")
        if "/" not in self.repo or " " in self.repo:
            raise ValueError(f"repo: expected a Hugging Face repository id 'owner/name', got {self.repo!r}")
        if self.max_model_len < 1:
            raise ValueError("max_model_len must be at least 1")
        if not 0 < self.memory_fraction <= 1:
            raise ValueError("memory_fraction must be in (0, 1]")

    @property
    def model_ref(self) -> str:
        """What the engine loads: the local directory when air-gapped, else the repository."""
        return self.local_path or self.repo

    @property
    def name(self) -> str:
        """A DNS-1123 name for Kubernetes objects, from the repository name."""
        base = self.repo.split("/")[-1].lower()
        cleaned = "".join(c if c.isalnum() else "-" for c in base).strip("-")
        return f"{self.engine}-{cleaned}"[:50].rstrip("-")

    @property
    def multi_node(self) -> bool:
        """One replica spans more than one node (PP across nodes or TP beyond a node)."""
        return self.topology.nodes_per_replica > 1

    @property
    def container_image(self) -> str:
        if self.image:
            return self.image
        return "vllm/vllm-openai:latest" if self.engine == "vllm" else "lmsysorg/sglang:latest"


def choose_topology(
    weight_bytes: float,
    gpu_memory_gib: float,
    gpus_per_node: int,
    nodes: int,
    memory_fraction: float,
    reserve_gib: float = 2.0,
    kv_share: float = 0.1,
) -> Topology:
    """The smallest TP x PP that holds the weights and leaves ``kv_share`` of the pool for KV; DP the rest.

    TP is a power of two dividing ``gpus_per_node`` (attention heads and NVLink domains split that way);
    PP > 1 only with TP = a whole node. Raises ValueError when even every node cannot hold the weights.
    """
    if gpus_per_node < 1 or nodes < 1:
        raise ValueError("gpus_per_node and nodes must be at least 1")
    usable = (gpu_memory_gib * memory_fraction - reserve_gib) * GIB * (1.0 - kv_share)
    if usable <= 0:
        raise ValueError("no memory left per GPU after the engine's fraction and reserve")
    tp_options = [t for t in (1, 2, 4, 8, 16) if t <= gpus_per_node and gpus_per_node % t == 0]
    for tp in tp_options:
        if weight_bytes / tp <= usable:
            replicas = (gpus_per_node // tp) * nodes
            return Topology(tp, 1, replicas, gpus_per_node)
    tp = tp_options[-1]
    pp = math.ceil(weight_bytes / (tp * usable))
    if pp > nodes:
        total = usable * tp * nodes / GIB
        raise ValueError(
            f"the weights ({weight_bytes / GIB:.0f} GiB) do not fit on {nodes} node(s) of {gpus_per_node} GPUs "
            f"({total:.0f} GiB usable for weights)"
        )
    return Topology(tp, pp, nodes // pp, gpus_per_node)


#: Columns of a quantization block or group: FP8 checkpoints in 128 x 128 blocks (DeepSeek-V3, Qwen3 FP8
#: releases: ``weight_block_size``), AWQ / GPTQ in groups of 128.
QUANT_BLOCK = 128


def expert_parallel_needed(moe_intermediate: int | None, tensor_parallel: int, checkpoint_format: str) -> bool:
    """True when a quantized mixture of experts cannot be split by tensor parallel: each rank's slice of an
    expert (``moe_intermediate_size / TP``) is not whole blocks of :data:`QUANT_BLOCK`, which vLLM refuses
    ("not divisible by weight quantization block_n = 128"); the publishers' cards (Qwen3-235B-A22B-FP8,
    Qwen3-Coder-480B-A35B-FP8) say to enable expert parallel then. BF16 weights split anywhere."""
    if not moe_intermediate or tensor_parallel <= 1 or checkpoint_format == "BF16":
        return False
    per_rank, rest = divmod(moe_intermediate, tensor_parallel)
    return rest != 0 or per_rank % QUANT_BLOCK != 0

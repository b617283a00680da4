"""Serving plans on real engines: the topology and the launch artifacts (commands and manifests).

Pure text generation, no I/O and no run state: given a model repository, the GPUs per node, the nodes
and the sized tensor/pipeline/data parallelism, build what an operator runs. The capacity maths lives
in :mod:`advisor.estimate.serving`; the deployment plugin and ``advisor fit`` call these (docs/serving.md).

Modules:

- ``layout``: :class:`~advisor.serving.layout.ServingLayout` (what one deployment is) and
  :func:`~advisor.serving.layout.choose_topology` (TP inside a node, PP across nodes, DP replicas) and
  :func:`~advisor.serving.layout.expert_parallel_needed` (a quantized MoE whose experts TP cannot split).
- ``commands``: the vLLM, SGLang, Ray-cluster and air-gapped weight-transfer commands.
- ``kubernetes``: a LeaderWorkerSet for a multi-node model, a KServe InferenceService, and a
  Deployment + Service + HorizontalPodAutoscaler on queue length for single-node replicas.
- ``checkpoints``: :func:`~advisor.serving.checkpoints.server_checkpoint`, the repository a server loads
  (the model's own or a publisher release from the catalog, never a guessed name) and the llm-compressor
  recipe when the publisher ships no build.
- ``artifacts``: :class:`~advisor.serving.artifacts.Artifact` (``kind``, ``filename``, ``content``) and the
  bundle of scripts and manifests for one layout.

The names plugins use are re-exported here (docs/plugins.md, "The public API").
"""

from advisor.serving.artifacts import Artifact, serving_artifacts
from advisor.serving.checkpoints import (
    Checkpoint,
    llm_compressor_recipe,
    native_bytes_per_param,
    native_format,
    quantizes_experts_only,
    server_checkpoint,
)
from advisor.serving.commands import Command, engine_commands
from advisor.serving.layout import ServingLayout, choose_topology, expert_parallel_needed

__all__ = [
    "Artifact",
    "Checkpoint",
    "Command",
    "ServingLayout",
    "choose_topology",
    "engine_commands",
    "expert_parallel_needed",
    "llm_compressor_recipe",
    "native_bytes_per_param",
    "native_format",
    "quantizes_experts_only",
    "server_checkpoint",
    "serving_artifacts",
]

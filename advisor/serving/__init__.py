"""Serving plans on real engines: the topology and the launch artifacts (commands and manifests).

Pure text generation, no I/O and no run state: given a model repository, the GPUs per node, the nodes
and the sized tensor/pipeline/data parallelism, build what an operator runs. The capacity maths lives
in :mod:`advisor.estimate.serving`; the deployment plugin and ``advisor fit`` call these (docs/serving.md).

Modules:

- ``layout``: :class:`~advisor.serving.layout.ServingLayout` (what one deployment is) and
  :func:`~advisor.serving.layout.choose_topology` (TP inside a node, PP across nodes, DP replicas).
- ``commands``: the vLLM, SGLang, Ray-cluster and air-gapped weight-transfer commands.
- ``kubernetes``: a LeaderWorkerSet for a multi-node model, a KServe InferenceService, and a
  Deployment + Service + HorizontalPodAutoscaler on queue length for single-node replicas.
- ``artifacts``: :class:`~advisor.serving.artifacts.Artifact` (``kind``, ``filename``, ``content``) and the
  bundle of scripts and manifests for one layout.

The names plugins use are re-exported here (docs/plugins.md, "The public API").
"""

from advisor.serving.artifacts import Artifact, serving_artifacts
from advisor.serving.commands import Command, engine_commands
from advisor.serving.layout import ServingLayout, choose_topology

__all__ = ["Artifact", "Command", "ServingLayout", "choose_topology", "engine_commands", "serving_artifacts"]

"""Kubernetes manifests for a layout, as plain mappings (the caller dumps them as YAML).

- A multi-node replica: a LeaderWorkerSet (``leaderworkerset.x-k8s.io/v1``), one group of
  ``nodes_per_replica`` pods per replica, the leader starting the Ray head and ``vllm serve``, the
  workers joining it (the form of kubernetes-sigs/lws ``docs/examples/vllm/GPU/lws.yaml``), plus a
  Service on the leaders. SGLang groups run ``--nnodes/--node-rank`` with the leader's address.
- The alternative: a KServe InferenceService (``serving.kserve.io/v1beta1``) with the Hugging Face
  runtime; a multi-node replica uses ``workerSpec`` (``tensorParallelSize``, ``pipelineParallelSize``).
- Single-node replicas: a Deployment (one pod per replica), a Service and a HorizontalPodAutoscaler
  (``autoscaling/v2``) on the engine's queue length (a Pods metric: vLLM ``vllm:num_requests_waiting``,
  SGLang ``sglang:num_queue_reqs``, exposed to the HPA by a metrics adapter such as prometheus-adapter).

Air-gapped layouts mount the weights from a PersistentVolumeClaim and set ``HF_HUB_OFFLINE=1``.
"""

from __future__ import annotations

import shlex
from typing import Any

from advisor.serving.commands import sglang_commands, vllm_serve_words
from advisor.serving.layout import ServingLayout

LWS_SCRIPT = "/vllm-workspace/examples/online_serving/multi-node-serving.sh"
WEIGHTS_CLAIM = "model-weights"
QUEUE_METRIC = {"vllm": "vllm:num_requests_waiting", "sglang": "sglang:num_queue_reqs"}

Manifest = dict[str, Any]


def _env(layout: ServingLayout) -> list[dict[str, Any]]:
    if layout.local_path:
        return [{"name": "HF_HUB_OFFLINE", "value": "1"}]
    return [{"name": "HF_TOKEN", "valueFrom": {"secretKeyRef": {"name": "hf-token", "key": "token", "optional": True}}}]


def _volumes(layout: ServingLayout) -> list[dict[str, Any]]:
    """Shared memory for NCCL (``/dev/shm``) and, air-gapped, the weights' PersistentVolumeClaim."""
    volumes: list[dict[str, Any]] = [{"name": "dshm", "emptyDir": {"medium": "Memory", "sizeLimit": "16Gi"}}]
    if layout.local_path:
        volumes.append({"name": "weights", "persistentVolumeClaim": {"claimName": WEIGHTS_CLAIM, "readOnly": True}})
    return volumes


def _mounts(layout: ServingLayout) -> list[dict[str, Any]]:
    mounts: list[dict[str, Any]] = [{"name": "dshm", "mountPath": "/dev/shm"}]
    if layout.local_path:
        mounts.append({"name": "weights", "mountPath": layout.local_path, "readOnly": True})
    return mounts


def _gpus(count: int) -> dict[str, Any]:
    return {"limits": {"nvidia.com/gpu": str(count)}, "requests": {"nvidia.com/gpu": str(count)}}


def _server_words(layout: ServingLayout) -> list[str]:
    """The engine command of one replica's (leader) pod, without the ``env HF_HUB_OFFLINE`` prefix."""
    words = vllm_serve_words(layout) if layout.engine == "vllm" else shlex.split(sglang_commands(layout)[0].text)
    return words[2:] if words[:1] == ["env"] else words


def _container(layout: ServingLayout, name: str, command: list[str], gpus: int, probe: bool) -> dict[str, Any]:
    container: dict[str, Any] = {
        "name": name,
        "image": layout.container_image,
        "command": command,
        "env": _env(layout),
        "resources": _gpus(gpus),
        "volumeMounts": _mounts(layout),
    }
    if probe:
        container["ports"] = [{"containerPort": layout.port, "name": "http"}]
        container["readinessProbe"] = {
            "httpGet": {"path": "/health", "port": layout.port},
            "initialDelaySeconds": 60,
            "periodSeconds": 10,
        }
    return container


def _pod_spec(layout: ServingLayout, container: dict[str, Any]) -> dict[str, Any]:
    return {"containers": [container], "volumes": _volumes(layout)}


def _sh(words: list[str]) -> list[str]:
    return ["/bin/sh", "-c", shlex.join(words)]


def leader_worker_set(layout: ServingLayout) -> list[Manifest]:
    """A LeaderWorkerSet of ``data_parallel`` groups of ``nodes_per_replica`` pods, and its leader Service."""
    t = layout.topology
    if not layout.multi_node:
        raise ValueError("a LeaderWorkerSet is for a replica that spans nodes; use a Deployment")
    per_pod = t.gpus_per_node
    if layout.engine == "vllm":
        leader_cmd = [
            "/bin/sh",
            "-c",
            f"bash {LWS_SCRIPT} leader --ray_cluster_size=$(LWS_GROUP_SIZE); " + shlex.join(_server_words(layout)),
        ]
        worker_cmd = ["/bin/sh", "-c", f"bash {LWS_SCRIPT} worker --ray_address=$(LWS_LEADER_ADDRESS)"]
    else:
        server = _server_words(layout)
        i = server.index("--node-rank")
        j = server.index("--dist-init-addr")
        server[j + 1] = f"$(LWS_LEADER_ADDRESS):{server[j + 1].rsplit(':', 1)[1]}"
        leader = [*server[: i + 1], "0", *server[i + 2 :]]
        worker = [*server[: i + 1], "$(LWS_WORKER_INDEX)", *server[i + 2 :]]
        leader_cmd = ["/bin/sh", "-c", " ".join(leader)]
        worker_cmd = ["/bin/sh", "-c", " ".join(worker)]
    volumes = _volumes(layout)
    lws: Manifest = {
        "apiVersion": "leaderworkerset.x-k8s.io/v1",
        "kind": "LeaderWorkerSet",
        "metadata": {"name": layout.name},
        "spec": {
            "replicas": t.data_parallel,
            "leaderWorkerTemplate": {
                "size": t.nodes_per_replica,
                "restartPolicy": "RecreateGroupOnPodRestart",
                "leaderTemplate": {
                    "metadata": {"labels": {"role": "leader"}},
                    "spec": {
                        "containers": [_container(layout, "leader", leader_cmd, per_pod, probe=True)],
                        "volumes": volumes,
                    },
                },
                "workerTemplate": {
                    "spec": {
                        "containers": [_container(layout, "worker", worker_cmd, per_pod, probe=False)],
                        "volumes": volumes,
                    }
                },
            },
        },
    }
    service: Manifest = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": f"{layout.name}-leader"},
        "spec": {
            "type": "ClusterIP",
            "selector": {"leaderworkerset.sigs.k8s.io/name": layout.name, "role": "leader"},
            "ports": [{"name": "http", "port": layout.port, "targetPort": layout.port, "protocol": "TCP"}],
        },
    }
    return [lws, service]


def inference_service(layout: ServingLayout, min_replicas: int | None = None) -> Manifest:
    """A KServe InferenceService on the Hugging Face runtime (vLLM inside); ``workerSpec`` across nodes; from
    ``min_replicas`` (default: the layout's DP) up to the layout's DP."""
    t = layout.topology
    args = [f"--model_name={layout.repo.split('/')[-1]}"]
    model: dict[str, Any] = {"modelFormat": {"name": "huggingface"}, "resources": _gpus(t.tensor_parallel)}
    if layout.local_path:
        model["storageUri"] = f"pvc://{WEIGHTS_CLAIM}"
    else:
        args.append(f"--model_id={layout.repo}")
    args += [f"--max-model-len={layout.max_model_len}", f"--gpu-memory-utilization={layout.memory_fraction:g}"]
    if not layout.multi_node:
        args.append(f"--tensor-parallel-size={t.tensor_parallel}")
    if layout.expert_parallel:
        args.append("--enable-expert-parallel")
    model["args"] = args
    model["env"] = _env(layout)
    floor = max(1, min(min_replicas if min_replicas is not None else t.data_parallel, t.data_parallel))
    predictor: dict[str, Any] = {"model": model, "minReplicas": floor, "maxReplicas": t.data_parallel}
    if layout.multi_node:
        predictor["workerSpec"] = {
            "tensorParallelSize": t.tensor_parallel,
            "pipelineParallelSize": t.pipeline_parallel,
        }
    return {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": {"name": layout.name},
        "spec": {"predictor": predictor},
    }


def deployment_service_autoscaler(
    layout: ServingLayout, max_replicas: int, waiting_per_pod: int = 5, min_replicas: int | None = None
) -> list[Manifest]:
    """Deployment (one pod = one single-node replica), Service, and HPA on the queue length per pod, from
    ``min_replicas`` (default: the layout's DP) up to ``max_replicas``."""
    t = layout.topology
    floor = max(1, min(min_replicas if min_replicas is not None else t.data_parallel, max_replicas))
    if layout.multi_node:
        raise ValueError("a Deployment pod lives on one node; use a LeaderWorkerSet for a multi-node replica")
    labels = {"app": layout.name}
    container = _container(layout, "server", _sh(_server_words(layout)), t.gpus_per_replica, probe=True)
    deployment: Manifest = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": layout.name, "labels": labels},
        "spec": {
            "replicas": floor,
            "selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": labels}, "spec": _pod_spec(layout, container)},
        },
    }
    service: Manifest = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": layout.name},
        "spec": {
            "selector": labels,
            "ports": [{"name": "http", "port": layout.port, "targetPort": layout.port, "protocol": "TCP"}],
        },
    }
    hpa: Manifest = {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": layout.name},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": layout.name},
            "minReplicas": floor,
            "maxReplicas": max(max_replicas, floor, 1),
            "metrics": [
                {
                    "type": "Pods",
                    "pods": {
                        "metric": {"name": QUEUE_METRIC[layout.engine]},
                        "target": {"type": "AverageValue", "averageValue": str(waiting_per_pod)},
                    },
                }
            ],
        },
    }
    return [deployment, service, hpa]

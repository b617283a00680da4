"""One replica on vLLM or SGLang as ``advisor fit --engine`` and ``advisor bench --engine`` size it.

Why one place: the checkpoint the engine loads, the TP x PP it runs and the capacity function must be the
same for the estimate (``fit``), for the measurement it is compared with (``bench``) and for the calibration
that measurement feeds back (:mod:`advisor.bench.calibration`); otherwise a calibration would correct a
different deployment from the one it is applied to. ``advisor plan`` sizes its replicas with the same
:func:`advisor.estimate.serving.device_capacity` (:mod:`advisor.engine.deployment_sizing`).
"""

from __future__ import annotations

from dataclasses import dataclass

from advisor.catalog.records import ArchitectureConfig, HardwareRecord
from advisor.engine.deployment_sizing import GPUS_PER_NODE, checkpoint_of
from advisor.engine.model_source import ModelSpec
from advisor.engine.sizing import Machine
from advisor.errors import InputError
from advisor.estimate.serving import (
    ServingCapacity,
    Topology,
    Workload,
    checkpoint_model,
    device_capacity,
    serving_constants,
)
from advisor.estimate.serving_calibration import ReplicaKey
from advisor.serving import Checkpoint, choose_topology


@dataclass(frozen=True)
class ServingSetup:
    """A model's checkpoint on ``count`` GPUs of one kind, as one TP x PP replica of ``engine``."""

    engine: str
    model: str
    hardware: str
    topology: Topology
    checkpoint: Checkpoint
    architecture: ArchitectureConfig
    params: float
    active_params: float
    device: HardwareRecord

    def capacity(self, prompt_tokens: int, output_tokens: int, concurrency: int) -> ServingCapacity:
        """The replica's closed-loop capacity (an estimate). Raises ValueError when it does not fit."""
        load = Workload(max(1, prompt_tokens), max(1, output_tokens), max(1, concurrency))
        return device_capacity(
            self.architecture,
            self.params,
            self.active_params,
            self.checkpoint.format,
            self.device,
            self.engine,
            self.topology,
            load,
            self.checkpoint.experts_only,
            self.checkpoint.bytes_per_param,
        )

    @property
    def key(self) -> ReplicaKey:
        """What a calibration must match: engine, model, GPU type, TP, PP and the checkpoint (format, repository,
        load-time quantization): one replica; how many GPUs the machine has beside it does not change it."""
        t, c = self.topology, self.checkpoint
        return (
            self.engine,
            self.model,
            self.device.id,
            t.tensor_parallel,
            t.pipeline_parallel,
            c.format,
            c.repo,
            c.online_quantization or "",
        )


def serving_setup(
    spec: ModelSpec,
    quant_id: str,
    machine: Machine,
    hardware: str,
    engine: str,
    tp: int | None,
    pp: int | None,
) -> ServingSetup:
    """The checkpoint for ``quant_id`` (planning.yaml ``server_quantization``) and the TP x PP: the given ones,
    else the smallest that holds the checkpoint. Raises InputError for a machine without GPUs or a TP x PP
    larger than it."""
    record, device = machine.record, machine.device
    count = device.count if device is not None else 0
    if record is None or record.kind != "gpu" or count < 1:
        raise InputError(f"--engine {engine}: needs GPUs in --hardware (e.g. 2xh100-sxm)")
    gpus_per_node = min(count, GPUS_PER_NODE)
    ckpt = checkpoint_of(spec.id, quant_id, spec.record, spec.architecture)
    if tp is None and pp is None:
        fraction = serving_constants().engines[engine].memory_fraction
        weights = checkpoint_model(
            spec.architecture,
            float(spec.params),
            float(spec.active_params),
            ckpt.format,
            ckpt.experts_only,
            ckpt.bytes_per_param,
        ).weight_bytes
        try:
            chosen = choose_topology(
                weights,
                record.memory_gib,
                gpus_per_node,
                -(-count // gpus_per_node),
                fraction,
            )
            tp, pp = chosen.tensor_parallel, chosen.pipeline_parallel
        except ValueError:
            tp, pp = gpus_per_node, -(-count // gpus_per_node)
    tp, pp = tp or 1, pp or 1
    if tp * pp > count:
        raise InputError(f"--tp {tp} x --pp {pp} = {tp * pp} GPUs, but --hardware has {count}")
    return ServingSetup(
        engine=engine,
        model=spec.id,
        hardware=hardware,
        topology=Topology(tp, pp, 1, gpus_per_node),
        checkpoint=ckpt,
        architecture=spec.architecture,
        params=float(spec.params),
        active_params=float(spec.active_params),
        device=record,
    )

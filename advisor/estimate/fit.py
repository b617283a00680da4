"""Does a model variant fit a machine, and how fast will it run there?

Follows llama.cpp's offload semantics: ``-ngl N`` counts the output layer, which is offloaded
first, then the last repeating layers; each offloaded layer's KV cache lives with it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

from advisor.estimate.constants import EstimatorConstants
from advisor.estimate.memory import GIB, MIB
from advisor.estimate.speed import decode_tokens_per_s, partial_offload_tokens_per_s, prefill_tokens_per_s

FitKind = Literal["gpu", "partial", "cpu", "no"]


@dataclass(frozen=True)
class Device:
    """The accelerator side of a machine: ``count`` identical devices, or none (CPU only)."""

    memory_gib: float
    bandwidth_gb_s: float
    backend: str
    count: int = 1
    tflops: float | None = None
    kind: str = "gpu"


@dataclass(frozen=True)
class Footprint:
    """What the model needs in memory; every part in bytes."""

    weights_bytes: int
    kv_cache_bytes: int
    overhead_bytes: int
    n_layers: int
    output_bytes: int
    active_weights_bytes: int
    active_params: int

    @property
    def total_bytes(self) -> int:
        return self.weights_bytes + self.kv_cache_bytes + self.overhead_bytes


@dataclass(frozen=True)
class FitResult:
    """The fit decision with the numbers behind it."""

    fits: FitKind
    gpu_layers: int
    decode_tokens_per_s: float | None
    prefill_tokens_per_s: float | None
    usable_device_bytes: int
    notes: list[str] = field(default_factory=list)


def usable_device_bytes(device: Device, constants: EstimatorConstants) -> int:
    """Device memory the model may use: Apple's wired fraction, minus llama.cpp's margin per device."""
    fraction = constants.usable_fraction.get(device.kind, 1.0)
    per_device = device.memory_gib * GIB * fraction - constants.margin_mib * MIB
    return int(max(per_device, 0) * device.count)


def decide_fit(
    footprint: Footprint,
    device: Device | None,
    host_ram_bytes: int,
    cpu_bandwidth_gb_s: float | None,
    constants: EstimatorConstants,
) -> FitResult:
    """gpu (all layers on the accelerators), partial (some offloaded), cpu (system RAM), or no."""
    cpu_consts = constants.backends["cpu"]
    cpu_bw = cpu_bandwidth_gb_s or constants.partial_offload.cpu_bandwidth_gb_s_default
    # a decoded token reads the active weights and, on average over a conversation, half the KV cache
    bytes_per_token = footprint.active_weights_bytes + footprint.kv_cache_bytes / 2
    notes: list[str] = []
    if device is not None and device.bandwidth_gb_s > 0:
        gpu_consts = constants.backends.get(device.backend, constants.backends["cuda"])
        usable = usable_device_bytes(device, constants)
        prefill = (
            prefill_tokens_per_s(footprint.active_params, device.tflops * device.count, gpu_consts.prefill_efficiency)
            if device.tflops
            else None
        )
        if footprint.total_bytes <= usable:
            speed = decode_tokens_per_s(
                bytes_per_token, device.bandwidth_gb_s, gpu_consts.decode_fixed_ms, gpu_consts.decode_efficiency
            )
            if device.count > 1:
                notes.append(f"layers split over {device.count} devices; single-stream speed does not add up")
            return FitResult("gpu", footprint.n_layers + 1, speed, prefill, usable, notes)
        repeating = max(footprint.weights_bytes - footprint.output_bytes, 0)
        per_layer = (repeating + footprint.kv_cache_bytes) / footprint.n_layers
        room = usable - footprint.overhead_bytes - footprint.output_bytes
        layers = max(0, min(footprint.n_layers, math.floor(room / per_layer))) if room > 0 else 0
        needed_in_ram = footprint.total_bytes - (footprint.output_bytes + layers * per_layer if room > 0 else 0)
        if room > 0 and needed_in_ram <= host_ram_bytes:
            share = layers / footprint.n_layers
            gpu_bytes = footprint.output_bytes + share * (bytes_per_token - footprint.output_bytes)
            cpu_bytes = bytes_per_token - gpu_bytes
            speed = partial_offload_tokens_per_s(
                gpu_bytes,
                cpu_bytes,
                device.bandwidth_gb_s,
                cpu_bw,
                gpu_consts.decode_fixed_ms,
                gpu_consts.decode_efficiency,
                cpu_consts.decode_efficiency,
                constants.partial_offload.sync_penalty_ms,
            )
            notes.append(f"{layers} of {footprint.n_layers} layers fit on the GPU; the rest run from system RAM")
            return FitResult("partial", layers + 1, speed, None, usable, notes)
    if footprint.total_bytes <= host_ram_bytes:
        speed = decode_tokens_per_s(bytes_per_token, cpu_bw, cpu_consts.decode_fixed_ms, cpu_consts.decode_efficiency)
        return FitResult("cpu", 0, speed, None, 0, notes)
    notes.append("neither the accelerators nor system RAM can hold weights + KV cache + overhead")
    return FitResult("no", 0, None, None, usable_device_bytes(device, constants) if device else 0, notes)

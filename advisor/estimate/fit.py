"""Does a model variant fit a machine, where do its layers go, and how fast will it run there?

Follows llama.cpp's placement rules (docs/hardware-fit.md, "Placement"): ``token_embd`` always
stays in host memory (it is a row lookup); ``-ngl N`` counts the output layer, which is offloaded
first, then the last repeating layers; each offloaded layer's KV cache lives with it unless
``--no-kv-offload``; layers split over identical GPUs in proportion to their memory. Apple unified
memory is one pool of which the GPU may wire a fraction.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from advisor.catalog.records import HardwareRecord
from advisor.estimate.constants import BackendConstants, EstimatorConstants
from advisor.estimate.memory import GIB, MIB
from advisor.estimate.speed import (
    decode_constants_for,
    device_prefill_tokens_per_s,
    moe_overhead_ms,
    outside_fitted_range,
    speed_model,
)

FitKind = Literal["gpu", "partial", "cpu", "no"]


@dataclass(frozen=True)
class Device:
    """The accelerator side of a machine: ``count`` identical devices."""

    memory_gib: float
    bandwidth_gb_s: float
    backend: str
    count: int = 1
    tflops: float | None = None
    kind: str = "gpu"
    decode_fixed_ms: float | None = None
    decode_efficiency: float | None = None
    record: HardwareRecord | None = None


@dataclass(frozen=True)
class Footprint:
    """What a model variant needs in memory, itemised the way llama.cpp places it (bytes)."""

    weights_bytes: int
    kv_cache_bytes: int
    overhead_bytes: int
    n_layers: int
    output_bytes: int
    active_weights_bytes: int
    active_params: int
    token_embd_bytes: int = 0
    layer_weight_bytes: tuple[int, ...] = ()
    layer_kv_bytes: tuple[int, ...] = ()
    compute_buffer_bytes: int = 0
    weights_exact: bool = False
    weights_method: str = "flat bits per weight"
    layer_decode_bytes: tuple[float, ...] = ()
    outside_decode_bytes: float | None = None
    moe: bool = False

    @property
    def total_bytes(self) -> int:
        return self.weights_bytes + self.kv_cache_bytes + self.overhead_bytes

    def layer_weights(self) -> tuple[int, ...]:
        """Per repeating layer; spread evenly when the breakdown did not itemise layers."""
        if self.layer_weight_bytes:
            return self.layer_weight_bytes
        repeating = max(self.weights_bytes - self.output_bytes - self.token_embd_bytes, 0)
        return tuple([repeating // self.n_layers] * self.n_layers)

    def layer_kv(self) -> tuple[int, ...]:
        if self.layer_kv_bytes:
            return self.layer_kv_bytes
        return tuple([self.kv_cache_bytes // self.n_layers] * self.n_layers)

    @property
    def active_fraction(self) -> float:
        """Share of the repeating layers' bytes a token reads (1 for dense models, less for MoE)."""
        repeating = sum(self.layer_weights())
        active_repeating = max(self.active_weights_bytes - self.output_bytes, 0)
        return min(1.0, active_repeating / repeating) if repeating else 1.0


@dataclass(frozen=True)
class FitResult:
    """The fit decision with the numbers behind it."""

    fits: FitKind
    gpu_layers: int
    decode_tokens_per_s: float | None
    prefill_tokens_per_s: float | None
    usable_device_bytes: int
    notes: list[str] = field(default_factory=list)
    device_bytes: int = 0
    host_bytes: int = 0
    #: measured spread of the decode prediction (p10, p90 of the relative error out of sample)
    decode_band: tuple[float, float] | None = None
    #: why the decode prediction lies outside the data its device class was fitted on (empty: inside)
    outside_fitted: tuple[str, ...] = ()


def usable_device_bytes(device: Device, constants: EstimatorConstants, *, fit_margin: bool = True) -> int:
    """Device memory the model may use: Apple's wired fraction (lower on a small Mac), minus llama.cpp's
    margin per device.

    The margin is what llama.cpp's ``--fit`` (automatic placement, its default when ``-ngl`` is not
    given) leaves free; a forced ``-ngl N`` loads with no margin, so ``fit_margin=False`` drops it.
    """
    fraction = constants.usable_fraction.get(device.kind, 1.0)
    small = constants.usable_fraction_small.get(device.kind)
    if small is not None and device.memory_gib <= small.up_to_gib:
        fraction = small.usable_fraction
    margin = constants.margin_mib * MIB if fit_margin else 0
    per_device = device.memory_gib * GIB * fraction - margin
    return int(max(per_device, 0) * device.count)


def _backend(constants: EstimatorConstants, name: str) -> BackendConstants:
    return constants.backends.get(name, constants.backends["cuda"])


@dataclass(frozen=True)
class _Split:
    """How many repeating layers go to the accelerators, and the bytes on each side."""

    layers_on_device: int
    output_on_device: bool
    device_bytes: int
    host_bytes: int


def split_layers(
    fp: Footprint, usable: int, reserve: int, *, kv_offload: bool, max_layers: int | None = None
) -> _Split:
    """Offload the output layer first, then repeating layers from the last, while they fit."""
    weights, kv = fp.layer_weights(), fp.layer_kv()
    room = usable - reserve - fp.compute_buffer_bytes
    device, host = 0, fp.token_embd_bytes
    output_on = fp.output_bytes <= room and (max_layers is None or max_layers >= 1)
    if output_on:
        device += fp.output_bytes
    else:
        host += fp.output_bytes
    placed = 0
    limit = fp.n_layers if max_layers is None else max(0, min(fp.n_layers, max_layers - 1))
    for index in reversed(range(fp.n_layers)):
        need = weights[index] + (kv[index] if kv_offload else 0)
        if output_on and placed < limit and device + need <= room:
            device += need
            placed += 1
        else:
            host += weights[index] + kv[index]
    if not kv_offload:
        host += sum(kv[fp.n_layers - placed :])
    return _Split(placed, output_on, device + reserve + fp.compute_buffer_bytes, host)


def _decode_bytes(fp: Footprint) -> tuple[list[float], float]:
    """Bytes a token reads per repeating layer and outside the layers (output head and the like).

    Uses the per-tensor figures (routed experts at their top-k share, the dequantization floor)
    when the weights came from the per-tensor estimator; otherwise the active share of each layer.
    """
    if fp.layer_decode_bytes and fp.outside_decode_bytes is not None:
        return list(fp.layer_decode_bytes), fp.outside_decode_bytes
    share = fp.active_fraction
    return [w * share for w in fp.layer_weights()], float(fp.output_bytes)


def decode_speed(
    fp: Footprint,
    split: _Split,
    device: Device | None,
    cpu_bandwidth_gb_s: float,
    constants: EstimatorConstants,
    *,
    kv_offload: bool = True,
    cpu_decode: tuple[float, float] | None = None,
) -> float:
    """Seconds per token summed over where the bytes live; a CPU part adds llama.cpp's sync cost.

    A token reads the output layer, the active part of each repeating layer, and on average half
    the KV cache (a conversation filling the context). Each GPU of a layer split adds its fixed cost;
    each layer adds its backend's per-layer overhead (and the MoE routing cost for MoE models),
    where it runs (:func:`advisor.estimate.speed.decode_overhead_ms`).
    """
    layer_bytes, outside = _decode_bytes(fp)
    kv = fp.layer_kv()
    first_on_device = fp.n_layers - split.layers_on_device
    dev_bytes = host_bytes = 0.0
    for index in range(fp.n_layers):
        cache = kv[index] / 2
        if index >= first_on_device and device is not None:
            dev_bytes += layer_bytes[index] + (cache if kv_offload else 0)
            host_bytes += 0 if kv_offload else cache
        else:
            host_bytes += layer_bytes[index] + cache
    if split.output_on_device and device is not None:
        dev_bytes += outside
    else:
        host_bytes += outside
    cpu = decode_constants_for(None)
    cpu_fixed_ms, cpu_efficiency = cpu_decode if cpu_decode is not None else (cpu.fixed_ms, cpu.efficiency)
    seconds = 0.0
    on_device = split.layers_on_device if device is not None else 0
    if device is not None and dev_bytes > 0:
        gpu = decode_constants_for(device.record)
        fixed = device.decode_fixed_ms if device.decode_fixed_ms is not None else gpu.fixed_ms
        efficiency = device.decode_efficiency if device.decode_efficiency is not None else gpu.efficiency
        seconds += fixed * device.count / 1000 + dev_bytes / (efficiency * device.bandwidth_gb_s * 1e9)
        seconds += (on_device * gpu.layer_us / 1000 + moe_overhead_ms(on_device, fp.moe)) / 1000
        if host_bytes > 0:
            seconds += constants.partial_offload.sync_penalty_ms / 1000
    else:
        seconds += cpu_fixed_ms / 1000
    if host_bytes > 0:
        on_host = fp.n_layers - on_device
        seconds += host_bytes / (cpu_efficiency * cpu_bandwidth_gb_s * 1e9)
        seconds += (on_host * cpu.layer_us / 1000 + moe_overhead_ms(on_host, fp.moe)) / 1000
    return 1.0 / seconds


def _build_era_note(device: Device, layers_on_device: int, speed: float) -> str | None:
    """For GPUs that got CUDA graphs late: the speed on builds without them (older per-layer overhead)."""
    model = speed_model()
    if device.record is None or device.record.id not in model.late_cuda_graph_ids or layers_on_device == 0:
        return None
    extra_s = layers_on_device * decode_constants_for(device.record).layer_us * model.old_build_layer_factor / 1e6
    older = 1.0 / (1.0 / speed + extra_s)
    return (
        f"speed for current llama.cpp builds; builds before PR #{model.late_cuda_graph_source.rsplit('/', 1)[-1]} "
        f"(2026) run this GPU without CUDA graphs: about {older:.0f} tokens/s"
    )


def _speed_qualifiers(fp: Footprint, device: Device | None) -> tuple[tuple[float, float] | None, tuple[str, ...]]:
    """The decode band of the class doing most of the work, and what lies outside its fitted data."""
    constants = decode_constants_for(device.record if device is not None else None)
    layer_bytes, outside = _decode_bytes(fp)
    gb_per_token = (sum(layer_bytes) + outside) / 1e9
    band = (constants.band.low, constants.band.high) if constants.band is not None else None
    reasons = outside_fitted_range(constants, fp.n_layers, gb_per_token, fp.moe)
    if device is not None and device.record is None:
        reasons = [*reasons, "device not in the catalog: its class constants are assumed"]
    return band, tuple(reasons)


def decide_fit(
    footprint: Footprint,
    device: Device | None,
    host_ram_bytes: int,
    cpu_bandwidth_gb_s: float | None,
    constants: EstimatorConstants,
    *,
    kv_offload: bool = True,
    gpu_layers: int | None = None,
    cpu_decode: tuple[float, float] | None = None,
) -> FitResult:
    """gpu (all layers on the accelerators), partial (some offloaded), cpu (system RAM), or no.

    ``gpu_layers`` forces llama.cpp's ``-ngl`` instead of offloading as much as fits (then without the
    ``--fit`` margin, which only automatic placement keeps free); ``cpu_decode``
    (fixed ms, efficiency) replaces the CPU class constants, e.g. with this machine's calibration.
    """
    fp = footprint
    cpu_bw = cpu_bandwidth_gb_s or constants.partial_offload.cpu_bandwidth_gb_s_default
    notes: list[str] = []
    apple = device is not None and device.kind == "apple"
    if device is not None and device.bandwidth_gb_s > 0 and gpu_layers != 0:
        gpu = _backend(constants, device.backend)
        usable = usable_device_bytes(device, constants, fit_margin=gpu_layers is None)
        reserve = int(gpu.reserve_mib * MIB) * device.count
        split = split_layers(fp, usable, reserve, kv_offload=kv_offload, max_layers=gpu_layers)
        # unified memory: the "host" side is the same pool, so only what the GPU may wire counts
        host_room = 0 if apple else host_ram_bytes
        ngl = split.layers_on_device + (1 if split.output_on_device else 0)
        all_on_device = split.layers_on_device == fp.n_layers and split.output_on_device
        if split.host_bytes <= host_room or (all_on_device and apple):
            speed = decode_speed(fp, split, device, cpu_bw, constants, kv_offload=kv_offload, cpu_decode=cpu_decode)
            prefill = (
                device_prefill_tokens_per_s(fp.active_params, device.record, device.bandwidth_gb_s)
                if device.record is not None and all_on_device
                else None
            )
            if device.count > 1:
                notes.append(f"layers split evenly over {device.count} devices; single-stream speed does not add up")
            era_note = _build_era_note(device, split.layers_on_device, speed)
            if era_note:
                notes.append(era_note)
            if not kv_offload:
                notes.append("KV cache kept in system RAM (--no-kv-offload): slower decode, less VRAM")
            band, outside = _speed_qualifiers(fp, device)
            if all_on_device:
                notes.append("token embeddings stay in system RAM (llama.cpp looks rows up on the CPU)")
                return FitResult(
                    "gpu", ngl, speed, prefill, usable, notes, split.device_bytes, split.host_bytes, band, outside
                )
            if split.layers_on_device > 0 or split.output_on_device:
                notes.append(
                    f"-ngl {ngl}: {split.layers_on_device} of {fp.n_layers} layers"
                    f"{' and the output layer' if split.output_on_device else ''} on the GPU; the rest from system RAM"
                )
                return FitResult(
                    "partial", ngl, speed, None, usable, notes, split.device_bytes, split.host_bytes, band, outside
                )
    if not apple and fp.total_bytes <= host_ram_bytes:
        host_only = _Split(0, False, 0, fp.total_bytes)
        speed = decode_speed(fp, host_only, None, cpu_bw, constants, cpu_decode=cpu_decode)
        band, outside = _speed_qualifiers(fp, None)
        return FitResult("cpu", 0, speed, None, 0, notes, 0, fp.total_bytes, band, outside)
    if apple and device is not None:
        notes.append(
            f"more than the {constants.usable_fraction.get('apple', 1.0):.0%} of unified memory macOS lets the GPU use"
        )
    notes.append("neither the accelerators nor system RAM can hold weights + KV cache + overhead")
    usable = usable_device_bytes(device, constants, fit_margin=gpu_layers is None) if device else 0
    return FitResult("no", 0, None, None, usable, notes)

"""Decode and prefill speed, with constants per device class fitted on published llama.cpp runs.

Decode is memory-bound: each token reads the active weights (and the KV cache) once, so
``t_token = t_fixed + bytes / (efficiency x bandwidth)``. One efficiency for all devices is wrong
by -26 %..+74 % on the published data (hardware_fit.md section 4.3): the fixed per-token cost, the
share of the bandwidth a backend reaches, and how badly datacenter GPUs (A100/H100) and two-die
Apple Ultra chips underperform their bandwidth all differ by device class. So the two constants
are fitted per class on published measurements (benchmarks/data/llamacpp_decode.csv) and live,
with provenance, in catalog/speed_model.yaml.

Low-bit K- and i-quants are dequantization-bound: below ~4.5 bits per weight a token is not read
faster per weight (llama.cpp tools/quantize/README.md: Llama-3.1-8B IQ1_S at 1.87 GiB decodes at
79.7 t/s, Q4_K_M at 4.58 GiB at 71.9 t/s). :func:`decode_bytes_per_token` charges such tensors as
if they held ``dequant_floor_bpw`` bits per weight.

Prefill is compute-bound: ``efficiency x FLOPS / (2 x active params)``, with a per-class
efficiency against the catalog's dense FP16 TFLOPS (or, for devices without a published TFLOPS
figure, an effective TFLOPS per GB/s of bandwidth fitted on the same runs).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from advisor.catalog.records import HardwareRecord
from advisor.catalog.tables import read_yaml

if TYPE_CHECKING:
    from advisor.estimate.weights import StoredTensor, WeightsBreakdown


# ----------------------------------------------------------------------------- the formulas


def decode_seconds_per_token(bytes_read: float, bandwidth_gb_s: float, fixed_ms: float, efficiency: float) -> float:
    """Seconds per decoded token on one memory system."""
    if bandwidth_gb_s <= 0 or efficiency <= 0:
        raise ValueError("bandwidth and efficiency must be positive")
    return fixed_ms / 1000.0 + bytes_read / (efficiency * bandwidth_gb_s * 1e9)


def decode_tokens_per_s(bytes_read: float, bandwidth_gb_s: float, fixed_ms: float, efficiency: float) -> float:
    """Single-stream decode speed, tokens per second."""
    return 1.0 / decode_seconds_per_token(bytes_read, bandwidth_gb_s, fixed_ms, efficiency)


def prefill_tokens_per_s(active_params: float, tflops: float, efficiency: float) -> float:
    """Prompt processing speed: ``efficiency x FLOPS / (2 x active params)``."""
    if active_params <= 0:
        raise ValueError("active_params must be positive")
    return efficiency * tflops * 1e12 / (2.0 * active_params)


def batched_throughput_tokens_per_s(
    single_stream_tokens_per_s: float, streams: int, max_streams: int, per_stream_share: float
) -> float:
    """Aggregate decode throughput with continuous batching (a stated planning assumption)."""
    effective = min(max(streams, 1), max_streams)
    if effective == 1:
        return single_stream_tokens_per_s
    return single_stream_tokens_per_s * effective * per_stream_share


# ----------------------------------------------------------------------------- constants per class


@dataclass(frozen=True)
class DecodeConstants:
    """``t_token = fixed_ms + bytes / (efficiency x bandwidth)`` for one device class, with its source."""

    fixed_ms: float
    efficiency: float
    device_class: str
    source: str


@dataclass(frozen=True)
class PrefillConstants:
    """Prefill efficiency for one device class.

    ``efficiency`` applies to the catalog's dense FP16 TFLOPS (None for classes whose devices have no
    such figure); otherwise ``tflops_per_gb_s`` x bandwidth is the effective prefill TFLOPS (measured,
    so efficiency is already in it).
    """

    efficiency: float | None
    tflops_per_gb_s: float
    device_class: str
    source: str


@dataclass(frozen=True)
class _ClassRecord:
    description: str
    decode: DecodeConstants
    prefill: PrefillConstants


@dataclass(frozen=True)
class SpeedModel:
    """Typed view of catalog/speed_model.yaml."""

    classes: Mapping[str, _ClassRecord]
    by_id: Mapping[str, str]
    datacenter_ids: frozenset[str]
    dequant_floor_bpw: float
    dequant_floor_types: frozenset[str]
    dequant_floor_source: str
    as_of: str


def _class_record(name: str, raw: Mapping[str, Any]) -> _ClassRecord:
    decode = raw["decode"]
    prefill = raw["prefill"]
    return _ClassRecord(
        description=str(raw["description"]),
        decode=DecodeConstants(
            fixed_ms=float(decode["fixed_ms"]),
            efficiency=float(decode["efficiency"]),
            device_class=name,
            source=str(decode["source"]),
        ),
        prefill=PrefillConstants(
            efficiency=None if prefill["efficiency"] is None else float(prefill["efficiency"]),
            tflops_per_gb_s=float(prefill["tflops_per_gb_s"]),
            device_class=name,
            source=str(prefill["source"]),
        ),
    )


@lru_cache(maxsize=1)
def speed_model() -> SpeedModel:
    """Load the packaged speed constants once."""
    data = read_yaml("speed_model.yaml")
    floor = data["dequant_floor"]
    return SpeedModel(
        classes={name: _class_record(name, raw) for name, raw in data["classes"].items()},
        by_id=dict(data["device_classes"]["by_id"]),
        datacenter_ids=frozenset(data["device_classes"]["datacenter_ids"]),
        dequant_floor_bpw=float(floor["bits_per_weight"]),
        dequant_floor_types=frozenset(floor["ggml_types"]),
        dequant_floor_source=str(floor["source"]),
        as_of=str(data["as_of"]),
    )


def device_class_for(device: HardwareRecord | None) -> str:
    """The speed class of a catalog device; None (no accelerator) is the CPU class.

    Explicit ids in speed_model.yaml win; then Apple "Ultra" chips (two dies), other Apple chips,
    CPU classes, HBM datacenter accelerators, CUDA GPUs, and Vulkan/ROCm GPUs.
    """
    model = speed_model()
    if device is None or device.kind == "cpu":
        return "cpu"
    if device.id in model.by_id:
        return model.by_id[device.id]
    if device.kind == "apple":
        return "apple_ultra" if "ultra" in device.name.lower() else "apple_metal"
    if device.id in model.datacenter_ids:
        return "datacenter_gpu"
    if device.backend == "cuda":
        return "cuda_consumer"
    return "vulkan_gpu"


def decode_constants_for(device: HardwareRecord | None) -> DecodeConstants:
    """Fitted decode constants for the device's class (see :func:`device_class_for`)."""
    return speed_model().classes[device_class_for(device)].decode


def prefill_constants_for(device: HardwareRecord | None) -> PrefillConstants:
    """Fitted prefill constants for the device's class."""
    return speed_model().classes[device_class_for(device)].prefill


def device_prefill_tokens_per_s(active_params: float, device: HardwareRecord | None, bandwidth_gb_s: float) -> float:
    """Prefill tokens/s on a device: catalog FP16 TFLOPS x class efficiency, else the per-GB/s fit."""
    constants = prefill_constants_for(device)
    tflops = (device.fp16_tflops or device.bf16_tflops) if device is not None else None
    if tflops and constants.efficiency is not None:
        return prefill_tokens_per_s(active_params, tflops, constants.efficiency)
    return prefill_tokens_per_s(active_params, constants.tflops_per_gb_s * bandwidth_gb_s, 1.0)


# ----------------------------------------------------------------------------- bytes read per token


def decode_bytes_by_layer(weights: WeightsBreakdown, *, floor_bpw: float | None = None) -> tuple[list[float], float]:
    """Bytes a decoded token reads from each repeating layer, and from the tensors outside layers.

    Routed experts count top-k / n_experts; the embedding table counts only when tied (it is the
    output head then). Tensors of the low-bit ggml types in speed_model.yaml are charged at
    ``floor_bpw`` (default: the fitted ``dequant_floor.bits_per_weight``) when that is more than
    their real size: below ~4.5 bits dequantization, not memory, limits decode speed.
    """
    model = speed_model()
    floor = model.dequant_floor_bpw if floor_bpw is None else floor_bpw

    def read(tensors: tuple[StoredTensor, ...]) -> float:
        total = 0.0
        for t in tensors:
            if t.active_fraction == 0.0:
                continue
            size = float(t.bytes)
            if t.storage in model.dequant_floor_types:
                size = max(size, t.n_elements * floor / 8.0)
            total += size * t.active_fraction
        return total

    per_content = [read(content) for content in weights.layer_contents]  # identical layers share one
    return [per_content[c] for c in weights.layer_content_of], read(weights.outside_tensors)


def decode_bytes_per_token(
    weights: WeightsBreakdown,
    *,
    kv_bytes_read: float = 0.0,
    floor_bpw: float | None = None,
    include_layers: Sequence[int] | None = None,
    include_output: bool = True,
) -> float:
    """Bytes a decoded token costs: active weights (with the dequantization floor) plus the KV cache read.

    ``include_layers`` / ``include_output`` select a device's share for partial offload: only the
    listed repeating layers, and the output head (with the other non-layer tensors) only when
    ``include_output``. See :func:`decode_bytes_by_layer` for what counts.
    """
    per_layer, outside = decode_bytes_by_layer(weights, floor_bpw=floor_bpw)
    chosen = range(len(per_layer)) if include_layers is None else include_layers
    total = sum(per_layer[i] for i in set(chosen) if 0 <= i < len(per_layer))
    return total + (outside if include_output else 0.0) + kv_bytes_read


# ----------------------------------------------------------------------------- fitting


@dataclass(frozen=True)
class DecodeFit:
    """Least-squares constants and their in-sample relative errors."""

    fixed_ms: float
    efficiency: float
    relative_errors: tuple[float, ...]


def fit_decode_constants(
    points: Sequence[tuple[float, float, float]],
    devices: Sequence[int] | None = None,
    *,
    fixed_ms: float | None = None,
) -> DecodeFit:
    """Fit ``1/tg = n_dev x t0 + bytes/(eff x BW)`` on ``(bytes_read, bandwidth_gb_s, tokens_per_s)`` points.

    Minimises the squared *relative* error of the predicted time (each row weighs the same whatever
    its speed), which is linear in ``t0`` and ``1/eff``: two normal equations, no numerical library.
    ``devices`` gives the layer-split device count per point (default 1). With ``fixed_ms`` only the
    efficiency is fitted (for classes with too few rows to separate the two constants).
    """
    counts = list(devices) if devices is not None else [1] * len(points)
    if len(counts) != len(points):
        raise ValueError("devices must give one count per point")
    if len(points) < (1 if fixed_ms is not None else 2):
        raise ValueError("not enough measurements to fit the constants")
    # relative residual: 1 - (n*t0 + x*k) / t, with x = bytes/BW (s at 100 % efficiency), k = 1/eff
    a11 = a12 = a22 = b1 = b2 = 0.0
    for (size, bandwidth, speed), n in zip(points, counts, strict=True):
        t = 1.0 / speed
        u = n / t
        v = size / (bandwidth * 1e9) / t
        a11 += u * u
        a12 += u * v
        a22 += v * v
        b1 += u
        b2 += v
    if fixed_ms is not None:
        t0 = fixed_ms / 1000.0
        k = (b2 - t0 * a12) / a22
    else:
        det = a11 * a22 - a12 * a12
        if abs(det) < 1e-12 * max(a11 * a22, 1e-300):
            raise ValueError("measurements do not separate the fixed cost from the bandwidth term")
        t0 = (b1 * a22 - b2 * a12) / det
        k = (a11 * b2 - a12 * b1) / det
        if t0 < 0:  # a negative fixed cost is unphysical: refit the bandwidth term alone
            t0 = 0.0
            k = b2 / a22
    if k <= 0:
        raise ValueError("fit gave a non-positive bandwidth efficiency")
    errors = []
    for (size, bandwidth, speed), n in zip(points, counts, strict=True):
        predicted = 1.0 / (n * t0 + size / (bandwidth * 1e9) * k)
        errors.append(predicted / speed - 1.0)
    return DecodeFit(fixed_ms=t0 * 1000.0, efficiency=1.0 / k, relative_errors=tuple(errors))

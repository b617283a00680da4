"""Decode and prefill speed, with constants per device class fitted on published llama.cpp runs.

Decode is memory-bound plus per-token overheads: each token reads the active weights (and the KV
cache) once, and runs the graph's kernels layer after layer, so

``t_token = n_devices x fixed + layers x per_layer (+ layers x moe_layer if MoE) + bytes / (efficiency x bandwidth)``

The per-layer term is what a kernel launch and synchronisation cost per layer (CUDA graphs, Metal
command buffers); an MoE layer runs more kernels (router, top-k, expert gather, the expert matmuls
by id) and costs ``moe_layer_us`` more. The fixed term is the per-token host work (sampling, graph build); one per
device of a layer split. So TinyLlama's 22 layers cost less overhead than a 70B's 80, and a token of
gpt-oss-20b barely speeds up from H100 to H200 (its bytes are few, its 24 MoE layers are not). The
constants are fitted per device class on published measurements (benchmarks/data/llamacpp_decode.csv)
and live, with provenance, validation bands and the range they were fitted on, in
catalog/speed_model.yaml. Predictions are for current llama.cpp builds (2025 on: CUDA graphs on
every GPU that supports them); older builds pay ``old_build.layer_factor`` more per layer.

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
    """Single-stream decode speed, tokens per second (``fixed_ms``: all per-token overheads together)."""
    return 1.0 / decode_seconds_per_token(bytes_read, bandwidth_gb_s, fixed_ms, efficiency)


def layer_units(n_layers: int, *, old_factor: float = 0.0) -> float:
    """Layers weighted by their per-token overhead: ``1 + old_factor`` each for runs of older builds."""
    return n_layers * (1.0 + old_factor)


def moe_overhead_ms(n_layers: int, moe: bool, moe_layer_us: float | None = None) -> float:
    """The extra per-token time of MoE layers (router, top-k, expert gather): ``layers x moe_layer_us``."""
    per_layer = speed_model().moe_layer_us if moe_layer_us is None else moe_layer_us
    return n_layers * per_layer / 1000.0 if moe else 0.0


def decode_overhead_ms(constants: DecodeConstants, n_layers: int, moe: bool, devices: int = 1) -> float:
    """Per-token overhead on one device class: ``devices x fixed + layers x per-layer cost`` (+ MoE layers)."""
    return devices * constants.fixed_ms + n_layers * constants.layer_us / 1000.0 + moe_overhead_ms(n_layers, moe)


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
class Band:
    """The measured spread of the out-of-sample relative error of decode predictions (p10, p90)."""

    low: float
    high: float
    basis: str

    def describe(self) -> str:
        return f"{self.low:+.0%}/{self.high:+.0%}"


@dataclass(frozen=True)
class Coverage:
    """What the class's constants were fitted on: layer counts, GB read per token, MoE or not."""

    layers: tuple[int, int]
    gb_per_token: tuple[float, float]
    moe: bool


@dataclass(frozen=True)
class DecodeConstants:
    """``t = fixed_ms + layers x layer_us + bytes / (efficiency x bandwidth)`` for one device class.

    ``band`` is the spread of the class's leave-one-source-out errors; ``coverage`` what it was
    fitted on (:func:`outside_fitted_range`).
    """

    fixed_ms: float
    efficiency: float
    device_class: str
    source: str
    layer_us: float = 0.0
    band: Band | None = None
    coverage: Coverage | None = None


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
    moe_layer_us: float = 0.0
    old_build_before: str = "2025"
    old_build_layer_factor: float = 0.0
    late_cuda_graph_ids: frozenset[str] = frozenset()
    late_cuda_graph_source: str = ""


def _class_record(name: str, raw: Mapping[str, Any]) -> _ClassRecord:
    decode = raw["decode"]
    prefill = raw["prefill"]
    band = decode.get("band")
    coverage = decode.get("coverage")
    return _ClassRecord(
        description=str(raw["description"]),
        decode=DecodeConstants(
            fixed_ms=float(decode["fixed_ms"]),
            efficiency=float(decode["efficiency"]),
            device_class=name,
            source=str(decode["source"]),
            layer_us=float(decode.get("layer_us", 0.0)),
            band=Band(float(band["low"]), float(band["high"]), str(band["basis"])) if band else None,
            coverage=Coverage(
                (int(coverage["layers"][0]), int(coverage["layers"][1])),
                (float(coverage["gb_per_token"][0]), float(coverage["gb_per_token"][1])),
                bool(coverage["moe"]),
            )
            if coverage
            else None,
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
    structure = data.get("decode_model", {})
    return SpeedModel(
        moe_layer_us=float(structure.get("moe_layer_us", 0.0)),
        old_build_before=str(structure.get("old_build", {}).get("before", "2025")),
        old_build_layer_factor=float(structure.get("old_build", {}).get("layer_factor", 0.0)),
        late_cuda_graph_ids=frozenset(structure.get("late_cuda_graphs", {}).get("ids", [])),
        late_cuda_graph_source=str(structure.get("late_cuda_graphs", {}).get("source", "")),
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


# ----------------------------------------------------------------------------- range and fitting


def outside_fitted_range(constants: DecodeConstants, n_layers: int, gb_per_token: float, moe: bool) -> list[str]:
    """Why a prediction lies outside the data its class was fitted on (empty: inside)."""
    cov = constants.coverage
    if cov is None:
        return [f"no published runs for the {constants.device_class} class"]
    reasons = []
    if not cov.layers[0] <= n_layers <= cov.layers[1]:
        reasons.append(f"{n_layers} layers (fitted on {cov.layers[0]}-{cov.layers[1]})")
    if not cov.gb_per_token[0] * 0.8 <= gb_per_token <= cov.gb_per_token[1] * 1.25:
        reasons.append(
            f"{gb_per_token:.1f} GB read per token (fitted on {cov.gb_per_token[0]:.1f}-{cov.gb_per_token[1]:.1f})"
        )
    if moe and not cov.moe:
        reasons.append("MoE (fitted on dense models only)")
    return reasons


@dataclass(frozen=True)
class DecodeObservation:
    """One published run: bytes a token reads, bandwidth, measured speed, devices, weighted layers.

    ``known_s``: a part of the token time that is not fitted (the MoE layers' overhead).
    """

    bytes_read: float
    bandwidth_gb_s: float
    tokens_per_s: float
    devices: int = 1
    layer_units: float = 0.0
    known_s: float = 0.0


@dataclass(frozen=True)
class DecodeFit:
    """Least-squares constants and their in-sample relative errors."""

    fixed_ms: float
    efficiency: float
    relative_errors: tuple[float, ...]
    layer_us: float = 0.0


def _solve(rows: list[list[float]], free: list[int]) -> list[float] | None:
    """Normal equations of ``sum (1 - x . c)^2`` over the ``free`` coordinates (others zero)."""
    n = len(free)
    a = [[sum(r[i] * r[j] for r in rows) for j in free] for i in free]
    b = [sum(r[i] for r in rows) for i in free]
    scale = max((abs(x) for row in a for x in row), default=0.0)
    for col in range(n):  # Gauss-Jordan with partial pivoting
        pivot = max(range(col, n), key=lambda k: abs(a[k][col]))
        if abs(a[pivot][col]) <= 1e-10 * scale:
            return None
        a[col], a[pivot], b[col], b[pivot] = a[pivot], a[col], b[pivot], b[col]
        for k in range(n):
            if k != col:
                f = a[k][col] / a[col][col]
                a[k] = [x - f * y for x, y in zip(a[k], a[col], strict=True)]
                b[k] -= f * b[col]
    out = [0.0, 0.0, 0.0]
    for index, coord in enumerate(free):
        out[coord] = b[index] / a[index][index]
    return out


def fit_decode_model(
    observations: Sequence[DecodeObservation],
    *,
    fixed_ms: float | None = None,
    layer_us: float | None = None,
    require_all_terms: bool = False,
) -> DecodeFit:
    """Fit ``1/tg = n_dev x t0 + layer_units x t_layer + bytes/(eff x BW)`` minimising the squared relative error.

    Linear in ``t0``, ``t_layer`` and ``1/eff``: the normal equations, with the non-negative solution of
    least error over the subsets of the overhead terms (a negative overhead is unphysical). ``fixed_ms``
    / ``layer_us`` pin a term (for classes with too few rows to separate them). ``require_all_terms``
    raises when the measurements cannot separate the free terms at all (a singular system).
    """
    if len(observations) < 1:
        raise ValueError("not enough measurements to fit the constants")
    rows = []
    for o in observations:
        t = 1.0 / o.tokens_per_s - o.known_s
        if t <= 0:
            raise ValueError("a known overhead exceeds a measured token time")
        rows.append([o.devices / t, o.layer_units / t, o.bytes_read / (o.bandwidth_gb_s * 1e9) / t])
    pinned = [fixed_ms / 1000.0 if fixed_ms is not None else None, layer_us / 1e6 if layer_us is not None else None]
    shifted = []
    for r in rows:  # move pinned terms to the target: 1 - pinned . x
        offset = sum(p * r[i] for i, p in enumerate(pinned) if p is not None)
        shifted.append((r, 1.0 - offset))
    best: tuple[float, list[float]] | None = None
    free_overheads = [i for i in (0, 1) if pinned[i] is None]
    subsets = [[*sub, 2] for sub in ([], [free_overheads[0]] if free_overheads else [], free_overheads)]
    for free in subsets:
        scaled = [[x / target for x in r] for r, target in shifted if target > 0]
        if len(scaled) < len(free):
            continue
        coef = _solve(scaled, free)
        if coef is None and require_all_terms and len(free) == len(free_overheads) + 1:
            raise ValueError("measurements do not separate the fixed cost from the bandwidth term")
        if coef is None or any(coef[i] < 0 for i in free) or coef[2] <= 0:
            continue
        for i, p in enumerate(pinned):
            if p is not None:
                coef[i] = p
        error = sum((1.0 - sum(c * x for c, x in zip(coef, r, strict=True))) ** 2 for r in rows)
        if best is None or error < best[0]:
            best = (error, coef)
    if best is None:
        raise ValueError("measurements do not give a positive bandwidth efficiency")
    t0, tl, k = best[1]
    errors = tuple(
        1.0 / (o.known_s + o.devices * t0 + o.layer_units * tl + o.bytes_read / (o.bandwidth_gb_s * 1e9) * k)
        / o.tokens_per_s - 1.0 for o in observations
    )  # fmt: skip
    return DecodeFit(fixed_ms=t0 * 1000.0, efficiency=1.0 / k, relative_errors=errors, layer_us=tl * 1e6)


def fit_decode_constants(
    points: Sequence[tuple[float, float, float]],
    devices: Sequence[int] | None = None,
    *,
    fixed_ms: float | None = None,
) -> DecodeFit:
    """:func:`fit_decode_model` without the per-layer term, on ``(bytes_read, bandwidth_gb_s, tokens_per_s)``."""
    counts = list(devices) if devices is not None else [1] * len(points)
    if len(counts) != len(points):
        raise ValueError("devices must give one count per point")
    if len(points) < (1 if fixed_ms is not None else 2):
        raise ValueError("not enough measurements to fit the constants")
    observations = [DecodeObservation(b, bw, tps, n) for (b, bw, tps), n in zip(points, counts, strict=True)]
    return fit_decode_model(observations, fixed_ms=fixed_ms, layer_us=0.0, require_all_terms=True)

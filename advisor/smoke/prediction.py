"""The planner's prediction for one GGUF on this machine (pure: numbers in, numbers out).

Fit, GPU layers and memory come from the shared estimators (:mod:`advisor.estimate`), as in
``advisor fit``, with the weights read exactly from the file's tensor table. On the CPU the decode
speed uses this machine's measured bandwidth and the KV cache this run actually fills; that
uncalibrated speed is multiplied by the calibration of the run's regime when there is one
(:mod:`advisor.smoke.calibration`). The prediction states the band it expects the measurement in
(:mod:`advisor.smoke.policy`; a calibration's band, never wider than the cap) and, when the model
will not fit, the sentence that refuses the run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from advisor.estimate.fit import Device, Footprint, decide_fit, usable_device_bytes
from advisor.estimate.footprint import build_footprint
from advisor.estimate.memory import DEFAULT_CACHE, MIB, CacheSettings, kv_cache_read_bytes
from advisor.estimate.speed import decode_constants_for, decode_tokens_per_s
from advisor.smoke.calibration import Calibration, Regime
from advisor.smoke.options import SmokeOptions
from advisor.smoke.policy import smoke_policy
from advisor.smoke.units import mib, rounded

if TYPE_CHECKING:
    from advisor.estimate.constants import EstimatorConstants
    from advisor.files.gguf import GgufInfo
    from advisor.machine import MachineInfo


@dataclass(frozen=True)
class SmokePrediction:
    """The planner's numbers for this file on this machine, with the basis they rest on."""

    weights_bytes: int
    kv_cache_bytes: int
    overhead_bytes: int
    compute_buffer_bytes: int
    reserve_bytes: int
    resident_floor_bytes: int
    fits: str
    gpu_layers: int
    device: str
    decode_tokens_per_s: float | None
    uncalibrated_decode_tokens_per_s: float | None
    decode_band: float
    bytes_per_token: int
    bandwidth_gb_s: float | None
    gpu_bytes: int
    refusal: str | None
    basis: list[str] = field(default_factory=list)
    calibrated: bool = False

    @property
    def total_bytes(self) -> int:
        return self.weights_bytes + self.kv_cache_bytes + self.overhead_bytes

    def as_dict(self) -> dict[str, Any]:
        return {
            "total_bytes": self.total_bytes,
            "decode_tokens_per_s": rounded(self.decode_tokens_per_s),
            "uncalibrated_decode_tokens_per_s": rounded(self.uncalibrated_decode_tokens_per_s),
            "weights_bytes": self.weights_bytes,
            "kv_cache_bytes": self.kv_cache_bytes,
            "overhead_bytes": self.overhead_bytes,
            "compute_buffer_bytes": self.compute_buffer_bytes,
            "reserve_bytes": self.reserve_bytes,
            "resident_floor_bytes": self.resident_floor_bytes,
            "gpu_bytes": self.gpu_bytes,
            "fits": self.fits,
            "gpu_layers": self.gpu_layers,
            "bytes_per_token": self.bytes_per_token,
            "bandwidth_gb_s": rounded(self.bandwidth_gb_s),
            "decode_band": self.decode_band,
            "memory_slack": smoke_policy().memory_slack,
            "calibrated": self.calibrated,
            "basis": self.basis,
        }


def footprint_from_gguf(info: GgufInfo, context: int, constants: EstimatorConstants, backend: str) -> Footprint:
    """The planner's footprint with the weights read exactly from the file's tensor table.

    On the CPU the measure is resident memory: of the logits rows llama.cpp reserves for a full
    micro-batch, a chat run touches only the one it computes per step.
    """
    return build_footprint(
        info.weights_split(),
        info.to_architecture_config(),
        info.active_params(),
        context,
        cache_type="f16",
        reserve_mib=constants.backends.get(backend, constants.backends["cpu"]).reserve_mib,
        ubatch=constants.compute_buffer.ubatch,
        cache=CacheSettings(outputs=1) if backend == "cpu" else DEFAULT_CACHE,
    )


def predict(
    info: GgufInfo,
    machine: MachineInfo,
    options: SmokeOptions,
    context: int,
    constants: EstimatorConstants,
    cpu_bandwidth_gb_s: float | None,
    device: Device | None,
    *,
    threads: int | None = None,
    calibration_for: Callable[[Regime], Calibration | None] | None = None,
) -> SmokePrediction:
    """Fit, GPU layers and decode speed for this file here; ``refusal`` says why it would not run.

    The fit and the GPU side come from :func:`advisor.estimate.fit.decide_fit`, as in ``advisor
    fit``. On the CPU the decode speed uses the measured bandwidth of this machine and the KV cache
    this run actually fills (not half the context). ``calibration_for`` gives the calibration of a
    regime (:func:`advisor.smoke.calibration.load_calibration`); the one of this run's regime (its
    device, GPU layers and ``threads``, default the machine's physical cores) is applied.
    """
    policy = smoke_policy()
    backend = device.backend if device is not None else "cpu"
    fp = footprint_from_gguf(info, context, constants, backend)
    arch = info.to_architecture_config()
    forced = None if options.gpu_layers == "auto" else max(0, min(int(options.gpu_layers), info.n_layers + 1))
    fit = decide_fit(fp, device, machine.ram_available_bytes, cpu_bandwidth_gb_s, constants, gpu_layers=forced)
    reserve = int(constants.backends.get(backend, constants.backends["cpu"]).reserve_mib * MIB)
    basis = [
        f"weights {fp.weights_bytes / MIB:.1f} MiB, exact from the file's tensor table",
        f"KV cache f16 at {context} tokens, compute buffer and {reserve / MIB:.0f} MiB runtime reserve "
        "(advisor.estimate.memory)",
    ]
    refusal = None
    if fit.fits == "no":
        refusal = (
            f"the model needs {mib(fp.total_bytes)} (weights {mib(fp.weights_bytes)} + KV "
            f"{mib(fp.kv_cache_bytes)} + overhead {mib(fp.overhead_bytes)}) but only "
            f"{mib(machine.ram_available_bytes)} of RAM is free"
            + (f" and {mib(usable_device_bytes(device, constants))} of GPU memory is usable" if device else "")
        )
    elif forced and device is not None and fit.gpu_layers < forced:
        refusal = (
            f"--gpu-layers {forced}: only {fit.gpu_layers} layers fit in the "
            f"{mib(usable_device_bytes(device, constants))} of GPU memory that is usable"
        )
    if device is None:
        gpu_layers = 0
        if forced:
            basis.append("no GPU detected: llama.cpp keeps every layer on the CPU")
    else:
        gpu_layers = forced if forced is not None else fit.gpu_layers
    place = "cpu" if gpu_layers == 0 else "gpu" if gpu_layers > info.n_layers else "partial"
    # a decoded token reads the weights once and the KV cache filled so far (prompt + half the output)
    filled = min(context, max(1, len(options.prompt.encode("utf-8")) // 3 + options.max_tokens // 2))
    bytes_per_token = fp.active_weights_bytes + int(kv_cache_read_bytes(arch, filled, "f16"))
    band = policy.decode_band.uncalibrated
    speed = fit.decode_tokens_per_s
    bandwidth = device.bandwidth_gb_s if device is not None and place != "cpu" else cpu_bandwidth_gb_s
    if place == "cpu" and cpu_bandwidth_gb_s:
        cpu = decode_constants_for(None)
        speed = decode_tokens_per_s(bytes_per_token, cpu_bandwidth_gb_s, cpu.fixed_ms, cpu.efficiency)
        basis.append(
            f"decode reads {bytes_per_token / MIB:.1f} MiB/token at the measured {cpu_bandwidth_gb_s:.1f} GB/s x "
            f"efficiency {cpu.efficiency:.2f} + {cpu.fixed_ms:.2f} ms/token (catalog CPU constants, speed_model.yaml)"
        )
    elif place != "cpu":
        basis.append(f"decode speed from the fit estimate for {gpu_layers} GPU layers ({backend})")
    uncalibrated = speed
    regime = Regime(place, threads or machine.threads_llama, gpu_layers)
    calibration = calibration_for(regime) if calibration_for is not None and speed else None
    if calibration is not None and speed:
        speed *= calibration.factor
        band = calibration.band
        basis.append(calibration.describe())
    basis.append(f"decode band ±{band:.0%}")
    return SmokePrediction(
        weights_bytes=fp.weights_bytes,
        kv_cache_bytes=fp.kv_cache_bytes,
        overhead_bytes=fp.overhead_bytes,
        compute_buffer_bytes=fp.compute_buffer_bytes,
        reserve_bytes=reserve,
        resident_floor_bytes=fp.active_weights_bytes + fp.kv_cache_bytes,
        fits=fit.fits,
        gpu_layers=gpu_layers,
        device=place,
        decode_tokens_per_s=speed,
        uncalibrated_decode_tokens_per_s=uncalibrated,
        decode_band=band,
        bytes_per_token=bytes_per_token,
        bandwidth_gb_s=bandwidth,
        gpu_bytes=fit.device_bytes if place != "cpu" else 0,
        refusal=refusal,
        basis=basis,
        calibrated=calibration is not None and uncalibrated is not None,
    )

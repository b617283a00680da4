"""HW001 (does the variant fit the hardware?) and LAT001 (is it fast enough?).

Thin rules over ``advisor.sizing``: the maths lives in ``advisor.estimate``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from advisor import AdvisorContext, Candidate, Check, Finding, Requirements, hookimpl
from advisor.sizing import Sizing, size_candidate

GB = 1e9


def _sizing(candidate: Candidate, requirements: Requirements, context: AdvisorContext) -> Sizing | None:
    return size_candidate(candidate, context.catalog, requirements.context_tokens)


def _metrics(sizing: Sizing) -> dict[str, float | int | str | None]:
    fp, fit = sizing.footprint, sizing.fit
    return {
        "weights_bytes": fp.weights_bytes,
        "kv_cache_bytes": fp.kv_cache_bytes,
        "overhead_bytes": fp.overhead_bytes,
        "total_bytes": fp.total_bytes,
        "fits": fit.fits,
        "gpu_layers": fit.gpu_layers,
        "decode_tokens_per_s": round(fit.decode_tokens_per_s, 1) if fit.decode_tokens_per_s else None,
        "prefill_tokens_per_s": round(fit.prefill_tokens_per_s, 0) if fit.prefill_tokens_per_s else None,
    }


def fits_hardware(candidate: Candidate, requirements: Requirements, context: AdvisorContext) -> Iterator[Finding]:
    sizing = _sizing(candidate, requirements, context)
    if sizing is None:
        yield Finding(
            severity="warn",
            message="cannot size this variant: architecture, quant or hardware unknown",
            evidence={"quant": candidate.quant, "hardware": candidate.hardware},
        )
        return
    fp, fit = sizing.footprint, sizing.fit
    where = f"{candidate.hardware_count or 1}× {sizing.device.name}" if sizing.device else "system RAM"
    need = (
        f"needs {fp.total_bytes / GB:.1f} GB (weights {fp.weights_bytes / GB:.1f} + KV "
        f"{fp.kv_cache_bytes / GB:.1f} + overhead {fp.overhead_bytes / GB:.1f}; estimate)"
    )
    evidence = {"assumptions": sizing.assumptions, "usable_device_bytes": fit.usable_device_bytes}
    metrics = _metrics(sizing)
    if fit.fits == "gpu":
        yield Finding(
            severity="pass", message=f"{candidate.quant} fits on {where}: {need}", evidence=evidence, metrics=metrics
        )
    elif fit.fits == "partial":
        yield Finding(
            severity="warn",
            message=f"{candidate.quant} fits only with partial offload "
            f"({fit.gpu_layers - 1} of {fp.n_layers} layers on {where}): {need}",
            evidence=evidence,
            metrics=metrics,
            remediation="a smaller quant, a quantized KV cache or a shorter context keeps it all on the GPU",
        )
    elif fit.fits == "cpu":
        yield Finding(
            severity="info",
            message=f"{candidate.quant} runs from system RAM on the CPU: {need}",
            evidence=evidence,
            metrics=metrics,
        )
    else:
        yield Finding(
            severity="fail",
            message=f"{candidate.quant} does not fit {where}: {need}",
            evidence=evidence,
            metrics=metrics,
            remediation="a smaller quant, a shorter context, KV-cache quantization, or more GPUs",
        )


def fast_enough(candidate: Candidate, requirements: Requirements, context: AdvisorContext) -> Iterator[Finding]:
    sizing = _sizing(candidate, requirements, context)
    if sizing is None or sizing.fit.decode_tokens_per_s is None:
        return
    speed = sizing.fit.decode_tokens_per_s
    wanted = requirements.latency.min_tokens_per_s
    if speed < wanted:
        yield Finding(
            severity="fail",
            message=f"estimated decode {speed:.1f} tokens/s is below the {wanted:g} tokens/s required",
            evidence={"assumptions": sizing.assumptions},
            remediation="a smaller quant or model, or hardware with more memory bandwidth",
        )
    else:
        yield Finding(
            severity="pass", message=f"estimated decode {speed:.1f} tokens/s per stream (required {wanted:g})"
        )


@hookimpl
def advisor_register_checks(register: Callable[[Check], None]) -> None:
    register(
        Check(
            id="HW001",
            category="hardware",
            summary="Variant fits the hardware (GPU, partial offload, CPU)",
            run=fits_hardware,
            kinds=("open_source",),
        )
    )
    register(
        Check(
            id="LAT001",
            category="latency",
            summary="Estimated decode speed meets the latency requirement",
            run=fast_enough,
            kinds=("open_source",),
        )
    )

"""HW001 (does the variant fit the hardware, and if not, what change makes it fit?) and LAT001
(is each stream fast enough on the deployment the plan runs?). Thin rules over ``advisor.engine.sizing``,
``advisor.engine.deployment_sizing`` (the one sizing LAT001, COST001 and the plan share) and
``advisor.engine.fit_questions``; the maths lives in ``advisor.estimate``."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from advisor import AdvisorContext, Candidate, Check, Finding, Requirements, hookimpl
from advisor.engine.deployment_sizing import DeploymentSizing, size_deployment
from advisor.engine.fit_questions import best_quant_that_fits, longest_context_that_fits
from advisor.engine.sizing import Sizing, machine_for_candidate, size_candidate, spec_for_candidate
from advisor.model.metrics import Metrics, SizingMetrics

GB = 1e9


def _sizing(candidate: Candidate, requirements: Requirements, context: AdvisorContext) -> Sizing | None:
    return size_candidate(candidate, context.catalog, requirements.context_tokens)


def _metrics(sizing: Sizing) -> Metrics:
    fp, fit = sizing.footprint, sizing.fit
    return SizingMetrics(
        weights_bytes=fp.weights_bytes,
        kv_cache_bytes=fp.kv_cache_bytes,
        overhead_bytes=fp.overhead_bytes,
        total_bytes=fp.total_bytes,
        fits=fit.fits,
        gpu_layers=fit.gpu_layers,
        decode_tokens_per_s=round(fit.decode_tokens_per_s, 1) if fit.decode_tokens_per_s else None,
        prefill_tokens_per_s=round(fit.prefill_tokens_per_s, 0) if fit.prefill_tokens_per_s else None,
    ).to_metrics()


def _remedy(candidate: Candidate, requirements: Requirements, context: AdvisorContext) -> str:
    """Name the concrete change that makes it fit: a smaller quant, a shorter context, or more devices."""
    spec = spec_for_candidate(candidate)
    if spec is None:
        return "a smaller quant, a shorter context, KV-cache quantization, or more GPUs"
    catalog = context.catalog
    machine = machine_for_candidate(candidate, catalog)
    best = best_quant_that_fits(spec, catalog, machine, requirements.context_tokens)
    if best is not None:
        return f"{best.quant.id} fits fully at {requirements.context_tokens} tokens"
    q8 = best_quant_that_fits(spec, catalog, machine, requirements.context_tokens, "q8_0")
    if q8 is not None:
        return f"{q8.quant.id} with a q8_0 KV cache fits fully"
    longest = longest_context_that_fits(spec, catalog, machine, candidate.quant or "Q4_K_M")
    if longest:
        return f"a context of at most {longest} tokens fits at {candidate.quant}"
    if machine.device is None:
        sizing = size_candidate(candidate, catalog, requirements.context_tokens)
        need = f" with more than {sizing.footprint.total_bytes / GB:.0f} GB free for the model" if sizing else ""
        return f"a machine{need} (RAM beyond what the operating system keeps), or a GPU"
    return "more or larger GPUs"


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
    evidence = {"assumptions": sizing.assumptions, "notes": fit.notes, "usable_device_bytes": fit.usable_device_bytes}
    metrics = _metrics(sizing)
    if fit.fits == "gpu":
        yield Finding(
            severity="pass", message=f"{candidate.quant} fits on {where}: {need}", evidence=evidence, metrics=metrics
        )
    elif fit.fits == "partial":
        yield Finding(
            severity="warn",
            message=f"{candidate.quant} fits only with partial offload (-ngl {fit.gpu_layers}) on {where}: {need}",
            evidence=evidence,
            metrics=metrics,
            remediation=_remedy(candidate, requirements, context),
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
            remediation=_remedy(candidate, requirements, context),
        )


def fast_enough(candidate: Candidate, requirements: Requirements, context: AdvisorContext) -> Iterator[Finding]:
    """Each stream's decode speed on the deployment the plan runs (``advisor.engine.deployment_sizing``): a
    llama.cpp stream on the variant's fit, or a vLLM/SGLang stream at its replica's share of the peak."""
    sized = size_deployment(candidate, requirements, context.catalog)
    if sized is None:
        return
    wanted = requirements.latency.min_tokens_per_s
    evidence: dict[str, object] = {
        "engine": sized.engine,
        "devices_per_replica": sized.devices_per_replica,
        "replicas": sized.replicas,
        "streams_per_replica": sized.streams_per_replica,
        "per_stream_tokens_per_s": round(sized.per_stream_tokens_per_s, 1),
        "assumptions": [*sized.sizing.assumptions, *sized.assumptions],
    }
    where = _where(sized)
    if not sized.meets_latency:
        speed = sized.single_stream_tokens_per_s
        yield Finding(
            severity="fail",
            message=f"estimated decode {speed:.1f} tokens/s per stream{where} is below the {wanted:g} "
            "tokens/s required",
            evidence=evidence,
            remediation="a smaller quant or model, or hardware with more memory bandwidth",
        )
        return
    speed = sized.per_stream_tokens_per_s
    yield Finding(
        severity="pass",
        message=f"estimated decode {speed:.1f} tokens/s per stream{where} (required {wanted:g})",
        evidence=evidence,
    )


def _where(sized: DeploymentSizing) -> str:
    """Where the speed is judged: a llama.cpp stream, or a batching server's stream at its share of the peak."""
    topology = sized.topology
    if topology is None:
        return ""
    pp = f" x PP{topology.pipeline_parallel}" if topology.pipeline_parallel > 1 else ""
    if not sized.meets_latency:
        return (
            f" even alone on {sized.engine} TP{topology.tensor_parallel}{pp}, the fastest replica shape that holds it"
        )
    return (
        f" on {sized.engine} TP{topology.tensor_parallel}{pp} with {sized.streams_per_replica} concurrent streams "
        f"per replica, {sized.replicas} replica(s) for the peak"
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

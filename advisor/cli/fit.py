"""``advisor fit MODEL``: memory footprint, fit and speed of a model on hardware (docs/design.md §4)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import click

from advisor.cli.options import SessionOptions, print_table, session_options

if TYPE_CHECKING:
    from advisor.catalog.loader import Catalog
    from advisor.engine.model_source import ModelSpec
    from advisor.engine.serving_setup import ServingSetup
    from advisor.engine.sizing import Machine, Sizing
    from advisor.estimate.serving import ServingCapacity
    from advisor.estimate.serving_calibration import CalibrationPoint


def parse_hardware(spec: str, catalog: Catalog, ram_gb: float | None) -> tuple[str, Machine]:
    """``rtx-4090``, ``2xrtx-4090``, ``rtx-4090:2``, ``rtx-4090 x2`` or ``local`` (this machine, measured)."""
    from advisor.engine.sizing import machine_for
    from advisor.errors import InputError
    from advisor.model.hardware_spec import HardwareSpecError, parse_hardware_spec

    if spec == "local":
        return "local", local_machine(ram_gb, catalog)
    not_an_id = f"--hardware {spec}: not a hardware id (see `advisor catalog hardware`), e.g. rtx-4090 or 2xa100-80gb"
    try:
        parsed = parse_hardware_spec(spec)
    except HardwareSpecError as exc:
        # the catalog is asked before the count: "0xbogus" is "not a hardware id"
        if exc.id is not None and catalog.find_hardware(exc.id) is not None:
            raise InputError(f"--hardware {spec}: the device count must be at least 1") from None
        raise InputError(not_an_id) from None
    record = catalog.find_hardware(parsed.id)
    if record is None:
        raise InputError(not_an_id)
    return parsed._replace(id=record.id).compact, machine_for(record, parsed.quantity, ram_gb)


def local_machine(ram_gb: float | None, catalog: Catalog) -> Machine:
    """This machine: free RAM, measured memory bandwidth, NVIDIA GPUs when NVML sees any, and the
    decode constants ``advisor smoke calibrate`` fitted here, if any (the rows then say so)."""
    from advisor.engine.sizing import Machine
    from advisor.machine import catalog_bandwidths, detect_machine, local_device, measure_memory_bandwidth_gb_s
    from advisor.smoke.calibration import load_calibration

    info = detect_machine()
    bandwidth = measure_memory_bandwidth_gb_s()
    host = int(ram_gb * 1024**3) if ram_gb is not None else info.ram_available_bytes
    # the same device ``advisor smoke`` predicts for: GPU bandwidth measured by NVML or from the catalog
    names = [g.name for g in info.gpus]
    device = local_device(info.gpus, catalog_bandwidths(names, catalog.hardware) if names else None)
    notes = [f"this machine: {info.cpu_count} CPUs, {host / 1e9:.1f} GB RAM free, {bandwidth:.1f} GB/s measured"]
    calibration = load_calibration(info.key)
    cpu_decode = calibration.cpu_decode if calibration is not None else None
    if calibration is not None and cpu_decode is not None:
        notes.append(calibration.describe())
    return Machine(device, None, host, bandwidth, cpu_decode, tuple(notes))


def row(sizing: Sizing, hardware: str | None, params: int, max_context: int | None) -> dict[str, Any]:
    """One row of the JSON contract; ``hardware`` and ``fits`` are null without --hardware."""
    fp, fit = sizing.footprint, sizing.fit
    with_hardware = hardware is not None
    return {
        "quant": sizing.quant.id,
        "hardware": hardware,
        "bits_per_weight": round(fp.weights_bytes * 8 / params, 3) if params else None,
        "weights_bytes": fp.weights_bytes,
        "kv_cache_bytes": fp.kv_cache_bytes,
        "overhead_bytes": fp.overhead_bytes,
        "total_bytes": fp.total_bytes,
        "fits": fit.fits if with_hardware else None,
        "gpu_layers": fit.gpu_layers if with_hardware else None,
        "decode_tokens_per_s": round(fit.decode_tokens_per_s, 1) if with_hardware and fit.decode_tokens_per_s else None,
        "prefill_tokens_per_s": round(fit.prefill_tokens_per_s) if with_hardware and fit.prefill_tokens_per_s else None,
        "weights_exact": fp.weights_exact,
        "weights_method": fp.weights_method,
        "kv_cache_type": sizing.cache_type,
        "compute_buffer_bytes": fp.compute_buffer_bytes,
        "device_bytes": fit.device_bytes if with_hardware else None,
        "host_bytes": fit.host_bytes if with_hardware else None,
        "max_context": max_context,
        "notes": fit.notes if with_hardware else [],
        "decode_band": list(fit.decode_band) if with_hardware and fit.decode_band and fit.decode_tokens_per_s else None,
        "outside_fitted_data": list(fit.outside_fitted) if with_hardware and fit.decode_tokens_per_s else [],
    }


#: The engines with a continuous-batching serving model (advisor.estimate.serving).
ENGINES = ("vllm", "sglang")
#: The request shape of the serving estimate: the answers' defaults (advisor.model.requirements.Traffic).
SERVING_PROMPT = 500
SERVING_OUTPUT = 200


def check_engine_options(
    engine: str | None,
    tp: int | None,
    pp: int | None,
    concurrency: int | None,
    hardware: tuple[str, ...],
    input_tokens: int | None = None,
    output_tokens: int | None = None,
) -> None:
    """--tp/--pp/--concurrency/--input-tokens/--output-tokens need --engine vllm or sglang, and --engine needs
    --hardware (exit 2 naming the flag)."""
    from advisor.errors import InputError

    for flag, value in (
        ("--tp", tp),
        ("--pp", pp),
        ("--concurrency", concurrency),
        ("--input-tokens", input_tokens),
        ("--output-tokens", output_tokens),
    ):
        if value is not None and engine not in ENGINES:
            raise InputError(f"{flag}: applies to --engine vllm or sglang (llama.cpp serves one layer-split replica)")
    if engine is not None and not hardware:
        raise InputError(f"--engine {engine}: needs --hardware (the GPUs to serve on)")


def serving_row(
    spec: ModelSpec,
    sizing: Sizing,
    machine: Machine,
    engine: str,
    tp: int | None,
    pp: int | None,
    concurrency: int,
    input_tokens: int = SERVING_PROMPT,
    output_tokens: int = SERVING_OUTPUT,
    hardware: str = "",
    calibrated: bool = True,
) -> dict[str, Any]:
    """The ``serving`` object of one row: the same capacity function and checkpoint choice as the plan,
    for ``concurrency`` requests of ``input_tokens`` prompt and ``output_tokens`` output tokens; calibrated by
    the newest ``advisor bench`` sweep of the same deployment when one is stored (docs/bench.md)."""
    from advisor.engine.serving_setup import serving_setup

    out: dict[str, Any] = {
        "engine": engine,
        "tensor_parallel": 1,
        "pipeline_parallel": 1,
        "concurrency": 1,
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
    }
    if engine not in ENGINES:
        decode, prefill = sizing.fit.decode_tokens_per_s, sizing.fit.prefill_tokens_per_s
        out |= {
            "output_tokens_per_s": round(decode, 1) if decode else None,
            "per_stream_tokens_per_s": round(decode, 1) if decode else None,
            "ttft_s": round(input_tokens / prefill, 3) if prefill else None,
            "tpot_ms": round(1000.0 / decode, 2) if decode else None,
        }
        return out
    setup = serving_setup(spec, sizing.quant.id, machine, hardware, engine, tp, pp)
    out |= {
        "tensor_parallel": setup.topology.tensor_parallel,
        "pipeline_parallel": setup.topology.pipeline_parallel,
        "concurrency": concurrency,
        "checkpoint": setup.checkpoint.repo,
        "checkpoint_format": setup.checkpoint.format,
        "quantization": setup.checkpoint.online_quantization,
    }
    try:
        cap = setup.capacity(input_tokens, output_tokens, concurrency)
    except ValueError as exc:
        empty = {"output_tokens_per_s": None, "per_stream_tokens_per_s": None, "ttft_s": None, "tpot_ms": None}
        return out | empty | {"note": str(exc)}
    calibration: dict[str, Any] | None = None
    if calibrated:
        cap, calibration = _calibrated(setup, cap, concurrency, input_tokens, output_tokens)
    return out | {
        "output_tokens_per_s": round(cap.output_tokens_per_s, 1),
        "per_stream_tokens_per_s": round(cap.per_stream_tokens_per_s, 1),
        "ttft_s": round(cap.ttft_s, 3),
        "tpot_ms": round(cap.tpot_s * 1000.0, 2),
        "bound": cap.bound,
        "max_concurrency": cap.max_concurrency,
        "calibration": calibration,
    }


def _calibrated(
    setup: ServingSetup, cap: ServingCapacity, concurrency: int, input_tokens: int, output_tokens: int
) -> tuple[ServingCapacity, dict[str, Any] | None]:
    """``cap`` with the newest stored bench sweep of this replica applied, and the ``calibration`` object (None:
    no sweep of this replica; ``applied`` false with a ``note`` when the newest one cannot calibrate)."""
    from statistics import median

    from advisor.bench.calibration import latest_calibration
    from advisor.estimate.serving_calibration import calibrate, throughput_ratio, ttft_ratio

    stored = latest_calibration(setup.key)
    if stored is None:
        return cap, None
    about: dict[str, Any] = {
        "sweep": stored.sweep_id,
        "measured_at": stored.created_at,
        "endpoint": stored.endpoint,
        "levels": [p.concurrency for p in stored.points],
        "dropped_levels": list(stored.dropped),
    }
    points = [_repredicted(setup, p) for p in stored.points]
    ratio = throughput_ratio(points, concurrency)
    if ratio is None:
        return cap, about | {"applied": False, "note": stored.problem or "no usable level"}
    first = ttft_ratio(points, concurrency)
    notes = []
    shapes = [(p.prompt_tokens, p.output_tokens) for p in stored.points if p.prompt_tokens and p.output_tokens]
    if shapes:
        swept = (round(median(i for i, _ in shapes)), round(median(o for _, o in shapes)))
        about["input_tokens"], about["output_tokens"] = swept
        if not (0.5 <= input_tokens / swept[0] <= 2 and 0.5 <= output_tokens / swept[1] <= 2):
            notes.append(
                f"the sweep measured requests of about {swept[0]}+{swept[1]} tokens, these are {input_tokens}+"
                f"{output_tokens}: the ratio carries over less well; sweep with this traffic's shape"
            )
    return calibrate(cap, ratio, first), about | {
        "applied": True,
        "throughput_ratio": round(ratio, 3),
        "ttft_ratio": round(first, 3) if first is not None else None,
        "uncalibrated_output_tokens_per_s": round(cap.output_tokens_per_s, 1),
        "uncalibrated_ttft_s": round(cap.ttft_s, 3),
        "basis": stored.describe(),
        "notes": notes,
    }


def _repredicted(setup: ServingSetup, point: CalibrationPoint) -> CalibrationPoint:
    """The point against today's model: the sweep stored its prediction, but the catalog's constants may have
    moved since, and the ratio must be measured against the model it corrects."""
    from dataclasses import replace

    if point.prompt_tokens is None or point.output_tokens is None:
        return point
    try:
        now = setup.capacity(point.prompt_tokens, point.output_tokens, point.concurrency)
    except ValueError:
        return point
    return replace(point, predicted_tokens_per_s=now.output_tokens_per_s, predicted_ttft_s=now.ttft_s)


def _band(r: dict[str, Any]) -> str | None:
    """``-15%/+8%`` (the measured spread), with ``*`` when the row lies outside the fitted data."""
    band = r["decode_band"]
    if band is None:
        return None
    return f"{band[0]:+.0%}/{band[1]:+.0%}" + ("*" if r["outside_fitted_data"] else "")


@click.command(name="fit")
@click.argument("model")
@click.option(
    "--hardware",
    "hardware",
    multiple=True,
    metavar="HW",
    help="Catalog hardware id, NxHW for several devices (2xa100-80gb), or 'local' (repeatable).",
)
@click.option("--quant", "quants", multiple=True, metavar="Q", help="Weight format, e.g. Q4_K_M (repeatable).")
@click.option("--context", type=click.IntRange(min=1), default=8192, show_default=True, help="Context (KV cells).")
@click.option(
    "--kv-cache-type",
    type=click.Choice(["f16", "bf16", "f32", "q8_0", "q5_1", "q5_0", "q4_1", "q4_0"]),
    default="f16",
    show_default=True,
)
@click.option("--no-kv-offload", is_flag=True, help="Keep the KV cache in system RAM (llama.cpp -nkvo).")
@click.option("--gpu-layers", type=click.IntRange(min=0), default=None, help="Force llama.cpp's -ngl.")
@click.option("--ram-gb", type=click.FloatRange(min=0), default=None, help="System RAM beside the GPUs (GiB).")
@click.option("--best-quant", is_flag=True, help="Also name the most faithful quant that fits each device.")
@click.option("--max-context", is_flag=True, help="Also give the longest context that fits each row.")
@click.option(
    "--min-tokens-per-s",
    type=click.FloatRange(min=0),
    default=None,
    help="Also list the cheapest hardware that decodes at least this fast.",
)
@click.option("--offline", is_flag=True, help="Use only the local Hub cache for Hub repo ids.")
@click.option(
    "--engine",
    type=click.Choice(["llama.cpp", "vllm", "sglang"]),
    default=None,
    help="Also give each row's serving capacity on this engine (vllm/sglang: continuous batching).",
)
@click.option("--tp", type=click.IntRange(min=1), default=None, help="Tensor parallel GPUs (vllm/sglang).")
@click.option("--pp", type=click.IntRange(min=1), default=None, help="Pipeline parallel stages (vllm/sglang).")
@click.option(
    "--concurrency",
    type=click.IntRange(min=1),
    default=None,
    help="Requests in flight for the serving estimate (vllm/sglang; default 1).",
)
@click.option(
    "--input-tokens",
    type=click.IntRange(min=1),
    default=None,
    help=f"Prompt tokens per request for the serving estimate (vllm/sglang; default {SERVING_PROMPT}).",
)
@click.option(
    "--output-tokens",
    type=click.IntRange(min=1),
    default=None,
    help=f"Output tokens per request for the serving estimate (vllm/sglang; default {SERVING_OUTPUT}).",
)
@click.option(
    "--no-calibration",
    is_flag=True,
    help="vllm/sglang: the serving model alone, not calibrated by a stored `advisor bench --engine` sweep.",
)
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@session_options()
def fit(
    model: str,
    hardware: tuple[str, ...],
    quants: tuple[str, ...],
    context: int,
    kv_cache_type: str,
    no_kv_offload: bool,
    gpu_layers: int | None,
    ram_gb: float | None,
    best_quant: bool,
    max_context: bool,
    min_tokens_per_s: float | None,
    offline: bool,
    engine: str | None,
    tp: int | None,
    pp: int | None,
    concurrency: int | None,
    input_tokens: int | None,
    output_tokens: int | None,
    no_calibration: bool,
    fmt: str,
    options: SessionOptions,
) -> None:
    """Memory footprint, fit and speed of MODEL (catalog id, Hub repo, config.json or .gguf) on hardware."""
    from advisor.catalog.loader import require_quant
    from advisor.catalog.planning import planning_defaults
    from advisor.engine.fit_questions import (
        best_quant_that_fits,
        longest_context_that_fits,
        smallest_hardware_for_speed,
    )
    from advisor.engine.model_source import resolve_model
    from advisor.engine.sizing import Machine, size_spec

    check_engine_options(engine, tp, pp, concurrency, hardware, input_tokens, output_tokens)
    prompt, output = input_tokens or SERVING_PROMPT, output_tokens or SERVING_OUTPUT
    catalog = options.session().catalog
    spec = resolve_model(model, catalog, offline=offline)
    defaults = planning_defaults().quants
    quant_ids = list(quants) or (
        [spec.gguf.file_type]
        if spec.gguf and spec.gguf.file_type
        else list(defaults.serve if engine in ENGINES else defaults.fit)
    )
    quant_records = [require_quant(catalog, quant_id) for quant_id in quant_ids]
    machines: list[tuple[str | None, Machine]] = [parse_hardware(h, catalog, ram_gb) for h in hardware]
    if not machines:
        machines = [(None, Machine(None, None, 0, None))]
    rows = []
    for label, machine in machines:
        for quant in quant_records:
            sizing = size_spec(
                spec, quant, machine, context, kv_cache_type, kv_offload=not no_kv_offload, gpu_layers=gpu_layers
            )
            longest = (
                longest_context_that_fits(spec, catalog, machine, quant.id, kv_cache_type)
                if max_context and label is not None
                else None
            )
            rows.append(row(sizing, label, spec.params, longest))
            if engine is not None and label is not None:
                rows[-1]["serving"] = serving_row(
                    spec, sizing, machine, engine, tp, pp, concurrency or 1, prompt, output, label, not no_calibration
                )
    result: dict[str, Any] = {
        "model": spec.id,
        "params": spec.params,
        "active_params": spec.active_params,
        "context": context,
        "origin": spec.origin,
        "rows": rows,
    }
    if best_quant:
        result["best_quant"] = {}
        for label, machine in machines:
            if label is None:
                continue
            best = best_quant_that_fits(spec, catalog, machine, context, kv_cache_type)
            result["best_quant"][label] = best.quant.id if best else None
    if min_tokens_per_s is not None:
        hardware_options = smallest_hardware_for_speed(spec, catalog, quant_records[0].id, context, min_tokens_per_s)
        result["hardware_for_speed"] = [
            {
                "hardware": o.hardware,
                "count": o.count,
                "quant": o.sizing.quant.id,
                "decode_tokens_per_s": round(o.sizing.fit.decode_tokens_per_s or 0, 1),
                "usd_per_hour": o.usd_per_hour,
            }
            for o in hardware_options
        ]
    result["assumptions"] = [
        "weights: " + ", ".join(sorted({r["weights_method"] for r in rows})),
        "compute buffer with flash attention and ubatch 512 (largest of logits, FFN, attention), plus the backend"
        " reserve (estimate)",
        "KV cache: llama.cpp's allocation for one sequence (context padded to 256 cells; sliding-window layers"
        " hold pad(window + ubatch, 256)); MLA latent for DeepSeek-style models (current GGUF conversion)",
        "decode = 1 / (fixed + per-layer (+ MoE) overhead + bytes read per token / (efficiency x bandwidth)),"
        " fitted per device class on published llama.cpp runs, for current builds; band = p10/p90 of the"
        " leave-one-source-out error",
    ]
    if engine in ENGINES:
        result["assumptions"].append(
            f"serving on {engine}: continuous batching at --concurrency requests of {prompt} prompt and "
            f"{output} output tokens, the capacity model of docs/serving.md (estimate; its accuracy band "
            "is there); the checkpoint is the model as shipped, the publisher's build of the quant's server format, "
            "the engine's online FP8 (8-bit) or the BF16 repository (4-bit without a publisher build)"
        )
    if fmt == "json":
        click.echo(json.dumps(result, indent=2))
        return
    click.echo(
        f"{spec.id}: {spec.params / 1e9:.2f}B parameters ({spec.active_params / 1e9:.2f}B active), "
        f"context {context}, KV cache {kv_cache_type}"
    )
    table = [
        {
            **r,
            "weights_gb": f"{r['weights_bytes'] / 1e9:.2f}",
            "kv_gb": f"{r['kv_cache_bytes'] / 1e9:.2f}",
            "total_gb": f"{r['total_bytes'] / 1e9:.2f}",
            "exact": "exact" if r["weights_exact"] else "est.",
            "tok_s": r["decode_tokens_per_s"],
            "band": _band(r),
        }
        for r in rows
    ]
    columns = [
        "quant",
        "hardware",
        "bits_per_weight",
        "weights_gb",
        "exact",
        "kv_gb",
        "total_gb",
        "fits",
        "gpu_layers",
        "tok_s",
        "band",
    ]
    if max_context:
        columns.append("max_context")
    print_table(table, columns)
    for r in rows:
        for note in r["notes"]:
            click.echo(f"  {r['quant']} on {r['hardware']}: {note}")
        if r["outside_fitted_data"]:
            reasons = "; ".join(r["outside_fitted_data"])
            click.echo(f"  {r['quant']} on {r['hardware']}: speed outside the data the model was fitted on: {reasons}")
    for r in rows:
        sv = r.get("serving")
        if sv is not None and sv.get("output_tokens_per_s") is not None:
            click.echo(
                f"  {r['quant']} on {r['hardware']} with {sv['engine']} ({sv['checkpoint_format']} "
                f"{sv['checkpoint']}) TP={sv['tensor_parallel']} "
                f"PP={sv['pipeline_parallel']} at {sv['concurrency']} streams of {sv['input_tokens']}+"
                f"{sv['output_tokens']} tokens: {sv['output_tokens_per_s']:g} tok/s total, "
                f"{sv['per_stream_tokens_per_s']:g} per stream, TTFT {sv['ttft_s']:g} s (estimate)"
            )
            cal = sv.get("calibration")
            if cal and cal["applied"]:
                click.echo(
                    f"    x{cal['throughput_ratio']:g} of the model's {cal['uncalibrated_output_tokens_per_s']:g} "
                    f"tok/s: {cal['basis']}"
                )
                for note in cal["notes"]:
                    click.echo(f"    note: {note}")
            elif cal:
                click.echo(f"    not calibrated: {cal['note']}")
        elif sv is not None:
            click.echo(f"  {r['quant']} on {r['hardware']} with {sv['engine']}: {sv['note']}")
    for label, quant_id in result.get("best_quant", {}).items():
        click.echo(f"best quant that fits {label} at {context} tokens: {quant_id or 'none'}")
    for option in result.get("hardware_for_speed", []):
        price = f"${option['usd_per_hour']:.2f}/h" if option["usd_per_hour"] is not None else "no rental price"
        click.echo(
            f"runs at >= {min_tokens_per_s:g} tok/s on {option['count']}x {option['hardware']}: "
            f"{option['decode_tokens_per_s']} tok/s, {price}"
        )
    for line in result["assumptions"]:
        click.echo(f"estimate: {line}")

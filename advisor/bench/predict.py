"""The planner's capacity estimate for the benchmarked model on its hardware (an estimate).

Two kinds, one interface (:class:`BenchPrediction`: the fields a run gets, and the report's ``predicted``):

* :class:`Prediction` (llama.cpp, the default): the single-stream decode speed ``advisor plan`` and
  ``advisor fit`` give the variant (:func:`advisor.engine.sizing.size_candidate`); concurrent streams batch by
  the planner's stated assumption (:func:`advisor.estimate.speed.batched_throughput_tokens_per_s`, catalog
  estimator_constants.yaml ``batching``). Servers that do not batch (llama-cpp-python's server answers one
  request at a time) fall short of it at concurrency above one; docs/bench.md says so.
* :class:`ServingPrediction` (``--engine vllm|sglang``): the continuous-batching capacity model of
  ``advisor fit --engine`` (:mod:`advisor.engine.serving_setup`, docs/serving.md) for the same checkpoint and
  TP x PP, at each level's concurrency and measured request shape, **uncalibrated**: the levels it is compared
  with are what calibrates it (:mod:`advisor.bench.calibration`).

The model is a catalog id (the endpoint's id matches one exactly, case aside, or by its name after the
owner); the hardware a catalog id with a count (``2xa100-80gb``) or the answers' hardware.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from advisor.catalog.loader import Catalog
from advisor.catalog.planning import planning_defaults
from advisor.catalog.records import HardwareRecord, ModelRecord
from advisor.engine.model_source import resolve_model
from advisor.engine.serving_setup import ServingSetup, serving_setup
from advisor.engine.sizing import machine_for, size_candidate
from advisor.engine.variants import machine_from_requirements, open_candidate
from advisor.errors import InputError
from advisor.estimate.constants import estimator_constants
from advisor.estimate.serving import ServingCapacity
from advisor.estimate.speed import batched_throughput_tokens_per_s
from advisor.model.hardware_spec import HardwareSpec, HardwareSpecError, parse_hardware_spec
from advisor.model.requirements import Requirements


class BenchPrediction(Protocol):
    """What the bench report asks of a prediction."""

    def run_fields(self, concurrency: int, prompt_tokens: int, output_tokens: int) -> dict[str, Any]:
        """The ``predicted_*`` fields of one level."""
        ...

    def as_dict(
        self, concurrency: int, measured: float | None, prompt_tokens: int, output_tokens: int
    ) -> dict[str, Any]:
        """The report's ``predicted`` object, at the sweep's highest concurrency."""
        ...


@dataclass(frozen=True)
class Prediction:
    """Single-stream decode speed of a model variant on its hardware, as the planner sizes it."""

    model: str
    hardware: str
    hardware_count: int
    quant: str
    single_stream_tokens_per_s: float
    context: int

    def output_tokens_per_s(self, concurrency: int) -> float:
        """Aggregate output tokens/s at ``concurrency`` streams (the planner's batching assumption)."""
        batching = estimator_constants().batching
        return batched_throughput_tokens_per_s(
            self.single_stream_tokens_per_s, concurrency, batching.max_streams, batching.per_stream_share
        )

    def run_fields(self, concurrency: int, prompt_tokens: int, output_tokens: int) -> dict[str, Any]:
        return {"predicted_output_tokens_per_s": round(self.output_tokens_per_s(concurrency), 1)}

    def as_dict(
        self, concurrency: int, measured: float | None, prompt_tokens: int, output_tokens: int
    ) -> dict[str, Any]:
        """The report's ``predicted`` object, at the sweep's highest concurrency."""
        predicted = self.output_tokens_per_s(concurrency)
        batching = estimator_constants().batching
        return {
            "output_tokens_per_s": round(predicted, 1),
            "concurrency": concurrency,
            "single_stream_tokens_per_s": round(self.single_stream_tokens_per_s, 1),
            "error": round(measured / predicted - 1, 3) if measured and predicted else None,
            "model": self.model,
            "hardware": self.hardware if self.hardware_count == 1 else f"{self.hardware_count}x{self.hardware}",
            "quant": self.quant,
            "context": self.context,
            "basis": (
                f"estimate: single-stream decode from the planner's sizing of {self.model} {self.quant} on "
                f"{self.hardware_count}x {self.hardware} at {self.context} tokens of context; concurrent streams "
                f"batch as min(streams, {batching.max_streams}) x {batching.per_stream_share:g} of it"
            ),
        }


def find_model(catalog: Catalog, model_id: str) -> ModelRecord | None:
    """The catalog model an endpoint's id names: the id itself, case aside, or its name after the owner
    (``gemma-3-270m-it`` for ``google/gemma-3-270m-it``) when exactly one model has that name."""
    wanted = model_id.strip().lower()
    by_id = {key.lower(): record for key, record in catalog.models.items()}
    if wanted in by_id:
        return by_id[wanted]
    name = wanted.rsplit("/", 1)[-1]
    named = [record for key, record in by_id.items() if key.rsplit("/", 1)[-1] == name]
    return named[0] if len(named) == 1 else None


def predict(
    catalog: Catalog,
    record: ModelRecord,
    hardware: str,
    count: int,
    host_ram_gib: float | None,
    quant: str,
    context: int,
) -> Prediction | None:
    """Size the variant as the plan does; None when it cannot be sized, does not fit or has no speed."""
    candidate = open_candidate(record, quant=quant, hardware=hardware, hardware_count=count, host_ram_gib=host_ram_gib)
    sizing = size_candidate(candidate, catalog, context)
    if sizing is None or sizing.fit.fits == "no" or not sizing.fit.decode_tokens_per_s:
        return None
    return Prediction(record.id, hardware, count, quant, sizing.fit.decode_tokens_per_s, context)


def default_quant() -> str:
    """The first weight format the plan assesses (catalog/planning.yaml)."""
    return planning_defaults().quants.plan[0]


def _model_and_hardware(catalog: Catalog, spec: str) -> tuple[ModelRecord, HardwareRecord, int]:
    """``MODEL@HARDWARE`` -> the catalog model, the catalog device and its count (InputError otherwise)."""
    model_id, at, hardware_text = spec.rpartition("@")
    if not at or not model_id or not hardware_text:
        raise InputError(f"--predict {spec}: expected MODEL@HARDWARE, e.g. google/gemma-3-270m-it@cpu-ddr5-dual")
    record = find_model(catalog, model_id)
    if record is None:
        raise InputError(f"--predict {spec}: {model_id} is not a catalog model (see `advisor catalog models`)")
    try:
        parsed = parse_hardware_spec(hardware_text)
    except HardwareSpecError as exc:
        raise InputError(f"--predict {spec}: {exc}") from None
    device = catalog.find_hardware(parsed.id)
    if device is None:
        raise InputError(f"--predict {spec}: {parsed.id} is not a hardware id (see `advisor catalog hardware`)")
    return record, device, parsed.quantity


def predict_from_spec(catalog: Catalog, spec: str, quant: str, context: int) -> Prediction | None:
    """``--predict MODEL@HARDWARE``: a catalog model on catalog hardware (with an optional count)."""
    record, device, count = _model_and_hardware(catalog, spec)
    return predict(catalog, record, device.id, count, None, quant, context)


def predict_from_answers(catalog: Catalog, requirements: Requirements, model_id: str, quant: str) -> Prediction | None:
    """The endpoint's model on the answers' own hardware; None for "cloud" or a model not in the catalog."""
    record = find_model(catalog, model_id)
    machine = machine_from_requirements(requirements, catalog)
    if record is None or machine is None or machine.accelerator is None:
        return None
    return predict(
        catalog, record, machine.accelerator, machine.count, machine.host_ram_gib, quant, requirements.context_tokens
    )


@dataclass(frozen=True)
class ServingPrediction:
    """The serving model's uncalibrated capacity for one vLLM/SGLang deployment, level by level. ``calibrates``
    false: the endpoint serves another catalog model than the one predicted, so the stored sweep is kept but
    never calibrates ``advisor fit``."""

    setup: ServingSetup
    calibrates: bool = True

    def capacity(self, concurrency: int, prompt_tokens: int, output_tokens: int) -> ServingCapacity | None:
        try:
            return self.setup.capacity(prompt_tokens, output_tokens, concurrency)
        except ValueError:
            return None

    def run_fields(self, concurrency: int, prompt_tokens: int, output_tokens: int) -> dict[str, Any]:
        cap = self.capacity(concurrency, prompt_tokens, output_tokens)
        shape = {"predicted_for": {"input_tokens": prompt_tokens, "output_tokens": output_tokens}}
        if cap is None:
            return {"predicted_output_tokens_per_s": None, "predicted_ttft_s": None, "predicted_tpot_ms": None} | shape
        return {
            "predicted_output_tokens_per_s": round(cap.output_tokens_per_s, 1),
            "predicted_ttft_s": round(cap.ttft_s, 4),
            "predicted_tpot_ms": round(cap.tpot_s * 1000.0, 3),
        } | shape

    def as_dict(
        self, concurrency: int, measured: float | None, prompt_tokens: int, output_tokens: int
    ) -> dict[str, Any]:
        s, cap = self.setup, self.capacity(concurrency, prompt_tokens, output_tokens)
        predicted = cap.output_tokens_per_s if cap is not None else None
        t = s.topology
        return {
            "output_tokens_per_s": round(predicted, 1) if predicted else None,
            "concurrency": concurrency,
            "ttft_s": round(cap.ttft_s, 4) if cap is not None else None,
            "per_stream_tokens_per_s": round(cap.per_stream_tokens_per_s, 1) if cap is not None else None,
            "error": round(measured / predicted - 1, 3) if measured and predicted else None,
            "model": s.model,
            "hardware": s.hardware,
            "device": s.device.id,
            "engine": s.engine,
            "tensor_parallel": t.tensor_parallel,
            "pipeline_parallel": t.pipeline_parallel,
            "checkpoint": s.checkpoint.repo,
            "checkpoint_format": s.checkpoint.format,
            "quantization": s.checkpoint.online_quantization,
            "calibrates": self.calibrates,
            "input_tokens": prompt_tokens,
            "output_tokens": output_tokens,
            "basis": (
                f"estimate: the serving model of docs/serving.md (uncalibrated) for {s.engine} on {s.hardware}, "
                f"{s.checkpoint.repo} ({s.checkpoint.format}), TP{t.tensor_parallel} x PP{t.pipeline_parallel}, "
                f"a closed loop of {concurrency} streams of {prompt_tokens}+{output_tokens} tokens (the level's "
                "measured means); a stored sweep calibrates `advisor fit --engine` for this replica"
            ),
        }


def serving_prediction(
    catalog: Catalog, record: ModelRecord, device: HardwareRecord, count: int, engine: str,
    tp: int | None, pp: int | None, quant: str,
) -> ServingPrediction:  # fmt: skip
    """The deployment ``advisor fit MODEL --hardware NxDEVICE --engine E --quant Q [--tp --pp]`` sizes."""
    spec = resolve_model(record.id, catalog)
    label = HardwareSpec(device.id, count).compact
    machine = machine_for(device, count, None)
    return ServingPrediction(serving_setup(spec, quant, machine, label, engine, tp, pp))


def serving_from_spec(
    catalog: Catalog, spec: str, engine: str, tp: int | None, pp: int | None, quant: str
) -> ServingPrediction:
    """``--predict MODEL@HARDWARE --engine vllm|sglang``."""
    record, device, count = _model_and_hardware(catalog, spec)
    return serving_prediction(catalog, record, device, count, engine, tp, pp, quant)


def serving_from_answers(
    catalog: Catalog, requirements: Requirements, model_id: str, engine: str, tp: int | None, pp: int | None,
    quant: str,
) -> ServingPrediction | None:  # fmt: skip
    """The endpoint's model on the answers' GPUs; None for "cloud", no GPU, or a model not in the catalog."""
    record = find_model(catalog, model_id)
    machine = machine_from_requirements(requirements, catalog)
    if record is None or machine is None or machine.accelerator is None:
        return None
    device = catalog.find_hardware(machine.accelerator)
    if device is None or device.kind != "gpu":
        return None
    return serving_prediction(catalog, record, device, machine.count, engine, tp, pp, quant)

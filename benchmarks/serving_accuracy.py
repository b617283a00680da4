"""Accuracy of the serving capacity model (advisor/estimate/serving.py) against published vLLM/SGLang runs.

Run: ``python benchmarks/serving_accuracy.py`` (``--json`` for machine-readable output; ``--data DIR``,
repeatable, to also read another directory's measurements; ``--quick`` to skip the held-out folds).

Data: ``serving_measurements*.csv`` (one row per published measurement, URL and date per row; one file
per contributor) and the model shapes in ``serving_models*.yaml``, from benchmarks/data/ and every
``--data`` directory. Duplicates across directories: a model key defined again with the same shape is
accepted; with a different shape the later file (the ``--data`` one) overrides and the harness says so. A
measurement row (same source, engine, model, GPU, TP, PP, lengths, concurrency, metric) read twice is
kept once (the later value wins when they differ, with a note). GPUs missing from catalog/hardware.yaml
are read from ``DIR/../../catalog/hardware.yaml`` of a ``--data`` directory when it has one (ours win).
Rows whose model or GPU is still unknown are skipped and counted. A row whose notes say
``--enforce-eager`` (or ``--disable-cuda-graph``) is predicted without CUDA graphs; one whose notes state
``max-num-seqs N`` is capped at N running sequences, the others at the engine's default on that GPU.

The fitted constants (bandwidth and compute shares, per-step, per-layer, per-MoE-layer and per-MLA-layer
costs) are found by coordinate descent over fixed grids, minimising a robust loss (Tukey's biweight, scale 0.5)
of the log error of throughput with every source weighted equally (a source of 24 rows must not outvote
one of 2; a source far off stops pulling once its rows are outliers). The per-request
TTFT cost is then fitted on the TTFT rows alone. The other constants (links, all-reduce latencies, the
MoE tile, the eager launch cost) are documented ones from catalog/serving_model.yaml, never fitted.

Figures reported (throughput, and TTFT/TPOT where published):

- **catalog constants**: what the product (``advisor fit``, ``advisor plan``) computes today on these rows;
- **in-sample**: constants fitted on every row, evaluated on the same rows (what the catalog should hold);
- **leave-one-source-out** (LOSO): for each source, fitted on the others, evaluated on it;
- **leave-one-publisher-out**: the same, a publisher (GitHub owner or web host) at a time: the pages of one
  publisher share a harness, so this is the stricter out-of-sample figure;
- **leave-one-device-class-out**: NVIDIA datacenter / AMD / consumer-workstation, each held out in turn;
- **leave-one-model-family-out**: DeepSeek / Qwen / Llama / gpt-oss ..., each held out in turn;
- **new rows**: fitted on the design rows (benchmarks/data/ of this branch) only, evaluated on the rows
  that only the ``--data`` directories hold: data never seen while the model was designed.

One set of constants serves both engines (the data does not support separate ones); the error is also
reported per engine. Pure reading and arithmetic.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import re
import statistics
import sys
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from advisor.catalog.loader import builtin_catalog_path, read_catalog_file
from advisor.catalog.records import ArchitectureConfig, HardwareRecord
from advisor.estimate.serving import (
    EngineEfficiency,
    ServedModel,
    ServingGpu,
    Topology,
    Workload,
    benchmark_capacity,
    decode_step,
    served_model_from_config,
    serving_constants,
)

DATA = Path(__file__).parent / "data"
BAND = 0.25

#: The fitted constants and the grid each one is searched over (physically plausible ranges).
GRIDS: dict[str, list[float]] = {
    "bandwidth_efficiency": [0.4, 0.5, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9],
    "compute_efficiency": [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8],
    "prefill_compute_efficiency": [0.05, 0.08, 0.12, 0.16, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7],
    "step_overhead_ms": [0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0],
    "layer_overhead_us": [0.0, 10.0, 20.0, 30.0, 40.0, 60.0, 80.0, 100.0],
    "moe_layer_overhead_us": [0.0, 20.0, 40.0, 60.0, 80.0, 100.0, 130.0, 160.0, 200.0, 250.0, 300.0],
    "mla_layer_overhead_us": [0.0, 20.0, 40.0, 60.0, 80.0, 100.0, 130.0, 160.0, 200.0, 250.0, 300.0],
    "rocm_efficiency": [0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0],
}
GRID_REQUEST_MS = [0.0, 5.0, 10.0, 20.0, 30.0, 40.0, 60.0, 80.0, 100.0, 130.0, 160.0]
SWEEPS = 6
#: Where the descent starts: mid-range values, so the fit does not depend on what the catalog holds today.
START = {
    "bandwidth_efficiency": 0.7,
    "compute_efficiency": 0.4,
    "prefill_compute_efficiency": 0.3,
    "step_overhead_ms": 1.0,
    "layer_overhead_us": 20.0,
    "moe_layer_overhead_us": 60.0,
    "mla_layer_overhead_us": 60.0,
    "rocm_efficiency": 1.0,
}


# ----------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class ModelShape:
    model: ServedModel
    precision: str
    family: str


def _family(name: str, entry: dict[str, Any]) -> str:
    """The model family: the entry's ``family`` or the key's first word without its version digits."""
    if entry.get("family"):
        return str(entry["family"]).lower()
    head = name.lower().split("-")[0]
    return head.rstrip("0123456789.") or head


def _served_model(name: str, entry: dict[str, Any], base: Path) -> ModelShape:
    """One ``serving_models*.yaml`` entry as the model the serving maths takes, its precision and family."""
    where = f"{base.name}/serving_models*.yaml: {name}"
    try:
        if "config" in entry:
            config = json.loads((base / "configs" / str(entry["config"])).read_text(encoding="utf-8"))
            arch = ArchitectureConfig.model_validate(config)
            model = served_model_from_config(
                arch,
                params=float(entry["params"]),
                active_params=float(entry["active_params"]),
                bytes_per_param=float(entry["bytes_per_param"]),
            )
        else:
            split = bool(entry.get("kv_split_by_tp", True))
            model = ServedModel(
                float(entry["params"]),
                float(entry["active_params"]),
                float(entry["weight_bytes"]),
                int(entry["layers"]),
                int(entry["hidden"]),
                float(entry["kv_bytes_per_token"]),
                int(entry.get("experts", 0)),
                int(entry.get("experts_per_token", 0)),
                kv_split_by_tp=split,
                mla=bool(entry["mla"]) if "mla" in entry else None,
            )
        model = replace(model, mla=model.is_mla)  # explicit, so equal shapes compare equal
    except (KeyError, TypeError, ValueError, OSError) as exc:
        raise SystemExit(f"{where}: {exc}") from None
    precision = str(entry.get("precision"))
    if precision not in ("fp8", "bf16"):
        raise SystemExit(f"{where}.precision must be fp8 or bf16, got {precision!r}")
    return ModelShape(model, precision, _family(name, entry))


def read_models(dirs: Iterable[Path], notes: list[str]) -> dict[str, ModelShape]:
    """Every model shape of ``serving_models*.yaml`` in ``dirs``; a later differing duplicate overrides."""
    models: dict[str, ModelShape] = {}
    for base in dirs:
        for path in sorted(base.glob("serving_models*.yaml")):
            loaded = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
            if not isinstance(loaded, dict):
                raise SystemExit(f"{path}: expected a mapping of model name to shape")
            for name, entry in loaded.items():
                if not isinstance(entry, dict):
                    raise SystemExit(f"{path}: {name}: expected a mapping")
                shape = _served_model(str(name), entry, base)
                if name in models and models[name] != shape:
                    notes.append(f"model {name!r}: {path} overrides an earlier, different shape")
                models[str(name)] = shape
    return models


@dataclass(frozen=True)
class Row:
    source: str
    engine: str
    model: str
    gpu: str
    tp: int
    pp: int
    prompt: int
    output: int
    concurrency: int
    metric: str
    measured: float
    ttft_s: float | None
    tpot_s: float | None
    eager: bool
    max_num_seqs: int | None = None
    new: bool = False
    publisher: str = ""
    mode: str = "closed"
    prefill_token_budget: int | None = None

    @property
    def key(self) -> tuple[object, ...]:
        return (self.source, self.engine, self.model, self.gpu, self.tp, self.pp, self.prompt, self.output,
                self.concurrency, self.metric)  # fmt: skip


def _optional_ms(value: str | None) -> float | None:
    return float(value) / 1000 if value not in (None, "") else None


def _stated_max_num_seqs(notes: str) -> int | None:
    """``max-num-seqs N`` (or ``max_num_seqs N``) when a row's notes state the engine's cap."""
    found = re.search(r"max[-_]num[-_]seqs[ =]*(\d+)", notes)
    return int(found.group(1)) if found else None


def _stated_prefill_budget(notes: str) -> int | None:
    """``--max-num-batched-tokens N`` / ``--chunked-prefill-size N`` when a row's notes state the token budget."""
    found = re.search(r"(?:max[-_]num[-_]batched[-_]tokens|chunked[-_]prefill[-_]size)[ =]*(\d+)", notes)
    return int(found.group(1)) if found else None


def benchmark_mode(notes: str) -> str:
    """How a row's benchmark loaded the engine (:data:`advisor.estimate.serving.BENCHMARK_MODES`), from its notes.

    ``offline``: ``benchmark_latency`` or an offline batch; ``burst``: prompts fired at request rate inf (or
    "at once") with no ``--max-concurrency`` cap, so the concurrency is the prompt count; else ``closed``.
    """
    n = notes.lower()
    if re.search(r"benchmark_latency|\boffline\b", n):
        return "offline"
    fired = re.search(r"(request[- ]rate|qps)[ =]*inf|at once", n)
    capped = re.search(r"(?<!no )--max-concurrency\b|max concurrency \d", n)
    return "burst" if fired and not capped else "closed"


def publisher(url: str) -> str:
    """Who published a row: the GitHub owner for github.com pages, else the host without ``www.``.

    Several sources are pages of one publisher (17 GPUStack performance-lab pages, 14 ML.ENERGY files, 9 SGLang
    cookbook pages): one harness, one team, one set of habits. Holding out one page while its siblings stay in
    the fit flatters the figure, so the honest out-of-sample split holds out a publisher at a time.
    """
    parts = urlsplit(url)
    host = parts.netloc.lower().removeprefix("www.")
    if host == "github.com":
        owner = parts.path.strip("/").split("/")[0]
        return f"github.com/{owner.lower()}"
    return host


def read_rows_of(base: Path) -> list[Row]:
    """The measurement rows of every ``serving_measurements*.csv`` in ``base``."""
    rows: list[Row] = []
    for path in sorted(base.glob("serving_measurements*.csv")):
        with path.open(encoding="utf-8") as fh:
            for n, r in enumerate(csv.DictReader(fh), start=2):
                try:
                    notes = (r.get("notes") or "").lower()
                    rows.append(
                        Row(
                            r["source_id"],
                            r["engine"].lower(),
                            r["model"],
                            r["gpu"],
                            int(r["tp"]),
                            int(r["pp"] or 1),
                            int(r["prompt_tokens"]),
                            int(r["output_tokens"]),
                            int(r["concurrency"]),
                            r["metric"],
                            float(r["output_tokens_per_s"]),
                            _optional_ms(r.get("ttft_ms")),
                            _optional_ms(r.get("tpot_ms")),
                            "enforce-eager" in notes or "disable-cuda-graph" in notes,
                            _stated_max_num_seqs(notes),
                            publisher=publisher(r.get("url") or r["source_id"]),
                            mode=benchmark_mode(notes),
                            prefill_token_budget=_stated_prefill_budget(notes),
                        )
                    )
                except (KeyError, TypeError, ValueError) as exc:
                    raise SystemExit(f"{path}:{n}: {exc}") from None
    return rows


def read_rows(extra: Iterable[Path], notes: list[str]) -> list[Row]:
    """Design rows (benchmarks/data/) then the ``--data`` rows; a row read twice is kept once."""
    design = read_rows_of(DATA)
    design_keys = {r.key for r in design}
    merged: dict[tuple[object, ...], Row] = {r.key: r for r in design}
    for base in extra:
        for r in read_rows_of(base):
            r = replace(r, new=r.key not in design_keys)
            if r.key in merged and merged[r.key].measured != r.measured:
                notes.append(f"row {r.key}: {base} overrides {merged[r.key].measured} with {r.measured}")
            merged[r.key] = replace(r, new=merged[r.key].new if r.key in merged else r.new)
    return list(merged.values())


def hardware(extra: Iterable[Path]) -> dict[str, HardwareRecord]:
    """catalog/hardware.yaml, plus devices only the ``--data`` directories' catalogs list (read, not copied)."""
    records = read_catalog_file(builtin_catalog_path("hardware"), "hardware")["hardware"]
    found = {r.id: r for r in records if isinstance(r, HardwareRecord)}
    for base in extra:
        path = base.parent.parent / "catalog" / "hardware.yaml"
        if path.is_file():
            for r in read_catalog_file(path, "hardware")["hardware"]:
                if isinstance(r, HardwareRecord) and r.id not in found:
                    found[r.id] = r
    return found


def device_class(device: HardwareRecord) -> str:
    """NVIDIA datacenter / AMD / consumer-workstation: the classes held out in turn."""
    if device.backend == "rocm" or device.vendor.lower() == "amd":
        return "amd"
    name = device.name.lower()
    if "rtx" in name or "geforce" in name:
        return "consumer-workstation"
    return "nvidia-datacenter"


# ----------------------------------------------------------------------------- predicting


@dataclass(frozen=True)
class Case:
    """One row ready to predict: the measured numbers and the serving inputs."""

    row: Row
    model: ServedModel
    gpu: ServingGpu
    topology: Topology
    load: Workload
    device_class: str
    family: str
    max_num_seqs: int
    prefill_token_budget: int


#: A row whose aggregate output tokens/s exceeds ``concurrency / TPOT`` by more than this factor contradicts
#: its own numbers (no stream can emit faster than 1 / TPOT); read-off and averaging slack stays well below it.
CONSISTENCY_FACTOR = 1.5


def self_consistent(row: Row) -> bool:
    """False when the published throughput is impossible for the published concurrency and TPOT."""
    if row.metric != "output" or not row.tpot_s:
        return True
    return row.measured <= CONSISTENCY_FACTOR * row.concurrency / row.tpot_s


def cases(
    rows: list[Row], models: dict[str, ModelShape], hw: dict[str, HardwareRecord], notes: list[str]
) -> list[Case]:
    out: list[Case] = []
    skipped: dict[str, int] = defaultdict(int)
    for r in rows:
        if r.model not in models:
            skipped[f"model {r.model!r} has no shape"] += 1
            continue
        if not self_consistent(r):
            skipped["throughput above 1.5 x concurrency / TPOT (inconsistent with its own numbers)"] += 1
            continue
        if r.gpu not in hw:
            skipped[f"GPU {r.gpu!r} not in any hardware catalog"] += 1
            continue
        shape, device = models[r.model], hw[r.gpu]
        tflops = (device.fp8_tflops if shape.precision == "fp8" else device.bf16_tflops) or device.fp16_tflops or 0.0
        if tflops <= 0 or device.bandwidth_gb_s <= 0:
            skipped[f"GPU {r.gpu!r} has no TFLOPS or bandwidth"] += 1
            continue
        gpu = serving_constants().gpu(r.gpu, device.memory_gib, device.bandwidth_gb_s, tflops, device.backend)
        topology = Topology(r.tp, r.pp, 1, gpus_per_node=min(8, r.tp * r.pp) if r.pp > 1 else 8)
        defaults = serving_constants().engine(r.engine, r.gpu, device.memory_gib)
        seqs = defaults.max_num_seqs if r.max_num_seqs is None else r.max_num_seqs
        budget = r.prefill_token_budget or defaults.prefill_token_budget
        load = Workload(r.prompt, r.output, r.concurrency)
        out.append(Case(r, shape.model, gpu, topology, load, device_class(device), shape.family, seqs, budget))
    notes.extend(f"skipped {n} row(s): {why}" for why, n in sorted(skipped.items()))
    return out


@dataclass(frozen=True)
class Prediction:
    tokens_per_s: float
    ttft_s: float | None
    tpot_s: float | None


def case_engine(case: Case, engine: EngineEfficiency) -> EngineEfficiency:
    """The engine constants as the row ran them: eager or not, its max_num_seqs cap and prefill token budget."""
    return replace(
        engine,
        enforce_eager=case.row.eager,
        max_num_seqs=case.max_num_seqs,
        prefill_token_budget=case.prefill_token_budget,
    )


def predict(case: Case, engine: EngineEfficiency) -> Prediction:
    """Predicted output tokens/s (``decode`` rows: concurrency / TPOT, as published), TTFT and TPOT."""
    e = case_engine(case, engine)
    try:
        if case.row.metric == "decode":
            step = decode_step(case.model, case.gpu, case.topology, e, case.row.concurrency,
                               case.row.prompt + case.row.output / 2)  # fmt: skip
            cap = benchmark_capacity(case.model, case.gpu, case.topology, e, case.load, case.row.mode)
            return Prediction(case.row.concurrency / step.seconds, cap.ttft_s, step.seconds)
        cap = benchmark_capacity(case.model, case.gpu, case.topology, e, case.load, case.row.mode)
    except ValueError:
        return Prediction(1e-9, None, None)  # the model says it does not fit: a maximal error, not a crash
    return Prediction(cap.output_tokens_per_s, cap.ttft_s, cap.tpot_s)


def _log_errors(data: list[Case], engine: EngineEfficiency) -> list[float]:
    return [math.log(predict(c, engine).tokens_per_s / c.row.measured) for c in data]


def _weights(data: list[Case]) -> list[float]:
    per_source: dict[str, int] = defaultdict(int)
    for c in data:
        per_source[c.row.source] += 1
    return [1.0 / per_source[c.row.source] for c in data]


#: Scale of the Tukey biweight on the log error (0.5: a row off by more than x1.65 or /1.65 counts as an
#: outlier and stops pulling the fit). Measured against squared log error, Huber and Cauchy at log 1.25 and
#: Tukey at 0.35 / 0.8 on the leave-one-publisher-out split (docs/serving.md §2).
LOSS_SCALE = 0.5


def tukey_biweight(error: float, scale: float = LOSS_SCALE) -> float:
    """Tukey's biweight of a log error: ~``error^2`` near zero, flat ``scale^2 / 6`` beyond ``scale``.

    Why not squared error: the goal is the share of rows within ±25 %, and a few sources far off (an
    experimental harness, a different benchmark mode) should not drag the constants away from the rest.
    """
    if abs(error) >= scale:
        return scale * scale / 6.0
    u = 1.0 - (error / scale) ** 2
    return scale * scale / 6.0 * (1.0 - u**3)


def _loss(data: list[Case], engine: EngineEfficiency, weights: list[float]) -> float:
    return sum(w * tukey_biweight(e) for w, e in zip(weights, _log_errors(data, engine), strict=True)) / sum(weights)


def fit(data: list[Case], base: EngineEfficiency) -> EngineEfficiency:
    """Coordinate descent over :data:`GRIDS` (throughput), then the per-request TTFT cost on the TTFT rows."""
    weights = _weights(data)
    best = replace(base, **START)
    best_loss = _loss(data, best, weights)
    for _ in range(SWEEPS):
        improved = False
        for name, grid in GRIDS.items():
            for value in grid:
                trial = replace(best, **{name: value})
                loss = _loss(data, trial, weights)
                if loss < best_loss - 1e-12:
                    best, best_loss, improved = trial, loss, True
        if not improved:
            break
    timed = [c for c in data if c.row.ttft_s]
    if timed:

        def ttft_loss(ms: float) -> float:
            e = replace(best, request_overhead_ms=ms)
            return sum(math.log((predict(c, e).ttft_s or 1e-9) / (c.row.ttft_s or 1.0)) ** 2 for c in timed)

        best = replace(best, request_overhead_ms=min(GRID_REQUEST_MS, key=ttft_loss))
    return best


# ----------------------------------------------------------------------------- evaluating


@dataclass(frozen=True)
class Errors:
    tokens: list[float]
    ttft: list[float]
    tpot: list[float]

    def __add__(self, other: Errors) -> Errors:
        return Errors(self.tokens + other.tokens, self.ttft + other.ttft, self.tpot + other.tpot)


def errors(data: list[Case], engine: EngineEfficiency) -> Errors:
    tokens, ttft, tpot = [], [], []
    for c in data:
        p = predict(c, engine)
        tokens.append(p.tokens_per_s / c.row.measured - 1.0)
        if c.row.ttft_s and p.ttft_s:
            ttft.append(p.ttft_s / c.row.ttft_s - 1.0)
        if c.row.tpot_s and p.tpot_s:
            tpot.append(p.tpot_s / c.row.tpot_s - 1.0)
    return Errors(tokens, ttft, tpot)


def summary(errs: list[float]) -> dict[str, Any]:
    if not errs:
        return {"rows": 0}
    return {
        "rows": len(errs),
        "within_25pct": round(sum(abs(e) <= BAND for e in errs) / len(errs), 3),
        "median_abs_error": round(statistics.median(abs(e) for e in errs), 3),
        "median_signed_error": round(statistics.median(errs), 3),
    }


def summaries(e: Errors) -> dict[str, Any]:
    return {"throughput": summary(e.tokens), "ttft": summary(e.ttft), "tpot": summary(e.tpot)}


def held_out(data: list[Case], base: EngineEfficiency, group: Callable[[Case], str]) -> tuple[Errors, dict[str, Any]]:
    """Fit without each group, evaluate on it: the pooled errors and a per-group summary."""
    pooled = Errors([], [], [])
    per_group: dict[str, Any] = {}
    for name in sorted({group(c) for c in data}):
        train = [c for c in data if group(c) != name]
        test = [c for c in data if group(c) == name]
        if not train:
            continue
        e = errors(test, fit(train, base))
        pooled = pooled + e
        per_group[name] = summary(e.tokens)
    return pooled, per_group


FITTED = (*GRIDS, "request_overhead_ms")


def _constants(e: EngineEfficiency) -> dict[str, float]:
    return {name: getattr(e, name) for name in FITTED}


def evaluate(extra: list[Path], quick: bool = False) -> dict[str, Any]:
    notes: list[str] = []
    models = read_models([DATA, *extra], notes)
    rows = read_rows(extra, notes)
    data = cases(rows, models, hardware(extra), notes)
    base = serving_constants().engine("vllm")
    fitted = fit(data, base)
    in_sample = errors(data, fitted)
    result: dict[str, Any] = {
        "rows": len(data),
        "sources": len({c.row.source for c in data}),
        "notes": notes,
        "fitted": _constants(fitted),
        "catalog_constants": summaries(errors(data, base)),
        "in_sample": summaries(in_sample),
        "in_sample_per_engine": {
            eng: summary([err for c, err in zip(data, in_sample.tokens, strict=True) if c.row.engine == eng])
            for eng in sorted({c.row.engine for c in data})
        },
    }
    if not quick:
        for label, group in (
            ("leave_one_source_out", lambda c: c.row.source),
            ("leave_one_publisher_out", lambda c: c.row.publisher),
            ("leave_one_device_class_out", lambda c: c.device_class),
            ("leave_one_model_family_out", lambda c: c.family),
        ):
            pooled, per_group = held_out(data, base, group)
            result[label] = summaries(pooled)
            result[label + "_per_group"] = per_group
    new = [c for c in data if c.row.new]
    if new:
        design = [c for c in data if not c.row.new]
        from_design = fit(design, base)
        new_errors = errors(new, from_design)
        result["new_rows"] = {
            "rows": len(new),
            "sources": len({c.row.source for c in new}),
            "design_rows": len(design),
            "fitted_on_design_rows": _constants(from_design),
            **summaries(new_errors),
            "per_engine": {
                eng: summary([err for c, err in zip(new, new_errors.tokens, strict=True) if c.row.engine == eng])
                for eng in sorted({c.row.engine for c in new})
            },
        }
    result["rows_in_sample"] = [
        {"source": c.row.source, "engine": c.row.engine, "model": c.row.model, "gpu": c.row.gpu, "tp": c.row.tp,
         "pp": c.row.pp, "c": c.row.concurrency, "new": c.row.new, "error": round(err, 3)}
        for c, err in zip(data, in_sample.tokens, strict=True)
    ]  # fmt: skip
    return result


def add_data_option(parser: argparse.ArgumentParser, help: str) -> None:
    """``--data DIR`` (repeatable): more measurement directories, for this harness and the scripts built on it."""
    parser.add_argument("--data", action="append", default=[], metavar="DIR", type=Path, help=help)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--quick", action="store_true", help="in-sample and new rows only (no held-out folds)")
    add_data_option(parser, "also read serving_measurements*.csv / serving_models*.yaml from DIR (repeatable)")
    args = parser.parse_args(argv)
    extra = [d for d in args.data if d.resolve() != DATA.resolve()]
    for d in extra:
        if not d.is_dir():
            print(f"--data {d}: not a directory (skipped)", file=sys.stderr)
    result = evaluate([d for d in extra if d.is_dir()], quick=args.quick)
    if args.json:
        json.dump(result, sys.stdout, indent=2)
        print()
        return 0
    for note in result["notes"]:
        print(f"note: {note}")
    print(f"{result['rows']} rows from {result['sources']} sources")
    print(f"fitted (all rows): {result['fitted']}")
    labels = ("catalog_constants", "in_sample", "leave_one_source_out", "leave_one_publisher_out",
              "leave_one_device_class_out", "leave_one_model_family_out")  # fmt: skip
    for label in labels:
        if label in result:
            for metric, s in result[label].items():
                print(f"{label:28} {metric:10} {s}")
    for eng, s in result["in_sample_per_engine"].items():
        print(f"  in-sample {eng}: {s}")
    for label in ("leave_one_source_out", "leave_one_publisher_out", "leave_one_device_class_out",
                  "leave_one_model_family_out"):  # fmt: skip
        for name, s in result.get(label + "_per_group", {}).items():
            print(f"  {label} held out {name}: {s}")
    if "new_rows" in result:
        n = result["new_rows"]
        print(f"new rows ({n['rows']} from {n['sources']} sources never seen during design; fitted on the "
              f"{n['design_rows']} design rows): {n['fitted_on_design_rows']}")  # fmt: skip
        for metric in ("throughput", "ttft", "tpot"):
            print(f"  new rows {metric:10} {n[metric]}")
        for eng, s in n["per_engine"].items():
            print(f"  new rows {eng}: {s}")
    for r in result["rows_in_sample"]:
        flag = "*" if r["new"] else " "
        print(f"  {flag} {r['source']:18} {r['engine']:6} {r['model']:18} {r['gpu']:10} tp{r['tp']:<3} "
              f"pp{r['pp']} c={r['c']:<4} {r['error']:+.1%}")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

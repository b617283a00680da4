"""Accuracy of the serving capacity model (advisor/estimate/serving.py) against published vLLM/SGLang runs.

Run: ``python benchmarks/serving_accuracy.py`` (``--json`` for machine-readable output, ``--write`` to
print the YAML lines of the fitted constants for catalog/serving_model.yaml).

Data: benchmarks/data/serving_measurements*.csv (one row per published measurement, URL and date per
row; one file per contributor) and the model shapes in benchmarks/data/serving_models*.yaml. The
efficiency constants are fitted by a grid search minimising the mean squared log error of throughput.
Two figures are reported:

- **in-sample**: constants fitted on every row, evaluated on the same rows (what the catalog holds);
- **leave-one-source-out** (LOSO): for each source, constants fitted on the other sources only, then
  evaluated on the held-out source: the honest estimate of the error on a new publication.

TTFT is not fitted on; its error on the rows that publish one is reported the same two ways.

The data does not support separate vLLM and SGLang constants (each engine has 2-3 sources), so one
set is fitted for both and the per-engine error is reported. Pure reading and arithmetic.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import statistics
import sys
from collections import defaultdict
from dataclasses import dataclass, replace
from itertools import product
from pathlib import Path
from typing import Any

import yaml

from advisor.catalog.loader import builtin_catalog_path, read_catalog_file
from advisor.catalog.records import ArchitectureConfig, HardwareRecord
from advisor.estimate.serving import (
    EngineEfficiency,
    ServedModel,
    ServingGpu,
    Topology,
    Workload,
    decode_step,
    served_model_from_config,
    serving_capacity,
    serving_constants,
)

DATA = Path(__file__).parent / "data"
BAND = 0.25


def _served_model(name: str, entry: dict[str, Any]) -> tuple[ServedModel, str]:
    """One ``serving_models*.yaml`` entry as the model the serving maths takes, and its compute precision."""
    if "config" in entry:
        arch = ArchitectureConfig.model_validate(json.loads((DATA / "configs" / entry["config"]).read_text()))
        model = served_model_from_config(
            arch,
            params=float(entry["params"]),
            active_params=float(entry["active_params"]),
            bytes_per_param=float(entry["bytes_per_param"]),
        )
    else:
        model = ServedModel(
            float(entry["params"]),
            float(entry["active_params"]),
            float(entry["weight_bytes"]),
            int(entry["layers"]),
            int(entry["hidden"]),
            float(entry["kv_bytes_per_token"]),
            int(entry.get("experts", 0)),
            int(entry.get("experts_per_token", 0)),
            kv_split_by_tp=bool(entry.get("kv_split_by_tp", True)),
        )
    precision = str(entry["precision"])
    if precision not in ("fp8", "bf16"):
        raise SystemExit(f"serving_models: {name}.precision must be fp8 or bf16, got {precision!r}")
    return model, precision


def read_models() -> dict[str, tuple[ServedModel, str]]:
    """Every model shape of ``benchmarks/data/serving_models*.yaml`` (one file per contributor)."""
    models: dict[str, tuple[ServedModel, str]] = {}
    for path in sorted(DATA.glob("serving_models*.yaml")):
        for name, entry in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).items():
            if name in models:
                raise SystemExit(f"{path.name}: model {name!r} is defined twice")
            models[name] = _served_model(name, entry)
    return models


MODELS = read_models()


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


def read_rows() -> list[Row]:
    rows: list[Row] = []
    for path in sorted(DATA.glob("serving_measurements*.csv")):
        with path.open(encoding="utf-8") as fh:
            rows.extend(
                Row(
                    r["source_id"],
                    r["engine"],
                    r["model"],
                    r["gpu"],
                    int(r["tp"]),
                    int(r["pp"]),
                    int(r["prompt_tokens"]),
                    int(r["output_tokens"]),
                    int(r["concurrency"]),
                    r["metric"],
                    float(r["output_tokens_per_s"]),
                    float(r["ttft_ms"]) / 1000 if r["ttft_ms"] else None,
                )
                for r in csv.DictReader(fh)
            )
    return rows


def hardware() -> dict[str, HardwareRecord]:
    records = read_catalog_file(builtin_catalog_path("hardware"), "hardware")["hardware"]
    return {r.id: r for r in records if isinstance(r, HardwareRecord)}


@dataclass(frozen=True)
class Setup:
    model: ServedModel
    gpu: ServingGpu
    topology: Topology
    load: Workload


def _setup(row: Row, hw: dict[str, HardwareRecord]) -> Setup:
    model, precision = MODELS[row.model]
    device = hw[row.gpu]
    tflops = (device.fp8_tflops if precision == "fp8" else device.bf16_tflops) or device.fp16_tflops or 0.0
    gpu = serving_constants().gpu(row.gpu, device.memory_gib, device.bandwidth_gb_s, tflops)
    return Setup(
        model, gpu, Topology(row.tp, row.pp, 1, gpus_per_node=8), Workload(row.prompt, row.output, row.concurrency)
    )


def _ttft_errors(rows: list[Row], engine: EngineEfficiency, hw: dict[str, HardwareRecord]) -> list[float]:
    """Relative TTFT errors of the rows that publish a TTFT (not fitted on: a check of the queue model)."""
    errors = []
    for r in rows:
        if r.ttft_s:
            s = _setup(r, hw)
            errors.append(serving_capacity(s.model, s.gpu, s.topology, engine, s.load).ttft_s / r.ttft_s - 1.0)
    return errors


def predict(row: Row, engine: EngineEfficiency, hw: dict[str, HardwareRecord]) -> float:
    """Predicted output tokens/s of one row (``decode`` rows: concurrency / TPOT, as published)."""
    s = _setup(row, hw)
    model, gpu, topology, load = s.model, s.gpu, s.topology, s.load
    if row.metric == "decode":
        step = decode_step(model, gpu, topology, engine, row.concurrency, row.prompt + row.output / 2)
        return row.concurrency / step.seconds
    return serving_capacity(model, gpu, topology, engine, load).output_tokens_per_s


def _errors(rows: list[Row], engine: EngineEfficiency, hw: dict[str, HardwareRecord]) -> list[float]:
    return [predict(r, engine, hw) / r.measured - 1.0 for r in rows]


def _loss(errors: list[float]) -> float:
    return sum(math.log1p(e) ** 2 for e in errors) / len(errors)


GRID_BW = [round(0.30 + 0.05 * i, 2) for i in range(14)]  # 0.30 .. 0.95
GRID_COMPUTE = [0.2, 0.3, 0.4, 0.5, 0.6, 0.7]
GRID_OVERHEAD = [0.0, 2.0, 4.0]
GRID_LAYER_US = [0.0, 20.0, 40.0, 60.0, 80.0]
GRID_MOE_US = [0.0, 50.0, 100.0, 150.0, 200.0, 250.0]


def fit(rows: list[Row], base: EngineEfficiency, hw: dict[str, HardwareRecord]) -> EngineEfficiency:
    best: tuple[float, EngineEfficiency] | None = None
    for bw, comp, over, layer, moe in product(GRID_BW, GRID_COMPUTE, GRID_OVERHEAD, GRID_LAYER_US, GRID_MOE_US):
        e = replace(
            base,
            bandwidth_efficiency=bw,
            compute_efficiency=comp,
            step_overhead_ms=over,
            layer_overhead_us=layer,
            moe_layer_overhead_us=moe,
        )
        loss = _loss(_errors(rows, e, hw))
        if best is None or loss < best[0]:
            best = (loss, e)
    assert best is not None
    return best[1]


def _constants(e: EngineEfficiency) -> dict[str, float]:
    return {
        "bandwidth_efficiency": e.bandwidth_efficiency,
        "compute_efficiency": e.compute_efficiency,
        "step_overhead_ms": e.step_overhead_ms,
        "layer_overhead_us": e.layer_overhead_us,
        "moe_layer_overhead_us": e.moe_layer_overhead_us,
    }


def summary(errors: list[float]) -> dict[str, Any]:
    return {
        "rows": len(errors),
        "within_25pct": round(sum(abs(e) <= BAND for e in errors) / len(errors), 3),
        "median_abs_error": round(statistics.median(abs(e) for e in errors), 3),
        "median_signed_error": round(statistics.median(errors), 3),
    }


def evaluate() -> dict[str, Any]:
    rows = read_rows()
    hw = hardware()
    base = serving_constants().engine("vllm")
    fitted = fit(rows, base, hw)
    in_sample = _errors(rows, fitted, hw)
    by_source: dict[str, list[Row]] = defaultdict(list)
    for r in rows:
        by_source[r.source].append(r)
    loso: list[float] = []
    loso_ttft: list[float] = []
    per_source: dict[str, Any] = {}
    for source, held in by_source.items():
        train = [r for r in rows if r.source != source]
        e = fit(train, base, hw)
        errs = _errors(held, e, hw)
        loso.extend(errs)
        loso_ttft.extend(_ttft_errors(held, e, hw))
        per_source[source] = {
            **summary(errs),
            "fitted_without": _constants(e),
        }
    per_engine = {
        eng: summary([err for r, err in zip(rows, in_sample, strict=True) if r.engine == eng])
        for eng in sorted({r.engine for r in rows})
    }
    return {
        "sources": len(by_source),
        "fitted": _constants(fitted),
        "in_sample": summary(in_sample),
        "in_sample_per_engine": per_engine,
        "leave_one_source_out": summary(loso),
        "ttft_in_sample": summary(_ttft_errors(rows, fitted, hw)),
        "ttft_leave_one_source_out": summary(loso_ttft),
        "loso_per_source": per_source,
        "rows_in_sample": [
            {"source": r.source, "model": r.model, "gpu": r.gpu, "tp": r.tp, "c": r.concurrency, "error": round(err, 3)}
            for r, err in zip(rows, in_sample, strict=True)
        ],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    result = evaluate()
    if args.json:
        json.dump(result, sys.stdout, indent=2)
        print()
        return 0
    f = result["fitted"]
    print(f"{result['in_sample']['rows']} rows from {result['sources']} sources")
    print(f"fitted (all rows): {f}")
    print(f"in-sample:            {result['in_sample']}")
    print(f"leave-one-source-out: {result['leave_one_source_out']}")
    print(f"TTFT in-sample:       {result['ttft_in_sample']}")
    print(f"TTFT leave-one-out:   {result['ttft_leave_one_source_out']}")
    for eng, s in result["in_sample_per_engine"].items():
        print(f"  in-sample {eng}: {s}")
    for source, s in result["loso_per_source"].items():
        print(f"  held out {source}: {s}")
    for r in result["rows_in_sample"]:
        print(f"    {r['source']:16} {r['model']:16} {r['gpu']:10} tp{r['tp']:<3} c={r['c']:<4} {r['error']:+.1%}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

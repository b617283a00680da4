"""Accuracy of the serving capacity model (advisor/estimate/serving.py) against published vLLM/SGLang runs.

Run: ``python benchmarks/serving_accuracy.py`` (``--json`` for machine-readable output, ``--write`` to
print the YAML lines of the fitted constants for catalog/serving_model.yaml).

Data: benchmarks/data/serving_measurements.csv (one row per published measurement, URL and date per
row). The three efficiency constants (bandwidth share, compute share, per-step overhead) are fitted
by a grid search minimising the mean squared log error of throughput. Two figures are reported:

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

# Model shapes from each model's public config.json (Hugging Face, read 2026-12-05):
#   deepseek-ai/DeepSeek-R1 (= DeepSeek-V3 architecture): 671B total, 37B active, 61 layers, hidden 7168,
#     256 routed experts top-8, MLA cache kv_lora_rank 512 + qk_rope_head_dim 64 per layer (BF16 cache);
#     FP8 checkpoint ~1 byte/param; the AWQ build ~4.5 bits/param (assumption: 4-bit groups of 128 + scales).
#   openai/gpt-oss-120b: 116.8B total, 5.1B active, 36 layers, hidden 2880, 128 experts top-4, 8 KV heads x 64,
#     half the layers sliding-window 128 (so ~18 full layers of cache); MXFP4 checkpoint 60.8 GiB.
#   Qwen/Qwen3-30B-A3B: 30.5B total, 3.3B active, 48 layers, hidden 2048, 128 experts top-8, 4 KV heads x 128.
#   Qwen/Qwen3-14B-AWQ: 14.8B, 40 layers, hidden 5120, 8 KV heads x 128; checkpoint ~9.97 GB.
#   meta-llama/Llama-3.1-8B: benchmarks/data/configs/Llama-3-8B.json (same shapes), 8.03B params, BF16.
MODELS: dict[str, tuple[ServedModel, str]] = {
    "deepseek-r1-fp8": (
        ServedModel(671e9, 37e9, 671e9 * 1.0, 61, 7168, 61 * 576 * 2, 256, 8, kv_split_by_tp=False),
        "fp8",
    ),
    "deepseek-r1-awq": (
        ServedModel(671e9, 37e9, 671e9 * 4.5 / 8, 61, 7168, 61 * 576 * 2, 256, 8, kv_split_by_tp=False),
        "bf16",
    ),
    "gpt-oss-120b": (ServedModel(116.8e9, 5.1e9, 60.8 * 1024**3, 36, 2880, 18 * 8 * 64 * 2 * 2, 128, 4), "bf16"),
    "qwen3-30b-a3b": (ServedModel(30.5e9, 3.3e9, 30.5e9 * 2, 48, 2048, 48 * 4 * 128 * 2 * 2, 128, 8), "bf16"),
    "qwen3-14b-awq": (ServedModel(14.8e9, 14.8e9, 9.97e9, 40, 5120, 40 * 8 * 128 * 2 * 2), "bf16"),
}


def _llama_8b() -> ServedModel:
    arch = ArchitectureConfig.model_validate(json.loads((DATA / "configs" / "Llama-3-8B.json").read_text()))
    return served_model_from_config(arch, params=8.03e9, active_params=8.03e9, bytes_per_param=2.0)


MODELS["llama-3.1-8b"] = (_llama_8b(), "bf16")


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
    with (DATA / "serving_measurements.csv").open(encoding="utf-8") as fh:
        return [
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
        ]


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

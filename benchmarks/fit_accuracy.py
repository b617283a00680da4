"""Accuracy of the weights and speed estimators against published numbers.

Run: ``python benchmarks/fit_accuracy.py`` (add ``--json`` for machine-readable output).

Prints, in one run:
1. Weights vs the 99 published GGUF sizes of benchmarks/data/gguf_sizes.csv (copied to benchmarks/data):
   the per-tensor estimator with each row's quantizer era, the same with today's rules for every row
   (what a user gets without the era flag), and the flat bits-per-weight approach most tools use
   (parameters x catalog/quants.yaml ``bits_per_weight``).
2. Weights vs held-out published sizes of architectures the table never saw (gguf_sizes_heldout.csv).
3. Decode speed vs published llama.cpp measurements (llamacpp_decode.csv): share within +-20 %,
   per device class and per source, in-sample and leave-one-source-out; plus the single-constant
   baseline ``BW / size x 0.55`` (llmfit) for comparison.
4. The dequantization floor fit and the prefill constants behind catalog/speed_model.yaml.

Pure reading and arithmetic; nothing here is timed.
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import sys
from collections import defaultdict
from collections.abc import Callable, Iterable
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from advisor.catalog.loader import builtin_catalog_path, read_catalog_file
from advisor.catalog.records import ArchitectureConfig, HardwareRecord, ModelRecord, QuantRecord
from advisor.estimate.memory import kv_cache_read_bytes
from advisor.estimate.speed import (
    DecodeFit,
    DecodeObservation,
    decode_bytes_per_token,
    fit_decode_constants,
    fit_decode_model,
    layer_units,
    moe_overhead_ms,
    speed_model,
)
from advisor.estimate.tensors import architecture_from_config, count_parameters, n_experts
from advisor.estimate.weights import WeightsBreakdown, estimate_weights

DATA = Path(__file__).resolve().parent / "data"
GIB = 1024**3

#: gguf_sizes.csv ``era`` -> estimator era. Dec-2023 Mixtral files were made by the 2023 rules, whose
#: per-expert tensors matched no bump rule (catalog/quant_recipes.yaml ``eras``).
CSV_ERA = {"2023": "2023", "2023-12": "2023", "2024": "2024"}


# ----------------------------------------------------------------------------- loading


@lru_cache(maxsize=1)
def catalog_models() -> dict[str, ModelRecord]:
    records = read_catalog_file(builtin_catalog_path("models"), "models")["models"]
    return {r.id: r for r in records if isinstance(r, ModelRecord)}


@lru_cache(maxsize=1)
def catalog_hardware() -> dict[str, HardwareRecord]:
    records = read_catalog_file(builtin_catalog_path("hardware"), "hardware")["hardware"]
    return {r.id: r for r in records if isinstance(r, HardwareRecord)}


@lru_cache(maxsize=1)
def catalog_quants() -> dict[str, QuantRecord]:
    records = read_catalog_file(builtin_catalog_path("quants"), "quants")["quants"]
    return {r.id: r for r in records if isinstance(r, QuantRecord)}


@cache
def architecture(ref: str) -> ArchitectureConfig:
    """A config file in benchmarks/data/configs, or a catalog model id."""
    if ref.endswith(".json"):
        return architecture_from_config(json.loads((DATA / "configs" / ref).read_text("utf-8")))
    return catalog_models()[ref].architecture


def read_csv(name: str) -> list[dict[str, str]]:
    with (DATA / name).open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


# ----------------------------------------------------------------------------- statistics


def summary(errors: Iterable[float]) -> dict[str, float]:
    """n, median / p90 / max of |error| (as fractions) and the mean signed error."""
    values = list(errors)
    if not values:
        return {"n": 0}
    absolute = sorted(abs(e) for e in values)
    p90 = absolute[min(len(absolute) - 1, round(0.9 * (len(absolute) - 1)))]
    return {
        "n": len(values),
        "median": statistics.median(absolute),
        "p90": p90,
        "max": absolute[-1],
        "mean_signed": statistics.mean(values),
    }


def within(errors: Iterable[float], bound: float) -> float:
    values = list(errors)
    return sum(abs(e) <= bound for e in values) / len(values) if values else 0.0


def fmt(stats: dict[str, float]) -> str:
    if not stats.get("n"):
        return "n=0"
    return (
        f"n={stats['n']:3d}  median {100 * stats['median']:.3f} %  p90 {100 * stats['p90']:.3f} %  "
        f"max {100 * stats['max']:.2f} %  mean {100 * stats['mean_signed']:+.3f} %"
    )


# ----------------------------------------------------------------------------- weights


def measured(w: WeightsBreakdown, measure: str) -> float:
    """The estimate in the unit a published number uses."""
    if measure == "file_gb":
        return w.total_bytes / 1e9
    if measure == "file_gib":
        return w.total_bytes / GIB
    if measure == "tensor_gib":
        return w.tensor_bytes / GIB
    if measure == "bpw":
        return w.bits_per_weight
    raise ValueError(f"unknown measure {measure!r}")


def flat_bytes(arch: ArchitectureConfig, quant: str) -> float:
    """The flat approach: parameters x catalog bits per weight / 8."""
    return count_parameters(arch).text_total * catalog_quants()[quant].bits_per_weight / 8


def weights_table() -> list[dict[str, Any]]:
    """Every gguf_sizes.csv row with the three estimates and their errors."""
    rows = []
    for row in read_csv("gguf_sizes.csv"):
        arch = architecture(row["config"])
        published = float(row["size_gb"]) * 1e9
        era = CSV_ERA[row["era"]]
        per_era = estimate_weights(arch, row["quant"], era=era).total_bytes
        current = estimate_weights(arch, row["quant"]).total_bytes
        flat = flat_bytes(arch, row["quant"])
        rows.append(
            {
                "model": row["model"],
                "publisher": row["publisher"],
                "quant": row["quant"],
                "era": row["era"],
                "published_gb": published / 1e9,
                "per_tensor_gb": per_era / 1e9,
                "error": per_era / published - 1,
                "error_current_rules": current / published - 1,
                "error_flat_bpw": flat / published - 1,
            }
        )
    return rows


def heldout_table() -> list[dict[str, Any]]:
    rows = []
    for row in read_csv("gguf_sizes_heldout.csv"):
        arch = architecture(row["model"])
        imatrix = {"true": True, "false": False}.get(row["imatrix"])
        era = row["era"] if row["era"] in ("current", "2024", "2023") else "current"
        w = estimate_weights(arch, row["quant"], era=era, imatrix=imatrix)
        value = float(row["value"])
        estimate = measured(w, row["measure"])
        flat_error = None
        if row["quant"] in catalog_quants() and row["measure"] != "bpw" and w.format == "gguf":
            flat = flat_bytes(arch, row["quant"])
            flat_estimate = flat / (GIB if "gib" in row["measure"] else 1e9)
            flat_error = flat_estimate / value - 1
        rows.append(
            {
                "model": row["model"],
                "quant": row["quant"],
                "measure": row["measure"],
                "published": value,
                "estimate": estimate,
                "error": estimate / value - 1,
                "error_flat_bpw": flat_error,
            }
        )
    return rows


# ----------------------------------------------------------------------------- decode speed

#: Global structure constants searched on the grid (MoE layer overhead in us, older-build layer factor).
MOE_GRID = tuple(25.0 * i for i in range(0, 17))
OLD_GRID = tuple(i / 4 for i in range(0, 13))


def is_old_build(build_date: str) -> bool:
    """Runs of builds before the stored ``old_build.before`` year (CUDA graphs, fused kernels came later)."""
    return build_date[:4] < speed_model().old_build_before


def decode_points() -> list[dict[str, Any]]:
    """Published decode rows with the bytes a token reads under our weights estimate, and its structure."""
    points = []
    for row in read_csv("llamacpp_decode.csv"):
        arch = architecture(row["model"])
        w = estimate_weights(arch, row["quant"])
        kv = kv_cache_read_bytes(arch, int(row["avg_context"]))
        points.append(
            {
                **row,
                "bytes": decode_bytes_per_token(w, kv_bytes_read=kv),
                "bytes_no_floor": decode_bytes_per_token(w, kv_bytes_read=kv, floor_bpw=0.0),
                "file_bytes": w.total_bytes,
                "bw": float(row["bandwidth_gb_s"]),
                "n": int(row["devices"]),
                "tps": float(row["tokens_per_s"]),
                "layers": arch.num_hidden_layers,
                "moe": n_experts(arch) > 1,
                "old": is_old_build(row["build_date"]),
            }
        )
    return points


def _observation(p: dict[str, Any], moe: float, old: float, key: str = "bytes") -> DecodeObservation:
    units = layer_units(p["layers"], old_factor=old if p["old"] else 0.0)
    known = moe_overhead_ms(p["layers"], p["moe"], moe) / 1000.0
    return DecodeObservation(p[key], p["bw"], p["tps"], p["n"], units, known)


def fit_rows(rows: list[dict[str, Any]], moe: float, old: float) -> DecodeFit | None:
    """One set of constants for ``rows``; a class whose rows cannot separate the terms drops the layer term."""
    if not rows:
        return None
    observations = [_observation(p, moe, old) for p in rows]
    attempts: tuple[dict[str, float], ...] = ({}, {"layer_us": 0.0}, {"layer_us": 0.0, "fixed_ms": 0.0})
    if rows[0]["device_class"] == "cpu":  # two rows: only the efficiency; the fixed cost stays the stated assumption
        attempts = ({"layer_us": 0.0, "fixed_ms": speed_model().classes["cpu"].decode.fixed_ms},)
    for kwargs in attempts:
        try:
            return fit_decode_model(observations, **kwargs)  # type: ignore[arg-type]
        except ValueError:
            continue
    return None


def predict_with(p: dict[str, Any], fit: DecodeFit, moe: float, old: float, *, current: bool = False) -> float:
    """Tokens/s for row ``p``; ``current`` predicts a current build whatever the row's build."""
    o = _observation(p, moe, 0.0 if current else old)
    seconds = o.known_s + o.devices * fit.fixed_ms / 1000 + o.layer_units * fit.layer_us / 1e6
    return 1.0 / (seconds + o.bytes_read / (fit.efficiency * o.bandwidth_gb_s * 1e9))


def fit_all(points: list[dict[str, Any]], classes: Iterable[str]) -> tuple[float, float, dict[str, DecodeFit]]:
    """Grid-search the global factors; per class, least squares. Returns (moe, old, fits)."""
    by_class = {c: [p for p in points if p["device_class"] == c] for c in classes}
    best: tuple[float, float, float, dict[str, DecodeFit]] | None = None
    for moe in MOE_GRID:
        for old in OLD_GRID:
            fits = {c: f for c, rows in by_class.items() if (f := fit_rows(rows, moe, old)) is not None}
            if len(fits) < sum(1 for rows in by_class.values() if rows):
                continue  # a class cannot be fitted with these global constants
            error = sum(e * e for f in fits.values() for e in f.relative_errors)
            if best is None or error < best[0]:
                best = (error, moe, old, fits)
    assert best is not None
    return best[1], best[2], best[3]


def stored_prediction(point: dict[str, Any]) -> float | None:
    """Tokens/s with the constants stored in catalog/speed_model.yaml."""
    record = speed_model().classes.get(point["device_class"])
    if record is None:
        return None
    model = speed_model()
    c = record.decode
    fit = DecodeFit(c.fixed_ms, c.efficiency, (), c.layer_us)
    return predict_with(point, fit, model.moe_layer_us, model.old_build_layer_factor)


def _stats(errors: list[float]) -> dict[str, float]:
    return {**summary(errors), "within_20": within(errors, 0.2)}


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def decode_report(points: list[dict[str, Any]]) -> dict[str, Any]:
    classes = sorted(speed_model().classes)
    evaluated = [p for p in points if p["device_class"] in speed_model().classes]
    errors = {id(p): (stored_prediction(p) or 0.0) / p["tps"] - 1 for p in evaluated}
    by_class: dict[str, list[float]] = defaultdict(list)
    by_source: dict[str, list[float]] = defaultdict(list)
    for p in evaluated:
        by_class[p["device_class"]].append(errors[id(p)])
        label = p["source"].split("/")[-1] if "github.com" in p["source"] else p["source"][:40]
        by_source[f"{label} ({p['build_date']})"].append(errors[id(p)])
    moe, old, fits = fit_all(evaluated, classes)
    # leave one source out: refit everything (global factors too) without the source, predict it
    loso: dict[int, float] = {}
    for source in sorted({p["source"] for p in evaluated}):
        train = [p for p in evaluated if p["source"] != source]
        m, o, source_fits = fit_all(train, classes)
        for p in evaluated:
            if p["source"] == source and p["device_class"] in source_fits:
                loso[id(p)] = predict_with(p, source_fits[p["device_class"]], m, o) / p["tps"] - 1
    # leave one device class out: a class never seen gets the constants fitted on all other classes pooled
    lodco: list[float] = []
    lodco_by_class: dict[str, dict[str, float]] = {}
    for cls in classes:
        train = [{**p, "device_class": "pooled"} for p in evaluated if p["device_class"] != cls]
        m, o, pooled = fit_all(train, ["pooled"])
        held = [predict_with(p, pooled["pooled"], m, o) / p["tps"] - 1 for p in evaluated if p["device_class"] == cls]
        lodco.extend(held)
        if held:
            lodco_by_class[cls] = _stats(held)
    loso_by_class: dict[str, list[float]] = defaultdict(list)
    for p in evaluated:
        if id(p) in loso:
            loso_by_class[p["device_class"]].append(loso[id(p)])
    pooled_loso = list(loso.values())
    bands = {}
    for cls in classes:
        basis = loso_by_class[cls] if len(loso_by_class[cls]) >= 10 else pooled_loso
        bands[cls] = {
            "low": round(_percentile(basis, 0.1), 3),
            "high": round(_percentile(basis, 0.9), 3),
            "basis": f"p10/p90 of {len(basis)} leave-one-source-out errors"
            + ("" if basis is loso_by_class[cls] else " (all classes: too few rows of this class)"),
        }
    coverage = {}
    for cls in classes:
        rows = [p for p in evaluated if p["device_class"] == cls]
        if rows:
            coverage[cls] = {
                "layers": [min(p["layers"] for p in rows), max(p["layers"] for p in rows)],
                "gb_per_token": [
                    round(min(p["bytes"] for p in rows) / 1e9, 2),
                    round(max(p["bytes"] for p in rows) / 1e9, 2),
                ],
                "moe": any(p["moe"] for p in rows),
            }
    llmfit = [p["bw"] / (p["file_bytes"] / 1e9) * 0.55 / p["tps"] - 1 for p in evaluated if p["n"] == 1]
    in_sample = [e for f in fits.values() for e in f.relative_errors]
    return {
        "all": _stats(list(errors.values())),
        "refit_in_sample": _stats(in_sample),
        "leave_one_source_out": _stats(pooled_loso),
        "leave_one_device_class_out": _stats(lodco),
        "leave_one_device_class_out_by_class": lodco_by_class,
        "current_builds_only_loso": _stats([loso[id(p)] for p in evaluated if id(p) in loso and not p["old"]]),
        "llmfit_single_constant": _stats(llmfit),
        "by_class": {k: _stats(v) for k, v in sorted(by_class.items())},
        "loso_by_class": {k: _stats(v) for k, v in sorted(loso_by_class.items())},
        "by_source": {k: _stats(v) for k, v in sorted(by_source.items())},
        "global": {"moe_layer_us": moe, "old_build_layer_factor": old},
        "refit": {
            cls: {
                "fixed_ms": round(f.fixed_ms, 3),
                "layer_us": round(f.layer_us, 1),
                "efficiency": round(f.efficiency, 3),
                "n": len(f.relative_errors),
            }
            for cls, f in fits.items()
        },
        "bands": bands,
        "coverage": coverage,
        "excluded": sorted({p["hardware"] for p in points if p["device_class"] not in speed_model().classes}),
    }


# ----------------------------------------------------------------------------- floor and prefill

#: tools/quantize/README.md, Llama-3.1-8B tg128 on one (unnamed) GPU; the Q4_K_S row duplicates
#: IQ4_NL there (a copy error) and is left out.
README_TG128 = {
    "IQ1_S": 79.73, "IQ1_M": 72.92, "IQ2_XXS": 79.86, "IQ2_XS": 78.04, "IQ2_S": 77.30, "IQ2_M": 74.44,
    "IQ3_XXS": 73.95, "IQ3_XS": 71.67, "IQ3_S": 69.31, "IQ3_M": 70.15, "IQ4_XS": 77.51, "IQ4_NL": 76.71,
    "Q2_K_S": 90.01, "Q2_K": 79.85, "Q3_K_S": 71.68, "Q3_K_L": 69.38, "Q4_K_M": 71.93, "Q5_K_S": 69.53,
    "Q5_K_M": 67.23, "Q6_K": 58.67, "Q8_0": 50.93, "F16": 29.17,
}  # fmt: skip


def floor_fit() -> dict[str, Any]:
    """Grid-search the dequantization floor on the README table (t0 and eff x BW fitted per floor)."""
    arch = catalog_models()["meta-llama/Llama-3.1-8B-Instruct"].architecture
    weights = {q: estimate_weights(arch, q) for q in README_TG128}
    results = []
    for tenth in range(0, 81):
        floor = tenth / 10
        pts = [(decode_bytes_per_token(weights[q], floor_bpw=floor), 1000.0, v) for q, v in README_TG128.items()]
        fit = fit_decode_constants(pts)
        results.append((sum(e * e for e in fit.relative_errors), floor, fit))
    best = min(results, key=lambda r: r[0])
    no_floor = results[0]
    stored = speed_model().dequant_floor_bpw
    at_stored = next(r for r in results if abs(r[1] - stored) < 1e-9)
    return {
        "best_floor_bpw": best[1],
        "stored_floor_bpw": stored,
        "max_error_at_stored": max(abs(e) for e in at_stored[2].relative_errors),
        "max_error_without_floor": max(abs(e) for e in no_floor[2].relative_errors),
    }


def prefill_report() -> dict[str, Any]:
    """Per class: median efficiency vs catalog FP16 TFLOPS and median effective TFLOPS per GB/s."""
    eff: dict[str, list[float]] = defaultdict(list)
    per_bw: dict[str, list[float]] = defaultdict(list)
    for row in read_csv("llamacpp_prefill.csv"):
        arch = architecture(row["model"])
        flops = 2.0 * count_parameters(arch).active * float(row["tokens_per_s"])
        per_bw[row["device_class"]].append(flops / 1e12 / float(row["bandwidth_gb_s"]))
        record = catalog_hardware().get(row["hardware_id"]) if row["hardware_id"] else None
        tflops = (record.fp16_tflops or record.bf16_tflops) if record else None
        if tflops:
            eff[row["device_class"]].append(flops / 1e12 / tflops)
    report: dict[str, Any] = {}
    for cls in sorted(set(eff) | set(per_bw)):
        stored = speed_model().classes.get(cls)
        report[cls] = {
            "n": len(per_bw[cls]),
            "median_efficiency_vs_fp16": statistics.median(eff[cls]) if eff[cls] else None,
            "median_tflops_per_gb_s": statistics.median(per_bw[cls]),
            "range_tflops_per_gb_s": (min(per_bw[cls]), max(per_bw[cls])),
            "stored": (stored.prefill.efficiency, stored.prefill.tflops_per_gb_s) if stored else None,
        }
    return report


# ----------------------------------------------------------------------------- output


def _print_weights(table: list[dict[str, Any]], heldout: list[dict[str, Any]], out: Callable[[str], None]) -> None:
    out("== Weights vs benchmarks/data/gguf_sizes.csv (99 published GGUF files) ==")
    out("per-tensor, each row with its quantizer era:  " + fmt(summary(r["error"] for r in table)))
    out(f"   rows within 3 %: {within((r['error'] for r in table), 0.03):.0%}")
    for era in sorted({r["era"] for r in table}):
        out(f"   era {era:8s} " + fmt(summary(r["error"] for r in table if r["era"] == era)))
    out("per-tensor, today's rules for every row:       " + fmt(summary(r["error_current_rules"] for r in table)))
    out("   (2023 rows: the old Q2_K mix; 2023-12 Mixtral: un-bumped experts. The era flag reproduces both.)")
    worst = sorted(table, key=lambda r: -abs(r["error_current_rules"]))[:3]
    for r in worst:
        out(f"   worst without era: {r['model']} {r['quant']} ({r['era']}) {100 * r['error_current_rules']:+.1f} %")
    out("flat bits-per-weight (catalog quants.yaml):    " + fmt(summary(r["error_flat_bpw"] for r in table)))
    out(f"   rows within 3 %: {within((r['error_flat_bpw'] for r in table), 0.03):.0%}")
    out("")
    out("== Weights vs held-out published sizes (architectures and quant types the table never saw) ==")
    out("per-tensor:  " + fmt(summary(r["error"] for r in heldout)))
    flat = [r["error_flat_bpw"] for r in heldout if r["error_flat_bpw"] is not None]
    out("flat bpw:    " + fmt(summary(flat)))
    groups: dict[str, list[float]] = defaultdict(list)
    for r in heldout:
        groups[r["model"]].append(r["error"])
    for model, errors in groups.items():
        out(f"   {model:38s} " + fmt(summary(errors)))


def _print_decode(report: dict[str, Any], out: Callable[[str], None]) -> None:
    out("== Decode speed vs published llama.cpp runs (benchmarks/data/llamacpp_decode.csv) ==")
    g = report["global"]
    out(f"structure: MoE layer {g['moe_layer_us']} us, older-build layer factor {g['old_build_layer_factor']}")
    for key, label in (
        ("all", "stored constants (in-sample)"),
        ("refit_in_sample", "refit on all rows (in-sample)"),
        ("leave_one_source_out", "leave-one-source-out (out-of-sample)"),
        ("current_builds_only_loso", "  of which 2025+ builds"),
        ("leave_one_device_class_out", "leave-one-device-class-out (pooled)"),
        ("llmfit_single_constant", "baseline BW/size x 0.55 (llmfit)"),
    ):
        stats = report[key]
        out(f"{label:40s} within +-20 %: {stats['within_20']:.0%}   " + fmt(stats))
    out("by device class (stored in-sample | leave-one-source-out | class left out):")
    for cls, stats in report["by_class"].items():
        refit = report["refit"].get(cls)
        loso = report["loso_by_class"].get(cls)
        lodco = report["leave_one_device_class_out_by_class"].get(cls)
        extra = f"  refit {refit}" if refit else ""
        out(
            f"   {cls:15s} in {stats['within_20']:.0%} med {100 * stats['median']:.1f} % | "
            + (f"LOSO {loso['within_20']:.0%} med {100 * loso['median']:.1f} % | " if loso else "LOSO - | ")
            + (f"LODCO {lodco['within_20']:.0%} med {100 * lodco['median']:.1f} %" if lodco else "LODCO -")
            + extra
        )
    out("bands (stored in speed_model.yaml): " + json.dumps(report["bands"]))
    out("coverage: " + json.dumps(report["coverage"]))
    out("by source (stored constants):")
    for source, stats in report["by_source"].items():
        out(f"   {source[:55]:55s} within {stats['within_20']:.0%}  " + fmt(stats))
    out(f"   not evaluated (no class constants): {', '.join(report['excluded'])}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    args = parser.parse_args(argv)
    table = weights_table()
    heldout = heldout_table()
    decode = decode_report(decode_points())
    floor = floor_fit()
    prefill = prefill_report()
    if args.json:
        print(
            json.dumps(
                {
                    "weights": summary(r["error"] for r in table),
                    "weights_current_rules": summary(r["error_current_rules"] for r in table),
                    "weights_flat_bpw": summary(r["error_flat_bpw"] for r in table),
                    "weights_heldout": summary(r["error"] for r in heldout),
                    "decode": decode,
                    "dequant_floor": floor,
                    "prefill": prefill,
                },
                indent=2,
                default=str,
            )
        )
        return 0
    out = print
    _print_weights(table, heldout, out)
    out("")
    _print_decode(decode, out)
    out("")
    out("== Dequantization floor (tools/quantize/README.md Llama-3.1-8B tg128, 22 file types) ==")
    out(
        f"best floor {floor['best_floor_bpw']:.1f} bpw; stored {floor['stored_floor_bpw']:.1f} bpw gives max error "
        f"{100 * floor['max_error_at_stored']:.1f} % vs {100 * floor['max_error_without_floor']:.1f} % without a floor"
    )
    out("")
    out("== Prefill (benchmarks/data/llamacpp_prefill.csv) ==")
    for cls, stats in prefill.items():
        eff = stats["median_efficiency_vs_fp16"]
        low, high = stats["range_tflops_per_gb_s"]
        out(
            f"   {cls:15s} n={stats['n']:2d}  eff vs FP16 {'-' if eff is None else f'{eff:.3f}'}  "
            f"TFLOPS per GB/s {stats['median_tflops_per_gb_s']:.4f} ({low:.4f}..{high:.4f})  stored {stats['stored']}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())

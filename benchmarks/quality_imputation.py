"""How well does the latent fit impute a benchmark a model does not publish? Out-of-sample evidence.

Run: ``python benchmarks/quality_imputation.py`` (``--factors K``, ``--shrinkage S``, ``--ridge R`` to try
other settings; ``--json FILE`` for the numbers). docs/quality.md §1b quotes its output.

Leave one score out: for every catalog record (the population of advisor.estimate.quality.scale_population:
open models and APIs, an API serving catalog weights merged into that model, identical score sets once) and
every benchmark it publishes, the score is hidden, the latent model (advisor.estimate.benchmark_scale) is
refitted on the population **without** it, and the score is imputed from the record's other published
scores. The imputed value is compared with the hidden one (normalised 0–1 scale): mean absolute error and
Spearman rank correlation across the records, per benchmark. Every figure is out of sample: the hidden
score never enters the fit that predicts it.

Baselines, on the same held-out scores:

- **no imputation** (the old quality): a benchmark a model does not publish is left out of the weighted
  mean, which is the same as giving it the mean of the model's other normalised scores; so the baseline
  predicts the hidden score by the mean of the record's other scores;
- **benchmark mean**: the mean of the benchmark over the other records (ignores the model).

Only records with at least one other score on a fitted benchmark are scored. Deterministic (no randomness);
nothing here is timed.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from advisor.engine.host import PluginHost
from advisor.engine.session import Session
from advisor.estimate.benchmark_scale import ScaleSettings, fit_scale
from advisor.estimate.quality import quality_policy, scale_population

#: the benchmarks far from saturation a model most often lacks (issue 14); the rest are reported too
HARD = ("livecodebench", "swe_bench_verified", "terminal_bench", "bfcl", "tau_bench", "longbench_v2", "mrcr", "gpqa")


def _ranks(values: Sequence[float]) -> list[float]:
    order = sorted(range(len(values)), key=lambda i: values[i])
    ranks = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = (i + j) / 2.0 + 1.0
        i = j + 1
    return ranks


def spearman(a: Sequence[float], b: Sequence[float]) -> float | None:
    """Spearman's rank correlation (average ranks for ties); None when either side is constant."""
    if len(a) < 3:
        return None
    ra, rb = _ranks(a), _ranks(b)
    ma, mb = statistics.fmean(ra), statistics.fmean(rb)
    cov = sum((x - ma) * (y - mb) for x, y in zip(ra, rb, strict=True))
    va = sum((x - ma) ** 2 for x in ra)
    vb = sum((y - mb) ** 2 for y in rb)
    return None if va == 0 or vb == 0 else cov / (va * vb) ** 0.5


def population() -> list[dict[str, float]]:
    catalog = Session(host=PluginHost(strict=False).load(entrypoints=False)).catalog
    apis = [(a.open_weights_model, a.benchmarks) for a in catalog.apis.values()]
    pop = scale_population(catalog.models.values(), apis)
    return [dict(record) for record in pop]


def leave_one_out(
    records: Sequence[dict[str, float]], settings: ScaleSettings, only: Sequence[str] | None = None
) -> dict[str, list[tuple[float, ...]]]:
    """Per benchmark: (true, imputed, mean of the record's others, benchmark mean of the other records, number of
    the record's scores the imputation rested on)."""
    out: dict[str, list[tuple[float, ...]]] = {}
    for index, record in enumerate(records):
        for benchmark in sorted(record):
            if only is not None and benchmark not in only:
                continue
            rest = {b: v for b, v in record.items() if b != benchmark}
            if not rest:
                continue
            fit_on = [*records[:index], rest, *records[index + 1 :]]
            scale = fit_scale(fit_on, settings)
            if benchmark not in scale.loadings:
                continue
            imputed = scale.impute(rest, [benchmark]).get(benchmark)
            if imputed is None:
                continue
            others = [r[benchmark] for i, r in enumerate(records) if i != index and benchmark in r]
            out.setdefault(benchmark, []).append(
                (
                    record[benchmark],
                    imputed.normalised,
                    statistics.fmean(rest.values()),
                    statistics.fmean(others),
                    len(imputed.from_benchmarks),
                )
            )
    return out


def summarise(rows: dict[str, list[tuple[float, ...]]]) -> list[dict[str, Any]]:
    table = []
    order = [b for b in HARD if b in rows] + sorted(b for b in rows if b not in HARD)
    for benchmark in order:
        data = rows[benchmark]
        true = [r[0] for r in data]
        entry: dict[str, Any] = {"benchmark": benchmark, "n": len(data)}
        for name, col in (("latent", 1), ("no_imputation", 2), ("benchmark_mean", 3)):
            pred = [r[col] for r in data]
            entry[f"mae_{name}"] = round(statistics.fmean(abs(p - t) for p, t in zip(pred, true, strict=True)), 4)
            rho = spearman(true, pred)
            entry[f"spearman_{name}"] = None if rho is None else round(rho, 3)
        table.append(entry)
    everything = [r for b in order for r in rows[b]]
    hard = [r for b in order if b in HARD for r in rows[b]]
    groups = [
        ("all (pooled)", everything),
        ("hard (pooled)", hard),
        ("resting on 1 score", [r for r in everything if r[4] == 1]),
        ("resting on 2-3 scores", [r for r in everything if 2 <= r[4] <= 3]),
        ("resting on 4-5 scores", [r for r in everything if 4 <= r[4] <= 5]),
        ("resting on 6+ scores", [r for r in everything if r[4] >= 6]),
    ]
    for label, data in groups:
        if not data:
            continue
        true = [r[0] for r in data]
        entry = {"benchmark": label, "n": len(data)}
        for name, col in (("latent", 1), ("no_imputation", 2), ("benchmark_mean", 3)):
            pred = [r[col] for r in data]
            entry[f"mae_{name}"] = round(statistics.fmean(abs(p - t) for p, t in zip(pred, true, strict=True)), 4)
            entry[f"spearman_{name}"] = None
        table.append(entry)
    return table


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--factors", type=int, default=None)
    parser.add_argument("--shrinkage", type=float, default=None)
    parser.add_argument("--ridge", type=float, default=None)
    parser.add_argument("--hard-only", action="store_true", help="hide only the hard benchmarks' scores (faster)")
    parser.add_argument("--json", default=None, help="write the numbers to this file")
    args = parser.parse_args(argv)
    settings = quality_policy().imputation.settings()
    for name in ("factors", "shrinkage", "ridge"):
        if getattr(args, name) is not None:
            settings = replace(settings, **{name: getattr(args, name)})
    records = population()
    table = summarise(leave_one_out(records, settings, HARD if args.hard_only else None))
    print(f"records {len(records)}; settings {settings}")
    print("| benchmark | n | MAE latent | MAE no imputation | MAE benchmark mean | ρ latent | ρ no imputation |")
    print("|---|---|---|---|---|---|---|")
    for row in table:
        rho_l = "—" if row["spearman_latent"] is None else f"{row['spearman_latent']:.2f}"
        rho_n = "—" if row["spearman_no_imputation"] is None else f"{row['spearman_no_imputation']:.2f}"
        print(
            f"| {row['benchmark']} | {row['n']} | {row['mae_latent']:.3f} | {row['mae_no_imputation']:.3f} | "
            f"{row['mae_benchmark_mean']:.3f} | {rho_l} | {rho_n} |"
        )
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump({"settings": settings.__dict__, "records": len(records), "table": table}, handle, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Does the balanced I-optimal design choose better models to evaluate than chance? Held-out evidence.

Run: ``python benchmarks/quality_design.py`` (``--all`` for every benchmark of the packaged data,
``--seeds N``, ``--bins B`` to try another binning, ``--json FILE`` for the numbers).
docs/quality.md §6 quotes its output.

On the packaged leaderboard data (catalog/obsscaling_*.csv), for each benchmark and for budgets of
5–30 % of its models (at least 5, the fitter's minimum), the τ boundary is fitted on

- the **design**'s selection, linearised at a **prior**: the parameter-wise median of the *other*
  benchmarks' full-data boundaries (a team's prior before it has scores on its own task; the
  benchmark's own scores never enter the choice — out-of-sample);
- the design linearised at the benchmark's **own** full-data boundary (what ``advisor quality
  design --pool leaderboard`` does; the shape is in-sample, the scores scored are not);
- ``--seeds`` **random** selections of the same size (median and the share the design beats);
- **largest first** (most training compute first, the naive choice).

Each fit is scored on the models it was not fitted on: mean pinball loss at τ and coverage error
|share at or below − τ|. The **full-data** boundary's pinball loss on the same held-out models is the
reference (in-sample: it saw them); a selection "matches" it when its held-out pinball is within
``TOLERANCE`` of it (relative). The table also gives the mean |q_selection − q_full| over the
compute range.

**Temporal validation**: the boundary fitted on the families released before
``release.split_year`` (catalog/quality_design.yaml; the data have no dates) is scored on the later
ones; it "moved" when the later models' coverage falls below τ by more than two binomial standard
errors, sqrt(τ(1−τ)/n).

Pure reading and arithmetic (deterministic: seeds 0..N−1); nothing here is timed.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
from collections.abc import Sequence
from typing import Any

from advisor.engine.evaluation_design import Pool, leaderboard_pool
from advisor.estimate.design import (
    DesignCandidate,
    DesignSettings,
    balanced_design,
    holdout_score,
    largest_first,
    random_selection,
)
from advisor.estimate.design_policy import design_policy
from advisor.estimate.quality import quality_policy
from advisor.estimate.scaling import DataPoint, Sigmoid, fit_sigmoid_quantile

MAIN = ("mmlu", "arc_c", "hellaswag", "gsm8k")
FRACTIONS = (0.05, 0.10, 0.15, 0.20, 0.25, 0.30)
TOLERANCE = 0.10  # a selection matches the full-data boundary when its held-out pinball is within 10 %


def _points(pool: Pool) -> dict[str, DataPoint]:
    return {m.id: DataPoint(m.id, m.z, float(m.score or 0.0)) for m in pool.models if m.score is not None}


def _fit(points: Sequence[DataPoint], tau: float) -> Sigmoid:
    return fit_sigmoid_quantile(sorted(points, key=lambda p: (p.z, p.model)), tau, quality_policy().fit_settings())


def _distance(a: Sigmoid, b: Sigmoid, lo: float, hi: float, grid: int = 101) -> float:
    zs = [lo + (hi - lo) * i / (grid - 1) for i in range(grid)]
    return sum(abs(min(1.0, max(0.0, a(z))) - min(1.0, max(0.0, b(z)))) for z in zs) / grid


def _median_curve(curves: Sequence[Sigmoid]) -> Sigmoid:
    return Sigmoid(*(statistics.median(getattr(c, k) for c in curves) for k in ("y0", "L", "z_star", "b")))


def evaluate(name: str, pool: Pool, prior: Sigmoid, tau: float, seeds: int, bins: int | None = None) -> dict[str, Any]:
    points = _points(pool)
    ids = sorted(points)
    n = len(ids)
    full = _fit(list(points.values()), tau)
    lo, hi = min(p.z for p in points.values()), max(p.z for p in points.values())
    cands = [DesignCandidate(m.id, m.z) for m in pool.models]
    settings = design_policy().settings()
    if bins is not None:
        settings = DesignSettings(ridge=settings.ridge, bins=bins, grid=settings.grid)
    rows = []
    for fraction in FRACTIONS:
        k = max(5, round(fraction * n))

        def score(selected: Sequence[str]) -> dict[str, float]:
            chosen = set(selected)
            held = [points[i] for i in ids if i not in chosen]
            curve = _fit([points[i] for i in sorted(chosen)], tau)
            s = holdout_score(curve, held, tau)
            ref = holdout_score(full, held, tau)
            return {
                "pinball": s.pinball,
                "coverage_error": s.coverage_error,
                "excess": (s.pinball - ref.pinball) / ref.pinball,
                "distance": _distance(curve, full, lo, hi),
                "full_pinball": ref.pinball,
            }

        design = score(balanced_design(cands, prior, settings, count=k).models)
        own = score(balanced_design(cands, full, settings, count=k).models)
        largest = score(largest_first(cands, k))
        randoms = [score(random_selection(ids, k, seed)) for seed in range(seeds)]
        med = {key: statistics.median(r[key] for r in randoms) for key in randoms[0]}
        rows.append(
            {
                "fraction": fraction,
                "k": k,
                "design": design,
                "design_own": own,
                "largest_first": largest,
                "random_median": med,
                "design_beats_random": sum(1 for r in randoms if design["pinball"] < r["pinball"]) / seeds,
                "random_matches": sum(1 for r in randoms if r["excess"] <= TOLERANCE) / seeds,
            }
        )

    def first(key: str) -> float | None:
        return next((r["fraction"] for r in rows if r[key]["excess"] <= TOLERANCE), None)

    return {
        "benchmark": name,
        "n": n,
        "tau": tau,
        "prior": prior.as_dict(),
        "rows": rows,
        "match_budget": {
            "design": first("design"),
            "design_own": first("design_own"),
            "random_median": first("random_median"),
            "largest_first": first("largest_first"),
        },
    }


#: GPU-hour budgets as shares of the cost of evaluating the whole pool.
COST_SHARES = (0.02, 0.05, 0.10)


def random_within(cands: Sequence[DesignCandidate], budget: float, seed: int) -> list[str]:
    """A random order of the pool, each model taken when it still fits the budget."""
    import random

    order = sorted(cands, key=lambda c: c.id)
    random.Random(seed).shuffle(order)
    chosen, spent = [], 0.0
    for c in order:
        if spent + c.cost <= budget:
            chosen.append(c.id)
            spent += c.cost
    return chosen


def cost_budgets(name: str, pool: Pool, prior: Sigmoid, tau: float, seeds: int, tflops: float) -> list[dict[str, Any]]:
    """Under a GPU-hour budget: the design (ΔV per GPU-hour, prior linearisation) against random orders
    filled up to the same budget; both scored on the models they leave out."""
    from advisor.engine.evaluation_design import candidates

    points = _points(pool)
    ids = sorted(points)
    cands = candidates(pool, name, tflops)
    total = sum(c.cost for c in cands)
    rows = []
    for share in COST_SHARES:
        budget = share * total

        def score(selected: Sequence[str]) -> float | None:
            if len(selected) < 5:
                return None
            chosen = set(selected)
            curve = _fit([points[i] for i in sorted(chosen)], tau)
            return holdout_score(curve, [points[i] for i in ids if i not in chosen], tau).pinball

        design = balanced_design(cands, prior, design_policy().settings(), cost_budget=budget).models
        randoms = [random_within(cands, budget, seed) for seed in range(seeds)]
        scores = [x for x in (score(r) for r in randoms) if x is not None]
        rows.append(
            {
                "share": share,
                "gpu_hours": budget,
                "design_models": len(design),
                "design_pinball": score(design),
                "random_models_median": statistics.median(len(r) for r in randoms),
                "random_median_pinball": statistics.median(scores) if scores else None,
            }
        )
    return rows


def temporal(name: str, pool: Pool, tau: float) -> dict[str, Any] | None:
    release = design_policy().release
    early, late, unknown = [], [], []
    for m in pool.models:
        year = release.year(m.id, m.family)
        point = DataPoint(m.id, m.z, float(m.score or 0.0))
        if year is None:
            unknown.append(m.id)
        elif year < release.split_year:
            early.append(point)
        else:
            late.append(point)
    if len(early) < 5 or len(late) < 5:
        return None
    curve = _fit(early, tau)
    before = holdout_score(curve, early, tau)
    after = holdout_score(curve, late, tau)
    se = math.sqrt(tau * (1 - tau) / len(late))
    late_curve = _fit(late, tau)
    lo, hi = max(min(p.z for p in early), min(p.z for p in late)), min(max(p.z for p in early), max(p.z for p in late))
    return {
        "benchmark": name,
        "early": len(early),
        "late": len(late),
        "unknown": unknown,
        "coverage_early_in_sample": round(before.coverage, 3),
        "coverage_late": round(after.coverage, 3),
        "pinball_late": round(after.pinball, 5),
        "threshold": round(tau - 2 * se, 3),
        "moved": after.coverage < tau - 2 * se,
        "shift": round(_distance(curve, late_curve, lo, hi), 4) if hi > lo else None,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--all", action="store_true", help="every benchmark of the packaged data, not only the 4 main")
    parser.add_argument("--seeds", type=int, default=100, help="random selections per budget (default 100)")
    parser.add_argument("--json", default=None, help="write the numbers to this file")
    parser.add_argument("--bins", type=int, default=None, help="override design.bins (0: one per selected model)")
    args = parser.parse_args(argv)
    tau = quality_policy().prediction.quantile
    names = list(design_policy().benchmarks) if args.all else list(MAIN)
    everything = list(design_policy().benchmarks)
    pools = {name: leaderboard_pool(name) for name in everything}
    tflops = _tflops()
    fulls = {name: _fit(list(_points(pool).values()), tau) for name, pool in pools.items()}
    results, temporals = [], []
    for name in names:
        # the prior: the parameter-wise median of the other benchmarks' boundaries of the same data file
        # (all of them, with or without --all, so a benchmark's numbers do not depend on the run)
        prior = _median_curve([fulls[o] for o in everything if o != name and _same_file(o, name)])
        results.append(evaluate(name, pools[name], prior, tau, args.seeds, args.bins))
        if name in MAIN:
            results[-1]["cost"] = cost_budgets(name, pools[name], prior, tau, args.seeds, tflops)
        t = temporal(name, pools[name], tau)
        if t:
            temporals.append(t)
    _print(results, temporals, tau, args.seeds)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump({"design": results, "temporal": temporals}, handle, indent=2)
    return 0


def _tflops() -> float:
    from advisor.catalog.loader import builtin_catalog_path, read_catalog_file

    device = design_policy().evaluation.device
    for records in read_catalog_file(builtin_catalog_path("hardware")).values():
        for record in records:
            tflops = getattr(record, "bf16_tflops", None)
            if getattr(record, "id", None) == device and tflops:
                return float(tflops)
    raise SystemExit(f"catalog/hardware.yaml: no bf16_tflops for {device}")


def _same_file(a: str, b: str) -> bool:
    from advisor.estimate.design_policy import benchmark_spec

    return benchmark_spec(a).file == benchmark_spec(b).file


def _print(results: list[dict[str, Any]], temporals: list[dict[str, Any]], tau: float, seeds: int) -> None:
    print(f"Held-out pinball loss at τ = {tau:g} (lower is better); random = median of {seeds} seeds")
    print(
        "| benchmark | n | budget | k | design (prior) | design (own fit) | random median | largest first "
        "| full (in-sample) | design < random | cov. err design / random |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    wins: dict[str, int] = {}
    for r in results:
        for row in r["rows"]:
            d, o, m, g = row["design"], row["design_own"], row["random_median"], row["largest_first"]
            print(
                f"| {r['benchmark']} | {r['n']} | {row['fraction']:.0%} | {row['k']} | {d['pinball']:.4f} "
                f"| {o['pinball']:.4f} | {m['pinball']:.4f} | {g['pinball']:.4f} | {d['full_pinball']:.4f} "
                f"| {row['design_beats_random']:.0%} | {d['coverage_error']:.3f} / {m['coverage_error']:.3f} |"
            )
            wins[r["benchmark"]] = wins.get(r["benchmark"], 0) + (d["pinball"] < m["pinball"])
    print()
    print(f"Budget at which the held-out pinball is within {TOLERANCE:.0%} of the full-data boundary's:")
    print("| benchmark | design (prior) | design (own fit) | random median | largest first | design wins |")
    print("|---|---|---|---|---|---|")
    for r in results:
        mb = r["match_budget"]
        cells = [f"{mb[k]:.0%}" if mb[k] is not None else "> 30%" for k in mb]
        print(f"| {r['benchmark']} | {' | '.join(cells)} | {wins[r['benchmark']]}/{len(r['rows'])} budgets |")
    print()
    print("Mean |q_selection − q_full| over the compute range (design prior / random median):")
    for r in results:
        parts = [
            f"{row['fraction']:.0%} {row['design']['distance']:.3f}/{row['random_median']['distance']:.3f}"
            for row in r["rows"]
        ]
        print(f"- {r['benchmark']}: " + ", ".join(parts))
    costed = [r for r in results if r.get("cost")]
    if costed:
        print()
        print("Under a GPU-hour budget (share of evaluating the whole pool): design per GPU-hour vs random orders")
        print(
            "| benchmark | budget share | GPU-hours | design: models | design pinball | random: models (median) "
            "| random median pinball |"
        )
        print("|---|---|---|---|---|---|---|")
        for r in costed:
            for row in r["cost"]:
                d, m = row["design_pinball"], row["random_median_pinball"]
                print(
                    f"| {r['benchmark']} | {row['share']:.0%} | {row['gpu_hours']:.1f} | {row['design_models']} "
                    f"| {'-' if d is None else f'{d:.4f}'} | {row['random_models_median']:g} "
                    f"| {'-' if m is None else f'{m:.4f}'} |"
                )
    if temporals:
        print()
        print("Temporal: boundary fitted on families released before the split year, scored on later ones")
        print("| benchmark | early | late | coverage early (in-sample) | coverage late | threshold | moved | shift |")
        print("|---|---|---|---|---|---|---|---|")
        for t in temporals:
            print(
                f"| {t['benchmark']} | {t['early']} | {t['late']} | {t['coverage_early_in_sample']:.3f} "
                f"| {t['coverage_late']:.3f} | {t['threshold']:.3f} | {'yes' if t['moved'] else 'no'} "
                f"| {t['shift']} |"
            )


if __name__ == "__main__":
    sys.exit(main())

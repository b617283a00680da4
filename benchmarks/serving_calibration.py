"""How much does one benchmark of the user's own stack correct the serving model? (issue 15)

Run: ``python benchmarks/serving_calibration.py [--json] [--quick] [--data DIR]`` (~2 min: the
leave-one-publisher-out folds; ``--quick``: the catalog's constants, in sample for the rows they were fitted on).

The serving model's errors on published runs are mostly one factor per harness (docs/serving.md §2). No held-out
predictor can know that factor; ``advisor bench`` measures it on the user's stack and ``advisor fit --engine``
applies it (:mod:`advisor.estimate.serving_calibration`, the same functions are called here, not copied).

A *stack* is one source's engine on one GPU type serving one model at one TP x PP (what one bench sweep of one
deployment measures). For each row, the model's prediction comes from constants fitted **without the row's
publisher** (``serving_accuracy.fit``: the calibration must correct a model that never saw that harness), and is
then calibrated from the **other** rows of the same stack only:

* ``other_levels``: every other measured row of the stack, interpolated in log concurrency (what ``advisor fit
  --engine`` does after ``advisor bench --concurrency 1 --concurrency 4 ...``); rows at the same concurrency with
  another request shape count;
* ``other_concurrencies``: the same from the rows at another concurrency only (a plan at a concurrency the sweep
  did not measure);
* ``nearest_level``: the one other level nearest in log concurrency;
* ``one_level_at_random``: one other level, every choice weighted equally (the expected share);
* ``uncalibrated``: the same rows with no calibration (the baseline).

Closed-loop rows are the product's case (a bench sweep is a closed loop); every mode is reported too. Rows whose
stack has no other row cannot be calibrated and count as uncalibrated in the ``*_all_rows`` figures.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import serving_accuracy as sa

from advisor.estimate.serving_calibration import CalibrationPoint, throughput_ratio, ttft_ratio


@dataclass(frozen=True)
class Scored:
    """One row with the model's prediction (uncalibrated) under the fold's constants."""

    case: sa.Case
    predicted: sa.Prediction

    @property
    def stack(self) -> tuple[object, ...]:
        r = self.case.row
        return (r.source, r.engine, r.gpu, r.model, r.tp, r.pp)

    def point(self) -> CalibrationPoint:
        r, p = self.case.row, self.predicted
        return CalibrationPoint(r.concurrency, r.measured, p.tokens_per_s, r.ttft_s, p.ttft_s)


def held_out_predictions(data: list[sa.Case], quick: bool) -> list[Scored]:
    """Each row predicted by constants fitted without its publisher (``quick``: the catalog's constants)."""
    base = sa.serving_constants().engine("vllm")
    if quick:
        return [Scored(c, sa.predict(c, base)) for c in data]
    scored: dict[int, Scored] = {}
    for publisher in sorted({c.row.publisher for c in data}):
        train = [c for c in data if c.row.publisher != publisher]
        fitted = sa.fit(train, base)
        for i, c in enumerate(data):
            if c.row.publisher == publisher:
                scored[i] = Scored(c, sa.predict(c, fitted))
    return [scored[i] for i in range(len(data))]


def _within(predicted: float, measured: float) -> bool:
    return abs(predicted / measured - 1.0) <= sa.BAND


def evaluate_rows(rows: Sequence[Scored]) -> dict[str, Any]:
    """The shares within ±25 % (throughput, and TTFT where published) for each way of calibrating."""
    stacks: dict[tuple[object, ...], list[int]] = defaultdict(list)
    for i, s in enumerate(rows):
        stacks[s.stack].append(i)
    hits: dict[str, list[float]] = defaultdict(list)
    ttft_hits: dict[str, list[float]] = defaultdict(list)
    for i, s in enumerate(rows):
        r, p = s.case.row, s.predicted
        others = [rows[j].point() for j in stacks[s.stack] if j != i]
        uncal = float(_within(p.tokens_per_s, r.measured))
        hits["uncalibrated_all_rows"].append(uncal)
        if not others:
            hits["other_levels_all_rows"].append(uncal)
            continue
        hits["uncalibrated"].append(uncal)
        ratio = throughput_ratio(others, r.concurrency) or 1.0
        hits["other_levels"].append(float(_within(p.tokens_per_s * ratio, r.measured)))
        hits["other_levels_all_rows"].append(hits["other_levels"][-1])
        # the stricter reading: only levels at another concurrency (a row of the same concurrency and another
        # request shape is a sweep point the plan's concurrency already had)
        elsewhere = [o for o in others if o.concurrency != r.concurrency]
        if elsewhere:
            apart = throughput_ratio(elsewhere, r.concurrency) or 1.0
            hits["other_concurrencies"].append(float(_within(p.tokens_per_s * apart, r.measured)))
            hits["uncalibrated_where_other_concurrencies"].append(uncal)
        nearest = min(others, key=lambda o: abs(math.log(o.concurrency / r.concurrency)))
        hits["nearest_level"].append(
            float(_within(p.tokens_per_s * (throughput_ratio([nearest], 1) or 1.0), r.measured))
        )
        singles = [float(_within(p.tokens_per_s * (throughput_ratio([o], 1) or 1.0), r.measured)) for o in others]
        hits["one_level_at_random"].append(statistics.fmean(singles))
        if r.ttft_s and p.ttft_s:
            ttft_hits["uncalibrated"].append(float(_within(p.ttft_s, r.ttft_s)))
            first = ttft_ratio(others, r.concurrency)
            if first is not None:
                ttft_hits["other_levels"].append(float(_within(p.ttft_s * first, r.ttft_s)))
                ttft_hits["uncalibrated_where_calibrated"].append(ttft_hits["uncalibrated"][-1])

    def share(values: list[float]) -> dict[str, float]:
        return {"rows": len(values), "within_25pct": round(statistics.fmean(values), 3) if values else 0.0}

    return {
        "rows": len(rows),
        "stacks": len(stacks),
        "throughput": {k: share(v) for k, v in sorted(hits.items())},
        "ttft": {k: share(v) for k, v in sorted(ttft_hits.items())},
    }


def evaluate(extra: Sequence[Path] = (), quick: bool = False) -> dict[str, Any]:
    notes: list[str] = []
    rows = sa.read_rows(extra, notes)
    data = sa.cases(rows, sa.read_models([sa.DATA, *extra], notes), sa.hardware(extra), notes)
    scored = held_out_predictions(data, quick)
    return {
        "constants": "catalog (in sample)" if quick else "fitted without the row's publisher (out of sample)",
        "notes": notes,
        "closed_loop": evaluate_rows([s for s in scored if s.case.row.mode == "closed"]),
        "every_mode": evaluate_rows(scored),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--quick", action="store_true", help="the catalog's constants (in sample), no folds")
    sa.add_data_option(parser, "also read serving_measurements*.csv / serving_models*.yaml from DIR (repeatable)")
    args = parser.parse_args(argv)
    result = evaluate([d for d in args.data if d.is_dir() and d.resolve() != sa.DATA.resolve()], quick=args.quick)
    if args.json:
        json.dump(result, sys.stdout, indent=2)
        print()
        return 0
    print(f"constants: {result['constants']}")
    for scope in ("closed_loop", "every_mode"):
        block = result[scope]
        print(f"{scope}: {block['rows']} rows in {block['stacks']} stacks")
        for metric in ("throughput", "ttft"):
            for name, s in block[metric].items():
                print(f"  {metric:10} {name:30} {s['within_25pct']:.1%} of {s['rows']} rows")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

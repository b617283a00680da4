"""The serving calibration a bench sweep left in the local history (the I/O side of
:mod:`advisor.estimate.serving_calibration`).

``advisor bench --engine vllm|sglang --predict MODEL@HARDWARE`` stores, for each level, what it measured beside
the serving model's uncalibrated prediction for the same replica (engine, model, GPU type, TP x PP, checkpoint
format, repository, load-time quantization) and the level's measured request shape. ``advisor fit --engine``
then looks up the newest sweep of the deployment it sizes (:func:`latest_calibration`) and applies it;
``--no-calibration`` shows the model alone. A sweep of another deployment is never used: the factor it
measures belongs to its stack.
"""

from __future__ import annotations

import contextlib
import json
import math
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from advisor.estimate.serving_calibration import CalibrationPoint, ReplicaKey
from advisor.smoke.history import history_path

#: A measured / predicted ratio outside this range is not a calibration but a different deployment (another
#: model behind the endpoint, a wrong --tp or --quant) or a broken measurement: the sweep is not applied.
PLAUSIBLE_RATIO = (0.05, 20.0)


@dataclass(frozen=True)
class StoredCalibration:
    """The newest bench sweep of a replica: its usable levels, the ones it had to leave out and why, and
    where it came from. ``points`` empty means the sweep cannot calibrate (``problem`` says why)."""

    sweep_id: str
    created_at: str
    endpoint: str
    points: tuple[CalibrationPoint, ...]
    dropped: tuple[str, ...] = ()
    problem: str | None = None

    def describe(self) -> str:
        levels = ", ".join(str(p.concurrency) for p in self.points)
        return (
            f"calibrated by advisor bench sweep {self.sweep_id[:8]} of {self.endpoint} on {self.created_at[:10]} "
            f"(concurrency {levels}: measured / predicted, interpolated in log concurrency)"
        )


def stack_of(predicted: dict[str, Any]) -> ReplicaKey | None:
    """The replica a bench report's ``predicted`` object names (None: not a serving prediction, or a sweep the
    bench marked as not a calibration because the endpoint serves another model)."""
    if predicted.get("calibrates") is False:
        return None
    try:
        return (
            str(predicted["engine"]),
            str(predicted["model"]),
            str(predicted["device"]),
            int(predicted["tensor_parallel"]),
            int(predicted["pipeline_parallel"]),
            str(predicted["checkpoint_format"]),
            str(predicted["checkpoint"]),
            str(predicted.get("quantization") or ""),
        )
    except (KeyError, TypeError, ValueError, OverflowError):
        return None


def _positive(value: object) -> float | None:
    """A finite positive number from untrusted JSON, else None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) and number > 0 else None


def _tokens(value: object) -> int | None:
    number = _positive(value)
    return int(number) if number is not None and 1 <= number <= 10_000_000 else None


def points_of(report: dict[str, Any]) -> tuple[tuple[CalibrationPoint, ...], tuple[str, ...]]:
    """The report's levels that measured throughput beside an uncalibrated serving prediction, and the
    levels left out with the reason (failed requests, missing or implausible numbers). The history is
    untrusted input: every field is checked, nothing is evaluated."""
    points: list[CalibrationPoint] = []
    dropped: list[str] = []
    runs = report.get("runs")
    for run in runs if isinstance(runs, list) else []:
        if not isinstance(run, dict):
            continue
        level = _tokens(run.get("concurrency"))
        measured = _positive(run.get("output_tokens_per_s"))
        predicted = _positive(run.get("predicted_output_tokens_per_s"))
        name = f"concurrency {level}" if level is not None else "a level without a concurrency"
        if level is None or measured is None or predicted is None:
            dropped.append(f"{name}: no measured and predicted output tokens/s")
            continue
        if run.get("errors"):
            dropped.append(f"{name}: requests failed")
            continue
        ratio = measured / predicted
        if not PLAUSIBLE_RATIO[0] <= ratio <= PLAUSIBLE_RATIO[1]:
            dropped.append(f"{name}: measured / predicted {ratio:.3g} is outside {PLAUSIBLE_RATIO}")
            continue
        ttft = run.get("ttft_s")
        shape = run.get("predicted_for")
        shape = shape if isinstance(shape, dict) else {}
        points.append(
            CalibrationPoint(
                level,
                measured,
                predicted,
                _positive(ttft.get("p50")) if isinstance(ttft, dict) else None,
                _positive(run.get("predicted_ttft_s")),
                _tokens(shape.get("input_tokens")),
                _tokens(shape.get("output_tokens")),
            )
        )
    return tuple(points), tuple(dropped)


def latest_calibration(key: ReplicaKey, path: Path | None = None) -> StoredCalibration | None:
    """The newest stored sweep of exactly this replica (None: no sweep of it; a history that cannot be read
    counts as none). Only the newest is used, even when none of its levels is usable (an older sweep may
    be of another engine version): its ``problem`` then says why it does not calibrate."""
    path = path or history_path()
    if not path.is_file():
        return None
    try:
        with contextlib.closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)) as connection:
            rows = connection.execute(
                "SELECT sweep_id, created_at, endpoint, report_json FROM bench_runs GROUP BY sweep_id "
                "ORDER BY MAX(id) DESC"
            ).fetchall()
    except sqlite3.Error:
        return None
    for sweep_id, created_at, endpoint, text in rows:
        try:
            report = json.loads(text)
        except (TypeError, ValueError, RecursionError):
            continue
        predicted = report.get("predicted") if isinstance(report, dict) else None
        if not isinstance(predicted, dict) or stack_of(predicted) != key:
            continue
        points, dropped = points_of(report)
        problem = None if points else "no level of the newest sweep of this replica is usable: " + "; ".join(dropped)
        return StoredCalibration(str(sweep_id), str(created_at), str(endpoint), points, dropped, problem)
    return None

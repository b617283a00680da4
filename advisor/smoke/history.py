"""The smoke tests' local history (SQLite) and this machine's calibration fitted from it.

Every ``advisor smoke`` run is recorded with its prediction and its measurements. ``advisor smoke
calibrate`` fits this machine's decode constants from the successful CPU runs, in the speed
model the planner uses (:mod:`advisor.estimate.speed`, catalog/speed_model.yaml)::

    seconds per token = t_fixed + bytes read per token / (efficiency x measured bandwidth)

and stores them in ``calibration.json`` next to the history. :func:`load_calibration` is what the
fit code calls: when it returns a calibration, the prediction uses it and says so.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import math
import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, NamedTuple

from advisor.errors import AdvisorError
from advisor.machine import cache_dir, detect_machine, write_json_atomic

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at TEXT NOT NULL,
    machine_key TEXT NOT NULL,
    model TEXT,
    file TEXT,
    quant TEXT,
    device TEXT,
    gpu_layers INTEGER,
    context INTEGER,
    threads INTEGER,
    ok INTEGER NOT NULL,
    error TEXT,
    load_s REAL,
    ttft_s REAL,
    prompt_tokens_per_s REAL,
    completion_tokens INTEGER,
    decode_tokens_per_s REAL,
    peak_rss_bytes INTEGER,
    model_rss_bytes INTEGER,
    predicted_total_bytes INTEGER,
    predicted_decode_tokens_per_s REAL,
    bytes_per_token INTEGER,
    bandwidth_gb_s REAL,
    result_json TEXT NOT NULL
);
"""


def history_path() -> Path:
    return cache_dir() / "smoke_history.sqlite"


def calibration_path() -> Path:
    return cache_dir() / "calibration.json"


@contextlib.contextmanager
def _connect(path: Path | None = None) -> Iterator[sqlite3.Connection]:
    path = path or history_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        connection = sqlite3.connect(path)
    except sqlite3.Error as exc:
        raise OSError(f"cannot open the smoke history {path}: {exc}") from None
    try:
        connection.row_factory = sqlite3.Row
        connection.execute(SCHEMA)
        yield connection
        connection.commit()
    except sqlite3.DatabaseError as exc:
        raise OSError(f"the smoke history {path} is not usable: {exc}") from None
    finally:
        connection.close()


def record_run(result: dict[str, Any], machine_key: str, path: Path | None = None) -> int:
    """Store one smoke result; returns its id."""
    predicted = result.get("predicted") or {}
    row = {
        "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine_key": machine_key,
        "model": result.get("model"),
        "file": result.get("file"),
        "quant": result.get("quant"),
        "device": result.get("device"),
        "gpu_layers": result.get("gpu_layers"),
        "context": result.get("context"),
        "threads": result.get("threads"),
        "ok": 1 if result.get("ok") else 0,
        "error": result.get("error"),
        "load_s": result.get("load_s"),
        "ttft_s": result.get("ttft_s"),
        "prompt_tokens_per_s": result.get("prompt_tokens_per_s"),
        "completion_tokens": result.get("completion_tokens"),
        "decode_tokens_per_s": result.get("decode_tokens_per_s"),
        "peak_rss_bytes": result.get("peak_rss_bytes"),
        "model_rss_bytes": result.get("model_rss_bytes"),
        "predicted_total_bytes": predicted.get("total_bytes"),
        "predicted_decode_tokens_per_s": predicted.get("decode_tokens_per_s"),
        "bytes_per_token": predicted.get("bytes_per_token"),
        "bandwidth_gb_s": predicted.get("bandwidth_gb_s"),
        "result_json": json.dumps(result, default=str),
    }
    columns = ", ".join(row)
    marks = ", ".join("?" for _ in row)
    with _connect(path) as connection:
        cursor = connection.execute(f"INSERT INTO runs ({columns}) VALUES ({marks})", list(row.values()))
        return int(cursor.lastrowid or 0)


def list_runs(limit: int | None = 50, machine_key: str | None = None, path: Path | None = None) -> list[dict[str, Any]]:
    """Recorded runs, newest first, without the full result JSON."""
    query = "SELECT * FROM runs"
    args: list[Any] = []
    if machine_key is not None:
        query += " WHERE machine_key = ?"
        args.append(machine_key)
    query += " ORDER BY id DESC"
    if limit is not None:
        query += " LIMIT ?"
        args.append(limit)
    with _connect(path) as connection:
        rows = [dict(r) for r in connection.execute(query, args)]
    for row in rows:
        row.pop("result_json", None)
        row["ok"] = bool(row["ok"])
    return rows


# --------------------------------------------------------------------------------------------
# Calibration


@dataclass(frozen=True)
class Calibration:
    """This machine's fitted CPU decode constants."""

    machine_key: str
    backend: str
    decode_efficiency: float
    decode_fixed_ms: float
    n_runs: int
    rms_error: float
    fitted_at: str
    method: str

    def describe(self) -> str:
        return (
            f"calibrated on this machine from {self.n_runs} smoke runs ({self.fitted_at[:10]}): efficiency "
            f"{self.decode_efficiency:.2f} of measured bandwidth + {self.decode_fixed_ms:.2f} ms/token, "
            f"rms error {self.rms_error:.0%}"
        )


class NothingToCalibrate(AdvisorError):
    """No usable runs in the history (exit 1: the command could not do its job)."""


class CalibrationFit(NamedTuple):
    """This machine's fitted CPU decode constants, how well they fit, and which were fitted."""

    efficiency: float
    fixed_ms: float
    rms_error: float
    method: str


def fit_calibration(runs: Sequence[tuple[float, float, float]], default_fixed_ms: float) -> CalibrationFit:
    """Fit ``1/tg = t0 + x/eff`` with ``x = bytes/bandwidth`` on (bytes per token, GB/s, measured t/s).

    The least squares on relative error is the planner's own
    (:func:`advisor.estimate.speed.fit_decode_constants`). Both parameters when the runs span model
    sizes at least ``calibration.size_spread_for_two_parameters`` apart (catalog/smoke_policy.yaml)
    and the fit gives a positive fixed cost; otherwise the fixed cost stays at the catalog value
    (capped at half the fastest token time) and only the efficiency is fitted. ``rms_error`` is
    the rms relative error of the predicted time per token.
    """
    # imported here: `advisor smoke history` needs neither, and they load the catalog schemas
    from advisor.estimate.speed import fit_decode_constants
    from advisor.smoke.policy import smoke_policy

    points = [(b, bw, tg) for b, bw, tg in runs if b > 0 and bw > 0 and tg > 0]
    if not points:
        raise ValueError("no usable runs")
    xs = [b / (bw * 1e9) for b, bw, _ in points]
    times = [1.0 / tg for _, _, tg in points]
    spread = smoke_policy().calibration.size_spread_for_two_parameters
    fit = None
    method = "efficiency and fixed cost fitted"
    if len({round(x, 12) for x in xs}) >= 2 and max(xs) / min(xs) >= spread:
        with contextlib.suppress(ValueError):  # the two terms not separable, or no positive efficiency
            fit = fit_decode_constants(points)
        if fit is not None and fit.fixed_ms <= 0:  # an unphysical negative fixed cost, clamped there
            fit = None
    if fit is None:
        # capped at half the fastest token time, so every run leaves time for the bandwidth term and
        # the efficiency fitted alone is always positive
        method = "efficiency fitted, fixed cost from the catalog"
        fit = fit_decode_constants(points, fixed_ms=min(default_fixed_ms / 1000.0, 0.5 * min(times)) * 1000.0)
    t0, slope = fit.fixed_ms / 1000.0, 1.0 / fit.efficiency
    errors = [((t0 + slope * x) - y) / y for x, y in zip(xs, times, strict=True)]
    rms = math.sqrt(sum(e * e for e in errors) / len(errors))
    return CalibrationFit(fit.efficiency, fit.fixed_ms, rms, method)


def calibrate(machine_key: str | None = None, path: Path | None = None) -> Calibration:
    """Fit this machine's CPU constants from its successful runs and store them."""
    from advisor.estimate.speed import decode_constants_for
    from advisor.smoke.policy import smoke_policy

    key = machine_key or detect_machine(with_gpus=False).key
    min_tokens = smoke_policy().calibration.min_decode_tokens
    usable = [
        (float(r["bytes_per_token"]), float(r["bandwidth_gb_s"]), float(r["decode_tokens_per_s"]))
        for r in list_runs(limit=None, machine_key=key, path=path)
        if r["ok"]
        and r["device"] == "cpu"
        and r["bytes_per_token"]
        and r["bandwidth_gb_s"]
        and r["decode_tokens_per_s"]
        and (r["completion_tokens"] or 0) >= min_tokens
    ]
    if not usable:
        raise NothingToCalibrate(
            f"no successful CPU smoke runs with at least {min_tokens} tokens in the history for this machine "
            f"({key}); run `advisor smoke FILE.gguf` first"
        )
    default_fixed = decode_constants_for(None).fixed_ms
    try:
        fit = fit_calibration(usable, default_fixed)
    except ValueError as exc:
        raise NothingToCalibrate(f"cannot calibrate from {len(usable)} runs: {exc}") from None
    calibration = Calibration(
        machine_key=key,
        backend="cpu",
        decode_efficiency=round(fit.efficiency, 4),
        decode_fixed_ms=round(fit.fixed_ms, 4),
        n_runs=len(usable),
        rms_error=round(fit.rms_error, 4),
        fitted_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        method=fit.method,
    )
    store_calibration(calibration)
    return calibration


def store_calibration(calibration: Calibration) -> Path:
    path = calibration_path()
    data = _read_calibrations(path)
    data.setdefault(calibration.machine_key, {})[calibration.backend] = asdict(calibration)
    write_json_atomic(path, {"machines": data})
    return path


def _read_calibrations(path: Path) -> dict[str, dict[str, Any]]:
    try:
        data = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return {}
    machines = data.get("machines") if isinstance(data, dict) else None
    return machines if isinstance(machines, dict) else {}


def load_calibration(machine_key: str | None = None, backend: str = "cpu") -> Calibration | None:
    """This machine's stored calibration, or None (never calibrated, another machine, or corrupt)."""
    key = machine_key or detect_machine(with_gpus=False).key
    entry = _read_calibrations(calibration_path()).get(key, {}).get(backend)
    if not isinstance(entry, dict):
        return None
    try:
        calibration = Calibration(**entry)
    except TypeError:
        return None
    if not (calibration.decode_efficiency > 0 and calibration.decode_fixed_ms >= 0):
        return None
    return calibration

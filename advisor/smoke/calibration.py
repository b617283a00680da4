"""This machine's calibration: how far its quiet smoke runs were from the catalog's prediction,
per regime, learnt robustly from the history (:mod:`advisor.smoke.history`).

A regime is what changes the speed of the same model on the same machine: the backend, the device
(CPU, GPU, a partial offload with its layer count) and the thread count. For each, ``advisor smoke
calibrate`` takes the ratios measured / uncalibrated prediction of its usable runs (they ran, their
output checks passed, they decoded enough tokens, and the machine was quiet before and during them:
busy runs say nothing about the machine) and keeps

* the **median** ratio as the factor later predictions are multiplied by. On the CPU that is the
  planner's speed model (``seconds per token = t_fixed + bytes per token / (efficiency x
  bandwidth)``) with both constants moved by that factor, which is what is stored and shown;
* the **robust spread** (1.4826 x the median absolute deviation, relative to the median: one
  outlier cannot inflate it), from which the band follows (catalog/smoke_policy.yaml).

A regime needs ``calibration.min_runs`` usable runs, and its band may not exceed ``decode_band.cap``:
runs that scatter more than that are not a calibration, and the regime is left uncalibrated with
the reason. ``calibration.json`` next to the history holds the result; :func:`load_calibration`
is what the predictions (``advisor smoke``, ``advisor fit --hardware local``) read.
"""

from __future__ import annotations

import datetime as dt
import json
import statistics
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, NamedTuple

from advisor.errors import AdvisorError
from advisor.estimate.speed import decode_constants_for
from advisor.files.cache import cache_dir, write_json
from advisor.machine import detect_machine
from advisor.smoke.backend import BACKEND
from advisor.smoke.history import list_runs
from advisor.smoke.policy import smoke_policy

#: 1.4826 x MAD estimates the standard deviation of normally distributed data.
MAD_TO_SIGMA = 1.4826


def calibration_path() -> Path:
    return cache_dir() / "calibration.json"


class Regime(NamedTuple):
    """What a calibration holds for: the device, its thread count, and the GPU layers when split."""

    device: str
    threads: int
    gpu_layers: int = 0

    @property
    def key(self) -> str:
        layers = f", {self.gpu_layers} GPU layers" if self.device == "partial" else ""
        return f"{BACKEND} {self.device}, {self.threads} thread{'s' if self.threads != 1 else ''}{layers}"


def default_cpu_regime() -> Regime:
    """The regime ``advisor smoke`` runs in on a quiet machine: the CPU at its physical cores."""
    return Regime("cpu", detect_machine(with_gpus=False).threads_llama)


@dataclass(frozen=True)
class Calibration:
    """This machine's calibration for one regime."""

    machine_key: str
    regime: str
    factor: float
    spread: float
    band: float
    n_runs: int
    fitted_at: str
    decode_efficiency: float | None = None
    decode_fixed_ms: float | None = None
    catalog_efficiency: float | None = None
    catalog_fixed_ms: float | None = None

    @property
    def cpu_decode(self) -> tuple[float, float] | None:
        """(fixed ms per token, efficiency) of the speed model, for a CPU regime."""
        if self.decode_fixed_ms is None or self.decode_efficiency is None:
            return None
        return self.decode_fixed_ms, self.decode_efficiency

    def describe(self) -> str:
        moved = ""
        if self.cpu_decode is not None and self.catalog_efficiency and self.catalog_fixed_ms:
            moved = (
                f" (efficiency {self.catalog_efficiency:.2f} -> {self.decode_efficiency:.2f}, fixed cost "
                f"{self.catalog_fixed_ms:.2f} -> {self.decode_fixed_ms:.2f} ms/token)"
            )
        return (
            f"calibrated on this machine for {self.regime} from {self.n_runs} quiet runs ({self.fitted_at[:10]}): "
            f"speed x{self.factor:.2f} of the catalog's prediction{moved}, spread ±{self.spread:.0%}, "
            f"band ±{self.band:.0%}"
        )


class NothingToCalibrate(AdvisorError):
    """No regime has enough usable runs (exit 1: the command could not do its job)."""


class RatioFit(NamedTuple):
    """The median ratio measured / predicted of a regime's runs, their robust spread and the band."""

    factor: float
    spread: float
    band: float


def fit_ratios(ratios: Sequence[float]) -> RatioFit:
    """Median and robust relative spread of the ratios; the band they give (it may exceed the cap)."""
    if not ratios or min(ratios) <= 0:
        raise ValueError("expected positive ratios")
    factor = statistics.median(ratios)
    spread = MAD_TO_SIGMA * statistics.median(abs(r - factor) for r in ratios) / factor
    return RatioFit(factor, spread, smoke_policy().decode_band.calibrated(spread))


class CalibrationReport(NamedTuple):
    """What ``advisor smoke calibrate`` did: the regimes calibrated, those not and why, runs left out."""

    calibrations: list[Calibration]
    skipped: list[str]
    excluded: dict[str, int]


def _exclusion(row: Mapping[str, Any], min_tokens: int) -> str | None:
    """Why a history row cannot be calibrated on, or None when it can."""
    if not row.get("checks_ok"):
        return "did not run through or failed an output check"
    if row.get("busy") is None:
        return "recorded without a load measurement"
    if row["busy"]:
        return "ran on a busy machine"
    if (row.get("completion_tokens") or 0) < min_tokens:
        return f"decoded fewer than {min_tokens} tokens"
    if not row.get("decode_tokens_per_s") or not row.get("baseline_decode_tokens_per_s"):
        return "has no speed measurement or prediction"
    return None


def fit_history(rows: Sequence[Mapping[str, Any]], machine_key: str) -> CalibrationReport:
    """Calibrate every regime of ``rows`` (history rows of one machine) that has enough quiet runs."""
    policy = smoke_policy()
    excluded: Counter[str] = Counter()
    by_regime: dict[Regime, list[float]] = {}
    for row in rows:
        why = _exclusion(row, policy.calibration.min_decode_tokens)
        if why is not None:
            excluded[why] += 1
            continue
        regime = Regime(str(row["device"]), int(row["threads"]), int(row.get("gpu_layers") or 0))
        by_regime.setdefault(regime, []).append(row["decode_tokens_per_s"] / row["baseline_decode_tokens_per_s"])
    cpu = decode_constants_for(None)
    fitted_at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    calibrations, skipped = [], []
    for regime, ratios in sorted(by_regime.items()):
        if len(ratios) < policy.calibration.min_runs:
            skipped.append(f"{regime.key}: {len(ratios)} quiet runs, at least {policy.calibration.min_runs} needed")
            continue
        fit = fit_ratios(ratios)
        if fit.band > policy.decode_band.cap:
            skipped.append(
                f"{regime.key}: its {len(ratios)} quiet runs scatter ±{fit.spread:.0%} around x{fit.factor:.2f} of "
                f"the prediction; the band would be ±{fit.band:.0%}, over the cap of ±{policy.decode_band.cap:.0%}"
            )
            continue
        on_cpu = regime.device == "cpu"
        calibrations.append(
            Calibration(
                machine_key=machine_key,
                regime=regime.key,
                factor=round(fit.factor, 4),
                spread=round(fit.spread, 4),
                band=round(fit.band, 4),
                n_runs=len(ratios),
                fitted_at=fitted_at,
                decode_efficiency=round(cpu.efficiency * fit.factor, 4) if on_cpu else None,
                decode_fixed_ms=round(cpu.fixed_ms / fit.factor, 4) if on_cpu else None,
                catalog_efficiency=cpu.efficiency if on_cpu else None,
                catalog_fixed_ms=cpu.fixed_ms if on_cpu else None,
            )
        )
    return CalibrationReport(calibrations, skipped, dict(excluded))


def calibrate(machine_key: str | None = None, history: Path | None = None) -> CalibrationReport:
    """Calibrate this machine's regimes from its history and store them; NothingToCalibrate if none."""
    key = machine_key or detect_machine(with_gpus=False).key
    rows = list_runs(limit=None, machine_key=key, path=history)
    report = fit_history(rows, key)
    if not report.calibrations:
        if not rows:
            raise NothingToCalibrate(
                f"no smoke runs in the history for this machine ({key}); run `advisor smoke FILE.gguf` first"
            )
        why = "; ".join(report.skipped + [f"{n} runs {reason}" for reason, n in report.excluded.items()])
        raise NothingToCalibrate(f"nothing to calibrate from {len(rows)} runs on this machine: {why}")
    for calibration in report.calibrations:
        store_calibration(calibration)
    return report


def store_calibration(calibration: Calibration) -> Path:
    path = calibration_path()
    data = _read_calibrations(path)
    data.setdefault(calibration.machine_key, {})[calibration.regime] = asdict(calibration)
    write_json(path, {"machines": data})
    return path


def _read_calibrations(path: Path) -> dict[str, dict[str, Any]]:
    try:
        data = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return {}
    machines = data.get("machines") if isinstance(data, dict) else None
    return machines if isinstance(machines, dict) else {}


def load_calibration(machine_key: str | None = None, regime: Regime | None = None) -> Calibration | None:
    """This machine's calibration for ``regime`` (default: the CPU at its physical cores), or None
    (never calibrated, another machine or regime, an older format, or corrupt)."""
    key = machine_key or detect_machine(with_gpus=False).key
    regime = regime or default_cpu_regime()
    entry = _read_calibrations(calibration_path()).get(key, {}).get(regime.key)
    if not isinstance(entry, dict):
        return None
    try:
        calibration = Calibration(**entry)
    except TypeError:
        return None
    if not calibration.factor > 0 or not 0 < calibration.band <= smoke_policy().decode_band.cap:
        return None
    return calibration

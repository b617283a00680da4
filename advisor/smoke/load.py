"""How busy the machine was around a smoke run: the CPUs other work kept busy before the run and
during it, and whether that disturbed llama.cpp's threads (pure).

A speed measured on a busy machine says nothing about the prediction, so a miss there is
"inconclusive", not a failure (:mod:`advisor.smoke.verdict`), and the run is left out of any
calibration (:mod:`advisor.smoke.calibration`). Busy means contention: other work needing more CPUs
than the run's threads left free, by more than ``busy.contention_cpus``
(catalog/smoke_policy.yaml). Measured by :class:`advisor.machine.CpuClock`; where there is no
``/proc/stat`` the one-minute load average before the run stands in for the "before" figure.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from advisor.smoke.policy import smoke_policy
from advisor.smoke.units import rounded


@dataclass(frozen=True)
class MachineLoad:
    """Other work on this machine around one run, in CPUs (1.3 = one CPU and a third busy)."""

    usable_cpus: int
    threads: int
    others_before: float | None
    others_during: float | None

    def contention(self, others: float | None) -> float | None:
        """CPUs of other work beyond the ones the threads left free."""
        return None if others is None else others - max(self.usable_cpus - self.threads, 0)

    @property
    def busy_before(self) -> bool:
        return (self.contention(self.others_before) or 0.0) > smoke_policy().busy.contention_cpus

    @property
    def busy_during(self) -> bool:
        return (self.contention(self.others_during) or 0.0) > smoke_policy().busy.contention_cpus

    @property
    def busy(self) -> bool:
        return self.busy_before or self.busy_during

    @property
    def measured(self) -> bool:
        return self.others_before is not None or self.others_during is not None

    def describe(self) -> str:
        """``other work kept 1.2 of 2 CPUs busy before the run and 0.9 during it``."""
        parts = []
        if self.others_before is not None:
            parts.append(f"{self.others_before:.1f} of {self.usable_cpus} CPUs busy before the run")
        if self.others_during is not None:
            parts.append(
                f"{self.others_during:.1f} during it"
                if parts
                else f"{self.others_during:.1f} of {self.usable_cpus} CPUs busy during the run"
            )
        return "other work kept " + " and ".join(parts) if parts else "the machine's load could not be measured"

    def as_dict(self) -> dict[str, Any]:
        return {
            "usable_cpus": self.usable_cpus,
            "others_busy_cpus_before": rounded(self.others_before),
            "others_busy_cpus_during": rounded(self.others_during),
            "contention_cpus_limit": smoke_policy().busy.contention_cpus,
            "busy_before": self.busy_before,
            "busy_during": self.busy_during,
            "busy": self.busy,
        }

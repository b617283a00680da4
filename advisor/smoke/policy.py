"""The bands and thresholds ``advisor smoke`` holds its measurements to: the schema of
catalog/smoke_policy.yaml.

They are stated choices, each with its reason in the YAML, not constants of the code: how wide the
decode-speed band is before and after a calibration and the cap no calibration exceeds, the slack
on the memory band, when the machine counts as busy, what output counts as degenerate, which history
runs a calibration may use, and when another thread count is worth a hint.
"""

from __future__ import annotations

from functools import lru_cache

from pydantic import BaseModel, ConfigDict, model_validator

from advisor.catalog.tables import load_table


class DecodeBand(BaseModel):
    """± the predicted decode speed, as a fraction."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    uncalibrated: float
    cap: float
    calibrated_spread_multiple: float
    calibrated_min: float

    @model_validator(mode="after")
    def _cap_holds(self) -> DecodeBand:
        if not self.calibrated_min <= self.cap or self.uncalibrated > self.cap:
            raise ValueError("decode_band: calibrated_min and uncalibrated must not exceed the cap")
        return self

    def calibrated(self, spread: float) -> float:
        """The band a calibration with this robust relative spread states (it may exceed the cap:
        the caller refuses such a calibration)."""
        return max(self.calibrated_min, self.calibrated_spread_multiple * spread)


class BusyPolicy(BaseModel):
    """When other work on the machine makes a speed measurement unreliable."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    contention_cpus: float
    sample_s: float


class CalibrationPolicy(BaseModel):
    """Which history runs ``advisor smoke calibrate`` uses, and how many a regime needs."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    min_decode_tokens: int
    min_runs: int


class ThreadsPolicy(BaseModel):
    """When the history is worth a hint at another thread count."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    hint_margin: float


class SmokePolicy(BaseModel):
    """Typed view of smoke_policy.yaml."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    decode_band: DecodeBand
    memory_slack: float
    busy: BusyPolicy
    repeat_min_tokens: int
    calibration: CalibrationPolicy
    threads: ThreadsPolicy


@lru_cache(maxsize=1)
def smoke_policy() -> SmokePolicy:
    """The packaged smoke policy, validated once."""
    return load_table("smoke_policy.yaml", SmokePolicy)

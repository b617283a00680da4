"""The bands and thresholds ``advisor smoke`` holds its measurements to: the schema of
catalog/smoke_policy.yaml.

They are stated choices, each with its reason in the YAML, not constants of the code: how wide the
decode-speed band is before and after a calibration, the slack on the memory band, when the machine
counts as busy, what output counts as degenerate, and which history runs a calibration may use.
"""

from __future__ import annotations

from functools import lru_cache

from pydantic import BaseModel, ConfigDict

from advisor.catalog.tables import load_table


class DecodeBand(BaseModel):
    """± the predicted decode speed, as a fraction."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    uncalibrated: float
    calibrated_rms_multiple: float
    calibrated_min: float

    def calibrated(self, rms_error: float) -> float:
        """The band a calibration with this rms relative error states."""
        return max(self.calibrated_min, self.calibrated_rms_multiple * rms_error)


class CalibrationPolicy(BaseModel):
    """Which history runs ``advisor smoke calibrate`` uses, and when it fits both constants."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    min_decode_tokens: int
    size_spread_for_two_parameters: float


class SmokePolicy(BaseModel):
    """Typed view of smoke_policy.yaml."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    decode_band: DecodeBand
    memory_slack: float
    busy_load_per_cpu: float
    repeat_min_tokens: int
    calibration: CalibrationPolicy


@lru_cache(maxsize=1)
def smoke_policy() -> SmokePolicy:
    """The packaged smoke policy, validated once."""
    return load_table("smoke_policy.yaml", SmokePolicy)

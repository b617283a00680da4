"""The verdict of one smoke run: pass, fail or inconclusive, with every reason (pure).

A run passes only when everything the prediction states was measured and held: it ran, its output
checks passed, the memory lies in its band and the decode speed in its band. A miss outside a band
fails, except a speed miss on a busy machine (:class:`advisor.smoke.load.MachineLoad`, measured
before and during the run), which is inconclusive: the measurement cannot tell a wrong prediction
from a disturbed run. A prediction that could not be checked (no VRAM reading, no speed prediction
for the device) is inconclusive too, never a pass: an unverified prediction must not turn CI green.
Memory is not excused by a busy machine: other work does not change how much the model holds.
"""

from __future__ import annotations

from typing import Any, Literal, NamedTuple

from advisor.smoke.load import MachineLoad
from advisor.smoke.units import mib

PASS: Literal["pass"] = "pass"
FAIL: Literal["fail"] = "fail"
INCONCLUSIVE: Literal["inconclusive"] = "inconclusive"


class Verdict(NamedTuple):
    """``pass``, ``fail`` or ``inconclusive``, and why (empty for a pass)."""

    verdict: Literal["pass", "fail", "inconclusive"]
    reasons: list[str]

    @property
    def ok(self) -> bool:
        return self.verdict == PASS


class DecodeCheck(NamedTuple):
    """The decode speed measured against the prediction's band."""

    measured: float | None
    predicted: float | None
    error: float | None
    band: float


def judge(*, failure: str | None, memory: dict[str, Any], decode: DecodeCheck, load: MachineLoad | None) -> Verdict:
    """The verdict for a run: ``failure`` is why it did not run through (crash, failed output checks)."""
    if failure is not None:
        return Verdict(FAIL, [failure])
    failed: list[str] = []
    unverified: list[str] = []
    within = memory.get("within_band")
    if within is False:
        low, high = memory["band_bytes"]
        failed.append(
            f"memory: {memory['measured']} {mib(memory['measured_bytes'])} is outside its band "
            f"{mib(low)} .. {mib(high)} (predicted {mib(memory['predicted_bytes'])}, {memory['error']:+.0%})"
        )
    elif within is None:
        unverified.append(f"memory not verified: {memory.get('basis', 'not measured')}")
    if decode.predicted is None:
        unverified.append("decode speed not verified: there is no speed prediction for this device")
    elif decode.measured is None or decode.error is None:
        unverified.append("decode speed not verified: too few tokens were decoded to time them")
    elif abs(decode.error) > decode.band:
        miss = (
            f"decode speed: {decode.measured:,.1f} tok/s is {decode.error:+.0%} off the predicted "
            f"{decode.predicted:,.1f} tok/s, outside ±{decode.band:.0%}"
        )
        if load is not None and load.busy:
            unverified.append(f"{miss}, but the machine was busy ({load.describe()}): run it again on a quiet machine")
        else:
            failed.append(miss)
    if failed:
        return Verdict(FAIL, failed + unverified)
    if unverified:
        return Verdict(INCONCLUSIVE, unverified)
    return Verdict(PASS, [])

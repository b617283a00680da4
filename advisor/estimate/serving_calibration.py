"""The serving model calibrated by a benchmark of the user's own stack (pure: no I/O).

Why: the capacity model (:mod:`advisor.estimate.serving`) misses published vLLM/SGLang runs mostly by a
factor per harness (engine version, flags, client), as large as everything else together (docs/serving.md
§2: the spread of the sources' median errors is 0.35 in log, the spread inside a source 0.39). That factor
cannot be known for a stack nobody has measured, but one ``advisor bench`` sweep of the stack measures it.

Map:

* :class:`CalibrationPoint`: one measured concurrency level beside the model's uncalibrated prediction for
  the same deployment and the level's measured request shape;
* :func:`throughput_ratio` / :func:`ttft_ratio`: measured / predicted at a concurrency, interpolated
  linearly in log concurrency between the measured levels (flat beyond them; the median where a level was
  measured more than once). Measured on the published runs: a level predicted from the other levels of the
  same source, with constants fitted without that source's publisher, is within ±25 % for 83 % of closed-loop
  rows, against 47.5 % uncalibrated (docs/serving.md §2c);
* :func:`calibrate`: a :class:`~advisor.estimate.serving.ServingCapacity` with the ratios applied (output
  and per-stream tokens/s times the ratio, TPOT divided by it, TTFT times its own ratio); the physical
  internals (decode step, prefill, bound, KV limit) stay the model's.
"""

from __future__ import annotations

import itertools
import math
import statistics
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from advisor.estimate.serving import ServingCapacity

#: What a calibration belongs to (one replica): engine, model, GPU type, TP, PP, checkpoint format, checkpoint
#: repository and the engine's load-time quantization ("" for none).
ReplicaKey = tuple[str, str, str, int, int, str, str, str]


@dataclass(frozen=True)
class CalibrationPoint:
    """One measured level and the model's uncalibrated prediction for it (same replica, same request shape:
    ``prompt_tokens`` and ``output_tokens`` are the level's measured means, kept so the prediction can be
    recomputed when the model's constants move)."""

    concurrency: int
    measured_tokens_per_s: float
    predicted_tokens_per_s: float
    measured_ttft_s: float | None = None
    predicted_ttft_s: float | None = None
    prompt_tokens: int | None = None
    output_tokens: int | None = None

    @property
    def log_ratio(self) -> float | None:
        """log(measured / predicted) throughput; None when either is missing or not positive."""
        if self.measured_tokens_per_s <= 0 or self.predicted_tokens_per_s <= 0:
            return None
        return math.log(self.measured_tokens_per_s / self.predicted_tokens_per_s)

    @property
    def log_ttft_ratio(self) -> float | None:
        m, p = self.measured_ttft_s, self.predicted_ttft_s
        return math.log(m / p) if m and p and m > 0 and p > 0 else None


def interpolate_log_ratio(levels: Sequence[tuple[int, float]], concurrency: int) -> float | None:
    """The log ratio at ``concurrency`` from (concurrency, log ratio) pairs: linear in log concurrency between
    the nearest measured levels, the end level's value beyond them, the median of repeated levels."""
    if concurrency < 1:
        raise ValueError("concurrency must be at least 1")
    by_level: dict[int, list[float]] = defaultdict(list)
    for level, value in levels:
        if level >= 1:
            by_level[level].append(value)
    if not by_level:
        return None
    points = sorted((math.log(level), statistics.median(values)) for level, values in by_level.items())
    x = math.log(concurrency)
    if x <= points[0][0]:
        return points[0][1]
    if x >= points[-1][0]:
        return points[-1][1]
    for (x0, y0), (x1, y1) in itertools.pairwise(points):
        if x0 <= x <= x1:
            return y0 + (y1 - y0) * (x - x0) / (x1 - x0)
    return points[-1][1]  # pragma: no cover - the loop always brackets x


def _ratio(
    points: Sequence[CalibrationPoint], concurrency: int, value: Callable[[CalibrationPoint], float | None]
) -> float | None:
    levels = [(p.concurrency, v) for p in points if (v := value(p)) is not None]
    log_ratio = interpolate_log_ratio(levels, concurrency)
    return None if log_ratio is None else math.exp(log_ratio)


def throughput_ratio(points: Sequence[CalibrationPoint], concurrency: int) -> float | None:
    """Measured / predicted output tokens/s at ``concurrency`` (None: no usable point)."""
    return _ratio(points, concurrency, lambda p: p.log_ratio)


def ttft_ratio(points: Sequence[CalibrationPoint], concurrency: int) -> float | None:
    """Measured / predicted time to first token at ``concurrency`` (None: no level measured it)."""
    return _ratio(points, concurrency, lambda p: p.log_ttft_ratio)


def calibrate(capacity: ServingCapacity, ratio: float, first_token_ratio: float | None = None) -> ServingCapacity:
    """``capacity`` as the measured stack delivers it: throughput x ``ratio``, TPOT / ``ratio``, TTFT x
    ``first_token_ratio`` (unchanged when None)."""
    if ratio <= 0 or (first_token_ratio is not None and first_token_ratio <= 0):
        raise ValueError("calibration ratios must be positive")
    return replace(
        capacity,
        output_tokens_per_s=capacity.output_tokens_per_s * ratio,
        per_stream_tokens_per_s=capacity.per_stream_tokens_per_s * ratio,
        tpot_s=capacity.tpot_s / ratio,
        ttft_s=capacity.ttft_s * first_token_ratio if first_token_ratio is not None else capacity.ttft_s,
    )

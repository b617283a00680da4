"""Pure numbers for a benchmark run: percentiles, one concurrency level's summary, goodput.

Kept apart from the HTTP client and the threads so the arithmetic is tested on made-up timings.
Definitions (docs/bench.md):

* TTFT: request sent → first generated text; E2E: request sent → end of the stream;
* ITL: the gaps between consecutive chunks that carry text (a chunk may hold several tokens);
* per-stream decode speed: ``(output tokens - 1) / (E2E - TTFT)``;
* output tokens/s: every token the successful requests received over the run's wall time;
* goodput: the share of requests (failed ones included) that met the latency targets.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class RequestResult:
    """One request as the client saw it; ``error`` is None when it completed."""

    ok: bool
    error: str | None
    connection_error: bool
    ttft_s: float | None
    e2e_s: float
    output_tokens: int
    itl_s: tuple[float, ...]
    usage_counted: bool
    prompt_tokens: int | None = None

    @property
    def decode_tokens_per_s(self) -> float | None:
        """Tokens after the first over the time after the first; None with one token or less."""
        if self.ttft_s is None or self.output_tokens < 2 or self.e2e_s <= self.ttft_s:
            return None
        return (self.output_tokens - 1) / (self.e2e_s - self.ttft_s)


@dataclass(frozen=True)
class Targets:
    """The latency a request must meet to count towards goodput (None: no target on that)."""

    max_first_token_s: float | None
    min_tokens_per_s: float | None

    @property
    def any(self) -> bool:
        return self.max_first_token_s is not None or self.min_tokens_per_s is not None


def percentile(values: Sequence[float], q: float) -> float | None:
    """The ``q``-th percentile (0-100) by linear interpolation between order statistics (numpy's
    default); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100.0
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def p50_p95(values: Sequence[float]) -> dict[str, float | None]:
    """The contract's ``{"p50": .., "p95": ..}`` in seconds, rounded to the millisecond's tenth."""
    return {name: _round(percentile(values, q), 4) for name, q in (("p50", 50.0), ("p95", 95.0))}


def meets(result: RequestResult, targets: Targets) -> bool:
    """A completed request within the TTFT limit and at least the per-stream decode speed.

    A request that generated one token or none has no decode speed: only its TTFT is judged.
    """
    if not result.ok:
        return False
    if targets.max_first_token_s is not None and (result.ttft_s is None or result.ttft_s > targets.max_first_token_s):
        return False
    speed = result.decode_tokens_per_s
    return targets.min_tokens_per_s is None or speed is None or speed >= targets.min_tokens_per_s


def goodput(results: Sequence[RequestResult], targets: Targets) -> float | None:
    """The share of requests meeting the targets; None without targets or without requests."""
    if not targets.any or not results:
        return None
    return round(sum(meets(r, targets) for r in results) / len(results), 4)


@dataclass(frozen=True)
class RunSummary:
    """One concurrency level: the contract's run object (:meth:`as_dict`)."""

    concurrency: int
    results: tuple[RequestResult, ...]
    wall_s: float
    targets: Targets

    @property
    def errors(self) -> int:
        return sum(not r.ok for r in self.results)

    @property
    def output_tokens(self) -> int:
        return sum(r.output_tokens for r in self.results if r.ok)

    @property
    def output_tokens_per_s(self) -> float | None:
        return self.output_tokens / self.wall_s if self.wall_s > 0 and self.output_tokens else None

    def as_dict(self) -> dict[str, Any]:
        ok = [r for r in self.results if r.ok]
        decode = [s for r in ok if (s := r.decode_tokens_per_s) is not None]
        messages = list(dict.fromkeys(r.error for r in self.results if r.error))
        prompt = [r.prompt_tokens for r in ok if r.prompt_tokens is not None]
        return {
            "concurrency": self.concurrency,
            "requests": len(self.results),
            "errors": self.errors,
            "output_tokens_per_s": _round(self.output_tokens_per_s, 2),
            "ttft_s": p50_p95([r.ttft_s for r in ok if r.ttft_s is not None]),
            "itl_s": p50_p95([gap for r in ok for gap in r.itl_s]),
            "e2e_s": p50_p95([r.e2e_s for r in ok]),
            "output_tokens": self.output_tokens,
            "mean_output_tokens": _round(self.output_tokens / len(ok), 1) if ok else None,
            "mean_prompt_tokens": _round(sum(prompt) / len(prompt), 1) if prompt else None,
            "stream_tokens_per_s": p50_p95(decode),
            "wall_s": _round(self.wall_s, 3),
            "goodput": goodput(self.results, self.targets),
            "tokens_counted_from": counted_from(ok),
            "error_messages": messages[:3],
        }


def counted_from(results: Sequence[RequestResult]) -> str | None:
    """Where the completed requests' token counts came from: the server's ``usage``, the text chunks
    counted, ``mixed``, or None without a completed request."""
    sources = {"usage" if r.usage_counted else "chunks" for r in results if r.ok}
    return None if not sources else sources.pop() if len(sources) == 1 else "mixed"


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)

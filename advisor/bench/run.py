"""The sweep: each concurrency level runs its requests from that many worker threads.

Bounded three ways: requests per level, a timeout per request, and an overall time cap after which
no request starts (a running one is cut at the cap). A level that loses the server (connection
refused or dropped) stops handing out requests and ends the sweep; what was measured is kept and
the reason is stated. Before the first level one short warm-up request (not counted) checks that
the endpoint answers and whether it accepts ``stream_options`` (otherwise tokens are counted from
the chunks).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from advisor.bench.client import TIMED_OUT, Api, CompletionRequest, Endpoint, stream_completion
from advisor.bench.stats import RequestResult, RunSummary, Targets
from advisor.errors import AdvisorError, EnvironmentProblem

#: Called as (concurrency, requests finished, requests in the level, errors so far).
Progress = Callable[[int, int, int, int], None]

#: Common one-token English words; a prompt of N of them is about N tokens for most tokenizers.
_VOCABULARY = (
    "the river city light market story garden winter house morning friend music paper table window road forest "
    "summer letter train school evening bread water stone cloud field mountain harbour night village teacher "
    "doctor engine bridge island family kitchen candle coffee animal country"
)
_WORDS = _VOCABULARY.split()

_WARM_UP_TOKENS = 4


class EndpointFailed(AdvisorError):
    """The endpoint answered but failed the warm-up request (exit 1: it failed requests)."""


@dataclass(frozen=True)
class BenchOptions:
    """The traffic shape and the bounds of one sweep."""

    concurrency: tuple[int, ...]
    requests: int
    input_tokens: int
    output_tokens: int
    timeout_s: float
    max_time_s: float
    api: Api
    targets: Targets


@dataclass(frozen=True)
class Sweep:
    """The levels measured, and why the sweep stopped early (None: every level ran)."""

    runs: tuple[RunSummary, ...]
    stopped: str | None


def make_prompt(input_tokens: int, index: int) -> str:
    """About ``input_tokens`` tokens of text; each request's differs from its first word, so a
    server's prefix cache does not turn prefill into a lookup."""
    head = f"Request {index}. Write a long story using these words:"
    count = max(0, input_tokens - 12)
    words = [_WORDS[(index * 7 + i) % len(_WORDS)] for i in range(count)]
    return " ".join([head, *words])


def warm_up(endpoint: Endpoint, request: CompletionRequest, timeout_s: float) -> CompletionRequest:
    """One short request; the request form the endpoint accepts (``stream_options`` dropped when it
    is refused). Raises :class:`EnvironmentProblem` (unreachable) or :class:`EndpointFailed`."""
    probe = replace(request, max_tokens=min(request.max_tokens, _WARM_UP_TOKENS))
    result = stream_completion(endpoint, probe, timeout_s)
    if result.error == TIMED_OUT:  # accepted, never answered: no endpoint to benchmark
        raise EnvironmentProblem(f"{endpoint.url}: no answer to the first request within {timeout_s:g} s (--timeout)")
    if not result.ok and not result.connection_error and request.include_usage:
        without = stream_completion(endpoint, replace(probe, include_usage=False), timeout_s)
        if without.ok:
            return replace(request, include_usage=False)
    if result.ok:
        return request
    if result.connection_error:
        raise EnvironmentProblem(f"{endpoint.url}: unreachable: {result.error}")
    raise EndpointFailed(f"{endpoint.url}: the first request failed: {result.error}")


def run_sweep(
    endpoint: Endpoint, request: CompletionRequest, options: BenchOptions, progress: Progress | None = None
) -> Sweep:
    """Every concurrency level in turn, until the time cap or the server is lost."""
    deadline = time.monotonic() + options.max_time_s
    runs: list[RunSummary] = []
    stopped = None
    for concurrency in options.concurrency:
        if time.monotonic() >= deadline:
            stopped = f"the overall time cap ({options.max_time_s:g} s) was reached before concurrency {concurrency}"
            break
        summary = _run_level(endpoint, request, options, concurrency, deadline, progress)
        runs.append(summary)
        lost = next((r for r in summary.results if r.connection_error), None)
        if lost is not None:
            stopped = f"the endpoint stopped answering at concurrency {concurrency}: {lost.error}"
            break
        if time.monotonic() >= deadline and concurrency != options.concurrency[-1]:
            stopped = f"the overall time cap ({options.max_time_s:g} s) was reached at concurrency {concurrency}"
            break
    return Sweep(tuple(runs), stopped)


def _run_level(
    endpoint: Endpoint,
    request: CompletionRequest,
    options: BenchOptions,
    concurrency: int,
    deadline: float,
    progress: Progress | None,
) -> RunSummary:
    lock = threading.Lock()
    results: list[RequestResult] = []
    handed_out = 0
    lost = threading.Event()

    def next_index() -> int | None:
        nonlocal handed_out
        with lock:
            if handed_out >= options.requests or lost.is_set() or time.monotonic() >= deadline:
                return None
            handed_out += 1
            return handed_out

    def worker() -> None:
        while (index := next_index()) is not None:
            timeout = min(options.timeout_s, max(0.1, deadline - time.monotonic()))
            prompt = make_prompt(options.input_tokens, index + 1000 * concurrency)
            result = stream_completion(endpoint, replace(request, prompt=prompt), timeout)
            with lock:
                results.append(result)
                if result.connection_error:
                    lost.set()
                if progress is not None:
                    progress(concurrency, len(results), options.requests, sum(not r.ok for r in results))

    started = time.perf_counter()
    threads = [threading.Thread(target=worker, daemon=True) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    return RunSummary(concurrency, tuple(results), wall, options.targets)

"""The bench report: the ``--format json`` object (a stable contract, docs/bench.md), its table,
and the verdict the exit code follows.
"""

from __future__ import annotations

from typing import Any

from advisor.bench.client import CompletionRequest, Endpoint
from advisor.bench.predict import BenchPrediction
from advisor.bench.run import BenchOptions, Sweep
from advisor.bench.stats import counted_from, goodput


def bench_report(
    endpoint: Endpoint,
    request: CompletionRequest,
    options: BenchOptions,
    sweep: Sweep,
    prediction: BenchPrediction | None,
    min_goodput: float,
) -> dict[str, Any]:
    """The contract's object; ``failures`` lists why the exit code is 1 (empty: 0)."""
    runs = []
    for summary in sweep.runs:
        run = summary.as_dict()
        if prediction is not None:
            run |= prediction.run_fields(summary.concurrency, *_shape(run, options))
        runs.append(run)
    every = [result for summary in sweep.runs for result in summary.results]
    overall = goodput(every, options.targets)
    predicted = None
    if prediction is not None and sweep.runs:
        top = sweep.runs[-1]
        predicted = prediction.as_dict(top.concurrency, top.output_tokens_per_s, *_shape(runs[-1], options))
    failures = [
        f"{run['errors']} of {run['requests']} requests failed at concurrency {run['concurrency']}"
        + (f" ({'; '.join(run['error_messages'])})" if run["error_messages"] else "")
        for run in runs
        if run["errors"]
    ]
    if sweep.stopped and not sweep.stopped.startswith("the overall time cap"):
        failures.append(sweep.stopped)
    if not every:
        failures.append("no request was sent")
    if overall is not None and overall < min_goodput:
        failures.append(f"goodput {overall:.0%} is below {min_goodput:.0%} of requests meeting the latency targets")
    return {
        "endpoint": endpoint.url,
        "model": request.model,
        "api": request.api,
        "runs": runs,
        "goodput": overall,
        "predicted": predicted,
        "traffic": {
            "input_tokens": options.input_tokens,
            "output_tokens": options.output_tokens,
            "requests_per_level": options.requests,
        },
        "targets": {
            "max_first_token_s": options.targets.max_first_token_s,
            "min_tokens_per_s": options.targets.min_tokens_per_s,
            "min_goodput": min_goodput,
        },
        "tokens_counted_from": counted_from(every),
        "stopped": sweep.stopped,
        "ok": not failures,
        "failures": failures,
    }


def _shape(run: dict[str, Any], options: BenchOptions) -> tuple[int, int]:
    """The level's measured mean prompt and output tokens (the server's usage), else the requested ones."""
    prompt = run.get("mean_prompt_tokens") or options.input_tokens
    output = run.get("mean_output_tokens") or options.output_tokens
    return max(1, round(prompt)), max(1, round(output))


def _cell(value: Any, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def table_rows(report: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per concurrency level for :func:`advisor.cli.options.print_table`."""
    return [
        {
            "conc": run["concurrency"],
            "requests": run["requests"],
            "errors": run["errors"],
            "tok/s": _cell(run["output_tokens_per_s"], 1),
            "predicted": _cell(run.get("predicted_output_tokens_per_s"), 1),
            "ttft p50": _cell(run["ttft_s"]["p50"]),
            "ttft p95": _cell(run["ttft_s"]["p95"]),
            "itl p50": _cell(run["itl_s"]["p50"], 4),
            "itl p95": _cell(run["itl_s"]["p95"], 4),
            "e2e p50": _cell(run["e2e_s"]["p50"]),
            "e2e p95": _cell(run["e2e_s"]["p95"]),
            "goodput": "-" if run["goodput"] is None else f"{run['goodput']:.0%}",
        }
        for run in report["runs"]
    ]


TABLE_COLUMNS = [
    "conc",
    "requests",
    "errors",
    "tok/s",
    "predicted",
    "ttft p50",
    "ttft p95",
    "itl p50",
    "itl p95",
    "e2e p50",
    "e2e p95",
    "goodput",
]


def summary_lines(report: dict[str, Any]) -> list[str]:
    """The lines under the table: traffic, goodput, prediction, why it stopped, what failed."""
    traffic, targets = report["traffic"], report["targets"]
    lines = [
        f"traffic: ~{traffic['input_tokens']} prompt tokens, up to {traffic['output_tokens']} output tokens, "
        f"{traffic['requests_per_level']} requests per level; tokens counted from "
        f"{report['tokens_counted_from'] or '-'}"
    ]
    if report["goodput"] is not None:
        wanted = []
        if targets["max_first_token_s"] is not None:
            wanted.append(f"first token <= {targets['max_first_token_s']:g} s")
        if targets["min_tokens_per_s"] is not None:
            wanted.append(f">= {targets['min_tokens_per_s']:g} tokens/s per stream")
        lines.append(f"goodput: {report['goodput']:.0%} of requests met {' and '.join(wanted)}")
    predicted = report["predicted"]
    if predicted is not None:
        error = "" if predicted["error"] is None else f" (measured {predicted['error']:+.0%})"
        lines.append(
            f"predicted: {predicted['output_tokens_per_s']:g} tokens/s at concurrency {predicted['concurrency']}"
            f"{error}; {predicted['basis']}"
        )
    if report["stopped"]:
        lines.append(f"stopped: {report['stopped']}")
    lines.extend(f"FAILED: {failure}" for failure in report["failures"])
    return lines

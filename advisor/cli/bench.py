"""``advisor bench URL``: load-test an OpenAI-compatible endpoint against the plan (docs/bench.md)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from advisor.cli.options import SessionOptions, print_table

if TYPE_CHECKING:
    from advisor.bench.client import Endpoint
    from advisor.bench.predict import BenchPrediction
    from advisor.bench.run import Progress
    from advisor.model.requirements import Requirements

#: Levels swept when --concurrency is not given.
DEFAULT_CONCURRENCY = (1, 4)


@click.command(name="bench")
@click.argument("url")
@click.option("--model", default=None, help="Model id to request (default: the first the endpoint lists).")
@click.option(
    "--concurrency",
    "concurrency",
    multiple=True,
    type=click.IntRange(min=1, max=256),
    help="Concurrent streams of one level (repeatable; default 1 and 4).",
)
@click.option(
    "--requests", type=click.IntRange(min=1, max=10_000), default=16, show_default=True, help="Requests per level."
)
@click.option(
    "--input-tokens",
    type=click.IntRange(min=1, max=1_000_000),
    default=None,
    help="Prompt length in tokens, about (default: the answers' traffic, else 500).",
)
@click.option(
    "--output-tokens",
    type=click.IntRange(min=1, max=100_000),
    default=None,
    help="max_tokens per request (default: the answers' traffic, else 200).",
)
@click.option(
    "--answers",
    "answers_path",
    type=click.Path(path_type=Path),
    default=None,
    help="Answers file: traffic shape, latency targets and hardware for the prediction.",
)
@click.option(
    "--max-first-token-s",
    type=click.FloatRange(min=0),
    default=None,
    help="Goodput target: time to first token (default: the answers' latency).",
)
@click.option(
    "--min-tokens-per-s",
    type=click.FloatRange(min=0),
    default=None,
    help="Goodput target: decode speed per stream (default: the answers' latency).",
)
@click.option(
    "--min-goodput",
    type=click.FloatRange(min=0, max=1),
    default=0.9,
    show_default=True,
    help="Exit 1 when a smaller share of requests meets the targets.",
)
@click.option(
    "--timeout",
    "timeout_s",
    type=click.FloatRange(min=0.1),
    default=60.0,
    show_default=True,
    help="Seconds one request may take.",
)
@click.option(
    "--max-time",
    "max_time_s",
    type=click.FloatRange(min=1),
    default=600.0,
    show_default=True,
    help="Seconds for the whole sweep; no request starts after it.",
)
@click.option(
    "--api",
    type=click.Choice(["chat", "completions"]),
    default="chat",
    show_default=True,
    help="/v1/chat/completions or /v1/completions.",
)
@click.option(
    "--predict",
    "predict_spec",
    default=None,
    metavar="MODEL@HARDWARE",
    help="Compare with the planner's estimate for a catalog model on catalog hardware, e.g. "
    "google/gemma-3-270m-it@cpu-ddr5-dual.",
)
@click.option(
    "--quant",
    default=None,
    help="Weight format for the prediction (default: the plan's first, Q4_K_M; with --engine vllm/sglang: F16, "
    "the checkpoint as published).",
)
@click.option(
    "--engine",
    type=click.Choice(["llama.cpp", "vllm", "sglang"]),
    default="llama.cpp",
    show_default=True,
    help="The server behind the endpoint, for the prediction: vllm/sglang use the continuous-batching serving "
    "model (and the sweep then calibrates `advisor fit --engine`).",
)
@click.option("--tp", type=click.IntRange(min=1), default=None, help="Tensor parallel GPUs of the served replica.")
@click.option("--pp", type=click.IntRange(min=1), default=None, help="Pipeline parallel stages of the served replica.")
@click.option(
    "--api-key-env",
    default=None,
    metavar="VAR",
    help="Send the key in this environment variable as a Bearer token (never read unless named).",
)
@click.option("--no-record", is_flag=True, help="Do not store the result in the local history.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
def bench(
    url: str,
    model: str | None,
    concurrency: tuple[int, ...],
    requests: int,
    input_tokens: int | None,
    output_tokens: int | None,
    answers_path: Path | None,
    max_first_token_s: float | None,
    min_tokens_per_s: float | None,
    min_goodput: float,
    timeout_s: float,
    max_time_s: float,
    api: str,
    predict_spec: str | None,
    quant: str | None,
    engine: str,
    tp: int | None,
    pp: int | None,
    api_key_env: str | None,
    no_record: bool,
    fmt: str,
) -> None:
    """Load-test the OpenAI-compatible endpoint at URL (llama-server, vLLM, SGLang, llama-cpp-python):
    streaming requests at each concurrency level, with TTFT, inter-token and end-to-end latency
    percentiles, output tokens/s, errors and goodput, compared with the planner's estimate.

    Exit 0 when every request succeeded and goodput met --min-goodput, 1 when requests failed or
    missed the targets, 2 for bad input, 3 when the endpoint cannot be reached or does not answer
    the first request within --timeout.
    """
    from advisor.bench.client import CompletionRequest, list_models, parse_endpoint
    from advisor.bench.report import bench_report
    from advisor.bench.run import BenchOptions, run_sweep, warm_up
    from advisor.bench.stats import Targets
    from advisor.errors import InputError
    from advisor.model.requirements import Requirements, load_requirements

    if engine == "llama.cpp" and (tp is not None or pp is not None):
        raise InputError("--tp/--pp: apply to --engine vllm or sglang (llama.cpp serves one layer-split replica)")
    api_key = None
    if api_key_env is not None:
        api_key = os.environ.get(api_key_env)
        if not api_key:
            raise InputError(f"--api-key-env {api_key_env}: the variable is not set")
    endpoint = parse_endpoint(url, api_key)
    requirements = load_requirements(answers_path) if answers_path is not None else None
    answers = requirements or Requirements()
    latency = requirements.latency if requirements is not None else None
    options = BenchOptions(
        concurrency=concurrency or DEFAULT_CONCURRENCY,
        requests=requests,
        input_tokens=input_tokens if input_tokens is not None else answers.traffic.input_tokens,
        output_tokens=output_tokens if output_tokens is not None else answers.traffic.output_tokens,
        timeout_s=timeout_s,
        max_time_s=max_time_s,
        api="chat" if api == "chat" else "completions",
        targets=Targets(
            max_first_token_s if max_first_token_s is not None else latency.max_first_token_s if latency else None,
            min_tokens_per_s if min_tokens_per_s is not None else latency.min_tokens_per_s if latency else None,
        ),
    )
    model_id = model or list_models(endpoint, min(timeout_s, 10.0))[0]
    prediction = _prediction(
        predict_spec, quant, requirements, model_id, options.input_tokens + options.output_tokens, engine, tp, pp
    )
    request = CompletionRequest(options.api, model_id, "", options.output_tokens)
    request = warm_up(endpoint, request, timeout_s)
    sweep = run_sweep(endpoint, request, options, _progress_line() if sys.stderr.isatty() else None)
    report = bench_report(endpoint, request, options, sweep, prediction, min_goodput)
    if fmt == "json":
        click.echo(json.dumps(report, indent=2, ensure_ascii=False))
    else:
        _print_report(report, endpoint)
    if not no_record:
        _record(report)
    if not report["ok"]:
        if fmt == "json":
            click.echo(f"advisor: bench failed: {report['failures'][0]}", err=True)
        sys.exit(1)


def _prediction(
    spec: str | None,
    quant: str | None,
    requirements: Requirements | None,
    model_id: str,
    context: int,
    engine: str = "llama.cpp",
    tp: int | None = None,
    pp: int | None = None,
) -> BenchPrediction | None:
    """``--predict`` when given, else the endpoint's model on the answers' hardware, else None."""
    if spec is None and requirements is None:
        return None
    from dataclasses import replace

    from advisor.bench.predict import (
        default_quant,
        find_model,
        predict_from_answers,
        predict_from_spec,
        serving_from_answers,
        serving_from_spec,
    )
    from advisor.catalog.loader import require_quant
    from advisor.catalog.planning import planning_defaults

    catalog = SessionOptions().session().catalog
    if engine != "llama.cpp":
        served = require_quant(catalog, quant or planning_defaults().quants.serve[0]).id
        if spec is None:
            assert requirements is not None
            return serving_from_answers(catalog, requirements, model_id, engine, tp, pp, served)
        serving = serving_from_spec(catalog, spec, engine, tp, pp, served)
        behind = find_model(catalog, model_id)
        if behind is not None and behind.id != serving.setup.model:
            click.echo(
                f"advisor: warning: the endpoint serves {behind.id}, --predict names {serving.setup.model}: "
                "compared as asked, but this sweep will not calibrate `advisor fit`",
                err=True,
            )
            return replace(serving, calibrates=False)
        return serving
    quant_id = require_quant(catalog, quant).id if quant is not None else default_quant()
    if spec is not None:
        return predict_from_spec(catalog, spec, quant_id, context)
    assert requirements is not None
    return predict_from_answers(catalog, requirements, model_id, quant_id)


def _progress_line() -> Progress:
    def show(concurrency: int, done: int, total: int, errors: int) -> None:
        end = "\n" if done == total else ""
        sys.stderr.write(f"\radvisor bench: concurrency {concurrency}: {done}/{total} requests, {errors} errors{end}")
        sys.stderr.flush()

    return show


def _print_report(report: dict[str, object], endpoint: Endpoint) -> None:
    from advisor.bench.report import TABLE_COLUMNS, summary_lines, table_rows

    click.echo(f"advisor bench: {report['model']} at {endpoint.url} ({report['api']})")
    click.echo("")
    print_table(table_rows(report), TABLE_COLUMNS)
    click.echo("")
    for line in summary_lines(report):
        click.echo(f"  {line}")


def _record(report: dict[str, object]) -> None:
    from advisor.bench.store import record_sweep
    from advisor.machine import detect_machine

    try:
        record_sweep(report, detect_machine(with_gpus=False).key)
    except OSError as exc:
        click.echo(f"advisor: warning: the result was not recorded: {exc}", err=True)

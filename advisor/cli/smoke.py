"""``advisor smoke MODEL_OR_GGUF``, ``advisor smoke history``, ``advisor smoke calibrate``.

``smoke`` is a group whose default action is the run: ``advisor smoke model.gguf`` runs the smoke
test, while ``history`` and ``calibrate`` are its sub-commands (a file literally named ``history``
is reached as ``./history``).
"""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from advisor.cli.options import SessionOptions, print_table
from advisor.smoke.options import DEFAULT_MAX_TOKENS, DEFAULT_TIMEOUT_S

RUN = "run"
SUBCOMMANDS = ("history", "calibrate")


class SmokeGroup(click.Group):
    """A group that runs the smoke test when its first argument is not a sub-command."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in ("-h", "--help") and args[0] not in SUBCOMMANDS:
            args = [RUN, *args]
        return super().parse_args(ctx, args)

    def format_help(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        run_command = self.commands[RUN]
        sub = click.Context(run_command, info_name=ctx.info_name, parent=ctx.parent)
        run_command.format_help(sub, formatter)
        self.format_commands(ctx, formatter)


class GpuLayers(click.ParamType["int | str", Any]):
    """``--gpu-layers``: a number of layers (0 or more) or ``auto``; a bad value names the option."""

    name = "N|auto"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int | str:
        if isinstance(value, int) and not isinstance(value, bool):
            layers = value
        elif str(value).strip().lower() == "auto":
            return "auto"
        else:
            try:
                layers = int(str(value))
            except ValueError:
                self.fail(f"{value!r}: expected a number of layers (0 or more) or 'auto'", param, ctx)
        if layers < 0:
            self.fail(f"{value!r}: expected 0 or more layers (0 runs on the CPU), or 'auto'", param, ctx)
        return layers


@click.group(name="smoke", cls=SmokeGroup, invoke_without_command=False)
def smoke() -> None:
    """Run a GGUF through llama.cpp on this machine and measure it against the plan."""


@smoke.command(name=RUN, hidden=True)
@click.argument("model_or_gguf", metavar="MODEL_OR_GGUF")
@click.option("--quant", default=None, help="Weight format to download for a Hub repo id (default Q4_K_M).")
@click.option(
    "--gpu-layers",
    type=GpuLayers(),
    default="auto",
    show_default=True,
    metavar="N|auto",
    help="Layers to offload to the GPU: N or auto.",
)
@click.option(
    "--context", type=click.IntRange(min=16), default=None, help="Context length (default 2048, capped at the model's)."
)
@click.option(
    "--max-tokens",
    type=click.IntRange(min=1),
    default=DEFAULT_MAX_TOKENS,
    show_default=True,
    help="Tokens to generate per turn.",
)
@click.option("--prompt", default=None, help="Prompt for the raw completion and the chat turn.")
@click.option(
    "--threads",
    type=click.IntRange(min=1),
    default=None,
    help="CPU threads (default: physical cores, fewer when other work keeps CPUs busy).",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Sampling seed.")
@click.option(
    "--timeout",
    "timeout_s",
    type=click.FloatRange(min=1),
    default=DEFAULT_TIMEOUT_S,
    show_default=True,
    help="Seconds before the worker is killed.",
)
@click.option("--force", is_flag=True, help="Run even when the pre-flight estimate says it will not fit.")
@click.option("--offline", is_flag=True, help="Resolve a Hub repo id from the local cache only.")
@click.option("--no-record", is_flag=True, help="Do not store the result in the local history.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
def run(
    model_or_gguf: str,
    quant: str | None,
    gpu_layers: int | str,
    context: int | None,
    max_tokens: int,
    prompt: str | None,
    threads: int | None,
    seed: int,
    timeout_s: float,
    force: bool,
    offline: bool,
    no_record: bool,
    fmt: str,
) -> None:
    """Run MODEL_OR_GGUF (a .gguf file, or a Hub repo id with --quant) through llama.cpp in a worker
    process: the raw prompt and one chat turn, measured against the planner's prediction.

    Exit 0 when it passed: it ran, the output checks passed and memory and decode speed lie in
    their bands; 1 when it failed, was refused, or was inconclusive (a speed miss on a busy
    machine, or a prediction that could not be checked: the verdict and reasons say which);
    3 when llama-cpp-python is missing.
    """
    from advisor.engine.model_source import resolve_gguf
    from advisor.smoke import DEFAULT_PROMPT, SmokeOptions, check_backend, run_smoke

    context_obj = SessionOptions().session()
    check_backend([backend for _, backend in context_obj.backends()])
    path, name, wanted_quant = resolve_gguf(model_or_gguf, quant, offline=offline)
    options = SmokeOptions(
        context=context,
        max_tokens=max_tokens,
        prompt=prompt if prompt is not None else DEFAULT_PROMPT,
        threads=threads,
        seed=seed,
        gpu_layers=gpu_layers,
        timeout_s=timeout_s,
        force=force,
        record=not no_record,
    )
    result = run_smoke(path, name, wanted_quant, options, hardware_catalog=lambda: context_obj.catalog.hardware)
    if fmt == "json":
        click.echo(json.dumps(result, indent=2, ensure_ascii=False))
    else:
        _print_result(result)
    if not result["ok"]:
        if fmt == "json":
            word = "inconclusive" if result.get("verdict") == "inconclusive" else "failed"
            click.echo(f"advisor: smoke test {word}: {result.get('error')}", err=True)
        sys.exit(1)


def _mib(value: Any) -> str:
    return "-" if value is None else f"{value / 2**20:,.1f} MiB"


def _pct(value: Any) -> str:
    return "-" if value is None else f"{value:+.0%}"


def _num(value: Any, digits: int = 1) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def _print_result(result: dict[str, Any]) -> None:
    status = "REFUSED" if result.get("refused") else str(result.get("verdict", "fail")).upper()
    predicted = result["predicted"]
    count = result.get("threads")
    threads = f"{count or '-'} thread{'' if count == 1 else 's'}"
    if result.get("threads_reason"):
        threads += f" ({result['threads_reason']})"
    click.echo(
        f"advisor smoke: {status}  {result['model']} ({result.get('architecture') or '-'}, {result['quant'] or '-'}) "
        f"on {result['device']}, {threads}, gpu layers {result['gpu_layers']}, context {result['context']}"
    )
    for reason in result.get("reasons") or []:
        click.echo(f"  {result.get('verdict')}: {reason}")
    memory = result.get("memory") or {}
    band = memory.get("band_bytes")
    rows = [
        {
            "metric": "peak memory",
            "predicted": _mib(predicted["total_bytes"]),
            "measured": _mib(memory.get("measured_bytes")),
            "error": _pct(memory.get("error")),
            "band": f"{_mib(band[0])} .. {_mib(band[1])}" if band else "-",
            "within": memory.get("within_band"),
        },
        {
            "metric": "decode tok/s",
            "predicted": _num(predicted["decode_tokens_per_s"]),
            "measured": _num(result.get("decode_tokens_per_s")),
            "error": _pct((result.get("errors") or {}).get("decode_tokens_per_s")),
            "band": f"±{predicted['decode_band']:.0%}",
            "within": (result.get("within_band") or {}).get("decode_tokens_per_s"),
        },
    ]
    click.echo("")
    print_table(rows, ["metric", "predicted", "measured", "error", "band", "within"])
    click.echo("")
    if result.get("load_s") is not None:
        click.echo(
            f"  load {_num(result['load_s'], 2)} s · first token {_num(result.get('ttft_s'), 3)} s · "
            f"prompt {result.get('prompt_tokens')} tokens at {_num(result.get('prompt_tokens_per_s'))} tok/s · "
            f"{result.get('completion_tokens')} tokens generated ({result.get('stop_reason')}) · "
            f"timings from {result.get('timings_source')}"
        )
        baseline = _mib(result.get("baseline_rss_bytes"))
        click.echo(
            f"  peak RSS {_mib(result.get('peak_rss_bytes'))} (runtime before loading {baseline})"
            + (f" · peak VRAM {_mib(result['vram_peak_bytes'])}" if result.get("vram_peak_bytes") else "")
        )
        click.echo(f"  output: {result.get('output', '')[:200]!r}")
        chat = result.get("chat") or {}
        if "skipped" in chat:
            click.echo(f"  chat turn: skipped ({chat['skipped']})")
        elif "error" in chat:
            click.echo(f"  chat turn: {chat['error']}")
        elif chat:
            click.echo(f"  chat turn ({chat.get('completion_tokens')} tokens): {chat.get('output', '')[:200]!r}")
    checks = result.get("checks") or {}
    if checks:
        click.echo(
            "  checks: " + ", ".join(f"{name} {'ok' if passed else 'FAILED'}" for name, passed in checks.items())
        )
    for line in predicted.get("basis", []):
        click.echo(f"  basis: {line}")
    for note in result.get("notes", []):
        click.echo(f"  note: {note}")


@smoke.command(name="history")
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True)
@click.option("--all-machines", is_flag=True, help="Include runs recorded on other machines.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
def history(limit: int, all_machines: bool, fmt: str) -> None:
    """Past smoke runs on this machine, newest first, with prediction against measurement."""
    from advisor.errors import EnvironmentProblem
    from advisor.machine import detect_machine
    from advisor.smoke.history import list_runs

    key = None if all_machines else detect_machine(with_gpus=False).key
    try:
        rows = list_runs(limit=limit, machine_key=key)
    except OSError as exc:
        raise EnvironmentProblem(str(exc)) from None
    if fmt == "json":
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    table = [
        {
            "id": r["id"],
            "when": (r["created_at"] or "")[:16],
            "model": r["model"],
            "quant": r["quant"],
            "device": r["device"],
            "ctx": r["context"],
            "threads": r["threads"],
            "verdict": r["verdict"] or ("pass" if r["ok"] else "fail"),
            "load_s": _num(r["load_s"], 2) if r["load_s"] is not None else None,
            "decode": _num(r["decode_tokens_per_s"]) if r["decode_tokens_per_s"] is not None else None,
            "predicted": _num(r["predicted_decode_tokens_per_s"])
            if r["predicted_decode_tokens_per_s"] is not None
            else None,
            "peak_rss": _mib(r["peak_rss_bytes"]) if r["peak_rss_bytes"] is not None else None,
        }
        for r in rows
    ]
    columns = "id when model quant device threads ctx verdict load_s decode predicted peak_rss"
    print_table(table, columns.split())


@smoke.command(name="calibrate")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
def calibrate_command(fmt: str) -> None:
    """Learn this machine's speed, per regime, from its quiet runs; later predictions use it."""
    from dataclasses import asdict

    from advisor.errors import EnvironmentProblem
    from advisor.smoke.calibration import calibrate, calibration_path

    try:
        report = calibrate()
    except OSError as exc:
        raise EnvironmentProblem(str(exc)) from None
    if fmt == "json":
        data = {
            "calibrations": [asdict(c) for c in report.calibrations],
            "skipped": report.skipped,
            "excluded_runs": report.excluded,
            "path": str(calibration_path()),
        }
        click.echo(json.dumps(data, indent=2))
        return
    for calibration in report.calibrations:
        click.echo(calibration.describe())
    for line in report.skipped:
        click.echo(f"not calibrated: {line}")
    for reason, count in report.excluded.items():
        click.echo(f"left out: {count} run{'s' if count != 1 else ''} that {reason}")
    click.echo(f"stored in {calibration_path()}")

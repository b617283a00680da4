"""The whole smoke run: pre-flight, run, measure, compare and record.

Read the file's header (exact tensor bytes, the architecture) -> detect this machine (cores,
free RAM, GPUs) and its memory bandwidth (measured once, cached) -> watch how busy its CPUs are and
choose the threads (:mod:`advisor.smoke.threads`) -> the prediction, calibrated for that regime
when it was (:mod:`advisor.smoke.prediction`) -> refuse when it will not fit (``--force``
overrides) -> run llama.cpp in the worker process with a timeout, watching the load again
(:mod:`advisor.smoke.runner`) -> the measurements beside the prediction and the verdict
(:mod:`advisor.smoke.result`) -> a hint when the history ran another thread count faster -> the
local history (:mod:`advisor.smoke.history`).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from advisor.errors import EnvironmentProblem, InputError
from advisor.estimate.constants import estimator_constants
from advisor.files.gguf import read_gguf
from advisor.machine import (
    catalog_bandwidths,
    detect_machine,
    local_device,
    measure_memory_bandwidth_gb_s,
    measure_others_busy_cpus,
)
from advisor.smoke.backend import INSTALL_COMMAND
from advisor.smoke.calibration import load_calibration
from advisor.smoke.history import list_runs, record_run
from advisor.smoke.load import MachineLoad
from advisor.smoke.options import DEFAULT_CONTEXT, SmokeOptions
from advisor.smoke.policy import smoke_policy
from advisor.smoke.prediction import predict
from advisor.smoke.result import build_result, refused_result
from advisor.smoke.runner import run_worker
from advisor.smoke.threads import PastRun, choose_threads, thread_hint

if TYPE_CHECKING:
    from advisor.catalog.records import HardwareRecord


def run_smoke(
    model_path: Path,
    model_name: str,
    quant: str | None,
    options: SmokeOptions,
    *,
    env: Mapping[str, str] | None = None,
    hardware_catalog: Callable[[], Mapping[str, HardwareRecord]] | None = None,
) -> dict[str, Any]:
    """Pre-flight, run, measure, compare and record one smoke test; returns the result.

    ``hardware_catalog`` gives the catalog's hardware records, used (only when GPUs are present)
    to look up a GPU's bandwidth by its name.
    """
    info = read_gguf(model_path)
    if quant and info.file_type and quant.upper() != info.file_type.upper():
        raise InputError(f"--quant {quant}: the file {model_path.name} is {info.file_type}")
    if options.context is not None and options.context < 16:
        raise InputError(f"--context {options.context}: expected at least 16 tokens")
    context = options.context or min(DEFAULT_CONTEXT, info.context_length or DEFAULT_CONTEXT)
    machine = detect_machine()
    constants = estimator_constants()
    bandwidth = measure_memory_bandwidth_gb_s(machine=machine)
    lookup = (
        catalog_bandwidths([g.name for g in machine.gpus], hardware_catalog())
        if machine.gpus and hardware_catalog is not None
        else None
    )
    device = local_device(machine.gpus, lookup)
    load_before = _load_average()
    others_before = measure_others_busy_cpus(smoke_policy().busy.sample_s)
    if others_before is None:  # no /proc/stat: the load average stands in
        others_before = load_before
    choice = choose_threads(options.threads, machine.threads_llama, machine.cpu_count, others_before)
    threads = choice.threads
    try:
        prediction = predict(
            info,
            machine,
            options,
            context,
            constants,
            bandwidth,
            device,
            threads=threads,
            calibration_for=lambda regime: load_calibration(machine.key, regime),
        )
    except ValueError as exc:
        raise InputError(f"{model_path}: cannot size this model: {exc}") from None
    if prediction.refusal and not options.force:
        return refused_result(
            model=model_name, info=info, quant=quant, context=context, prediction=prediction, machine=machine
        )
    request = {
        "model_path": str(info.path),
        "context": context,
        "threads": threads,
        "gpu_layers": prediction.gpu_layers,
        "seed": options.seed,
        "max_tokens": options.max_tokens,
        "prompt": options.prompt,
        "chat_prompt": options.prompt,
        "chat_template": info.chat_template,
    }
    outcome = run_worker(request, options.timeout_s, env=env, watch_vram=any(g.backend == "cuda" for g in machine.gpus))
    if outcome.result is not None and outcome.result.get("error_kind") == "backend_missing":
        raise EnvironmentProblem(f"{outcome.result.get('error')}; install it with: {INSTALL_COMMAND}")
    result = build_result(
        model=model_name,
        info=info,
        quant=quant,
        options=options,
        context=context,
        threads=threads,
        prediction=prediction,
        outcome=outcome,
        machine=machine,
        load=MachineLoad(machine.cpu_count, threads, others_before, outcome.others_busy_cpus),
    )
    result["load_average_before"] = load_before
    result["threads_reason"] = choice.reason
    result["threads_hint"] = _thread_hint(result, machine.key)
    if result["threads_hint"]:
        result["notes"].append(result["threads_hint"])
    if options.record:
        try:
            result["history_id"] = record_run(result, machine.key)
        except OSError as exc:
            result["notes"].append(f"not recorded in the history: {exc}")
    return result


def _thread_hint(result: dict[str, Any], machine_key: str) -> str | None:
    """A hint from this machine's history when another thread count decoded faster, relative to
    its prediction, on the same device."""
    baseline = result["predicted"].get("uncalibrated_decode_tokens_per_s")
    measured = result.get("decode_tokens_per_s")
    if not result.get("checks_ok") or not baseline or not measured:
        return None
    try:
        rows = list_runs(limit=500, machine_key=machine_key)
    except OSError:
        return None
    past = [
        PastRun(int(r["threads"]), r["decode_tokens_per_s"] / r["baseline_decode_tokens_per_s"])
        for r in rows
        if r["checks_ok"]
        and r["busy"] is False
        and r["device"] == result["device"]
        and r["threads"]
        and r["decode_tokens_per_s"]
        and r["baseline_decode_tokens_per_s"]
    ]
    return thread_hint(past, int(result["threads"]), measured / baseline)


def _load_average() -> float | None:
    """The one-minute load average, where the OS has one."""
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):
        return None

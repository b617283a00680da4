"""The whole smoke run: pre-flight, run, measure, compare and record.

Read the file's header (exact tensor bytes, the architecture) -> detect this machine (threads,
free RAM, GPUs) and its memory bandwidth (measured once, cached) -> the prediction
(:mod:`advisor.smoke.prediction`) -> refuse when it will not fit (``--force`` overrides) -> run
llama.cpp in the worker process with a timeout (:mod:`advisor.smoke.runner`) -> the measurements
beside the prediction (:mod:`advisor.smoke.result`) -> the local history
(:mod:`advisor.smoke.history`).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from advisor.errors import EnvironmentProblem, InputError
from advisor.estimate.constants import estimator_constants
from advisor.files.gguf import read_gguf
from advisor.machine import catalog_bandwidths, detect_machine, local_device, measure_memory_bandwidth_gb_s
from advisor.smoke.backend import INSTALL_COMMAND
from advisor.smoke.history import load_calibration, record_run
from advisor.smoke.options import DEFAULT_CONTEXT, SmokeOptions
from advisor.smoke.policy import smoke_policy
from advisor.smoke.prediction import predict
from advisor.smoke.result import build_result, refused_result
from advisor.smoke.runner import run_worker

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
    threads = options.threads or machine.threads_llama
    constants = estimator_constants()
    bandwidth = measure_memory_bandwidth_gb_s(machine=machine)
    lookup = (
        catalog_bandwidths([g.name for g in machine.gpus], hardware_catalog())
        if machine.gpus and hardware_catalog is not None
        else None
    )
    device = local_device(machine.gpus, lookup)
    calibration = load_calibration(machine.key)
    try:
        prediction = predict(info, machine, options, context, constants, bandwidth, device, calibration)
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
    load_before = _load_average()
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
    )
    result["load_average_before"] = load_before
    if load_before is not None and load_before > smoke_policy().busy_load_per_cpu * machine.cpu_count:
        result["notes"].append(
            f"the machine was busy before the run (load average {load_before:.1f} on {machine.cpu_count} CPUs): "
            "the measured speeds are likely low"
        )
    if options.record:
        try:
            result["history_id"] = record_run(result, machine.key)
        except OSError as exc:
            result["notes"].append(f"not recorded in the history: {exc}")
    return result


def _load_average() -> float | None:
    """The one-minute load average, where the OS has one."""
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):
        return None

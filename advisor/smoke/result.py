"""The smoke result (pure): the output checks, the measurements beside the prediction with their
errors and bands, the verdict (:mod:`advisor.smoke.verdict`), and the result a refused run gets
instead.

The JSON keys are the contract docs/smoke.md lists; :func:`build_result` fills them from the
worker's report, the parent's measurements (:class:`advisor.smoke.runner.WorkerOutcome`) and the
prediction (:class:`advisor.smoke.prediction.SmokePrediction`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from advisor.smoke.backend import BACKEND
from advisor.smoke.load import MachineLoad
from advisor.smoke.policy import smoke_policy
from advisor.smoke.runner import WorkerOutcome, failure_message
from advisor.smoke.units import rounded
from advisor.smoke.verdict import FAIL, DecodeCheck, judge

if TYPE_CHECKING:
    from advisor.files.gguf import GgufInfo
    from advisor.machine import MachineInfo
    from advisor.smoke.options import SmokeOptions
    from advisor.smoke.prediction import SmokePrediction


def output_sanity(token_ids: list[int], text: str, max_tokens: int, stop_reason: str | None) -> dict[str, bool]:
    """The output checks: something came out, not one token over and over, and it stopped in time."""
    repeat_min_tokens = smoke_policy().repeat_min_tokens
    return {
        "non_empty": bool(token_ids) and bool(text.strip()),
        "not_one_token_repeated": not (len(token_ids) >= repeat_min_tokens and len(set(token_ids)) == 1),
        "stops_at_max_tokens": len(token_ids) <= max_tokens and stop_reason in ("length", "eos"),
    }


def _rate(count: float | None, ms: float | None) -> float | None:
    if not count or not ms or ms <= 0:
        return None
    return float(count) / (float(ms) / 1000.0)


def relative_error(measured: float | None, predicted: float | None) -> float | None:
    if measured is None or not predicted:
        return None
    return (measured - predicted) / predicted


def build_result(
    *,
    model: str,
    info: GgufInfo,
    quant: str | None,
    options: SmokeOptions,
    context: int,
    threads: int,
    prediction: SmokePrediction,
    outcome: WorkerOutcome,
    machine: MachineInfo,
    load: MachineLoad | None = None,
) -> dict[str, Any]:
    """The smoke result (the JSON contract of docs/smoke.md plus details) and its verdict;
    ``load`` is how busy the machine was around the run."""
    failure = failure_message(outcome, options.timeout_s)
    worker = outcome.result or {}
    run_ok = failure is None
    perf = worker.get("llama_perf") or {}
    prompt_rate = _rate(perf.get("n_p_eval"), perf.get("t_p_eval_ms"))
    decode_rate = _rate(perf.get("n_eval"), perf.get("t_eval_ms"))
    source = "llama.cpp" if decode_rate is not None else "wall clock"
    if prompt_rate is None and worker.get("ttft_s"):
        prompt_rate = worker.get("prompt_tokens", 0) / worker["ttft_s"]
    if decode_rate is None:
        decode_rate = worker.get("decode_wall_tokens_per_s")
    gpu_supported = worker.get("gpu_offload_supported")
    gpu_layers = prediction.gpu_layers if gpu_supported is not False else 0
    device = prediction.device if gpu_layers else "cpu"
    notes: list[str] = []
    if prediction.gpu_layers and gpu_supported is False:
        notes.append("this llama-cpp-python build has no GPU offload; every layer ran on the CPU")
    checks: dict[str, bool] = {}
    chat: dict[str, Any] = worker.get("chat") or {}
    if run_ok:
        checks.update(
            output_sanity(
                worker.get("output_token_ids", []),
                worker.get("output", ""),
                options.max_tokens,
                worker.get("stop_reason"),
            )
        )
        if "error" in chat:
            checks["chat_template_renders"] = False
        elif "skipped" not in chat and chat:
            for name, passed in output_sanity(
                chat.get("output_token_ids", []), chat.get("output", ""), options.max_tokens, chat.get("stop_reason")
            ).items():
                checks[f"chat_{name}"] = passed
    failed = [name for name, passed in checks.items() if not passed]
    run_failure = failure or (f"output checks failed: {', '.join(failed)}" if failed else None)
    baseline = worker.get("baseline_rss_bytes")
    peak = outcome.peak_rss_bytes or worker.get("peak_rss_self_bytes")
    model_rss = peak - baseline if peak is not None and baseline is not None else None
    memory = _memory_comparison(prediction, peak, outcome.vram_peak_bytes, device)
    decode_error = relative_error(decode_rate, prediction.decode_tokens_per_s) if run_ok else None
    verdict = judge(
        failure=run_failure,
        memory=memory,
        decode=DecodeCheck(decode_rate, prediction.decode_tokens_per_s, decode_error, prediction.decode_band),
        load=load,
    )
    result: dict[str, Any] = {
        "ok": verdict.ok,
        "verdict": verdict.verdict,
        "reasons": verdict.reasons,
        "backend": BACKEND,
        "model": model,
        "file": str(info.path),
        "quant": quant or info.file_type,
        "device": device,
        "gpu_layers": gpu_layers,
        "context": context,
        "load_s": rounded(worker.get("load_s"), 3),
        "prompt_tokens": worker.get("prompt_tokens"),
        "prompt_tokens_per_s": rounded(prompt_rate),
        "completion_tokens": worker.get("completion_tokens"),
        "decode_tokens_per_s": rounded(decode_rate),
        "peak_rss_bytes": peak,
        "output": worker.get("output", ""),
        "predicted": prediction.as_dict(),
        "ttft_s": rounded(worker.get("ttft_s"), 4),
        "decode_wall_tokens_per_s": rounded(worker.get("decode_wall_tokens_per_s")),
        "timings_source": source if run_ok else None,
        "stop_reason": worker.get("stop_reason"),
        "max_tokens": options.max_tokens,
        "threads": threads,
        "seed": options.seed,
        "prompt": options.prompt,
        "baseline_rss_bytes": baseline,
        "model_rss_bytes": model_rss,
        "vram_peak_bytes": outcome.vram_peak_bytes,
        "memory": memory,
        "errors": {"memory": memory.get("error"), "decode_tokens_per_s": rounded(decode_error, 4)},
        "within_band": {
            "memory": memory.get("within_band"),
            "decode_tokens_per_s": None if decode_error is None else abs(decode_error) <= prediction.decode_band,
        },
        "checks": checks,
        "checks_ok": run_failure is None,
        "chat": {k: v for k, v in chat.items() if k != "output_token_ids"},
        "error": run_failure or (None if verdict.ok else "; ".join(verdict.reasons)),
        "phase": outcome.phase,
        "timed_out": outcome.timed_out,
        "returncode": outcome.returncode,
        "wall_s": rounded(outcome.wall_s, 3),
        "machine": machine.as_dict(),
        "file_bytes": info.file_bytes,
        "architecture": info.architecture,
        "llama_cpp_version": worker.get("llama_cpp_version"),
        "load": load.as_dict() if load is not None else None,
        "notes": notes,
    }
    return result


def _memory_comparison(
    prediction: SmokePrediction, peak_rss: int | None, vram: int | None, device: str
) -> dict[str, Any]:
    """Measured memory against the prediction, and whether it sits inside the stated band.

    On the CPU the measurement is the worker's peak RSS, which holds what the planner's total
    holds: weights, KV cache, compute buffer and the runtime (the reserve). The total is the upper
    bound (llama.cpp reserves its compute buffer but touches only what the graph uses); the weights
    a token reads plus the KV cache are the lower bound: they are always resident. The band is
    [floor, total] widened by the policy's ``memory_slack``. On a GPU the peak VRAM is held against
    the predicted device part the same way (floor: the device part without compute buffer and reserve).
    """
    if device == "cpu":
        if peak_rss is None:
            return {"measured": None, "basis": "peak RSS not available on this platform"}
        measured, predicted, floor, what = (
            peak_rss,
            prediction.total_bytes,
            prediction.resident_floor_bytes,
            "peak RSS of the worker process",
        )
    else:
        if vram is None:
            return {"measured": None, "basis": "no per-process VRAM reading (NVML / nvidia-smi) on this machine"}
        measured, predicted, what = vram, prediction.gpu_bytes, "peak VRAM of the worker process (NVML / nvidia-smi)"
        floor = max(prediction.gpu_bytes - prediction.compute_buffer_bytes - prediction.reserve_bytes, 0)
    slack = smoke_policy().memory_slack
    low, high = floor * (1 - slack), predicted * (1 + slack)
    return {
        "measured": what,
        "measured_bytes": measured,
        "predicted_bytes": predicted,
        "band_bytes": [int(low), int(high)],
        "error": rounded(relative_error(measured, predicted), 4),
        "within_band": low <= measured <= high,
    }


def refused_result(
    *, model: str, info: GgufInfo, quant: str | None, context: int, prediction: SmokePrediction, machine: MachineInfo
) -> dict[str, Any]:
    """The result when the pre-flight refuses to run (the contract keys, nothing measured)."""
    error = f"refused: {prediction.refusal} (--force runs it anyway)"
    return {
        "ok": False,
        "verdict": FAIL,
        "reasons": [error],
        "backend": BACKEND,
        "model": model,
        "file": str(info.path),
        "quant": quant or info.file_type,
        "device": prediction.device,
        "gpu_layers": prediction.gpu_layers,
        "context": context,
        "load_s": None,
        "prompt_tokens": None,
        "prompt_tokens_per_s": None,
        "completion_tokens": None,
        "decode_tokens_per_s": None,
        "peak_rss_bytes": None,
        "output": "",
        "predicted": prediction.as_dict(),
        "refused": True,
        "error": error,
        "machine": machine.as_dict(),
        "checks": {},
        "notes": [],
    }

"""``advisor smoke``: run a GGUF through llama.cpp on this machine and hold the plan's prediction
against what really happens.

The flow: read the file's header (exact tensor bytes, the architecture) -> detect this machine
(threads, free RAM, GPUs) and its memory bandwidth (measured once, cached) -> the fit estimate
with the shared estimators (advisor.estimate) -> refuse when it will not fit (``--force``
overrides) -> run llama.cpp in a worker subprocess with a timeout (advisor.smoke.worker) -> the
measurements beside the prediction, with the error -> the local history (advisor.smoke.history).

Everything that can go wrong in native code (a segfault, a hang, the OOM killer) happens in the
worker and comes back here as a failed result with a sentence saying what and where.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from advisor.errors import EnvironmentProblem, InputError

if TYPE_CHECKING:
    from advisor.estimate.constants import EstimatorConstants
    from advisor.estimate.fit import Device, Footprint
    from advisor.files.gguf import GgufInfo
    from advisor.machine import MachineInfo
    from advisor.smoke.history import Calibration

BACKEND = "llama.cpp"
INSTALL_COMMAND = "pip install 'model-advisor[smoke]'"
DEFAULT_CONTEXT = 2048
DEFAULT_MAX_TOKENS = 64
DEFAULT_TIMEOUT_S = 600.0
DEFAULT_PROMPT = "Write one sentence about the sea."
DEFAULT_QUANT = "Q4_K_M"
KILL_GRACE_S = 2.0

#: Uncalibrated decode-speed band: published CPU decode efficiencies run 0.4-0.7 of bandwidth
#: around the 0.6 the catalog uses (shared/research/hardware_fit.md §4.3, §5), i.e. up to ~±35 %.
UNCALIBRATED_DECODE_BAND = 0.35
#: Smallest band a calibration may claim, however well its few runs fitted.
MIN_CALIBRATED_BAND = 0.10
#: Slack on the memory bounds for page granularity and allocator rounding.
MEMORY_SLACK = 0.05
#: Load average per CPU above which the speed measurements are flagged as disturbed.
BUSY_LOAD_PER_CPU = 0.5
#: A degenerate output: at least this many tokens, all the same one.
REPEAT_MIN_TOKENS = 4

SIGNAL_NAMES: dict[int, str] = {
    getattr(signal, name): text
    for name, text in (
        ("SIGSEGV", "SIGSEGV, a segmentation fault"),
        ("SIGABRT", "SIGABRT, an assertion or abort in native code"),
        ("SIGKILL", "SIGKILL"),
        ("SIGBUS", "SIGBUS, a bus error (a truncated or unreadable memory-mapped file?)"),
        ("SIGILL", "SIGILL, an illegal instruction (a build for a newer CPU?)"),
        ("SIGFPE", "SIGFPE, an arithmetic fault"),
        ("SIGTERM", "SIGTERM"),
    )
    if hasattr(signal, name)
}
#: The signal the kernel's OOM killer sends (POSIX only).
SIGKILL = getattr(signal, "SIGKILL", None)

PHASE_WORDS = {
    "start": "starting",
    "load": "loading the model",
    "prompt": "processing the prompt or generating",
    "chat": "running the chat turn",
    "done": "shutting down after generating",
    None: "starting",
}


@dataclass(frozen=True)
class SmokeOptions:
    """What the user asked for (the CLI flags)."""

    context: int | None = None
    max_tokens: int = DEFAULT_MAX_TOKENS
    prompt: str = DEFAULT_PROMPT
    threads: int | None = None
    seed: int = 0
    gpu_layers: int | str = "auto"
    timeout_s: float = DEFAULT_TIMEOUT_S
    force: bool = False
    record: bool = True


@dataclass(frozen=True)
class Prediction:
    """The planner's numbers for this file on this machine, with the basis they rest on."""

    weights_bytes: int
    kv_cache_bytes: int
    overhead_bytes: int
    compute_buffer_bytes: int
    reserve_bytes: int
    resident_floor_bytes: int
    fits: str
    gpu_layers: int
    device: str
    decode_tokens_per_s: float | None
    decode_band: float
    bytes_per_token: int
    bandwidth_gb_s: float | None
    gpu_bytes: int
    refusal: str | None
    basis: list[str] = field(default_factory=list)
    calibrated: bool = False

    @property
    def total_bytes(self) -> int:
        return self.weights_bytes + self.kv_cache_bytes + self.overhead_bytes

    def as_dict(self) -> dict[str, Any]:
        return {
            "total_bytes": self.total_bytes,
            "decode_tokens_per_s": _round(self.decode_tokens_per_s),
            "weights_bytes": self.weights_bytes,
            "kv_cache_bytes": self.kv_cache_bytes,
            "overhead_bytes": self.overhead_bytes,
            "compute_buffer_bytes": self.compute_buffer_bytes,
            "reserve_bytes": self.reserve_bytes,
            "resident_floor_bytes": self.resident_floor_bytes,
            "gpu_bytes": self.gpu_bytes,
            "fits": self.fits,
            "gpu_layers": self.gpu_layers,
            "bytes_per_token": self.bytes_per_token,
            "bandwidth_gb_s": _round(self.bandwidth_gb_s),
            "decode_band": self.decode_band,
            "memory_slack": MEMORY_SLACK,
            "calibrated": self.calibrated,
            "basis": self.basis,
        }


@dataclass
class WorkerOutcome:
    """What came back from the worker process, whatever happened to it."""

    returncode: int | None
    timed_out: bool
    result: dict[str, Any] | None
    phase: str | None
    phases: list[dict[str, Any]]
    peak_rss_bytes: int | None
    vram_peak_bytes: int | None
    stderr_tail: str
    wall_s: float

    @property
    def signal_number(self) -> int | None:
        return -self.returncode if self.returncode is not None and self.returncode < 0 else None


# --------------------------------------------------------------------------------------------
# Resolving MODEL_OR_GGUF


def looks_like_path(text: str) -> bool:
    return text.lower().endswith(".gguf") or (os.sep in text and not _is_repo_id(text)) or text.startswith((".", "~"))


def _is_repo_id(text: str) -> bool:
    parts = text.split("/")
    return len(parts) == 2 and all(parts) and not text.lower().endswith(".gguf") and not Path(text).exists()


def resolve_model(model: str, quant: str | None, *, offline: bool = False) -> tuple[Path, str, str | None]:
    """(file, model name to report, quant asked for): a local .gguf, or a Hub repo id + quant."""
    candidate = Path(model).expanduser()
    if candidate.exists() or looks_like_path(model):
        if not candidate.exists():
            raise InputError(f"MODEL_OR_GGUF {model}: no such file")
        if candidate.is_dir():
            raise InputError(f"MODEL_OR_GGUF {model}: is a directory, expected a .gguf file or a Hub repo id")
        return candidate, candidate.stem, quant
    if not _is_repo_id(model):
        raise InputError(f"MODEL_OR_GGUF {model}: expected a path to a .gguf file or a Hub repo id (owner/name)")
    wanted = (quant or DEFAULT_QUANT).upper()
    try:
        from advisor.hub import download_gguf
    except ImportError:
        raise EnvironmentProblem(
            f"MODEL_OR_GGUF {model}: downloading from the Hugging Face Hub is not available in this install; "
            "pass a local .gguf file"
        ) from None
    return Path(download_gguf(model, wanted, offline=offline)), model, wanted


def check_backend(backends: list[Any]) -> None:
    """Exit 3 with the install command when the llama.cpp backend is missing."""
    backend = next((b for b in backends if b.name == BACKEND), None)
    hint = (backend.install_hint if backend is not None else "") or INSTALL_COMMAND
    if backend is None:
        raise EnvironmentProblem(f"the {BACKEND} backend plugin is not loaded (is it disabled?); install: {hint}")
    if not backend.is_available():
        raise EnvironmentProblem(f"llama-cpp-python is not installed; install it with: {hint}")


# --------------------------------------------------------------------------------------------
# Prediction (pure)


def footprint_from_gguf(info: GgufInfo, context: int, constants: EstimatorConstants, backend: str) -> Footprint:
    """The planner's footprint with the weights read exactly from the file's tensor table."""
    from advisor.estimate.footprint import build_footprint

    return build_footprint(
        info.weights_split(),
        info.to_architecture_config(),
        info.active_params(),
        context,
        cache_type="f16",
        reserve_mib=constants.backends.get(backend, constants.backends["cpu"]).reserve_mib,
        ubatch=constants.compute_buffer.ubatch,
    )


def predict(
    info: GgufInfo,
    machine: MachineInfo,
    options: SmokeOptions,
    context: int,
    constants: EstimatorConstants,
    cpu_bandwidth_gb_s: float | None,
    device: Device | None,
    calibration: Calibration | None = None,
) -> Prediction:
    """Fit, GPU layers and decode speed for this file here; ``refusal`` says why it would not run.

    The fit and the GPU side come from :func:`advisor.estimate.fit.decide_fit`, as in ``advisor
    fit``. On the CPU the decode speed uses the measured bandwidth of this machine, its calibration
    when there is one, and the KV cache this run actually fills (not half the context).
    """
    from advisor.estimate.fit import decide_fit, usable_device_bytes
    from advisor.estimate.memory import MIB, estimate_kv_cache_bytes
    from advisor.estimate.speed import decode_constants_for, decode_tokens_per_s

    backend = device.backend if device is not None else "cpu"
    fp = footprint_from_gguf(info, context, constants, backend)
    arch = info.to_architecture_config()
    forced = None if options.gpu_layers == "auto" else max(0, min(int(options.gpu_layers), info.n_layers + 1))
    fit = decide_fit(fp, device, machine.ram_available_bytes, cpu_bandwidth_gb_s, constants, gpu_layers=forced)
    reserve = int(constants.backends.get(backend, constants.backends["cpu"]).reserve_mib * MIB)
    basis = [
        f"weights {fp.weights_bytes / MIB:.1f} MiB, exact from the file's tensor table",
        f"KV cache f16 at {context} tokens, compute buffer and {reserve / MIB:.0f} MiB runtime reserve "
        "(advisor.estimate.memory)",
    ]
    refusal = None
    if fit.fits == "no":
        refusal = (
            f"the model needs {_mib(fp.total_bytes)} (weights {_mib(fp.weights_bytes)} + KV "
            f"{_mib(fp.kv_cache_bytes)} + overhead {_mib(fp.overhead_bytes)}) but only "
            f"{_mib(machine.ram_available_bytes)} of RAM is free"
            + (f" and {_mib(usable_device_bytes(device, constants))} of GPU memory is usable" if device else "")
        )
    elif forced and device is not None and fit.gpu_layers < forced:
        refusal = (
            f"--gpu-layers {forced}: only {fit.gpu_layers} layers fit in the "
            f"{_mib(usable_device_bytes(device, constants))} of GPU memory that is usable"
        )
    if device is None:
        gpu_layers = 0
        if forced:
            basis.append("no GPU detected: llama.cpp keeps every layer on the CPU")
    else:
        gpu_layers = forced if forced is not None else fit.gpu_layers
    place = "cpu" if gpu_layers == 0 else "gpu" if gpu_layers > info.n_layers else "partial"
    # a decoded token reads the weights once and the KV cache filled so far (prompt + half the output)
    filled = min(context, max(1, len(options.prompt.encode("utf-8")) // 3 + options.max_tokens // 2))
    bytes_per_token = fp.active_weights_bytes + estimate_kv_cache_bytes(arch, filled, "f16")
    band = UNCALIBRATED_DECODE_BAND
    calibrated = False
    speed = fit.decode_tokens_per_s
    bandwidth = device.bandwidth_gb_s if device is not None and place != "cpu" else cpu_bandwidth_gb_s
    if place == "cpu" and cpu_bandwidth_gb_s:
        cpu = decode_constants_for(None)
        fixed_ms, efficiency, source = cpu.fixed_ms, cpu.efficiency, "catalog CPU constants (speed_model.yaml)"
        if calibration is not None:
            fixed_ms, efficiency = calibration.decode_fixed_ms, calibration.decode_efficiency
            band = max(MIN_CALIBRATED_BAND, 2 * calibration.rms_error)
            calibrated = True
            source = f"calibrated on this machine from {calibration.n_runs} runs"
        speed = decode_tokens_per_s(bytes_per_token, cpu_bandwidth_gb_s, fixed_ms, efficiency)
        basis.append(
            f"decode reads {bytes_per_token / MIB:.1f} MiB/token at the measured {cpu_bandwidth_gb_s:.1f} GB/s x "
            f"efficiency {efficiency:.2f} + {fixed_ms:.2f} ms/token ({source}), ±{band:.0%}"
        )
    elif place != "cpu":
        basis.append(f"decode speed from the fit estimate for {gpu_layers} GPU layers ({backend}), ±{band:.0%}")
    return Prediction(
        weights_bytes=fp.weights_bytes,
        kv_cache_bytes=fp.kv_cache_bytes,
        overhead_bytes=fp.overhead_bytes,
        compute_buffer_bytes=fp.compute_buffer_bytes,
        reserve_bytes=reserve,
        resident_floor_bytes=fp.active_weights_bytes + fp.kv_cache_bytes,
        fits=fit.fits,
        gpu_layers=gpu_layers,
        device=place,
        decode_tokens_per_s=speed,
        decode_band=band,
        bytes_per_token=bytes_per_token,
        bandwidth_gb_s=bandwidth,
        gpu_bytes=fit.device_bytes if place != "cpu" else 0,
        refusal=refusal,
        basis=basis,
        calibrated=calibrated,
    )


def _mib(value: float) -> str:
    return f"{value / 2**20:,.0f} MiB"


def _round(value: float | None, digits: int = 2) -> float | None:
    return None if value is None else round(value, digits)


def gpu_device(gpus: list[Any], bandwidth_lookup: Mapping[str, float] | None = None) -> Device | None:
    """The accelerator side for the fit: identical devices assumed, sized by the least free memory."""
    from advisor.estimate.fit import Device

    if not gpus:
        return None
    backend = gpus[0].backend
    bandwidth = next((g.bandwidth_gb_s for g in gpus if g.bandwidth_gb_s), None)
    if bandwidth is None and bandwidth_lookup:
        bandwidth = bandwidth_lookup.get(gpus[0].name)
    return Device(
        memory_gib=min(g.memory_free_bytes for g in gpus) / 2**30,
        bandwidth_gb_s=bandwidth or 0.0,
        backend=backend,
        count=len(gpus),
        kind="apple" if backend == "metal" else "gpu",
    )


def catalog_bandwidths(gpu_names: list[str], hardware: Mapping[str, Any]) -> dict[str, float]:
    """Catalog bandwidth for each detected GPU whose name matches a catalog record's name."""
    found: dict[str, float] = {}
    ignore = {"nvidia", "geforce", "amd", "radeon", "apple", "gpu"}
    for name in gpu_names:
        tokens = {t for t in _tokens(name) if t not in ignore}
        best = None
        for record in hardware.values():
            if record.kind == "cpu":
                continue
            record_tokens = _tokens(record.name) | {a.lower() for a in record.aliases}
            if tokens and tokens <= record_tokens:
                best = record if best is None or len(record.name) < len(best.name) else best
        if best is not None:
            found[name] = best.bandwidth_gb_s
    return found


def _tokens(text: str) -> set[str]:
    return {t for t in "".join(c.lower() if c.isalnum() else " " for c in text).split() if t}


# --------------------------------------------------------------------------------------------
# Running the worker


def run_worker(
    request: Mapping[str, Any],
    timeout_s: float,
    *,
    env: Mapping[str, str] | None = None,
    watch_vram: bool = False,
) -> WorkerOutcome:
    """Run ``python -m advisor.smoke.worker`` on ``request`` with a timeout; never raises for
    anything the worker does (crash, hang, kill), only reports it."""
    from advisor.machine import VramMonitor

    workdir = Path(tempfile.mkdtemp(prefix="advisor-smoke-"))
    try:
        request_path = workdir / "request.json"
        result_path = workdir / "result.json"
        progress_path = workdir / "progress.jsonl"
        log_path = workdir / "worker.log"
        request_path.write_text(
            json.dumps({**request, "result_path": str(result_path), "progress_path": str(progress_path)}), "utf-8"
        )
        command = [sys.executable, "-P", "-m", "advisor.smoke.worker", str(request_path)]
        started = time.perf_counter()
        with log_path.open("wb") as log:
            proc = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                env=dict(env) if env is not None else None,
                start_new_session=True,
            )
        waited: dict[str, Any] = {}

        def wait() -> None:
            if hasattr(os, "wait4"):
                _, status, usage = os.wait4(proc.pid, 0)
                waited["returncode"] = os.waitstatus_to_exitcode(status)
                waited["maxrss"] = usage.ru_maxrss
            else:  # pragma: no cover - Windows has no wait4; no peak RSS there
                waited["returncode"] = proc.wait()

        waiter = threading.Thread(target=wait, name="smoke-worker-wait", daemon=True)
        waiter.start()
        monitor = VramMonitor(proc.pid).start() if watch_vram else None
        rss = RssPoller(proc.pid).start()
        waiter.join(timeout_s)
        timed_out = waiter.is_alive()
        if timed_out:
            _kill_group(proc, hard=False)
            waiter.join(KILL_GRACE_S)
            if waiter.is_alive():
                _kill_group(proc, hard=True)
                waiter.join()
        wall = time.perf_counter() - started
        vram = monitor.stop() if monitor is not None else None
        polled = rss.stop()
        returncode = waited.get("returncode")
        proc.returncode = returncode  # reaped by wait4: tell Popen so it does not try again
        result = _read_result(result_path)
        phases = _read_phases(progress_path)
        peak = _peak_rss(result, phases, polled, waited.get("maxrss"))
        return WorkerOutcome(
            returncode=returncode,
            timed_out=timed_out,
            result=result,
            phase=phases[-1]["phase"] if phases else None,
            phases=phases,
            peak_rss_bytes=peak,
            vram_peak_bytes=vram,
            stderr_tail=_tail(log_path),
            wall_s=wall,
        )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


class RssPoller:
    """Polls a process's own high-water RSS (``VmHWM`` in /proc) while it runs.

    Why not ``wait4``'s ``ru_maxrss``: on Linux a child's maxrss starts from its parent's high-water
    mark at fork/vfork and survives ``exec``, so a parent that once held 500 MB would make every
    worker look 500 MB big. ``VmHWM`` belongs to the worker's own address space after ``exec``.
    """

    def __init__(self, pid: int, interval_s: float = 0.25) -> None:
        self.path = Path(f"/proc/{pid}/status")
        self.interval_s = interval_s
        self.peak_bytes: int | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="smoke-rss-poller", daemon=True)

    def sample(self) -> None:
        try:
            text = self.path.read_text("ascii", errors="replace")
        except OSError:
            return
        for line in text.splitlines():
            if line.startswith("VmHWM:"):
                value = int(line.split()[1]) * 1024
                self.peak_bytes = max(self.peak_bytes or 0, value)
                return

    def _run(self) -> None:
        while True:
            self.sample()
            if self._stop.wait(self.interval_s):
                return

    def start(self) -> RssPoller:
        if self.path.parent.parent.is_dir():
            self._thread.start()
        return self

    def stop(self) -> int | None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        return self.peak_bytes


def _peak_rss(
    result: dict[str, Any] | None, phases: list[dict[str, Any]], polled: int | None, maxrss: int | None
) -> int | None:
    """The worker's peak RSS: its own final report, else the last polled or phase value (a lower
    bound for a worker that died), else ``wait4``'s maxrss where there is no /proc (macOS)."""
    reported = [
        value
        for value in ((result or {}).get("peak_rss_self_bytes"), polled, *(p.get("rss_bytes") for p in phases))
        if isinstance(value, int) and value > 0
    ]
    if reported:
        return max(reported)
    if maxrss is None:
        return None
    return int(maxrss if sys.platform == "darwin" else maxrss * 1024)


def _signal_name(sig: int) -> str:
    try:
        return signal.Signals(sig).name
    except ValueError:
        return f"signal {sig}"


def _kill_group(proc: subprocess.Popen[bytes], *, hard: bool) -> None:
    """Stop the worker and anything it started (its own session), politely first."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        if hasattr(os, "killpg"):
            os.killpg(proc.pid, SIGKILL if hard and SIGKILL is not None else signal.SIGTERM)
        else:  # pragma: no cover - Windows: no process groups here
            proc.kill() if hard else proc.terminate()


def _read_result(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _read_phases(path: Path) -> list[dict[str, Any]]:
    phases = []
    try:
        lines = path.read_text("utf-8").splitlines()
    except OSError:
        return []
    for line in lines:
        with contextlib.suppress(ValueError):
            item = json.loads(line)
            if isinstance(item, dict) and "phase" in item:
                phases.append(item)
    return phases


def _tail(path: Path, lines: int = 5) -> str:
    try:
        text = path.read_text("utf-8", errors="replace")
    except OSError:
        return ""
    kept = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return " | ".join(kept[-lines:])[-600:]


def failure_message(outcome: WorkerOutcome, timeout_s: float) -> str | None:
    """One sentence for a worker that did not finish normally, or None when it did."""
    where = PHASE_WORDS.get(outcome.phase, outcome.phase or "starting")
    if outcome.timed_out:
        return f"the llama.cpp worker timed out after {timeout_s:g} s while {where} and was killed"
    sig = outcome.signal_number
    if sig is not None:
        if sig == SIGKILL:
            peak = f" at a peak RSS of {_mib(outcome.peak_rss_bytes)}" if outcome.peak_rss_bytes else ""
            return (
                f"the llama.cpp worker was killed (SIGKILL) while {where}{peak}: "
                "most likely the kernel's out-of-memory killer; try a smaller quant or context"
            )
        name = SIGNAL_NAMES.get(sig) or _signal_name(sig)
        return f"the llama.cpp worker crashed ({name}) while {where}"
    if outcome.result is None:
        detail = f": {outcome.stderr_tail}" if outcome.stderr_tail else ""
        return f"the llama.cpp worker exited with code {outcome.returncode} while {where} without a result{detail}"
    if not outcome.result.get("ok", False):
        return str(outcome.result.get("error") or "the llama.cpp worker reported a failure")
    return None


# --------------------------------------------------------------------------------------------
# Checks and the result (pure)


def output_sanity(token_ids: list[int], text: str, max_tokens: int, stop_reason: str | None) -> dict[str, bool]:
    """The output checks: something came out, not one token over and over, and it stopped in time."""
    return {
        "non_empty": bool(token_ids) and bool(text.strip()),
        "not_one_token_repeated": not (len(token_ids) >= REPEAT_MIN_TOKENS and len(set(token_ids)) == 1),
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
    prediction: Prediction,
    outcome: WorkerOutcome,
    machine: MachineInfo,
) -> dict[str, Any]:
    """The smoke result (the DESIGN.md §4 JSON contract plus details)."""
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
    ok = run_ok and all(checks.values())
    baseline = worker.get("baseline_rss_bytes")
    peak = outcome.peak_rss_bytes or worker.get("peak_rss_self_bytes")
    model_rss = peak - baseline if peak is not None and baseline is not None else None
    memory = _memory_comparison(prediction, peak, outcome.vram_peak_bytes, device)
    decode_error = relative_error(decode_rate, prediction.decode_tokens_per_s) if run_ok else None
    result: dict[str, Any] = {
        "ok": ok,
        "backend": BACKEND,
        "model": model,
        "file": str(info.path),
        "quant": quant or info.file_type,
        "device": device,
        "gpu_layers": gpu_layers,
        "context": context,
        "load_s": _round(worker.get("load_s"), 3),
        "prompt_tokens": worker.get("prompt_tokens"),
        "prompt_tokens_per_s": _round(prompt_rate),
        "completion_tokens": worker.get("completion_tokens"),
        "decode_tokens_per_s": _round(decode_rate),
        "peak_rss_bytes": peak,
        "output": worker.get("output", ""),
        "predicted": prediction.as_dict(),
        "ttft_s": _round(worker.get("ttft_s"), 4),
        "decode_wall_tokens_per_s": _round(worker.get("decode_wall_tokens_per_s")),
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
        "errors": {"memory": memory.get("error"), "decode_tokens_per_s": _round(decode_error, 4)},
        "within_band": {
            "memory": memory.get("within_band"),
            "decode_tokens_per_s": None if decode_error is None else abs(decode_error) <= prediction.decode_band,
        },
        "checks": checks,
        "chat": {k: v for k, v in chat.items() if k != "output_token_ids"},
        "error": failure,
        "phase": outcome.phase,
        "timed_out": outcome.timed_out,
        "returncode": outcome.returncode,
        "wall_s": _round(outcome.wall_s, 3),
        "machine": machine.as_dict(),
        "file_bytes": info.file_bytes,
        "architecture": info.architecture,
        "llama_cpp_version": worker.get("llama_cpp_version"),
        "notes": notes,
    }
    if failed := [name for name, passed in checks.items() if not passed]:
        result["error"] = result["error"] or f"output checks failed: {', '.join(failed)}"
    return result


def _memory_comparison(prediction: Prediction, peak_rss: int | None, vram: int | None, device: str) -> dict[str, Any]:
    """Measured memory against the prediction, and whether it sits inside the stated band.

    On the CPU the measurement is the worker's peak RSS, which holds what the planner's total
    holds: weights, KV cache, compute buffer and the runtime (the reserve). The total is the upper
    bound (llama.cpp reserves its compute buffer but touches only what the graph uses); the weights
    a token reads plus the KV cache are the lower bound: they are always resident. The band is
    [floor, total] widened by ``MEMORY_SLACK``. On a GPU the peak VRAM is held against the
    predicted device part the same way (floor: the device part without compute buffer and reserve).
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
    low, high = floor * (1 - MEMORY_SLACK), predicted * (1 + MEMORY_SLACK)
    return {
        "measured": what,
        "measured_bytes": measured,
        "predicted_bytes": predicted,
        "band_bytes": [int(low), int(high)],
        "error": _round(relative_error(measured, predicted), 4),
        "within_band": low <= measured <= high,
    }


def refused_result(
    *, model: str, info: GgufInfo, quant: str | None, context: int, prediction: Prediction, machine: MachineInfo
) -> dict[str, Any]:
    """The result when the pre-flight refuses to run (the contract keys, nothing measured)."""
    return {
        "ok": False,
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
        "error": f"refused: {prediction.refusal} (--force runs it anyway)",
        "machine": machine.as_dict(),
        "checks": {},
        "notes": [],
    }


# --------------------------------------------------------------------------------------------
# The whole run


def run_smoke(
    model_path: Path,
    model_name: str,
    quant: str | None,
    options: SmokeOptions,
    *,
    env: Mapping[str, str] | None = None,
    hardware_catalog: Callable[[], Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """Pre-flight, run, measure, compare and record one smoke test; returns the result.

    ``hardware_catalog`` gives the catalog's hardware records, used (only when GPUs are present)
    to look up a GPU's bandwidth by its name.
    """
    from advisor.estimate.constants import estimator_constants
    from advisor.files.gguf import read_gguf
    from advisor.machine import detect_machine, measure_memory_bandwidth_gb_s
    from advisor.smoke.history import load_calibration, record_run

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
    device = gpu_device(machine.gpus, lookup)
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
    if load_before is not None and load_before > BUSY_LOAD_PER_CPU * machine.cpu_count:
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

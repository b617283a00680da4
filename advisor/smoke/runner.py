"""Running the worker process: ``python -P -m advisor.smoke.worker`` with a timeout, measured from
outside, and what happened to it in one sentence.

Everything that can go wrong in native code (a segfault, a hang, the OOM killer) happens in the
worker (:mod:`advisor.smoke.worker`) and comes back here as a :class:`WorkerOutcome`, never as an
exception: the worker runs in its own session, is stopped politely and then hard at the timeout,
it dies with the CLI (a stop signal or an error kills its group before its directory is
removed; a CLI killed outright closes the worker's lifeline pipe, and the worker ends itself),
its peak RSS is polled from ``/proc`` (VRAM through :class:`advisor.machine.VramMonitor`), and the
CPUs other work kept busy meanwhile are measured (:class:`advisor.machine.CpuClock`).
:func:`failure_message` turns an outcome that did not finish normally into the sentence the
result carries (which signal, in which phase).
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
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from advisor.machine import CpuClock, VramMonitor
from advisor.smoke.units import mib
from advisor.smoke.worker import WORKDIR_PREFIX

KILL_GRACE_S = 2.0

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
    others_busy_cpus: float | None = None

    @property
    def signal_number(self) -> int | None:
        return -self.returncode if self.returncode is not None and self.returncode < 0 else None


def run_worker(
    request: Mapping[str, Any],
    timeout_s: float,
    *,
    env: Mapping[str, str] | None = None,
    watch_vram: bool = False,
) -> WorkerOutcome:
    """Run ``python -m advisor.smoke.worker`` on ``request`` with a timeout; never raises for
    anything the worker does (crash, hang, kill), only reports it."""
    workdir = Path(tempfile.mkdtemp(prefix=WORKDIR_PREFIX))
    # The worker holds the read end of this pipe and the CLI the write end: when the CLI dies by
    # any means (SIGKILL included), the worker reads EOF, removes the workdir and ends its group.
    lifeline_read, lifeline_write = os.pipe()
    proc: subprocess.Popen[bytes] | None = None
    waiter: threading.Thread | None = None
    try:
        request_path = workdir / "request.json"
        result_path = workdir / "result.json"
        progress_path = workdir / "progress.jsonl"
        log_path = workdir / "worker.log"
        request_path.write_text(
            json.dumps(
                {
                    **request,
                    "result_path": str(result_path),
                    "progress_path": str(progress_path),
                    "workdir": str(workdir),
                    "lifeline_fd": lifeline_read,
                }
            ),
            "utf-8",
        )
        command = [sys.executable, "-P", "-m", "advisor.smoke.worker", str(request_path)]
        clock = CpuClock().start()
        started = time.perf_counter()
        with log_path.open("wb") as log:
            proc = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                env=dict(env) if env is not None else None,
                start_new_session=True,
                pass_fds=(lifeline_read,),
            )
        os.close(lifeline_read)
        lifeline_read = -1
        waited: dict[str, Any] = {}
        running = proc

        def wait() -> None:
            if hasattr(os, "wait4"):
                _, status, usage = os.wait4(running.pid, 0)
                waited["returncode"] = os.waitstatus_to_exitcode(status)
                waited["maxrss"] = usage.ru_maxrss
                waited["cpu_s"] = usage.ru_utime + usage.ru_stime
            else:  # pragma: no cover - Windows has no wait4; no peak RSS there
                waited["returncode"] = running.wait()

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
        others = clock.others_busy_cpus(waited.get("cpu_s", 0.0))
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
            others_busy_cpus=others,
        )
    finally:
        # Whatever ends the wait (Ctrl-C, SIGTERM, an error here), the worker goes first, then its
        # files: removing the directory of a live worker would leave it running on a deleted model.
        if proc is not None and (waiter is None or waiter.is_alive()):
            _kill_group(proc, hard=True)
            if waiter is not None:
                waiter.join(KILL_GRACE_S)
            else:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(KILL_GRACE_S)
        for fd in (lifeline_read, lifeline_write):
            if fd >= 0:
                with contextlib.suppress(OSError):
                    os.close(fd)
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


def _signal_name(sig: int) -> str:
    try:
        return signal.Signals(sig).name
    except ValueError:
        return f"signal {sig}"


def failure_message(outcome: WorkerOutcome, timeout_s: float) -> str | None:
    """One sentence for a worker that did not finish normally, or None when it did."""
    where = PHASE_WORDS.get(outcome.phase, outcome.phase or "starting")
    if outcome.timed_out:
        return f"the llama.cpp worker timed out after {timeout_s:g} s while {where} and was killed"
    sig = outcome.signal_number
    if sig is not None:
        if sig == SIGKILL:
            peak = f" at a peak RSS of {mib(outcome.peak_rss_bytes)}" if outcome.peak_rss_bytes else ""
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

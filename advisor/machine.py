"""This machine: cores, the threads llama.cpp will use, RAM, GPUs, measured memory bandwidth, and
how many CPUs other work keeps busy (:class:`CpuClock`); and :func:`local_device`, the one way its
GPUs become the estimators' accelerator (``Device``).

``advisor smoke`` (and ``advisor fit --hardware local``) predict for the machine they run on rather
than for a catalog device (docs/smoke.md, "What happens"): on a 2-core cloud VM the effective memory
bandwidth can be a fifth of a desktop's, and decode speed is bandwidth-bound, so a catalog default
would be far off. The bandwidth is therefore measured, once, with a short probe and cached.

Everything here degrades cleanly: no NVML and no ``nvidia-smi`` means no GPUs, not an error; an
unreadable cgroup or ``/proc`` file falls back to ``os.sysconf``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import os
import platform
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from advisor.catalog.records import HardwareRecord
    from advisor.estimate.fit import Device

from advisor.files.cache import cache_dir, read_json, write_json

MIB = 1024**2

#: Probe buffer: at least this big, and at least 8x the last-level cache, so the copy streams
#: from DRAM rather than from cache.
PROBE_MIN_BYTES = 256 * MIB
PROBE_REPEATS = 5
NVIDIA_SMI_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class GpuInfo:
    """One accelerator as the driver reports it; memory in bytes."""

    name: str
    memory_total_bytes: int
    memory_free_bytes: int
    backend: str
    index: int = 0
    bandwidth_gb_s: float | None = None
    source: str = ""


@dataclass(frozen=True)
class MachineInfo:
    """The machine ``advisor smoke`` runs on."""

    cpu_count: int
    physical_cores: int
    threads_llama: int
    ram_total_bytes: int
    ram_available_bytes: int
    gpus: list[GpuInfo] = field(default_factory=list)
    cpu_model: str = ""
    system: str = ""
    ram_limited_by_cgroup: bool = False

    @property
    def key(self) -> str:
        """Identifies the machine for the bandwidth cache and calibration (CPU model, cores, RAM)."""
        return f"{self.cpu_model or 'unknown-cpu'}|{self.cpu_count}cpu|{round(self.ram_total_bytes / 2**30)}GiB"

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["key"] = self.key
        return data


# --------------------------------------------------------------------------------------------
# Cache directory


# --------------------------------------------------------------------------------------------
# CPU and RAM


def _read_text(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return handle.read()
    except OSError:
        return None


def usable_cpus() -> int:
    """CPUs this process may run on (the affinity mask, which containers and taskset narrow)."""
    if hasattr(os, "sched_getaffinity"):
        with contextlib.suppress(OSError):
            return max(len(os.sched_getaffinity(0)), 1)
    return os.cpu_count() or 1


def physical_cores_from_cpuinfo(text: str) -> int | None:
    """Distinct (physical id, core id) pairs in ``/proc/cpuinfo``; None when the file lacks them."""
    pairs: set[tuple[str, str]] = set()
    physical = core = None
    for line in [*text.splitlines(), ""]:
        if not line.strip():
            if core is not None:
                pairs.add((physical or "0", core))
            physical = core = None
            continue
        key, _, value = line.partition(":")
        key = key.strip()
        if key == "physical id":
            physical = value.strip()
        elif key == "core id":
            core = value.strip()
    return len(pairs) or None


def cpu_model_from_cpuinfo(text: str) -> str:
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("model name", "Hardware", "Processor", "cpu model"):
            return " ".join(value.split())
    return ""


def _sysctl(name: str) -> str | None:
    if shutil.which("sysctl") is None:
        return None
    try:
        proc = subprocess.run(["sysctl", "-n", name], capture_output=True, text=True, timeout=2)
    except (OSError, subprocess.SubprocessError):
        return None
    return proc.stdout.strip() or None if proc.returncode == 0 else None


def _cpu_facts() -> tuple[str, int | None]:
    """CPU model name and physical core count for this OS, as far as it tells."""
    text = _read_text("/proc/cpuinfo")
    if text is not None:
        return cpu_model_from_cpuinfo(text), physical_cores_from_cpuinfo(text)
    if sys.platform == "darwin":
        cores = _sysctl("hw.perflevel0.physicalcpu") or _sysctl("hw.physicalcpu")
        return _sysctl("machdep.cpu.brand_string") or platform.processor(), int(cores) if cores else None
    return platform.processor(), None


def meminfo_bytes(text: str) -> dict[str, int]:
    """``/proc/meminfo`` as bytes."""
    values: dict[str, int] = {}
    for line in text.splitlines():
        key, _, rest = line.partition(":")
        parts = rest.split()
        if parts and parts[0].isdigit():
            values[key.strip()] = int(parts[0]) * (1024 if len(parts) > 1 and parts[1] == "kB" else 1)
    return values


def cgroup_memory_limit(root: str = "/sys/fs/cgroup") -> tuple[int, int] | None:
    """(limit, current usage) of this process's memory cgroup, v2 or v1; None when unlimited.

    A container's limit, not the host's RAM, decides when the OOM killer strikes.
    """
    candidates = [
        (f"{root}/memory.max", f"{root}/memory.current"),
        (f"{root}/memory/memory.limit_in_bytes", f"{root}/memory/memory.usage_in_bytes"),
    ]
    for limit_path, usage_path in candidates:
        limit_text = _read_text(limit_path)
        if limit_text is None:
            continue
        limit_text = limit_text.strip()
        if not limit_text.isdigit():
            return None  # "max": unlimited
        limit = int(limit_text)
        if limit >= 2**60:  # v1 reports "unlimited" as a huge number
            return None
        usage_text = (_read_text(usage_path) or "0").strip()
        return limit, int(usage_text) if usage_text.isdigit() else 0
    return None


def _ram() -> tuple[int, int, bool]:
    """Total and available RAM in bytes, narrowed by a cgroup limit; and whether one applied."""
    total = available = 0
    text = _read_text("/proc/meminfo")
    if text is not None:
        info = meminfo_bytes(text)
        total = info.get("MemTotal", 0)
        available = info.get("MemAvailable", info.get("MemFree", 0))
    if not total and hasattr(os, "sysconf"):
        with contextlib.suppress(ValueError, OSError):
            page = os.sysconf("SC_PAGE_SIZE")
            total = os.sysconf("SC_PHYS_PAGES") * page
            with contextlib.suppress(ValueError, OSError):
                available = os.sysconf("SC_AVPHYS_PAGES") * page
    if sys.platform == "darwin" and not available:
        available = total // 2  # vm_stat's "free" omits reclaimable cache; half is a stated guess
    limited = False
    cgroup = cgroup_memory_limit()
    if cgroup is not None:
        limit, usage = cgroup
        if limit < total or not total:
            total = limit
            available = min(available or limit, max(limit - usage, 0))
            limited = True
    return total, available, limited


def llama_threads(physical_cores: int | None, usable: int) -> int:
    """The thread count llama.cpp picks by default: physical cores (``cpu_get_num_math``) that the
    affinity mask allows. ``advisor smoke`` passes it explicitly, because llama-cpp-python's own
    default (half the logical CPUs) would use one thread on a 2-core VM."""
    cores = physical_cores or usable
    return max(1, min(cores, usable))


# --------------------------------------------------------------------------------------------
# CPU load: how much of this machine other work is using


#: /proc/stat columns that count as busy: user, nice, system, irq, softirq and steal (another VM on
#: the host running on this CPU); idle and iowait do not (guest time is already inside user).
_BUSY_COLUMNS = (0, 1, 2, 5, 6, 7)


def busy_cpu_seconds_from_stat(text: str, cpus: Collection[int] | None = None) -> float | None:
    """CPU-seconds the CPUs in ``cpus`` (default: all) have been busy since boot, from ``/proc/stat``
    text; None when it has no per-CPU lines. Per-CPU lines, not the total: a container sees the
    host's CPUs there, and only the ones in its affinity mask are shared with llama.cpp."""
    ticks = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    total = 0
    found = False
    for line in text.splitlines():
        name, _, rest = line.partition(" ")
        if not name.startswith("cpu") or not name[3:].isdigit():
            continue
        if cpus is not None and int(name[3:]) not in cpus:
            continue
        values = [int(v) for v in rest.split() if v.isdigit()]
        total += sum(values[i] for i in _BUSY_COLUMNS if i < len(values))
        found = True
    return total / ticks if found else None


def _usable_cpu_ids() -> set[int] | None:
    if hasattr(os, "sched_getaffinity"):
        with contextlib.suppress(OSError):
            return set(os.sched_getaffinity(0))
    return None


class CpuClock:
    """Measures the CPUs other work keeps busy: this machine's busy CPU-seconds (``/proc/stat``,
    the CPUs this process may use) minus this process's own and its child's, over wall time.

    ``start()`` then ``others_busy_cpus(child_cpu_s)``; the answer is an average number of CPUs
    (1.3 = other work kept one CPU and a third busy), or None where there is no ``/proc/stat``.
    """

    def __init__(self) -> None:
        self._cpus = _usable_cpu_ids()
        self._busy: float | None = None
        self._own = 0.0
        self._wall = 0.0

    def _sample(self) -> tuple[float | None, float, float]:
        text = _read_text("/proc/stat")
        busy = busy_cpu_seconds_from_stat(text, self._cpus) if text is not None else None
        own = os.times()
        return busy, own.user + own.system, time.perf_counter()

    def start(self) -> CpuClock:
        self._busy, self._own, self._wall = self._sample()
        return self

    def others_busy_cpus(self, child_cpu_s: float = 0.0) -> float | None:
        """CPUs busy with other work since :meth:`start` (never below 0)."""
        busy, own, wall = self._sample()
        if busy is None or self._busy is None or wall <= self._wall:
            return None
        others = (busy - self._busy) - (own - self._own) - child_cpu_s
        return max(others / (wall - self._wall), 0.0)


def measure_others_busy_cpus(seconds: float) -> float | None:
    """The CPUs other work keeps busy, watched for ``seconds`` (this process sleeps meanwhile)."""
    clock = CpuClock().start()
    time.sleep(seconds)
    return clock.others_busy_cpus()


def detect_machine(*, with_gpus: bool = True) -> MachineInfo:
    """Cores, threads, RAM and GPUs of this machine (cheap: no bandwidth probe)."""
    model, physical = _cpu_facts()
    usable = usable_cpus()
    total, available, limited = _ram()
    return MachineInfo(
        cpu_count=usable,
        physical_cores=physical or usable,
        threads_llama=llama_threads(physical, usable),
        ram_total_bytes=total,
        ram_available_bytes=available,
        gpus=detect_gpus() if with_gpus else [],
        cpu_model=model,
        system=f"{platform.system()} {platform.machine()}",
        ram_limited_by_cgroup=limited,
    )


# --------------------------------------------------------------------------------------------
# GPUs


def _nvml() -> Any | None:
    """The pynvml module after a successful nvmlInit, or None (not installed, no driver)."""
    try:
        import pynvml  # type: ignore[import-not-found, import-untyped, unused-ignore]
    except ImportError:
        return None
    try:
        pynvml.nvmlInit()
    except Exception:
        return None
    return pynvml


def _text(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def nvml_gpus(nvml: Any) -> list[GpuInfo]:
    """GPUs through an initialised NVML module (real pynvml or a test fake)."""
    gpus: list[GpuInfo] = []
    for index in range(int(nvml.nvmlDeviceGetCount())):
        handle = nvml.nvmlDeviceGetHandleByIndex(index)
        memory = nvml.nvmlDeviceGetMemoryInfo(handle)
        bandwidth = None
        with contextlib.suppress(Exception):
            clock_mhz = nvml.nvmlDeviceGetMaxClockInfo(handle, nvml.NVML_CLOCK_MEM)
            bus_bits = nvml.nvmlDeviceGetMemoryBusWidth(handle)
            bandwidth = clock_mhz * 1e6 * 2 * bus_bits / 8 / 1e9 if clock_mhz and bus_bits else None
        gpus.append(
            GpuInfo(
                name=_text(nvml.nvmlDeviceGetName(handle)),
                memory_total_bytes=int(memory.total),
                memory_free_bytes=int(memory.free),
                backend="cuda",
                index=index,
                bandwidth_gb_s=bandwidth,
                source="nvml",
            )
        )
    return gpus


def parse_nvidia_smi_gpus(text: str) -> list[GpuInfo]:
    """``nvidia-smi --query-gpu=index,name,memory.total,memory.free --format=csv,noheader,nounits``."""
    gpus = []
    for line in text.strip().splitlines():
        parts = [p.strip() for p in line.split(",")]
        if len(parts) < 4:
            continue
        try:
            index, total_mib, free_mib = int(parts[0]), float(parts[-2]), float(parts[-1])
        except ValueError:
            continue
        name = ",".join(parts[1:-2])
        gpus.append(
            GpuInfo(
                name=name,
                memory_total_bytes=int(total_mib * MIB),
                memory_free_bytes=int(free_mib * MIB),
                backend="cuda",
                index=index,
                source="nvidia-smi",
            )
        )
    return gpus


def _nvidia_smi(args: Sequence[str]) -> str | None:
    exe = shutil.which("nvidia-smi")
    if exe is None:
        return None
    try:
        proc = subprocess.run([exe, *args], capture_output=True, text=True, timeout=NVIDIA_SMI_TIMEOUT_S)
    except (OSError, subprocess.SubprocessError):
        return None
    return proc.stdout if proc.returncode == 0 else None


def _apple_gpu(total_ram: int, available_ram: int) -> list[GpuInfo]:
    """Apple Silicon: the GPU shares unified memory (Metal is llama.cpp's default there)."""
    if sys.platform != "darwin" or platform.machine() != "arm64":
        return []
    name = _sysctl("machdep.cpu.brand_string") or "Apple Silicon"
    return [GpuInfo(name=name, memory_total_bytes=total_ram, memory_free_bytes=available_ram, backend="metal")]


def detect_gpus() -> list[GpuInfo]:
    """NVML when pynvml is importable, else ``nvidia-smi``, else Apple's unified memory, else []."""
    nvml = _nvml()
    if nvml is not None:
        try:
            return nvml_gpus(nvml)
        except Exception:
            pass
        finally:
            with contextlib.suppress(Exception):
                nvml.nvmlShutdown()
    text = _nvidia_smi(["--query-gpu=index,name,memory.total,memory.free", "--format=csv,noheader,nounits"])
    if text:
        return parse_nvidia_smi_gpus(text)
    if sys.platform == "darwin":
        total, available, _ = _ram()
        return _apple_gpu(total, available)
    return []


def nvml_process_memory(nvml: Any, pid: int) -> int | None:
    """VRAM bytes ``pid`` holds on all GPUs, via an initialised NVML module; None if not listed."""
    used = 0
    found = False
    for index in range(int(nvml.nvmlDeviceGetCount())):
        handle = nvml.nvmlDeviceGetHandleByIndex(index)
        for proc in nvml.nvmlDeviceGetComputeRunningProcesses(handle):
            if int(proc.pid) == pid and proc.usedGpuMemory is not None:
                used += int(proc.usedGpuMemory)
                found = True
    return used if found else None


def parse_nvidia_smi_apps(text: str, pid: int) -> int | None:
    """``nvidia-smi --query-compute-apps=pid,used_memory --format=csv,noheader,nounits`` for one pid."""
    used = 0
    found = False
    for line in text.strip().splitlines():
        parts = [p.strip() for p in line.split(",")]
        if len(parts) == 2 and parts[0].isdigit() and int(parts[0]) == pid:
            with contextlib.suppress(ValueError):
                used += int(float(parts[1]) * MIB)
                found = True
    return used if found else None


class VramMonitor:
    """Polls the VRAM one process holds (NVML, else nvidia-smi) and keeps the peak.

    Runs in a thread of the parent while the smoke worker runs; with no NVIDIA GPU it does nothing.
    """

    def __init__(self, pid: int, interval_s: float = 0.25, reader: Callable[[int], int | None] | None = None) -> None:
        self.pid = pid
        self.interval_s = interval_s
        self.peak_bytes: int | None = None
        self._stop = threading.Event()
        self._nvml: Any | None = None
        self._reader = reader or self._default_reader()
        self._thread: threading.Thread | None = None

    def _default_reader(self) -> Callable[[int], int | None]:
        nvml = _nvml()
        if nvml is not None:
            self._nvml = nvml
            return lambda pid: nvml_process_memory(nvml, pid)
        if shutil.which("nvidia-smi"):

            def from_smi(pid: int) -> int | None:
                text = _nvidia_smi(["--query-compute-apps=pid,used_memory", "--format=csv,noheader,nounits"])
                return parse_nvidia_smi_apps(text, pid) if text else None

            return from_smi
        return lambda pid: None

    def sample(self) -> None:
        try:
            value = self._reader(self.pid)
        except Exception:
            value = None
        if value is not None:
            self.peak_bytes = max(self.peak_bytes or 0, value)

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.sample()

    def start(self) -> VramMonitor:
        self._thread = threading.Thread(target=self._run, name="vram-monitor", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> int | None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self._nvml is not None:
            with contextlib.suppress(Exception):
                self._nvml.nvmlShutdown()
        return self.peak_bytes


# --------------------------------------------------------------------------------------------
# The estimators' view of the GPUs


def local_device(gpus: Sequence[GpuInfo], bandwidth_lookup: Mapping[str, float] | None = None) -> Device | None:
    """This machine's accelerators as the fit estimators see them, or None without a GPU.

    Identical devices are assumed, sized by the least free memory (what llama.cpp can still
    allocate on each). The bandwidth is the first one a driver reported (NVML), else the
    ``bandwidth_lookup`` entry for the first GPU's name (:func:`catalog_bandwidths`), else 0 (the
    fit then keeps every layer on the CPU). Apple's Metal GPU shares the unified memory.
    """
    from advisor.estimate.fit import Device  # the estimators load the catalog schemas: only when asked

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


def catalog_bandwidths(gpu_names: Sequence[str], hardware: Mapping[str, HardwareRecord]) -> dict[str, float]:
    """Catalog bandwidth for each detected GPU whose name matches a catalog record's name.

    A match: every word of the driver's name (vendor words dropped) is a word of the record's
    name or one of its aliases; of several matches the shortest record name wins.
    """
    found: dict[str, float] = {}
    ignore = {"nvidia", "geforce", "amd", "radeon", "apple", "gpu"}
    for name in gpu_names:
        tokens = {t for t in _words(name) if t not in ignore}
        best = None
        for record in hardware.values():
            if record.kind == "cpu":
                continue
            record_tokens = _words(record.name) | {a.lower() for a in record.aliases}
            if tokens and tokens <= record_tokens:
                best = record if best is None or len(record.name) < len(best.name) else best
        if best is not None:
            found[name] = best.bandwidth_gb_s
    return found


def _words(text: str) -> set[str]:
    return {t for t in "".join(c.lower() if c.isalnum() else " " for c in text).split() if t}


# --------------------------------------------------------------------------------------------
# Memory bandwidth


def _probe_bytes(available: int) -> int:
    l3 = 0
    text = _read_text("/sys/devices/system/cpu/cpu0/cache/index3/size")
    if text and text.strip().upper().endswith("K") and text.strip()[:-1].isdigit():
        l3 = int(text.strip()[:-1]) * 1024
    size = max(PROBE_MIN_BYTES, 8 * l3)
    if available:
        size = min(size, available // 8)  # src + dst stay under a quarter of free RAM
    return max(size, 16 * MIB)


def probe_bandwidth_gb_s(size_bytes: int, threads: int, repeats: int = PROBE_REPEATS) -> float:
    """Copy a buffer much larger than the caches with ``threads`` threads (as llama.cpp reads its
    weights with several); GB/s counts bytes read plus bytes written (STREAM "Copy"), best of
    ``repeats``. numpy releases the GIL inside ``copyto``, so the threads run in parallel."""
    import numpy as np

    src = np.ones(size_bytes // 8, dtype=np.float64)
    dst = np.zeros_like(src)
    np.copyto(dst, src)  # fault every page in before timing
    bounds = np.linspace(0, src.size, threads + 1, dtype=np.int64)
    chunks = [(int(a), int(b)) for a, b in itertools.pairwise(bounds.tolist())]
    best = float("inf")
    for _ in range(repeats):
        workers = [threading.Thread(target=np.copyto, args=(dst[a:b], src[a:b])) for a, b in chunks]
        start = time.perf_counter()
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        best = min(best, time.perf_counter() - start)
    return 2 * src.nbytes / best / 1e9


def measure_memory_bandwidth_gb_s(
    *, refresh: bool = False, machine: MachineInfo | None = None, probe: Callable[[int, int], float] | None = None
) -> float:
    """This machine's memory bandwidth in GB/s: measured once (a few hundred ms), then read from
    ``machine.json`` in :func:`cache_dir`, keyed by CPU model, core count and RAM."""
    machine = machine or detect_machine(with_gpus=False)
    path = cache_dir() / "machine.json"
    data = read_json(path)
    entries = data.get("bandwidth")
    entries = entries if isinstance(entries, dict) else {}
    cached = entries.get(machine.key)
    if not refresh and isinstance(cached, dict) and isinstance(cached.get("gb_s"), int | float) and cached["gb_s"] > 0:
        return float(cached["gb_s"])
    size = _probe_bytes(machine.ram_available_bytes)
    threads = machine.threads_llama
    gb_s = (probe or probe_bandwidth_gb_s)(size, threads)
    entries[machine.key] = {
        "gb_s": round(gb_s, 2),
        "method": f"numpy copy of {size // MIB} MiB with {threads} threads, best of {PROBE_REPEATS}",
        "measured_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    data["bandwidth"] = entries
    with contextlib.suppress(OSError):
        write_json(path, data)
    return gb_s

"""This machine: CPU facts, RAM and cgroup limits, GPUs through fakes of NVML and nvidia-smi, and
the cached bandwidth probe. No GPU here, so every GPU path runs against a fake."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from advisor import machine
from advisor.files.cache import cache_dir
from advisor.machine import (
    CpuClock,
    GpuInfo,
    MachineInfo,
    VramMonitor,
    busy_cpu_seconds_from_stat,
    cgroup_memory_limit,
    detect_gpus,
    detect_machine,
    llama_threads,
    measure_memory_bandwidth_gb_s,
    meminfo_bytes,
    nvml_gpus,
    nvml_process_memory,
    parse_nvidia_smi_apps,
    parse_nvidia_smi_gpus,
    physical_cores_from_cpuinfo,
    probe_bandwidth_gb_s,
)


@pytest.fixture(autouse=True)
def _own_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ADVISOR_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


CPUINFO_SMT = "\n\n".join(
    f"processor\t: {cpu}\nmodel name\t: Test CPU 9000\nphysical id\t: 0\ncore id\t\t: {cpu % 4}\n" for cpu in range(8)
)


def test_cpuinfo_counts_physical_cores_not_hyperthreads() -> None:
    assert physical_cores_from_cpuinfo(CPUINFO_SMT) == 4
    assert machine.cpu_model_from_cpuinfo(CPUINFO_SMT) == "Test CPU 9000"
    assert physical_cores_from_cpuinfo("processor\t: 0\nmodel name\t: VM\n") is None


def test_llama_threads_is_physical_cores_within_the_affinity_mask() -> None:
    assert llama_threads(4, 8) == 4  # SMT: one thread per core, as llama.cpp's cpu_get_num_math
    assert llama_threads(16, 2) == 2  # taskset / a container narrowed the CPUs
    assert llama_threads(None, 3) == 3


PROC_STAT = """cpu  900 0 300 5000 100 0 0 0 0 0
cpu0 100 10 50 2000 40 5 5 30 0 0
cpu1 200 0 100 1000 60 0 0 0 0 0
cpu2 9999 0 0 0 0 0 0 0 0 0
intr 12345
"""


def test_busy_cpu_seconds_count_the_allowed_cpus_with_steal_not_idle_or_iowait() -> None:
    tick = __import__("os").sysconf("SC_CLK_TCK")
    # cpu0: user 100 + nice 10 + system 50 + irq 5 + softirq 5 + steal 30; idle and iowait left out
    assert busy_cpu_seconds_from_stat(PROC_STAT, {0}) == pytest.approx(200 / tick)
    assert busy_cpu_seconds_from_stat(PROC_STAT, {0, 1}) == pytest.approx(500 / tick)
    assert busy_cpu_seconds_from_stat(PROC_STAT, None) == pytest.approx(10499 / tick)  # per CPU, not the total line
    assert busy_cpu_seconds_from_stat("cpu  1 2 3 4\n", None) is None


def test_cpu_clock_subtracts_this_process_and_its_child(monkeypatch: pytest.MonkeyPatch) -> None:
    """Other work = the CPUs' busy seconds minus our own and the worker's, over the wall time."""
    samples = iter([(10.0, 1.0, 100.0), (14.0, 1.5, 102.0)])  # (busy s, own cpu s, wall s)
    monkeypatch.setattr(CpuClock, "_sample", lambda self: next(samples))
    clock = CpuClock().start()
    assert clock.others_busy_cpus(child_cpu_s=1.5) == pytest.approx((4.0 - 0.5 - 1.5) / 2.0)
    samples = iter([(10.0, 1.0, 100.0), (11.0, 1.5, 102.0)])
    assert CpuClock().start().others_busy_cpus(child_cpu_s=1.0) == 0.0  # never below zero
    samples = iter([(None, 1.0, 100.0), (None, 1.5, 102.0)])
    assert CpuClock().start().others_busy_cpus() is None  # no /proc/stat


def test_others_busy_cpus_on_this_host() -> None:
    measured = machine.measure_others_busy_cpus(0.2)
    assert measured is None or 0.0 <= measured <= machine.usable_cpus() + 0.5


def test_meminfo_and_cgroup_limits(tmp_path: Path) -> None:
    info = meminfo_bytes("MemTotal:       16384 kB\nMemAvailable:    8192 kB\nHugePages_Total:       0\n")
    assert info == {"MemTotal": 16384 * 1024, "MemAvailable": 8192 * 1024, "HugePages_Total": 0}
    v2 = tmp_path / "v2"
    v2.mkdir()
    (v2 / "memory.max").write_text("2147483648\n")
    (v2 / "memory.current").write_text("1073741824\n")
    assert cgroup_memory_limit(str(v2)) == (2 * 2**30, 2**30)
    (v2 / "memory.max").write_text("max\n")
    assert cgroup_memory_limit(str(v2)) is None
    v1 = tmp_path / "v1" / "memory"
    v1.mkdir(parents=True)
    (v1 / "memory.limit_in_bytes").write_text(str(2**63 - 4096))
    assert cgroup_memory_limit(str(tmp_path / "v1")) is None
    (v1 / "memory.limit_in_bytes").write_text(str(4 * 2**30))
    (v1 / "memory.usage_in_bytes").write_text(str(2**30))
    assert cgroup_memory_limit(str(tmp_path / "v1")) == (4 * 2**30, 2**30)
    assert cgroup_memory_limit(str(tmp_path / "none")) is None


def test_detect_machine_on_this_host() -> None:
    found = detect_machine(with_gpus=False)
    assert found.cpu_count >= 1 and 1 <= found.threads_llama <= found.cpu_count
    assert found.ram_total_bytes > 0 and 0 < found.ram_available_bytes <= found.ram_total_bytes
    assert found.gpus == [] and found.key


# --------------------------------------------------------------------------------------------
# GPUs, through fakes


class FakeNvml:
    NVML_CLOCK_MEM = 2

    def __init__(self, processes: dict[int, list[tuple[int, int | None]]] | None = None) -> None:
        self.devices: list[tuple[str | bytes, int, int]] = [
            ("NVIDIA GeForce RTX 4090", 24 * 2**30, 20 * 2**30),
            (b"NVIDIA L4", 24 * 2**30, 23 * 2**30),
        ]
        self.processes = processes or {}
        self.shutdowns = 0

    def nvmlDeviceGetCount(self) -> int:
        return len(self.devices)

    def nvmlDeviceGetHandleByIndex(self, index: int) -> int:
        return index

    def nvmlDeviceGetName(self, handle: int) -> str | bytes:
        return self.devices[handle][0]

    def nvmlDeviceGetMemoryInfo(self, handle: int) -> Any:
        _, total, free = self.devices[handle]
        return SimpleNamespace(total=total, free=free, used=total - free)

    def nvmlDeviceGetMaxClockInfo(self, handle: int, kind: int) -> int:
        if handle == 1:
            raise RuntimeError("NVML_ERROR_NOT_SUPPORTED")
        return 10501  # MHz, the 4090's GDDR6X

    def nvmlDeviceGetMemoryBusWidth(self, handle: int) -> int:
        return 384

    def nvmlDeviceGetComputeRunningProcesses(self, handle: int) -> list[Any]:
        return [SimpleNamespace(pid=pid, usedGpuMemory=used) for pid, used in self.processes.get(handle, [])]

    def nvmlShutdown(self) -> None:
        self.shutdowns += 1


def test_nvml_gpus_with_a_fake() -> None:
    gpus = nvml_gpus(FakeNvml())
    assert [g.name for g in gpus] == ["NVIDIA GeForce RTX 4090", "NVIDIA L4"]
    assert gpus[0].memory_total_bytes == 24 * 2**30 and gpus[0].memory_free_bytes == 20 * 2**30
    assert gpus[0].backend == "cuda" and gpus[0].source == "nvml"
    assert gpus[0].bandwidth_gb_s == pytest.approx(1008.1, rel=1e-3)  # clock x 2 (DDR) x 384 bits / 8
    assert gpus[1].bandwidth_gb_s is None  # a query the driver does not support is not an error


def test_detect_gpus_prefers_nvml_then_nvidia_smi_then_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeNvml()
    monkeypatch.setattr(machine, "_nvml", lambda: fake)
    assert len(detect_gpus()) == 2 and fake.shutdowns == 1
    monkeypatch.setattr(machine, "_nvml", lambda: None)
    smi = "0, NVIDIA A100-SXM4-80GB, 81920, 80000\n1, NVIDIA A100-SXM4-80GB, 81920, 1000\n"
    monkeypatch.setattr(machine, "_nvidia_smi", lambda args: smi)
    gpus = detect_gpus()
    assert [g.index for g in gpus] == [0, 1] and gpus[1].memory_free_bytes == 1000 * 2**20
    assert gpus[0].source == "nvidia-smi"
    monkeypatch.setattr(machine, "_nvidia_smi", lambda args: None)
    monkeypatch.setattr("sys.platform", "linux")
    assert detect_gpus() == []


def test_nvidia_smi_parsing_tolerates_junk() -> None:
    assert parse_nvidia_smi_gpus("garbage\n0, Tesla T4, [N/A], 15000\n") == []
    gpus = parse_nvidia_smi_gpus("0, NVIDIA RTX A6000, 49140, 48000\n")
    assert gpus == [GpuInfo("NVIDIA RTX A6000", 49140 * 2**20, 48000 * 2**20, "cuda", index=0, source="nvidia-smi")]


def test_per_process_vram_from_nvml_and_nvidia_smi() -> None:
    fake = FakeNvml({0: [(111, 500 * 2**20), (222, 7)], 1: [(111, 100 * 2**20), (333, None)]})
    assert nvml_process_memory(fake, 111) == 600 * 2**20
    assert nvml_process_memory(fake, 333) is None and nvml_process_memory(fake, 999) is None
    text = "111, 500\n222, 12\n111, 100\n"
    assert parse_nvidia_smi_apps(text, 111) == 600 * 2**20
    assert parse_nvidia_smi_apps(text, 999) is None
    assert parse_nvidia_smi_apps("No running processes found\n", 111) is None


def test_vram_monitor_keeps_the_peak_and_survives_reader_errors() -> None:
    readings = iter([None, 100, 300, RuntimeError("driver gone"), 200])

    def reader(pid: int) -> int | None:
        value = next(readings, 200)
        if isinstance(value, Exception):
            raise value
        return value

    monitor = VramMonitor(1234, interval_s=0.001, reader=reader)
    for _ in range(5):
        monitor.sample()
    assert monitor.stop() == 300
    silent = VramMonitor(1234, interval_s=0.001, reader=lambda pid: None).start()
    assert silent.stop() is None


# --------------------------------------------------------------------------------------------
# Bandwidth


def _machine(key_cpu: str = "Test CPU", ram: int = 8 * 2**30) -> MachineInfo:
    return MachineInfo(
        cpu_count=2, physical_cores=2, threads_llama=2, ram_total_bytes=ram, ram_available_bytes=ram, cpu_model=key_cpu
    )


def test_bandwidth_is_measured_once_per_machine_and_cached(_own_cache: Path) -> None:
    calls: list[tuple[int, int]] = []

    def probe(size: int, threads: int) -> float:
        calls.append((size, threads))
        return 12.5 + len(calls)

    first = measure_memory_bandwidth_gb_s(machine=_machine(), probe=probe)
    again = measure_memory_bandwidth_gb_s(machine=_machine(), probe=probe)
    assert first == again == 13.5 and len(calls) == 1
    assert calls[0][1] == 2 and calls[0][0] >= 16 * 2**20
    other = measure_memory_bandwidth_gb_s(machine=_machine("Other CPU"), probe=probe)
    assert other == 14.5 and len(calls) == 2
    refreshed = measure_memory_bandwidth_gb_s(machine=_machine(), probe=probe, refresh=True)
    assert refreshed == 15.5
    stored = json.loads((_own_cache / "machine.json").read_text())
    assert set(stored["bandwidth"]) == {_machine().key, _machine("Other CPU").key}
    assert cache_dir() == _own_cache


def test_a_corrupt_cache_is_remeasured(_own_cache: Path) -> None:
    _own_cache.mkdir(parents=True)
    (_own_cache / "machine.json").write_text("{not json")
    assert measure_memory_bandwidth_gb_s(machine=_machine(), probe=lambda size, threads: 7.0) == 7.0
    (_own_cache / "machine.json").write_text(json.dumps({"bandwidth": {_machine().key: {"gb_s": -1}}}))
    assert measure_memory_bandwidth_gb_s(machine=_machine(), probe=lambda size, threads: 8.0) == 8.0


def test_cache_dir_follows_xdg_when_not_set(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("ADVISOR_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "xdg" / "model-advisor"


def test_real_probe_measures_something() -> None:
    gb_s = probe_bandwidth_gb_s(16 * 2**20, threads=2, repeats=2)
    assert 0.1 < gb_s < 10_000

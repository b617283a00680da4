"""Sizing a candidate variant: its footprint on its hardware, the fit decision and the speed.

Shared by the hardware, cost and deployment plugins, by variant generation and by ``advisor fit``,
so they always agree on one set of numbers for one variant.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from advisor.catalog.loader import Catalog
from advisor.catalog.records import HardwareRecord, QuantRecord
from advisor.engine.model_source import ModelSpec, weights_for
from advisor.estimate.constants import estimator_constants
from advisor.estimate.fit import Device, FitResult, Footprint, decide_fit
from advisor.estimate.footprint import build_footprint
from advisor.estimate.memory import GIB
from advisor.model.candidate import Candidate


@dataclass(frozen=True)
class Sizing:
    """The numbers behind one open-weights variant on one machine."""

    footprint: Footprint
    fit: FitResult
    quant: QuantRecord
    device: HardwareRecord | None
    context: int
    cache_type: str

    @property
    def assumptions(self) -> list[str]:
        return [
            f"weights: {self.footprint.weights_method}",
            f"KV cache {self.cache_type} at {self.context} tokens; compute buffer with flash attention (estimate)",
            "decode reads the active weights plus half the KV cache per token (estimate)",
        ]


@dataclass(frozen=True)
class Machine:
    """Where a variant runs: accelerators (or none), host RAM, and the CPU's memory bandwidth."""

    device: Device | None
    record: HardwareRecord | None
    host_ram_bytes: int
    cpu_bandwidth_gb_s: float | None
    cpu_decode: tuple[float, float] | None = None
    notes: tuple[str, ...] = ()


def device_for(record: HardwareRecord | None, count: int) -> Device | None:
    """The accelerator side of a machine, or None when the record is a CPU class."""
    if record is None or record.kind == "cpu":
        return None
    return Device(
        memory_gib=record.memory_gib,
        bandwidth_gb_s=record.bandwidth_gb_s,
        backend=record.backend,
        count=count,
        tflops=record.fp16_tflops or record.bf16_tflops,
        kind=record.kind,
        record=record,
    )


def machine_for(record: HardwareRecord | None, count: int, host_ram_gib: float | None) -> Machine:
    """A machine from a catalog device, a device count and the host RAM the answers give.

    A CPU-class record is itself the host: its typical RAM is used unless the answers give RAM.
    Beside a discrete GPU, unknown RAM is the stated default (estimator_constants.yaml).
    """
    if record is not None and record.kind == "cpu":
        ram = host_ram_gib if host_ram_gib is not None else record.memory_gib
        return Machine(None, record, int(ram * GIB), record.bandwidth_gb_s)
    if host_ram_gib is None and record is not None and record.kind == "gpu":
        host_ram_gib = estimator_constants().default_host_ram_gib
    return Machine(device_for(record, count), record, int((host_ram_gib or 0) * GIB), None)


def size_spec(
    spec: ModelSpec,
    quant: QuantRecord,
    machine: Machine,
    context: int,
    cache_type: str = "f16",
    *,
    kv_offload: bool = True,
    gpu_layers: int | None = None,
) -> Sizing:
    """Footprint and fit of a resolved model at one quant on one machine."""
    constants = estimator_constants()
    backend = machine.device.backend if machine.device is not None else "cpu"
    reserve = constants.backends.get(backend, constants.backends["cuda"]).reserve_mib
    footprint = build_footprint(
        weights_for(spec, quant),
        spec.architecture,
        spec.active_params,
        context,
        cache_type=cache_type,
        reserve_mib=reserve,
        ubatch=constants.compute_buffer.ubatch,
    )
    fit = decide_fit(
        footprint,
        machine.device,
        machine.host_ram_bytes,
        machine.cpu_bandwidth_gb_s,
        constants,
        kv_offload=kv_offload,
        gpu_layers=gpu_layers,
        cpu_decode=machine.cpu_decode,
    )
    if machine.notes:
        fit = replace(fit, notes=[*fit.notes, *machine.notes])
    return Sizing(footprint, fit, quant, machine.record, context, cache_type)


def size_candidate(candidate: Candidate, catalog: Catalog, context: int, cache_type: str = "f16") -> Sizing | None:
    """Footprint and fit of an open-weights variant; None when the facts needed are missing.

    Several checks size the same variant, so results are memoised on the catalog.
    """
    memo_key = ("sizing", candidate.key, candidate.params, candidate.host_ram_gib, context, cache_type)
    if memo_key not in catalog.derived:
        catalog.derived[memo_key] = _size(candidate, catalog, context, cache_type)
    return catalog.derived[memo_key]  # type: ignore[return-value]


def spec_for_candidate(candidate: Candidate) -> ModelSpec | None:
    """The model behind an open-weights candidate, or None when its architecture is unknown."""
    if candidate.architecture is None or candidate.params is None:
        return None
    return ModelSpec(
        id=candidate.id,
        architecture=candidate.architecture,
        params=candidate.params,
        active_params=candidate.active_params or candidate.params,
        origin="catalog",
    )


def machine_for_candidate(candidate: Candidate, catalog: Catalog) -> Machine:
    """The machine a candidate variant runs on: the user's own when the answers give its RAM.

    The answers' ``ram_gb`` is the machine's memory: on Apple silicon it is the unified memory (the
    catalog record is the largest configuration of the chip), elsewhere the host RAM; either way the
    operating system keeps its headroom (``os_headroom`` in estimator_constants.yaml), and a CPU class
    without stated RAM keeps it from its typical size too.
    """
    record = catalog.find_hardware(candidate.hardware) if candidate.hardware else None
    ram = candidate.host_ram_gib
    headroom = estimator_constants().os_headroom
    if record is not None and record.kind == "apple" and ram is not None:
        # the GPU-usable share of this Mac's unified memory is applied by the fit (usable_fraction)
        record = record.model_copy(update={"memory_gib": ram})
        machine = machine_for(record, candidate.hardware_count or 1, None)
        return replace(machine, notes=(*machine.notes, f"unified memory {ram:g} GB from the answers"))
    if record is not None and record.kind == "cpu" and ram is None:
        ram = record.memory_gib
    if ram is None:
        return machine_for(record, candidate.hardware_count or 1, None)
    usable = headroom.usable_gib(ram)
    machine = machine_for(record, candidate.hardware_count or 1, usable)
    note = f"system RAM {ram:g} GB less {ram - usable:g} GB kept for the operating system = {usable:g} GB for the model"
    return replace(machine, notes=(*machine.notes, note))


def _size(candidate: Candidate, catalog: Catalog, context: int, cache_type: str) -> Sizing | None:
    spec = spec_for_candidate(candidate)
    quant = catalog.find_quant(candidate.quant) if candidate.quant else None
    if spec is None or quant is None:
        return None
    return size_spec(spec, quant, machine_for_candidate(candidate, catalog), context, cache_type)

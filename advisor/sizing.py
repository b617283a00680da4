"""Sizing a candidate variant: its footprint on its hardware, the fit decision and the speed.

Shared by the hardware, cost and deployment plugins and by variant generation, so the three
always agree on one set of numbers for one variant.
"""

from __future__ import annotations

from dataclasses import dataclass

from advisor.candidate import Candidate
from advisor.catalog_loader import Catalog
from advisor.catalog_records import HardwareRecord, QuantRecord
from advisor.estimate.constants import estimator_constants
from advisor.estimate.fit import Device, FitResult, Footprint, decide_fit
from advisor.estimate.footprint import estimate_footprint
from advisor.estimate.memory import GIB


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
            f"weights at a flat {self.quant.bits_per_weight:.2f} bits/weight for {self.quant.id} (estimate, ±3 %)",
            f"KV cache {self.cache_type} at {self.context} tokens",
            "decode reads the active weights plus half the KV cache per token",
        ]


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
    )


def size_candidate(candidate: Candidate, catalog: Catalog, context: int, cache_type: str = "f16") -> Sizing | None:
    """Footprint and fit of an open-weights variant; None when the facts needed are missing.

    Several checks size the same variant, so results are memoised on the catalog.
    """
    memo_key = ("sizing", candidate.key, candidate.params, candidate.host_ram_gib, context, cache_type)
    if memo_key in catalog.derived:
        return catalog.derived[memo_key]  # type: ignore[return-value]
    result = _size(candidate, catalog, context, cache_type)
    catalog.derived[memo_key] = result
    return result


def _size(candidate: Candidate, catalog: Catalog, context: int, cache_type: str) -> Sizing | None:
    if candidate.architecture is None or candidate.params is None or candidate.quant is None:
        return None
    quant = catalog.find_quant(candidate.quant)
    if quant is None:
        return None
    record = catalog.find_hardware(candidate.hardware) if candidate.hardware else None
    constants = estimator_constants()
    device = device_for(record, candidate.hardware_count or 1)
    backend = device.backend if device is not None else "cpu"
    reserve = constants.backends.get(backend, constants.backends["cuda"]).reserve_mib
    footprint = estimate_footprint(
        candidate.params,
        candidate.active_params,
        candidate.architecture,
        quant.bits_per_weight,
        context,
        cache_type=cache_type,
        reserve_mib=reserve,
        ubatch=constants.compute_buffer.ubatch,
    )
    host_ram = int((candidate.host_ram_gib or 0) * GIB)
    cpu_bandwidth = record.bandwidth_gb_s if record is not None and record.kind == "cpu" else None
    fit = decide_fit(footprint, device, host_ram, cpu_bandwidth, constants)
    return Sizing(footprint, fit, quant, record, context, cache_type)

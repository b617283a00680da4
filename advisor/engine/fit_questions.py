"""The inverse questions users ask of a fit: which quant, how much context, which hardware.

Each answer is a search over :func:`advisor.engine.sizing.size_spec`, so it rests on the same numbers as
the forward estimate.
"""

from __future__ import annotations

from dataclasses import dataclass

from advisor.catalog.loader import Catalog
from advisor.engine.model_source import ModelSpec
from advisor.engine.sizing import Machine, Sizing, machine_for, size_spec

#: GGUF formats from most to least faithful: the first that fits is the best choice.
QUANT_LADDER: tuple[str, ...] = (
    "F16", "Q8_0", "Q6_K", "Q5_K_M", "Q5_K_S", "Q4_K_M", "Q4_K_S", "IQ4_XS", "Q3_K_L", "Q3_K_M",
    "IQ3_M", "IQ3_XXS", "Q2_K", "IQ2_M", "IQ2_XXS", "IQ1_M", "IQ1_S",
)  # fmt: skip

#: Device counts a server or cloud instance commonly offers.
DEVICE_COUNTS: tuple[int, ...] = (1, 2, 4, 8)


def best_quant_that_fits(
    spec: ModelSpec, catalog: Catalog, machine: Machine, context: int, cache_type: str = "f16"
) -> Sizing | None:
    """The most faithful GGUF format that keeps every layer on the accelerators (or in RAM on a CPU)."""
    wanted = "gpu" if machine.device is not None else "cpu"
    for quant_id in QUANT_LADDER:
        quant = catalog.find_quant(quant_id)
        if quant is None:
            continue
        sizing = size_spec(spec, quant, machine, context, cache_type)
        if sizing.fit.fits == wanted:
            return sizing
    return None


def longest_context_that_fits(
    spec: ModelSpec, catalog: Catalog, machine: Machine, quant_id: str, cache_type: str = "f16"
) -> int:
    """The longest context (up to the model's own limit) that still fits fully; 0 if none does."""
    quant = catalog.find_quant(quant_id)
    if quant is None:
        return 0
    wanted = "gpu" if machine.device is not None else "cpu"
    limit = spec.architecture.max_position_embeddings or 131072

    def fits(context: int) -> bool:
        return size_spec(spec, quant, machine, context, cache_type).fit.fits == wanted

    if not fits(1):
        return 0
    if fits(limit):
        return limit
    low, high = 1, limit
    while high - low > 256:
        middle = (low + high) // 2
        low, high = (middle, high) if fits(middle) else (low, middle)
    return low - low % 256 if low >= 256 else low


@dataclass(frozen=True)
class HardwareOption:
    """A device and count that runs the model at the wanted speed, with what it would cost to rent."""

    hardware: str
    count: int
    sizing: Sizing
    usd_per_hour: float | None


def smallest_hardware_for_speed(
    spec: ModelSpec, catalog: Catalog, quant_id: str, context: int, min_tokens_per_s: float, limit: int = 5
) -> list[HardwareOption]:
    """Accelerator configurations that hold the model fully and decode at least ``min_tokens_per_s``,
    cheapest to rent first (then least total memory); the fewest devices per type."""
    quant = catalog.find_quant(quant_id)
    if quant is None:
        return []
    options = []
    for record in catalog.hardware.values():
        if record.kind == "cpu":
            continue
        for count in DEVICE_COUNTS:
            if record.kind == "apple" and count > 1:
                break
            sizing = size_spec(spec, quant, machine_for(record, count, None), context)
            speed = sizing.fit.decode_tokens_per_s
            if sizing.fit.fits == "gpu" and speed is not None and speed >= min_tokens_per_s:
                price = record.rental.on_demand_usd_per_hour * count if record.rental else None
                options.append(HardwareOption(record.id, count, sizing, price))
                break
    options.sort(
        key=lambda o: (
            o.usd_per_hour is None,
            o.usd_per_hour or 0.0,
            o.count * (catalog.hardware[o.hardware].memory_gib),
            o.hardware,
        )
    )
    return options[:limit]

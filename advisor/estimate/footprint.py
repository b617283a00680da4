"""A candidate variant's memory footprint from its parameters, architecture and weight format."""

from __future__ import annotations

from advisor.catalog_records import ArchitectureConfig
from advisor.estimate.fit import Footprint
from advisor.estimate.memory import estimate_kv_cache_bytes, estimate_overhead, estimate_weights_bytes


def estimate_footprint(
    params: int,
    active_params: int | None,
    arch: ArchitectureConfig,
    bits_per_weight: float,
    context: int,
    *,
    cache_type: str = "f16",
    reserve_mib: float,
    ubatch: int = 512,
) -> Footprint:
    """Weights (flat bpw), KV cache at ``context``, compute buffer and backend reserve."""
    weights = estimate_weights_bytes(params, bits_per_weight)
    active = active_params or params
    overhead = estimate_overhead(arch, reserve_mib, ubatch)
    output_params = arch.vocab_size * arch.hidden_size
    return Footprint(
        weights_bytes=weights,
        kv_cache_bytes=estimate_kv_cache_bytes(arch, context, cache_type),
        overhead_bytes=overhead.total_bytes,
        n_layers=arch.num_hidden_layers,
        output_bytes=estimate_weights_bytes(output_params, bits_per_weight),
        active_weights_bytes=estimate_weights_bytes(active, bits_per_weight),
        active_params=active,
    )

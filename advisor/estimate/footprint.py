"""A model variant's memory footprint, itemised the way llama.cpp places it.

Weights come from the best source at hand (:func:`advisor.engine.model_source.weights_for`): the
GGUF file's own tensor table (exact), else the per-tensor estimator that follows llama.cpp's
quantization rules (:mod:`advisor.estimate.weights`). The KV cache and the compute buffer come
from the architecture (:mod:`advisor.estimate.memory`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from advisor.catalog.records import ArchitectureConfig
from advisor.estimate.fit import Footprint
from advisor.estimate.memory import DEFAULT_CACHE, MIB, CacheSettings, compute_buffer, kv_cache_bytes_per_layer
from advisor.estimate.tensors import n_experts


@dataclass(frozen=True)
class WeightsSplit:
    """Weight bytes by where llama.cpp puts them."""

    total_bytes: int
    token_embd_bytes: int
    output_bytes: int
    layer_bytes: tuple[int, ...]
    active_bytes_per_token: int
    exact: bool
    method: str
    layer_decode_bytes: tuple[float, ...] = ()
    outside_decode_bytes: float | None = None


def build_footprint(
    weights: WeightsSplit,
    arch: ArchitectureConfig,
    active_params: int,
    context: int,
    *,
    cache_type: str = "f16",
    reserve_mib: float,
    ubatch: int = 512,
    cache: CacheSettings = DEFAULT_CACHE,
) -> Footprint:
    """Weights + KV cache at ``context`` + compute buffer + backend reserve.

    ``cache`` carries llama.cpp's context settings (slots, unified KV, flash attention); its
    ``ubatch`` is replaced by ``ubatch``.
    """
    settings = replace(cache, ubatch=ubatch)
    kv = kv_cache_bytes_per_layer(arch, context, cache_type, settings)
    compute = compute_buffer(arch, context, settings).bytes
    layers = weights.layer_bytes if len(weights.layer_bytes) == arch.num_hidden_layers else ()
    return Footprint(
        weights_bytes=weights.total_bytes,
        kv_cache_bytes=sum(kv),
        overhead_bytes=compute + int(reserve_mib * MIB),
        n_layers=arch.num_hidden_layers,
        output_bytes=weights.output_bytes,
        active_weights_bytes=weights.active_bytes_per_token,
        active_params=active_params,
        token_embd_bytes=weights.token_embd_bytes,
        layer_weight_bytes=tuple(layers),
        layer_kv_bytes=tuple(kv),
        compute_buffer_bytes=compute,
        weights_exact=weights.exact,
        weights_method=weights.method,
        layer_decode_bytes=weights.layer_decode_bytes if len(weights.layer_decode_bytes) == len(layers) else (),
        outside_decode_bytes=weights.outside_decode_bytes,
        moe=n_experts(arch) > 1,
    )

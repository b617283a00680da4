"""A model variant's memory footprint, itemised the way llama.cpp places it.

Weights come from one of three sources, best first: the GGUF file's own tensor table (exact), the
per-tensor estimator that follows llama.cpp's quantization rules, or a flat bits-per-weight (the
fallback, ±3 %). The KV cache and the compute buffer come from the architecture.
"""

from __future__ import annotations

from dataclasses import dataclass

from advisor.catalog.records import ArchitectureConfig
from advisor.estimate.fit import Footprint
from advisor.estimate.memory import (
    MIB,
    estimate_compute_buffer_bytes,
    estimate_weights_bytes,
    kv_cache_bytes_per_layer,
)


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


def flat_weights(arch: ArchitectureConfig, params: int, active_params: int, bits_per_weight: float) -> WeightsSplit:
    """Every tensor at one effective bits-per-weight; layers share the repeating part evenly.

    With tied embeddings llama.cpp loads the embedding matrix a second time as the output layer
    (on the GPU when offloaded), so the output layer is as large as the embeddings.
    """
    embd_params = arch.vocab_size * arch.hidden_size
    output_params = embd_params
    untied_output = 0 if arch.tie_word_embeddings else output_params
    repeating = max(params - embd_params - untied_output, 0)
    per_layer = estimate_weights_bytes(repeating, bits_per_weight) // arch.num_hidden_layers
    token_embd = estimate_weights_bytes(embd_params, bits_per_weight)
    output = estimate_weights_bytes(output_params, bits_per_weight)
    total = estimate_weights_bytes(params, bits_per_weight)
    active_repeating = max(active_params - embd_params - untied_output, 0)
    active = estimate_weights_bytes(active_repeating, bits_per_weight) + output
    return WeightsSplit(
        total_bytes=total,
        token_embd_bytes=token_embd,
        output_bytes=output,
        layer_bytes=tuple([per_layer] * arch.num_hidden_layers),
        active_bytes_per_token=active,
        exact=False,
        method=f"flat {bits_per_weight:.3f} bits/weight (estimate, about ±3 %)",
    )


def build_footprint(
    weights: WeightsSplit,
    arch: ArchitectureConfig,
    active_params: int,
    context: int,
    *,
    cache_type: str = "f16",
    reserve_mib: float,
    ubatch: int = 512,
) -> Footprint:
    """Weights + KV cache at ``context`` + compute buffer + backend reserve."""
    kv = kv_cache_bytes_per_layer(arch, context, cache_type)
    compute = estimate_compute_buffer_bytes(arch, context, ubatch)
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
    )

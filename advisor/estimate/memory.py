"""Memory besides the weights: the KV cache and llama.cpp's compute buffer, from the architecture.

The KV cache formula is exact for llama.cpp's allocation; the compute buffer is an estimate
(docs/hardware-fit.md, "Memory"). Weights are :mod:`advisor.estimate.weights`' job, per tensor.
"""

from __future__ import annotations

from advisor.catalog.records import ArchitectureConfig

MIB = 1024**2
GIB = 1024**3

#: Bytes per KV-cache element for llama.cpp cache types (ggml block size / block bytes).
KV_CACHE_BYTES_PER_ELEMENT: dict[str, float] = {
    "f32": 4.0,
    "f16": 2.0,
    "bf16": 2.0,
    "q8_0": 34 / 32,
    "q5_1": 24 / 32,
    "q5_0": 22 / 32,
    "q4_1": 20 / 32,
    "q4_0": 18 / 32,
}


def _attention_layer_windows(arch: ArchitectureConfig) -> list[int | None]:
    """Per layer: the sliding window that caps its cache, or None for full attention.

    Uses ``layer_types`` when the config has it; Gemma 2 alternates sliding and global layers;
    Gemma 3 has ``sliding_window_pattern`` (every Nth layer global). Otherwise all layers are full,
    which over-estimates rather than under-estimates.
    """
    n = arch.num_hidden_layers
    window = arch.sliding_window
    extra = arch.model_extra or {}
    layer_types = extra.get("layer_types")
    if window and isinstance(layer_types, list) and len(layer_types) == n:
        return [window if str(t).startswith("sliding") else None for t in layer_types]
    if window and arch.model_type == "gemma2":
        return [window if i % 2 == 0 else None for i in range(n)]
    pattern = extra.get("sliding_window_pattern")
    if window and isinstance(pattern, int) and pattern > 1:
        return [None if (i + 1) % pattern == 0 else window for i in range(n)]
    return [None] * n


def kv_cache_bytes_per_layer(arch: ArchitectureConfig, context: int, cache_type: str = "f16") -> list[int]:
    """KV cache bytes of each layer for ``context`` cells (the sum over all parallel sequences).

    ``cells × kv_heads × head_dim × 2 (K and V) × bytes(cache type)`` per layer, with sliding-window
    layers capped at their window and DeepSeek MLA caching the compressed latent
    (kv_lora_rank + rope dims) instead of per-head K and V (llama.cpp src/llama-kv-cache.cpp).
    """
    if cache_type not in KV_CACHE_BYTES_PER_ELEMENT:
        raise ValueError(f"unknown KV cache type {cache_type!r}; expected one of {sorted(KV_CACHE_BYTES_PER_ELEMENT)}")
    if context < 0:
        raise ValueError("context must not be negative")
    bpe = KV_CACHE_BYTES_PER_ELEMENT[cache_type]
    extra = arch.model_extra or {}
    kv_lora_rank = extra.get("kv_lora_rank")
    if isinstance(kv_lora_rank, int) and kv_lora_rank > 0:
        rope = int(extra.get("qk_rope_head_dim") or 0)
        return [int(context * (kv_lora_rank + rope) * bpe)] * arch.num_hidden_layers
    per_cell = 2 * arch.kv_heads * arch.attention_head_dim * bpe
    return [int((min(context, window) if window else context) * per_cell) for window in _attention_layer_windows(arch)]


def estimate_kv_cache_bytes(arch: ArchitectureConfig, context: int, cache_type: str = "f16") -> int:
    """Total KV cache bytes for ``context`` cells: the sum of :func:`kv_cache_bytes_per_layer`."""
    return sum(kv_cache_bytes_per_layer(arch, context, cache_type))


def ffn_width(arch: ArchitectureConfig) -> int:
    """Width of the feed-forward activations one token produces (MoE: active experts together)."""
    extra = arch.model_extra or {}
    moe = extra.get("moe_intermediate_size")
    if isinstance(moe, int) and arch.num_experts_per_tok:
        shared = int(extra.get("n_shared_experts") or 0)
        return moe * (arch.num_experts_per_tok + shared)
    return arch.intermediate_size or 4 * arch.hidden_size


def estimate_compute_buffer_bytes(arch: ArchitectureConfig, context: int, ubatch: int = 512) -> int:
    """llama.cpp's compute buffer with flash attention (its default), for one micro-batch.

    The live f32 activations of the largest graph node (the gated MLP: gate, up and their product,
    plus the residual stream), ``4 B × ubatch × (3 × ffn width + 4 × hidden)``, plus the f16 attention
    mask ``2 B × ubatch × context``. Llama-3-8B at 4k gives 120 MiB against the 100–136 MiB measured
    for 7–8B dense models at 4k (gguf-parser-go sweep, docs/hardware-fit.md); an estimate, not a
    measurement.
    """
    activations = 4 * ubatch * (3 * ffn_width(arch) + 4 * arch.hidden_size)
    mask = 2 * ubatch * context
    return int(activations + mask)

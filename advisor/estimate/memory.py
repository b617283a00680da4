"""Memory footprints: weights, KV cache, runtime overhead.

Weights here use a flat effective bits-per-weight per format (good to about ±3 % against
published GGUF files, hardware_fit.md §2.3); the per-tensor estimator of the hardware-fit issue
refines it. The KV cache formula is exact for llama.cpp's allocation (§2.4).
"""

from __future__ import annotations

from dataclasses import dataclass

from advisor.catalog_records import ArchitectureConfig

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


def estimate_weights_bytes(params: int, bits_per_weight: float) -> int:
    """Weights at a flat effective bits-per-weight: ``params * bpw / 8``."""
    return int(params * bits_per_weight / 8)


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


def estimate_kv_cache_bytes(arch: ArchitectureConfig, context: int, cache_type: str = "f16") -> int:
    """KV cache bytes for ``context`` tokens (one sequence).

    ``layers × cells × kv_heads × head_dim × 2 (K and V) × bytes(cache type)``, with sliding-window
    layers capped at their window and DeepSeek MLA caching the latent (kv_lora_rank + rope dims).
    """
    if cache_type not in KV_CACHE_BYTES_PER_ELEMENT:
        raise ValueError(f"unknown KV cache type {cache_type!r}; expected one of {sorted(KV_CACHE_BYTES_PER_ELEMENT)}")
    bpe = KV_CACHE_BYTES_PER_ELEMENT[cache_type]
    extra = arch.model_extra or {}
    kv_lora_rank = extra.get("kv_lora_rank")
    if isinstance(kv_lora_rank, int) and kv_lora_rank > 0:
        rope = int(extra.get("qk_rope_head_dim") or 0)
        return int(arch.num_hidden_layers * context * (kv_lora_rank + rope) * bpe)
    per_token_per_layer = 2 * arch.kv_heads * arch.attention_head_dim * bpe
    total = 0.0
    for window in _attention_layer_windows(arch):
        cells = min(context, window) if window else context
        total += cells * per_token_per_layer
    return int(total)


@dataclass(frozen=True)
class Overhead:
    """Runtime memory besides weights and KV cache, itemised so reports can show the parts."""

    compute_buffer_bytes: int
    backend_reserve_bytes: int

    @property
    def total_bytes(self) -> int:
        return self.compute_buffer_bytes + self.backend_reserve_bytes


def estimate_overhead(arch: ArchitectureConfig | None, reserve_mib: float, ubatch: int = 512) -> Overhead:
    """Compute buffer ``4 B × ubatch × (hidden + vocab)`` (flash attention) plus the backend reserve."""
    compute = 4 * ubatch * (arch.hidden_size + arch.vocab_size) if arch is not None else 256 * MIB
    return Overhead(compute_buffer_bytes=int(compute), backend_reserve_bytes=int(reserve_mib * MIB))

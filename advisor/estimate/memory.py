"""Memory besides the weights: the KV cache and llama.cpp's compute buffer, from the architecture.

The KV cache follows llama.cpp's allocation cell for cell (src/llama-context.cpp pads the context,
src/llama-kv-cache.cpp allocates K and V per layer and stream, src/llama-kv-cache-iswa.cpp sizes
the sliding-window cache); the compute buffer is an estimate from the graph's largest live tensors
(docs/hardware-fit.md, "Memory"). Weights are :mod:`advisor.estimate.weights`' job, per tensor.
"""

from __future__ import annotations

from dataclasses import dataclass

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

#: llama.cpp pads the context (n_ctx, and n_ctx_seq per stream) and the SWA cache to this many cells
#: (src/llama-context.cpp ``GGML_PAD(cparams.n_ctx, 256)``; src/llama-kv-cache-iswa.cpp, issue #17037).
KV_PAD = 256

#: Model types (Hugging Face ``model_type`` and GGUF architecture names) whose sliding windows llama.cpp
#: implements (src/llama-model.cpp load_hparams sets ``swa_type`` for them). Others run every layer with
#: full attention even when their config names a window: Mistral and Qwen2 (LLM_ARCH_LLAMA/QWEN2 have no
#: SWA) and Phi-3 ("Phi SWA is currently disabled").
SWA_MODEL_TYPES = frozenset(
    {
        "gemma2",
        "gemma3",
        "gemma3_text",
        "gemma3n",
        "gemma3n_text",
        "gpt_oss",
        "gpt-oss",
        "cohere2",
        "llama4",
        "llama4_text",
        "exaone4",
    }
)

#: llama.cpp's ``set_swa_pattern(n)`` per model type when the config has no ``layer_types``: layer i
#: slides unless ``i % n == n - 1`` (src/llama-model.cpp).
SWA_PERIOD = {"gemma2": 2, "gpt_oss": 2, "gpt-oss": 2, "cohere2": 4, "llama4": 4, "llama4_text": 4}


@dataclass(frozen=True)
class CacheSettings:
    """The llama.cpp context parameters that decide how many cells the KV cache holds.

    Defaults are llama-cli / llama-bench's: one sequence, n_batch 2048, n_ubatch 512, flash attention
    (``-fa auto`` turns it on where supported), no ``--swa-full``. llama-server with its default
    ``--parallel`` (auto) runs 4 slots on one unified cache: ``CacheSettings(slots=4)``.
    ``mla`` forces the DeepSeek MLA decision (None: :func:`uses_mla_cache`). ``outputs``: logits rows of
    the compute buffer that count (None: all ``n_ubatch``, what llama.cpp reserves; on the CPU a run only
    touches the rows it computes, so resident memory sees fewer).
    """

    slots: int = 1
    unified: bool = True
    ubatch: int = 512
    batch: int = 2048
    flash_attn: bool = True
    swa_full: bool = False
    type_v: str | None = None
    mla: bool | None = None
    outputs: int | None = None


DEFAULT_CACHE = CacheSettings()


def _pad(n: int, to: int = KV_PAD) -> int:
    return (n + to - 1) // to * to


@dataclass(frozen=True)
class KvCells:
    """Cells llama.cpp allocates: per stream for full-attention layers, and the stream count."""

    n_ctx: int
    n_ctx_seq: int
    streams: int
    ubatch: int

    def swa_cells(self, window: int, settings: CacheSettings) -> int:
        """Cells per stream of a sliding-window layer (llama_kv_cache_iswa's ``size_swa``)."""
        if settings.swa_full:
            return self.n_ctx_seq
        sequences = settings.slots if settings.unified else 1
        return _pad(min(self.n_ctx_seq, window * sequences + self.ubatch))


def kv_cells(context: int, settings: CacheSettings = DEFAULT_CACHE) -> KvCells:
    """llama_context's cell arithmetic: pad n_ctx to 256; a non-unified cache splits it per slot.

    ``n_batch = min(n_ctx, -b)`` for causal models and ``n_ubatch = min(n_batch, -ub)``
    (src/llama-context.cpp); unified: one stream of n_ctx cells; otherwise ``--parallel`` streams of
    ``pad(n_ctx / slots, 256)`` cells each.
    """
    if context < 0:
        raise ValueError("context must not be negative")
    if settings.slots < 1 or settings.ubatch < 1 or settings.batch < 1:
        raise ValueError("slots, batch and ubatch must be at least 1")
    ubatch = min(min(context, settings.batch), settings.ubatch)
    n_ctx = _pad(context)
    if settings.unified or settings.slots == 1:
        return KvCells(n_ctx, n_ctx, 1, ubatch)
    per_seq = _pad(n_ctx // settings.slots)
    return KvCells(per_seq * settings.slots, per_seq, settings.slots, ubatch)


def uses_mla_cache(arch: ArchitectureConfig) -> bool:
    """Whether llama.cpp caches DeepSeek's compressed latent (MLA) rather than per-head K and V.

    llama.cpp decides on ``<arch>.attention.key_length_mla`` in the GGUF (hparams.is_mla()): only then
    are K heads ``kv_lora_rank + rope dims`` wide, one per layer, and no V cache is allocated. From a
    GGUF file its metadata decides (older DeepSeek-V2 conversions carry ``kv_lora_rank`` but not that key
    and allocate full K and V). From a config.json the current convert_hf_to_gguf.py is assumed, which
    writes ``key_length_mla`` for DeepSeek-V2/V3 and their derivatives (llama.cpp PR #12801, April 2025).
    """
    extra = arch.model_extra or {}
    rank = extra.get("kv_lora_rank")
    if not isinstance(rank, int) or rank <= 0:
        return False
    if "gguf_architecture" in extra:
        return isinstance(extra.get("key_length_mla"), int)
    return True


def _int_extra(arch: ArchitectureConfig, key: str) -> int:
    value = (arch.model_extra or {}).get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def kv_widths(arch: ArchitectureConfig, mla: bool | None = None) -> tuple[int, int]:
    """Elements per cell of one layer's K and V cache (``n_embd_k_gqa``, ``n_embd_v_gqa``).

    MLA: K is ``kv_lora_rank + rope dims``, no V. A DeepSeek-style model without the MLA cache stores
    every head: K ``heads x (qk_nope + qk_rope)``, V ``heads x v_head_dim`` (from a GGUF: head count,
    key_length and value_length as written). Otherwise ``kv_heads x head_dim`` each (V may be narrower
    when the GGUF's value_length says so).
    """
    use_mla = uses_mla_cache(arch) if mla is None else mla
    rank = _int_extra(arch, "kv_lora_rank")
    v_dim = _int_extra(arch, "v_head_dim")
    if rank:
        rope = _int_extra(arch, "qk_rope_head_dim")
        if use_mla:
            return rank + rope, 0
        if "gguf_architecture" not in (arch.model_extra or {}):
            nope = _int_extra(arch, "qk_nope_head_dim") or arch.attention_head_dim
            heads = arch.num_attention_heads
            return heads * (nope + rope), heads * (v_dim or nope)
    k = arch.kv_heads * arch.attention_head_dim
    return k, arch.kv_heads * v_dim if v_dim else k


def attention_layer_windows(arch: ArchitectureConfig) -> list[int | None]:
    """Per layer: the sliding window llama.cpp gives it, or None for full attention.

    Only for the model types llama.cpp runs with sliding windows (:data:`SWA_MODEL_TYPES`); the layers
    from ``layer_types`` when the config has it, else llama.cpp's period (:data:`SWA_PERIOD`, or the
    config's ``sliding_window_pattern``: Gemma 3 has every sixth layer global). Llama 4's chunked
    attention (``attention_chunk_size``) is allocated the same way, every fourth layer global.
    """
    n = arch.num_hidden_layers
    extra = arch.model_extra or {}
    model_type = str(extra.get("gguf_architecture") or arch.model_type)
    if model_type not in SWA_MODEL_TYPES:
        return [None] * n
    window = arch.sliding_window or _int_extra(arch, "attention_chunk_size")
    if not window:
        return [None] * n
    layer_types = extra.get("layer_types")
    if isinstance(layer_types, list) and len(layer_types) == n:
        return [window if str(t).startswith(("sliding", "chunked")) else None for t in layer_types]
    pattern = extra.get("sliding_window_pattern")
    period = pattern if isinstance(pattern, int) and not isinstance(pattern, bool) else SWA_PERIOD.get(model_type, 0)
    if period > 1:
        return [None if i % period == period - 1 else window for i in range(n)]
    return [window] * n


def kv_cache_bytes_per_layer(
    arch: ArchitectureConfig, context: int, cache_type: str = "f16", settings: CacheSettings = DEFAULT_CACHE
) -> list[int]:
    """KV cache bytes of each layer as llama.cpp allocates them for ``-c context`` (all slots together).

    Per layer ``cells x streams x (K width x bytes(type_k) + V width x bytes(type_v))``, where full
    layers hold ``n_ctx_seq`` cells per stream and sliding-window layers
    ``pad(min(n_ctx_seq, window x slots_sharing_a_stream + n_ubatch), 256)`` (see :class:`KvCells`).
    Without flash attention V is stored transposed; its size is the same (for layers of equal width).
    """
    for name in (cache_type, settings.type_v or cache_type):
        if name not in KV_CACHE_BYTES_PER_ELEMENT:
            raise ValueError(f"unknown KV cache type {name!r}; expected one of {sorted(KV_CACHE_BYTES_PER_ELEMENT)}")
    cells = kv_cells(context, settings)
    if context == 0:
        return [0] * arch.num_hidden_layers
    k_width, v_width = kv_widths(arch, settings.mla)
    per_cell = (
        k_width * KV_CACHE_BYTES_PER_ELEMENT[cache_type]
        + v_width * KV_CACHE_BYTES_PER_ELEMENT[settings.type_v or cache_type]
    )
    windows = attention_layer_windows(arch)
    cached = layers_with_kv(arch)
    out = []
    for window, has_kv in zip(windows, cached, strict=True):
        per_stream = cells.n_ctx_seq if window is None else cells.swa_cells(window, settings)
        out.append(int(per_stream * cells.streams * per_cell) if has_kv else 0)
    return out


#: ``layer_types`` entries of layers without a KV cache: linear-attention and state-space layers keep a
#: fixed-size recurrent state instead (llama.cpp's hybrid memory; the state is not counted here).
_NO_KV_LAYER_TYPES = ("linear_attention", "mamba", "conv", "recurrent")


def layers_with_kv(arch: ArchitectureConfig) -> list[bool]:
    """Per layer: whether llama.cpp allocates it a KV cache (``hparams.has_kv``).

    Gemma 3n's last ``num_kv_shared_layers`` reuse the cache of earlier layers (``n_layer_kv_from_start``);
    hybrid models' linear-attention / SSM layers (``layer_types``) keep a recurrent state instead.
    """
    n = arch.num_hidden_layers
    extra = arch.model_extra or {}
    shared = _int_extra(arch, "num_kv_shared_layers")
    out = [i < n - shared for i in range(n)]
    layer_types = extra.get("layer_types")
    if isinstance(layer_types, list) and len(layer_types) == n:
        out = [has and not str(t).startswith(_NO_KV_LAYER_TYPES) for has, t in zip(out, layer_types, strict=True)]
    return out


def estimate_kv_cache_bytes(
    arch: ArchitectureConfig, context: int, cache_type: str = "f16", settings: CacheSettings = DEFAULT_CACHE
) -> int:
    """Total KV cache bytes llama.cpp allocates: the sum of :func:`kv_cache_bytes_per_layer`."""
    return sum(kv_cache_bytes_per_layer(arch, context, cache_type, settings))


def kv_cache_read_bytes(arch: ArchitectureConfig, filled: float, cache_type: str = "f16") -> float:
    """Bytes of cache a decoded token reads when ``filled`` tokens are in context (for speed, not memory).

    Each layer reads the cells it attends to: all ``filled`` ones, or at most its window.
    """
    if filled < 0:
        raise ValueError("filled must not be negative")
    if cache_type not in KV_CACHE_BYTES_PER_ELEMENT:
        raise ValueError(f"unknown KV cache type {cache_type!r}; expected one of {sorted(KV_CACHE_BYTES_PER_ELEMENT)}")
    k_width, v_width = kv_widths(arch)
    per_cell = (k_width + v_width) * KV_CACHE_BYTES_PER_ELEMENT[cache_type]
    layers = zip(attention_layer_windows(arch), layers_with_kv(arch), strict=True)
    return sum((min(filled, w) if w else filled) for w, has_kv in layers if has_kv) * per_cell


def ffn_width(arch: ArchitectureConfig) -> int:
    """Width of the feed-forward activations one token produces (MoE: active experts together)."""
    extra = arch.model_extra or {}
    moe = extra.get("moe_intermediate_size")
    if isinstance(moe, int) and arch.num_experts_per_tok:
        shared = int(extra.get("n_shared_experts") or 0)
        return moe * (arch.num_experts_per_tok + shared)
    return arch.intermediate_size or 4 * arch.hidden_size


@dataclass(frozen=True)
class ComputeBuffer:
    """llama.cpp's compute buffer for one micro-batch: the largest graph phase, and which one it is."""

    bytes: int
    phase: str


def compute_buffer(arch: ArchitectureConfig, context: int, settings: CacheSettings = DEFAULT_CACHE) -> ComputeBuffer:
    """The compute buffer llama.cpp reserves: the peak of live f32 tensors over the graph's phases.

    The graph is reserved for a full micro-batch of ``n_ubatch`` tokens all producing outputs, over
    ``n_kv`` = the full layers' cells per stream. The attention mask (f32, ``n_kv x n_ubatch``; with
    flash attention an f16 copy beside it) lives through every layer. The phases (ggml-alloc frees a
    tensor after its last use, so phases do not add up):

    * attention without flash attention: the ``KQ`` scores, ``n_kv x n_ubatch x n_head`` f32 (softmax
      runs in place), plus Q and the attention output;
    * attention with flash attention: Q, the output and the f16 mask copy only;
    * FFN: gate, up, their product and the residual stream, ``n_ubatch x (3 x FFN width + 2 x hidden)``;
    * output: the logits ``n_ubatch x n_vocab`` f32 beside the final hidden state, ``n_ubatch x hidden``.

    Llama-3-8B at 4k with flash attention: the logits dominate, 258.5 MiB; Llama-2-7B at 4k without
    flash attention: the KQ scores, 296 MiB (the figures llama.cpp prints for these models).
    """
    cells = kv_cells(context, settings)
    ub = cells.ubatch
    if ub == 0:
        return ComputeBuffer(0, "none")
    f32 = 4
    hidden = arch.hidden_size
    n_kv = cells.n_ctx_seq
    mask = f32 * n_kv * ub + (2 * n_kv * ub if settings.flash_attn else 0)
    q_width = arch.num_attention_heads * arch.attention_head_dim
    if settings.flash_attn:
        attention = f32 * ub * (2 * q_width + 2 * hidden)
    else:
        attention = f32 * ub * (n_kv * arch.num_attention_heads + 2 * q_width + 2 * hidden)
    phases = {
        "attention (KQ scores)" if not settings.flash_attn else "attention": attention + mask,
        "FFN": f32 * ub * (3 * ffn_width(arch) + 2 * hidden) + mask,
        "logits": f32 * (ub if settings.outputs is None else min(ub, settings.outputs)) * arch.vocab_size
        + f32 * ub * hidden,
    }
    phase = max(phases, key=lambda name: phases[name])
    return ComputeBuffer(int(phases[phase]), phase)

"""Tensor inventory of a model from its architecture config, named and shaped as in a llama.cpp GGUF.

Why per tensor: a quantized file is a mix of ggml types chosen tensor by tensor (llama.cpp
``src/llama-quant.cpp``), and offload, MoE expert placement and decode speed all depend on which
tensors sit where. So the estimators start from the list of tensors a converted GGUF holds
(``convert_hf_to_gguf.py`` names and ``src/models/*.cpp`` shapes), not from a parameter count.

Shapes are ggml ``ne`` order: ``shape[0]`` is the row length (the input dimension of a matrix),
which is what the block-size fallback rules look at. Expert tensors are 3-D ``(in, out, n_expert)``.

Supported ``model_type`` values are listed in :data:`SUPPORTED_MODEL_TYPES`. An unknown type raises
:class:`UnknownArchitectureError` unless the caller asks for the generic llama-like fallback, in which
case :func:`inventory_method` says so — the inventory never guesses silently.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from advisor.catalog.records import ArchitectureConfig


class UnknownArchitectureError(ValueError):
    """The config's ``model_type`` has no tensor layout here (and no fallback was requested)."""


@dataclass(frozen=True)
class Tensor:
    """One tensor of the language model as a llama.cpp GGUF stores it.

    ``role`` is the name without the ``blk.{i}.`` prefix and without a ``.weight`` suffix (biases keep
    ``.bias``), e.g. ``attn_v``, ``ffn_down_exps``, ``attn_q.bias``: the key the quantization rules and the
    per-role type summaries use. ``routed_expert`` marks tensors of which a token reads only the top-k
    experts; shared experts are not routed.
    """

    name: str
    shape: tuple[int, ...]
    layer: int | None
    role: str
    routed_expert: bool = False

    @property
    def n_elements(self) -> int:
        return math.prod(self.shape)

    @property
    def is_weight_matrix(self) -> bool:
        """A 2-D or 3-D ``.weight``: the tensors llama.cpp may quantize (norms excepted by name)."""
        return len(self.shape) >= 2 and self.name.endswith(".weight")

    @property
    def n_experts(self) -> int:
        """Experts stacked in this tensor: the last dimension of a routed-expert weight or bias."""
        return self.shape[-1] if self.routed_expert else 1


@dataclass(frozen=True)
class ParamCount:
    """Parameter counts under the publisher's convention, with the parts that explain it.

    ``total`` and ``active`` follow the convention the model card uses for that family (stated in
    ``conventions``): Gemma 3 multimodal checkpoints count the SigLIP vision tower, OpenAI's gpt-oss
    "active" excludes the input embedding table, everyone else counts embeddings and the head.
    ``text_total`` is what a GGUF of the language model holds.
    """

    total: int
    active: int
    text_total: int
    vision: int
    embedding: int
    conventions: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class ArchitectureKey:
    """An architecture config with a hashable identity, so that per-architecture work is done once.

    The identity is the ``repr`` of the config's values, extra keys included. Pydantic's own ``==``
    would equate ``False`` with ``0`` and ``1`` with ``1.0``, which the estimators tell apart (a
    flag must be a bool, a count an int).
    """

    text: str
    arch: ArchitectureConfig = field(compare=False, repr=False)


def architecture_key(arch: ArchitectureConfig) -> ArchitectureKey:
    """The memo key of ``arch`` (see :class:`ArchitectureKey`)."""
    return ArchitectureKey(repr(arch.model_dump()), arch)


# ----------------------------------------------------------------------------- config access


def _extra(arch: ArchitectureConfig) -> dict[str, Any]:
    return dict(arch.model_extra or {})


def _int(arch: ArchitectureConfig, *keys: str, default: int | None = None) -> int | None:
    """First integer-valued key among the config's fields and extra keys."""
    extra = _extra(arch)
    for key in keys:
        value = getattr(arch, key, None) if key in type(arch).model_fields else extra.get(key)
        if isinstance(value, bool):
            continue
        if isinstance(value, int) and value > 0:
            return value
        if isinstance(value, float) and value > 0 and value.is_integer():
            return int(value)
    return default


def _flag(arch: ArchitectureConfig, key: str, default: bool = False) -> bool:
    value = _extra(arch).get(key)
    return bool(value) if isinstance(value, bool) else default


def _require(value: int | None, arch: ArchitectureConfig, what: str) -> int:
    if value is None:
        raise ValueError(f"model_type {arch.model_type!r}: config lacks {what}")
    return value


def n_experts(arch: ArchitectureConfig) -> int:
    """Routed experts per MoE layer (0 for dense models), whatever the family calls the key."""
    return _int(arch, "num_local_experts", "n_routed_experts", "num_experts", default=0) or 0


def experts_per_token(arch: ArchitectureConfig) -> int:
    """Routed experts a token uses (top-k)."""
    return _int(arch, "num_experts_per_tok", "experts_per_token", "moe_topk", default=0) or 0


def is_70b_type(arch: ArchitectureConfig) -> bool:
    """llama.cpp's ``LLM_TYPE_70B``: 80-layer llama with GQA (not LLaMA-1 65B) or 80-layer Qwen2.

    The quantizer gives attn_v one more bit class on these (``src/models/llama.cpp``,
    ``qwen2`` hparams); no other architecture reports 70B.
    """
    family = family_of(arch.model_type)
    if arch.num_hidden_layers != 80:
        return False
    if family == "llama":
        return arch.kv_heads != arch.num_attention_heads and n_experts(arch) != 8
    return family == "qwen2"


# ----------------------------------------------------------------------------- builders


class _Builder:
    """Accumulates tensors with llama.cpp names."""

    def __init__(self) -> None:
        self.tensors: list[Tensor] = []

    def add(self, role: str, shape: tuple[int, ...], layer: int | None = None, *, routed: bool = False) -> None:
        suffix = "" if role.endswith(".bias") else ".weight"
        prefix = f"blk.{layer}." if layer is not None else ""
        self.tensors.append(Tensor(f"{prefix}{role}{suffix}", shape, layer, role, routed))

    def linear(self, role: str, n_in: int, n_out: int, layer: int | None, *, bias: bool = False) -> None:
        self.add(role, (n_in, n_out), layer)
        if bias:
            self.add(f"{role}.bias", (n_out,), layer)

    def norm(self, role: str, dim: int, layer: int | None, *, bias: bool = False) -> None:
        self.add(role, (dim,), layer)
        if bias:
            self.add(f"{role}.bias", (dim,), layer)


@dataclass(frozen=True)
class _Dims:
    """Common dimensions, resolved once per config."""

    n_layer: int
    n_embd: int
    n_head: int
    n_head_kv: int
    head_dim: int
    n_ff: int
    n_vocab: int
    tied: bool

    @property
    def q_dim(self) -> int:
        return self.n_head * self.head_dim

    @property
    def kv_dim(self) -> int:
        return self.n_head_kv * self.head_dim


def _dims(arch: ArchitectureConfig) -> _Dims:
    n_ff = _int(arch, "intermediate_size", "n_inner", "ffn_hidden_size")
    return _Dims(
        n_layer=arch.num_hidden_layers,
        n_embd=arch.hidden_size,
        n_head=arch.num_attention_heads,
        n_head_kv=arch.kv_heads,
        head_dim=arch.attention_head_dim,
        n_ff=n_ff if n_ff is not None else 4 * arch.hidden_size,
        n_vocab=arch.vocab_size,
        tied=arch.tie_word_embeddings,
    )


def _embeddings(b: _Builder, d: _Dims, *, output_bias: bool = False, norm_bias: bool = False) -> None:
    b.add("token_embd", (d.n_embd, d.n_vocab))
    b.norm("output_norm", d.n_embd, None, bias=norm_bias)
    if not d.tied:
        b.add("output", (d.n_embd, d.n_vocab))
        if output_bias:
            b.add("output.bias", (d.n_vocab,))


def _attention(
    b: _Builder,
    d: _Dims,
    i: int,
    *,
    qkv_bias: bool = False,
    out_bias: bool = False,
    fused_qkv: bool = False,
) -> None:
    if fused_qkv:
        b.linear("attn_qkv", d.n_embd, d.q_dim + 2 * d.kv_dim, i, bias=qkv_bias)
    else:
        b.linear("attn_q", d.n_embd, d.q_dim, i, bias=qkv_bias)
        b.linear("attn_k", d.n_embd, d.kv_dim, i, bias=qkv_bias)
        b.linear("attn_v", d.n_embd, d.kv_dim, i, bias=qkv_bias)
    b.linear("attn_output", d.q_dim, d.n_embd, i, bias=out_bias)


def _glu_ffn(b: _Builder, n_embd: int, n_ff: int, i: int, *, suffix: str = "", bias: bool = False) -> None:
    b.linear(f"ffn_gate{suffix}", n_embd, n_ff, i, bias=bias)
    b.linear(f"ffn_up{suffix}", n_embd, n_ff, i, bias=bias)
    b.linear(f"ffn_down{suffix}", n_ff, n_embd, i, bias=bias)


def _routed_experts(b: _Builder, n_embd: int, n_ff_exp: int, n_exp: int, i: int, *, bias: bool = False) -> None:
    b.add("ffn_gate_exps", (n_embd, n_ff_exp, n_exp), i, routed=True)
    b.add("ffn_up_exps", (n_embd, n_ff_exp, n_exp), i, routed=True)
    b.add("ffn_down_exps", (n_ff_exp, n_embd, n_exp), i, routed=True)
    if bias:
        b.add("ffn_gate_exps.bias", (n_ff_exp, n_exp), i, routed=True)
        b.add("ffn_up_exps.bias", (n_ff_exp, n_exp), i, routed=True)
        b.add("ffn_down_exps.bias", (n_embd, n_exp), i, routed=True)


def _rope_extras(b: _Builder, arch: ArchitectureConfig, d: _Dims) -> None:
    """llama3 rope scaling and LongRoPE store per-dimension factors (tiny F32 tensors) in the GGUF."""
    scaling = _extra(arch).get("rope_scaling")
    kind = None
    if isinstance(scaling, Mapping):
        kind = scaling.get("rope_type") or scaling.get("type")
    n_rot = int(d.head_dim * float(_extra(arch).get("partial_rotary_factor") or 1.0))
    if kind == "llama3":
        b.add("rope_freqs", (n_rot // 2,))
    elif kind in ("longrope", "su"):
        b.add("rope_factors_long", (n_rot // 2,))
        b.add("rope_factors_short", (n_rot // 2,))


# ----------------------------------------------------------------------------- families


def _llama_like(arch: ArchitectureConfig) -> list[Tensor]:
    """llama, mistral, mixtral, qwen2(+moe), qwen3(+moe), olmo2, smollm3, granite, MiniMax-M2 decoders.

    MiniMax-M2 (``minimax_m2``): every layer sparse, experts ``intermediate_size`` wide, q/k RMSNorms
    over the whole projection (``qk_norm_type: per_layer``) and a sigmoid router with a per-expert
    bias (``use_routing_bias``); its multi-token-prediction modules are not converted.
    """
    d = _dims(arch)
    family = family_of(arch.model_type) or "llama"
    b = _Builder()
    _embeddings(b, d)
    _rope_extras(b, arch, d)
    attention_bias = _flag(arch, "attention_bias")
    qkv_bias = family == "qwen2" or (attention_bias and family == "llama")
    out_bias = attention_bias and family == "llama"
    mlp_bias = _flag(arch, "mlp_bias")
    n_exp = n_experts(arch)
    n_ff_exp = _int(arch, "moe_intermediate_size", default=d.n_ff) or d.n_ff
    n_ff_shexp = _int(arch, "shared_expert_intermediate_size", default=0) or 0
    step = _int(arch, "decoder_sparse_step", default=1) or 1
    dense_layers = set(_extra(arch).get("mlp_only_layers") or [])
    for i in range(d.n_layer):
        if family != "olmo2":
            b.norm("attn_norm", d.n_embd, i)
        _attention(b, d, i, qkv_bias=qkv_bias, out_bias=out_bias)
        if family == "qwen3":
            b.norm("attn_q_norm", d.head_dim, i)
            b.norm("attn_k_norm", d.head_dim, i)
        if family in ("olmo2", "minimax-m2"):
            b.norm("attn_q_norm", d.q_dim, i)
            b.norm("attn_k_norm", d.kv_dim, i)
        if family == "olmo2":
            b.norm("post_attention_norm", d.n_embd, i)
        else:
            b.norm("ffn_norm", d.n_embd, i)
        sparse = n_exp > 0 and i not in dense_layers and (i + 1) % step == 0
        if sparse:
            b.add("ffn_gate_inp", (d.n_embd, n_exp), i)
            if _flag(arch, "use_routing_bias"):
                b.add("exp_probs_b.bias", (n_exp,), i)
            _routed_experts(b, d.n_embd, n_ff_exp, n_exp, i)
            if n_ff_shexp:
                b.add("ffn_gate_inp_shexp", (d.n_embd,), i)
                _glu_ffn(b, d.n_embd, n_ff_shexp, i, suffix="_shexp")
        else:
            _glu_ffn(b, d.n_embd, d.n_ff, i, bias=mlp_bias)
        if family == "olmo2":
            b.norm("post_ffw_norm", d.n_embd, i)
    return b.tensors


def _gemma(arch: ArchitectureConfig) -> list[Tensor]:
    """Gemma 1/2/3 text decoders: tied embeddings; Gemma 2/3 add post-norms, Gemma 3 q/k norms."""
    d = _dims(arch)
    d = _Dims(d.n_layer, d.n_embd, d.n_head, d.n_head_kv, d.head_dim, d.n_ff, d.n_vocab, True)
    version = 1 if arch.model_type == "gemma" else 2 if arch.model_type == "gemma2" else 3
    b = _Builder()
    _embeddings(b, d)
    for i in range(d.n_layer):
        b.norm("attn_norm", d.n_embd, i)
        _attention(b, d, i)
        if version == 3:
            b.norm("attn_q_norm", d.head_dim, i)
            b.norm("attn_k_norm", d.head_dim, i)
        if version >= 2:
            b.norm("post_attention_norm", d.n_embd, i)
        b.norm("ffn_norm", d.n_embd, i)
        _glu_ffn(b, d.n_embd, d.n_ff, i)
        if version >= 2:
            b.norm("post_ffw_norm", d.n_embd, i)
    return b.tensors


def _phi2(arch: ArchitectureConfig, fused_qkv: bool | None = None) -> list[Tensor]:
    """Phi-2: parallel block, one LayerNorm with bias, biased q/k/v/dense, GELU two-matrix MLP, biased head.

    The transformers checkpoint (``PhiForCausalLM``) has separate q/k/v, and ``convert_hf_to_gguf.py``
    keeps them separate; the original Microsoft format (``phi-msft``, ``Wqkv``), from which the
    December-2023 GGUFs were made, is fused. ``fused_qkv: true`` in the config (or model_type
    ``phi-msft``) selects the fused layout.
    """
    d = _dims(arch)
    fused = arch.model_type == "phi-msft" or _flag(arch, "fused_qkv") if fused_qkv is None else fused_qkv
    b = _Builder()
    _embeddings(b, d, output_bias=True, norm_bias=True)
    for i in range(d.n_layer):
        b.norm("attn_norm", d.n_embd, i, bias=True)
        _attention(b, d, i, qkv_bias=True, out_bias=True, fused_qkv=fused)
        b.linear("ffn_up", d.n_embd, d.n_ff, i, bias=True)
        b.linear("ffn_down", d.n_ff, d.n_embd, i, bias=True)
    return b.tensors


def _phi3(arch: ArchitectureConfig) -> list[Tensor]:
    """Phi-3 / Phi-3.5 / phi-4: fused attn_qkv and fused gate+up (stored as ffn_up of width 2*n_ff)."""
    d = _dims(arch)
    b = _Builder()
    _embeddings(b, d)
    _rope_extras(b, arch, d)
    for i in range(d.n_layer):
        b.norm("attn_norm", d.n_embd, i)
        _attention(b, d, i, fused_qkv=True)
        b.norm("ffn_norm", d.n_embd, i)
        b.linear("ffn_up", d.n_embd, 2 * d.n_ff, i)
        b.linear("ffn_down", d.n_ff, d.n_embd, i)
    return b.tensors


def _deepseek(arch: ArchitectureConfig) -> list[Tensor]:
    """DeepSeek-MoE v1 (``deepseek``), V2 and V3 (MLA), with shared experts and leading dense layers.

    MLA tensors follow the current converter, which splits ``kv_b_proj`` into ``attn_k_b``
    ``(qk_nope, kv_lora_rank, n_head)`` and ``attn_v_b`` ``(kv_lora_rank, v_head, n_head)``; the
    multi-token-prediction layers (``num_nextn_predict_layers``) are not converted. Kimi K2
    (``kimi_k2``) is this layout; DeepSeek-V3.2 (``deepseek_v32``) adds a small sparse-attention
    indexer that is not counted. GLM-4.5/4.6 (``glm4_moe``) keeps the MoE layout (leading dense
    layers, shared expert, biased sigmoid router) with GQA attention: q/k/v biases
    (``attention_bias``) and per-head q/k norms when ``use_qk_norm``.
    """
    d = _dims(arch)
    b = _Builder()
    _embeddings(b, d)
    n_exp = n_experts(arch)
    n_ff_exp = _require(_int(arch, "moe_intermediate_size"), arch, "moe_intermediate_size")
    n_shared = _int(arch, "n_shared_experts", default=0) or 0
    first_dense = _int(arch, "first_k_dense_replace", default=0) or 0
    freq = _int(arch, "moe_layer_freq", default=1) or 1
    kv_lora = _int(arch, "kv_lora_rank")
    mla = kv_lora is not None and arch.model_type != "deepseek"
    for i in range(d.n_layer):
        b.norm("attn_norm", d.n_embd, i)
        if mla:
            assert kv_lora is not None
            q_lora = _int(arch, "q_lora_rank")
            rope = _require(_int(arch, "qk_rope_head_dim"), arch, "qk_rope_head_dim")
            nope = _require(_int(arch, "qk_nope_head_dim"), arch, "qk_nope_head_dim")
            v_dim = _require(_int(arch, "v_head_dim"), arch, "v_head_dim")
            q_out = d.n_head * (nope + rope)
            if q_lora:
                b.add("attn_q_a", (d.n_embd, q_lora), i)
                b.norm("attn_q_a_norm", q_lora, i)
                b.add("attn_q_b", (q_lora, q_out), i)
            else:
                b.add("attn_q", (d.n_embd, q_out), i)
            b.add("attn_kv_a_mqa", (d.n_embd, kv_lora + rope), i)
            b.norm("attn_kv_a_norm", kv_lora, i)
            b.add("attn_k_b", (nope, kv_lora, d.n_head), i)
            b.add("attn_v_b", (kv_lora, v_dim, d.n_head), i)
            b.add("attn_output", (d.n_head * v_dim, d.n_embd), i)
        else:
            _attention(b, d, i, qkv_bias=_flag(arch, "attention_bias"))
            if _flag(arch, "use_qk_norm"):
                b.norm("attn_q_norm", d.head_dim, i)
                b.norm("attn_k_norm", d.head_dim, i)
        b.norm("ffn_norm", d.n_embd, i)
        if n_exp > 0 and i >= first_dense and i % freq == 0:
            b.add("ffn_gate_inp", (d.n_embd, n_exp), i)
            if _extra(arch).get("topk_method") == "noaux_tc" or arch.model_type == "glm4_moe":
                b.add("exp_probs_b.bias", (n_exp,), i)
            _routed_experts(b, d.n_embd, n_ff_exp, n_exp, i)
            if n_shared:
                _glu_ffn(b, d.n_embd, n_ff_exp * n_shared, i, suffix="_shexp")
        else:
            _glu_ffn(b, d.n_embd, d.n_ff, i)
    return b.tensors


def _llama4(arch: ArchitectureConfig) -> list[Tensor]:
    """Llama 4 text decoder: MoE layers every ``interleave_moe_layer_step`` with one shared expert.

    A MoE layer has a router, ``num_local_experts`` routed experts and one shared expert, all
    ``intermediate_size`` wide; the other layers are dense with ``intermediate_size_mlp``. The q/k
    norm is a weightless L2 norm. The vision encoder is not counted.
    """
    d = _dims(arch)
    n_exp = n_experts(arch)
    step = _int(arch, "interleave_moe_layer_step", default=1) or 1
    n_ff_dense = _int(arch, "intermediate_size_mlp", default=d.n_ff) or d.n_ff
    b = _Builder()
    _embeddings(b, d)
    for i in range(d.n_layer):
        b.norm("attn_norm", d.n_embd, i)
        _attention(b, d, i)
        b.norm("ffn_norm", d.n_embd, i)
        if n_exp > 0 and (i + 1) % step == 0:
            b.add("ffn_gate_inp", (d.n_embd, n_exp), i)
            _routed_experts(b, d.n_embd, d.n_ff, n_exp, i)
            _glu_ffn(b, d.n_embd, d.n_ff, i, suffix="_shexp")
        else:
            _glu_ffn(b, d.n_embd, n_ff_dense, i)
    return b.tensors


def _gpt_oss(arch: ArchitectureConfig) -> list[Tensor]:
    """gpt-oss: biased attention with per-head sinks, biased router and biased experts.

    The converter splits the fused ``gate_up_proj`` into ffn_gate_exps / ffn_up_exps.
    """
    d = _dims(arch)
    n_exp = _require(n_experts(arch) or None, arch, "num_local_experts")
    b = _Builder()
    _embeddings(b, d)
    for i in range(d.n_layer):
        b.norm("attn_norm", d.n_embd, i)
        _attention(b, d, i, qkv_bias=True, out_bias=True)
        b.add("attn_sinks", (d.n_head,), i)
        b.norm("post_attention_norm", d.n_embd, i)
        b.add("ffn_gate_inp", (d.n_embd, n_exp), i)
        b.add("ffn_gate_inp.bias", (n_exp,), i)
        _routed_experts(b, d.n_embd, d.n_ff, n_exp, i, bias=True)
    return b.tensors


def _cohere(arch: ArchitectureConfig) -> list[Tensor]:
    """Command-R: parallel attention+MLP with one bias-free LayerNorm, tied embeddings, optional q/k norm."""
    d = _dims(arch)
    d = _Dims(d.n_layer, d.n_embd, d.n_head, d.n_head_kv, d.head_dim, d.n_ff, d.n_vocab, True)
    qk_norm = _flag(arch, "use_qk_norm")
    b = _Builder()
    _embeddings(b, d)
    for i in range(d.n_layer):
        b.norm("attn_norm", d.n_embd, i)
        _attention(b, d, i)
        if qk_norm:
            b.add("attn_q_norm", (d.head_dim, d.n_head), i)
            b.add("attn_k_norm", (d.head_dim, d.n_head_kv), i)
        _glu_ffn(b, d.n_embd, d.n_ff, i)
    return b.tensors


def _falcon(arch: ArchitectureConfig) -> list[Tensor]:
    """Falcon 7B/40B/180B (``falcon``): fused QKV (MQA or GQA), GELU two-matrix MLP, LayerNorms with bias.

    Falcon3 checkpoints are ``model_type: llama`` and never come here.
    """
    d = _dims(arch)
    new_arch = _flag(arch, "new_decoder_architecture")
    kv = d.n_head_kv
    if not new_arch and _flag(arch, "multi_query", default=True):
        kv = 1
    d = _Dims(
        d.n_layer, d.n_embd, d.n_head, kv, d.head_dim, _int(arch, "ffn_hidden_size") or 4 * d.n_embd, d.n_vocab, d.tied
    )
    b = _Builder()
    _embeddings(b, d, norm_bias=True)
    bias = _flag(arch, "bias")
    for i in range(d.n_layer):
        b.norm("attn_norm", d.n_embd, i, bias=True)
        if new_arch:
            b.norm("attn_norm_2", d.n_embd, i, bias=True)
        _attention(b, d, i, qkv_bias=bias, out_bias=bias, fused_qkv=True)
        b.linear("ffn_up", d.n_embd, d.n_ff, i, bias=bias)
        b.linear("ffn_down", d.n_ff, d.n_embd, i, bias=bias)
    return b.tensors


#: model_type -> (family, builder). The family keys the quantization rules (llama.cpp ``llm_arch``).
_FAMILIES: dict[str, tuple[str, Callable[[ArchitectureConfig], list[Tensor]]]] = {
    "llama": ("llama", _llama_like),
    "mistral": ("llama", _llama_like),
    "mixtral": ("llama", _llama_like),
    "qwen2": ("qwen2", _llama_like),
    "qwen2_moe": ("qwen2", _llama_like),
    "qwen3": ("qwen3", _llama_like),
    "qwen3_moe": ("qwen3", _llama_like),
    "olmo2": ("olmo2", _llama_like),
    "smollm3": ("smollm3", _llama_like),
    "granite": ("granite", _llama_like),
    "minimax_m2": ("minimax-m2", _llama_like),
    "mistral3": ("llama", _llama_like),
    "llama4": ("llama4", _llama4),
    "llama4_text": ("llama4", _llama4),
    "gemma": ("gemma", _gemma),
    "gemma2": ("gemma", _gemma),
    "gemma3": ("gemma", _gemma),
    "gemma3_text": ("gemma", _gemma),
    "phi": ("phi2", _phi2),
    "phi-msft": ("phi2", _phi2),
    "phi3": ("phi3", _phi3),
    "deepseek": ("deepseek", _deepseek),
    "deepseek_v2": ("deepseek2", _deepseek),
    "deepseek_v3": ("deepseek2", _deepseek),
    "deepseek_v32": ("deepseek2", _deepseek),
    "kimi_k2": ("deepseek2", _deepseek),
    "glm4_moe": ("glm4moe", _deepseek),
    "gpt_oss": ("gpt_oss", _gpt_oss),
    "cohere": ("cohere", _cohere),
    "falcon": ("falcon", _falcon),
}

SUPPORTED_MODEL_TYPES: tuple[str, ...] = tuple(sorted(_FAMILIES))

#: Tensors the converter derives from the config (RoPE frequency factors): in the GGUF, not checkpoint parameters.
GGUF_ONLY_ROLES: frozenset[str] = frozenset({"rope_freqs", "rope_factors_long", "rope_factors_short"})


def family_of(model_type: str) -> str | None:
    """The llama.cpp architecture family of a Hugging Face ``model_type``, or None when unknown."""
    entry = _FAMILIES.get(model_type)
    return entry[0] if entry else None


def inventory_method(arch: ArchitectureConfig) -> str:
    """How the inventory was built: the family's layout, or the stated generic fallback."""
    family = family_of(arch.model_type)
    if family is None:
        return f"generic llama-like fallback for unknown model_type {arch.model_type!r}"
    return f"{family} tensor layout (llama.cpp GGUF names)"


def tensor_inventory(
    arch: ArchitectureConfig, *, fallback: bool = False, fused_qkv: bool | None = None
) -> tuple[Tensor, ...]:
    """Every tensor of the language model as a converted GGUF holds it.

    Raises :class:`UnknownArchitectureError` naming the type when ``model_type`` is unknown, unless
    ``fallback`` is set: then a llama-like layout is used and :func:`inventory_method` says so.
    ``fused_qkv`` overrides the checkpoint layout where a family had both (Phi-2: the original
    Microsoft checkpoint fused q/k/v, the transformers one does not). Built once per architecture
    (the variants of a model, and models sharing an architecture, reuse it), hence a tuple.
    """
    return _inventory(architecture_key(arch), fallback, fused_qkv)


@lru_cache(maxsize=256)
def _inventory(key: ArchitectureKey, fallback: bool, fused_qkv: bool | None) -> tuple[Tensor, ...]:
    arch = key.arch
    if fused_qkv is not None and family_of(arch.model_type) == "phi2":
        return tuple(_phi2(arch, fused_qkv))
    entry = _FAMILIES.get(arch.model_type)
    if entry is None:
        if not fallback:
            raise UnknownArchitectureError(
                f"unknown model_type {arch.model_type!r}: no tensor layout for it "
                f"(supported: {', '.join(SUPPORTED_MODEL_TYPES)})"
            )
        return tuple(_llama_like(arch))
    return tuple(entry[1](arch))


# ----------------------------------------------------------------------------- parameter counts


def vision_tower_params(arch: ArchitectureConfig) -> int:
    """SigLIP vision tower + Gemma 3 projector, from ``vision_config`` (0 when the config has none).

    Counted the way the released ``Gemma3ForConditionalGeneration`` checkpoint stores it: patch
    embedding conv (with bias), learned position embeddings, per layer LayerNorm x2 (with bias),
    q/k/v/o and fc1/fc2 (with biases), a final LayerNorm, then the projector's RMSNorm and
    ``vision_hidden x text_hidden`` matrix. Only the Gemma 3 projector is known here; other vision
    towers return 0 and say so through :func:`count_parameters`' conventions.
    """
    vision = _extra(arch).get("vision_config")
    if not isinstance(vision, Mapping) or arch.model_type not in ("gemma3", "gemma3_text"):
        return 0
    h = int(vision["hidden_size"])
    inter = int(vision["intermediate_size"])
    layers = int(vision["num_hidden_layers"])
    patch = int(vision.get("patch_size", 14))
    image = int(vision.get("image_size", 896))
    channels = int(vision.get("num_channels", 3))
    per_layer = 4 * (h * h + h) + (h * inter + inter) + (inter * h + h) + 4 * h
    embeddings = channels * patch * patch * h + h + (image // patch) ** 2 * h
    projector = h * arch.hidden_size + h
    return layers * per_layer + embeddings + 2 * h + projector


def count_parameters(arch: ArchitectureConfig, *, fallback: bool = False) -> ParamCount:
    """Total and active parameters under the family's published convention (see :class:`ParamCount`).

    Active = every tensor a token touches: attention, norms, router, the top-k routed experts,
    shared experts, the output head and the embedding table (gpt-oss excludes the embedding table,
    as OpenAI's model card counts it).
    """
    tensors = [t for t in tensor_inventory(arch, fallback=fallback) if t.role not in GGUF_ONLY_ROLES]
    text_total = sum(t.n_elements for t in tensors)
    k = experts_per_token(arch)
    active = 0
    embedding = 0
    for t in tensors:
        if t.role == "token_embd":
            embedding = t.n_elements
        if t.routed_expert:
            active += t.n_elements * min(k, t.n_experts) // t.n_experts
        else:
            active += t.n_elements
    conventions: list[str] = []
    if arch.model_type == "gpt_oss":
        active -= embedding
        conventions.append("active excludes the input embedding table (OpenAI gpt-oss model card)")
    vision = vision_tower_params(arch)
    if vision:
        conventions.append("total includes the SigLIP vision tower and projector of the released checkpoint")
    elif isinstance(_extra(arch).get("vision_config"), Mapping):
        conventions.append("vision_config present but its tower is not counted (unknown projector layout)")
    if arch.model_type in ("deepseek_v3", "deepseek_v32", "kimi_k2", "glm4_moe") and _int(
        arch, "num_nextn_predict_layers"
    ):
        conventions.append("multi-token-prediction layers excluded (not part of the main model or a GGUF)")
    total = text_total + vision
    return ParamCount(
        total=total,
        active=active + vision,
        text_total=text_total,
        vision=vision,
        embedding=embedding,
        conventions=tuple(conventions),
    )


# ----------------------------------------------------------------------------- config.json input

#: config.json keys some model families use for the fields ArchitectureConfig names the Llama way
#: (GPT-2 ``n_layer``, Falcon ``ffn_hidden_size``, ChatGLM ``multi_query_group_num``, Qwen-MoE ``num_experts``).
_KEY_ALIASES: dict[str, tuple[str, ...]] = {
    "num_hidden_layers": ("n_layer", "num_layers", "n_layers"),
    "hidden_size": ("n_embd", "n_embed", "d_model"),
    "num_attention_heads": ("n_head", "num_heads", "n_heads"),
    "intermediate_size": ("n_inner", "ffn_hidden_size", "ffn_dim"),
    "max_position_embeddings": ("n_positions", "seq_length", "max_sequence_length", "max_seq_len"),
    "num_key_value_heads": ("num_kv_heads", "multi_query_group_num", "n_head_kv"),
    "num_local_experts": ("n_routed_experts", "num_experts", "moe_num_experts"),
}

#: Keys without which the decoder's size cannot be read.
_REQUIRED_KEYS = ("model_type", "num_hidden_layers", "hidden_size", "num_attention_heads", "vocab_size")


def architecture_from_config(raw: Mapping[str, Any]) -> ArchitectureConfig:
    """An :class:`ArchitectureConfig` from a Hugging Face ``config.json`` mapping: the one normaliser.

    Used for a config.json on disk (:mod:`advisor.engine.model_source`) and one downloaded from the
    Hub (:mod:`advisor.hub.facts`), both through :func:`advisor.files.structured.architecture_from_json`,
    so the same file reads the same way wherever it comes from:

    * Multimodal configs nest the decoder under ``text_config``: it is flattened, the decoder's
      keys win (a ``None`` there does not hide an outer value) and ``vision_config`` is kept for
      the parameter count. ``model_type`` is the decoder's (``gemma3_text``, not ``gemma3``), the
      family the catalog records and the estimators key on.
    * Other spellings of the core fields (:data:`_KEY_ALIASES`) fill a field that is absent;
      only integer values count.
    * Qwen2's ``use_sliding_window: false`` switches its ``sliding_window`` off; a non-integer
      window is dropped.

    Raises ``ValueError`` naming the missing keys when the decoder's size cannot be read, and
    pydantic's ``ValidationError`` (a ``ValueError``) for a value of the wrong type.
    """
    data: dict[str, Any] = {k: v for k, v in raw.items() if k != "text_config"}
    text = raw.get("text_config")
    if isinstance(text, Mapping):
        data.update({k: v for k, v in text.items() if v is not None or k not in data})
    for key, aliases in _KEY_ALIASES.items():
        if data.get(key) is None:
            for alias in aliases:
                value = data.get(alias)
                if isinstance(value, int) and not isinstance(value, bool):
                    data[key] = value
                    break
    if data.get("use_sliding_window") is False:
        data["sliding_window"] = None
    missing = [k for k in _REQUIRED_KEYS if data.get(k) is None]
    if missing:
        raise ValueError(f"config.json lacks {', '.join(missing)}")
    if data.get("sliding_window") is not None and not isinstance(data["sliding_window"], int):
        data["sliding_window"] = None
    return ArchitectureConfig.model_validate(data)

"""Weights footprint per tensor for every GGUF file type and the Hugging Face formats.

A GGUF "Q4_K_M" is not 4.5 bits everywhere: llama.cpp picks a ggml type per tensor (output Q6_K,
some attn_v/ffn_down one or two classes up, 70B and 8-expert special cases, a fallback type when a
row is not a multiple of the block). This module replays those rules (``src/llama-quant.cpp``,
ported below with the llama.cpp names) over the tensor inventory of :mod:`advisor.estimate.tensors`,
adds the GGUF metadata, and reports the result per tensor, per layer and per role. Published files
were made by three generations of those rules; ``era`` selects one (see ``catalog/quant_recipes.yaml``).

Hugging Face formats (safetensors FP32/BF16/FP16, FP8, GPTQ/AWQ, bitsandbytes) use their storage
formulas on the same inventory: quantized linear layers, 16-bit embeddings/head/norms.

Everything is an estimate (``exact=False``); exact sizes come from a file's own tensor table.

A plan sizes every catalog model at several formats, so the work is split by what it depends on:
what the rules read of each tensor once per architecture (:class:`_Layout`, which also sorts the
tensors into kinds: same role, shape and place), the rules and the sums once per architecture x format
(:func:`estimate_weights`, memoised). Within a format, a kind's type is worked out once, except for the
tensors whose llama.cpp rule counts them (ffn_down/gate/up, attn_v-like: ``use_more_bits(i, n)`` and
friends read the layer index), which run the rules one by one in file order. Identical layers then
share one tuple of :class:`StoredTensor`, and the per-tensor detail (:attr:`WeightsBreakdown.tensors`)
is only built when asked for. See docs/hardware-fit.md.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from typing import Any, Literal, NamedTuple

from advisor.catalog.records import ArchitectureConfig
from advisor.catalog.tables import read_yaml
from advisor.estimate.tensors import (
    GGUF_ONLY_ROLES,
    ArchitectureKey,
    Tensor,
    architecture_key,
    experts_per_token,
    family_of,
    inventory_method,
    is_70b_type,
    n_experts,
    tensor_inventory,
    vision_tower_params,
)

ERAS: tuple[str, ...] = ("current", "2024", "2023")


# ----------------------------------------------------------------------------- recipe data


@dataclass(frozen=True)
class Recipes:
    """Typed view of catalog/quant_recipes.yaml."""

    ggml_types: Mapping[str, tuple[int, int]]
    gguf_ftypes: Mapping[str, str]
    imatrix_required: frozenset[str]
    fallback: Mapping[str, str]
    metadata: Mapping[str, Any]
    hf_formats: Mapping[str, Mapping[str, Any]]
    source: str


@lru_cache(maxsize=1)
def recipes() -> Recipes:
    """Load the packaged recipe tables once."""
    data = read_yaml("quant_recipes.yaml")
    return Recipes(
        ggml_types={k: (int(v[0]), int(v[1])) for k, v in data["ggml_types"].items()},
        gguf_ftypes=dict(data["gguf_ftypes"]),
        imatrix_required=frozenset(data["imatrix_required"]),
        fallback=dict(data["fallback"]),
        metadata=dict(data["gguf_metadata"]),
        hf_formats={k: dict(v) for k, v in data["hf_formats"].items()},
        source=str(data["source"]),
    )


def supported_quants() -> tuple[str, ...]:
    """Every quant id :func:`estimate_weights` accepts (GGUF file types, then HF formats)."""
    r = recipes()
    return (*r.gguf_ftypes, *r.hf_formats)


@lru_cache(maxsize=4096)
def ggml_type_bytes(ggml_type: str, n_elements: int) -> int:
    """Bytes of ``n_elements`` stored as ``ggml_type`` (whole blocks); memoised, as every layer asks again."""
    block, size = recipes().ggml_types[ggml_type]
    return math.ceil(n_elements / block) * size


# ----------------------------------------------------------------------------- results


class TensorWeight(NamedTuple):
    """One tensor's storage: its type (ggml type, or the HF storage description) and bytes.

    ``active_fraction`` is the share of the tensor a decoded token reads: 1 for dense tensors,
    top-k / n_experts for routed experts, 0 for the embedding table (one row per token) unless the
    embeddings are tied and it doubles as the output head. A NamedTuple because a breakdown holds
    one per tensor (thousands for a MoE model) and every variant of every model needs one.
    """

    name: str
    role: str
    layer: int | None
    storage: str
    n_elements: int
    bytes: int
    routed_expert: bool
    active_fraction: float


class StoredTensor(NamedTuple):
    """A tensor's storage without its name: what the sums and the decode estimate read.

    Layers that hold the same kinds of tensor with the same types share one tuple of these.
    """

    storage: str
    n_elements: int
    bytes: int
    routed_expert: bool
    active_fraction: float


@dataclass(frozen=True)
class WeightsBreakdown:
    """Weights of one model in one format, itemised the way offload and speed need them.

    ``total_bytes`` = ``token_embd_bytes`` + ``output_bytes`` (0 added when tied) + sum(``layer_bytes``)
    + ``other_bytes`` + ``vision_bytes`` + ``metadata_bytes``. With tied embeddings (``output_tied``)
    the file stores the matrix once, but llama.cpp loads a second copy with the output layer when that
    layer is offloaded: ``output_bytes`` is that copy's size and is not part of ``total_bytes``.
    ``layer_bytes[i]`` includes ``expert_bytes_per_layer[i]`` (the routed-expert part of layer ``i``).

    The tensors are held as layer ``i``'s :class:`StoredTensor` tuple ``layer_contents[layer_content_of[i]]``
    (in file order; identical layers share one) and ``outside_tensors`` (those of no layer, in file
    order). :attr:`tensors`, :attr:`tensor_types` and :attr:`active_bytes_per_token` name them again
    from ``inventory`` when asked (a plan asks for none of them).
    """

    quant: str
    format: Literal["gguf", "hf"]
    total_bytes: int
    tensor_bytes: int
    metadata_bytes: int
    token_embd_bytes: int
    output_bytes: int
    output_tied: bool
    layer_bytes: list[int]
    expert_bytes_per_layer: list[int]
    other_bytes: int
    vision_bytes: int
    params: int
    outside_tensors: tuple[StoredTensor, ...]
    layer_contents: tuple[tuple[StoredTensor, ...], ...]
    layer_content_of: tuple[int, ...]
    method: str
    era: str
    assumptions: tuple[str, ...]
    inventory: tuple[Tensor, ...] = field(repr=False, compare=False)
    exact: bool = False

    @property
    def bits_per_weight(self) -> float:
        """Effective bits per weight of the tensor data (file bytes x 8 / parameters)."""
        return 8.0 * self.tensor_bytes / self.params if self.params else 0.0

    @property
    def n_layers(self) -> int:
        return len(self.layer_bytes)

    def _stored(self) -> Iterator[tuple[Tensor, StoredTensor]]:
        """Each tensor of the inventory with its storage, in file order."""
        outside = iter(self.outside_tensors)
        layers = [iter(self.layer_contents[c]) for c in self.layer_content_of]
        for t in self.inventory:
            yield t, next(outside if t.layer is None else layers[t.layer])

    @cached_property
    def tensors(self) -> tuple[TensorWeight, ...]:
        """Every tensor with its storage (built on first use)."""
        return tuple(
            TensorWeight(t.name, t.role, t.layer, s.storage, s.n_elements, s.bytes, t.routed_expert, s.active_fraction)
            for t, s in self._stored()
        )

    @cached_property
    def tensor_types(self) -> dict[str, str]:
        """Per role (in file order), its storage types and how many tensors have each, e.g. ``Q4_Kx28, Q6_Kx4``."""
        roles: dict[str, Counter[str]] = {}
        for t, s in self._stored():
            roles.setdefault(t.role, Counter())[s.storage] += 1
        return {role: _summarise(counts) for role, counts in roles.items()}

    @cached_property
    def active_bytes_per_token(self) -> int:
        """Bytes a decoded token reads (each tensor's bytes x its active fraction), summed in file order."""
        active = 0.0
        for _, s in self._stored():
            active += s.bytes * s.active_fraction  # in tensor order, so the float sum never changes
        return round(active)


# ----------------------------------------------------------------------------- llama.cpp rules

_IQ_LOW_OUTPUT = frozenset({"IQ2_XXS", "IQ2_XS", "IQ3_XXS", "IQ1_S", "IQ2_S", "IQ2_M", "IQ1_M"})
_IQ_GROUP = frozenset({"IQ2_XXS", "IQ2_XS", "IQ1_S", "IQ2_S", "IQ2_M", "IQ1_M"})
_NEW_IN_2024 = frozenset(
    {
        "Q2_K_S",
        "IQ1_S",
        "IQ1_M",
        "IQ2_XXS",
        "IQ2_XS",
        "IQ2_S",
        "IQ2_M",
        "IQ3_XXS",
        "IQ3_XS",
        "IQ3_S",
        "IQ3_M",
        "IQ4_NL",
        "IQ4_XS",
        "MXFP4",
        "BF16",
    }
)


@lru_cache(maxsize=16384)
def _category(name: str) -> str:
    """llama.cpp ``tensor_get_category``: substring tests on the GGUF name, in the same order.

    Memoised: models of a family share their tensor names."""
    if name == "output.weight":
        return "OUTPUT"
    if name in ("token_embd.weight", "per_layer_token_embd.weight"):
        return "TOKEN_EMBD"
    for needle, category in (
        ("attn_qkv.weight", "ATTENTION_QKV"),
        ("attn_kv_b.weight", "ATTENTION_KV_B"),
        ("attn_v.weight", "ATTENTION_V"),
        ("attn_k.weight", "ATTENTION_K"),
        ("attn_q.weight", "ATTENTION_Q"),
        ("attn_output.weight", "ATTENTION_OUTPUT"),
        ("ffn_up", "FFN_UP"),
        ("ffn_gate", "FFN_GATE"),
        ("ffn_down", "FFN_DOWN"),
    ):
        if needle in name:
            return category
    return "OTHER"


def _allows_quantization(t: Tensor) -> bool:
    """llama.cpp ``tensor_allows_quantization`` for the tensors our inventories contain."""
    return t.is_weight_matrix and "_norm.weight" not in t.name and "ffn_gate_inp.weight" not in t.name


def _use_more_bits(i_layer: int, n_layers: int) -> bool:
    return i_layer < n_layers // 8 or i_layer >= 7 * n_layers // 8 or (i_layer - n_layers // 8) % 3 == 2


@dataclass
class _QuantState:
    """The counters and model facts ``llama_tensor_get_type_impl`` reads."""

    ftype: str
    era: str
    n_layer: int
    n_gqa: float
    n_expert: int
    is_70b: bool
    falcon: bool
    tied: bool
    imatrix: bool
    n_attention_wv: int
    i_attention_wv: int = 0
    i_ffn_down: int = 0
    i_ffn_gate: int = 0
    i_ffn_up: int = 0


def _layer_of(state: _QuantState, t: Tensor, counter: int) -> int:
    """MoE models take the layer from the name (experts are not consecutive); dense ones count tensors."""
    if state.n_expert > 1 and t.layer is not None:
        return t.layer
    return counter


def _ffn_down_type(state: _QuantState, t: Tensor, new: str) -> str:
    f, old = state.ftype, state.era == "2023"
    i, n = _layer_of(state, t, state.i_ffn_down), state.n_layer
    state.i_ffn_down += 1
    if f == "Q2_K":
        return "Q3_K"
    if f == "Q2_K_S":
        return "Q4_K" if i < n // 8 else new
    if f == "IQ3_XXS" and not state.imatrix:
        return "Q4_K" if i < n // 8 else "Q3_K"
    if f == "Q3_K_M":
        if i < (2 if old else n // 16):
            return "Q5_K"
        return "Q4_K" if not state.falcon or _use_more_bits(i, n) else "Q3_K"
    if f == "IQ3_M" and (i < n // 8 or (state.n_expert == 8 and _use_more_bits(i, n))):
        return "Q4_K"
    if f == "Q3_K_L":
        return "Q4_K" if state.falcon else "Q5_K"
    if f == "Q4_K_M":
        if state.falcon:
            return "Q6_K" if i < (2 if old else n // 16) else "Q5_K" if _use_more_bits(i, n) else "Q4_K"
        return "Q6_K" if _use_more_bits(i, n) else new
    if i < n // 8 and f in ("IQ4_NL", "IQ4_XS") and not state.imatrix:
        return "Q5_K"
    if f == "Q5_K_M" and _use_more_bits(i, n):
        return "Q6_K"
    if f == "Q4_K_S" and not state.falcon and i < (4 if old else n // 8):
        return "Q5_K"
    if f in ("Q4_0", "Q5_0") and state.imatrix and i < n // 8:
        return "Q4_1" if f == "Q4_0" else "Q5_1"
    return new


def _attn_v_type(state: _QuantState, new: str) -> str:
    f = state.ftype
    gqa4 = state.n_gqa >= 4
    if f == "Q2_K":
        new = "Q3_K" if state.era == "2023" else ("Q4_K" if gqa4 else "Q3_K")
    elif f == "Q2_K_S" and gqa4:
        new = "Q4_K"
    elif f == "IQ3_XXS":
        new = "Q4_K" if gqa4 else ("IQ3_XXS" if state.imatrix else "IQ3_S")
    elif (f in ("IQ3_XS", "IQ3_S") and gqa4) or f == "IQ3_M":
        new = "Q4_K"
    elif f == "Q3_K_M":
        new = "Q5_K" if state.i_attention_wv < 2 else "Q4_K"
    elif f == "Q3_K_L" or (f in ("IQ4_NL", "IQ4_XS") and gqa4):
        new = "Q5_K"
    elif f in ("Q4_K_M", "Q5_K_M") and _use_more_bits(state.i_attention_wv, state.n_attention_wv):
        new = "Q6_K"
    elif f == "Q4_K_S" and state.i_attention_wv < 4:
        new = "Q5_K"
    if state.is_70b and new in ("Q3_K", "Q4_K"):
        new = "Q5_K"
    if state.n_expert == 8:
        new = "Q8_0"
    state.i_attention_wv += 1
    return new


def _rule_type(state: _QuantState, t: Tensor, category: str, new: str) -> str:
    """``llama_tensor_get_type_impl``: the type llama.cpp's mix gives this tensor (before fallback)."""
    f, era = state.ftype, state.era
    if category == "OUTPUT" or (state.tied and category == "TOKEN_EMBD"):
        if f == "MXFP4":
            return "Q8_0"
        if state.falcon or t.shape[0] % recipes().ggml_types[new][0] != 0:
            return "Q8_0"
        if f in _IQ_LOW_OUTPUT:
            return "Q5_K"
        return new if new == "Q8_0" else "Q6_K"
    if f == "MXFP4":
        return "MXFP4" if len(t.shape) == 3 and t.shape[2] > 1 else "Q8_0"
    if category == "TOKEN_EMBD":
        if f in ("IQ2_XXS", "IQ2_XS", "IQ1_S", "IQ1_M"):
            return "Q2_K"
        if f in ("IQ2_S", "IQ2_M", "IQ3_XXS"):
            return "IQ3_S"
        return new
    if era == "2023" and t.routed_expert:
        return new  # per-expert tensor names (blk.N.ffn_down.E.weight) matched no rule before 2024
    attn_v_like = (
        category in ("ATTENTION_V", "ATTENTION_QKV", "ATTENTION_KV_B")
        if era == "current"
        else (category == "ATTENTION_V")
    )
    if f in _IQ_GROUP:
        if attn_v_like:
            state.i_attention_wv += 1
            if state.n_gqa >= 4 or state.n_expert >= 4:
                return "Q4_K"
            return "IQ3_S" if f in ("IQ2_S", "IQ2_M") else "Q2_K"
        if state.n_expert == 8 and category == "ATTENTION_K":
            return "Q4_K"
        if category == "FFN_DOWN":
            i = _layer_of(state, t, state.i_ffn_down)
            state.i_ffn_down += 1
            if i < state.n_layer // 8:
                return "IQ3_S" if f in ("IQ2_S", "IQ2_M") else "Q2_K"
            return new
        if category == "ATTENTION_OUTPUT":
            if state.n_expert == 8:
                return "Q5_K"
            if f in ("IQ1_S", "IQ1_M"):
                return "IQ2_XXS"
            if f in ("IQ2_S", "IQ2_M"):
                return "IQ3_S"
        return new
    if attn_v_like:
        return _attn_v_type(state, new)
    if category == "ATTENTION_K":
        if state.n_expert == 8:
            return "Q8_0"
        if f == "IQ3_XS":
            return "IQ3_XXS"
        if f == "IQ3_XXS":
            return "IQ2_S"
        return new
    if category == "ATTENTION_Q":
        if f == "IQ3_XS":
            return "IQ3_XXS"
        if f == "IQ3_XXS":
            return "IQ2_S"
        return new
    if category == "FFN_DOWN":
        return _ffn_down_type(state, t, new)
    if category == "ATTENTION_OUTPUT":
        if state.falcon:
            return "Q4_K" if f == "Q3_K_L" else new
        if state.n_expert == 8 and era != "2023":
            eight = (
                "Q2_K",
                "IQ3_XS",
                "IQ3_XXS",
                "Q3_K_S",
                "Q3_K_M",
                "IQ4_NL",
                "Q4_K_S",
                "Q4_K_M",
                "IQ3_S",
                "IQ3_M",
                "IQ4_XS",
            )
            return "Q5_K" if f in eight else new
        return {"Q2_K": "Q3_K", "IQ3_XXS": "IQ3_S", "Q3_K_M": "Q4_K", "Q3_K_L": "Q5_K", "IQ3_M": "Q4_K"}.get(f, new)
    if category == "ATTENTION_QKV":  # eras before the categorisation refactor: the dedicated fused-QKV rule
        if f in ("Q3_K_M", "Q3_K_L", "IQ3_M"):
            return "Q4_K"
        return {"Q4_K_M": "Q5_K", "Q5_K_M": "Q6_K"}.get(f, new)
    if category in ("FFN_GATE", "FFN_UP"):
        counter = state.i_ffn_gate if category == "FFN_GATE" else state.i_ffn_up
        i = _layer_of(state, t, counter)
        if category == "FFN_GATE":
            state.i_ffn_gate += 1
        else:
            state.i_ffn_up += 1
        if era == "2023" and f == "Q2_K":
            return "Q3_K"
        if f == "IQ3_XS" and state.n_layer // 8 <= i < 7 * state.n_layer // 8:
            return "IQ3_XXS"
    return new


def _fallback(t: Tensor, new: str) -> str:
    """``tensor_type_fallback``: a row length the block does not divide gets a compatible type."""
    r = recipes()
    ncols = t.shape[0]
    if ncols % r.ggml_types[new][0] == 0:
        return new
    replacement = r.fallback.get(new)
    if replacement is None or ncols % r.ggml_types[replacement][0] != 0:
        return "F16"
    return replacement


def _unquantized_type(t: Tensor) -> str | None:
    """What the converter stored: F32 for 1-D tensors, norms, routers and biases; None for the checkpoint type."""
    if len(t.shape) < 2 or not t.name.endswith(".weight") or "_norm.weight" in t.name or "ffn_gate_inp" in t.name:
        return "F32"
    return None


def _active_fraction(t: Tensor, tied: bool, k: int) -> float:
    if t.role == "token_embd":
        return 1.0 if tied else 0.0
    if t.routed_expert:
        return min(k, t.n_experts) / t.n_experts
    return 1.0


#: Categories whose llama.cpp rules count the tensors (and may read the count or the layer index):
#: their tensors run the rules one by one, in file order. The rules of every other category read
#: only the tensor's shape and the model, and touch no counter.
_COUNTED = frozenset({"FFN_DOWN", "FFN_GATE", "FFN_UP", "ATTENTION_V", "ATTENTION_QKV", "ATTENTION_KV_B"})


class _Kind(NamedTuple):
    """Tensors the rules cannot tell apart (same role, shape, expert flag, in a layer or not)."""

    tensor: Tensor  # the first of them, for the rules
    category: str
    quantizable: bool
    unquantized: str | None
    n_elements: int
    routed_expert: bool
    active_fraction: float
    counted: bool


class _Slot(NamedTuple):
    """One layer's tensors (or those of no layer), in file order: positions in the inventory and kinds."""

    positions: tuple[int, ...]
    kinds: tuple[int, ...]


@dataclass(frozen=True)
class _Layout:
    """The tensors a file of one architecture holds, with all that does not depend on the file type.

    Built once per architecture (and inventory choice, and GGUF or not: safetensors files lack the
    RoPE factor tensors the converter adds), so that each file type only runs the rules and the
    storage sums. The tensors are sorted into :class:`_Kind` (category, whether llama-quantize may
    touch them, the type they keep otherwise, element count, the share a decoded token reads) and
    into slots: the tensors of no layer, then each layer. ``counted`` lists, in file order, the
    positions of the tensors whose rules count them (see :data:`_COUNTED`).
    """

    tensors: tuple[Tensor, ...]
    kinds: tuple[_Kind, ...]
    kind_of: tuple[int, ...]
    outside: _Slot
    layers: tuple[_Slot, ...]
    counted: tuple[int, ...]
    tied: bool
    #: llama.cpp's ``n_attention_wv``: attn_v-like tensors (attn_kv_b counts since 2024)
    n_attention_wv: int
    n_attention_wv_2023: int
    params: int
    #: where token_embd and output sit among the tensors of no layer
    token_embd_at: int | None
    output_at: int | None


@lru_cache(maxsize=256)
def _layout(key: ArchitectureKey, fallback: bool, fused_qkv: bool | None, gguf: bool) -> _Layout:
    arch = key.arch
    tensors = tensor_inventory(arch, fallback=fallback, fused_qkv=fused_qkv)
    if not gguf:
        tensors = tuple(t for t in tensors if t.role not in GGUF_ONLY_ROLES)
    tied = not any(t.name == "output.weight" for t in tensors)
    k = experts_per_token(arch)
    kind_at: dict[tuple[str, bool, tuple[int, ...], bool], int] = {}
    kinds: list[_Kind] = []
    kind_of: list[int] = []
    at: dict[str, int] = {}
    slots: list[tuple[list[int], list[int]]] = [([], []) for _ in range(arch.num_hidden_layers + 1)]
    counted: list[int] = []
    for i, t in enumerate(tensors):
        kind_key = (t.role, t.layer is None, t.shape, t.routed_expert)
        kind = kind_at.get(kind_key)
        if kind is None:
            kind = kind_at[kind_key] = len(kinds)
            category = _category(t.name)
            quantizable = _allows_quantization(t)
            kinds.append(
                _Kind(
                    t,
                    category,
                    quantizable,
                    _unquantized_type(t),
                    t.n_elements,
                    t.routed_expert,
                    _active_fraction(t, tied, k),
                    quantizable and category in _COUNTED,
                )
            )
        kind_of.append(kind)
        positions, slot_kinds = slots[0 if t.layer is None else t.layer + 1]
        if t.layer is None and t.role in ("token_embd", "output"):
            at[t.role] = len(positions)
        positions.append(i)
        slot_kinds.append(kind)
        if kinds[kind].counted:
            counted.append(i)
    categories = [kinds[kind].category for kind in kind_of]
    outside, *layers = (_Slot(tuple(positions), tuple(slot_kinds)) for positions, slot_kinds in slots)
    return _Layout(
        tensors=tensors,
        kinds=tuple(kinds),
        kind_of=tuple(kind_of),
        outside=outside,
        layers=tuple(layers),
        counted=tuple(counted),
        tied=tied,
        n_attention_wv=sum(c in ("ATTENTION_V", "ATTENTION_QKV", "ATTENTION_KV_B") for c in categories),
        n_attention_wv_2023=sum(c in ("ATTENTION_V", "ATTENTION_QKV") for c in categories),
        params=sum(t.n_elements for t in tensors if t.role not in GGUF_ONLY_ROLES),
        token_embd_at=at.get("token_embd"),
        output_at=at.get("output"),
    )


class _Types(NamedTuple):
    """The ggml types of one file type: per kind, and per counted tensor (position -> type)."""

    kinds: tuple[str | None, ...]  # None: a counted kind, see ``counted``
    counted: dict[int, str]

    def of(self, layout: _Layout, position: int) -> str:
        kind = self.kinds[layout.kind_of[position]]
        return self.counted[position] if kind is None else kind


def _check_gguf_request(quant: str, era: str) -> None:
    r = recipes()
    if quant not in r.gguf_ftypes:
        raise ValueError(f"unknown GGUF file type {quant!r}; expected one of {', '.join(r.gguf_ftypes)}")
    if era not in ERAS:
        raise ValueError(f"unknown quantizer era {era!r}; expected one of {', '.join(ERAS)}")
    if era == "2023" and quant in _NEW_IN_2024:
        raise ValueError(f"{quant} did not exist before llama.cpp PR #4897 (Jan 2024); use era 'current' or '2024'")


def gguf_tensor_types(
    arch: ArchitectureConfig, quant: str, *, era: str = "current", imatrix: bool | None = None
) -> list[tuple[Tensor, str]]:
    """Each tensor with the ggml type llama-quantize gives it for file type ``quant``."""
    _check_gguf_request(quant, era)
    layout = _layout(architecture_key(arch), False, None, True)
    types = _gguf_types(layout, arch, quant, era, imatrix)
    return [(t, types.of(layout, i)) for i, t in enumerate(layout.tensors)]


def keeps_mxfp4_experts(arch: ArchitectureConfig) -> bool:
    """Whether GGUF files keep the routed experts in MXFP4 whatever their file type.

    gpt-oss (and any checkpoint whose ``quantization_config`` is ``mxfp4``) ships its experts in MXFP4;
    convert_hf_to_gguf.py writes them as MXFP4 and the published K-quant and F16 files keep them so
    ("All quants keep the feed forward networks at mxfp4", bartowski/openai_gpt-oss-20b-GGUF; unsloth's
    gpt-oss-120b F16 file is 60.87 GiB, Q4_K_M 58.46 GiB, against 59.02 GiB for MXFP4_MOE): only the
    attention, embedding and output tensors follow the file type's rules.
    """
    config = (arch.model_extra or {}).get("quantization_config")
    method = config.get("quant_method") if isinstance(config, dict) else None
    return arch.model_type in ("gpt_oss", "gpt-oss") or method == "mxfp4"


def _keep_mxfp4_experts(layout: _Layout, types: _Types) -> _Types:
    """``types`` with every routed-expert tensor (3-D, one slice per expert) in MXFP4."""

    def expert(kind: _Kind) -> bool:
        shape = kind.tensor.shape
        return kind.routed_expert and len(shape) == 3 and shape[0] % recipes().ggml_types["MXFP4"][0] == 0

    kinds = tuple("MXFP4" if expert(k) else t for k, t in zip(layout.kinds, types.kinds, strict=True))
    counted = {i: "MXFP4" if expert(layout.kinds[layout.kind_of[i]]) else t for i, t in types.counted.items()}
    return _Types(kinds, counted)


def _gguf_types(layout: _Layout, arch: ArchitectureConfig, quant: str, era: str, imatrix: bool | None) -> _Types:
    """The ggml types of ``layout``'s tensors for a checked file type and era (see :func:`_gguf_rule_types`);
    MXFP4-native experts stay MXFP4 (:func:`keeps_mxfp4_experts`)."""
    if keeps_mxfp4_experts(arch):
        return _keep_mxfp4_experts(layout, _gguf_rule_types(layout, arch, quant, era, imatrix))
    return _gguf_rule_types(layout, arch, quant, era, imatrix)


def _gguf_rule_types(layout: _Layout, arch: ArchitectureConfig, quant: str, era: str, imatrix: bool | None) -> _Types:
    """The ggml types llama-quantize's rules give ``layout``'s tensors for a checked file type and era.

    A kind outside :data:`_COUNTED` gets its type from its first tensor (its rules read no counter
    and no layer index); the counted tensors run the rules in file order, as llama-quantize does.
    """
    r = recipes()
    default = r.gguf_ftypes[quant]
    source_type = "BF16" if default == "BF16" else "F16"
    if default in ("F16", "BF16", "F32"):
        return _Types(tuple(default if k.quantizable else (k.unquantized or source_type) for k in layout.kinds), {})
    state = _QuantState(
        ftype=quant,
        era=era,
        n_layer=arch.num_hidden_layers,
        n_gqa=arch.num_attention_heads / arch.kv_heads,
        n_expert=max(1, n_experts(arch)),
        is_70b=is_70b_type(arch),
        falcon=family_of(arch.model_type) == "falcon",
        tied=layout.tied,
        imatrix=quant in r.imatrix_required if imatrix is None else imatrix,
        n_attention_wv=layout.n_attention_wv_2023 if era == "2023" else layout.n_attention_wv,
    )
    kinds = tuple(
        None
        if k.counted
        else _fallback(k.tensor, _rule_type(state, k.tensor, k.category, default))
        if k.quantizable
        else (k.unquantized or source_type)
        for k in layout.kinds
    )
    counted = {}
    for i in layout.counted:
        t = layout.tensors[i]
        counted[i] = _fallback(t, _rule_type(state, t, layout.kinds[layout.kind_of[i]].category, default))
    return _Types(kinds, counted)


# ----------------------------------------------------------------------------- GGUF metadata


def gguf_metadata_bytes(arch: ArchitectureConfig, n_tensors: int) -> int:
    """Non-tensor bytes of a GGUF: header and KV pairs (mostly the tokenizer) plus tensor infos.

    The tokenizer arrays dominate: SentencePiece vocabularies store text, score and type per token;
    BPE vocabularies store text and type per token plus ~one merge rule per token. Good to a few MB
    (see ``gguf_metadata.note`` in catalog/quant_recipes.yaml).
    """
    m = recipes().metadata
    vocab = arch.vocab_size
    spm = arch.model_type in m["spm_model_types"] or (
        arch.model_type in m["spm_if_small_vocab"] and vocab <= int(m["spm_max_vocab"])
    )
    per_token = int(m["token_bytes"]) + (int(m["score_bytes"]) if spm else int(m["merge_bytes"]))
    raw = int(m["fixed_bytes"]) + vocab * per_token + n_tensors * int(m["tensor_info_bytes"])
    align = int(m["alignment"])
    return -(-raw // align) * align


# ----------------------------------------------------------------------------- HF formats


def _hf_linear(t: Tensor) -> bool:
    """Matrices the HF quantization methods convert: block linears, not embeddings/head/router/norms."""
    return (
        t.is_weight_matrix
        and t.layer is not None
        and "_norm" not in t.role
        and not t.role.startswith("ffn_gate_inp")
        and t.role not in ("attn_sinks",)
    )


def _hf_tensor_bytes(t: Tensor, spec: Mapping[str, Any], arch: ArchitectureConfig) -> tuple[int, str]:
    kind = spec["kind"]
    if kind == "dense":
        width = int(spec["bytes_per_weight"])
        return t.n_elements * width, f"{8 * width}-bit"
    other = int(spec["other_bytes_per_weight"])
    if not _hf_linear(t):
        return t.n_elements * other, f"{8 * other}-bit"
    n_in = t.shape[0]
    n_out = t.n_elements // n_in
    n = t.n_elements
    if kind == "gptq":
        bits, group = int(spec["bits"]), int(spec["group_size"])
        groups = math.ceil(n_in / group)
        size = n * bits // 8 + groups * n_out * bits // 8 + groups * n_out * 2
        n_matrices = t.n_experts if len(t.shape) == 3 else 1
        if spec.get("g_idx"):
            size += n_in * 4 * n_matrices
        return size, f"{bits}-bit g{group}"
    if kind == "fp8":
        qc = _extra_mapping(arch, "quantization_config")
        block = qc.get("weight_block_size") if qc else None
        if isinstance(block, list) and len(block) == 2:
            scales = math.ceil(n_in / int(block[1])) * math.ceil(n_out / int(block[0]))
            return n + 4 * scales, "FP8 e4m3 (block scales)"
        return n + 4 * n_out, "FP8 e4m3 (row scales)"
    if kind == "bnb_int8":
        return n + 4 * n_out, "int8 (LLM.int8)"
    if kind == "bnb_nf4":
        blocks = math.ceil(n / int(spec["blocksize"]))
        return math.ceil(n / 2) + blocks + 4 * math.ceil(blocks / int(spec["nested_blocksize"])), "NF4 (double quant)"
    raise ValueError(f"unknown HF format kind {kind!r} in quant_recipes.yaml")


def _extra_mapping(arch: ArchitectureConfig, key: str) -> Mapping[str, Any] | None:
    value = (arch.model_extra or {}).get(key)
    return value if isinstance(value, Mapping) else None


# ----------------------------------------------------------------------------- the estimator


def _summarise(counts: Counter[str]) -> str:
    return ", ".join(f"{t}x{c}" if c > 1 else t for t, c in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def estimate_weights(
    arch: ArchitectureConfig,
    quant: str,
    *,
    era: str = "current",
    imatrix: bool | None = None,
    fallback: bool = False,
) -> WeightsBreakdown:
    """Weights of ``arch`` in format ``quant`` (a catalog/quants.yaml id), per tensor.

    ``era`` picks the llama.cpp rule generation for GGUF types: ``current`` (master), ``2024``
    (Jan 2024 until the categorisation refactor: bartowski/mradermacher-era files), ``2023``
    (TheBloke-era files: old Q2_K mix, un-bumped MoE experts). ``imatrix`` defaults to True only for
    the file types that require an importance matrix. ``fallback`` allows the generic llama-like
    layout for an unknown ``model_type`` (``method`` then says so); without it an unknown type raises.
    Raises ``ValueError`` for an unknown quant id or era.

    Memoised per architecture and arguments (every variant of a model, and every model sharing an
    architecture, asks again): the result is shared, so treat it as read-only.
    """
    return _estimate(architecture_key(arch), quant, era, imatrix, fallback)


@lru_cache(maxsize=1024)
def _estimate(key: ArchitectureKey, quant: str, era: str, imatrix: bool | None, fallback: bool) -> WeightsBreakdown:
    arch = key.arch
    r = recipes()
    assumptions: list[str] = []
    gguf = quant in r.gguf_ftypes
    fused_phi = era == "2023" and gguf and family_of(arch.model_type) == "phi2"
    layout = _layout(key, fallback, True if fused_phi else None, gguf)
    if fused_phi:
        assumptions.append("Phi-2 files of 2023 were converted from the original fused-Wqkv checkpoint (attn_qkv)")
    inventory = inventory_method(arch)
    vision_params = vision_tower_params(arch)
    n_tensors = len(layout.tensors)
    if gguf:
        fmt: Literal["gguf", "hf"] = "gguf"
        _check_gguf_request(quant, era)
        types = _gguf_types(layout, arch, quant, era, imatrix)
        kinds: list[tuple[str, int] | None] = [
            None if storage is None else (storage, ggml_type_bytes(storage, k.n_elements))
            for storage, k in zip(types.kinds, layout.kinds, strict=True)
        ]
        counted = {
            i: (storage, ggml_type_bytes(storage, layout.tensors[i].n_elements)) for i, storage in types.counted.items()
        }
        align = int(r.metadata["alignment"])
        vision_bytes = 0
        imatrix_used = quant in r.imatrix_required if imatrix is None else imatrix
        method = f"per-tensor, llama.cpp rules ({era}); {inventory}"
        assumptions.append(
            f"llama.cpp quantization rules of era {era!r}" + (", with an importance matrix" if imatrix_used else "")
        )
        if vision_params:
            assumptions.append("the vision tower is a separate mmproj GGUF and is not counted here")
    elif quant in r.hf_formats:
        fmt = "hf"
        spec = r.hf_formats[quant]
        kinds = []
        for k in layout.kinds:
            size, storage = _hf_tensor_bytes(k.tensor, spec, arch)
            kinds.append((storage, size))
        counted = {}
        align = 1
        other = int(spec.get("other_bytes_per_weight", spec.get("bytes_per_weight", 2)))
        vision_bytes = vision_params * other
        method = f"per-tensor, {quant} storage formula (hardware_fit.md section 2.7); {inventory}"
        if vision_params:
            assumptions.append("vision tower and projector included at 16-bit (the released checkpoint holds them)")
        if spec["kind"] != "dense":
            assumptions.append("embeddings, lm_head, norms, routers and biases stay 16-bit")
    else:
        raise ValueError(f"unknown quant {quant!r}; expected one of {', '.join(supported_quants())}")

    def stored(slot: _Slot) -> tuple[StoredTensor, ...]:
        out = []
        for i, kind in zip(slot.positions, slot.kinds, strict=True):
            storage, size = kinds[kind] or counted[i]
            k = layout.kinds[kind]
            out.append(StoredTensor(storage, k.n_elements, size, k.routed_expert, k.active_fraction))
        return tuple(out)

    outside = stored(layout.outside)
    padding = sum(-(-s.bytes // align) * align - s.bytes for s in outside)
    content_at: dict[tuple[tuple[int, ...], tuple[str, ...]], int] = {}
    contents: list[tuple[StoredTensor, ...]] = []
    content_of: list[int] = []
    layer_bytes: list[int] = []
    expert_bytes: list[int] = []
    sums: list[tuple[int, int, int]] = []  # per content: bytes, routed-expert bytes, alignment padding
    for slot in layout.layers:
        content_key = (slot.kinds, tuple(counted[i][0] for i in slot.positions if kinds[layout.kind_of[i]] is None))
        c = content_at.get(content_key)
        if c is None:
            c = content_at[content_key] = len(contents)
            content = stored(slot)
            contents.append(content)
            sums.append(
                (
                    sum(s.bytes for s in content),
                    sum(s.bytes for s in content if s.routed_expert),
                    sum(-(-s.bytes // align) * align - s.bytes for s in content),
                )
            )
        content_of.append(c)
        layer_bytes.append(sums[c][0])
        expert_bytes.append(sums[c][1])
        padding += sums[c][2]
    outside_bytes = [s.bytes for s in outside]
    token_embd = 0 if layout.token_embd_at is None else outside_bytes[layout.token_embd_at]
    output = 0 if layout.output_at is None else outside_bytes[layout.output_at]
    other_bytes = sum(outside_bytes) - token_embd - output
    tensor_bytes = sum(outside_bytes) + sum(layer_bytes)
    # safetensors: a JSON header of ~160 bytes per tensor entry
    metadata = gguf_metadata_bytes(arch, n_tensors) + padding if gguf else 8 + 160 * n_tensors
    total = tensor_bytes + metadata + vision_bytes
    if layout.tied:
        output = token_embd
        assumptions.append("tied embeddings: the file stores token_embd once; the output layer reads the same matrix")
    return WeightsBreakdown(
        quant=quant,
        format=fmt,
        total_bytes=total,
        tensor_bytes=tensor_bytes,
        metadata_bytes=metadata,
        token_embd_bytes=token_embd,
        output_bytes=output,
        output_tied=layout.tied,
        layer_bytes=layer_bytes,
        expert_bytes_per_layer=expert_bytes,
        other_bytes=other_bytes,
        vision_bytes=vision_bytes,
        params=layout.params,
        outside_tensors=outside,
        layer_contents=tuple(contents),
        layer_content_of=tuple(content_of),
        method=method,
        era=era if fmt == "gguf" else "n/a",
        assumptions=tuple(assumptions),
        inventory=layout.tensors,
    )

"""Typed records for the built-in catalog (catalog/*.yaml) and user overlays.

Every record carries ``source`` (a URL) and ``as_of`` (a date) because every number the tool
prints must be traceable to where it came from. Field names in :class:`ArchitectureConfig`
follow Hugging Face ``config.json`` so that a downloaded config and a catalog record are read
by the same estimators.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    NonNegativeFloat,
    NonNegativeInt,
    PositiveFloat,
    PositiveInt,
    model_validator,
)

from advisor.catalog.kinds import CatalogKind

LicenseTerm = Literal["yes", "no", "conditional"]


class _Record(BaseModel):
    """Common base: strict keys, a stable id, provenance."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    id: str = Field(min_length=1)
    source: str = Field(pattern=r"^https?://", description="URL of the public page the facts come from")
    as_of: dt.date = Field(description="date the facts were read from the source")


class BaseModelLink(BaseModel):
    """One base model up a ``base_model`` chain, as its own Hub card declares its licence.

    ``derived`` is the model it is the base of (a merge has several bases, a chain one per hop);
    ``relation`` is that model's ``base_model_relation`` (finetune, adapter, quantized, merge).
    ``found`` is false when the Hub has no such repo (its licence cannot be read).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    model: str = Field(min_length=1)
    derived: str = Field(min_length=1)
    relation: str | None = None
    license: str | None = None
    license_name: str | None = None
    license_link: str | None = None
    found: bool = True


#: Upper bounds on an architecture's sizes, whatever its source (catalog, config.json on disk or from
#: the Hub, GGUF header): untrusted sizes drive per-layer loops and lists, so an absurd one must be
#: refused before it hangs the CLI or exhausts memory. Each is far above any released model (largest
#: known, 2025: 126 layers in Llama-3.1-405B, hidden 16,384 and FFN 53,248 there, 128 heads and MLA
#: head dims of 192 in DeepSeek-V3, 512 experts in Qwen3-Next, vocabularies of 256k-262k in Gemma 3,
#: contexts of 10M in Llama 4 Scout) and small enough that the loops they bound stay instant.
#: docs/hardware-fit.md, "Sizes the tool accepts", gives the reasoning.
ARCHITECTURE_LIMITS: dict[str, int] = {
    "num_hidden_layers": 10_000,
    "hidden_size": 1 << 20,
    "intermediate_size": 1 << 22,
    "num_attention_heads": 1 << 16,
    "num_key_value_heads": 1 << 16,
    "head_dim": 1 << 16,
    "vocab_size": 1 << 24,
    "max_position_embeddings": 1 << 32,
    "num_local_experts": 1 << 16,
    "num_experts_per_tok": 1 << 16,
    "sliding_window": 1 << 32,
}


def _size(name: str) -> Any:
    """A positive integer field bounded by :data:`ARCHITECTURE_LIMITS`."""
    return Field(gt=0, le=ARCHITECTURE_LIMITS[name])


class ArchitectureConfig(BaseModel):
    """The config.json fields the memory and speed estimators need.

    Extra keys from a real config.json are kept (``extra="allow"``) so that architecture-specific
    estimators (MLA, sliding windows, fused QKV) can read them without a schema change. Sizes are
    bounded (:data:`ARCHITECTURE_LIMITS`) and checked against each other.
    """

    model_config = ConfigDict(extra="allow", frozen=True, allow_inf_nan=False)

    model_type: str
    num_hidden_layers: Annotated[int, _size("num_hidden_layers")]
    hidden_size: Annotated[int, _size("hidden_size")]
    intermediate_size: Annotated[int, _size("intermediate_size")] | None = None
    num_attention_heads: Annotated[int, _size("num_attention_heads")]
    num_key_value_heads: Annotated[int, _size("num_key_value_heads")] | None = None
    head_dim: Annotated[int, _size("head_dim")] | None = None
    vocab_size: Annotated[int, _size("vocab_size")]
    max_position_embeddings: Annotated[int, _size("max_position_embeddings")] | None = None
    tie_word_embeddings: bool = False
    num_local_experts: Annotated[int, _size("num_local_experts")] | None = None
    num_experts_per_tok: Annotated[int, _size("num_experts_per_tok")] | None = None
    sliding_window: Annotated[int, _size("sliding_window")] | None = None

    @model_validator(mode="after")
    def _consistent(self) -> ArchitectureConfig:
        experts, used = self.num_local_experts, self.num_experts_per_tok
        if experts is not None and used is not None and used > experts:
            raise ValueError(f"num_experts_per_tok ({used}) is more than num_local_experts ({experts})")
        return self

    @property
    def kv_heads(self) -> int:
        """KV heads; configs without the key use multi-head attention (one KV head per head)."""
        return self.num_key_value_heads or self.num_attention_heads

    @property
    def attention_head_dim(self) -> int:
        """Per-head dimension; configs without ``head_dim`` use hidden_size / heads."""
        return self.head_dim or self.hidden_size // self.num_attention_heads


class BenchmarkScore(BaseModel):
    """One published score: percent for accuracy benchmarks, Elo for arenas."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    value: float
    scale: Literal["percent", "elo"] = "percent"
    source: str = Field(pattern=r"^https?://")
    as_of: dt.date | None = None
    note: str | None = None


class QuantizedRelease(BaseModel):
    """A quantized checkpoint the publisher itself ships (not a community conversion)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    format: str = Field(min_length=1, description="FP8, AWQ, GPTQ-Int4, GPTQ-Int8, MXFP4, INT4, GGUF ...")
    repo: str = Field(pattern=r"^[\w.-]+/[\w.-]+$", description="Hugging Face repo id of the quantized release")
    source: str | None = Field(
        default=None, pattern=r"^https?://", description="where the repo was seen, if not its own page"
    )


class ModelRecord(_Record):
    """An open-weights model; ``id`` is its Hugging Face repo id."""

    name: str
    family: str
    architecture: ArchitectureConfig
    params: PositiveInt = Field(description="total parameters, official count")
    active_params: PositiveInt | None = Field(default=None, description="parameters used per token (MoE)")
    license: str = Field(description="Hugging Face license id, or a catalog/licenses.yaml id")
    context_length: PositiveInt
    languages: list[str] = Field(default_factory=list, description="ISO 639-1 codes from the model card")
    pretraining_tokens: NonNegativeFloat | None = None
    benchmarks: dict[str, BenchmarkScore] = Field(default_factory=dict)
    gated: bool = False
    base_model: str | None = None
    # -- kept current by `advisor catalog update` (docs/catalog.md) --
    base_model_relation: str | None = Field(
        default=None, description="the card's base_model_relation: finetune, adapter, quantized or merge"
    )
    base_lineage: list[BaseModelLink] = Field(
        default_factory=list,
        description="base models read from their Hub cards up the base_model chain (nearest first), for bases "
        "the catalog does not hold",
    )
    gguf_repos: list[str] = Field(
        default_factory=list, description="Hub repos that publish GGUF files of this model (official first)"
    )
    gguf_file_bytes: dict[str, int] = Field(
        default_factory=dict, description="published GGUF file size per quant type (bytes, split files summed)"
    )
    released: dt.date | None = None
    use_cases: list[str] = Field(default_factory=list)
    notes: str | None = None
    license_name: str | None = Field(
        default=None, description="the card's license_name (with license: other/unknown): names a custom licence"
    )
    license_link: str | None = Field(
        default=None, description="the card's license_link: a URL, or a file in the repository such as LICENSE"
    )
    base_model_license: str | None = Field(
        default=None,
        description="licence id of base_model when the base is not in the catalog, as its card declares it",
    )
    modalities: list[str] | None = Field(
        default=None, description="input modalities (text, image, audio); some licence clauses cover multimodal models"
    )
    quantized_releases: list[QuantizedRelease] = Field(
        default_factory=list, description="official quantized checkpoints published by the model's publisher"
    )


class LongContextTier(BaseModel):
    """Prices that apply once a request's input exceeds ``above_input_tokens``."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    above_input_tokens: PositiveInt
    input_usd_per_1m: NonNegativeFloat
    output_usd_per_1m: NonNegativeFloat


class LocalPrice(BaseModel):
    """A list price published in another currency (e.g. roubles per 1,000 tokens), kept beside the USD
    figures it was converted to, with the rate used: reports state both."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    currency: str = Field(pattern=r"^[A-Z]{3}$")
    input_per_1k: NonNegativeFloat
    output_per_1k: NonNegativeFloat
    per_usd: PositiveFloat = Field(description="units of the currency per US dollar used for the USD prices")
    rate_source: str
    rate_as_of: dt.date
    note: str | None = None


class ApiRecord(_Record):
    """A hosted chat API; ``id`` is the LiteLLM price-table key."""

    name: str
    provider: str
    input_usd_per_1m: NonNegativeFloat
    output_usd_per_1m: NonNegativeFloat
    cached_input_usd_per_1m: NonNegativeFloat | None = None
    batch_input_usd_per_1m: NonNegativeFloat | None = None
    batch_output_usd_per_1m: NonNegativeFloat | None = None
    context_window: PositiveInt
    max_output_tokens: PositiveInt | None = None
    long_context_tiers: list[LongContextTier] = Field(default_factory=list)
    open_weights_model: str | None = Field(default=None, description="repo id when the API hosts an open model")
    regions: list[str] = Field(default_factory=list, description="where the provider processes data, if published")
    regions_source: str | None = Field(default=None, description="the data-processing page regions were read from")
    local_price: LocalPrice | None = Field(default=None, description="the published price in its own currency")
    languages: list[str] = Field(default_factory=list)
    benchmarks: dict[str, BenchmarkScore] = Field(default_factory=dict)
    requests_per_minute: PositiveInt | None = Field(default=None, description="published default rate limit")
    tokens_per_minute: PositiveInt | None = None
    notes: str | None = None


class RentalPrice(BaseModel):
    """Typical cloud rental price per device-hour, dated, because these move monthly."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    on_demand_usd_per_hour: NonNegativeFloat
    spot_usd_per_hour: NonNegativeFloat | None = None
    provider: str
    source: str = Field(pattern=r"^https?://")
    as_of: dt.date


class HardwareRecord(_Record):
    """An accelerator or a host memory system that can hold model weights."""

    name: str
    kind: Literal["gpu", "apple", "cpu"]
    vendor: str
    backend: Literal["cuda", "rocm", "metal", "cpu", "vulkan"]
    memory_gib: NonNegativeFloat = Field(description="device memory (unified memory for Apple, typical RAM for cpu)")
    bandwidth_gb_s: NonNegativeFloat = Field(description="peak memory bandwidth, GB/s (1e9 bytes)")
    fp16_tflops: NonNegativeFloat | None = Field(default=None, description="dense FP16 tensor TFLOPS, no sparsity")
    bf16_tflops: NonNegativeFloat | None = None
    fp8_tflops: NonNegativeFloat | None = None
    tdp_w: NonNegativeFloat | None = None
    price_usd: NonNegativeFloat | None = Field(default=None, description="typical purchase price, for capex")
    rental: RentalPrice | None = None
    aliases: list[str] = Field(default_factory=list)
    notes: str | None = None


ClauseTopic = Literal[
    "commercial_use",
    "user_cap",
    "usage_cap",
    "hosting",
    "regional",
    "attribution",
    "naming",
    "output_training",
    "flow_down",
]


class LicenseClause(BaseModel):
    """One clause a licence finding rests on: where it is in the text, and its words or a paraphrase.

    Findings print ``text`` and link ``link`` (or the licence's own link), so a reader can check
    the rule against the licence instead of trusting the tool.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    section: str | None = Field(default=None, description="where the clause is, e.g. §2 or Attachment A (h)")
    text: str = Field(min_length=1)
    quote: bool = Field(default=True, description="true when text is the licence's exact words, false for a paraphrase")
    secondary: bool = Field(default=False, description="true when the term was read from a secondary source")
    link: str | None = Field(
        default=None, pattern=r"^https?://", description="URL of the clause, if not the licence link"
    )


class UseRestriction(BaseModel):
    """A use-based restriction that a stated use case can run into (e.g. automated decisions for classification)."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    use_cases: list[str] = Field(min_length=1, description="answers-file use_case values the clause bears on")
    severity: Literal["info", "warn"] = "warn"
    why: str = Field(min_length=1, description="how the use case meets the clause, in plain words")
    clause: LicenseClause


class LicenseRecord(_Record):
    """What a model licence allows, in the terms the licence checks need."""

    name: str
    commercial_use: LicenseTerm
    monthly_active_user_cap: NonNegativeInt | None = None
    saas_hosting: LicenseTerm = "yes"
    attribution: str | None = Field(default=None, description="the notice or naming duty, in the licence's words")
    derivative_naming: str | None = None
    output_training_restriction: str | None = None
    acceptable_use_policy: str | None = None
    regional_exclusions: list[str] = Field(default_factory=list)
    osi_approved: bool = False
    link: str = Field(pattern=r"^https?://")
    summary: str
    aliases: list[str] = Field(default_factory=list)
    permitted_use: Literal["any", "non-commercial", "research", "non-production"] = Field(
        default="any", description="the purposes the licence allows at all, commercial or not"
    )
    monthly_output_token_cap: NonNegativeInt | None = Field(
        default=None, description="output tokens per month above which the licensor must be contacted"
    )
    flow_down: bool = Field(
        default=False,
        description="the use restrictions must be put in your agreements with users and recipients (hosting included)",
    )
    regional_exclusion_scope: Literal["all_models", "multimodal_models"] | None = Field(
        default=None, description="which models of the licence the regional exclusions cover"
    )
    required_notices: list[str] = Field(
        default_factory=list, description="the exact words to display or ship (notices, 'Built with ...')"
    )
    clauses: dict[ClauseTopic, LicenseClause] = Field(
        default_factory=dict, description="the clauses each licence check quotes, by topic"
    )
    use_restrictions: list[UseRestriction] = Field(default_factory=list)


class QuantRecord(_Record):
    """A weight format: a GGUF file type (a mix of ggml block types) or a Hugging Face format."""

    name: str
    format: Literal["gguf", "hf"]
    bits_per_weight: NonNegativeFloat = Field(
        description="effective bits per weight of a whole file, for the flat estimate; per-tensor rules refine it"
    )
    base_type: str | None = Field(default=None, description="ggml type of most tensors (GGUF)")
    block_size: PositiveInt | None = None
    bytes_per_block: PositiveInt | None = None
    perplexity_delta: float | None = Field(default=None, description="published ppl increase over F16 (Llama-3-8B)")
    notes: str | None = None


#: The record schema of each kind (advisor.catalog.kinds spells the kinds).
RECORD_TYPES: dict[CatalogKind, type[_Record]] = {
    "models": ModelRecord,
    "apis": ApiRecord,
    "hardware": HardwareRecord,
    "licenses": LicenseRecord,
    "quants": QuantRecord,
}

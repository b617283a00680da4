"""The 2025 open-weights leaders in the built-in catalog: present, sourced, and true to their published size.

A catalog record's architecture is what the memory, speed and cost estimates are computed from, so a
wrong layer count or expert width silently mis-sizes every plan that uses the model. The check an ML
lead would make is the one here: count the parameters the architecture implies and compare them with
the total (and active) size the publisher states on the model card.
"""

from __future__ import annotations

import pytest

from advisor.catalog.loader import Catalog, builtin_catalog_path, read_catalog_file
from advisor.catalog.records import ArchitectureConfig, ModelRecord
from advisor.engine.session import Session
from advisor.errors import InputError
from advisor.estimate.quality import quality_policy
from advisor.estimate.tensors import architecture_from_config, count_parameters, inventory_method, tensor_inventory

#: Published (total, active) parameters per model, as the publisher states them (model card / announcement);
#: the tolerance is 2 % unless the publisher rounds coarser (Kimi K2 states "1T", one significant figure).
PUBLISHED: dict[str, tuple[float, float]] = {
    "Qwen/Qwen3-0.6B": (0.6e9, 0.6e9),
    "Qwen/Qwen3-1.7B": (1.7e9, 1.7e9),
    "Qwen/Qwen3-4B": (4.0e9, 4.0e9),
    "Qwen/Qwen3-4B-Instruct-2507": (4.0e9, 4.0e9),
    "Qwen/Qwen3-14B": (14.8e9, 14.8e9),
    "Qwen/Qwen3-32B": (32.8e9, 32.8e9),
    "Qwen/Qwen3-235B-A22B-Instruct-2507": (235e9, 22e9),
    "Qwen/Qwen3-235B-A22B-Thinking-2507": (235e9, 22e9),
    "Qwen/Qwen3-30B-A3B-Instruct-2507": (30.5e9, 3.3e9),
    "Qwen/Qwen3-Coder-30B-A3B-Instruct": (30.5e9, 3.3e9),
    "Qwen/Qwen3-Coder-480B-A35B-Instruct": (480e9, 35e9),
    "deepseek-ai/DeepSeek-V3.1": (671e9, 37e9),
    "deepseek-ai/DeepSeek-R1-0528": (671e9, 37e9),
    "deepseek-ai/DeepSeek-V3.2-Exp": (671e9, 37e9),
    "moonshotai/Kimi-K2-Instruct": (1.0e12, 32e9),
    "moonshotai/Kimi-K2-Instruct-0905": (1.0e12, 32e9),
    "moonshotai/Kimi-K2-Thinking": (1.0e12, 32e9),
    "zai-org/GLM-4.5": (355e9, 32e9),
    "zai-org/GLM-4.5-Air": (106e9, 12e9),
    "zai-org/GLM-4.6": (355e9, 32e9),
    "meta-llama/Llama-4-Scout-17B-16E-Instruct": (109e9, 17e9),
    "meta-llama/Llama-4-Maverick-17B-128E-Instruct": (400e9, 17e9),
    "mistralai/Mistral-Small-3.2-24B-Instruct-2506": (24e9, 24e9),
    "mistralai/Devstral-Small-2507": (23.6e9, 23.6e9),
    "mistralai/Magistral-Small-2506": (23.6e9, 23.6e9),
    "microsoft/Phi-4-reasoning": (14.7e9, 14.7e9),
    "microsoft/Phi-4-reasoning-plus": (14.7e9, 14.7e9),
    "microsoft/Phi-4-mini-instruct": (3.8e9, 3.8e9),
    "microsoft/Phi-4-mini-reasoning": (3.8e9, 3.8e9),
    "HuggingFaceTB/SmolLM3-3B": (3.08e9, 3.08e9),
    "ibm-granite/granite-3.3-8b-instruct": (8.2e9, 8.2e9),
}
COARSE = {"moonshotai/Kimi-K2-Instruct", "moonshotai/Kimi-K2-Instruct-0905", "moonshotai/Kimi-K2-Thinking"}

MODELS = {
    r.id: r for r in read_catalog_file(builtin_catalog_path("models"), "models")["models"] if isinstance(r, ModelRecord)
}


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    from advisor.engine.host import PluginHost

    return Session(host=PluginHost().load(entrypoints=False)).catalog


def test_the_leaders_are_in_the_catalog() -> None:
    """At least 25 current open-weights models, across the big MoEs, mid-size and small ones."""
    assert not [m for m in PUBLISHED if m not in MODELS]
    assert len(PUBLISHED) >= 25
    sizes = [MODELS[m].params for m in PUBLISHED]
    assert sum(p > 200e9 for p in sizes) >= 8 and sum(p < 5e9 for p in sizes) >= 5


@pytest.mark.parametrize("model_id", sorted(PUBLISHED))
def test_architecture_implies_the_published_size(model_id: str) -> None:
    """The tensor inventory of the record's architecture counts the publisher's total within 2 % (3 % for a "1T").

    Vision towers and multi-token-prediction layers are not counted (Llama 4, Mistral Small 3.2 land up to
    1.8 % low for that reason). Active parameters are compared under the three conventions publishers use:
    everything a token touches, without the input embedding table (Kimi), and without embedding and output
    head ("non-embedding", GLM).
    """
    record = MODELS[model_id]
    counted = count_parameters(record.architecture)
    total, active = PUBLISHED[model_id]
    tolerance = 0.03 if model_id in COARSE else 0.02
    assert abs(counted.total - total) / total < tolerance, (model_id, counted.total, total)
    head = 0 if record.architecture.tie_word_embeddings else counted.embedding
    conventions = (counted.active, counted.active - counted.embedding, counted.active - counted.embedding - head)
    nearest = min(abs(a - active) for a in conventions)
    assert nearest / active < 0.03, (model_id, counted.active, active)
    # the record's own numbers are the counted ones (the notes give the publisher's rounded figure)
    assert (record.params, record.active_params) == (counted.total, counted.active)


@pytest.mark.parametrize("model_id", sorted(PUBLISHED))
def test_architecture_has_its_own_tensor_layout(model_id: str) -> None:
    """No new record falls back to the generic llama-like layout, whose sizes would be wrong for MoE/MLA models."""
    assert "fallback" not in inventory_method(MODELS[model_id].architecture)


def test_every_record_and_score_is_sourced_and_known_to_the_quality_model() -> None:
    known = set(quality_policy().normalisation)
    for model_id in PUBLISHED:
        record = MODELS[model_id]
        assert record.source.startswith("https://huggingface.co/") and record.as_of.year == 2026, model_id
        assert record.languages and record.use_cases and record.notes, model_id
        for name, score in record.benchmarks.items():
            assert name in known, (model_id, name)
            assert score.source.startswith("https://") and score.as_of is not None and score.note, (model_id, name)
            assert 0 < score.value <= 100, (model_id, name)


def test_licences_resolve_with_their_lineage(catalog: Catalog) -> None:
    """Every new record's licence is a catalog licence; Kimi K2's modified MIT carries its display duty."""
    for model_id in PUBLISHED:
        assert catalog.find_license(MODELS[model_id].license) is not None, model_id
    kimi = catalog.find_license("modified-mit")
    assert kimi is not None and kimi.commercial_use == "yes" and kimi.required_notices == ["Kimi K2"]
    duty = kimi.clauses["attribution"].text
    assert "100 million monthly active users" in duty and "20 million US dollars" in duty
    scout = MODELS["meta-llama/Llama-4-Scout-17B-16E-Instruct"]
    assert scout.license == "llama4" and scout.gated and scout.modalities == ["text", "image"]
    assert MODELS["microsoft/Phi-4-reasoning"].base_model == "microsoft/phi-4" in MODELS


def test_quantized_releases_are_publisher_repos() -> None:
    """Official quantized checkpoints are listed under the publisher's own organisation."""
    listed = {m: r.quantized_releases for m, r in MODELS.items() if r.quantized_releases}
    assert len(listed) >= 10
    for model_id, releases in listed.items():
        org = model_id.split("/")[0]
        for release in releases:
            assert release.repo.split("/")[0] == org and release.repo != model_id, (model_id, release.repo)
    assert {r.format for rs in listed.values() for r in rs} >= {"FP8", "AWQ", "GGUF"}


def test_bad_quantized_release_names_the_field(write) -> None:
    path = write(
        "m.yaml",
        """models:
  - id: acme/model
    name: M
    family: m
    source: https://example.com
    as_of: 2026-01-01
    license: mit
    params: 1000
    context_length: 1024
    architecture: {model_type: llama, num_hidden_layers: 1, hidden_size: 8, num_attention_heads: 1, vocab_size: 10}
    quantized_releases: [{format: FP8, repo: "not a repo id"}]
""",
    )
    with pytest.raises(InputError) as info:
        read_catalog_file(path)
    assert "models[0] (acme/model): quantized_releases.0.repo" in str(info.value)


def test_llama4_maverick_alternates_dense_and_moe_layers() -> None:
    """interleave_moe_layer_step 2: odd layers are MoE (128 experts + shared expert), even layers dense (16384)."""
    tensors = tensor_inventory(MODELS["meta-llama/Llama-4-Maverick-17B-128E-Instruct"].architecture)
    moe_layers = {t.layer for t in tensors if t.routed_expert}
    assert moe_layers == set(range(1, 48, 2))
    assert {t.layer for t in tensors if t.role == "ffn_up_shexp"} == moe_layers
    dense_up = [t for t in tensors if t.layer == 0 and t.role == "ffn_up"]
    assert dense_up and dense_up[0].shape == (5120, 16384)


def test_glm_moe_has_dense_lead_layers_shared_expert_and_qkv_bias() -> None:
    arch = MODELS["zai-org/GLM-4.5"].architecture
    tensors = tensor_inventory(arch)
    assert {t.layer for t in tensors if t.routed_expert} == set(range(3, 92))
    assert any(t.role == "attn_q.bias" for t in tensors) and any(t.role == "attn_q_norm" for t in tensors)
    air = tensor_inventory(MODELS["zai-org/GLM-4.5-Air"].architecture)
    assert not any(t.role == "attn_q_norm" for t in air)  # use_qk_norm false


def test_minimax_m2_config_counts_its_published_size() -> None:
    """MiniMax-M2-series config.json (as published for MiniMax-M2.7, same architecture as M2): 229B on its Hub page."""
    raw = {
        "architectures": ["MiniMaxM2ForCausalLM"],
        "model_type": "minimax_m2",
        "head_dim": 128,
        "hidden_size": 3072,
        "intermediate_size": 1536,
        "max_position_embeddings": 204800,
        "num_attention_heads": 48,
        "num_experts_per_tok": 8,
        "num_hidden_layers": 62,
        "num_key_value_heads": 8,
        "num_local_experts": 256,
        "qk_norm_type": "per_layer",
        "use_qk_norm": True,
        "use_routing_bias": True,
        "scoring_func": "sigmoid",
        "tie_word_embeddings": False,
        "vocab_size": 200064,
    }
    arch = architecture_from_config(raw)
    counted = count_parameters(arch)
    assert abs(counted.total - 229e9) / 229e9 < 0.02
    non_embedding_active = counted.active - 2 * counted.embedding  # MiniMax quotes "10B active" without them
    assert abs(non_embedding_active - 10e9) / 10e9 < 0.05


def test_kimi_k2_is_counted_as_mla() -> None:
    """kimi_k2 uses DeepSeek-V3's MLA layout: a latent KV projection, no per-head K/V matrices."""
    arch: ArchitectureConfig = MODELS["moonshotai/Kimi-K2-Instruct"].architecture
    roles = {t.role for t in tensor_inventory(arch)}
    assert {"attn_kv_a_mqa", "attn_k_b", "attn_v_b"} <= roles and "attn_k" not in roles

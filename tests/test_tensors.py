"""Tensor inventories and parameter counts, against the catalog's official counts and llama.cpp's layouts."""

from __future__ import annotations

import pytest

from advisor.catalog.loader import builtin_catalog_path, read_catalog_file
from advisor.catalog.records import ArchitectureConfig, ModelRecord
from advisor.estimate.tensors import (
    SUPPORTED_MODEL_TYPES,
    UnknownArchitectureError,
    architecture_from_config,
    count_parameters,
    family_of,
    inventory_method,
    is_70b_type,
    tensor_inventory,
    vision_tower_params,
)


def _catalog() -> dict[str, ModelRecord]:
    records = read_catalog_file(builtin_catalog_path("models"), "models")["models"]
    return {r.id: r for r in records if isinstance(r, ModelRecord)}


CATALOG = _catalog()


def _arch(model_id: str) -> ArchitectureConfig:
    return CATALOG[model_id].architecture


def _by_name(arch: ArchitectureConfig) -> dict[str, tuple[int, ...]]:
    return {t.name: t.shape for t in tensor_inventory(arch)}


def test_every_catalog_model_type_has_a_layout() -> None:
    missing = {m.architecture.model_type for m in CATALOG.values()} - set(SUPPORTED_MODEL_TYPES)
    assert not missing


@pytest.mark.parametrize("model_id", sorted(CATALOG))
def test_parameter_counts_match_the_catalog(model_id: str) -> None:
    record = CATALOG[model_id]
    counted = count_parameters(record.architecture)
    assert counted.total == pytest.approx(record.params, rel=0.01)
    assert counted.active == pytest.approx(record.active_params or record.params, rel=0.01)


def test_counts_are_exact_where_the_catalog_count_is_exact() -> None:
    # the catalog notes say these are safetensors counts; the inventory reproduces them to the parameter
    for model_id in (
        "meta-llama/Llama-3.1-8B-Instruct",
        "Qwen/Qwen2.5-7B-Instruct",
        "microsoft/phi-2",
        "mistralai/Mixtral-8x7B-Instruct-v0.1",
        "Qwen/Qwen3-30B-A3B",
        "google/gemma-2-9b-it",
    ):
        record = CATALOG[model_id]
        counted = count_parameters(record.architecture)
        assert (counted.total, counted.active) == (record.params, record.active_params or record.params)


def test_gemma3_total_counts_the_vision_tower_as_the_release_does() -> None:
    record = CATALOG["google/gemma-3-4b-it"]
    counted = count_parameters(record.architecture)
    # catalog notes: text decoder 3,880,263,168 + vision tower 416,866,032 + projector 2,950,272
    assert counted.text_total == 3_880_263_168
    assert counted.vision == 416_866_032 + 2_950_272 == vision_tower_params(record.architecture)
    assert counted.total == record.params
    assert any("vision tower" in c for c in counted.conventions)
    text_only = count_parameters(_arch("google/gemma-3-1b-it"))
    assert text_only.vision == 0 and not text_only.conventions


def test_gpt_oss_active_excludes_the_embedding_table() -> None:
    record = CATALOG["openai/gpt-oss-20b"]
    counted = count_parameters(record.architecture)
    assert counted.active == record.active_params
    assert counted.embedding == 201088 * 2880
    assert any("embedding" in c for c in counted.conventions)
    # without that convention the count would be off by the whole table (~16 %)
    assert (counted.active + counted.embedding) / record.active_params > 1.15


def test_llama_layout_names_and_ggml_shapes() -> None:
    shapes = _by_name(_arch("meta-llama/Llama-3.1-8B-Instruct"))
    assert shapes["token_embd.weight"] == (4096, 128256)
    assert shapes["output.weight"] == (4096, 128256)
    assert shapes["blk.0.attn_k.weight"] == (4096, 1024)  # GQA: 8 KV heads x 128
    assert shapes["blk.31.ffn_down.weight"] == (14336, 4096)  # row length first
    assert "rope_freqs.weight" in shapes  # llama3 rope scaling factors live in the GGUF
    assert "blk.32.attn_q.weight" not in shapes


def test_tied_embeddings_have_no_output_tensor() -> None:
    for model_id in ("meta-llama/Llama-3.2-1B-Instruct", "google/gemma-2-2b-it", "CohereForAI/c4ai-command-r-v01"):
        assert "output.weight" not in _by_name(_arch(model_id))


def test_qwen2_has_qkv_biases_but_no_output_bias() -> None:
    shapes = _by_name(_arch("Qwen/Qwen2.5-7B-Instruct"))
    assert shapes["blk.0.attn_q.bias"] == (3584,)
    assert shapes["blk.0.attn_v.bias"] == (512,)
    assert "blk.0.attn_output.bias" not in shapes


def test_qwen3_and_gemma3_have_per_head_qk_norms() -> None:
    assert _by_name(_arch("Qwen/Qwen3-8B"))["blk.0.attn_q_norm.weight"] == (128,)
    gemma = _by_name(_arch("google/gemma-3-12b-it"))
    assert gemma["blk.0.attn_k_norm.weight"] == (256,)
    assert "blk.0.post_ffw_norm.weight" in gemma


def test_qwen3_moe_uses_the_expert_width_and_no_shared_expert() -> None:
    tensors = [t for t in tensor_inventory(_arch("Qwen/Qwen3-30B-A3B")) if t.layer == 0]
    shapes = {t.role: t.shape for t in tensors}
    assert shapes["ffn_gate_exps"] == (2048, 768, 128)
    assert shapes["ffn_down_exps"] == (768, 2048, 128)
    assert not any("shexp" in t.role for t in tensors)
    assert all(t.routed_expert for t in tensors if t.role.endswith("_exps"))


def test_phi2_biases_gelu_two_matrix_mlp_and_layouts() -> None:
    arch = _arch("microsoft/phi-2")
    shapes = _by_name(arch)
    assert shapes["blk.0.attn_norm.bias"] == (2560,)
    assert shapes["output.bias"] == (51200,)
    assert shapes["blk.0.ffn_up.weight"] == (2560, 10240)
    assert "blk.0.ffn_gate.weight" not in shapes  # GELU MLP: up and down only
    assert shapes["blk.0.attn_q.bias"] == (2560,)  # the transformers checkpoint: separate q/k/v
    fused = {t.name: t.shape for t in tensor_inventory(arch, fused_qkv=True)}
    assert fused["blk.0.attn_qkv.weight"] == (2560, 3 * 2560)
    assert "blk.0.attn_q.weight" not in fused
    assert count_parameters(arch).total == sum(t.n_elements for t in tensor_inventory(arch, fused_qkv=True))


def test_phi3_fuses_qkv_and_gate_up() -> None:
    shapes = _by_name(_arch("microsoft/phi-4"))
    assert shapes["blk.0.attn_qkv.weight"] == (5120, 5120 + 2 * 10 * 128)
    assert shapes["blk.0.ffn_up.weight"] == (5120, 2 * 17920)
    assert "blk.0.ffn_gate.weight" not in shapes


def test_deepseek_v3_mla_dense_lead_and_shared_expert() -> None:
    tensors = tensor_inventory(_arch("deepseek-ai/DeepSeek-V3"))
    shapes = {t.name: t.shape for t in tensors}
    assert shapes["blk.0.attn_q_a.weight"] == (7168, 1536)
    assert shapes["blk.0.attn_q_b.weight"] == (1536, 128 * 192)
    assert shapes["blk.0.attn_kv_a_mqa.weight"] == (7168, 512 + 64)
    assert shapes["blk.0.attn_k_b.weight"] == (128, 512, 128)
    assert shapes["blk.0.attn_v_b.weight"] == (512, 128, 128)
    assert shapes["blk.2.ffn_down.weight"] == (18432, 7168)  # first_k_dense_replace = 3
    assert "blk.3.ffn_down.weight" not in shapes
    assert shapes["blk.3.ffn_down_exps.weight"] == (2048, 7168, 256)
    assert shapes["blk.3.ffn_down_shexp.weight"] == (2048, 7168)
    assert "blk.61.attn_norm.weight" not in shapes  # the multi-token-prediction layer is not converted


def test_gigachat_deepseek_v1_moe_with_two_shared_experts() -> None:
    shapes = _by_name(_arch("ai-sage/GigaChat-20B-A3B-instruct"))
    assert shapes["blk.0.ffn_up.weight"] == (2048, 14336)
    assert shapes["blk.1.ffn_up_shexp.weight"] == (2048, 2 * 1792)
    assert shapes["blk.1.attn_k.weight"] == (2048, 1024)  # standard GQA attention, no MLA


def test_gpt_oss_sinks_router_bias_and_expert_biases() -> None:
    tensors = [t for t in tensor_inventory(_arch("openai/gpt-oss-20b")) if t.layer == 0]
    roles = {t.role: t for t in tensors}
    assert roles["attn_sinks"].shape == (64,)
    assert roles["ffn_gate_inp.bias"].shape == (32,)
    assert roles["ffn_down_exps.bias"].routed_expert and roles["ffn_down_exps.bias"].n_experts == 32


def test_olmo2_has_post_norms_and_full_width_qk_norms_but_no_pre_norms() -> None:
    shapes = _by_name(_arch("allenai/OLMo-2-1124-7B-Instruct"))
    assert shapes["blk.0.attn_q_norm.weight"] == (4096,)
    assert "blk.0.post_attention_norm.weight" in shapes and "blk.0.post_ffw_norm.weight" in shapes
    assert "blk.0.attn_norm.weight" not in shapes


def test_falcon_classic_is_fused_mqa_with_gelu() -> None:
    falcon7b = ArchitectureConfig.model_validate(
        {
            "model_type": "falcon",
            "num_hidden_layers": 32,
            "hidden_size": 4544,
            "num_attention_heads": 71,
            "vocab_size": 65024,
            "multi_query": True,
            "new_decoder_architecture": False,
            "tie_word_embeddings": True,
        }
    )
    shapes = _by_name(falcon7b)
    assert shapes["blk.0.attn_qkv.weight"] == (4544, 4544 + 2 * 64)
    assert shapes["blk.0.ffn_up.weight"] == (4544, 4 * 4544)
    assert count_parameters(falcon7b).total == pytest.approx(7e9, rel=0.02)  # tiiuae/falcon-7b card: "7B parameters"
    assert family_of("falcon") == "falcon" and family_of("llama") == "llama"


def test_unknown_model_type_raises_naming_it_unless_fallback_is_asked() -> None:
    odd = ArchitectureConfig(
        model_type="mamba9",
        num_hidden_layers=2,
        hidden_size=256,
        intermediate_size=512,
        num_attention_heads=4,
        vocab_size=1000,
    )
    with pytest.raises(UnknownArchitectureError, match="mamba9"):
        tensor_inventory(odd)
    assert tensor_inventory(odd, fallback=True)
    assert "generic llama-like fallback" in inventory_method(odd)
    assert "fallback" not in inventory_method(_arch("Qwen/Qwen3-8B"))


def test_70b_type_matches_llama_cpp() -> None:
    assert is_70b_type(_arch("meta-llama/Llama-2-70b-chat-hf"))
    assert is_70b_type(_arch("Qwen/Qwen2.5-72B-Instruct"))
    assert not is_70b_type(_arch("mistralai/Mistral-Large-Instruct-2407"))  # 88 layers
    mha80 = _arch("meta-llama/Llama-2-70b-chat-hf").model_copy(update={"num_key_value_heads": 64})
    assert not is_70b_type(mha80)  # LLaMA-1 65B: 80 layers without GQA


def test_inventory_is_built_once_per_architecture_told_apart_by_its_values() -> None:
    llama = _arch("meta-llama/Llama-3.1-8B-Instruct")
    again = ArchitectureConfig.model_validate(llama.model_dump())
    assert tensor_inventory(again) is tensor_inventory(llama)
    # pydantic's == equates True with 1; the layout does not (a flag must be a bool)
    flagged = ArchitectureConfig.model_validate({**llama.model_dump(), "attention_bias": True})
    counted = ArchitectureConfig.model_validate({**llama.model_dump(), "attention_bias": 1})
    assert flagged == counted
    assert "blk.0.attn_q.bias" in _by_name(flagged)
    assert "blk.0.attn_q.bias" not in _by_name(counted)


def test_config_json_with_text_config_is_flattened() -> None:
    raw = {
        "model_type": "gemma3",
        "architectures": ["Gemma3ForConditionalGeneration"],
        "text_config": {
            "model_type": "gemma3_text",
            "num_hidden_layers": 34,
            "hidden_size": 2560,
            "intermediate_size": 10240,
            "num_attention_heads": 8,
            "num_key_value_heads": 4,
            "head_dim": 256,
            "vocab_size": 262208,
            "sliding_window": 1024,
        },
        "vision_config": {
            "hidden_size": 1152,
            "intermediate_size": 4304,
            "num_hidden_layers": 27,
            "image_size": 896,
            "patch_size": 14,
        },
    }
    arch = architecture_from_config(raw)
    assert arch.model_type == "gemma3_text" and arch.num_hidden_layers == 34  # the decoder's family
    assert count_parameters(arch).total == CATALOG["google/gemma-3-4b-it"].params


def test_config_json_legacy_keys_and_missing_keys() -> None:
    arch = architecture_from_config(
        {"model_type": "falcon", "n_layer": 2, "n_head": 4, "n_embd": 256, "vocab_size": 1000}
    )
    assert arch.num_hidden_layers == 2 and arch.hidden_size == 256
    with pytest.raises(ValueError, match="vocab_size"):
        architecture_from_config(
            {"model_type": "llama", "num_hidden_layers": 2, "hidden_size": 8, "num_attention_heads": 2}
        )
    qwen = architecture_from_config(
        {
            "model_type": "qwen2",
            "num_hidden_layers": 2,
            "hidden_size": 64,
            "num_attention_heads": 2,
            "vocab_size": 100,
            "sliding_window": 4096,
            "use_sliding_window": False,
        }
    )
    assert qwen.sliding_window is None

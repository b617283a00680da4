"""Per-tensor weights estimate against published file sizes and against llama.cpp's mix rules."""

from __future__ import annotations

import csv
import json
import statistics
from collections import Counter
from pathlib import Path

import pytest

from advisor.catalog.loader import builtin_catalog_path, read_catalog_file
from advisor.catalog.records import ArchitectureConfig, ModelRecord, QuantRecord
from advisor.estimate.tensors import architecture_from_config, count_parameters
from advisor.estimate.weights import (
    estimate_weights,
    ggml_type_bytes,
    gguf_tensor_types,
    supported_quants,
)

DATA = Path(__file__).resolve().parents[1] / "benchmarks" / "data"
GIB = 1024**3
CSV_ERA = {"2023": "2023", "2023-12": "2023", "2024": "2024"}


def _catalog(kind: str) -> list[object]:
    return list(read_catalog_file(builtin_catalog_path(kind), kind)[kind])


MODELS = {r.id: r for r in _catalog("models") if isinstance(r, ModelRecord)}
QUANTS = {r.id: r for r in _catalog("quants") if isinstance(r, QuantRecord)}


def _arch(ref: str) -> ArchitectureConfig:
    if ref.endswith(".json"):
        return architecture_from_config(json.loads((DATA / "configs" / ref).read_text("utf-8")))
    return MODELS[ref].architecture


def _rows(name: str) -> list[dict[str, str]]:
    with (DATA / name).open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _published_error(row: dict[str, str]) -> float:
    estimate = estimate_weights(_arch(row["config"]), row["quant"], era=CSV_ERA[row["era"]])
    return estimate.total_bytes / (float(row["size_gb"]) * 1e9) - 1


# ----------------------------------------------------------------------------- the published table


def test_the_published_table_is_whole() -> None:
    assert len(_rows("gguf_sizes.csv")) == 99


@pytest.mark.parametrize("row", _rows("gguf_sizes.csv"), ids=lambda r: f"{r['publisher'][:24]}-{r['quant']}")
def test_every_published_size_within_3_percent(row: dict[str, str]) -> None:
    assert abs(_published_error(row)) <= 0.03


def test_published_table_median_error() -> None:
    errors = [abs(_published_error(row)) for row in _rows("gguf_sizes.csv")]
    assert statistics.median(errors) <= 0.003


def test_era_flag_is_what_reproduces_2023_q2k_and_december_mixtral() -> None:
    llama70 = _arch("Llama-2-70B.json")
    old = estimate_weights(llama70, "Q2_K", era="2023").total_bytes
    new = estimate_weights(llama70, "Q2_K").total_bytes
    assert old / 29.28e9 - 1 == pytest.approx(0, abs=0.003)  # TheBloke, 2023
    assert new / 29.28e9 - 1 < -0.10  # today's Q2_K mix is ~13 % smaller
    mixtral = _arch("Mixtral-8x7B.json")
    dec2023 = {q: estimate_weights(mixtral, q, era="2023").total_bytes for q in ("Q4_0", "Q4_K_M")}
    assert dec2023["Q4_0"] == pytest.approx(dec2023["Q4_K_M"], rel=0.001)  # un-bumped experts: same size
    assert estimate_weights(mixtral, "Q4_K_M").total_bytes > 1.04 * dec2023["Q4_K_M"]  # bumped today


# ----------------------------------------------------------------------------- held-out architectures


@pytest.mark.parametrize("row", _rows("gguf_sizes_heldout.csv"), ids=lambda r: f"{r['model'][-20:]}-{r['quant']}")
def test_heldout_published_sizes(row: dict[str, str]) -> None:
    imatrix = {"true": True, "false": False}.get(row["imatrix"])
    era = row["era"] if row["era"] in ("current", "2024", "2023") else "current"
    w = estimate_weights(_arch(row["model"]), row["quant"], era=era, imatrix=imatrix)
    value = float(row["value"])
    estimate = {
        "file_gb": w.total_bytes / 1e9,
        "file_gib": w.total_bytes / GIB,
        "tensor_gib": w.tensor_bytes / GIB,
        "bpw": w.bits_per_weight,
    }[row["measure"]]
    assert abs(estimate / value - 1) <= 0.005  # these architectures never shaped the rules: the same accuracy


def test_qwen25_7b_q4_k_m_is_4_68_gb() -> None:
    # bartowski/Qwen2.5-7B-Instruct-GGUF: 4.68 GB (QKV biases, 152k vocabulary)
    assert estimate_weights(_arch("Qwen/Qwen2.5-7B-Instruct"), "Q4_K_M").total_bytes / 1e9 == pytest.approx(
        4.68, abs=0.01
    )


# ----------------------------------------------------------------------------- the mix rules


def _types(arch: ArchitectureConfig, quant: str, role: str, **kwargs: object) -> list[str]:
    return [s for t, s in gguf_tensor_types(arch, quant, **kwargs) if t.role == role]  # type: ignore[arg-type]


def test_q4_k_m_bumps_use_more_bits_layers_to_q6_k() -> None:
    arch = _arch("meta-llama/Llama-3.1-8B-Instruct")
    v = _types(arch, "Q4_K_M", "attn_v")
    # use_more_bits(i, 32): i < 4, i >= 28, or (i - 4) % 3 == 2 -> 16 of 32 layers
    assert Counter(v) == {"Q6_K": 16, "Q4_K": 16}
    assert v[:4] == ["Q6_K"] * 4 and v[4:7] == ["Q4_K", "Q4_K", "Q6_K"]
    assert _types(arch, "Q4_K_M", "output") == ["Q6_K"]
    assert _types(arch, "Q4_K_M", "token_embd") == ["Q4_K"]
    assert set(_types(arch, "Q4_K_M", "attn_norm")) == {"F32"}


def test_70b_and_8_expert_attention_rules() -> None:
    assert set(_types(_arch("meta-llama/Llama-2-70b-chat-hf"), "Q3_K_S", "attn_v")) == {"Q5_K"}
    mixtral = _arch("mistralai/Mixtral-8x7B-Instruct-v0.1")
    assert set(_types(mixtral, "Q4_K_M", "attn_v")) == {"Q8_0"}
    assert set(_types(mixtral, "Q4_K_M", "attn_k")) == {"Q8_0"}
    assert set(_types(mixtral, "Q4_K_M", "attn_output")) == {"Q5_K"}
    assert set(_types(mixtral, "Q4_K_M", "attn_output", era="2023")) == {"Q4_K"}


def test_rows_not_divisible_by_the_block_fall_back() -> None:
    small = _arch("Qwen/Qwen2.5-0.5B-Instruct")  # hidden 896 = 3.5 x 256
    assert set(_types(small, "Q4_K_M", "attn_q")) == {"Q5_0"}  # Q4_K -> Q5_0
    assert _types(small, "Q4_K_M", "token_embd") == ["Q8_0"]  # tied output rule: ne0 % 256 -> Q8_0
    assert set(_types(small, "Q4_K_M", "ffn_down")) <= {"Q4_K", "Q6_K"}  # 4864 = 19 x 256 divides
    big = _arch("Qwen/Qwen2.5-72B-Instruct")  # intermediate 29568 = 115.5 x 256
    assert set(_types(big, "Q4_K_M", "ffn_down")) == {"Q5_0", "Q8_0"}


def test_fused_qkv_rule_changed_in_the_current_code() -> None:
    phi4 = _arch("microsoft/phi-4")
    assert set(_types(phi4, "Q4_K_M", "attn_qkv", era="2024")) == {"Q5_K"}
    assert set(_types(phi4, "Q4_K_M", "attn_qkv", era="current")) == {"Q4_K", "Q6_K"}


def test_phi2_2023_files_use_the_fused_checkpoint() -> None:
    phi2 = _arch("microsoft/phi-2")
    old = estimate_weights(phi2, "Q2_K", era="2023")
    assert "attn_qkv" in old.tensor_types and "attn_q" not in old.tensor_types
    assert old.tensor_types["attn_qkv"] == "Q2_Kx32"  # no rule matched the fused tensor before 2024
    assert "attn_q" in estimate_weights(phi2, "Q2_K").tensor_types


def test_imatrix_changes_q4_0_and_iq4_rules_only() -> None:
    arch = _arch("microsoft/phi-4")
    with_imatrix = Counter(_types(arch, "Q4_0", "ffn_down", imatrix=True))
    assert with_imatrix == {"Q4_1": 5, "Q4_0": 35}  # first n_layer/8 ffn_down -> Q4_1
    assert set(_types(arch, "Q4_0", "ffn_down", imatrix=False)) == {"Q4_0"}
    assert Counter(_types(arch, "IQ4_XS", "ffn_down", imatrix=False))["Q5_K"] == 5


def test_mxfp4_puts_experts_in_mxfp4_and_the_rest_in_q8_0() -> None:
    w = estimate_weights(_arch("openai/gpt-oss-20b"), "MXFP4")
    assert w.tensor_types["ffn_down_exps"] == "MXFP4x24"
    assert w.tensor_types["attn_q"] == "Q8_0x24"
    assert w.tensor_types["output"] == "Q8_0" and w.tensor_types["token_embd"] == "Q8_0"


def test_i_quants_and_mxfp4_do_not_exist_in_the_2023_era() -> None:
    with pytest.raises(ValueError, match="PR #4897"):
        estimate_weights(_arch("meta-llama/Llama-2-7b-chat-hf"), "IQ2_XS", era="2023")


def test_unknown_quant_or_era_is_a_clear_error() -> None:
    arch = _arch("meta-llama/Llama-2-7b-chat-hf")
    with pytest.raises(ValueError, match="unknown quant 'Q9_X'"):
        estimate_weights(arch, "Q9_X")
    with pytest.raises(ValueError, match="unknown quantizer era"):
        estimate_weights(arch, "Q4_K_M", era="1999")


def test_every_catalog_quant_is_supported() -> None:
    assert set(QUANTS) <= set(supported_quants())
    arch = _arch("Qwen/Qwen3-30B-A3B")
    for quant in QUANTS:
        assert estimate_weights(arch, quant).total_bytes > 0


# ----------------------------------------------------------------------------- the breakdown


def test_estimate_is_shared_by_equal_architectures_per_quant() -> None:
    arch = _arch("Qwen/Qwen2.5-7B-Instruct")
    again = ArchitectureConfig.model_validate(arch.model_dump())
    assert estimate_weights(again, "Q4_K_M") is estimate_weights(arch, "Q4_K_M")
    assert estimate_weights(arch, "Q8_0").total_bytes > estimate_weights(arch, "Q4_K_M").total_bytes


@pytest.mark.parametrize("model_id", ["meta-llama/Llama-3.2-1B-Instruct", "Qwen/Qwen3-30B-A3B", "openai/gpt-oss-20b"])
def test_breakdown_adds_up(model_id: str) -> None:
    w = estimate_weights(_arch(model_id), "Q4_K_M")
    output = 0 if w.output_tied else w.output_bytes
    parts = w.token_embd_bytes + output + sum(w.layer_bytes) + w.other_bytes + w.vision_bytes + w.metadata_bytes
    assert parts == w.total_bytes
    assert w.tensor_bytes == sum(t.bytes for t in w.tensors)
    assert all(e <= layer for e, layer in zip(w.expert_bytes_per_layer, w.layer_bytes, strict=True))
    assert w.exact is False and "llama.cpp rules (current)" in w.method


def test_tied_output_is_the_embedding_matrix() -> None:
    w = estimate_weights(_arch("meta-llama/Llama-3.2-1B-Instruct"), "Q4_K_M")
    assert w.output_tied and w.output_bytes == w.token_embd_bytes
    assert w.tensor_types["token_embd"] == "Q6_K"  # tied: the embedding gets the output rule
    assert w.active_bytes_per_token >= w.token_embd_bytes  # decoding reads it as the output head


def test_moe_active_bytes_read_only_top_k_routed_experts() -> None:
    w = estimate_weights(_arch("Qwen/Qwen3-30B-A3B"), "Q8_0")
    experts = sum(w.expert_bytes_per_layer)
    dense = w.tensor_bytes - experts - w.token_embd_bytes
    assert w.active_bytes_per_token == pytest.approx(dense + experts * 8 / 128, rel=1e-6)
    assert w.active_bytes_per_token < 0.15 * w.total_bytes


def test_deepseek_v3_shared_experts_count_fully() -> None:
    w = estimate_weights(_arch("deepseek-ai/DeepSeek-V3"), "Q4_K_M")
    shared = sum(t.bytes for t in w.tensors if t.role.endswith("_shexp"))
    routed = sum(t.bytes for t in w.tensors if t.routed_expert)
    assert shared > 0 and routed > 0
    read = sum(t.bytes * t.active_fraction for t in w.tensors)
    assert read == pytest.approx(w.active_bytes_per_token, abs=1)
    assert sum(t.bytes * t.active_fraction for t in w.tensors if t.routed_expert) == pytest.approx(routed * 8 / 256)


def test_block_arithmetic() -> None:
    assert ggml_type_bytes("Q4_K", 256) == 144
    assert ggml_type_bytes("Q8_0", 64) == 68
    assert ggml_type_bytes("F16", 10) == 20


# ----------------------------------------------------------------------------- Hugging Face formats


def test_bf16_safetensors_is_two_bytes_per_parameter() -> None:
    arch = _arch("meta-llama/Llama-3.1-8B-Instruct")
    w = estimate_weights(arch, "HF-BF16")
    assert w.format == "hf"
    assert w.tensor_bytes == 2 * count_parameters(arch).total


def test_gemma3_hf_checkpoint_includes_the_vision_tower() -> None:
    arch = _arch("google/gemma-3-27b-it")
    w = estimate_weights(arch, "HF-BF16")
    assert w.vision_bytes == 2 * count_parameters(arch).vision
    assert w.tensor_bytes + w.vision_bytes == 2 * MODELS["google/gemma-3-27b-it"].params
    assert estimate_weights(arch, "Q4_K_M").vision_bytes == 0  # GGUF: separate mmproj file


def test_gptq_group_128_matches_thebloke_70b() -> None:
    # TheBloke/Llama-2-70B-Chat-GPTQ gptq-4bit-128g: 36.65 GB (g_idx included: AutoGPTQ writes it)
    w = estimate_weights(_arch("meta-llama/Llama-2-70b-chat-hf"), "GPTQ-4bit-g128")
    assert w.total_bytes / 1e9 == pytest.approx(36.65, rel=0.003)
    awq = estimate_weights(_arch("meta-llama/Llama-2-70b-chat-hf"), "AWQ-4bit-g128")
    assert awq.total_bytes < w.total_bytes  # AWQ stores no g_idx
    assert w.tensor_types["token_embd"] == "16-bit" and w.tensor_types["attn_q"] == "4-bit g128x80"


def test_bitsandbytes_and_fp8() -> None:
    llama2 = _arch("meta-llama/Llama-2-7b-chat-hf")
    nf4 = estimate_weights(llama2, "BNB-NF4")
    assert nf4.total_bytes / GIB == pytest.approx(3.60, abs=0.01)  # hardware_fit.md 2.7 (Manning, 3.60)
    int8 = estimate_weights(llama2, "BNB-INT8")
    fp8 = estimate_weights(llama2, "FP8")
    embed_and_head = 2 * 2 * 32000 * 4096
    assert int8.total_bytes == pytest.approx(6.48e9 + embed_and_head, rel=0.01)
    assert fp8.total_bytes == pytest.approx(int8.total_bytes, rel=0.01)
    dsv3 = estimate_weights(_arch("deepseek-ai/DeepSeek-V3"), "FP8")
    assert "block scales" in dsv3.tensor_types["ffn_down_exps"]


def test_gpt_oss_k_quants_keep_mxfp4_experts() -> None:
    """gpt-oss ships MXFP4 experts and published K-quant files keep them: 20b Q4_K_M ~11.6 GB, 120b ~63 GB.

    Applying the K-quant rules to the experts gave 15.8 GB and 87.9 GB (issue 16), which turned a
    12 GB card into "partial" and ruled out a 128 GB Mac.
    """
    small, large = _arch("openai/gpt-oss-20b"), _arch("openai/gpt-oss-120b")
    assert estimate_weights(small, "Q4_K_M").total_bytes / 1e9 == pytest.approx(11.6, abs=0.1)
    assert estimate_weights(large, "Q4_K_M").total_bytes / 1e9 == pytest.approx(62.8, abs=0.3)
    types = gguf_tensor_types(small, "Q4_K_M")
    assert {s for t, s in types if t.routed_expert and len(t.shape) == 3} == {"MXFP4"}
    assert {s for t, s in types if t.role == "attn_q"} != {"MXFP4"}  # the rest follows the file type
    # a model without MXFP4 experts keeps the K-quant rules on its experts
    assert "MXFP4" not in {s for t, s in gguf_tensor_types(_arch("Qwen/Qwen3-30B-A3B"), "Q4_K_M")}

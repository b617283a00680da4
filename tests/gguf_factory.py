"""Write tiny, valid GGUF models that real llama.cpp loads and generates from in well under a second.

Used by the smoke-test tests and by any test that needs a real GGUF file without the Hub.

The vocabulary is a small SentencePiece ("llama") one, as llama.cpp's own tokenizer tests build:
``<unk> <s> </s>``, the 256 byte-fallback tokens ``<0x00>..<0xFF>`` (so any text tokenizes), then
word pieces. The weights are random (seeded), with one piece of structure so that the output is
deterministic and readable instead of a degenerate loop: the output projection maps each token's
embedding to a *successor* token, and the blocks' output projections are small, so greedy decoding
walks through the word pieces in order and never picks an end-of-generation token. Every block
still runs its full attention and feed-forward computation, so timings and memory are real.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

#: Token types from llama.cpp's ``llama_token_type`` (gguf.TokenType).
NORMAL, UNKNOWN, CONTROL, BYTE = 1, 2, 3, 6
N_SPECIAL = 3  # <unk>, <s>, </s>
N_BYTES = 256
SUPPORTED_ARCHITECTURES = ("llama", "qwen2")

_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.,!?'-:;()"
_BIGRAMS = ["th", "he", "in", "er", "an", "re", "on", "at", "en", "nd", "ti", "es", "or", "te", "of", "ed", "is"]


def _pieces(count: int) -> list[str]:
    """``count`` distinct word pieces, reachable by SentencePiece merges where possible."""
    pieces = ["▁", *_CHARS, *("▁" + c for c in _CHARS[:52]), *_BIGRAMS, *("▁" + b for b in _BIGRAMS)]
    index = 0
    while len(pieces) < count:
        pieces.append(f"▁w{index}")
        index += 1
    return pieces[:count]


def write_tiny_gguf(
    path: Path,
    *,
    arch: str = "llama",
    n_layers: int = 2,
    n_embd: int = 64,
    n_head: int = 4,
    n_head_kv: int = 2,
    n_vocab: int = 384,
    ctx: int = 256,
    chat_template: str | None = None,
    seed: int = 0,
    n_ff: int | None = None,
    dtype: str = "f32",
    name: str = "tiny-test-model",
) -> Path:
    """Write a runnable GGUF with random weights to ``path`` and return the path.

    ``dtype`` is ``"f32"`` or ``"f16"`` for the matrices (norms stay F32, as in real files).
    """
    import gguf

    if arch not in SUPPORTED_ARCHITECTURES:
        raise ValueError(f"arch {arch!r}: supported are {SUPPORTED_ARCHITECTURES}")
    if n_vocab < N_SPECIAL + N_BYTES + 8:
        raise ValueError(f"n_vocab must be at least {N_SPECIAL + N_BYTES + 8} (3 special + 256 byte tokens + pieces)")
    if n_embd % n_head or n_head % n_head_kv:
        raise ValueError("n_embd must be a multiple of n_head, and n_head a multiple of n_head_kv")
    if dtype not in ("f32", "f16"):
        raise ValueError("dtype must be 'f32' or 'f16'")
    path = Path(path)
    rng = np.random.default_rng(seed)
    head_dim = n_embd // n_head
    ff = n_ff or 2 * n_embd
    matrix_type = np.float32 if dtype == "f32" else np.float16

    tokens = ["<unk>", "<s>", "</s>", *(f"<0x{b:02X}>" for b in range(N_BYTES))]
    types = [UNKNOWN, CONTROL, CONTROL, *([BYTE] * N_BYTES)]
    pieces = _pieces(n_vocab - len(tokens))
    tokens += pieces
    types += [NORMAL] * len(pieces)
    scores = [0.0] * (N_SPECIAL + N_BYTES) + [float(len(p)) - i * 1e-3 for i, p in enumerate(pieces)]

    writer = gguf.GGUFWriter(str(path), arch)
    writer.add_name(name)
    writer.add_file_type(int(gguf.LlamaFileType.ALL_F32 if dtype == "f32" else gguf.LlamaFileType.MOSTLY_F16))
    writer.add_context_length(ctx)
    writer.add_embedding_length(n_embd)
    writer.add_block_count(n_layers)
    writer.add_feed_forward_length(ff)
    writer.add_head_count(n_head)
    writer.add_head_count_kv(n_head_kv)
    writer.add_rope_dimension_count(head_dim)
    writer.add_rope_freq_base(10000.0)
    writer.add_layer_norm_rms_eps(1e-5)
    writer.add_tokenizer_model("llama")
    writer.add_token_list(tokens)
    writer.add_token_scores(scores)
    writer.add_token_types(types)
    writer.add_unk_token_id(0)
    writer.add_bos_token_id(1)
    writer.add_eos_token_id(2)
    writer.add_add_bos_token(True)
    writer.add_add_eos_token(False)
    if chat_template is not None:
        writer.add_chat_template(chat_template)

    def normal(*shape: int, std: float = 0.02) -> np.ndarray:
        return (rng.standard_normal(shape) * std).astype(matrix_type)

    embeddings = rng.standard_normal((n_vocab, n_embd))
    embeddings /= np.linalg.norm(embeddings, axis=1, keepdims=True)
    first_piece = N_SPECIAL + N_BYTES
    n_pieces = n_vocab - first_piece
    output = np.zeros((n_vocab, n_embd))
    for token in range(n_vocab):
        if token >= first_piece:
            successor = first_piece + (token - first_piece + 1) % n_pieces
        else:
            successor = first_piece + token % n_pieces
        output[successor] += 3.0 * embeddings[token]

    writer.add_tensor("token_embd.weight", embeddings.astype(matrix_type))
    writer.add_tensor("output_norm.weight", np.ones(n_embd, dtype=np.float32))
    writer.add_tensor("output.weight", output.astype(matrix_type))
    for layer in range(n_layers):
        prefix = f"blk.{layer}"
        writer.add_tensor(f"{prefix}.attn_norm.weight", np.ones(n_embd, dtype=np.float32))
        writer.add_tensor(f"{prefix}.attn_q.weight", normal(n_head * head_dim, n_embd))
        writer.add_tensor(f"{prefix}.attn_k.weight", normal(n_head_kv * head_dim, n_embd))
        writer.add_tensor(f"{prefix}.attn_v.weight", normal(n_head_kv * head_dim, n_embd))
        if arch == "qwen2":
            writer.add_tensor(f"{prefix}.attn_q.bias", normal(n_head * head_dim).astype(np.float32))
            writer.add_tensor(f"{prefix}.attn_k.bias", normal(n_head_kv * head_dim).astype(np.float32))
            writer.add_tensor(f"{prefix}.attn_v.bias", normal(n_head_kv * head_dim).astype(np.float32))
        writer.add_tensor(f"{prefix}.attn_output.weight", normal(n_embd, n_head * head_dim, std=0.01))
        writer.add_tensor(f"{prefix}.ffn_norm.weight", np.ones(n_embd, dtype=np.float32))
        writer.add_tensor(f"{prefix}.ffn_gate.weight", normal(ff, n_embd))
        writer.add_tensor(f"{prefix}.ffn_up.weight", normal(ff, n_embd))
        writer.add_tensor(f"{prefix}.ffn_down.weight", normal(n_embd, ff, std=0.01))

    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path

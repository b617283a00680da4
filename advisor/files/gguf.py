"""Reading a GGUF file's header: the tensor table and the scalar metadata, never the weights.

A GGUF file carries its exact footprint: every tensor's ggml type and shape, hence its bytes.
That makes a local file the one case where the planner need not estimate the weights: the
footprint is read from the file's own tensor table, exact (docs/hardware-fit.md).

The `gguf` package's :class:`~gguf.GGUFReader` parses every array element into its own numpy
view, which takes ~20 s for a 262k-token vocabulary. We subclass it to step over large arrays
(token lists, scores, merges) by their lengths alone and to build the tensor table without data
views, so reading the header of any file takes well under a second and nothing is kept of the
vocabulary but its length. Model files are untrusted input: every length is checked against the
file size before it is used, and anything malformed becomes one :class:`InputError` line.
"""

from __future__ import annotations

import stat
import struct
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from advisor.errors import InputError

if TYPE_CHECKING:
    from advisor.catalog.records import ArchitectureConfig
    from advisor.estimate.footprint import WeightsSplit

#: Magic, version, tensor count and metadata count.
HEADER_BYTES = 24
#: Numeric arrays up to this many elements are kept (per-layer head counts, SWA patterns).
MAX_KEPT_ARRAY = 4096
#: Arrays of arrays deeper than this are refused (llama.cpp's own reader takes none; the parser recurses).
MAX_ARRAY_NESTING = 8
#: Fewest bytes one metadata entry (key length, type, a one-byte value) and one tensor-table row
#: (name length, dimension count, type, offset) take: the counts in the header are checked
#: against the file size with these before anything is read or allocated.
MIN_KV_BYTES = 8 + 4 + 1
MIN_TENSOR_INFO_BYTES = 8 + 4 + 4 + 8

#: Sliding-window patterns llama.cpp applies when the file does not store one
#: (``hparams.set_swa_pattern`` in src/llama-model.cpp): every Nth layer attends globally.
DEFAULT_SWA_PATTERN: dict[str, int] = {"gemma3": 6, "gemma2": 2, "cohere2": 4, "gemma3n": 5, "gpt-oss": 2, "llama4": 4}


@dataclass(frozen=True)
class GgufTensor:
    """One row of the tensor table; ``shape`` is in GGUF order (fastest dimension first)."""

    name: str
    ggml_type: str
    shape: tuple[int, ...]
    n_bytes: int
    n_elements: int


@dataclass(frozen=True)
class GgufInfo:
    """What the header of one GGUF file says, with the hyper-parameters under their GGUF meaning."""

    path: Path
    file_bytes: int
    architecture: str
    file_type: str | None
    tensors: list[GgufTensor]
    tensor_bytes: int
    metadata: dict[str, Any]
    chat_template: str | None
    n_layers: int
    n_embd: int
    n_head: int
    n_head_kv: int
    head_dim: int
    context_length: int | None
    vocab_size: int
    sliding_window: int | None
    expert_count: int | None
    expert_used_count: int | None
    name: str | None = None
    n_ff: int | None = None
    arrays: dict[str, list[Any]] = field(default_factory=dict)
    array_lengths: dict[str, int] = field(default_factory=dict)

    @property
    def n_params(self) -> int:
        """Total parameters: the element count of every tensor."""
        return sum(t.n_elements for t in self.tensors)

    @property
    def tied_embeddings(self) -> bool:
        """No ``output.weight``: the output projection reuses ``token_embd`` (Gemma, small Llamas)."""
        return not any(t.name == "output.weight" for t in self.tensors)

    def tensor(self, name: str) -> GgufTensor | None:
        return next((t for t in self.tensors if t.name == name), None)

    @property
    def output_bytes(self) -> int:
        """Bytes of the output projection (the token embedding when tied)."""
        out = self.tensor("output.weight") or self.tensor("token_embd.weight")
        return out.n_bytes if out is not None else 0

    def layer_bytes(self) -> list[int]:
        """Bytes of each repeating block ``blk.N.*``, in layer order (what ``-ngl`` moves)."""
        sizes = [0] * self.n_layers
        for t in self.tensors:
            index = _block_index(t.name)
            if index is not None and index < self.n_layers:
                sizes[index] += t.n_bytes
        return sizes

    def bytes_read_per_token(self) -> int:
        """Weight bytes one decoded token reads.

        The token embedding is a row lookup (unless it doubles as the output projection) and MoE
        layers read only ``expert_used_count`` of their experts.
        """
        total = 0.0
        share = (
            self.expert_used_count / self.expert_count
            if self.expert_count and self.expert_used_count and self.expert_count > 0
            else 1.0
        )
        for t in self.tensors:
            if t.name == "token_embd.weight" and not self.tied_embeddings:
                continue
            total += t.n_bytes * share if "_exps." in t.name else t.n_bytes
        return int(total)

    def active_params(self) -> int:
        """Parameters used per token (MoE: the routed share of the experts, rounded down)."""
        total = self.n_params
        if not (self.expert_count and self.expert_used_count and self.expert_count > 0):
            return total
        routed = sum(t.n_elements for t in self.tensors if "_exps." in t.name)
        return total - routed + routed * self.expert_used_count // self.expert_count

    def weights_split(self) -> WeightsSplit:
        """The exact weights, placed the way llama.cpp places them, for the shared fit estimator."""
        from advisor.estimate.footprint import WeightsSplit

        embd = self.tensor("token_embd.weight")
        return WeightsSplit(
            total_bytes=self.tensor_bytes,
            token_embd_bytes=embd.n_bytes if embd is not None else 0,
            output_bytes=self.output_bytes,
            layer_bytes=tuple(self.layer_bytes()),
            active_bytes_per_token=self.bytes_read_per_token(),
            exact=True,
            method=f"exact: the tensor table of {self.path.name}",
        )

    def swa_layers(self) -> list[bool] | None:
        """Per layer: True when it uses the sliding window, or None when the model has no window."""
        if not self.sliding_window:
            return None
        key = f"{self.architecture}.attention.sliding_window_pattern"
        pattern = self.arrays.get(key)
        if isinstance(pattern, list) and len(pattern) == self.n_layers:
            return [bool(v) for v in pattern]
        period = self.metadata.get(key, DEFAULT_SWA_PATTERN.get(self.architecture))
        if isinstance(period, int) and period > 1:
            return [(i % period) < (period - 1) for i in range(self.n_layers)]
        return [True] * self.n_layers

    def to_architecture_config(self) -> ArchitectureConfig:
        """The same facts under Hugging Face ``config.json`` names, for the shared estimators.

        A size outside :class:`ArchitectureConfig`'s bounds is one InputError naming the file.
        """
        extra: dict[str, Any] = {"gguf_architecture": self.architecture}
        swa = self.swa_layers()
        if swa is not None:
            extra["layer_types"] = ["sliding_attention" if s else "full_attention" for s in swa]
        kv_lora_rank = self.metadata.get(f"{self.architecture}.attention.kv_lora_rank")
        if isinstance(kv_lora_rank, int) and kv_lora_rank > 0:
            extra["kv_lora_rank"] = kv_lora_rank
            extra["qk_rope_head_dim"] = int(self.metadata.get(f"{self.architecture}.rope.dimension_count") or 0)
            key_length_mla = self.metadata.get(f"{self.architecture}.attention.key_length_mla")
            if isinstance(key_length_mla, int) and key_length_mla > 0:
                extra["key_length_mla"] = key_length_mla  # llama.cpp caches the MLA latent only then
        value_length = self.metadata.get(f"{self.architecture}.attention.value_length")
        if isinstance(value_length, int) and value_length > 0 and value_length != self.head_dim:
            extra["v_head_dim"] = value_length
        try:
            return self._architecture_config(extra)
        except ValidationError as exc:
            from advisor.files.structured import format_validation_error

            raise InputError(format_validation_error(f"{self.path} (GGUF metadata)", exc)) from None

    def _architecture_config(self, extra: dict[str, Any]) -> ArchitectureConfig:
        from advisor.catalog.records import ArchitectureConfig

        return ArchitectureConfig(
            model_type=self.architecture,
            num_hidden_layers=self.n_layers,
            hidden_size=self.n_embd,
            intermediate_size=self.n_ff or None,
            num_attention_heads=self.n_head,
            num_key_value_heads=self.n_head_kv,
            head_dim=self.head_dim,
            vocab_size=self.vocab_size,
            max_position_embeddings=self.context_length,
            tie_word_embeddings=self.tied_embeddings,
            num_local_experts=self.expert_count or None,
            num_experts_per_tok=self.expert_used_count or None,
            sliding_window=self.sliding_window,
            **extra,
        )


def _block_index(name: str) -> int | None:
    if not name.startswith("blk."):
        return None
    part = name.split(".", 2)[1]
    return int(part) if part.isdigit() else None


def read_gguf(path: Path) -> GgufInfo:
    """Read the header of a GGUF file; a corrupt, truncated or foreign file raises InputError."""
    path = Path(path)
    try:
        info = path.stat()
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from None
    size = info.st_size
    if stat.S_ISDIR(info.st_mode):
        raise InputError(f"{path}: is a directory, expected a .gguf file")
    if not stat.S_ISREG(info.st_mode):  # a FIFO would block the open, a device never ends
        raise InputError(f"{path}: not a regular file (a pipe, socket or device), expected a .gguf file")
    if size == 0:
        raise InputError(f"{path}: empty file, expected a GGUF model")
    try:
        with path.open("rb") as handle:
            magic = handle.read(4)
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if magic != b"GGUF":
        raise InputError(f"{path}: not a GGUF file (the first bytes are {magic!r}, expected b'GGUF')")
    if size < HEADER_BYTES:
        raise InputError(f"{path}: truncated GGUF file: {size} bytes, shorter than the {HEADER_BYTES}-byte header")
    _check_counts(path, size)
    try:
        reader = _header_reader()(path)
    except _Truncated as exc:
        raise InputError(f"{path}: truncated GGUF file: {exc}") from None
    except IndexError:
        raise InputError(f"{path}: truncated GGUF file: the header ends early ({size} bytes)") from None
    except ValueError as exc:
        if "dtype" in str(exc):  # numpy viewing a slice cut short by the end of the file
            raise InputError(f"{path}: truncated GGUF file: the header ends early ({size} bytes)") from None
        raise InputError(f"{path}: corrupt GGUF header: {str(exc) or type(exc).__name__}") from None
    except (KeyError, OverflowError, TypeError, struct.error) as exc:
        raise InputError(f"{path}: corrupt GGUF header: {str(exc) or type(exc).__name__}") from None
    except (RecursionError, MemoryError):
        raise InputError(f"{path}: corrupt GGUF header: its metadata nests or claims more than it can hold") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        return _info_from(reader, path, size)
    finally:
        del reader


def _check_counts(path: Path, size: int) -> None:
    """The header's tensor and metadata counts against the file size, before the parser loops over them."""
    try:
        with path.open("rb") as handle:
            header = handle.read(HEADER_BYTES)
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from None
    order = "<" if int.from_bytes(header[4:8], "little") < 1 << 16 else ">"
    n_tensors, n_kv = struct.unpack_from(f"{order}QQ", header, 8)
    room = size - HEADER_BYTES
    if n_kv * MIN_KV_BYTES > room:
        raise InputError(f"{path}: corrupt GGUF header: {n_kv} metadata entries cannot fit in {size} bytes")
    if n_tensors * MIN_TENSOR_INFO_BYTES > room:
        raise InputError(f"{path}: corrupt GGUF header: a table of {n_tensors} tensors cannot fit in {size} bytes")


_READER_CLASS: type[Any] | None = None


class _Truncated(ValueError):
    """A length in the header points past the end of the file."""


def _header_reader() -> type[Any]:
    """The GGUFReader subclass (built on first use: importing gguf pulls in numpy)."""
    global _READER_CLASS
    if _READER_CLASS is not None:
        return _READER_CLASS
    import numpy as np
    from gguf import GGUFReader, GGUFValueType
    from gguf.constants import GGML_QUANT_SIZES, GGMLQuantizationType

    class HeaderReader(GGUFReader):
        """Steps over big arrays by length and keeps the tensor table without data views."""

        array_lengths: dict[str, int]

        def __init__(self, path: Path) -> None:
            self.array_lengths = {}
            self.table: list[GgufTensor] = []
            self.nesting = 0
            super().__init__(path, "r")

        def _get_field_parts(self, orig_offs: int, raw_type: int) -> tuple[int, list[Any], list[int], list[Any]]:
            if GGUFValueType(raw_type) != GGUFValueType.ARRAY:
                return super()._get_field_parts(orig_offs, raw_type)
            if self.nesting >= MAX_ARRAY_NESTING:
                raise ValueError(f"arrays nested more than {MAX_ARRAY_NESTING} deep at byte {orig_offs}")
            self.nesting += 1
            try:
                return self._array_parts(orig_offs, raw_type)
            finally:
                self.nesting -= 1

        def _array_parts(self, orig_offs: int, raw_type: int) -> tuple[int, list[Any], list[int], list[Any]]:
            end = len(self.data)
            if orig_offs + 12 > end:
                raise _Truncated(f"an array header at byte {orig_offs} runs past the end ({end} bytes)")
            raw_itype = self._get(orig_offs, np.uint32)
            alen = self._get(orig_offs + 4, np.uint64)
            item_type = GGUFValueType(int(raw_itype[0]))
            count = int(alen[0])
            offs = orig_offs + 12
            scalar = self.gguf_scalar_to_np.get(item_type)
            if scalar is not None:
                nbytes = count * np.dtype(scalar).itemsize
                if offs + nbytes > end:
                    raise _Truncated(f"an array of {count} values at byte {orig_offs} runs past the end ({end} bytes)")
                if count <= MAX_KEPT_ARRAY:
                    return super()._get_field_parts(orig_offs, raw_type)
                return offs + nbytes - orig_offs, [raw_itype, alen], [], [GGUFValueType.ARRAY, item_type]
            if item_type == GGUFValueType.STRING:
                if count > (end - offs) // 8:
                    raise _Truncated(f"an array of {count} strings at byte {orig_offs} cannot fit in {end} bytes")
                view = self.data.data  # the memory map as a memoryview, no copy
                fmt = "<Q" if (self.byte_order == "I") == (sys.byteorder == "little") else ">Q"
                for _ in range(count):
                    if offs + 8 > end:
                        raise _Truncated(f"a string array at byte {orig_offs} runs past the end ({end} bytes)")
                    (length,) = struct.unpack_from(fmt, view, offs)
                    offs += 8 + length
                if offs > end:
                    raise _Truncated(f"a string array at byte {orig_offs} runs past the end ({end} bytes)")
                return offs - orig_offs, [raw_itype, alen], [], [GGUFValueType.ARRAY, item_type]
            if item_type == GGUFValueType.ARRAY and count > (end - offs) // 12:
                raise _Truncated(f"an array of {count} arrays at byte {orig_offs} cannot fit in {end} bytes")
            return super()._get_field_parts(orig_offs, raw_type)

        def _build_tensors(self, start_offs: int, fields: list[Any]) -> None:
            end = len(self.data)
            names: set[str] = set()
            for info in fields:
                _name_len, name_data, _n_dims, dims, raw_dtype, offset_tensor = info.parts
                name = bytes(name_data).decode("utf-8")
                if name in names:
                    raise ValueError(f"tensor {name!r} appears twice")
                names.add(name)
                try:
                    ggml_type = GGMLQuantizationType(int(raw_dtype[0]))
                except ValueError:
                    raise ValueError(f"tensor {name!r} has unknown ggml type {int(raw_dtype[0])}") from None
                shape = tuple(int(d) for d in dims.tolist())
                n_elements = 1
                for d in shape:
                    n_elements *= d
                block_size, type_size = GGML_QUANT_SIZES[ggml_type]
                if shape and shape[0] % block_size:
                    raise ValueError(f"tensor {name!r}: row of {shape[0]} is not a multiple of {block_size}")
                n_bytes = n_elements * type_size // block_size
                data_offset = start_offs + int(offset_tensor[0])
                if data_offset + n_bytes > end:
                    raise _Truncated(f"tensor {name!r} ends at byte {data_offset + n_bytes}, the file has {end} bytes")
                self.table.append(GgufTensor(name, ggml_type.name, shape, n_bytes, n_elements))

    _READER_CLASS = HeaderReader
    return HeaderReader


#: GGUF metadata keys (after ``<arch>.``) and the ArchitectureConfig fields they become.
_GGUF_SIZES = {
    "block_count": "num_hidden_layers",
    "embedding_length": "hidden_size",
    "feed_forward_length": "intermediate_size",
    "attention.head_count": "num_attention_heads",
    "attention.head_count_kv": "num_key_value_heads",
    "attention.key_length": "head_dim",
    "vocab_size": "vocab_size",
    "context_length": "max_position_embeddings",
    "expert_count": "num_local_experts",
    "expert_used_count": "num_experts_per_tok",
    "attention.sliding_window": "sliding_window",
}


def _check_sizes(path: Path, arch: str, n_layers: int, tensors: list[GgufTensor], metadata: dict[str, Any]) -> None:
    """The header's sizes against the shared limits and against the tensor table, before any per-layer list.

    Every repeating block holds at least one tensor, so ``block_count`` can be no larger than the
    tensor table: 1e8 or 2^32-1 blocks over a table of a few hundred tensors is a corrupt header.
    """
    from advisor.catalog.records import ARCHITECTURE_LIMITS

    for key, field_name in _GGUF_SIZES.items():
        value = metadata.get(f"{arch}.{key}")
        limit = ARCHITECTURE_LIMITS[field_name]
        if isinstance(value, int) and value > limit:
            raise InputError(f"{path}: metadata {arch}.{key} is {value}, above the limit of {limit} ({field_name})")
    if n_layers > len(tensors):
        raise InputError(
            f"{path}: metadata {arch}.block_count is {n_layers}, more blocks than the {len(tensors)} tensors "
            "of its tensor table"
        )


def _scalar(reader_field: Any) -> Any:
    """A field's value when it is a scalar or a string; None for arrays."""
    from gguf import GGUFValueType

    types = reader_field.types
    if not types or types[0] == GGUFValueType.ARRAY:
        return None
    value = reader_field.contents()
    if isinstance(value, float):
        return float(f"{value:.7g}")
    return value


def _file_type_name(value: Any) -> str | None:
    if not isinstance(value, int):
        return None
    from gguf import LlamaFileType

    try:
        name = LlamaFileType(value).name
    except ValueError:
        return f"unknown({value})"
    return "F32" if name == "ALL_F32" else name.removeprefix("MOSTLY_")


def _info_from(reader: Any, path: Path, size: int) -> GgufInfo:
    from gguf import GGUFValueType

    metadata: dict[str, Any] = {}
    arrays: dict[str, list[Any]] = {}
    lengths: dict[str, int] = {}
    for key, reader_field in reader.fields.items():
        if key.startswith("GGUF."):
            continue
        if reader_field.types and reader_field.types[0] == GGUFValueType.ARRAY:
            lengths[key] = int(reader_field.parts[4][0])
            if reader_field.data and reader_field.types[-1] != GGUFValueType.STRING:
                arrays[key] = reader_field.contents()
            continue
        metadata[key] = _scalar(reader_field)
    arch = metadata.get("general.architecture")
    if not isinstance(arch, str) or not arch:
        raise InputError(f"{path}: GGUF metadata has no general.architecture")
    chat_template = metadata.pop("tokenizer.chat_template", None)
    tensors: list[GgufTensor] = reader.table

    def number(name: str, *, required: bool = True) -> int | None:
        key = f"{arch}.{name}"
        value = metadata.get(key)
        if value is None and key in arrays:
            values = [int(v) for v in arrays[key]]
            value = max(values) if values else None
        if isinstance(value, bool) or (value is not None and not isinstance(value, int)):
            raise InputError(f"{path}: metadata {key} is {value!r}, expected an integer")
        if value is None and required:
            raise InputError(f"{path}: metadata {key} is missing (not a language-model GGUF?)")
        return value

    n_layers = number("block_count")
    n_embd = number("embedding_length")
    n_head = number("attention.head_count")
    assert n_layers is not None and n_embd is not None and n_head is not None
    if n_layers <= 0 or n_embd <= 0 or n_head <= 0:
        raise InputError(f"{path}: metadata block_count/embedding_length/head_count must be positive")
    if not tensors:
        raise InputError(f"{path}: GGUF has metadata but no tensors (a vocabulary-only file?), expected a model")
    _check_sizes(path, arch, n_layers, tensors, metadata)
    n_head_kv = number("attention.head_count_kv", required=False) or n_head
    head_dim = number("attention.key_length", required=False) or n_embd // n_head
    vocab = number("vocab_size", required=False) or lengths.get("tokenizer.ggml.tokens")
    if not vocab:
        embd = next((t for t in tensors if t.name == "token_embd.weight"), None)
        vocab = embd.shape[-1] if embd is not None and embd.shape else 0
    if not vocab:
        raise InputError(f"{path}: cannot tell the vocabulary size (no tokenizer.ggml.tokens, no token_embd.weight)")
    context = number("context_length", required=False)
    name = metadata.get("general.name")
    return GgufInfo(
        path=path,
        file_bytes=size,
        architecture=arch,
        file_type=_file_type_name(metadata.get("general.file_type")),
        tensors=tensors,
        tensor_bytes=sum(t.n_bytes for t in tensors),
        metadata=metadata,
        chat_template=chat_template if isinstance(chat_template, str) and chat_template.strip() else None,
        n_layers=n_layers,
        n_embd=n_embd,
        n_head=n_head,
        n_head_kv=n_head_kv,
        head_dim=head_dim,
        context_length=context,
        vocab_size=int(vocab),
        sliding_window=number("attention.sliding_window", required=False) or None,
        expert_count=number("expert_count", required=False) or None,
        expert_used_count=number("expert_used_count", required=False) or None,
        name=name if isinstance(name, str) else None,
        n_ff=number("feed_forward_length", required=False) or None,
        arrays=arrays,
        array_lengths=lengths,
    )

"""What MODEL means on the command line: a catalog id, a Hub repo id, a config.json, or a .gguf.

Every form resolves to one :class:`ModelSpec` (architecture, parameter counts, and for a GGUF its
exact tensor table), so ``advisor fit`` and ``advisor check`` treat them alike; ``advisor smoke``,
which runs a file, resolves MODEL_OR_GGUF to a local GGUF with :func:`resolve_gguf`. A repo id is
told apart by :func:`advisor.hub.is_hub_repo_id` everywhere, and a config.json is read by the one
normaliser (:func:`advisor.files.structured.architecture_from_json`), as the Hub's are.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from advisor.catalog.loader import Catalog
from advisor.catalog.records import ArchitectureConfig, ModelRecord, QuantRecord
from advisor.errors import InputError
from advisor.estimate.footprint import WeightsSplit
from advisor.estimate.tensors import count_parameters
from advisor.files.structured import MAX_CONFIG_BYTES, architecture_from_json, parse_structured_text, read_text_file
from advisor.hub.parsing import is_hub_repo_id

if TYPE_CHECKING:
    from advisor.files.gguf import GgufInfo


@dataclass(frozen=True)
class ModelSpec:
    """A model resolved from any MODEL form."""

    id: str
    architecture: ArchitectureConfig
    params: int
    active_params: int
    origin: str
    record: ModelRecord | None = None
    gguf: GgufInfo | None = None
    published_file_bytes: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


#: The quant fetched from a GGUF repo when MODEL_OR_GGUF names a repo and no --quant is given.
DEFAULT_GGUF_QUANT = "Q4_K_M"


class GgufSource(NamedTuple):
    """MODEL_OR_GGUF resolved to a file: the path, the model name to report, and the quant asked for."""

    path: Path
    name: str
    quant: str | None


def _from_config_file(path: Path) -> ModelSpec:
    """A config.json: parameters counted from the architecture; an architecture the inventory does
    not know is counted as a generic llama-like model, and the note says so."""
    text = read_text_file(path, MAX_CONFIG_BYTES, "a config.json")
    arch = architecture_from_json(parse_structured_text(text, str(path), ".json"), str(path))
    notes = []
    try:
        counted = count_parameters(arch)
    except ValueError as exc:
        counted = count_parameters(arch, fallback=True)
        notes.append(f"{path}: {exc}; counted as a generic llama-like model (estimate)")
    return ModelSpec(
        id=str(path),
        architecture=arch,
        params=counted.total,
        active_params=counted.active,
        origin="config.json",
        notes=notes,
    )


def _from_gguf(path: Path) -> ModelSpec:
    from advisor.files.gguf import read_gguf

    info = read_gguf(path)
    return ModelSpec(
        id=str(path),
        architecture=info.to_architecture_config(),
        params=info.n_params,
        active_params=info.active_params(),
        origin="gguf",
        gguf=info,
    )


def _spec_from_record(record: ModelRecord, origin: str = "catalog") -> ModelSpec:
    return ModelSpec(
        id=record.id,
        architecture=record.architecture,
        params=record.params,
        active_params=record.active_params or record.params,
        origin=origin,
        record=record,
        published_file_bytes=dict(record.gguf_file_bytes),
    )


def resolve_model(model: str, catalog: Catalog, *, offline: bool = False) -> ModelSpec:
    """Resolve MODEL: a path to a .gguf or config.json, a catalog id, or a Hub repo id."""
    path = Path(model)
    if model.lower().endswith(".gguf"):
        if not path.is_file():
            raise InputError(f"MODEL {model}: no such file")
        return _from_gguf(path)
    if model.lower().endswith(".json") or path.is_file():
        if not path.is_file():
            raise InputError(f"MODEL {model}: no such file")
        return _from_config_file(path)
    if model in catalog.models:
        return _spec_from_record(catalog.models[model])
    lowered = {k.lower(): k for k in catalog.models}
    if model.lower() in lowered:
        return _spec_from_record(catalog.models[lowered[model.lower()]])
    if is_hub_repo_id(model):
        return _from_hub(model, offline=offline)
    raise InputError(
        f"MODEL {model}: not a catalog id, a Hub repo id (owner/name), a config.json or a .gguf file "
        "(see `advisor catalog models`)"
    )


def _from_hub(repo_id: str, *, offline: bool) -> ModelSpec:
    from advisor.hub import fetch_model  # the Hub client only for a repo id

    model = fetch_model(repo_id, offline=offline)
    files = {f.quant: f.size_bytes for f in model.gguf_files if f.quant}
    return replace(_spec_from_record(model.record, origin="hub"), published_file_bytes=files)


def _looks_like_path(text: str) -> bool:
    return (
        text.lower().endswith(".gguf") or (os.sep in text and not is_hub_repo_id(text)) or text.startswith((".", "~"))
    )


def resolve_gguf(model: str, quant: str | None, *, offline: bool = False) -> GgufSource:
    """Resolve MODEL_OR_GGUF to a local GGUF: a path as given, or a Hub repo id's file for the quant.

    A local file keeps ``quant`` as asked (None: the file's own); a repo id downloads (or finds in
    the cache) its GGUF of ``quant``, else of :data:`DEFAULT_GGUF_QUANT`, upper case.
    """
    candidate = Path(model).expanduser()
    if candidate.exists() or _looks_like_path(model):
        if not candidate.exists():
            raise InputError(f"MODEL_OR_GGUF {model}: no such file")
        if candidate.is_dir():
            raise InputError(f"MODEL_OR_GGUF {model}: is a directory, expected a .gguf file or a Hub repo id")
        return GgufSource(candidate, candidate.stem, quant)
    if not is_hub_repo_id(model):
        raise InputError(f"MODEL_OR_GGUF {model}: expected a path to a .gguf file or a Hub repo id (owner/name)")
    wanted = (quant or DEFAULT_GGUF_QUANT).upper()
    from advisor.hub import download_gguf  # looked up at call time: tests put a fake advisor.hub in sys.modules

    return GgufSource(Path(download_gguf(model, wanted, offline=offline)), model, wanted)


_WEIGHTS_MEMO: dict[tuple[str, int, str, str, int | None], WeightsSplit] = {}


def weights_for(spec: ModelSpec, quant: QuantRecord) -> WeightsSplit:
    """Best available weights for a quant: the GGUF's own table (exact), else llama.cpp's per-tensor
    rules (an architecture they do not know is estimated as a generic llama-like model, and says so)."""
    if spec.gguf is not None and (spec.gguf.file_type or "").upper() == quant.id.upper():
        return spec.gguf.weights_split()
    key = (spec.id, spec.params, quant.id, spec.origin, spec.published_file_bytes.get(quant.id))
    if key not in _WEIGHTS_MEMO:
        _WEIGHTS_MEMO[key] = _per_tensor(spec, quant)
    return _WEIGHTS_MEMO[key]


def _per_tensor(spec: ModelSpec, quant: QuantRecord) -> WeightsSplit:
    from advisor.estimate.speed import decode_bytes_by_layer
    from advisor.estimate.weights import estimate_weights

    try:
        breakdown = estimate_weights(spec.architecture, quant.id)
    except ValueError:
        breakdown = estimate_weights(spec.architecture, quant.id, fallback=True)
    per_layer, outside = decode_bytes_by_layer(breakdown)
    method = breakdown.method
    published = spec.published_file_bytes.get(quant.id)
    total = breakdown.total_bytes
    if published:
        method = f"published file size ({published / 1e9:.2f} GB), split by {breakdown.method}"
        total = published
    return WeightsSplit(
        total_bytes=total,
        token_embd_bytes=breakdown.token_embd_bytes,
        output_bytes=breakdown.output_bytes,
        layer_bytes=tuple(breakdown.layer_bytes),
        active_bytes_per_token=int(sum(per_layer) + outside),
        exact=bool(published),
        method=method,
        layer_decode_bytes=tuple(per_layer),
        outside_decode_bytes=outside,
    )

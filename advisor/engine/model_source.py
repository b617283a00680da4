"""What MODEL means on the command line: a catalog id, a Hub repo id, a config.json, or a .gguf.

Every form resolves to one :class:`ModelSpec` (architecture, parameter counts, and for a GGUF its
exact tensor table), so ``advisor fit``, ``advisor check`` and ``advisor smoke`` treat them alike.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from advisor.catalog.loader import Catalog
from advisor.catalog.records import ArchitectureConfig, ModelRecord, QuantRecord
from advisor.errors import EnvironmentProblem, InputError
from advisor.estimate.footprint import WeightsSplit
from advisor.files.structured import format_validation_error

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


def params_for(arch: ArchitectureConfig, where: str) -> tuple[int, int, list[str]]:
    """Total and active parameters counted from the architecture; an architecture the inventory does
    not know is counted as a generic llama-like model, and the note says so."""
    from advisor.estimate.tensors import count_parameters

    try:
        counted = count_parameters(arch)
        return counted.total, counted.active, []
    except ValueError as exc:
        counted = count_parameters(arch, fallback=True)
        return counted.total, counted.active, [f"{where}: {exc}; counted as a generic llama-like model (estimate)"]


def architecture_from_config(data: Any, where: str) -> ArchitectureConfig:
    """A Hugging Face config.json (multimodal configs: their ``text_config``) as ArchitectureConfig."""
    from advisor.estimate.tensors import architecture_from_config as from_raw

    if not isinstance(data, dict):
        raise InputError(f"{where}: expected a JSON object")
    try:
        return from_raw(data)
    except ValidationError as exc:
        raise InputError(format_validation_error(where, exc)) from None
    except ValueError as exc:
        raise InputError(f"{where}: {exc}") from None


def _from_config_file(path: Path) -> ModelSpec:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read: {exc}") from None
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}: invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}") from None
    arch = architecture_from_config(data, str(path))
    total, active, notes = params_for(arch, str(path))
    return ModelSpec(
        id=str(path), architecture=arch, params=total, active_params=active, origin="config.json", notes=notes
    )


def _from_gguf(path: Path) -> ModelSpec:
    from advisor.files.gguf import read_gguf

    info = read_gguf(path)
    arch = info.to_architecture_config()
    total = expert = 0
    for tensor in info.tensors:
        count = 1
        for dim in tensor.shape:
            count *= dim
        total += count
        if "_exps" in tensor.name:
            expert += count
    active = total
    if expert and info.expert_count and info.expert_used_count:
        active = total - expert + expert * info.expert_used_count // info.expert_count
    return ModelSpec(id=str(path), architecture=arch, params=total, active_params=active, origin="gguf", gguf=info)


def spec_from_record(record: ModelRecord, origin: str = "catalog") -> ModelSpec:
    return ModelSpec(
        id=record.id,
        architecture=record.architecture,
        params=record.params,
        active_params=record.active_params or record.params,
        origin=origin,
        record=record,
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
        return spec_from_record(catalog.models[model])
    lowered = {k.lower(): k for k in catalog.models}
    if model.lower() in lowered:
        return spec_from_record(catalog.models[lowered[model.lower()]])
    if "/" in model and not model.startswith(("/", ".")):
        return _from_hub(model, offline=offline)
    raise InputError(
        f"MODEL {model}: not a catalog id, a Hub repo id (owner/name), a config.json or a .gguf file "
        "(see `advisor catalog models`)"
    )


def _from_hub(repo_id: str, *, offline: bool) -> ModelSpec:
    try:
        from advisor import hub
    except ImportError:
        raise EnvironmentProblem(f"MODEL {repo_id}: not in the catalog, and Hub support is not installed") from None
    model = hub.fetch_model(repo_id, offline=offline)
    files = {f.quant: f.size_bytes for f in model.gguf_files if f.quant}
    spec = spec_from_record(model.record, origin="hub")
    return ModelSpec(**{**spec.__dict__, "published_file_bytes": files})


_WEIGHTS_MEMO: dict[tuple[str, int, str, str], WeightsSplit] = {}


def weights_for(spec: ModelSpec, quant: QuantRecord) -> WeightsSplit:
    """Best available weights for a quant: the GGUF's own table (exact), else llama.cpp's per-tensor
    rules (an architecture they do not know is estimated as a generic llama-like model, and says so)."""
    if spec.gguf is not None and (spec.gguf.file_type or "").upper() == quant.id.upper():
        return spec.gguf.weights_split()
    key = (spec.id, spec.params, quant.id, spec.origin)
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

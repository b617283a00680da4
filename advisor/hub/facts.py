"""One ``model_info`` answer turned into a :class:`~advisor.hub.records.HubModel` and its ModelRecord.

The parameter count comes from the safetensors total, else the Hub's GGUF header reading, else a
base model's safetensors; the architecture from the repo's ``config.json`` (downloaded, parsed as
JSON, never executed: there is no ``trust_remote_code`` anywhere in this project), else from a base
model's, read by the one config.json normaliser every MODEL form shares
(:func:`advisor.files.structured.architecture_from_json`).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from advisor.catalog.records import ModelRecord
from advisor.errors import InputError
from advisor.files.structured import (
    MAX_CONFIG_BYTES,
    architecture_from_json,
    format_validation_error,
    parse_structured_text,
    read_text_file,
)
from advisor.hub.client import download_raw, model_info
from advisor.hub.errors import translate_error
from advisor.hub.licence import licence_from_card
from advisor.hub.lineage import base_models_of, card_reader, hub_ancestors, relation_of
from advisor.hub.lineage import card_of as card_dict
from advisor.hub.parsing import as_list, group_gguf_files, modalities, moe_active_params
from advisor.hub.records import HubModel
from advisor.hub.settings import HUB_WEB_URL, HubSettings

#: Hops followed along ``base_model`` to find a config.json for GGUF-only repos.
MAX_LINEAGE_HOPS = 2


def sibling_files(info: Any) -> list[tuple[str, int | None]]:
    """``(path, size)`` of every file in the repo; LFS files report their size in ``lfs``."""
    files = []
    for sibling in getattr(info, "siblings", None) or []:
        size = getattr(sibling, "size", None)
        lfs = getattr(sibling, "lfs", None)
        if size is None and lfs is not None:
            size = lfs.get("size") if isinstance(lfs, dict) else getattr(lfs, "size", None)
        files.append((str(sibling.rfilename), size))
    return files


def _unsafe_files(info: Any) -> list[str]:
    status = getattr(info, "security_repo_status", None)
    if not isinstance(status, dict):
        return []
    flagged = status.get("filesWithIssues") or []
    names = [str(item.get("path")) if isinstance(item, dict) else str(item) for item in flagged]
    return sorted(n for n in names if n and n != "None")


def safetensors_total(info: Any) -> int | None:
    """The safetensors parameter count the Hub reports; None when it reports none."""
    st = getattr(info, "safetensors", None)
    total = st.get("total") if isinstance(st, dict) else getattr(st, "total", None)
    return total if isinstance(total, int) and total > 0 else None


def gguf_meta(info: Any) -> dict[str, Any]:
    """The ``gguf`` block the Hub reads from a GGUF repo's first file header (``total``, ``context_length``)."""
    meta = getattr(info, "gguf", None)
    return meta if isinstance(meta, dict) else {}


def _load_config(hub: HubSettings, repo_id: str, revision: str | None, base_models: list[str]) -> tuple[Any, str]:
    """config.json of the repo, else of its base model(s): GGUF-only repos usually ship none."""
    from huggingface_hub.errors import EntryNotFoundError, LocalEntryNotFoundError

    tried: list[str] = []
    candidates = [(repo_id, revision)] + [(b, None) for b in base_models[:MAX_LINEAGE_HOPS]]
    for source, rev in candidates:
        try:
            path = download_raw(hub, source, "config.json", rev)
        except EntryNotFoundError as exc:
            if not isinstance(exc, LocalEntryNotFoundError):  # the Hub says: no such file
                tried.append(f"{source} has no config.json")
                continue
            raise translate_error(exc, source, "config.json", hub) from None
        except Exception as exc:
            error = translate_error(exc, source, "config.json", hub)
            if source == repo_id:
                raise error from None
            raise type(error)(f"MODEL {repo_id}: has no config.json; its base model {source} failed: {error}") from None
        where = f"MODEL {repo_id}: config.json of {source}"
        try:
            text = read_text_file(Path(path), MAX_CONFIG_BYTES, "a config.json")
        except InputError as exc:
            raise InputError(f"{where}: {str(exc).removeprefix(f'{path}: ')}") from None
        return parse_structured_text(text, where, ".json"), source
    detail = "; ".join(tried) or "no base_model in the card"
    raise InputError(
        f"MODEL {repo_id}: no config.json to read the architecture from ({detail}); "
        "pass a local config.json or .gguf as MODEL instead"
    )


def _base_params(hub: HubSettings, base_models: list[str]) -> tuple[int, str] | None:
    """The safetensors count of the first base model that has one (for GGUF-only repos)."""
    for base in base_models[:MAX_LINEAGE_HOPS]:
        try:
            info = model_info(hub, base)
        except InputError:
            continue
        total = safetensors_total(info)
        if total:
            return total, f"safetensors of base model {base}"
    return None


def build_hub_model(hub: HubSettings, repo_id: str, info: Any) -> HubModel:
    """The :class:`HubModel` for a ``model_info`` answer; downloads config.json as needed."""
    card = card_dict(info)
    tags = [str(t) for t in getattr(info, "tags", None) or []]
    base_models = base_models_of(card, info)
    sha = getattr(info, "sha", None)
    config, config_source = _load_config(hub, repo_id, sha, base_models)
    arch = architecture_from_json(config, f"MODEL {repo_id}: config.json of {config_source}")

    meta = gguf_meta(info)
    params_source = "safetensors"
    params = safetensors_total(info)
    if params is None and isinstance(meta.get("total"), int) and meta["total"] > 0:
        params, params_source = int(meta["total"]), "gguf metadata"
    if params is None:
        found = _base_params(hub, base_models)
        if found is not None:
            params, params_source = found
    if params is None:
        raise InputError(
            f"MODEL {repo_id}: the Hub gives no parameter count (no safetensors or GGUF metadata, "
            "nor for its base model); pass a local .gguf as MODEL instead"
        )

    context = arch.max_position_embeddings or meta.get("context_length")
    if not isinstance(context, int) or context <= 0:
        raise InputError(f"MODEL {repo_id}: config.json of {config_source} has no max_position_embeddings")

    licence = licence_from_card(card, tags)
    languages = list(dict.fromkeys(lang.strip().lower() for lang in as_list(card.get("language")) if lang.strip()))
    gguf_files, projectors = group_gguf_files(sibling_files(info))
    gated = getattr(info, "gated", None)
    pipeline_tag = getattr(info, "pipeline_tag", None) or card.get("pipeline_tag")
    fetched = dt.datetime.now(dt.UTC)
    active = moe_active_params(params, arch)

    notes = [f"From the Hugging Face Hub (commit {sha or 'unknown'}, read {fetched.date().isoformat()})."]
    notes.append(f"Parameters: {params_source}.")
    if active != params:
        notes.append("Active parameters: estimated from the MoE config (unused experts' gated MLPs removed).")
    if config_source != repo_id:
        notes.append(f"Architecture from the config.json of the base model {config_source}.")
    if licence.license_id == "other" or licence.license_name:
        notes.append(f"Licence: license={licence.license_id}, license_name={licence.license_name}.")
    if licence.license_link:
        notes.append(f"Licence text: {licence.license_link}.")
    if licence.record_id == "unknown":
        notes.append("The card states no licence.")

    ancestors = hub_ancestors(repo_id, card, card_reader(hub))
    first_base = next((a for a in ancestors if a.derived == repo_id), None)
    base_licence = first_base.license if first_base is not None else None
    fields: dict[str, Any] = {
        "id": repo_id,
        "source": f"{HUB_WEB_URL}/{repo_id}",
        "as_of": fetched.date(),
        "name": repo_id.split("/", 1)[1],
        "family": arch.model_type,
        "architecture": arch,
        "params": params,
        "active_params": active,
        "license": licence.record_id,
        "context_length": context,
        "languages": languages,
        "gated": bool(gated),
        "base_model": base_models[0] if base_models else None,
        "notes": " ".join(notes),
        "license_name": licence.license_name,
        "license_link": licence.license_link,
        "base_model_license": base_licence,
        "modalities": modalities(str(pipeline_tag) if pipeline_tag else None, config),
        "base_model_relation": relation_of(card),
        "base_lineage": ancestors,
    }
    try:
        record = ModelRecord(**fields)
    except ValidationError as exc:
        raise InputError(format_validation_error(f"MODEL {repo_id}: facts from the Hub", exc)) from None
    downloads = getattr(info, "downloads", None)
    likes = getattr(info, "likes", None)
    return HubModel(
        repo_id=repo_id,
        record=record,
        pipeline_tag=str(pipeline_tag) if pipeline_tag else None,
        gguf_files=gguf_files,
        downloads=downloads if isinstance(downloads, int) else None,
        likes=likes if isinstance(likes, int) else None,
        sha=sha,
        license_id=licence.license_id,
        license_name=licence.license_name,
        license_link=licence.license_link,
        gated_mode=str(gated) if gated else None,
        base_models=base_models,
        tags=tags,
        library_name=getattr(info, "library_name", None),
        params_source=params_source,
        config_source=config_source,
        projector_files=projectors,
        unsafe_files=_unsafe_files(info),
        fetched_at=fetched,
    )

"""The metadata cache: the facts built from API answers, one JSON file per repo, for offline use.

Files (config.json, GGUFs) live in huggingface_hub's own cache, keyed by ETag and commit; API
answers have no such cache, so :func:`~advisor.hub.fetch.fetch_model` keeps what it built under
:func:`metadata_cache_dir`. A damaged or foreign file reads as "not cached", never as an error.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from advisor.files.cache import cache_dir, read_json, write_json
from advisor.hub.records import HubModel


def metadata_cache_dir() -> Path:
    """Where the facts built from API answers are kept for offline use: ``<advisor cache>/hub``.

    The advisor cache is :func:`advisor.files.cache.cache_dir`. Not inside the Hub cache:
    huggingface_hub's cache scanner would report a foreign folder as a corrupted repo.
    """
    return cache_dir() / "hub"


def _cache_file(repo_id: str) -> Path:
    return metadata_cache_dir() / ("models--" + repo_id.replace("/", "--") + ".json")


def read_cache(repo_id: str) -> dict[str, Any] | None:
    """The repo's cache file as a JSON object; None when missing or unreadable."""
    return read_json(_cache_file(repo_id)) or None


def write_cache(repo_id: str, **entries: Any) -> None:
    """Merge ``entries`` into the repo's cache file (written atomically; a failure only loses the cache)."""
    path = _cache_file(repo_id)
    data = read_cache(repo_id) or {}
    data.update(entries)
    with contextlib.suppress(OSError):
        write_json(path, data)


def cached_model(repo_id: str) -> HubModel | None:
    """The facts cached by the last online :func:`~advisor.hub.fetch.fetch_model` of ``repo_id``, if any."""
    data = read_cache(repo_id)
    raw = data.get("model") if data else None
    if not isinstance(raw, dict):
        return None
    try:
        return HubModel.model_validate({**raw, "from_cache": True})
    except ValidationError:
        return None


def cached_models() -> list[HubModel]:
    """Every model in the metadata cache (for searching offline)."""
    folder = metadata_cache_dir()
    found = []
    for path in sorted(folder.glob("models--*.json")) if folder.is_dir() else []:
        repo_id = path.stem.removeprefix("models--").replace("--", "/", 1)
        model = cached_model(repo_id)
        if model is not None:
            found.append(model)
    return found

"""Fetching one repo: its facts (:func:`fetch_model`) or one of its GGUF files (:func:`download_gguf`).

Online, the answer is built from the Hub and written to the metadata cache; offline (``--offline``
or ``HF_HUB_OFFLINE=1``), only the caches are read and no connection is opened. A network failure
mentions a cached copy when there is one.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError

from advisor.catalog.records import ModelRecord
from advisor.errors import EnvironmentProblem, InputError
from advisor.hub.cache import cached_model, metadata_cache_dir, read_cache, write_cache
from advisor.hub.client import download, model_info
from advisor.hub.facts import build_hub_model, sibling_files
from advisor.hub.parsing import check_repo_id, choose_gguf, group_gguf_files
from advisor.hub.records import GgufFile, HubModel
from advisor.hub.settings import HubSettings, settings


def fetch_model(repo_id: str, *, offline: bool = False) -> HubModel:
    """Everything the checks need about ``repo_id``, from the Hub (and cached), or from the cache offline."""
    check_repo_id(repo_id)
    hub = settings(offline=offline)
    if hub.offline:
        cached = cached_model(repo_id)
        if cached is None:
            raise EnvironmentProblem(
                f"MODEL {repo_id}: not in the local Hub cache ({metadata_cache_dir()}) and offline mode is on "
                "(--offline or HF_HUB_OFFLINE=1); run once online to cache it"
            )
        return cached
    try:
        info = model_info(hub, repo_id)
    except EnvironmentProblem as exc:
        cached = cached_model(repo_id)
        if cached is not None:
            raise EnvironmentProblem(
                f"{exc} (a copy cached on {cached.fetched_at.date().isoformat()} is available with --offline)"
            ) from None
        raise
    model = build_hub_model(hub, repo_id, info)
    write_cache(
        repo_id,
        model=model.model_dump(mode="json", exclude={"from_cache"}),
        sha=model.sha,
        gguf_files=[f.model_dump(mode="json") for f in model.gguf_files],
    )
    return model


def model_record_for(model_id: str, *, offline: bool = False) -> ModelRecord:
    """The :class:`ModelRecord` for a Hub repo id (what ``check`` / ``fit`` call for an unknown MODEL)."""
    return fetch_model(model_id, offline=offline).record


def _gguf_listing(hub: HubSettings, repo_id: str) -> tuple[str | None, list[GgufFile]]:
    """The commit and the GGUF files of a repo: from ``model_info`` online, from the cache offline."""
    if hub.offline:
        data = read_cache(repo_id)
        if not data or not isinstance(data.get("gguf_files"), list):
            raise EnvironmentProblem(
                f"MODEL {repo_id}: its file list is not in the local cache and offline mode is on "
                "(--offline or HF_HUB_OFFLINE=1); run once online to cache it"
            )
        try:
            files = [GgufFile.model_validate(f) for f in data["gguf_files"]]
        except ValidationError:
            raise EnvironmentProblem(f"MODEL {repo_id}: the cached file list is damaged; run once online") from None
        sha = data.get("sha")
        return (sha if isinstance(sha, str) else None), files
    info = model_info(hub, repo_id)
    files, _ = group_gguf_files(sibling_files(info))
    sha = getattr(info, "sha", None)
    write_cache(repo_id, sha=sha, gguf_files=[f.model_dump(mode="json") for f in files])
    return sha, files


def download_gguf(repo_id: str, quant: str, *, offline: bool = False) -> Path:
    """Download (or find in the cache) the GGUF for ``quant``; every part of a split model; the first's path."""
    check_repo_id(repo_id)
    hub = settings(offline=offline)
    sha, files = _gguf_listing(hub, repo_id)
    chosen = choose_gguf(repo_id, files, quant)
    paths = [download(hub, repo_id, part, sha) for part in chosen.parts or [chosen.filename]]
    with paths[0].open("rb") as handle:
        magic = handle.read(4)
    if magic != b"GGUF":
        raise InputError(f"MODEL {repo_id}: {chosen.filename} is not a GGUF file (bad magic {magic!r})")
    return paths[0]

"""Searching the Hub: the most downloaded models that match a task, licence, size and language.

The Hub filters what it can (task, ``license:`` and language tags, a parameter range); each listed
repo is then fetched in full (:func:`~advisor.hub.fetch.fetch_model`) and checked again, so the
facts shown are the ones ``check`` and ``fit`` use. Offline, the metadata cache is searched; an
empty cache answers nothing, and says so (exit 3) rather than print an empty table.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from advisor.errors import EnvironmentProblem, InputError
from advisor.hub.cache import cached_models, metadata_cache_dir
from advisor.hub.client import list_models
from advisor.hub.facts import gguf_meta, safetensors_total
from advisor.hub.fetch import fetch_model
from advisor.hub.licence import canonical_licence
from advisor.hub.records import HubModel
from advisor.hub.settings import settings

if TYPE_CHECKING:
    from advisor.model.requirements import Requirements

#: How many listed repos ``search_models`` inspects at most, per result asked for.
SCAN_FACTOR = 5
SCAN_MIN = 50


def _list_models_kwargs(
    task: str | None, license: str | None, max_params: int | None, language: str | None, scan: int
) -> dict[str, Any]:
    from huggingface_hub import HfApi

    filters = []
    if license:
        filters.append(f"license:{license}")
    if language:
        filters.append(language)
    kwargs: dict[str, Any] = {
        "filter": filters or None,
        "pipeline_tag": task,
        "sort": "downloads",
        "limit": scan,
        "expand": [
            "cardData",
            "safetensors",
            "gguf",
            "gated",
            "downloads",
            "likes",
            "pipeline_tag",
            "tags",
            "sha",
            "library_name",
        ],
    }
    # num_parameters came to HfApi.list_models after 1.0 (the lowest version this project allows)
    if max_params is not None and "num_parameters" in inspect.signature(HfApi.list_models).parameters:
        kwargs["num_parameters"] = f"max:{max_params}"
    return kwargs


def _matches(
    model: HubModel, task: str | None, license: str | None, max_params: int | None, language: str | None
) -> bool:
    if task and model.pipeline_tag != task:
        return False
    if license and canonical_licence(model.record.license) != canonical_licence(license):
        return False
    if max_params is not None and model.record.params > max_params:
        return False
    return not (language and language.lower() not in model.record.languages)


def search_models(
    *,
    task: str | None = None,
    license: str | None = None,
    max_params: int | None = None,
    language: str | None = None,
    limit: int = 20,
    offline: bool = False,
    on_skip: Callable[[str, str], None] | None = None,
) -> list[HubModel]:
    """The most downloaded Hub models that match, each fetched in full (record, GGUF files).

    The Hub filters by task, ``license:`` tag and language tag; ``max_params`` is applied to the
    safetensors (or GGUF) count from the listing, before anything is downloaded. A listed repo
    whose facts cannot be built (gated without a token, no config.json) is skipped and reported
    through ``on_skip(repo_id, reason)``. Offline, the metadata cache is searched instead, and an
    empty one is an :class:`EnvironmentProblem` (exit 3: nothing can be answered).
    """
    if limit < 1:
        raise InputError(f"--limit {limit}: expected at least 1")
    hub = settings(offline=offline)
    if hub.offline:
        cached = cached_models()
        if not cached:
            raise EnvironmentProblem(
                f"Hugging Face Hub: offline mode is on and the local Hub cache ({metadata_cache_dir()}) holds no "
                "models; run `advisor hub search` or `advisor hub show REPO_ID` once online to fill it"
            )
        found = [m for m in cached if _matches(m, task, license, max_params, language)]
        found.sort(key=lambda m: (-(m.downloads or 0), m.repo_id))
        return found[:limit]
    scan = max(SCAN_MIN, limit * SCAN_FACTOR)
    kwargs = _list_models_kwargs(task, license, max_params, language, scan)
    results: list[HubModel] = []
    for info in list_models(hub, "the model search", **kwargs):
        repo_id = str(info.id)
        total = safetensors_total(info) or gguf_meta(info).get("total")
        if max_params is not None:
            if not isinstance(total, int):
                if on_skip:
                    on_skip(repo_id, "the Hub gives no parameter count to compare with --max-params")
                continue
            if total > max_params:
                continue
        try:
            model = fetch_model(repo_id)
        except InputError as exc:
            if on_skip:
                on_skip(repo_id, str(exc))
            continue
        if _matches(model, task, license, max_params, language):
            results.append(model)
        if len(results) >= limit:
            break
    return results


def hub_models_for_requirements(
    requirements: Requirements,
    n: int,
    *,
    offline: bool = False,
    on_skip: Callable[[str, str], None] | None = None,
) -> list[HubModel]:
    """The top ``n`` text-generation models for ``advisor plan --hub N``: the first answered language."""
    language = requirements.languages[0] if requirements.languages else None
    return search_models(task="text-generation", language=language, limit=n, offline=offline, on_skip=on_skip)

"""``advisor catalog update``: compare the catalog with its upstream sources and write the overlay.

Models are compared with the Hugging Face Hub (:mod:`advisor.hub.refresh`: licence, gated flag,
architecture, base-model lineage, GGUF sizes), the APIs built from LiteLLM's price table with a fresh
copy of that table (:mod:`advisor.catalog.prices`), and with ``search`` the Hub is asked for models
the catalog lacks. The result is a dated diff -- every changed field with its old and new value, the
records added, the records upstream no longer has -- and, unless it is a dry run, a new overlay
(:mod:`advisor.catalog.overlay`) that every later run applies. Nothing is written until every source
has answered: an update that stops half way (the network went) changes nothing.

The diff and the patches are pure functions (:func:`field_changes`, :func:`field_patch`); the I/O is
the two fetches and the one write.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ValidationError

from advisor.catalog.loader import Catalog
from advisor.catalog.overlay import Overlay, read_overlay
from advisor.catalog.prices import LITELLM_PRICES_URL, price_fields
from advisor.catalog.records import RECORD_TYPES
from advisor.errors import AdvisorError, EnvironmentProblem, InputError

#: The price table is about 1.5 MB today; anything far larger is not that table.
MAX_PRICE_TABLE_BYTES = 64 * 1024 * 1024

#: Seconds to wait for the price table's server (connect and each read).
PRICE_TABLE_TIMEOUT_S = 10.0

#: The optional API fields a table entry may stop giving: absent upstream means absent now.
_OPTIONAL_API_FIELDS = (
    "cached_input_usd_per_1m",
    "batch_input_usd_per_1m",
    "batch_output_usd_per_1m",
    "max_output_tokens",
)


@dataclass(frozen=True)
class Change:
    """One field of one record whose upstream value differs from the catalog's."""

    kind: str
    id: str
    field: str
    old: Any
    new: Any


@dataclass(frozen=True)
class SearchFilter:
    """``--search``: Hub models matching these that the catalog lacks are added."""

    license: str | None = None
    language: str | None = None
    max_params: int | None = None
    task: str = "text-generation"
    limit: int = 10


@dataclass
class UpdateResult:
    """What an update found, and the overlay it would write."""

    as_of: dt.date
    checked: int
    changed: list[Change]
    added: list[str]
    missing: list[str]
    overlay: Overlay
    sources: list[str]
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """The JSON contract (docs/design.md §7): keys may be added, never renamed."""
        return {
            "as_of": self.as_of.isoformat(),
            "checked": self.checked,
            "changed": [
                {"id": c.id, "field": c.field, "old": c.old, "new": c.new, "kind": c.kind} for c in self.changed
            ],
            "added": list(self.added),
            "missing": list(self.missing),
            "sources": list(self.sources),
        }


def field_changes(kind: str, record_id: str, current: dict[str, Any], fresh: dict[str, Any]) -> list[Change]:
    """Every field of ``fresh`` that differs from ``current``; mappings are compared key by key
    (``architecture.num_hidden_layers``, ``gguf_file_bytes.Q4_K_M``) so the diff names what changed."""
    changes = []
    for name, new in fresh.items():
        old = current.get(name)
        if isinstance(old, dict) and isinstance(new, dict):
            for key in sorted(set(old) | set(new), key=str):
                if old.get(key) != new.get(key):
                    changes.append(Change(kind, record_id, f"{name}.{key}", old.get(key), new.get(key)))
        elif old != new and not (old in (None, [], {}) and new in (None, [], {})):
            changes.append(Change(kind, record_id, name, old, new))
    return changes


def field_patch(shipped: dict[str, Any], previous: dict[str, Any], fresh: dict[str, Any]) -> dict[str, Any]:
    """The overlay's fields for one record: the previous patch updated with ``fresh``, minus every field
    that equals the shipped record's own value (the overlay keeps only what upstream changed)."""
    merged = {**previous, **fresh}
    return {name: value for name, value in merged.items() if shipped.get(name) != value}


def fetch_price_table(url: str) -> dict[str, Any]:
    """The upstream price table (JSON), read over HTTP(S) with a timeout and a size bound."""
    if not url.lower().startswith(("http://", "https://")):
        raise InputError(f"--prices-url {url}: expected an http:// or https:// URL")
    try:
        with urllib.request.urlopen(url, timeout=PRICE_TABLE_TIMEOUT_S) as response:
            body = response.read(MAX_PRICE_TABLE_BYTES + 1)
    except urllib.error.HTTPError as exc:
        raise EnvironmentProblem(f"catalog update: the price table at {url} answered HTTP {exc.code}") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise EnvironmentProblem(
            f"catalog update: cannot reach the price table at {url} ({reason}); nothing was changed"
        ) from None
    if len(body) > MAX_PRICE_TABLE_BYTES:
        raise AdvisorError(f"catalog update: the price table at {url} is larger than {MAX_PRICE_TABLE_BYTES} bytes")
    try:
        data = json.loads(body)
    except ValueError as exc:
        raise AdvisorError(f"catalog update: the price table at {url} is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise AdvisorError(f"catalog update: the price table at {url} is not a JSON object")
    return data


def prices_url() -> str:
    """``$ADVISOR_PRICES_URL``, else LiteLLM's table on GitHub."""
    return os.environ.get("ADVISOR_PRICES_URL") or LITELLM_PRICES_URL


def _api_fresh(entry: dict[str, Any]) -> dict[str, Any]:
    fresh = price_fields(entry)
    for name in _OPTIONAL_API_FIELDS:
        fresh.setdefault(name, None)
    fresh.setdefault("long_context_tiers", [])
    return fresh


class _Builder:
    """Collects the diff and the new overlay, record by record."""

    def __init__(self, catalog: Catalog, previous: Overlay | None, today: dt.date) -> None:
        self.catalog = catalog
        self.today = today
        self.overlay = previous.model_copy(deep=True) if previous else Overlay(as_of=today)
        self.overlay.as_of = today
        self.changed: list[Change] = []
        self.missing: list[str] = []
        self.added: list[str] = []
        self.notes: list[str] = []
        self.checked = 0

    def _shipped(self, kind: str, record_id: str) -> BaseModel:
        key = (kind, record_id)
        return self.catalog.unpatched.get(key) or self.catalog.records[kind][record_id]

    def record(self, kind: Any, record_id: str, fresh: dict[str, Any] | None) -> None:
        """One record checked: ``fresh`` its upstream fields, None when upstream no longer has it."""
        self.checked += 1
        self.overlay.checked.setdefault(kind, {})[record_id] = self.today
        if fresh is None:
            self.missing.append(record_id)
            self.overlay.missing.setdefault(kind, {}).setdefault(record_id, self.today)
            return
        self.overlay.missing.get(kind, {}).pop(record_id, None)
        current = self.catalog.records[kind][record_id].model_dump(mode="json")
        changes = field_changes(kind, record_id, current, fresh)
        shipped = self._shipped(kind, record_id).model_dump(mode="json")
        patches = self.overlay.patches.setdefault(kind, {})
        patch = field_patch(shipped, patches.get(record_id, {}), fresh)
        try:
            RECORD_TYPES[kind].model_validate({**shipped, **patch})
        except ValidationError as exc:
            first = exc.errors()[0]
            self.notes.append(
                f"{record_id}: upstream value of {'.'.join(str(p) for p in first['loc'])} not accepted "
                f"({first['msg']}); the record is left as it was"
            )
            return
        self.changed += changes
        if patch:
            patches[record_id] = patch
        else:
            patches.pop(record_id, None)

    def add(self, kind: Any, record: BaseModel) -> None:
        record_id = str(getattr(record, "id"))  # noqa: B009 - every record has an id
        kept = [r for r in self.overlay.added.get(kind, []) if r.get("id") != record_id]
        self.overlay.added[kind] = [*kept, record.model_dump(mode="json")]
        self.added.append(record_id)


def update_catalog(
    catalog: Catalog,
    *,
    today: dt.date,
    kinds: Iterable[str] = ("models", "apis"),
    search: SearchFilter | None = None,
    price_table_url: str | None = None,
    on_progress: Callable[[str], None] | None = None,
) -> UpdateResult:
    """Compare ``catalog`` with the Hub and the price table; the diff and the overlay to write.

    Raises :class:`EnvironmentProblem` (exit 3) at once when the Hub or the price table cannot be
    reached, before anything is compared.
    """
    from advisor.hub.refresh import ensure_reachable, refresh_model
    from advisor.hub.settings import settings

    kinds = tuple(kinds)
    hub = settings()
    sources = []
    if "models" in kinds or search is not None:
        ensure_reachable(hub)
        sources.append(hub.endpoint)
    table: dict[str, Any] | None = None
    if "apis" in kinds:
        url = price_table_url or prices_url()
        table = fetch_price_table(url)
        sources.append(url)
    previous = read_overlay(catalog.overlay) if catalog.overlay is not None else None
    builder = _Builder(catalog, previous, today)
    builder.overlay.sources = sources

    if "models" in kinds:
        from advisor.hub.parsing import is_hub_repo_id

        models = catalog.models
        for record_id in sorted(models):
            if not is_hub_repo_id(record_id):
                continue  # a plugin's record named otherwise: no Hub repo to compare with
            if on_progress:
                on_progress(record_id)
            refreshed = refresh_model(hub, models[record_id], in_catalog=lambda repo: repo in models)
            builder.notes += refreshed.notes
            builder.record("models", record_id, refreshed.fields if refreshed.found else None)
    if table is not None:
        for record_id, api in sorted(catalog.apis.items()):
            if "litellm" not in api.source.lower():
                continue  # not built from the table: nothing upstream to compare with
            entry = table.get(record_id)
            builder.record("apis", record_id, _api_fresh(entry) if isinstance(entry, dict) else None)
    if search is not None:
        from advisor.hub.search import search_models

        def skipped(repo: str, why: str) -> None:
            builder.notes.append(f"search: skipped {repo}: {why}")

        found = search_models(
            task=search.task,
            license=search.license,
            max_params=search.max_params,
            language=search.language,
            limit=search.limit,
            on_skip=skipped,
        )
        for model in found:
            if model.repo_id not in catalog.models:
                builder.add("models", model.record)
    return UpdateResult(
        as_of=today,
        checked=builder.checked,
        changed=builder.changed,
        added=builder.added,
        missing=builder.missing,
        overlay=builder.overlay,
        sources=sources,
        notes=builder.notes,
    )

"""The licence a model card declares, under the id the licence checks look up.

Card data ``license`` (``other`` defers to ``license_name``), else a ``license:`` tag; the name is
mapped to a catalog id through the ids and aliases of the built-in ``catalog/licenses.yaml``.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from advisor.hub.parsing import as_list


@functools.lru_cache(maxsize=1)
def _licence_ids() -> dict[str, str]:
    """Lower-case id or alias -> catalog licence id, from the built-in catalog/licenses.yaml."""
    from advisor.catalog.loader import builtin_catalog_path, read_catalog_file

    names: dict[str, str] = {}
    for record in read_catalog_file(builtin_catalog_path("licenses")).get("licenses", []):
        record_id = str(getattr(record, "id"))  # noqa: B009 - LicenseRecord
        names[record_id.lower()] = record_id
        for alias in getattr(record, "aliases", []):
            names.setdefault(str(alias).lower(), record_id)
    return names


def canonical_licence(name: str | None) -> str | None:
    """The catalog licence id for a Hub licence id, ``license_name`` or alias; unknown names as given."""
    if not name:
        return None
    cleaned = name.strip()
    return _licence_ids().get(cleaned.lower(), cleaned)


@dataclass(frozen=True)
class LicenceFacts:
    """The licence as the card states it, and the id the licence checks look up."""

    record_id: str
    license_id: str | None
    license_name: str | None
    license_link: str | None


def licence_from_card(card: dict[str, Any], tags: Iterable[str]) -> LicenceFacts:
    """``license`` from card data, else a ``license:`` tag; ``other`` defers to ``license_name``."""
    published = next(iter(as_list(card.get("license"))), None)
    if published is None:
        published = next((t.split(":", 1)[1] for t in tags if t.startswith("license:")), None)
    name = card.get("license_name")
    link = card.get("license_link")
    name = str(name) if name else None
    link = str(link) if link else None
    chosen = name if (published in (None, "other") and name) else published
    return LicenceFacts(canonical_licence(chosen) or "unknown", published, name, link)

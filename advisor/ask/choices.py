"""Where ``choices_from`` questions get their options: the hardware and language catalogs.

The catalog is read on first use (completing, or checking a hardware id), so a run that needs
neither never loads it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from advisor.catalog.loader import Catalog


class ChoiceSource(Protocol):
    """Where ``choices_from`` questions get their options (the catalog, or a stub in tests)."""

    def options(self, kind: str) -> list[tuple[str, str]]:
        """(value, short description) pairs for completion."""
        ...

    def canonical_hardware(self, name: str) -> tuple[str, str] | None:
        """(catalog id, catalog kind) for an id or alias, or None when unknown."""
        ...


class CatalogChoices:
    """Options from the merged catalog, read on first use (non-interactive runs never need it)."""

    def __init__(self, catalog: Callable[[], Catalog]) -> None:
        self._catalog = catalog

    def options(self, kind: str) -> list[tuple[str, str]]:
        catalog = self._catalog()
        if kind == "hardware":
            return [
                (r.id, f"{r.name}, {r.memory_gib:g} GiB")
                for r in sorted(catalog.hardware.values(), key=lambda r: (r.kind == "cpu", r.id))
            ]
        if kind == "languages":
            counts: dict[str, int] = {}
            for model in catalog.models.values():
                for code in model.languages:
                    counts[code] = counts.get(code, 0) + 1
            return [(code, f"{n} catalog model{'s' if n > 1 else ''}") for code, n in sorted(counts.items())]
        return []

    def canonical_hardware(self, name: str) -> tuple[str, str] | None:
        record = self._catalog().find_hardware(name)
        return None if record is None else (record.id, record.kind)

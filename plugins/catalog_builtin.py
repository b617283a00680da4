"""The built-in catalog: the YAML files shipped in catalog/, registered like any other source."""

from __future__ import annotations

from collections.abc import Callable

from advisor import CatalogSource, hookimpl
from advisor.catalog.kinds import CATALOG_KINDS
from advisor.catalog.tables import packaged_file


@hookimpl
def advisor_register_catalog_sources(register: Callable[[CatalogSource], None]) -> None:
    for kind in CATALOG_KINDS:
        path = packaged_file(f"{kind}.yaml")
        if path.is_file():
            register(CatalogSource(name=f"catalog/{kind}.yaml", kind=kind, path=path))

"""The built-in catalog: the YAML files shipped in catalog/, registered like any other source."""

from __future__ import annotations

from collections.abc import Callable
from importlib import resources

from advisor import CatalogSource, hookimpl

KINDS = ("models", "apis", "hardware", "licenses", "quants")


@hookimpl
def advisor_register_catalog_sources(register: Callable[[CatalogSource], None]) -> None:
    root = resources.files("advisor_catalog")
    for kind in KINDS:
        path = root.joinpath(f"{kind}.yaml")
        if path.is_file():
            register(CatalogSource(name=f"catalog/{kind}.yaml", kind=kind, path=path))  # type: ignore[arg-type]

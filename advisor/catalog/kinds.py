"""The kinds of catalog record, spelled once.

Each kind is the top-level key of its file (catalog/<kind>.yaml), a plugin catalog source's kind and
an ``advisor catalog`` argument. This module imports nothing heavy, so the CLI can build its choices
at start-up without loading the record schemas (pydantic).
"""

from __future__ import annotations

from typing import Literal, get_args

CatalogKind = Literal["models", "apis", "hardware", "licenses", "quants"]
CATALOG_KINDS: tuple[CatalogKind, ...] = get_args(CatalogKind)

"""The run context every hook receives: a plain, read-only value.

Passing one object instead of many arguments lets the hook API grow (new attributes) without
changing hook signatures, the way datasette passes ``datasette`` to its hooks. The context holds
no machinery: the engine (:class:`advisor.engine.session.Session`) loads the plugins, collects what
they register and builds this value. ``catalog`` and ``checks`` resolve on first use through
loaders the engine supplies, because the registration hooks themselves receive the context: a
plugin registering its checks must not force the catalog to load (``advisor checks`` reads no YAML).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from advisor.catalog.loader import Catalog
    from advisor.model.checks import RegisteredCheck


def _not_loaded() -> Any:
    raise LookupError("this context was built without a catalog or checks (the engine's Session supplies them)")


@dataclass(frozen=True)
class AdvisorContext:
    """What a plugin can see of the current run."""

    catalog_dir: Path | None = None
    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    offline: bool = False
    options: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    load_catalog: Callable[[], Catalog] = field(default=_not_loaded, repr=False, compare=False)
    load_checks: Callable[[], list[RegisteredCheck]] = field(default=_not_loaded, repr=False, compare=False)

    @property
    def catalog(self) -> Catalog:
        """The merged catalog (built-in, plugin sources, ``--catalog-dir`` overlay)."""
        return self.load_catalog()

    @property
    def checks(self) -> list[RegisteredCheck]:
        """Every registered check, sorted by id."""
        return self.load_checks()

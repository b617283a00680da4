"""One run of the engine: the loaded plugin host, and what its plugins registered.

The session is the driver behind :class:`advisor.model.context.AdvisorContext` (a plain value):
it loads the catalog from the registered sources, collects checks, questions and backends, each
once, and records a plugin's bad registration against the plugin's name instead of failing the run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from advisor.catalog.loader import Catalog, load_catalog, load_source
from advisor.engine.host import PluginHost
from advisor.errors import AdvisorError, PluginError
from advisor.model.checks import Check, RegisteredCheck
from advisor.model.context import AdvisorContext
from advisor.model.extensions import Backend, CatalogSource, Question


@dataclass
class Session:
    """The plugin host and the options of one run; ``context`` is what the hooks see."""

    host: PluginHost
    catalog_dir: Path | None = None
    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    offline: bool = False
    options: dict[str, Any] = field(default_factory=dict)

    @cached_property
    def context(self) -> AdvisorContext:
        return AdvisorContext(
            catalog_dir=self.catalog_dir,
            select=self.select,
            ignore=self.ignore,
            offline=self.offline,
            options=dict(self.options),
            load_catalog=lambda: self.catalog,
            load_checks=lambda: self.checks,
        )

    @cached_property
    def catalog(self) -> Catalog:
        """The merged catalog, loaded on first use (so ``advisor --help`` never reads YAML)."""
        sources = self._registered("advisor_register_catalog_sources", CatalogSource)
        # built-in sources first, then the others by plugin name: later layers override by id
        sources.sort(key=lambda p: (not self.host.is_builtin(p[0]), p[0], p[1].name))
        loaded = []
        for plugin, source in sources:
            try:
                loaded.append((source.kind, load_source(source), f"{plugin}: {source.name}"))
            except AdvisorError:
                raise
            except Exception as exc:
                self.host.record_error(plugin, f"catalog source {source.name!r} failed: {exc}")
        return load_catalog(loaded, self.catalog_dir)

    @cached_property
    def checks(self) -> list[RegisteredCheck]:
        """Every registered check, sorted by id; two plugins claiming one id is a startup error."""
        by_id: dict[str, RegisteredCheck] = {}
        for plugin, check in self._registered("advisor_register_checks", Check):
            if check.id in by_id:
                names = sorted({by_id[check.id].plugin, plugin})
                raise PluginError(
                    f"check id {check.id} is registered twice: by plugin {names[0]!r} and by plugin {names[-1]!r}"
                )
            by_id[check.id] = RegisteredCheck(check, plugin)
        return [by_id[k] for k in sorted(by_id)]

    def questions(self) -> list[tuple[str, Question]]:
        """Questions plugins add to the questionnaire, sorted by plugin then id."""
        return sorted(self._registered("advisor_register_questions", Question), key=lambda p: (p[0], p[1].id))

    def backends(self) -> list[tuple[str, Backend]]:
        """Local inference backends, sorted by name."""
        return sorted(self._registered("advisor_register_backends", Backend), key=lambda p: p[1].name)

    def _registered(self, hook: str, expected: type) -> list[tuple[str, Any]]:
        good = []
        for plugin, obj in self.host.collect_registrations(hook, self.context):
            if isinstance(obj, expected):
                good.append((plugin, obj))
            else:
                self.host.record_error(plugin, f"{hook} registered {type(obj).__name__}, expected {expected.__name__}")
        return good

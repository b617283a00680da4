"""The run context passed to every hook: the catalog, the registered checks, the options.

Passing one object instead of many arguments lets the hook API grow (new attributes) without
changing hook signatures, the way datasette passes ``datasette`` to its hooks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from advisor.catalog.loader import Catalog, load_catalog, load_source
from advisor.model.checks import Check
from advisor.errors import AdvisorError, PluginError
from advisor.model.extensions import Backend, CatalogSource, Question
from advisor.engine.host import PluginHost


@dataclass(frozen=True)
class RegisteredCheck:
    """A check with the name of the plugin that registered it."""

    check: Check
    plugin: str


@dataclass
class AdvisorContext:
    """What a plugin can see of the current run."""

    host: PluginHost
    catalog_dir: Path | None = None
    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    offline: bool = False
    options: dict[str, Any] = field(default_factory=dict)
    _catalog: Catalog | None = field(default=None, init=False, repr=False)
    _checks: list[RegisteredCheck] | None = field(default=None, init=False, repr=False)

    @property
    def catalog(self) -> Catalog:
        """The merged catalog, loaded on first use (so ``advisor --help`` never reads YAML)."""
        if self._catalog is None:
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
            self._catalog = load_catalog(loaded, self.catalog_dir)
        return self._catalog

    def _registered(self, hook: str, expected: type) -> list[tuple[str, Any]]:
        good = []
        for plugin, obj in self.host.collect_registrations(hook, self):
            if isinstance(obj, expected):
                good.append((plugin, obj))
            else:
                self.host.record_error(plugin, f"{hook} registered {type(obj).__name__}, expected {expected.__name__}")
        return good

    @property
    def checks(self) -> list[RegisteredCheck]:
        """Every registered check, sorted by id; two plugins claiming one id is a startup error."""
        if self._checks is None:
            by_id: dict[str, RegisteredCheck] = {}
            for plugin, check in self._registered("advisor_register_checks", Check):
                if check.id in by_id:
                    first = by_id[check.id].plugin
                    names = sorted({first, plugin})
                    raise PluginError(
                        f"check id {check.id} is registered twice: by plugin {names[0]!r} and by plugin {names[-1]!r}"
                    )
                by_id[check.id] = RegisteredCheck(check, plugin)
            self._checks = [by_id[k] for k in sorted(by_id)]
        return self._checks

    def questions(self) -> list[tuple[str, Question]]:
        """Questions plugins add to the questionnaire, sorted by plugin then id."""
        return sorted(self._registered("advisor_register_questions", Question), key=lambda p: (p[0], p[1].id))

    def backends(self) -> list[tuple[str, Backend]]:
        """Local inference backends, sorted by name."""
        return sorted(self._registered("advisor_register_backends", Backend), key=lambda p: p[1].name)

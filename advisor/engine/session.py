"""One run of the engine: the loaded plugin host, and what its plugins registered.

The session is the driver behind :class:`advisor.model.context.AdvisorContext` (a plain value):
it loads the catalog from the registered sources, collects checks, questions and backends, each
once, and records a plugin's bad registration against the plugin's name instead of failing the run.
A plugin's catalog source is plugin code like any other: an invalid record in it is skipped with a
plugin error naming the record and the field (fatal only with ``--strict-plugins``), and the
callables plugins register (``Question.when``, ``Backend.is_available``) run under the host's guard.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from types import MappingProxyType
from typing import Any

from advisor.catalog.loader import Catalog, load_catalog, load_source
from advisor.engine.guard import PluginFault
from advisor.engine.host import PluginHost
from advisor.errors import InputError, PluginError
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
            options=MappingProxyType(dict(self.options)),
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
        with self.host.shield():
            for plugin, source in sources:
                if plugin in self.host.stopped:
                    continue
                report = self._source_error(plugin, source.name)
                try:
                    records = self.host.call_plugin(plugin, functools.partial(load_source, source, on_error=report))
                except InputError as exc:  # the source as a whole (a missing or malformed file)
                    report(str(exc))
                    continue
                except PluginFault as fault:
                    stop = self.host.stop_note(plugin) if fault.stops else ""
                    self.host.record_error(plugin, f"catalog source {source.name!r} {fault.detail}{stop}")
                    continue
                loaded.append((source.kind, records, f"{plugin}: {source.name}"))
        return load_catalog(loaded, self.catalog_dir)

    def _source_error(self, plugin: str, source: str) -> Callable[[str], None]:
        def report(message: str) -> None:
            self.host.record_error(plugin, f"catalog source {source!r}: skipped: {message}")

        return report

    @cached_property
    def registered_checks(self) -> list[RegisteredCheck]:
        """Every check registration, sorted by id then plugin, duplicates included (``advisor checks``)."""
        found = [RegisteredCheck(check, plugin) for plugin, check in self._registered("advisor_register_checks", Check)]
        return sorted(found, key=lambda rc: (rc.check.id, rc.plugin))

    def duplicate_check_ids(self) -> list[str]:
        """One line per check id that two plugins register."""
        by_id: dict[str, list[str]] = {}
        for rc in self.registered_checks:
            by_id.setdefault(rc.check.id, []).append(rc.plugin)
        return [
            f"check id {check_id} is registered twice: by plugin {plugins[0]!r} and by plugin {plugins[-1]!r}"
            for check_id, plugins in by_id.items()
            if len(plugins) > 1
        ]

    @cached_property
    def checks(self) -> list[RegisteredCheck]:
        """Every registered check, sorted by id; two plugins claiming one id is a startup error."""
        duplicates = self.duplicate_check_ids()
        if duplicates:
            raise PluginError(duplicates[0])
        return list(self.registered_checks)

    def questions(self) -> list[tuple[str, Question]]:
        """Questions plugins add to the questionnaire, sorted by plugin then id; ``when`` runs guarded
        (a failing one skips the question, as docs/questionnaire.md says)."""
        found = [
            (
                plugin,
                q
                if q.when is None
                else dataclasses.replace(q, when=self._guarded(plugin, f"question {q.id!r}: when()", q.when, False)),
            )
            for plugin, q in self._registered("advisor_register_questions", Question)
        ]
        return sorted(found, key=lambda p: (p[0], p[1].id))

    def backends(self) -> list[tuple[str, Backend]]:
        """Local inference backends, sorted by name; ``is_available`` runs guarded (failing: unavailable)."""
        found = [
            (
                plugin,
                dataclasses.replace(
                    b, is_available=self._guarded(plugin, f"backend {b.name!r}: is_available()", b.is_available, False)
                ),
            )
            for plugin, b in self._registered("advisor_register_backends", Backend)
        ]
        return sorted(found, key=lambda p: p[1].name)

    def _guarded(self, plugin: str, what: str, function: Callable[..., Any], fallback: Any) -> Callable[..., Any]:
        """``function`` (plugin code) run under the host's guard; a failure is recorded and gives ``fallback``."""
        host = self.host

        def call(*args: Any) -> Any:
            if plugin in host.stopped:
                return fallback
            try:
                return host.call_plugin(plugin, lambda: function(*args))
            except PluginFault as fault:
                detail = fault.detail.removeprefix("raised ")
                host.record_error(plugin, f"{what} failed: {detail}" + (host.stop_note(plugin) if fault.stops else ""))
                return fallback

        return call

    def _registered(self, hook: str, expected: type) -> list[tuple[str, Any]]:
        good = []
        for plugin, obj in self.host.collect_registrations(hook, self.context):
            if isinstance(obj, expected):
                good.append((plugin, obj))
            else:
                self.host.record_error(plugin, f"{hook} registered {type(obj).__name__}, expected {expected.__name__}")
        return good

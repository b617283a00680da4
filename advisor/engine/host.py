"""The plugin host: loads built-ins, entry points and local plugins, and calls hooks with isolation.

pluggy stops a hook call at the first exception and leaves a half-registered plugin behind on a
validation error, so the host does both jobs itself: each plugin is imported and registered in
its own try block, and each hook implementation is called on its own, every time through the
:class:`~advisor.engine.guard.Guard` (stdout, exits, Ctrl-C, time and memory limits). A failure is
recorded against the plugin's name (redacted) and the run goes on, unless strict mode asks for it
to be fatal. A plugin that tried to end or stall the run (an exit, a ``BaseException``, a limit) is
*stopped*: none of its code runs again in this run.
"""

from __future__ import annotations

import functools
import importlib
import importlib.metadata
import importlib.util
import os
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, TypeVar

import pluggy

from advisor import hookspecs
from advisor.engine.guard import Guard, PluginFault, PluginLimits, redact_secrets
from advisor.errors import PluginError

T = TypeVar("T")

ENTRY_POINT_GROUP = hookspecs.PROJECT

#: Built-in plugins, registered by module name under the short name; blockable like any other.
BUILTIN_PLUGINS: dict[str, str] = {
    "catalog": "advisor_plugins.catalog_builtin",
    "license": "advisor_plugins.license",
    "hardware": "advisor_plugins.hardware",
    "cost": "advisor_plugins.cost",
    "quality": "advisor_plugins.quality",
    "context_window": "advisor_plugins.context_window",
    "privacy": "advisor_plugins.privacy",
    "strategy": "advisor_plugins.strategy",
    "ranking": "advisor_plugins.ranking",
    "deployment": "advisor_plugins.deployment",
    "llamacpp": "advisor_plugins.llamacpp",
}


@dataclass
class PluginInfo:
    """What ``advisor plugins`` shows about one plugin, including why it failed."""

    name: str
    origin: str
    module: str
    version: str | None = None
    hooks: list[str] = field(default_factory=list)
    error: str | None = None
    disabled: bool = False

    @property
    def builtin(self) -> bool:
        return self.origin == "builtin"

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "origin": self.origin,
            "module": self.module,
            "version": self.version,
            "hooks": self.hooks,
            "error": self.error,
            "disabled": self.disabled,
        }


def _split_env(name: str) -> list[str]:
    return [part.strip() for part in os.environ.get(name, "").split(",") if part.strip()]


def strict_from_env() -> bool:
    """``ADVISOR_STRICT_PLUGINS=1`` (or true/yes) turns plugin failures into fatal errors."""
    return os.environ.get("ADVISOR_STRICT_PLUGINS", "").strip().lower() in {"1", "true", "yes", "on"}


def _import_from_path(path: Path) -> ModuleType:
    """Import a one-off plugin file under a private module name so two files cannot collide."""
    module_name = f"advisor_local_plugin_{abs(hash(str(path.resolve())))}_{path.stem}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(module_name, None)
        raise
    return module


class PluginHost:
    """A pluggy manager plus the bookkeeping to list, isolate and attribute plugins."""

    def __init__(
        self,
        *,
        strict: bool = False,
        limits: PluginLimits | None = None,
        on_error: Callable[[str], None] | None = None,
    ) -> None:
        self.pm = pluggy.PluginManager(hookspecs.PROJECT)
        self.pm.add_hookspecs(hookspecs)
        self.strict = strict
        self.guard = Guard(limits if limits is not None else PluginLimits.resolve())
        self.infos: dict[str, PluginInfo] = {}
        self.errors: list[str] = []
        #: told of each recorded error as it happens (the CLI prints it as a warning)
        self.on_error = on_error
        #: plugins stopped for the rest of the run, with the reason
        self.stopped: dict[str, str] = {}
        self.disabled = set(_split_env("ADVISOR_DISABLE_PLUGINS"))
        for name in self.disabled:
            self.pm.set_blocked(name)

    # loading --------------------------------------------------------------------------------
    def load(
        self,
        *,
        builtins: bool = True,
        entrypoints: bool = True,
        extra: Iterable[str] = (),
    ) -> PluginHost:
        """Load every plugin source: built-ins, the entry-point group, ``ADVISOR_PLUGINS`` and ``extra``."""
        with self.guard.shield():
            self._load_all(builtins, entrypoints, extra)
        return self

    def _load_all(self, builtins: bool, entrypoints: bool, extra: Iterable[str]) -> None:
        if builtins:
            for name, module in BUILTIN_PLUGINS.items():
                self._load(name, "builtin", module, functools.partial(importlib.import_module, module))
        if entrypoints:
            self._load_entrypoints()
        for spec in [*_split_env("ADVISOR_PLUGINS"), *extra]:
            self.load_spec(spec)

    def load_spec(self, spec: str) -> None:
        """Load ``--plugin PATH_OR_MODULE``: a ``.py`` file or a directory of them, or a module name."""
        path = Path(spec)
        if spec.endswith(".py") or path.exists():
            files = sorted(path.glob("*.py")) if path.is_dir() else [path]
            for file in files:
                if not file.exists():
                    self._fail(file.stem, "path", str(file), f"FileNotFoundError: {file}")
                    continue
                self._load(file.stem, "path", str(file), functools.partial(_import_from_path, file))
        else:
            self._load(spec, "module", spec, lambda: importlib.import_module(spec))

    def _load_entrypoints(self) -> None:
        for ep in sorted(importlib.metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
            version = ep.dist.version if ep.dist is not None else None
            self._load(ep.name, "entrypoint", ep.value, ep.load, version=version)

    def _load(
        self,
        name: str,
        origin: str,
        module: str,
        importer: Callable[[], Any],
        version: str | None = None,
    ) -> None:
        if name in self.infos and self.infos[name].error is None and not self.infos[name].disabled:
            return
        info = PluginInfo(name=name, origin=origin, module=module, version=version)
        self.infos[name] = info
        if name in self.disabled or self.pm.is_blocked(name):
            info.disabled = True
            return
        limits = self.guard.limits
        try:
            plugin = self.guard.call(importer, seconds=limits.load_s, setting=limits.load_setting)
        except PluginFault as fault:
            self._fail(name, origin, module, f"import {fault.detail}")
            return
        if info.version is None:
            version_attribute = getattr(plugin, "__version__", None)
            info.version = version_attribute if isinstance(version_attribute, str) else None
        try:
            self.guard.call(
                functools.partial(self._register, plugin, name), seconds=limits.load_s, setting=limits.load_setting
            )
        except PluginFault as fault:
            if self.pm.get_plugin(name) is not None:
                self.pm.unregister(name=name)
            self._fail(name, origin, module, f"registration {fault.detail}")
            return
        info.hooks = sorted(h.name for h in (self.pm.get_hookcallers(plugin) or []))

    def _register(self, plugin: Any, name: str) -> None:
        self.pm.register(plugin, name=name)
        unknown = [hook.name for hook in (self.pm.get_hookcallers(plugin) or []) if not hook.has_spec()]
        if unknown:
            raise pluggy.PluginValidationError(plugin, f"unknown hook(s): {', '.join(sorted(unknown))}")

    def _fail(self, name: str, origin: str, module: str, message: str) -> None:
        info = self.infos.setdefault(name, PluginInfo(name=name, origin=origin, module=module))
        info.error = message
        self.record_error(name, message)

    def record_error(self, plugin: str, message: str) -> None:
        """Remember a plugin failure (redacted); in strict mode stop the run instead."""
        line = redact_secrets(f"plugin {plugin!r}: {message}")
        if self.strict:
            raise PluginError(line + " (strict plugins: failing)")
        self.errors.append(line)
        if self.on_error is not None:
            self.on_error(line)

    # guarded calls ----------------------------------------------------------------------------
    def shield(self) -> Any:
        """The guard's protections for a stage of many plugin calls (installed once for all)."""
        return self.guard.shield()

    def call_plugin(self, plugin: str, function: Callable[[], T]) -> T:
        """Run plugin code under the guard with the per-call limit; raise :class:`PluginFault`.

        A fault that tried to end or stall the run stops the plugin (:attr:`stopped`); the caller
        records the fault, in its own words.
        """
        limits = self.guard.limits
        try:
            return self.guard.call(function, seconds=limits.call_s, setting=limits.call_setting)
        except PluginFault as fault:
            if fault.stops:
                self.stopped.setdefault(plugin, fault.detail)
            raise

    def stop_note(self, plugin: str) -> str:
        """What a message about a stopping fault adds."""
        return f"; plugin {plugin!r} is stopped: none of its code runs again in this run"

    # calling --------------------------------------------------------------------------------
    def _impls(self, hook_name: str) -> list[Any]:
        caller = getattr(self.pm.hook, hook_name)
        # by plugin name: callers sort what they collect, and nothing depends on load order
        return sorted(caller.get_hookimpls(), key=lambda impl: impl.plugin_name)

    _FAILED = object()

    def _call(
        self, impl: Any, hook_name: str, kwargs: dict[str, Any], accept: Callable[[Any], Any] | None = None
    ) -> Any:
        """Call one implementation with the arguments it asks for; a failure is recorded, not raised.

        ``accept`` checks (and may normalise) the answer inside the guard; it raises
        :class:`~advisor.engine.guard.BadAnswer` for a wrong one, which counts as a failure.
        """
        plugin = impl.plugin_name
        if plugin in self.stopped:
            return self._FAILED

        def invoke() -> Any:
            value = impl.function(*[kwargs[arg] for arg in impl.argnames])
            return accept(value) if accept is not None and value is not None else value

        try:
            return self.call_plugin(plugin, invoke)
        except PluginFault as fault:
            self.record_error(plugin, f"{hook_name} {fault.detail}" + (self.stop_note(plugin) if fault.stops else ""))
            return self._FAILED

    def call_each(
        self, hook_name: str, accept: Callable[[Any], Any] | None = None, **kwargs: Any
    ) -> list[tuple[str, Any]]:
        """Call every implementation of a collecting hook on its own; failures (and answers ``accept``
        refuses) are recorded and left out."""
        with self.shield():
            results = [
                (impl.plugin_name, self._call(impl, hook_name, kwargs, accept)) for impl in self._impls(hook_name)
            ]
        return [(name, value) for name, value in results if value is not self._FAILED]

    def collect_registrations(self, hook_name: str, context: Any) -> list[tuple[str, Any]]:
        """Call a ``register``-style hook and return ``(plugin, object)`` pairs; a plugin whose hook
        raises contributes nothing, not even what it registered before raising."""
        collected: list[tuple[str, Any]] = []
        with self.shield():
            for impl in self._impls(hook_name):
                registered: list[Any] = []
                kwargs = {"register": registered.append, "context": context}
                if self._call(impl, hook_name, kwargs) is not self._FAILED:
                    collected.extend((impl.plugin_name, obj) for obj in registered)
        return collected

    def first_result(
        self, hook_name: str, accept: Callable[[Any], Any] | None = None, **kwargs: Any
    ) -> tuple[str, Any] | None:
        """Call a firstresult hook: tryfirst, normal, then trylast impls; first non-None wins.

        A plugin that raises is recorded and skipped, so a broken ranker falls back to the next
        one (ultimately the built-in) instead of ending the run; so does one whose answer
        ``accept`` refuses. Inside each tier plugins are tried by name, so the answer never
        depends on load order.
        """

        def order(impl: Any) -> tuple[int, str]:
            return (0 if impl.tryfirst else 2 if impl.trylast else 1, impl.plugin_name)

        with self.shield():
            for impl in sorted(self._impls(hook_name), key=order):
                value = self._call(impl, hook_name, kwargs, accept)
                if value is not None and value is not self._FAILED:
                    return impl.plugin_name, value
        return None

    def is_builtin(self, name: str) -> bool:
        info = self.infos.get(name)
        return info is not None and info.builtin

    def plugin_infos(self, include_builtin: bool) -> list[PluginInfo]:
        """Plugins for listing, sorted by name; built-ins only when asked."""
        return sorted((i for i in self.infos.values() if include_builtin or not i.builtin), key=lambda i: i.name)

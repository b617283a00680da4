"""Package attributes imported on first use (PEP 562), for packages whose import must stay cheap.

``advisor`` (the plugin API: ``advisor --help`` must load little more than click) and
``advisor.smoke`` (the worker subprocess imports the package and must not pay for the
estimators) both export names that live in heavier submodules.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from importlib import import_module
from typing import Any, NamedTuple


class LazyAttributes(NamedTuple):
    """The module-level ``__getattr__`` and ``__dir__`` of a package with lazy exports."""

    getattr: Callable[[str], Any]
    dir: Callable[[], list[str]]


def lazy_attributes(package: str, namespace: dict[str, Any], exports: Mapping[str, str]) -> LazyAttributes:
    """``exports`` maps a name to the module that defines it; the first access imports it and
    stores it in the package's ``namespace`` so the next access is a plain lookup."""

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(import_module(module), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return list(namespace.get("__all__", exports))

    return LazyAttributes(__getattr__, __dir__)

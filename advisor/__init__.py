"""model-advisor: which LLM to use and how to run it.

The names below are the public API that every plugin, built-in or third-party, uses
(DESIGN.md §3); ``advisor.estimate`` and ``advisor.sizing`` hold the public estimators.
They are imported on first use (PEP 562) so that ``advisor --help`` loads nothing but click.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS: dict[str, str] = {
    "AdvisorContext": "advisor.context",
    "ArchitectureConfig": "advisor.catalog_records",
    "Assessment": "advisor.plan",
    "Backend": "advisor.extensions",
    "Candidate": "advisor.candidate",
    "CatalogSource": "advisor.extensions",
    "Check": "advisor.checks",
    "Deployment": "advisor.plan",
    "Finding": "advisor.checks",
    "Question": "advisor.extensions",
    "Requirements": "advisor.requirements",
    "Severity": "advisor.checks",
    "StrategySignal": "advisor.plan",
    "hookimpl": "advisor.hookspecs",
    "hookspec": "advisor.hookspecs",
}

__all__ = [
    "AdvisorContext",
    "ArchitectureConfig",
    "Assessment",
    "Backend",
    "Candidate",
    "CatalogSource",
    "Check",
    "Deployment",
    "Finding",
    "Question",
    "Requirements",
    "Severity",
    "StrategySignal",
    "__version__",
    "hookimpl",
    "hookspec",
]

if TYPE_CHECKING:
    from advisor.candidate import Candidate as Candidate
    from advisor.catalog_records import ArchitectureConfig as ArchitectureConfig
    from advisor.checks import Check as Check
    from advisor.checks import Finding as Finding
    from advisor.checks import Severity as Severity
    from advisor.context import AdvisorContext as AdvisorContext
    from advisor.extensions import Backend as Backend
    from advisor.extensions import CatalogSource as CatalogSource
    from advisor.extensions import Question as Question
    from advisor.hookspecs import hookimpl as hookimpl
    from advisor.hookspecs import hookspec as hookspec
    from advisor.plan import Assessment as Assessment
    from advisor.plan import Deployment as Deployment
    from advisor.plan import StrategySignal as StrategySignal
    from advisor.requirements import Requirements as Requirements


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'advisor' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__

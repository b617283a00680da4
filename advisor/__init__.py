"""model-advisor: which LLM to use and how to run it.

The names below are the public API that every plugin, built-in or third-party, uses
(docs/design.md §3); ``advisor.estimate`` and ``advisor.engine.sizing`` hold the public estimators.
They are imported on first use (PEP 562) so that ``advisor --help`` loads nothing but click.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from advisor.lazy import lazy_attributes

__version__ = "0.1.0"

_EXPORTS: dict[str, str] = {
    "AdvisorContext": "advisor.model.context",
    "ArchitectureConfig": "advisor.catalog.records",
    "Assessment": "advisor.model.plan",
    "Backend": "advisor.model.extensions",
    "Candidate": "advisor.model.candidate",
    "CatalogSource": "advisor.model.extensions",
    "Check": "advisor.model.checks",
    "Deployment": "advisor.model.plan",
    "Finding": "advisor.model.checks",
    "Question": "advisor.model.extensions",
    "Requirements": "advisor.model.requirements",
    "Severity": "advisor.model.checks",
    "StrategySignal": "advisor.model.plan",
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
    from advisor.catalog.records import ArchitectureConfig as ArchitectureConfig
    from advisor.hookspecs import hookimpl as hookimpl
    from advisor.hookspecs import hookspec as hookspec
    from advisor.model.candidate import Candidate as Candidate
    from advisor.model.checks import Check as Check
    from advisor.model.checks import Finding as Finding
    from advisor.model.checks import Severity as Severity
    from advisor.model.context import AdvisorContext as AdvisorContext
    from advisor.model.extensions import Backend as Backend
    from advisor.model.extensions import CatalogSource as CatalogSource
    from advisor.model.extensions import Question as Question
    from advisor.model.plan import Assessment as Assessment
    from advisor.model.plan import Deployment as Deployment
    from advisor.model.plan import StrategySignal as StrategySignal
    from advisor.model.requirements import Requirements as Requirements


__getattr__, __dir__ = lazy_attributes(__name__, globals(), _EXPORTS)

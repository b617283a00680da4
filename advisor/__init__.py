"""model-advisor: which LLM to use and how to run it.

The names below are the public API that every plugin, built-in or third-party, uses
(DESIGN.md §3); ``advisor.estimate`` holds the public pure estimators.
"""

from __future__ import annotations

from advisor.candidate import Candidate
from advisor.catalog_records import ArchitectureConfig
from advisor.checks import Check, Finding, Severity
from advisor.context import AdvisorContext
from advisor.extensions import Backend, CatalogSource, Question
from advisor.hookspecs import hookimpl, hookspec
from advisor.plan import Assessment, Deployment, StrategySignal
from advisor.requirements import Requirements

__version__ = "0.1.0"

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

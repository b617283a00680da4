"""The plugin hooks (docs/design.md §3): names and meanings are a contract; arguments may only grow.

Hook implementations may accept any subset of the arguments (pluggy's opt-in arguments), so a
new argument never breaks an existing plugin. Registration hooks take a ``register`` callback so
the host can validate, de-duplicate and attribute what each plugin contributes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from collections.abc import Callable

    from advisor.model.context import AdvisorContext
    from advisor.model.plan import Assessment, Deployment, StrategySignal
    from advisor.model.requirements import Requirements

PROJECT = "model_advisor"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def advisor_register_checks(register: Callable[[Any], None], context: AdvisorContext) -> None:
    """Register :class:`advisor.Check` objects by calling ``register(check)``."""


@hookspec
def advisor_register_questions(register: Callable[[Any], None], context: AdvisorContext) -> None:
    """Register extra questionnaire :class:`advisor.Question` objects by calling ``register(question)``."""


@hookspec
def advisor_register_catalog_sources(register: Callable[[Any], None], context: AdvisorContext) -> None:
    """Register :class:`advisor.CatalogSource` objects that supply models, APIs, hardware, licences or quants."""


@hookspec
def advisor_register_backends(register: Callable[[Any], None], context: AdvisorContext) -> None:
    """Register :class:`advisor.Backend` objects: local inference backends for the smoke test."""


@hookspec
def advisor_strategy_signals(
    requirements: Requirements, assessments: list[Assessment], context: AdvisorContext
) -> list[StrategySignal] | StrategySignal | None:
    """Return votes (:class:`advisor.StrategySignal`) for ``api``, ``open_source`` or ``build``."""


@hookspec(firstresult=True)
def advisor_rank(
    candidates: list[Assessment], requirements: Requirements, context: AdvisorContext
) -> list[Assessment] | None:
    """Return the acceptable assessments best first; the first plugin to answer wins (built-in is trylast)."""


@hookspec(firstresult=True)
def advisor_deployment_plan(
    candidate: Assessment, requirements: Requirements, context: AdvisorContext
) -> Deployment | None:
    """Return the :class:`advisor.Deployment` (engine, quant, hardware, launch command) for a candidate."""

"""The run: candidates → checks → assessments → ranking → strategy → deployment → Plan."""

from __future__ import annotations

from collections.abc import Iterable

from advisor.model.candidate import Candidate
from advisor.model.checks import Finding, selected
from advisor.model.context import AdvisorContext, RegisteredCheck
from advisor.errors import InputError, PluginError
from advisor.model.plan import (
    STRATEGIES,
    Assessment,
    Deployment,
    Plan,
    StrategyDecision,
    StrategySignal,
)
from advisor.model.requirements import Requirements
from advisor.engine.variants import build_candidates


def active_checks(context: AdvisorContext) -> list[RegisteredCheck]:
    """Registered checks after ``--select`` / ``--ignore``."""
    return [rc for rc in context.checks if selected(rc.check.id, context.select, context.ignore)]


def assess(
    candidate: Candidate, requirements: Requirements, checks: Iterable[RegisteredCheck], context: AdvisorContext
) -> Assessment:
    """Run every applicable check on one candidate; a crashing check becomes an ``error`` finding."""
    findings: list[Finding] = []
    metrics: dict[str, object] = {}
    for registered in checks:
        check = registered.check
        if candidate.kind not in check.kinds:
            continue
        try:
            produced = check.evaluate(candidate, requirements, context)
        except InputError:
            raise  # the answers are wrong (e.g. a plugin's namespace): bad input, exit 2
        except Exception as exc:
            message = f"check {check.id} of plugin {registered.plugin!r} crashed: {type(exc).__name__}: {exc}"
            if context.host.strict:
                raise PluginError(message + " (strict plugins: failing)") from exc
            produced = [Finding(severity="error", message=message)]
        for finding in produced:
            stamped = finding.model_copy(
                update={"check": check.id, "category": check.category, "plugin": registered.plugin}
            )
            findings.append(stamped)
            if stamped.severity != "error":
                metrics.update(stamped.metrics)
    return Assessment(candidate=candidate, findings=findings, metrics=metrics)


def assess_all(
    candidates: Iterable[Candidate], requirements: Requirements, context: AdvisorContext
) -> list[Assessment]:
    checks = active_checks(context)
    return [assess(c, requirements, checks, context) for c in candidates]


def rank(assessments: list[Assessment], requirements: Requirements, context: AdvisorContext) -> None:
    """Ask the ranking hook for the order of acceptable assessments and number them from 1."""
    acceptable = [a for a in assessments if a.acceptable]
    answer = context.host.first_result(
        "advisor_rank", candidates=acceptable, requirements=requirements, context=context
    )
    ordered: list[Assessment] = list(answer[1]) if answer else acceptable
    by_identity = {id(a) for a in acceptable}
    position = 1
    for assessment in ordered:
        if id(assessment) in by_identity and assessment.rank is None:
            assessment.rank = position
            position += 1


def decide_strategy(
    requirements: Requirements, assessments: list[Assessment], context: AdvisorContext
) -> StrategyDecision:
    """Sum the plugins' weighted votes per road; the highest share wins."""
    signals: list[StrategySignal] = []
    for plugin, value in context.host.call_each(
        "advisor_strategy_signals", requirements=requirements, assessments=assessments, context=context
    ):
        items = value if isinstance(value, list | tuple) else [value]
        for item in items:
            if item is None:
                continue
            if not isinstance(item, StrategySignal):
                context.host.record_error(plugin, f"advisor_strategy_signals returned {type(item).__name__}")
                continue
            signals.append(item.model_copy(update={"plugin": plugin}))
    signals.sort(key=lambda s: (-s.weight, s.strategy, s.reason))
    # a road none of whose candidates passes the hard requirements cannot be recommended,
    # whatever votes it gets (unless no road has an acceptable candidate)
    feasible = {a.candidate.kind for a in assessments if a.acceptable} or set(STRATEGIES)
    totals = {s: 0.0 for s in STRATEGIES}
    for signal in signals:
        if signal.strategy in feasible:
            totals[signal.strategy] += signal.weight
    grand = sum(totals.values())
    scores = {s: round(v / grand, 3) if grand else round(1 / len(STRATEGIES), 3) for s, v in totals.items()}
    recommended = max(STRATEGIES, key=lambda s: (totals[s], -STRATEGIES.index(s)))
    reasons = [s.reason for s in signals if s.strategy == recommended]
    flips = [s.flip_condition for s in signals if s.flip_condition]
    return StrategyDecision(
        recommended=recommended, scores=scores, reasons=reasons, flip_conditions=flips, signals=signals
    )


def plan_deployment(
    assessments: list[Assessment], requirements: Requirements, context: AdvisorContext
) -> Deployment | None:
    """The deployment plan for the best-ranked open-weights candidate, if any."""
    ranked = sorted((a for a in assessments if a.rank is not None), key=lambda a: a.rank or 0)
    top = next((a for a in ranked if a.candidate.kind == "open_source"), None)
    if top is None:
        return None
    answer = context.host.first_result(
        "advisor_deployment_plan", candidate=top, requirements=requirements, context=context
    )
    if answer is None:
        return None
    plugin, deployment = answer
    if not isinstance(deployment, Deployment):
        context.host.record_error(plugin, f"advisor_deployment_plan returned {type(deployment).__name__}")
        return None
    return deployment


def run_plan(requirements: Requirements, context: AdvisorContext, candidates: list[Candidate] | None = None) -> Plan:
    """The whole pipeline. ``candidates`` restricts the run (``advisor check``)."""
    pool = candidates if candidates is not None else build_candidates(requirements, context.catalog)
    assessments = assess_all(pool, requirements, context)
    rank(assessments, requirements, context)
    strategy = decide_strategy(requirements, assessments, context)
    deployment = plan_deployment(assessments, requirements, context)
    return Plan(
        requirements=requirements.model_dump(mode="json"),
        strategy=strategy,
        assessments=assessments,
        deployment=deployment,
        plugin_errors=list(context.host.errors),
    )

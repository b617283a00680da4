"""The run: candidates → checks → assessments → ranking → strategy → deployment → Plan."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Iterable

from advisor.engine.session import Session
from advisor.engine.variants import build_candidates
from advisor.errors import InputError, PluginError
from advisor.model.candidate import Candidate
from advisor.model.checks import Check, CheckRun, Finding, RegisteredCheck, selected
from advisor.model.context import AdvisorContext
from advisor.model.plan import (
    STRATEGIES,
    Assessment,
    Deployment,
    Plan,
    StrategyDecision,
    StrategySignal,
)
from advisor.model.requirements import Requirements


def active_checks(session: Session) -> list[RegisteredCheck]:
    """Registered checks after ``--select`` / ``--ignore``."""
    return [rc for rc in session.checks if selected(rc.check.id, session.select, session.ignore)]


def evaluate(check: Check, candidate: Candidate, requirements: Requirements, context: AdvisorContext) -> list[Finding]:
    """Run one check and normalise what it returns (a generator, a list, one Finding or None)."""
    run = check.run
    result = run(candidate, requirements, context) if _takes_context(run) else run(candidate, requirements)
    if result is None:
        return []
    if isinstance(result, Finding):
        return [result]
    findings = list(result)
    for item in findings:
        if not isinstance(item, Finding):
            raise TypeError(f"check {check.id} yielded {type(item).__name__}, expected Finding")
    return findings


@functools.cache
def _takes_context(run: CheckRun) -> bool:
    """Whether a check's ``run`` accepts the optional third ``context`` argument (worked out once)."""
    try:
        params = inspect.signature(run).parameters.values()
    except (TypeError, ValueError):
        return False
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return len(positional) >= 3 or any(p.kind == p.VAR_POSITIONAL for p in params)


def assess(
    candidate: Candidate, requirements: Requirements, checks: Iterable[RegisteredCheck], session: Session
) -> Assessment:
    """Run every applicable check on one candidate; a crashing check becomes an ``error`` finding."""
    findings: list[Finding] = []
    metrics: dict[str, object] = {}
    for registered in checks:
        check = registered.check
        if candidate.kind not in check.kinds:
            continue
        try:
            produced = evaluate(check, candidate, requirements, session.context)
        except InputError:
            raise  # the answers are wrong (e.g. a plugin's namespace): bad input, exit 2
        except Exception as exc:
            message = f"check {check.id} of plugin {registered.plugin!r} crashed: {type(exc).__name__}: {exc}"
            if session.host.strict:
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


def assess_all(candidates: Iterable[Candidate], requirements: Requirements, session: Session) -> list[Assessment]:
    checks = active_checks(session)
    return [assess(c, requirements, checks, session) for c in candidates]


def rank(assessments: list[Assessment], requirements: Requirements, session: Session) -> None:
    """Ask the ranking hook for the order of acceptable assessments and number them from 1."""
    acceptable = [a for a in assessments if a.acceptable]
    answer = session.host.first_result(
        "advisor_rank", candidates=acceptable, requirements=requirements, context=session.context
    )
    ordered: list[Assessment] = list(answer[1]) if answer else acceptable
    by_identity = {id(a) for a in acceptable}
    position = 1
    for assessment in ordered:
        if id(assessment) in by_identity and assessment.rank is None:
            assessment.rank = position
            position += 1


def decide_strategy(requirements: Requirements, assessments: list[Assessment], session: Session) -> StrategyDecision:
    """Sum the plugins' weighted votes per road; the highest share wins."""
    signals: list[StrategySignal] = []
    for plugin, value in session.host.call_each(
        "advisor_strategy_signals", requirements=requirements, assessments=assessments, context=session.context
    ):
        items = value if isinstance(value, list | tuple) else [value]
        for item in items:
            if item is None:
                continue
            if not isinstance(item, StrategySignal):
                session.host.record_error(plugin, f"advisor_strategy_signals returned {type(item).__name__}")
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


def lead_with_road(assessments: list[Assessment], road: str) -> None:
    """Renumber the ranks so the recommended road's candidates come first, each road keeping the
    ranking's order: the report's first row is then the best option of the road it recommends
    (a plan never recommends one road and lists another's option first)."""
    ranked = sorted((a for a in assessments if a.rank is not None), key=lambda a: a.rank or 0)
    ordered = [a for a in ranked if a.candidate.kind == road] + [a for a in ranked if a.candidate.kind != road]
    for position, assessment in enumerate(ordered, start=1):
        assessment.rank = position


def plan_deployment(
    assessments: list[Assessment], requirements: Requirements, session: Session, road: str = "open_source"
) -> Deployment | None:
    """The next steps for the recommended road's best-ranked candidate: a self-hosted deployment,
    an API integration or a build plan (the built-in hook answers all three; an open-weights
    candidate is planned when the road has none)."""
    ranked = sorted((a for a in assessments if a.rank is not None), key=lambda a: a.rank or 0)
    top = next((a for a in ranked if a.candidate.kind == road), None)
    if road == "build":
        builds = [a for a in assessments if a.candidate.kind == "build"]
        pretrain = [a for a in builds if "method" not in a.candidate.extra]
        top = next((a for a in pretrain if a.acceptable), top)
    if top is None:
        top = next((a for a in ranked if a.candidate.kind == "open_source"), None)
    if top is None:
        return None
    answer = session.host.first_result(
        "advisor_deployment_plan", candidate=top, requirements=requirements, context=session.context
    )
    if answer is None:
        return None
    plugin, deployment = answer
    if not isinstance(deployment, Deployment):
        session.host.record_error(plugin, f"advisor_deployment_plan returned {type(deployment).__name__}")
        return None
    return deployment


def run_plan(requirements: Requirements, session: Session, candidates: list[Candidate] | None = None) -> Plan:
    """The whole pipeline. ``candidates`` restricts the run (``advisor check``)."""
    pool = candidates if candidates is not None else build_candidates(requirements, session.catalog)
    assessments = assess_all(pool, requirements, session)
    rank(assessments, requirements, session)
    strategy = decide_strategy(requirements, assessments, session)
    lead_with_road(assessments, strategy.recommended)
    deployment = plan_deployment(assessments, requirements, session, strategy.recommended)
    return Plan(
        requirements=requirements.model_dump(mode="json"),
        strategy=strategy,
        assessments=assessments,
        deployment=deployment,
        plugin_errors=list(session.host.errors),
    )

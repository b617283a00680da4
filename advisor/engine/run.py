"""The run: candidates → checks → assessments → ranking → strategy → deployment → Plan.

Plugin code runs under the host's guard (:mod:`advisor.engine.guard`). A check gets its own copy of
the requirements (and, for a plugin that is not built in, of the candidate), so what it changes is
seen by no other check and not by the report; the report's requirements are read before any check
runs. A failing check gives each candidate an ``error`` finding and the plan one plugin error per
check, not one per candidate; hooks' answers are checked and a wrong one falls back.
"""

from __future__ import annotations

import functools
import inspect
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel

from advisor.engine.evaluation_design import evaluate_first
from advisor.engine.guard import BadAnswer, PluginFault, redact_secrets
from advisor.engine.session import Session
from advisor.engine.variants import build_candidates
from advisor.errors import PluginError
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

M = TypeVar("M", bound=BaseModel)


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


def _plain(value: M, model: type[M], verb: str = "returned") -> M:
    """A plugin's answer rebuilt as a plain, validated ``model`` (no subclass, nothing built with
    ``model_construct``), holding only strict JSON (no NaN or infinity): called inside the guard."""
    try:
        data = json.loads(json.dumps(value.model_dump(mode="json"), allow_nan=False))
        return model.model_validate(data)
    except Exception as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise BadAnswer(f"{verb} a {model.__name__} that is not valid plain JSON ({reason})") from None


def _plain_findings(
    check: Check, candidate: Candidate, requirements: Requirements, context: AdvisorContext
) -> list[Finding]:
    """:func:`evaluate` for a plugin that is not built in: every finding rebuilt plain."""
    return [_plain(f, Finding, "yielded") for f in evaluate(check, candidate, requirements, context)]


@functools.cache
def _takes_context(run: CheckRun) -> bool:
    """Whether a check's ``run`` accepts the optional third ``context`` argument (worked out once)."""
    try:
        params = inspect.signature(run).parameters.values()
    except (TypeError, ValueError):
        return False
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return len(positional) >= 3 or any(p.kind == p.VAR_POSITIONAL for p in params)


@dataclass
class _CheckFailures:
    """How one check failed across the candidates: the first message and how many times."""

    first: str
    count: int = 0
    stops: bool = False


def assess(
    candidate: Candidate,
    requirements: Requirements,
    checks: Iterable[RegisteredCheck],
    session: Session,
    failures: dict[tuple[str, str], _CheckFailures] | None = None,
    views: dict[str, Requirements] | None = None,
) -> Assessment:
    """Run every applicable check on one candidate; a failing check becomes an ``error`` finding.

    ``failures`` collects failures per (plugin, check) for the plan's plugin errors; ``views`` holds
    the built-in checks' copies of the requirements (one per check for the run).
    """
    host = session.host
    failures = {} if failures is None else failures
    views = {} if views is None else views
    findings: list[Finding] = []
    metrics: dict[str, object] = {}
    for registered in checks:
        check = registered.check
        if candidate.kind not in check.kinds:
            continue
        plugin = registered.plugin
        builtin = host.is_builtin(plugin)
        failure = failures.get((plugin, check.id))
        if plugin in host.stopped:
            message = f"check {check.id} of plugin {plugin!r} not run: the plugin was stopped (see plugin errors)"
            produced = [Finding(severity="error", message=message)]
            if failure is not None and failure.stops:
                failure.count += 1
        else:
            if builtin:
                own = views.get(check.id) or views.setdefault(check.id, requirements.model_copy(deep=True))
                seen = candidate
            else:
                own, seen = requirements.model_copy(deep=True), candidate.model_copy(deep=True)
            run = evaluate if builtin else _plain_findings
            try:
                produced = host.call_plugin(plugin, functools.partial(run, check, seen, own, session.context))
            except PluginFault as fault:
                message = f"check {check.id} of plugin {plugin!r} {fault.detail}"
                if host.strict:
                    raise PluginError(message + " (strict plugins: failing)") from None
                failure = failures.setdefault((plugin, check.id), _CheckFailures(first=message))
                failure.count += 1
                failure.stops = failure.stops or fault.stops
                produced = [Finding(severity="error", message=message)]
        for finding in produced:
            update: dict[str, Any] = {"check": check.id, "category": check.category, "plugin": plugin}
            if not builtin:
                update |= _redacted(finding)
            stamped = finding.model_copy(update=update)
            findings.append(stamped)
            if stamped.severity != "error":
                metrics.update(stamped.metrics)
    return Assessment(candidate=candidate, findings=findings, metrics=metrics)


def _redacted(finding: Finding) -> dict[str, Any]:
    """A plugin's finding texts without secrets (what its message quotes is the plugin's choice)."""
    return {
        "message": redact_secrets(finding.message),
        "remediation": None if finding.remediation is None else redact_secrets(finding.remediation),
        "evidence": _redact_value(finding.evidence),
    }


def _redact_value(value: Any) -> Any:
    if isinstance(value, str):
        return redact_secrets(value)
    if isinstance(value, Mapping):
        return {k: _redact_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redact_value(v) for v in value]
    return value


def assess_all(candidates: Iterable[Candidate], requirements: Requirements, session: Session) -> list[Assessment]:
    """Assess every candidate; then one plugin error per failing check (not one per candidate)."""
    checks = active_checks(session)
    failures: dict[tuple[str, str], _CheckFailures] = {}
    views: dict[str, Requirements] = {}
    with session.host.shield():
        assessments = [assess(c, requirements, checks, session, failures, views) for c in candidates]
    for (plugin, _check_id), failure in sorted(failures.items()):
        if failure.stops:
            note = session.host.stop_note(plugin) + f" ({failure.count} candidates have an error finding)"
        else:
            note = f" ({failure.count} of {len(assessments)} candidates failed like this; each has an error finding)"
        session.host.record_error(plugin, failure.first + note)
    return assessments


def _ranking(acceptable: list[Assessment]) -> Any:
    """The check on ``advisor_rank``'s answer: some of the assessments it was given, in order."""
    given = {id(a) for a in acceptable}

    def accept(value: Any) -> list[Assessment]:
        if isinstance(value, str | bytes | Mapping) or not isinstance(value, Iterable):
            raise BadAnswer(f"returned {type(value).__name__}, expected a list of the Assessments it was given")
        items = list(value)
        for item in items:
            if not isinstance(item, Assessment):
                raise BadAnswer(f"returned a list holding {type(item).__name__}, expected Assessments")
            if id(item) not in given:
                raise BadAnswer("returned an Assessment it was not given (order the given ones, do not copy them)")
        if acceptable and not items:
            raise BadAnswer(f"returned an empty list for {len(acceptable)} acceptable candidates")
        return items

    return accept


def rank(assessments: list[Assessment], requirements: Requirements, session: Session) -> None:
    """Ask the ranking hook for the order of acceptable assessments and number them from 1."""
    acceptable = [a for a in assessments if a.acceptable]
    answer = session.host.first_result(
        "advisor_rank",
        accept=_ranking(acceptable),
        candidates=acceptable,
        requirements=requirements.model_copy(deep=True),
        context=session.context,
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
        "advisor_strategy_signals",
        accept=_signals,
        requirements=requirements.model_copy(deep=True),
        assessments=assessments,
        context=session.context,
    ):
        signals.extend(item.model_copy(update={"plugin": plugin}) for item in value or [])
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
        "advisor_deployment_plan",
        accept=_deployment,
        candidate=top,
        requirements=requirements.model_copy(deep=True),
        context=session.context,
    )
    return None if answer is None else answer[1]


def _deployment(value: Any) -> Deployment:
    """The check on ``advisor_deployment_plan``'s answer."""
    if not isinstance(value, Deployment):
        raise BadAnswer(f"returned {type(value).__name__}, expected a Deployment (or None)")
    return _plain(value, Deployment)


def _signals(value: Any) -> list[StrategySignal]:
    """The check on ``advisor_strategy_signals``' answer: one signal or a list of them (None skipped)."""
    items = value if isinstance(value, list | tuple) else [value]
    signals = []
    for item in items:
        if item is None:
            continue
        if not isinstance(item, StrategySignal):
            raise BadAnswer(f"returned {type(item).__name__}, expected StrategySignal (or a list of them)")
        signals.append(_plain(item, StrategySignal))
    return signals


def run_plan(requirements: Requirements, session: Session, candidates: list[Candidate] | None = None) -> Plan:
    """The whole pipeline. ``candidates`` restricts the run (``advisor check``)."""
    answers = requirements.model_dump(mode="json")  # before any plugin code sees the requirements
    pool = candidates if candidates is not None else build_candidates(requirements, session.catalog)
    assessments = assess_all(pool, requirements, session)
    rank(assessments, requirements, session)
    strategy = decide_strategy(requirements, assessments, session)
    lead_with_road(assessments, strategy.recommended)
    deployment = plan_deployment(assessments, requirements, session, strategy.recommended)
    return Plan(
        requirements=answers,
        strategy=strategy,
        assessments=assessments,
        deployment=deployment,
        plugin_errors=list(session.host.errors),
        evaluate_first=evaluate_first(assessments, session.catalog),
    )

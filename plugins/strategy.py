"""Strategy signals: votes for api / open_source / build from privacy, team, cost, quality and ambition."""

from __future__ import annotations

from advisor import AdvisorContext, Assessment, Requirements, StrategySignal, hookimpl
from advisor.estimate.cost import monthly_tokens
from advisor.estimate.cost_constants import cost_constants


def _cheapest(assessments: list[Assessment], kind: str) -> Assessment | None:
    priced = [
        a
        for a in assessments
        if a.acceptable and a.candidate.kind == kind and isinstance(a.metrics.get("monthly_cost_usd"), int | float)
    ]
    return min(priced, key=lambda a: (float(a.metrics["monthly_cost_usd"]), a.candidate.key), default=None)


def _best_quality(assessments: list[Assessment], kind: str) -> float | None:
    values = [
        float(a.metrics["quality"])
        for a in assessments
        if a.acceptable and a.candidate.kind == kind and isinstance(a.metrics.get("quality"), int | float)
    ]
    return max(values, default=None)


@hookimpl
def advisor_strategy_signals(
    requirements: Requirements, assessments: list[Assessment], context: AdvisorContext
) -> list[StrategySignal]:
    signals: list[StrategySignal] = []
    acceptable = {
        kind: any(a.acceptable and a.candidate.kind == kind for a in assessments)
        for kind in ("api", "open_source", "build")
    }
    if requirements.must_stay_local:
        signals.append(
            StrategySignal(
                strategy="open_source",
                weight=3.0,
                reason="data must stay on your own hardware, which rules out hosted APIs",
                flip_condition="if prompts may leave the premises, hosted APIs compete again",
            )
        )
    if requirements.team.mlops == "none" and requirements.team.ml_engineers == 0:
        signals.append(
            StrategySignal(
                strategy="api",
                weight=1.5,
                reason="no ML engineers or MLOps to run a model server",
                flip_condition="with an engineer who can run a model server, self-hosting becomes practical",
            )
        )
    elif requirements.team.mlops == "strong":
        signals.append(
            StrategySignal(
                strategy="open_source", weight=1.0, reason="a strong MLOps team can run and tune self-hosted models"
            )
        )
    api, own = _cheapest(assessments, "api"), _cheapest(assessments, "open_source")
    if api is not None and own is not None:
        api_cost = float(api.metrics["monthly_cost_usd"])
        own_cost = float(own.metrics["monthly_cost_usd"])
        winner = "api" if api_cost <= own_cost else "open_source"
        traffic = requirements.traffic
        tokens = monthly_tokens(
            traffic.requests_per_day,
            traffic.input_tokens,
            traffic.output_tokens,
            cost_constants().days_per_month,
        ).total
        flip = None
        if tokens > 0 and api_cost > 0:
            api_per_token = api_cost / tokens
            break_even = own_cost / api_per_token
            flip = (
                f"self-hosting {own.candidate.id} ({own.candidate.quant}) beats {api.candidate.id} above "
                f"{break_even:.3g} tokens/month (now {tokens:.3g}; estimate)"
            )
        signals.append(
            StrategySignal(
                strategy=winner,
                weight=2.0,
                reason=(
                    f"cheapest acceptable API {api.candidate.id} ≈ ${api_cost:,.0f}/month vs cheapest acceptable "
                    f"self-hosted {own.candidate.id} ≈ ${own_cost:,.0f}/month (estimates)"
                ),
                flip_condition=flip,
            )
        )
    elif acceptable["api"] != acceptable["open_source"]:
        only = "api" if acceptable["api"] else "open_source"
        signals.append(
            StrategySignal(
                strategy=only,
                weight=2.0,
                reason=f"only {'APIs' if only == 'api' else 'open-weights models'} pass every hard requirement",
            )
        )
    api_q, own_q = _best_quality(assessments, "api"), _best_quality(assessments, "open_source")
    if requirements.quality == "frontier" and api_q is not None and (own_q is None or api_q > own_q):
        signals.append(
            StrategySignal(
                strategy="api",
                weight=1.0,
                reason=f"frontier quality asked: the best API scores {api_q:.2f} against "
                f"{own_q if own_q is not None else 'no'} for open weights",
            )
        )
    ambition = requirements.strategy
    criteria = {
        "tech-leadership ambition": ambition.tech_leadership_ambition,
        "needs unmet by existing APIs and open models": ambition.unmet_by_existing,
        "a long-term budget that covers pretraining": acceptable["build"] and ambition.long_term_budget_usd > 0,
    }
    if all(criteria.values()):
        signals.append(
            StrategySignal(strategy="build", weight=4.0, reason="all build criteria hold: " + ", ".join(criteria))
        )
    else:
        missing = [name for name, ok in criteria.items() if not ok]
        signals.append(
            StrategySignal(
                strategy="build",
                weight=0.0,
                reason="building is not advised: missing " + ", ".join(missing),
                flip_condition="building becomes an option with " + ", ".join(missing),
            )
        )
    return signals

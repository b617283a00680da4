"""Strategy signals: votes for api / open_source / build, each with the numbers behind it.

Privacy (on-prem, air gap), licence feasibility, the quality each road reaches against the bar,
cost at today's traffic and the break-even volume against the cheapest API of comparable
quality, the team's MLOps maturity, and the build criteria (ambition, long-term budget, needs
unmet by existing models) with the build's payback. Most teams get an API or open weights;
building gets a decisive vote only when every build criterion holds, and its reasons say what it
costs and whether it pays back.
"""

from __future__ import annotations

import math

from advisor import AdvisorContext, Assessment, Requirements, StrategySignal, hookimpl
from advisor.engine.economics import Market, SelfHosted, quality, usd, variant, viable
from advisor.estimate.cost_constants import cost_settings
from advisor.estimate.units import human_count
from advisor.model.metrics import PretrainingMetrics, PriceMetrics, StaffMetrics

#: Votes. Privacy and the build criteria outweigh cost; cost outweighs team and quality nudges.
WEIGHTS = {
    "privacy": 3.0,
    "only_road": 2.0,
    "licence": 2.0,
    "cost": 2.0,
    "no_team": 1.5,
    "strong_team": 1.0,
    "quality": 1.0,
    "frontier_quality": 1.5,
    "build_criteria": 4.0,
    "owned_hardware": 2.0,
    "small_saving": 0.5,
}

#: A monthly difference below this, or below a tenth of the dearer option, is noise against the
#: estimates' own error (±20 % on speed alone): the cost vote then counts little (stated assumption).
SMALL_SAVING_USD = 100.0


def _variant(assessment: Assessment) -> str:
    c = assessment.candidate
    return f"{c.id} ({variant(c)})" if c.kind == "open_source" else c.id


def _times(ratio: float) -> str:
    """3.8× below ten, 26× and 14,285× above."""
    return f"{ratio:.2g}×" if ratio < 10 else f"{ratio:,.0f}×"


def _duration(months: float) -> str:
    """Months up to ten years, years beyond."""
    return f"{months:,.0f} months" if months <= 120 else f"{months / 12:,.0f} years"


def _privacy(requirements: Requirements) -> list[StrategySignal]:
    if not requirements.must_stay_local:
        return []
    rule = "the air gap" if requirements.privacy.air_gapped else "the on-prem rule"
    return [
        StrategySignal(
            strategy="open_source",
            weight=WEIGHTS["privacy"],
            reason=f"data must stay on your own hardware ({rule}), which rules out hosted APIs",
            flip_condition="if prompts may leave the premises (on_prem_required and air_gapped false), hosted APIs "
            "compete again on cost and quality",
        )
    ]


def _licence(assessments: list[Assessment]) -> list[StrategySignal]:
    opens = [a for a in assessments if a.candidate.kind == "open_source"]
    blocked = [a for a in opens if any(f.severity == "fail" and f.category == "license" for f in a.findings)]
    if not opens or len(blocked) < len(opens):
        return []
    return [
        StrategySignal(
            strategy="api",
            weight=WEIGHTS["licence"],
            reason=f"no open-weights licence in the catalog allows this use ({len(blocked)} variants fail the "
            "licence checks)",
            flip_condition="with a use the licences allow (fewer monthly users, no SaaS hosting, or non-commercial), "
            "open weights compete again",
        )
    ]


def _team(requirements: Requirements) -> list[StrategySignal]:
    team = requirements.team
    # one person running a model on their own machine needs no server team
    one_user = bool(requirements.on_hand_hardware) and requirements.traffic.peak_concurrency == 1
    if team.mlops == "none" and team.ml_engineers == 0 and not one_user:
        return [
            StrategySignal(
                strategy="api",
                weight=WEIGHTS["no_team"],
                reason="no ML engineers or MLOps to run, monitor and upgrade a model server",
                flip_condition="with an engineer who can run a model server (team.mlops basic), self-hosting "
                "becomes practical",
            )
        ]
    if team.mlops == "strong":
        return [
            StrategySignal(
                strategy="open_source",
                weight=WEIGHTS["strong_team"],
                reason="a strong MLOps team can run and tune self-hosted models at little extra cost",
            )
        ]
    return []


def _quality(requirements: Requirements, assessments: list[Assessment], margin: float) -> list[StrategySignal]:
    def best(kind: str) -> Assessment | None:
        scored = [a for a in assessments if a.acceptable and a.candidate.kind == kind and quality(a)]
        return max(scored, key=lambda a: (quality(a) or 0.0, a.candidate.key), default=None)

    api, own = best("api"), best("open_source")
    if api is None or own is None:
        return []
    api_q, own_q = quality(api) or 0.0, quality(own) or 0.0
    if api_q - own_q > margin:
        frontier = requirements.quality == "frontier"
        return [
            StrategySignal(
                strategy="api",
                weight=WEIGHTS["frontier_quality" if frontier else "quality"],
                reason=f"APIs reach higher quality: {api.candidate.id} scores {api_q:.2f} against {own_q:.2f} for "
                f"the best acceptable self-hosted model ({own.candidate.id})",
                flip_condition=f"if a model scoring {own_q:.2f} is good enough for the use case, quality stops "
                "favouring APIs",
            )
        ]
    if own_q - api_q > margin:
        return [
            StrategySignal(
                strategy="open_source",
                weight=WEIGHTS["quality"],
                reason=f"the best acceptable open model {own.candidate.id} scores {own_q:.2f} against {api_q:.2f} "
                f"for the best acceptable API",
            )
        ]
    return []


def _only_road(assessments: list[Assessment]) -> list[StrategySignal]:
    api = any(a.acceptable and a.candidate.kind == "api" for a in assessments)
    own = any(a.acceptable and a.candidate.kind == "open_source" for a in assessments)
    if api == own:
        return []
    only = "api" if api else "open_source"
    blocked = "open_source" if api else "api"
    counts: dict[str, int] = {}
    for a in assessments:
        if a.candidate.kind == blocked:
            for f in a.findings:
                if f.severity == "fail":
                    counts[f.check or f.category or "?"] = counts.get(f.check or f.category or "?", 0) + 1
    why = ", ".join(f"{n} fail {check}" for check, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:3])
    return [
        StrategySignal(
            strategy=only,
            weight=WEIGHTS["only_road"],
            reason=f"only {'APIs' if only == 'api' else 'open-weights models'} pass every hard requirement"
            + (f" (the {'self-hosted' if blocked == 'open_source' else 'API'} variants: {why})" if why else ""),
        )
    ]


def _cost(market: Market) -> list[StrategySignal]:
    """Today's bill at comparable quality, and the volume at which the answer flips."""
    signals: list[StrategySignal] = []
    flip = _break_even_flip(market)
    pairs = []
    for strict in (True, False):
        for serving in market.servings:
            if not (serving.assessment.acceptable if strict else viable(serving.assessment)):
                continue
            api = market.comparable_api(quality(serving.assessment), acceptable_only=strict)
            if api is not None:
                pairs.append((serving, api, api.monthly_usd - serving.monthly_usd))
        if pairs:
            break
    if pairs:
        serving, api, saving = max(pairs, key=lambda p: (p[2], -(p[0].assessment.rank or 0)))
        if saving > 0:
            reason = (
                f"self-hosting {_variant(serving.assessment)} ≈ {usd(serving.monthly_usd)}/month (total cost of "
                f"ownership{_tco_note(serving)}) costs less than {api.assessment.candidate.id}, the cheapest API of "
                f"comparable quality, ≈ {usd(api.monthly_usd)}/month (estimates)"
            )
            winner = "open_source"
        else:
            serving, api, _ = min(pairs, key=lambda p: (p[0].monthly_usd, p[0].assessment.candidate.key))
            reason = (
                f"{api.assessment.candidate.id} ≈ {usd(api.monthly_usd)}/month undercuts the cheapest self-hosted "
                f"option of comparable quality, {_variant(serving.assessment)} ≈ {usd(serving.monthly_usd)}/month "
                f"(total cost of ownership{_tco_note(serving)}; estimates)"
            )
            winner = "api"
        gap = abs(api.monthly_usd - serving.monthly_usd)
        small = gap < SMALL_SAVING_USD or gap < 0.1 * max(api.monthly_usd, serving.monthly_usd, 1.0)
        if small:
            reason += f"; the difference, ≈ {usd(gap)}/month, is within the estimates' error"
        weight = WEIGHTS["small_saving" if small else "cost"]
        signals.append(StrategySignal(strategy=winner, weight=weight, reason=reason, flip_condition=flip))
    elif flip:
        signals.append(StrategySignal(strategy="open_source", weight=0.0, reason=flip))
    return signals


def _tco_note(serving: SelfHosted) -> str:
    """What the total cost of ownership of a self-hosted option holds beyond its cash."""
    staff = StaffMetrics.from_metrics(serving.assessment.metrics)
    if staff.hours_per_month is None:
        return ""
    if staff.engineer_time == "already_paid":
        return f": cash only, the {staff.hours_per_month:g} h/month of staff time is already paid"
    return f": cash + {staff.hours_per_month:g} h/month of engineer time ≈ {usd(staff.usd_per_month or 0.0)}"


def _owned_hardware(requirements: Requirements, market: Market) -> list[StrategySignal]:
    """Hardware the business already owns that runs an acceptable model: its cash cost is power."""
    if not requirements.on_hand_hardware:
        return []
    runs = [s for s in market.servings if s.assessment.acceptable]
    if not runs:
        return []
    best = min(runs, key=lambda s: (s.assessment.rank or 0, s.assessment.candidate.key))
    cash = PriceMetrics.from_metrics(best.assessment.metrics).monthly_usd or 0.0
    return [
        StrategySignal(
            strategy="open_source",
            weight=WEIGHTS["owned_hardware"],
            reason=f"the hardware you own already runs {_variant(best.assessment)}, which meets every requirement: "
            f"the cash it adds is ≈ {usd(cash)}/month (power, plus any devices to buy; estimate)",
            flip_condition="if that hardware is needed for other work, or the model it runs is not good enough in "
            "a pilot, an API competes again",
        )
    ]


def _break_even_flip(market: Market) -> str | None:
    """Where self-hosting some viable candidate beats its comparable API, in words and numbers."""
    results = [r for s in market.servings if viable(s.assessment) for r in [market.break_even(s)] if r is not None]
    if not results:
        return None
    reachable = [r for r in results if r.span.first is not None]
    if not reachable:
        best = min(
            results,
            key=lambda r: (r.serving.cost.usd_per_1m_at_capacity or math.inf, r.serving.assessment.candidate.key),
        )
        capacity_price = best.serving.cost.usd_per_1m_at_capacity or math.inf
        return (
            f"self-hosting never beats the API on cost at this traffic shape: even fully used, "
            f"{_variant(best.serving.assessment)} costs ${capacity_price:.3g} per 1M tokens against "
            f"${best.api.usd_per_token * 1e6:.3g} for {best.api.assessment.candidate.id} (estimate)"
        )
    best = min(
        reachable,
        key=lambda r: (
            r.span.always if r.span.always is not None else math.inf,
            r.span.first or math.inf,
            r.serving.assessment.candidate.key,
        ),
    )
    span, now = best.span, market.tokens.total
    first = span.first or 0.0
    api_q, own_q = quality(best.api.assessment), quality(best.serving.assessment)
    compared = f" ({api_q:.2f} vs {own_q:.2f})" if api_q is not None and own_q is not None else ""
    who = f"self-hosting {_variant(best.serving.assessment)}"
    api = f"{best.api.assessment.candidate.id}, the cheapest API of comparable quality{compared}"
    if span.always is None:
        until = span.until or first
        window = f"between {human_count(first)} and {human_count(until)} tokens/month (now {human_count(now)})"
        return (
            f"{who} beats {api} only {window}: the hardware you own is cheap, more GPUs at rental prices cost more "
            "than the API (estimate)"
        )
    if now >= span.always:
        return f"{who} is already cheaper than {api}; the API wins below {_volume(span.always, market)} (estimate)"
    later = f" (it first breaks even at {human_count(first)})" if first < span.always * 0.99 else ""
    if now >= first:
        return (
            f"{who} is cheaper than {api} at today's volume, and at every volume above "
            f"{_volume(span.always, market)}{later} (estimate)"
        )
    return f"{who} beats {api} above {_volume(span.always, market)}{later} (estimate)"


def _volume(volume: float, market: Market) -> str:
    """A volume with its requests/day and its ratio to today's traffic (requests and concurrency scaled)."""
    text = f"{human_count(volume)} tokens/month (≈ {human_count(market.requests_per_day(volume))} requests/day"
    now = market.tokens.total
    if now > 0:
        ratio = volume / now
        text += f"; now {human_count(now)}, " + (
            f"{_times(ratio)} today's traffic" if ratio >= 1 else f"{ratio:.0%} of today's traffic"
        )
    return text + ")"


def _build(requirements: Requirements, market: Market, weight: float) -> list[StrategySignal]:
    ambition = requirements.strategy
    # the pretraining candidate carries the build criteria; fine-tune candidates are the cheaper road
    build = market.build
    metrics = PretrainingMetrics.from_metrics(build.metrics) if build is not None else PretrainingMetrics()
    criteria = {
        "tech-leadership ambition": ambition.tech_leadership_ambition,
        "needs unmet by existing APIs and open models": ambition.unmet_by_existing,
        "a long-term budget that covers pretraining": bool(build and build.acceptable)
        and ambition.long_term_budget_usd > 0,
    }
    finetune = metrics.finetune_usd
    finetune_text = (
        f"fine-tuning an open model ({metrics.finetune_method}, ≈ {usd(finetune)}) is the cheaper build "
        "road when existing models only miss your domain or style"
        if finetune is not None
        else None
    )
    signals: list[StrategySignal] = []
    if all(criteria.values()):
        upfront = metrics.upfront_usd
        cost = f" (≈ {usd(upfront)} upfront, within the long-term budget)" if upfront is not None else ""
        hired = metrics.team_size
        team = (
            f"; the estimate hires a team of {hired:.0f} (you have {requirements.team.ml_engineers} ML engineers)"
            if hired is not None and hired > requirements.team.ml_engineers
            else ""
        )
        signals.append(
            StrategySignal(
                strategy="build",
                weight=weight,
                reason="all build criteria hold: " + ", ".join(criteria) + cost + team,
                flip_condition="without the ambition, the unmet need or the long-term budget, building is not "
                "advised: an API or open weights serve the same traffic for less",
            )
        )
        payback = _payback(market)
        if payback is not None:
            signals.append(payback)
        if finetune_text:
            signals.append(StrategySignal(strategy="build", weight=0.0, reason=finetune_text))
        return signals
    missing = [name for name, ok in criteria.items() if not ok]
    signals.append(
        StrategySignal(
            strategy="build",
            weight=0.0,
            reason="building is not advised: missing " + ", ".join(missing),
            flip_condition="building becomes an option with "
            + ", ".join(missing)
            + (f"; before that, {finetune_text}" if finetune_text else ""),
        )
    )
    return signals


def _payback(market: Market) -> StrategySignal | None:
    """The build's payback (``Market.payback``) in words, with the volume at which it pays back in time."""
    payback = market.payback()
    if payback is None:
        return None
    upfront, api, serving = payback.upfront_usd, payback.api, payback.serving
    api_id = api.assessment.candidate.id
    like = f"serving it like {_variant(serving.assessment)} ≈ {usd(serving.monthly_usd)}/month"
    if payback.months is not None:
        reason = (
            f"on cost alone the build (≈ {usd(upfront)}) pays back in {_duration(payback.months)} against {api_id} "
            f"(≈ {usd(api.monthly_usd)}/month at today's traffic), {like} (estimate)"
        )
    else:
        reason = (
            f"on cost alone the build (≈ {usd(upfront)}) never pays back at today's traffic: {api_id} costs "
            f"≈ {usd(api.monthly_usd)}/month, {like}; the case for building rests on the criteria, not on savings"
        )
    volume, horizon = payback.within_horizon_above, market.settings.horizon_months
    flip = (
        f"building pays back within {horizon:g} months above {human_count(volume)} tokens/month "
        f"(≈ {human_count(market.requests_per_day(volume))} requests/day; estimate)"
        if volume is not None
        else f"building never pays back against {api_id} at any volume with this traffic shape (estimate)"
    )
    return StrategySignal(strategy="build", weight=0.0, reason=reason, flip_condition=flip)


@hookimpl
def advisor_strategy_signals(
    requirements: Requirements, assessments: list[Assessment], context: AdvisorContext
) -> list[StrategySignal]:
    settings = cost_settings(requirements.plugins)
    market = Market(requirements, assessments, settings)
    others = [
        *_privacy(requirements),
        *_licence(assessments),
        *_only_road(assessments),
        *_team(requirements),
        *_owned_hardware(requirements, market),
        *_quality(requirements, assessments, settings.constants.comparable_quality_margin),
        *_cost(market),
    ]
    # when every build criterion holds the build vote is decisive: it outweighs all the others together
    decisive = max(WEIGHTS["build_criteria"], sum(s.weight for s in others) + 1.0)
    return [*others, *_build(requirements, market, decisive)]

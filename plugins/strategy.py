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
from dataclasses import dataclass

from advisor import AdvisorContext, Assessment, Requirements, StrategySignal, hookimpl
from advisor.estimate.cost import (
    BreakEven,
    PricedOption,
    ServingCost,
    cheapest_comparable,
    monthly_tokens,
    payback_months,
    serving_from_metrics,
)
from advisor.estimate.cost_constants import CostSettings, cost_settings
from advisor.estimate.quality import quality_bar

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
}


def _number(assessment: Assessment, key: str) -> float | None:
    value = assessment.metrics.get(key)
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _viable(assessment: Assessment) -> bool:
    """Passes every hard requirement except (perhaps) the budget: worth a break-even line."""
    return not any(f.severity == "fail" and f.category != "cost" for f in assessment.findings)


def _variant(assessment: Assessment) -> str:
    c = assessment.candidate
    if c.kind != "open_source":
        return c.id
    where = f" on {c.hardware_count or 1}× {c.hardware}" if c.hardware else ""
    return f"{c.id} ({c.quant}{where})"


def _sci(value: float) -> str:
    """1.04e11-style volumes; plain digits below a million."""
    if value < 1e6:
        return f"{value:,.0f}"
    mantissa, exponent = f"{value:.2e}".split("e")
    return f"{float(mantissa):g}e{int(exponent)}"


def _count(value: float) -> str:
    """Whole numbers with separators; millions as 42.9M."""
    return f"{value / 1e6:,.3g}M" if value >= 1e6 else f"{value:,.0f}"


def _times(ratio: float) -> str:
    """3.8× below ten, 26× and 14,285× above."""
    return f"{ratio:.2g}×" if ratio < 10 else f"{ratio:,.0f}×"


def _duration(months: float) -> str:
    """Months up to ten years, years beyond."""
    return f"{months:,.0f} months" if months <= 120 else f"{months / 12:,.0f} years"


def _usd(value: float) -> str:
    return f"${value / 1e6:,.1f}M" if abs(value) >= 1e6 else f"${value:,.0f}"


@dataclass(frozen=True)
class _Serving:
    """A self-hosted candidate's cost structure, read back from COST001's metrics."""

    assessment: Assessment
    cost: ServingCost

    @property
    def monthly(self) -> float:
        return _number(self.assessment, "monthly_cost_usd") or self.cost.monthly_usd

    @classmethod
    def of(cls, assessment: Assessment) -> _Serving | None:
        cost = serving_from_metrics(assessment.metrics)
        return cls(assessment, cost) if cost is not None else None

    def break_even(self, api_usd_per_token: float, extra_fixed: float = 0.0) -> BreakEven:
        return self.cost.break_even(api_usd_per_token, extra_fixed)


@dataclass(frozen=True)
class _BreakEven:
    serving: _Serving
    api: Assessment
    api_usd_per_token: float
    span: BreakEven


class _Market:
    """The priced candidates of one run and the comparisons between them."""

    def __init__(self, requirements: Requirements, assessments: list[Assessment], settings: CostSettings) -> None:
        self.settings = settings
        traffic = requirements.traffic
        self.per_request = traffic.input_tokens + traffic.output_tokens
        self.tokens = monthly_tokens(
            traffic.requests_per_day, traffic.input_tokens, traffic.output_tokens, settings.constants.days_per_month
        ).total
        self.margin = settings.constants.comparable_quality_margin
        self.apis = [a for a in assessments if a.candidate.kind == "api" and _number(a, "usd_per_1m_tokens")]
        self.servings = [
            s for a in assessments if a.candidate.kind == "open_source" for s in [_Serving.of(a)] if s is not None
        ]

    def requests_per_day(self, tokens_per_month: float) -> float:
        return tokens_per_month / self.per_request / self.settings.constants.days_per_month if self.per_request else 0.0

    def comparable_api(self, quality: float | None, *, acceptable_only: bool) -> Assessment | None:
        """The cheapest API whose quality is at least ``quality − margin`` (any API if quality is unknown)."""
        pool = {a.candidate.key: a for a in self.apis if (a.acceptable if acceptable_only else _viable(a))}
        options = [
            PricedOption(key, _number(a, "quality"), (_number(a, "usd_per_1m_tokens") or 0.0) / 1e6)
            for key, a in pool.items()
        ]
        best = cheapest_comparable(options, quality, self.margin)
        return pool[best.key] if best is not None else None

    def break_even(self, serving: _Serving, *, acceptable_only: bool = False) -> _BreakEven | None:
        api = self.comparable_api(_number(serving.assessment, "quality"), acceptable_only=acceptable_only)
        if api is None:
            return None
        per_token = (_number(api, "usd_per_1m_tokens") or 0.0) / 1e6
        return _BreakEven(serving, api, per_token, serving.break_even(per_token))


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
        scored = [a for a in assessments if a.acceptable and a.candidate.kind == kind and _number(a, "quality")]
        return max(scored, key=lambda a: (_number(a, "quality") or 0.0, a.candidate.key), default=None)

    api, own = best("api"), best("open_source")
    if api is None or own is None:
        return []
    api_q, own_q = _number(api, "quality") or 0.0, _number(own, "quality") or 0.0
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


def _cost(market: _Market, assessments: list[Assessment]) -> list[StrategySignal]:
    """Today's bill at comparable quality, and the volume at which the answer flips."""
    signals: list[StrategySignal] = []
    flip = _break_even_flip(market)
    pairs = []
    for strict in (True, False):
        for serving in market.servings:
            if not (serving.assessment.acceptable if strict else _viable(serving.assessment)):
                continue
            api = market.comparable_api(_number(serving.assessment, "quality"), acceptable_only=strict)
            if api is not None:
                pairs.append((serving, api, (_number(api, "monthly_cost_usd") or 0.0) - serving.monthly))
        if pairs:
            break
    if pairs:
        serving, api, saving = max(pairs, key=lambda p: (p[2], -(p[0].assessment.rank or 0)))
        api_cost = _number(api, "monthly_cost_usd") or 0.0
        if saving > 0:
            reason = (
                f"self-hosting {_variant(serving.assessment)} ≈ {_usd(serving.monthly)}/month costs less than "
                f"{api.candidate.id}, the cheapest API of comparable quality, ≈ {_usd(api_cost)}/month (estimates)"
            )
            winner = "open_source"
        else:
            serving, api, _ = min(pairs, key=lambda p: (p[0].monthly, p[0].assessment.candidate.key))
            api_cost = _number(api, "monthly_cost_usd") or 0.0
            reason = (
                f"{api.candidate.id} ≈ {_usd(api_cost)}/month undercuts the cheapest self-hosted option of comparable "
                f"quality, {_variant(serving.assessment)} ≈ {_usd(serving.monthly)}/month (estimates)"
            )
            winner = "api"
        signals.append(StrategySignal(strategy=winner, weight=WEIGHTS["cost"], reason=reason, flip_condition=flip))
    elif flip:
        signals.append(StrategySignal(strategy="open_source", weight=0.0, reason=flip))
    return signals


def _break_even_flip(market: _Market) -> str | None:
    """Where self-hosting some viable candidate beats its comparable API, in words and numbers."""
    results = [r for s in market.servings if _viable(s.assessment) for r in [market.break_even(s)] if r is not None]
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
            f"${best.api_usd_per_token * 1e6:.3g} for {best.api.candidate.id} (estimate)"
        )
    best = min(
        reachable,
        key=lambda r: (
            r.span.always if r.span.always is not None else math.inf,
            r.span.first or math.inf,
            r.serving.assessment.candidate.key,
        ),
    )
    span, now = best.span, market.tokens
    first = span.first or 0.0
    api_q, own_q = _number(best.api, "quality"), _number(best.serving.assessment, "quality")
    compared = f" ({api_q:.2f} vs {own_q:.2f})" if api_q is not None and own_q is not None else ""
    who = f"self-hosting {_variant(best.serving.assessment)}"
    api = f"{best.api.candidate.id}, the cheapest API of comparable quality{compared}"
    if span.always is None:
        until = span.until or first
        window = f"between {_sci(first)} and {_sci(until)} tokens/month (now {_sci(now)})"
        return (
            f"{who} beats {api} only {window}: the hardware you own is cheap, more GPUs at rental prices cost more "
            "than the API (estimate)"
        )
    if now >= span.always:
        return f"{who} is already cheaper than {api}; the API wins below {_volume(span.always, market)} (estimate)"
    later = f" (it first breaks even at {_sci(first)})" if first < span.always * 0.99 else ""
    if now >= first:
        return (
            f"{who} is cheaper than {api} at today's volume, and at every volume above "
            f"{_volume(span.always, market)}{later} (estimate)"
        )
    return f"{who} beats {api} above {_volume(span.always, market)}{later} (estimate)"


def _volume(volume: float, market: _Market) -> str:
    """A volume with its requests/day and its ratio to today's traffic (requests and concurrency scaled)."""
    text = f"{_sci(volume)} tokens/month (≈ {_count(market.requests_per_day(volume))} requests/day"
    now = market.tokens
    if now > 0:
        ratio = volume / now
        text += f"; now {_sci(now)}, " + (
            f"{_times(ratio)} today's traffic" if ratio >= 1 else f"{ratio:.0%} of today's traffic"
        )
    return text + ")"


def _build(
    requirements: Requirements, assessments: list[Assessment], market: _Market, weight: float
) -> list[StrategySignal]:
    ambition = requirements.strategy
    # the pretraining candidate carries the build criteria; fine-tune candidates (extra.method) are the cheaper road
    builds = [a for a in assessments if a.candidate.kind == "build" and "method" not in a.candidate.extra]
    build = next((a for a in builds if a.acceptable), builds[0] if builds else None)
    criteria = {
        "tech-leadership ambition": ambition.tech_leadership_ambition,
        "needs unmet by existing APIs and open models": ambition.unmet_by_existing,
        "a long-term budget that covers pretraining": bool(build and build.acceptable)
        and ambition.long_term_budget_usd > 0,
    }
    payback, payback_flip = _payback(requirements, build, market)
    finetune = _number(build, "finetune_usd") if build is not None else None
    finetune_text = (
        f"fine-tuning an open model ({build.metrics.get('finetune_method')}, ≈ {_usd(finetune)}) is the cheaper build "
        "road when existing models only miss your domain or style"
        if build is not None and finetune is not None
        else None
    )
    signals: list[StrategySignal] = []
    if all(criteria.values()):
        upfront = _number(build, "upfront_cost_usd") if build is not None else None
        cost = f" (≈ {_usd(upfront)} upfront, within the long-term budget)" if upfront is not None else ""
        hired = _number(build, "training_team_size") if build is not None else None
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
        if payback:
            signals.append(StrategySignal(strategy="build", weight=0.0, reason=payback, flip_condition=payback_flip))
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


def _payback(requirements: Requirements, build: Assessment | None, market: _Market) -> tuple[str | None, str | None]:
    """When the build's upfront spend is repaid by not paying the API, serving the own model instead.

    Serving is priced as the viable self-hosted candidate closest in size to the build target.
    """
    if build is None or build.candidate.params is None:
        return None, None
    upfront = _number(build, "upfront_cost_usd")
    bar = quality_bar(requirements.quality, requirements.min_quality)
    api = market.comparable_api(bar, acceptable_only=False)
    proxies = [s for s in market.servings if _viable(s.assessment) and s.assessment.candidate.params]
    if upfront is None or api is None or not proxies:
        return None, None
    target = float(build.candidate.params)
    proxy = min(
        proxies,
        key=lambda s: (abs(math.log(float(s.assessment.candidate.params or 1) / target)), s.monthly),
    )
    api_monthly = _number(api, "monthly_cost_usd") or 0.0
    months = payback_months(upfront, api_monthly - proxy.monthly)
    horizon = market.settings.horizon_months
    per_token = (_number(api, "usd_per_1m_tokens") or 0.0) / 1e6
    volume = proxy.break_even(per_token, upfront / horizon).always
    serving = f"serving it like {_variant(proxy.assessment)} ≈ {_usd(proxy.monthly)}/month"
    if months is not None:
        text = (
            f"on cost alone the build (≈ {_usd(upfront)}) pays back in {_duration(months)} against {api.candidate.id} "
            f"(≈ {_usd(api_monthly)}/month at today's traffic), {serving} (estimate)"
        )
    else:
        text = (
            f"on cost alone the build (≈ {_usd(upfront)}) never pays back at today's traffic: {api.candidate.id} costs "
            f"≈ {_usd(api_monthly)}/month, {serving}; the case for building rests on the criteria, not on savings"
        )
    flip = (
        f"building pays back within {horizon:g} months above {_sci(volume)} tokens/month "
        f"(≈ {_count(market.requests_per_day(volume))} requests/day; estimate)"
        if volume is not None
        else f"building never pays back against {api.candidate.id} at any volume with this traffic shape (estimate)"
    )
    return text, flip


@hookimpl
def advisor_strategy_signals(
    requirements: Requirements, assessments: list[Assessment], context: AdvisorContext
) -> list[StrategySignal]:
    settings = cost_settings(requirements.plugins)
    market = _Market(requirements, assessments, settings)
    others = [
        *_privacy(requirements),
        *_licence(assessments),
        *_only_road(assessments),
        *_team(requirements),
        *_quality(requirements, assessments, settings.constants.comparable_quality_margin),
        *_cost(market, assessments),
    ]
    # when every build criterion holds the build vote is decisive: it outweighs all the others together
    decisive = max(WEIGHTS["build_criteria"], sum(s.weight for s in others) + 1.0)
    return [*others, *_build(requirements, assessments, market, decisive)]

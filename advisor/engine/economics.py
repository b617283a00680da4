"""The economics of a plan, in one place: what each road costs, the API a self-hosted option is
compared with, break-even, and the build's payback.

The strategy plugin (its cost vote, flip conditions and payback reason), ``advisor cost`` and the
HTML report's break-even chart all read the numbers from here, so they cannot disagree. The maths
is pure (``advisor.estimate.cost``); this module picks which priced candidates it applies to.

The rules, and why:

- **Comparable API**: the cheapest priced API (a positive blended price) whose quality is at least
  the self-hosted option's minus ``comparable_quality_margin`` (any API when quality is unknown),
  among the APIs that pass every requirement except the budget. An API that busts the budget is
  still what self-hosting would replace; one that fails privacy or quality is not an alternative.
  (The cost vote first looks among acceptable candidates only: ``acceptable_only``.)
- **The open road** in the summary and the chart is the road's top-ranked self-hosted variant (what
  the deployment plan runs), else its cheapest rejected one. Break-even is given for each self-hosted
  row shown, against that row's comparable API.
- **Payback** of the build: upfront spend ÷ (comparable API's month at the quality bar − the month
  of serving the built model). The built model is served like the viable self-hosted option
  **closest in size** to the build target, not like the open road's top-ranked variant: serving
  cost follows model size, and a 70B model does not run at a 14B model's price (``advisor cost``
  used the top-ranked open variant before this module; the strategy and docs/cost.md used the size
  rule). The chart's build line serves the build the same way.

:func:`cost_summary` is the JSON document ``advisor cost`` prints and the HTML report charts.
Nothing here imports ``advisor.cli``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from advisor.estimate.cost import (
    BreakEven,
    MonthlyTokens,
    PricedOption,
    ServingCost,
    cheapest_comparable,
    cost_curve,
    log_volumes,
    monthly_tokens,
    payback_months,
    peak_requests_per_s,
)
from advisor.estimate.cost_constants import CostSettings
from advisor.estimate.quality import quality_bar
from advisor.estimate.units import human_count
from advisor.model.candidate import Candidate
from advisor.model.metrics import (
    EnergyMetrics,
    PriceMetrics,
    QualityMetrics,
    ServingMetrics,
    StaffMetrics,
    TrainingEnergyMetrics,
)
from advisor.model.plan import Assessment, Plan
from advisor.model.requirements import Requirements

ROADS = ("api", "open_source", "build")


# --------------------------------------------------------------------------------------------- words


def usd(value: float) -> str:
    """Money for a sentence: $1,234 below a million, $1.2M above."""
    return f"${value / 1e6:,.1f}M" if abs(value) >= 1e6 else f"${value:,.0f}"


def variant(candidate: Candidate) -> str:
    """What distinguishes a candidate of its model: the provider, the build method, or quant and hardware."""
    if candidate.kind == "api":
        return f"API ({candidate.provider})"
    if candidate.kind == "build":
        method = candidate.extra.get("method", "pretrain")
        return f"{method} {(candidate.params or 0) / 1e9:,.0f}B"
    if candidate.hardware:
        return f"{candidate.quant} on {candidate.hardware_count or 1}× {candidate.hardware}"
    return str(candidate.quant)


# --------------------------------------------------------------------------------------------- the market


def viable(assessment: Assessment) -> bool:
    """Passes every hard requirement except (perhaps) the budget: a real alternative on cost."""
    return not any(f.severity == "fail" and f.category != "cost" for f in assessment.findings)


def pretraining(assessment: Assessment) -> bool:
    """The build road proper; fine-tune candidates (``extra["method"]``) are its cheaper alternative."""
    return assessment.candidate.kind == "build" and "method" not in assessment.candidate.extra


def quality(assessment: Assessment) -> float | None:
    return QualityMetrics.from_metrics(assessment.metrics).value


@dataclass(frozen=True)
class PricedApi:
    """An API candidate with a positive blended price for today's traffic."""

    assessment: Assessment
    monthly_usd: float
    usd_per_token: float


@dataclass(frozen=True)
class SelfHosted:
    """A self-hosted candidate with the cost structure COST001 published; ``monthly_usd`` is its
    total cost of ownership (the cash plus engineer time when ``team.engineer_time`` is extra)."""

    assessment: Assessment
    cost: ServingCost
    monthly_usd: float


@dataclass(frozen=True)
class BreakEvenAgainst:
    """Self-hosting one option against its comparable API."""

    serving: SelfHosted
    api: PricedApi
    span: BreakEven


@dataclass(frozen=True)
class Payback:
    """The build's upfront spend repaid by the API bill it avoids, serving the own model like ``serving``.

    ``months`` is None when there is no saving at today's traffic; ``within_horizon_above`` is the
    monthly volume above which it pays back within the horizon (None: at no volume).
    """

    build: Assessment
    upfront_usd: float
    api: PricedApi
    serving: SelfHosted
    months: float | None
    within_horizon_above: float | None


def _priced_api(assessment: Assessment) -> PricedApi | None:
    price = PriceMetrics.from_metrics(assessment.metrics)
    if assessment.candidate.kind != "api" or not price.usd_per_1m_tokens:
        return None
    return PricedApi(assessment, price.monthly_usd or 0.0, price.usd_per_1m_tokens / 1e6)


def _self_hosted(assessment: Assessment) -> SelfHosted | None:
    m = ServingMetrics.from_metrics(assessment.metrics)
    if assessment.candidate.kind != "open_source" or m is None:
        return None
    cost = ServingCost(
        m.fixed_usd,
        m.replica_usd,
        m.replicas,
        m.replica_tokens_per_month,
        m.min_replicas,
        m.owned_replicas,
        m.owned_replica_usd,
    )
    # the road comparison uses the total cost of ownership (cash + engineer time when it is extra spend)
    tco = StaffMetrics.from_metrics(assessment.metrics).tco_monthly_usd
    cash = PriceMetrics.from_metrics(assessment.metrics).monthly_usd
    return SelfHosted(assessment, cost, tco if tco is not None else (cash or cost.monthly_usd))


class Market:
    """The priced candidates of one plan and the comparisons between them."""

    def __init__(self, requirements: Requirements, assessments: list[Assessment], settings: CostSettings) -> None:
        self.requirements = requirements
        self.settings = settings
        traffic = requirements.traffic
        self.per_request = traffic.input_tokens + traffic.output_tokens
        self.tokens: MonthlyTokens = monthly_tokens(
            traffic.requests_per_day, traffic.input_tokens, traffic.output_tokens, settings.constants.days_per_month
        )
        self.margin = settings.constants.comparable_quality_margin
        self.apis = [p for a in assessments for p in [_priced_api(a)] if p is not None]
        self.servings = [s for a in assessments for s in [_self_hosted(a)] if s is not None]
        builds = [a for a in assessments if pretraining(a)]
        #: the pretraining candidate (the acceptable one when there are several)
        self.build = next((a for a in builds if a.acceptable), builds[0] if builds else None)

    def requests_per_day(self, tokens_per_month: float) -> float:
        """The requests/day that carry ``tokens_per_month`` at today's tokens per request."""
        if not self.per_request:
            return 0.0
        return tokens_per_month / self.per_request / self.settings.constants.days_per_month

    def serving(self, key: str) -> SelfHosted | None:
        return next((s for s in self.servings if s.assessment.candidate.key == key), None)

    def comparable_api(self, quality_floor: float | None, *, acceptable_only: bool = False) -> PricedApi | None:
        """The cheapest API whose quality is at least ``quality_floor − margin`` (any API if it is unknown)."""
        pool = {
            p.assessment.candidate.key: p
            for p in self.apis
            if (p.assessment.acceptable if acceptable_only else viable(p.assessment))
        }
        options = [PricedOption(key, quality(p.assessment), p.usd_per_token) for key, p in pool.items()]
        best = cheapest_comparable(options, quality_floor, self.margin)
        return pool[best.key] if best is not None else None

    def break_even(self, serving: SelfHosted, *, acceptable_only: bool = False) -> BreakEvenAgainst | None:
        """Self-hosting ``serving`` against its comparable API; None when there is no such API."""
        api = self.comparable_api(quality(serving.assessment), acceptable_only=acceptable_only)
        if api is None:
            return None
        return BreakEvenAgainst(serving, api, serving.cost.break_even(api.usd_per_token))

    def serving_like(self, build: Assessment) -> SelfHosted | None:
        """How the built model would be served: the viable self-hosted option closest in size (log scale)."""
        if build.candidate.params is None:
            return None
        proxies = [s for s in self.servings if viable(s.assessment) and s.assessment.candidate.params]
        target = float(build.candidate.params)
        return min(
            proxies,
            key=lambda s: (abs(math.log(float(s.assessment.candidate.params or 1) / target)), s.monthly_usd),
            default=None,
        )

    def payback(self) -> Payback | None:
        """The build's payback against the cheapest API that meets the quality bar."""
        build = self.build
        if build is None:
            return None
        serving = self.serving_like(build)
        upfront = PriceMetrics.from_metrics(build.metrics).upfront_usd
        api = self.comparable_api(quality_bar(self.requirements.quality, self.requirements.min_quality))
        if serving is None or upfront is None or api is None:
            return None
        months = payback_months(upfront, api.monthly_usd - serving.monthly_usd)
        horizon = serving.cost.break_even(api.usd_per_token, upfront / self.settings.horizon_months).always
        return Payback(build, upfront, api, serving, months, horizon)


# --------------------------------------------------------------------------------------------- the summary


def _row(road: str, role: str, assessment: Assessment, horizon: float) -> dict[str, Any]:
    price = PriceMetrics.from_metrics(assessment.metrics)
    energy = EnergyMetrics.from_metrics(assessment.metrics)
    training = TrainingEnergyMetrics.from_metrics(assessment.metrics)
    upfront = price.upfront_usd or 0.0
    total = upfront + horizon * (price.monthly_usd or 0.0)
    failed = sorted({f.check or "?" for f in assessment.findings if f.severity == "fail"})
    return {
        "road": road,
        "role": role,
        "candidate": assessment.candidate.id,
        "key": assessment.candidate.key,
        "variant": variant(assessment.candidate),
        "rank": assessment.rank,
        "verdict": assessment.verdict,
        "monthly_cost_usd": price.monthly_usd,
        "upfront_cost_usd": upfront,
        "total_cost_usd": round(total, 2),
        "total_includes_running": price.monthly_usd is not None,
        "usd_per_1m_tokens": price.usd_per_1m_tokens,
        "energy_kwh_per_month": energy.kwh_per_month,
        "co2_kg_per_month": energy.co2_kg_per_month,
        "training_kwh": training.kwh,
        "training_co2_kg": training.co2_kg,
        "rejected_by": failed,
    }


def _road_rows(road: str, assessments: list[Assessment], horizon: float) -> list[dict[str, Any]]:
    """The road's best-ranked and cheapest acceptable candidates; the cheapest rejected one if none passes.

    The build road is pretraining an own model; fine-tune candidates are the cheaper alternative
    the plan lists beside it.
    """
    mine = [a for a in assessments if a.candidate.kind == road and (road != "build" or pretraining(a))]

    def price(a: Assessment) -> float:
        """Total over the horizon; infinite when COST001 priced nothing."""
        p = PriceMetrics.from_metrics(a.metrics)
        if p.monthly_usd is None and p.upfront_usd is None:
            return math.inf
        return (p.upfront_usd or 0.0) + horizon * (p.monthly_usd or 0.0)

    acceptable = sorted((a for a in mine if a.rank is not None), key=lambda a: a.rank or 0)
    priced = [a for a in mine if math.isfinite(price(a))]
    if acceptable:
        rows = [_row(road, "top-ranked", acceptable[0], horizon)]
        cheapest = min((a for a in acceptable if a in priced), key=lambda a: (price(a), a.candidate.key), default=None)
        if cheapest is not None and cheapest is not acceptable[0]:
            rows.append(_row(road, "cheapest", cheapest, horizon))
        return rows
    if priced:
        cheapest = min(priced, key=lambda a: (price(a), a.candidate.key))
        return [_row(road, "cheapest (rejected)", cheapest, horizon)]
    return []


def _break_even_row(row: dict[str, Any], market: Market, by_key: dict[str, Assessment]) -> dict[str, Any]:
    """Self-hosting this row's candidate against the cheapest API of comparable quality."""
    api = market.comparable_api(quality(by_key[row["key"]]))
    serving = market.serving(row["key"])
    result: dict[str, Any] = {"self_hosted": row["key"], "api": api.assessment.candidate.id if api else None}
    if api is None or serving is None or not serving.cost.replica_tokens:
        result.update(
            {
                "tokens_per_month": None,
                "text": f"{row['key']}: no priced API of comparable quality passes the other requirements",
            }
        )
        return result
    cost, now = serving.cost, market.tokens.total
    span = cost.break_even(api.usd_per_token)
    at_capacity = cost.usd_per_1m_at_capacity or 0.0
    result.update(
        {
            "api_usd_per_1m_tokens": api.usd_per_token * 1e6,
            "selfhost_usd_per_1m_at_capacity": round(at_capacity, 4),
            "selfhost_fixed_usd": cost.fixed_usd,
            "selfhost_replica_usd": cost.per_replica_usd,
            "selfhost_owned_replicas": cost.owned_replicas,
            "selfhost_owned_replica_usd": cost.owned_replica_usd,
            "replica_tokens_per_month": cost.replica_tokens,
            "tokens_per_month": span.first,
            "always_above_tokens_per_month": span.always,
            "until_tokens_per_month": span.until,
            "times_today": span.first / now if span.first is not None and now > 0 else None,
        }
    )
    name = f"{row['key']} vs {api.assessment.candidate.id} (${api.usd_per_token * 1e6:.3g}/1M)"
    if span.first is None:
        result["text"] = f"{name}: never cheaper; a fully used replica costs ${at_capacity:.3g}/1M"
        return result
    owned = (
        f"{cost.owned_replicas} owned at ${cost.owned_replica_usd:,.0f}, then "
        if cost.owned_replica_usd is not None and cost.owned_replicas
        else ""
    )
    structure = (
        f"fixed ${cost.fixed_usd:,.0f} + replicas of {human_count(cost.replica_tokens)} tokens/month: "
        f"{owned}${cost.per_replica_usd:,.0f} each"
    )
    if span.always is not None:
        where = f"cheaper from {human_count(span.first)} tokens/month, always above {human_count(span.always)}"
        where += f" ({span.always / now:,.3g}× today)" if now > 0 else ""
    else:
        until = human_count(span.until or span.first)
        where = f"cheaper only between {human_count(span.first)} and {until} tokens/month"
    result["text"] = f"{name}: {where}; {structure}"
    return result


def _payback_summary(payback: Payback | None) -> dict[str, Any] | None:
    if payback is None:
        return None
    build, api = payback.build.candidate.id, payback.api.assessment.candidate.id
    serving_key = payback.serving.assessment.candidate.key
    upfront, api_monthly, serving = payback.upfront_usd, payback.api.monthly_usd, payback.serving.monthly_usd
    months = payback.months
    when = f"pays back in {months:,.0f} months" if months is not None else "never pays back at today's traffic"
    return {
        "build": build,
        "upfront_usd": upfront,
        "api": api,
        "api_monthly_usd": api_monthly,
        "serving_like": serving_key,
        "serving_monthly_usd": serving,
        "months": months,
        "text": f"{build} (${upfront:,.0f} upfront) {when}: it avoids {api} (${api_monthly:,.0f}/month) and costs "
        f"${serving:,.0f}/month to serve like {serving_key}",
    }


def cost_summary(plan: Plan, requirements: Requirements, settings: CostSettings) -> dict[str, Any]:
    """The JSON document ``advisor cost`` prints (its table is drawn from it; the HTML report charts it)."""
    market = Market(requirements, plan.assessments, settings)
    traffic, tokens, horizon = requirements.traffic, market.tokens, settings.horizon_months
    rows = [row for road in ROADS for row in _road_rows(road, plan.assessments, horizon)]
    by_key = {a.candidate.key: a for a in plan.assessments}
    api_row = next((r for r in rows if r["road"] == "api"), None)
    open_row = next((r for r in rows if r["road"] == "open_source"), None)
    build_row = next((r for r in rows if r["road"] == "build"), None)
    open_serving = market.serving(open_row["key"]) if open_row is not None else None
    build_serving = market.serving_like(by_key[build_row["key"]]) if build_row is not None else None
    api_per_token = api_row["usd_per_1m_tokens"] / 1e6 if api_row and api_row["usd_per_1m_tokens"] else None
    now = max(tokens.total, 1.0)
    curve = cost_curve(
        api_per_token,
        open_serving.cost if open_serving is not None else None,
        build_row["upfront_cost_usd"] if build_row else None,
        horizon,
        log_volumes(now / 100, now * 10_000, 25),
        build_serving.cost if build_serving is not None else None,
    )
    served_like = build_serving.assessment.candidate.key if build_serving is not None else "-"
    return {
        "answers": requirements.model_dump(mode="json"),
        "traffic": {
            "requests_per_day": traffic.requests_per_day,
            "tokens_per_month": tokens.total,
            "input_tokens_per_month": tokens.input_tokens,
            "output_tokens_per_month": tokens.output_tokens,
            "peak_requests_per_min": round(
                peak_requests_per_s(traffic.requests_per_day, settings.peak_to_average) * 60, 2
            ),
        },
        "horizon_months": horizon,
        "strategy": {
            "recommended": plan.strategy.recommended,
            "scores": plan.strategy.scores,
            "reasons": plan.strategy.reasons,
            "flip_conditions": plan.strategy.flip_conditions,
        },
        "roads": rows,
        "break_even": [_break_even_row(row, market, by_key) for row in rows if row["road"] == "open_source"],
        "build_payback": _payback_summary(market.payback()),
        "curve": {
            "options": {
                "api": api_row["candidate"] if api_row else None,
                "open_source": open_row["key"] if open_row else None,
                "build": build_row["candidate"] if build_row else None,
            },
            "note": "monthly USD against monthly tokens at today's traffic shape; build = upfront / horizon + serving "
            f"like {served_like}, the viable self-hosted option closest in size",
            "points": [{"tokens_per_month": p.tokens_per_month, **p.usd} for p in curve],
        },
        "deployment": plan.deployment.model_dump(mode="json") if plan.deployment is not None else None,
        "assumptions": settings.assumptions(),
    }

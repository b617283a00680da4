"""``advisor cost --answers FILE``: what each road costs per month and in total, and where it flips.

Runs the same plan as ``advisor plan`` (so the numbers are COST001's), then shows for each road
(API, open weights, build) its best-ranked and its cheapest candidate, the total over the
horizon, the break-even volume of self-hosting against the cheapest API of comparable quality,
the build's payback, the flip conditions, and every assumption the figures rest on.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from advisor.cli import make_context, plugin_options, print_table

if TYPE_CHECKING:
    from advisor.estimate.cost_constants import CostSettings
    from advisor.model.plan import Assessment, Plan
    from advisor.model.requirements import Requirements

ROADS = ("api", "open_source", "build")
COLUMNS = [
    "road",
    "role",
    "candidate",
    "variant",
    "$/month",
    "upfront $",
    "total $",
    "$/1M tokens",
    "kWh/month",
    "CO2 kg/month",
    "status",
]


@click.command(name="cost")
@click.option("--answers", type=click.Path(path_type=Path), required=True, help="Answers file (YAML or JSON).")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@plugin_options
def cost(answers: Path, fmt: str, plugins: tuple[str, ...], strict_plugins: bool, catalog_dir: Path | None) -> None:
    """Monthly and total cost per road (API, open weights, build), with break-even and payback."""
    from advisor.engine.run import run_plan
    from advisor.estimate.cost_constants import CostSettings, cost_answers, cost_constants
    from advisor.model.requirements import load_requirements

    requirements = load_requirements(answers)
    settings = CostSettings(
        constants=cost_constants(), answers=cost_answers(requirements.plugins.get("cost"), str(answers))
    )
    context = make_context(plugins, strict_plugins, catalog_dir)
    summary = cost_summary(run_plan(requirements, context), requirements, settings)
    if fmt == "json":
        click.echo(json.dumps(summary, indent=2, ensure_ascii=False))
        return
    _print(summary)


def _num(assessment: Assessment, key: str) -> float | None:
    value = assessment.metrics.get(key)
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _variant(assessment: Assessment) -> str:
    c = assessment.candidate
    if c.kind == "api":
        return f"API ({c.provider})"
    if c.kind == "build":
        method = c.extra.get("method", "pretrain")
        return f"{method} {(c.params or 0) / 1e9:,.0f}B"
    return f"{c.quant} on {c.hardware_count or 1}× {c.hardware}" if c.hardware else str(c.quant)


def _row(road: str, role: str, assessment: Assessment, horizon: float) -> dict[str, Any]:
    monthly = _num(assessment, "monthly_cost_usd")
    upfront = _num(assessment, "upfront_cost_usd") or 0.0
    total = upfront + horizon * (monthly or 0.0)
    failed = sorted({f.check or "?" for f in assessment.findings if f.severity == "fail"})
    return {
        "road": road,
        "role": role,
        "candidate": assessment.candidate.id,
        "key": assessment.candidate.key,
        "variant": _variant(assessment),
        "rank": assessment.rank,
        "verdict": assessment.verdict,
        "monthly_cost_usd": monthly,
        "upfront_cost_usd": upfront,
        "total_cost_usd": round(total, 2),
        "total_includes_running": monthly is not None,
        "usd_per_1m_tokens": _num(assessment, "usd_per_1m_tokens"),
        "energy_kwh_per_month": _num(assessment, "energy_kwh_per_month"),
        "co2_kg_per_month": _num(assessment, "co2_kg_per_month"),
        "training_kwh": _num(assessment, "training_kwh"),
        "training_co2_kg": _num(assessment, "training_co2_kg"),
        "rejected_by": failed,
    }


def _road_rows(road: str, assessments: list[Assessment], horizon: float) -> list[dict[str, Any]]:
    """The road's best-ranked and cheapest acceptable candidates; the cheapest rejected one if none passes.

    The build road is pretraining an own model; fine-tune candidates (``extra["method"]``) are the
    cheaper alternative the plan lists beside it, as the strategy does.
    """
    mine = [
        a for a in assessments if a.candidate.kind == road and not (road == "build" and "method" in a.candidate.extra)
    ]

    def price(a: Assessment) -> float:
        """Total over the horizon; infinite when COST001 priced nothing."""
        monthly, upfront = _num(a, "monthly_cost_usd"), _num(a, "upfront_cost_usd")
        if monthly is None and upfront is None:
            return math.inf
        return (upfront or 0.0) + horizon * (monthly or 0.0)

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


def cost_summary(plan: Plan, requirements: Requirements, settings: CostSettings) -> dict[str, Any]:
    """The JSON document ``advisor cost`` prints (the table is drawn from it)."""
    from advisor.estimate.cost import (
        cost_curve,
        log_volumes,
        monthly_tokens,
        peak_requests_per_s,
        serving_from_metrics,
    )

    c = settings.constants
    traffic = requirements.traffic
    tokens = monthly_tokens(traffic.requests_per_day, traffic.input_tokens, traffic.output_tokens, c.days_per_month)
    horizon = settings.horizon_months
    rows = [row for road in ROADS for row in _road_rows(road, plan.assessments, horizon)]
    by_key = {a.candidate.key: a for a in plan.assessments}
    api_row = next((r for r in rows if r["road"] == "api"), None)
    open_row = next((r for r in rows if r["road"] == "open_source"), None)
    build_row = next((r for r in rows if r["road"] == "build"), None)
    serving = serving_from_metrics(by_key[open_row["key"]].metrics) if open_row is not None else None
    api_per_token = (api_row["usd_per_1m_tokens"] or 0.0) / 1e6 if api_row and api_row["usd_per_1m_tokens"] else None
    now = max(tokens.total, 1.0)
    curve = cost_curve(
        api_per_token,
        serving,
        build_row["upfront_cost_usd"] if build_row else None,
        horizon,
        log_volumes(now / 100, now * 10_000, 25),
    )
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
        "break_even": [
            _break_even(row, plan.assessments, settings, tokens.total) for row in rows if row["road"] == "open_source"
        ],
        "build_payback": _payback(build_row, open_row, plan.assessments, settings, requirements),
        "curve": {
            "options": {
                "api": api_row["candidate"] if api_row else None,
                "open_source": open_row["key"] if open_row else None,
                "build": build_row["candidate"] if build_row else None,
            },
            "note": "monthly USD against monthly tokens at today's traffic shape; build = upfront / horizon + serving "
            "like the open-weights option",
            "points": [{"tokens_per_month": p.tokens_per_month, **p.usd} for p in curve],
        },
        "deployment": plan.deployment.model_dump(mode="json") if plan.deployment is not None else None,
        "assumptions": settings.assumptions(),
    }


def _viable(assessment: Assessment) -> bool:
    return not any(f.severity == "fail" and f.category != "cost" for f in assessment.findings)


def _comparable_api(assessments: list[Assessment], quality: float | None, settings: CostSettings) -> Assessment | None:
    from advisor.estimate.cost import PricedOption, cheapest_comparable

    pool = {
        a.candidate.key: a
        for a in assessments
        if a.candidate.kind == "api" and _viable(a) and _num(a, "usd_per_1m_tokens") is not None
    }
    options = [
        PricedOption(k, _num(a, "quality"), (_num(a, "usd_per_1m_tokens") or 0.0) / 1e6) for k, a in pool.items()
    ]
    best = cheapest_comparable(options, quality, settings.constants.comparable_quality_margin)
    return pool[best.key] if best is not None else None


def _sci(value: float) -> str:
    mantissa, exponent = f"{value:.2e}".split("e")
    return f"{float(mantissa):g}e{int(exponent)}"


def _break_even(
    row: dict[str, Any], assessments: list[Assessment], settings: CostSettings, now: float
) -> dict[str, Any]:
    """Self-hosting this row's candidate against the cheapest API of comparable quality."""
    from advisor.estimate.cost import serving_from_metrics

    own = next(a for a in assessments if a.candidate.key == row["key"])
    api = _comparable_api(assessments, _num(own, "quality"), settings)
    serving = serving_from_metrics(own.metrics)
    result: dict[str, Any] = {"self_hosted": row["key"], "api": api.candidate.id if api else None}
    if api is None or serving is None or not serving.replica_tokens:
        result.update(
            {
                "tokens_per_month": None,
                "text": f"{row['key']}: no priced API of comparable quality passes the other requirements",
            }
        )
        return result
    price = (_num(api, "usd_per_1m_tokens") or 0.0) / 1e6
    span = serving.break_even(price)
    at_capacity = serving.usd_per_1m_at_capacity or 0.0
    result.update(
        {
            "api_usd_per_1m_tokens": price * 1e6,
            "selfhost_usd_per_1m_at_capacity": round(at_capacity, 4),
            "selfhost_fixed_usd": serving.fixed_usd,
            "selfhost_replica_usd": serving.per_replica_usd,
            "selfhost_owned_replicas": serving.owned_replicas,
            "selfhost_owned_replica_usd": serving.owned_replica_usd,
            "replica_tokens_per_month": serving.replica_tokens,
            "tokens_per_month": span.first,
            "always_above_tokens_per_month": span.always,
            "until_tokens_per_month": span.until,
            "times_today": span.first / now if span.first is not None and now > 0 else None,
        }
    )
    name = f"{row['key']} vs {api.candidate.id} (${price * 1e6:.3g}/1M)"
    if span.first is None:
        result["text"] = f"{name}: never cheaper; a fully used replica costs ${at_capacity:.3g}/1M"
        return result
    owned = (
        f"{serving.owned_replicas} owned at ${serving.owned_replica_usd:,.0f}, then "
        if serving.owned_replica_usd is not None and serving.owned_replicas
        else ""
    )
    structure = (
        f"fixed ${serving.fixed_usd:,.0f} + replicas of {_sci(serving.replica_tokens)} tokens/month: "
        f"{owned}${serving.per_replica_usd:,.0f} each"
    )
    if span.always is not None:
        where = f"cheaper from {_sci(span.first)} tokens/month, always above {_sci(span.always)}"
        where += f" ({span.always / now:,.3g}× today)" if now > 0 else ""
    else:
        where = f"cheaper only between {_sci(span.first)} and {_sci(span.until or span.first)} tokens/month"
    result["text"] = f"{name}: {where}; {structure}"
    return result


def _payback(
    build_row: dict[str, Any] | None,
    open_row: dict[str, Any] | None,
    assessments: list[Assessment],
    settings: CostSettings,
    requirements: Requirements,
) -> dict[str, Any] | None:
    """Months for the build's upfront spend to be repaid by the API bill it avoids, serving the own
    model at the open-weights road's cost."""
    from advisor.estimate.cost import payback_months
    from advisor.estimate.quality import quality_bar

    if build_row is None or open_row is None or open_row["monthly_cost_usd"] is None:
        return None
    api = _comparable_api(assessments, quality_bar(requirements.quality, requirements.min_quality), settings)
    if api is None:
        return None
    api_monthly = _num(api, "monthly_cost_usd") or 0.0
    serving = float(open_row["monthly_cost_usd"])
    upfront = float(build_row["upfront_cost_usd"])
    months = payback_months(upfront, api_monthly - serving)
    when = f"pays back in {months:,.0f} months" if months is not None else "never pays back at today's traffic"
    return {
        "build": build_row["candidate"],
        "upfront_usd": upfront,
        "api": api.candidate.id,
        "api_monthly_usd": api_monthly,
        "serving_like": open_row["key"],
        "serving_monthly_usd": serving,
        "months": months,
        "text": f"{build_row['candidate']} (${upfront:,.0f} upfront) {when}: it avoids {api.candidate.id} "
        f"(${api_monthly:,.0f}/month) and costs ${serving:,.0f}/month to serve like {open_row['key']}",
    }


def _money(value: object) -> str:
    if not isinstance(value, int | float):
        return "-"
    if value >= 1e6:
        return f"{value / 1e6:,.2f}M"
    if value == 0:
        return "0"
    return f"{value:,.0f}" if value >= 100 else f"{value:,.2f}"


def _print(summary: dict[str, Any]) -> None:
    traffic = summary["traffic"]
    strategy = summary["strategy"]
    scores = ", ".join(f"{k} {v:.2f}" for k, v in strategy["scores"].items())
    million = {k: traffic[k] / 1e6 for k in ("tokens_per_month", "input_tokens_per_month", "output_tokens_per_month")}
    click.echo(
        f"Traffic: {traffic['requests_per_day']:,} requests/day = {million['tokens_per_month']:,.1f}M tokens/month "
        f"(input {million['input_tokens_per_month']:,.1f}M, output {million['output_tokens_per_month']:,.1f}M); "
        f"peak ≈ {traffic['peak_requests_per_min']:,.1f} requests/min"
    )
    click.echo(f"Recommended road: {strategy['recommended']} ({scores})")
    click.echo("")
    horizon = summary["horizon_months"]
    table = []
    for row in summary["roads"]:
        status = row["verdict"] if not row["rejected_by"] else "rejected: " + ",".join(row["rejected_by"])
        if not row["total_includes_running"]:
            status += "; running cost not included"
        table.append(
            {
                "road": row["road"],
                "role": row["role"],
                "candidate": row["candidate"],
                "variant": row["variant"],
                "$/month": _money(row["monthly_cost_usd"]),
                "upfront $": _money(row["upfront_cost_usd"]),
                "total $": _money(row["total_cost_usd"]),
                "$/1M tokens": _money(row["usd_per_1m_tokens"]),
                "kWh/month": _money(row["energy_kwh_per_month"]),
                "CO2 kg/month": _money(row["co2_kg_per_month"]),
                "status": status,
            }
        )
    print_table(table, COLUMNS)
    click.echo(f"(total = upfront + {horizon:g} months × monthly; estimates)")
    if summary["break_even"] or summary["build_payback"]:
        click.echo("\nBreak-even (self-hosting against the cheapest API of comparable quality) and payback:")
        for item in summary["break_even"]:
            click.echo(f"  - {item['text']}")
        if summary["build_payback"]:
            click.echo(f"  - {summary['build_payback']['text']}")
    deployment = summary["deployment"]
    if deployment is not None:
        click.echo(f"\nDeployment of {deployment['candidate']} ({deployment['engine']}):\n  {deployment['command']}")
    if strategy["flip_conditions"]:
        click.echo("\nWhat would change the decision:")
        for flip in strategy["flip_conditions"]:
            click.echo(f"  - {flip}")
    click.echo("\nAssumptions:")
    for line in summary["assumptions"]:
        click.echo(f"  - {line}")

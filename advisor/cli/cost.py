"""``advisor cost --answers FILE``: what each road costs per month and in total, and where it flips.

Runs the same plan as ``advisor plan`` (so the numbers are COST001's) and prints the summary of
``advisor.engine.economics.cost_summary``: for each road (API, open weights, build) its
best-ranked and its cheapest candidate, the total over the horizon, the break-even volume of
self-hosting against the cheapest API of comparable quality, the build's payback, the flip
conditions, and every assumption the figures rest on. Exits 1 when no candidate is acceptable,
like ``advisor plan`` on the same answers.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from advisor.cli.options import SessionOptions, print_table, session_options

COLUMNS = [
    "road",
    "role",
    "candidate",
    "variant",
    "$/month",
    "upfront $",
    "total $",
    "$/1M tokens",
    "energy/month",
    "status",
]


@click.command(name="cost")
@click.option("--answers", type=click.Path(path_type=Path), required=True, help="Answers file (YAML or JSON).")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@session_options()
def cost(answers: Path, fmt: str, options: SessionOptions) -> None:
    """Monthly and total cost per road (API, open weights, build), with break-even and payback."""
    from advisor.engine.economics import cost_summary
    from advisor.engine.run import run_plan
    from advisor.engine.variants import check_hardware_ids
    from advisor.estimate.cost_constants import CostSettings, cost_answers, cost_constants
    from advisor.model.requirements import load_requirements

    requirements = load_requirements(answers)
    settings = CostSettings(
        constants=cost_constants(), answers=cost_answers(requirements.plugins.get("cost"), str(answers))
    )
    session = options.session()
    check_hardware_ids(requirements, session.catalog, str(answers))
    plan = run_plan(requirements, session)
    summary = cost_summary(plan, requirements, settings)
    if fmt == "json":
        from advisor.report.json_report import json_text

        click.echo(json_text(summary))
    else:
        _print(summary)
    if not plan.ranked:
        sys.exit(1)  # the same verdict as `advisor plan` on the same answers: nothing is acceptable


def _energy(kwh: object, co2_kg: object) -> str:
    """One column for power and emissions (the terminal table fits 100 columns): 456 kWh, 168 kg CO2."""
    if not isinstance(kwh, int | float):
        return "-"
    return f"{_money(kwh)} kWh" + (f", {_money(co2_kg)} kg CO2" if isinstance(co2_kg, int | float) else "")


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
                "energy/month": _energy(row["energy_kwh_per_month"], row["co2_kg_per_month"]),
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

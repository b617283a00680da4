"""A self-contained HTML page of the plan (for sharing by e-mail or a wiki)."""

from __future__ import annotations

import html
from typing import Any

from advisor.model.metrics import PriceMetrics, QualityMetrics
from advisor.model.plan import Plan
from advisor.report.json_report import ordered_assessments
from advisor.report.markdown import DISCLAIMER

STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:70rem;margin:2rem auto;padding:0 1rem}"
    "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.25rem .5rem;text-align:left}"
    ".fail{color:#a00}.warn{color:#a60}.pass{color:#070}code,pre{background:#f4f4f4}"
)


def plan_to_html(plan: Plan, costs: dict[str, Any] | None = None) -> str:
    """The plan as one self-contained page; ``costs`` (``advisor.engine.economics.cost_summary`` of the
    plan, what ``advisor cost`` prints) adds the break-even chart."""
    e = html.escape
    s = plan.strategy
    rows = []
    for a in ordered_assessments(plan):
        c = a.candidate
        quality = QualityMetrics.from_metrics(a.metrics).value
        cost = PriceMetrics.from_metrics(a.metrics).monthly_usd
        rows.append(
            f"<tr class='{e(a.verdict)}'><td>{a.rank or ''}</td><td>{e(c.id)}</td><td>{e(c.kind)}</td>"
            f"<td>{e(c.quant or '')}</td><td>{e(c.hardware or '')}</td><td>{e(a.verdict)}</td>"
            f"<td>{f'{quality:.2f}' if quality is not None else ''}</td>"
            f"<td>{f'{cost:,.0f}' if cost is not None else ''}</td></tr>"
        )
    reasons = "".join(f"<li>{e(r)}</li>" for r in s.reasons)
    flips = "".join(f"<li>{e(f)}</li>" for f in s.flip_conditions)
    deployment = (
        f"<h2>Deployment plan</h2><p>Engine <b>{e(plan.deployment.engine)}</b></p>"
        f"<pre>{e(plan.deployment.command)}</pre>"
        if plan.deployment
        else ""
    )
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>model-advisor plan</title>"
        f"<style>{STYLE}</style></head><body><h1>model-advisor plan</h1>"
        f"<p>Recommended road: <b>{e(s.recommended)}</b></p><ul>{reasons}</ul>"
        f"<h3>What would change the decision</h3><ul>{flips}</ul>{deployment}"
        f"{_break_even_section(costs)}<h2>Candidates</h2><table><tr><th>#</th><th>id</th><th>kind</th><th>quant</th><th>hardware</th>"
        f"<th>verdict</th><th>quality</th><th>$/month</th></tr>{''.join(rows)}</table>"
        f"<footer><p>{e(DISCLAIMER)}</p></footer></body></html>\n"
    )


def _break_even_section(cost: dict[str, Any] | None) -> str:
    """Break-even chart plus the road totals it is drawn from (numbers a reader can re-derive)."""
    if not cost:
        return ""
    from advisor.report.break_even_chart import break_even_svg

    e = html.escape
    svg = break_even_svg(cost.get("curve", {}), float(cost.get("traffic", {}).get("tokens_per_month") or 0))
    if not svg:
        return ""
    rows = "".join(
        f"<tr><td>{e(str(r.get('road')))}</td><td>{e(str(r.get('candidate')))}</td>"
        f"<td>{_money(r.get('monthly_cost_usd'))}</td><td>{_money(r.get('upfront_cost_usd'))}</td></tr>"
        for r in cost.get("roads", [])
    )
    return (
        "<h2>Break-even</h2><p>Monthly cost against monthly tokens for the best API, self-hosted and build "
        f"options (estimates; assumptions in <code>advisor cost</code>).</p>{svg}"
        f"<table><tr><th>road</th><th>option</th><th>$/month</th><th>upfront $</th></tr>{rows}</table>"
    )


def _money(value: object) -> str:
    return f"{value:,.0f}" if isinstance(value, int | float) else ""

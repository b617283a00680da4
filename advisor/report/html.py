"""A self-contained HTML page of the plan (for sharing by e-mail or a wiki)."""

from __future__ import annotations

import html
from typing import Any

from advisor.engine.misses import nearest_misses
from advisor.estimate.units import human_count
from advisor.model.metrics import PriceMetrics, QualityMetrics
from advisor.model.plan import Assessment, Plan
from advisor.report.json_report import ordered_assessments
from advisor.report.markdown import DISCLAIMER
from advisor.report.quality_cost_chart import ChartPoint, quality_cost_svg
from advisor.report.view import (
    APPENDIX_TITLES,
    THIN_LEGEND,
    THIN_MARK,
    Appendix,
    best_per_model,
    finding_text,
    first_choice,
    headline,
    headline_note,
    plain_words,
    quality_cell,
    ranking_basis,
    top_rows,
    variant_label,
)

STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:75rem;margin:2rem auto;padding:0 1rem}"
    "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.25rem .5rem;text-align:left}"
    ".fail{color:#a00}.warn{color:#a60}.pass{color:#070}code,pre{background:#f4f4f4}"
    "pre{white-space:pre-wrap;padding:.5rem}summary{cursor:pointer}details{margin:.25rem 0}"
    ".charts{display:flex;flex-wrap:wrap;gap:1rem}.charts section{flex:1 1 30rem}.note{color:#555}"
)
e = html.escape


def plan_to_html(plan: Plan, costs: dict[str, Any] | None = None) -> str:
    """The plan as one self-contained page; ``costs`` (``advisor.engine.economics.cost_summary`` of the
    plan, what ``advisor cost`` prints) adds the break-even chart. It carries what the Markdown report
    carries (reasons, check ids, rejections, the deployment), long detail folded in ``<details>``."""
    s = plan.strategy
    appendix = Appendix()
    scores = ", ".join(f"{k} {v:.2f}" for k, v in s.scores.items())
    flips = "".join(f"<li>{e(plain_words(f))}</li>" for f in s.flip_conditions)
    body = [
        "<h1>model-advisor plan</h1>",
        f"<p>Recommended road: <b>{e(s.recommended)}</b> <span class='note'>(scores: {e(scores)})</span></p>",
        f"<p><b>{e(choice)}</b></p><p>Why this road:</p>" if (choice := first_choice(plan)) else "",
        _list(headline(plan)),
        f"<p class='note'>{e(note)}</p>" if (note := headline_note(plan)) else "",
        f"<h3>What would change the decision</h3><ul>{flips}</ul>" if flips else "",
        _top_section(plan, appendix),
        f"<div class='charts'>{_quality_cost_section(plan)}{_break_even_section(costs)}</div>",
        _rejected_section(plan),
        _evaluate_first_section(plan),
        _deployment_section(plan),
        _problems_section(plan),
        _appendix_sections(appendix),
        _all_variants(plan),
    ]
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>model-advisor plan</title>"
        f"<style>{STYLE}</style></head><body>{''.join(body)}"
        f"<footer><p>{e(DISCLAIMER)}</p></footer></body></html>\n"
    )


def _list(items: list[str]) -> str:
    return f"<ul>{''.join(f'<li>{e(plain_words(item))}</li>' for item in items)}</ul>" if items else ""


def _cells(a: Assessment) -> str:
    """Variant, verdict, quality and $/month cells of one assessment."""
    quality = quality_cell(a)
    cost = PriceMetrics.from_metrics(a.metrics).monthly_usd
    return (
        f"<td>{e(variant_label(a))}</td><td class='{e(a.verdict)}'>{e(a.verdict)}</td>"
        f"<td>{e(quality) if quality != '–' else ''}</td><td>{_money(cost)}</td>"
    )


def _top_section(plan: Plan, appendix: Appendix) -> str:
    """One row per model numbered 1..N plus the models the headline names; why, per model, folded."""
    best = best_per_model(plan)
    if not best:
        return _no_candidate_section(plan)
    shown = top_rows(plan)
    rows = "".join(
        f"<tr><td>{row.place or '–'}</td><td>{e(row.assessment.candidate.id)}</td>{_cells(row.assessment)}</tr>"
        for row in shown
    )
    thin = any(quality_cell(row.assessment).endswith(THIN_MARK) for row in shown)
    legend = f"<p class='note'>{e(THIN_LEGEND)}</p>" if thin else ""
    why = []
    for place, a in enumerate(best[:3], start=1):
        items = []
        for f in a.findings:
            if f.severity != "pass" or f.category in {"cost", "hardware", "quality", "license"}:
                text = finding_text(f)
                note = appendix.cite(text)
                ref = f" <a href='#{e(note)}'>[{e(note)}]</a>" if note else ""
                items.append(
                    f"<li class='{e(f.severity)}'>{e(f.severity)} <b>{e(f.check or '')}</b>: {e(text.short)}{ref}</li>"
                )
        why.append(
            f"<details{' open' if place == 1 else ''}><summary>{place}. {e(a.candidate.id)} "
            f"({e(variant_label(a))})</summary><ul>{''.join(items)}</ul></details>"
        )
    return (
        f"<h2>Top candidates ({len(best)} acceptable models; best variant of each)</h2>"
        f"<p class='basis'>Order: {e(ranking_basis(plan))}</p>"
        "<table><tr><th>#</th><th>candidate</th><th>variant</th><th>verdict</th><th>quality</th>"
        f"<th>$/month</th></tr>{rows}</table>{legend}<h3>Why the top candidates</h3>{''.join(why)}"
    )


def _no_candidate_section(plan: Plan) -> str:
    misses = "".join(
        f"<li><b>{e(m.assessment.candidate.id)}</b> ({e(variant_label(m.assessment))}): {e(m.reason)} → "
        f"{e(m.change)}</li>"
        for m in nearest_misses(plan.assessments)
    )
    return "<h2>Top candidates</h2><p>No candidate meets every hard requirement.</p>" + (
        f"<p>The nearest misses, and the one change that would admit each:</p><ul>{misses}</ul>" if misses else ""
    )


def _quality_cost_section(plan: Plan) -> str:
    points = []
    for a in best_per_model(plan):
        quality = QualityMetrics.from_metrics(a.metrics).value
        cost = PriceMetrics.from_metrics(a.metrics).monthly_usd
        if quality is not None and cost is not None:
            points.append(ChartPoint(a.candidate.id, cost, quality))
    svg = quality_cost_svg(points)
    if not svg:
        return ""
    return (
        "<section><h2>Quality against cost</h2><p>Expected quality against monthly cost of the best variant of "
        f"each acceptable model; filled dots are the Pareto front (estimates).</p>{svg}</section>"
    )


def _rejected_section(plan: Plan) -> str:
    """Counts per failed check, and under each (folded) the models and the reason they failed."""
    rejected = [a for a in plan.assessments if a.rank is None]
    if not rejected:
        return ""
    by_check: dict[str, dict[str, str]] = {}
    for a in rejected:
        for f in a.findings:
            if f.severity == "fail":
                by_check.setdefault(f"{f.check}: {f.category}", {}).setdefault(a.candidate.id, f.message)
    counts = {
        name: sum(
            1 for a in rejected for f in a.findings if f.severity == "fail" and f"{f.check}: {f.category}" == name
        )
        for name in by_check
    }
    items = []
    for name, models in sorted(by_check.items(), key=lambda kv: (-counts[kv[0]], kv[0])):
        reasons = "".join(f"<li>{e(model)}: {e(plain_words(message))}</li>" for model, message in models.items())
        items.append(
            f"<details><summary>{counts[name]} failed {e(name)} ({len(models)} models)</summary>"
            f"<ul>{reasons}</ul></details>"
        )
    return f"<h2>Rejected: {len(rejected)} candidate variants</h2>{''.join(items)}"


def _evaluate_first_section(plan: Plan) -> str:
    """The models to evaluate first on the user's data (docs/quality.md §6), as in the Markdown."""
    section = plan.evaluate_first
    if not section:
        return ""
    rows = "".join(
        f"<tr><td>{i}</td><td>{e(str(x['model']))}</td><td>{e(str(x['bin']))}</td>"
        f"<td>{e(human_count(x['gpu_hours']))}</td></tr>"
        for i, x in enumerate(section["selected"], start=1)
    )
    return (
        f"<h2>Evaluate these first on your own data</h2><p>{e(str(section['reason']))}.</p>"
        f"<table><tr><th>#</th><th>model</th><th>compute bin</th><th>GPU-hours</th></tr>{rows}</table>"
        f"<p class='note'>{e(str(section['cost_basis']))}</p>"
    )


def _deployment_section(plan: Plan) -> str:
    d = plan.deployment
    if d is None:
        return ""
    return (
        f"<h2>Deployment plan</h2><p>Engine <b>{e(d.engine)}</b> for {e(d.candidate or '')}:</p>"
        f"<pre>{e(d.command)}</pre>{_list(d.notes)}"
    )


def _problems_section(plan: Plan) -> str:
    errors = sorted({f.message for a in plan.assessments for f in a.findings if f.severity == "error"})
    out = f"<h2>Plugin errors</h2>{_list(plan.plugin_errors)}" if plan.plugin_errors else ""
    return out + (f"<h2>Checks that crashed (reported, not counted)</h2>{_list(errors)}" if errors else "")


def _appendix_sections(appendix: Appendix) -> str:
    out = []
    for key, title in APPENDIX_TITLES.items():
        notes = appendix.notes[key]
        if notes:
            items = "".join(f"<li id='{e(ref)}'>[{e(ref)}] {e(detail)}</li>" for detail, ref in notes.items())
            out.append(f"<details><summary>{e(title)}</summary><ul>{items}</ul></details>")
    return f"<h2>Appendix</h2>{''.join(out)}" if out else ""


def _all_variants(plan: Plan) -> str:
    rows = "".join(
        f"<tr><td>{a.rank or ''}</td><td>{e(a.candidate.id)}</td>{_cells(a)}</tr>" for a in ordered_assessments(plan)
    )
    return (
        f"<details><summary>All {len(plan.assessments)} assessed variants</summary><table><tr><th>rank</th>"
        f"<th>candidate</th><th>variant</th><th>verdict</th><th>quality</th><th>$/month</th></tr>{rows}</table>"
        "</details>"
    )


def _break_even_section(cost: dict[str, Any] | None) -> str:
    """Break-even chart plus the road totals it is drawn from (numbers a reader can re-derive)."""
    if not cost:
        return ""
    from advisor.report.break_even_chart import break_even_svg

    svg = break_even_svg(cost.get("curve", {}), float(cost.get("traffic", {}).get("tokens_per_month") or 0), width=540)
    if not svg:
        return ""
    rows = "".join(
        f"<tr><td>{e(str(r.get('road')))}</td><td>{e(str(r.get('candidate')))}</td>"
        f"<td>{_money(r.get('monthly_cost_usd'))}</td><td>{_money(r.get('upfront_cost_usd'))}</td></tr>"
        for r in cost.get("roads", [])
    )
    return (
        "<section><h2>Break-even</h2><p>Monthly cost against monthly tokens for the best API, self-hosted and build "
        f"options (estimates; assumptions in <code>advisor cost</code>).</p>{svg}"
        f"<table><tr><th>road</th><th>option</th><th>$/month</th><th>upfront $</th></tr>{rows}</table></section>"
    )


def _money(value: object) -> str:
    return f"{value:,.0f}" if isinstance(value, int | float) else ""

"""The human report: Markdown that reads well as plain text in a terminal, or rendered by rich."""

from __future__ import annotations

from advisor.engine.misses import nearest_misses
from advisor.estimate.units import human_count
from advisor.model.metrics import PriceMetrics, SizingMetrics
from advisor.model.plan import Assessment, Plan
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
)
from advisor.report.view import variant_label as _variant

DISCLAIMER = (
    "Estimates are planning figures with the assumptions stated next to them. "
    "Licence findings are guidance, not legal advice: read the licence before use."
)


def _fmt_bytes(value: object) -> str:
    """Memory in GB: one decimal below 10 GB, whole GB above (the table fits 100 columns)."""
    if not isinstance(value, int | float):
        return "–"
    gb = float(value) / 1e9
    return f"{gb:.1f} GB" if gb < 10 else f"{gb:,.0f} GB"


def _table_variant(a: Assessment) -> str:
    """The variant as the top table shows it: ``Q4_K_M 4×h100-sxm`` (the reasons keep ``Q4_K_M on 4× h100-sxm``)."""
    c = a.candidate
    if c.kind != "open_source" or not c.hardware:
        return _variant(a)
    return f"{c.quant} {c.hardware_count or 1}×{c.hardware}"


def _fmt(value: object, pattern: str) -> str:
    return pattern.format(value) if isinstance(value, int | float) else "–"


def _evaluate_first(plan: Plan) -> list[str]:
    """The "evaluate these first on your own data" section (docs/quality.md §6); none when absent."""
    section = plan.evaluate_first
    if not section:
        return []
    lines = ["## Evaluate these first on your own data", "", section["reason"] + ".", ""]
    lines += ["| # | model | quality | compute bin | GPU-hours | cumulative |", "|---|---|---|---|---|---|"]
    for i, s in enumerate(section["selected"], start=1):
        lines.append(
            f"| {i} | {s['model']} | {_fmt(s['quality'], '{:.2f}')} | {s['bin']} | {human_count(s['gpu_hours'])} "
            f"| {human_count(s['cumulative_gpu_hours'])} |"
        )
    return [*lines, "", f"Chosen by the balanced I-optimal design; {section['cost_basis']}.", ""]


def plan_to_markdown(plan: Plan) -> str:
    strategy = plan.strategy
    lines = ["# model-advisor plan", ""]
    scores = ", ".join(f"{k} {v:.2f}" for k, v in strategy.scores.items())
    lines += [f"**Recommended road: {strategy.recommended}** (scores: {scores})", ""]
    if choice := first_choice(plan):
        lines += [f"**{choice}**", "", "Why this road:", ""]
    lines += [f"- {reason}" for reason in headline(plan)]
    note = headline_note(plan)
    if note:
        lines += ["", note]
    if strategy.flip_conditions:
        lines += ["", "What would change the decision:"]
        lines += [f"- {plain_words(flip)}" for flip in strategy.flip_conditions]
    best = best_per_model(plan)
    rows = top_rows(plan)
    appendix = Appendix()
    lines += ["", f"## Top candidates ({len(best)} acceptable models; best variant of each)", ""]
    if best:
        lines += [f"Order: {ranking_basis(plan)}", ""]
        if any(row.place is None or row.place > len(rows) for row in rows):
            lines += ["The first models by rank, then the models the recommendation names.", ""]
        lines += [
            "| # | candidate | variant | verdict | quality | $/month | memory | tokens/s |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for row in rows:
            a = row.assessment
            monthly = PriceMetrics.from_metrics(a.metrics).monthly_usd
            sizing = SizingMetrics.from_metrics(a.metrics)
            lines.append(
                f"| {row.place or '–'} | {a.candidate.id} | {_table_variant(a)} | {a.verdict} "
                f"| {quality_cell(a)} | {_fmt(monthly, '{:,.0f}')} | {_fmt_bytes(sizing.total_bytes)} "
                f"| {_fmt(sizing.decode_tokens_per_s, '{:.0f}')} |"
            )
        if any(quality_cell(row.assessment).endswith(THIN_MARK) for row in rows):
            lines += ["", THIN_LEGEND]
        lines += ["", "### Why the top candidates", ""]
        for place, a in enumerate(best[:3], start=1):
            lines.append(f"**{place}. {a.candidate.id}** ({_variant(a)})")
            for f in a.findings:
                if f.severity != "pass" or f.category in {"cost", "hardware", "quality", "license"}:
                    text = finding_text(f)
                    note = appendix.cite(text)
                    lines.append(f"- {f.severity} {f.check}: {text.short}" + (f" [{note}]" if note else ""))
            lines.append("")
    else:
        lines += _no_candidate(plan)
    rejected = [a for a in plan.assessments if a.rank is None]
    if rejected:
        counts: dict[str, int] = {}
        for a in rejected:
            for f in a.findings:
                if f.severity == "fail":
                    counts[f"{f.check}: {f.category}"] = counts.get(f"{f.check}: {f.category}", 0) + 1
        lines += [f"## Rejected: {len(rejected)} candidate variants", ""]
        lines += [f"- {n} failed {name}" for name, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]
        lines.append("")
        if len({a.candidate.id for a in plan.assessments}) == 1:  # `advisor check`: say why, clause included
            fails = [f for a in rejected for f in a.findings if f.severity == "fail"]
            reasons = sorted({(f.check, plain_words(f.message)) for f in fails})
            lines += ["Why:", *[f"- {check}: {message}" for check, message in reasons], ""]
    lines += _evaluate_first(plan)
    if plan.deployment is not None:
        d = plan.deployment
        lines += [
            "## Deployment plan",
            "",
            f"Engine **{d.engine}** for {d.candidate}:",
            "",
            "```",
            d.command,
            "```",
            "",
        ]
        lines += [f"- {plain_words(note)}" for note in d.notes]
        lines.append("")
    if plan.plugin_errors:
        lines += ["## Plugin errors", ""]
        lines += [f"- {e}" for e in plan.plugin_errors]
        lines.append("")
    errors = sorted({f.message for a in plan.assessments for f in a.findings if f.severity == "error"})
    if errors:
        lines += ["## Checks that crashed (reported, not counted)", ""]
        lines += [f"- {e}" for e in errors]
        lines.append("")
    for key, title in APPENDIX_TITLES.items():
        notes = appendix.notes[key]
        if notes:
            lines += [f"## {title}", ""]
            lines += [f"- [{ref}] {detail}" for detail, ref in notes.items()]
            lines.append("")
    lines += ["---", DISCLAIMER, ""]
    return "\n".join(lines)


def _no_candidate(plan: Plan) -> list[str]:
    """Nothing passes: the most common reasons, then the nearest misses with the one change each needs."""
    counts: dict[str, int] = {}
    for a in plan.assessments:
        for check in {f"{f.check} ({f.category})" for f in a.findings if f.severity == "fail"}:
            counts[check] = counts.get(check, 0) + 1
    top = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:3]
    lines = ["No candidate meets every hard requirement. The most common reasons:", ""]
    lines += [f"- {name}: {n} variants" for name, n in top]
    misses = nearest_misses(plan.assessments)
    if misses:
        lines += ["", "The nearest misses, and the one change that would admit each:", ""]
        for miss in misses:
            a = miss.assessment
            lines.append(f"- **{a.candidate.id}** ({_variant(a)}): {miss.reason} → {miss.change}")
    return [*lines, ""]

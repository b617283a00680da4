"""The human report: Markdown that reads well as plain text in a terminal, or rendered by rich."""

from __future__ import annotations

from advisor.engine.misses import nearest_misses
from advisor.model.metrics import PriceMetrics, QualityMetrics, SizingMetrics
from advisor.model.plan import Assessment, Plan

DISCLAIMER = (
    "Estimates are planning figures with the assumptions stated next to them. "
    "Licence findings are guidance, not legal advice: read the licence before use."
)
TOP_N = 10


def _fmt_bytes(value: object) -> str:
    return f"{float(value) / 1e9:.1f} GB" if isinstance(value, int | float) else "–"


def _fmt(value: object, pattern: str) -> str:
    return pattern.format(value) if isinstance(value, int | float) else "–"


def _variant(a: Assessment) -> str:
    c = a.candidate
    if c.kind == "api":
        return f"API ({c.provider})"
    if c.kind == "build":
        return "build"
    hardware = f"{c.hardware_count or 1}× {c.hardware}" if c.hardware else "–"
    return f"{c.quant} on {hardware}"


def _best_per_model(plan: Plan) -> list[Assessment]:
    seen: set[str] = set()
    best = []
    for assessment in plan.ranked:
        if assessment.candidate.id in seen:
            continue
        seen.add(assessment.candidate.id)
        best.append(assessment)
    return best


def _evaluate_first(plan: Plan) -> list[str]:
    """The "evaluate these first on your own data" section (docs/quality.md §6); none when absent."""
    section = plan.evaluate_first
    if not section:
        return []
    lines = ["## Evaluate these first on your own data", "", section["reason"] + ".", ""]
    lines += ["| # | model | quality | compute bin | GPU-hours | cumulative |", "|---|---|---|---|---|---|"]
    for i, s in enumerate(section["selected"], start=1):
        lines.append(
            f"| {i} | {s['model']} | {_fmt(s['quality'], '{:.2f}')} | {s['bin']} | {s['gpu_hours']:.3g} "
            f"| {s['cumulative_gpu_hours']:.3g} |"
        )
    return [*lines, "", f"Chosen by the balanced I-optimal design; {section['cost_basis']}.", ""]


def plan_to_markdown(plan: Plan) -> str:
    strategy = plan.strategy
    lines = ["# model-advisor plan", ""]
    scores = ", ".join(f"{k} {v:.2f}" for k, v in strategy.scores.items())
    lines += [f"**Recommended road: {strategy.recommended}** (scores: {scores})", ""]
    for reason in strategy.reasons:
        lines.append(f"- {reason}")
    if strategy.flip_conditions:
        lines += ["", "What would change the decision:"]
        lines += [f"- {flip}" for flip in strategy.flip_conditions]
    best = _best_per_model(plan)
    lines += ["", f"## Top candidates ({len(best)} acceptable models; best variant of each)", ""]
    if best:
        lines += [
            "| # | candidate | variant | verdict | quality | $/month | memory | tokens/s |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for a in best[:TOP_N]:
            quality = QualityMetrics.from_metrics(a.metrics).value
            monthly = PriceMetrics.from_metrics(a.metrics).monthly_usd
            sizing = SizingMetrics.from_metrics(a.metrics)
            lines.append(
                f"| {a.rank} | {a.candidate.id} | {_variant(a)} | {a.verdict} | {_fmt(quality, '{:.2f}')} "
                f"| {_fmt(monthly, '{:,.0f}')} | {_fmt_bytes(sizing.total_bytes)} "
                f"| {_fmt(sizing.decode_tokens_per_s, '{:.0f}')} |"
            )
        lines += ["", "### Why the top candidates", ""]
        for a in best[:3]:
            lines.append(f"**{a.rank}. {a.candidate.id}** ({_variant(a)})")
            for f in a.findings:
                if f.severity != "pass" or f.category in {"cost", "hardware", "quality", "license"}:
                    lines.append(f"- {f.severity} {f.check}: {f.message}")
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
            reasons = sorted({(f.check, f.message) for a in rejected for f in a.findings if f.severity == "fail"})
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
        lines += [f"- {note}" for note in d.notes]
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

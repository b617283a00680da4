"""When nothing passes: the nearest misses and the one change that would admit each.

A plan with no acceptable candidate must still tell the business what to do. The nearest misses
are the variants that fail the fewest checks (best variant of each model, then by quality); for
each, the failing check and its remediation are the one change that would admit it. The Markdown
report prints them under "no candidate", and ``advisor cost`` shares ``plan``'s exit code.
"""

from __future__ import annotations

from dataclasses import dataclass

from advisor.model.metrics import PriceMetrics, QualityMetrics, SizingMetrics
from advisor.model.plan import Assessment


@dataclass(frozen=True)
class Miss:
    """A rejected variant close to passing: what fails and the change that would admit it."""

    assessment: Assessment
    checks: tuple[str, ...]
    reason: str
    change: str


def nearest_misses(assessments: list[Assessment], limit: int = 5) -> list[Miss]:
    """The rejected variants that fail the fewest checks, one per model, best quality first."""
    # building is a road of its own, never the near miss of a plan that cannot find a model to use
    rejected = [a for a in assessments if a.rank is None and a.candidate.kind != "build"]
    scored: list[tuple[int, float, float, float, str, Miss]] = []
    for a in rejected:
        fails = [f for f in a.findings if f.severity in {"fail", "error"}]
        if not fails:
            continue
        checks = tuple(sorted({f.check or "?" for f in fails}))
        first = fails[0]
        change = first.remediation or f"relax what {first.check or 'this check'} requires"
        monthly = PriceMetrics.from_metrics(a.metrics).monthly_usd
        # over budget only: the cheapest is the nearest, and the change is the budget it needs
        budget_only = checks == ("COST001",) and monthly is not None
        if budget_only:
            change = f"a monthly budget of ≈ ${monthly:,.0f} (or less traffic)"
        if len(checks) > 1:
            change += f" (and {len(checks) - 1} more check(s): {', '.join(c for c in checks if c != first.check)})"
        quality = QualityMetrics.from_metrics(a.metrics).value or 0.0
        miss = Miss(a, checks, f"{first.check}: {first.message}", change)
        size = SizingMetrics.from_metrics(a.metrics).total_bytes or 0.0
        # quality to two decimals: a quant a hair better is not worth a much bigger variant
        price = float(monthly) if budget_only and monthly is not None else 0.0
        scored.append((len(checks), price, -round(quality, 2), float(size), a.candidate.key, miss))
    scored.sort(key=lambda item: item[:5])
    seen: set[str] = set()
    misses: list[Miss] = []
    for *_, miss in scored:
        model = miss.assessment.candidate.id
        if model in seen:
            continue
        seen.add(model)
        misses.append(miss)
        if len(misses) == limit:
            break
    return misses

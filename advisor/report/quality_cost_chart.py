"""The quality-versus-cost chart of the HTML report: one dot per acceptable model, inline SVG.

Monthly cost on a log axis (APIs at $15 and clusters at $60,000 share a page), expected quality on a
linear one. The Pareto front (no other model is at least as good for no more money) is drawn as a
line through filled dots and labelled: the models worth a look at each price. Self-contained (no
scripts, fonts or styles from the network); every label is escaped.
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass

LEFT, RIGHT, TOP, BOTTOM = 60, 40, 20, 50
FLOOR_USD = 1.0  # a model on hardware you own may cost $0/month: drawn at $1 on the log axis


@dataclass(frozen=True)
class ChartPoint:
    """One model: its label, monthly cost (USD) and expected quality (0–1)."""

    label: str
    monthly_usd: float
    quality: float


def pareto_front(points: list[ChartPoint]) -> list[ChartPoint]:
    """The points no other point dominates (cost ≤ and quality ≥, one strictly), cheapest first."""
    front: list[ChartPoint] = []
    for point in sorted(points, key=lambda p: (p.monthly_usd, -p.quality)):
        if not front or point.quality > front[-1].quality:
            front.append(point)
    return front


def quality_cost_svg(points: list[ChartPoint], width: int = 540, height: int = 360) -> str:
    """SVG of ``points``; empty when there are fewer than two to compare."""
    if len(points) < 2:
        return ""
    costs = [max(p.monthly_usd, FLOOR_USD) for p in points]
    x0, x1 = math.floor(math.log10(min(costs))), math.ceil(math.log10(max(costs)))
    x1 = max(x1, x0 + 1)
    y0 = math.floor(min(p.quality for p in points) * 10) / 10
    y1 = max(math.ceil(max(p.quality for p in points) * 10) / 10, y0 + 0.1)

    def sx(usd: float) -> float:
        return LEFT + (math.log10(max(usd, FLOOR_USD)) - x0) / (x1 - x0) * (width - LEFT - RIGHT)

    def sy(quality: float) -> float:
        return height - BOTTOM - (quality - y0) / (y1 - y0) * (height - TOP - BOTTOM)

    parts = [
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' role='img' "
        "aria-label='expected quality against monthly cost'>"
    ]
    for exponent in range(x0, x1 + 1):
        x = sx(10**exponent)
        parts.append(f"<line x1='{x:.1f}' x2='{x:.1f}' y1='{TOP}' y2='{height - BOTTOM}' stroke='#eee'/>")
        parts.append(
            f"<text x='{x:.1f}' y='{height - BOTTOM + 16}' font-size='11' text-anchor='middle'>"
            f"${10**exponent:,.0f}</text>"
        )
    steps = round((y1 - y0) * 10)
    for step in range(steps + 1):
        value = y0 + step / 10
        y = sy(value)
        parts.append(f"<line x1='{LEFT}' x2='{width - RIGHT}' y1='{y:.1f}' y2='{y:.1f}' stroke='#ddd'/>")
        parts.append(f"<text x='{LEFT - 6}' y='{y + 4:.1f}' font-size='11' text-anchor='end'>{value:.1f}</text>")
    parts.append(
        f"<text x='{(LEFT + width - RIGHT) / 2}' y='{height - 10}' font-size='12' text-anchor='middle'>"
        "USD per month (expected quality on the vertical axis; filled: the Pareto front)</text>"
    )
    front = pareto_front(points)
    coords = " ".join(f"{sx(p.monthly_usd):.1f},{sy(p.quality):.1f}" for p in front)
    parts.append(f"<polyline fill='none' stroke='#d62728' stroke-width='1.5' points='{coords}'/>")
    on_front = {id(p) for p in front}
    for p in points:
        x, y = sx(p.monthly_usd), sy(p.quality)
        label = html.escape(f"{p.label}: quality {p.quality:.2f}, ${p.monthly_usd:,.0f}/month")
        if id(p) in on_front:
            parts.append(
                f"<circle class='front' cx='{x:.1f}' cy='{y:.1f}' r='5' fill='#d62728'><title>{label}</title></circle>"
            )
            dy = -6 if front.index(p) % 2 == 0 else 14  # alternate above and below: neighbours do not overlap
            parts.append(f"<text x='{x + 7:.1f}' y='{y + dy:.1f}' font-size='10'>{html.escape(p.label)}</text>")
        else:
            parts.append(
                f"<circle cx='{x:.1f}' cy='{y:.1f}' r='4' fill='none' stroke='#1f77b4'><title>{label}</title></circle>"
            )
    parts.append("</svg>")
    return "".join(parts)

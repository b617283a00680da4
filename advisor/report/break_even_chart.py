"""The break-even chart of the HTML report: monthly cost against monthly tokens, inline SVG.

Log-log axes, one line per road (best API, self-hosted open weights, build), a dashed marker at
today's volume. Self-contained: no scripts, fonts or styles from the network.
"""

from __future__ import annotations

import html
import math
from typing import Any

from advisor.estimate.units import human_count

COLOURS = {"api": "#1f77b4", "open_source": "#2ca02c", "build": "#d62728"}
LEFT, RIGHT, TOP, BOTTOM = 96, 20, 20, 50


def break_even_svg(curve: dict[str, Any], now_tokens: float, width: int = 640, height: int = 360) -> str:
    """SVG of ``curve`` (``advisor cost --format json``'s ``curve``); empty when there is nothing to draw."""
    points = curve.get("points", [])
    roads = [r for r in COLOURS if any((p.get(r) or 0) > 0 for p in points)]
    xs = [p["tokens_per_month"] for p in points if p["tokens_per_month"] > 0]
    ys = [p[r] for p in points for r in roads if (p.get(r) or 0) > 0]
    if len(xs) < 2 or not ys:
        return ""
    x0, x1 = math.log10(min(xs)), math.log10(max(xs))
    y0, y1 = math.floor(math.log10(min(ys))), math.ceil(math.log10(max(ys)))
    y1 = max(y1, y0 + 1)

    def sx(value: float) -> float:
        return LEFT + (math.log10(value) - x0) / (x1 - x0) * (width - LEFT - RIGHT)

    def sy(value: float) -> float:
        return height - BOTTOM - (math.log10(value) - y0) / (y1 - y0) * (height - TOP - BOTTOM)

    parts = [
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' role='img' "
        "aria-label='monthly cost against monthly tokens'>"
    ]
    for exponent in range(y0, y1 + 1):
        y = sy(10**exponent)
        parts.append(f"<line x1='{LEFT}' x2='{width - RIGHT}' y1='{y:.1f}' y2='{y:.1f}' stroke='#ddd'/>")
        parts.append(
            f"<text x='{LEFT - 6}' y='{y + 4:.1f}' font-size='11' text-anchor='end'>${human_count(10**exponent)}</text>"
        )
    for exponent in range(math.ceil(x0), math.floor(x1) + 1):
        x = sx(10**exponent)
        parts.append(f"<line x1='{x:.1f}' x2='{x:.1f}' y1='{TOP}' y2='{height - BOTTOM}' stroke='#eee'/>")
        parts.append(
            f"<text x='{x:.1f}' y='{height - BOTTOM + 16}' font-size='11' text-anchor='middle'>"
            f"{human_count(10**exponent)}</text>"
        )
    parts.append(
        f"<text x='{(LEFT + width - RIGHT) / 2}' y='{height - 10}' font-size='12' text-anchor='middle'>"
        "tokens per month (USD per month on the vertical axis)</text>"
    )
    options = curve.get("options", {})
    for index, road in enumerate(roads):
        coords = " ".join(
            f"{sx(p['tokens_per_month']):.1f},{sy(p[road]):.1f}" for p in points if (p.get(road) or 0) > 0
        )
        parts.append(f"<polyline fill='none' stroke='{COLOURS[road]}' stroke-width='2' points='{coords}'/>")
        label = html.escape(f"{road}: {options.get(road) or ''}")
        parts.append(
            f"<text x='{LEFT + 8}' y='{TOP + 14 + 14 * index}' font-size='11' fill='{COLOURS[road]}'>{label}</text>"
        )
    if min(xs) <= now_tokens <= max(xs):
        x = sx(now_tokens)
        parts.append(
            f"<line x1='{x:.1f}' x2='{x:.1f}' y1='{TOP}' y2='{height - BOTTOM}' stroke='#555' stroke-dasharray='4 3'/>"
        )
        parts.append(f"<text x='{x + 4:.1f}' y='{height - BOTTOM - 6}' font-size='11'>today</text>")
    parts.append("</svg>")
    return "".join(parts)

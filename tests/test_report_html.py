"""The HTML report: self-contained, with the break-even chart, and it renders in a real browser."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import EXAMPLES, ROOT


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("html") / "plan.html"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "advisor",
            "plan",
            "--answers",
            str(EXAMPLES / "ai-lab-build.yaml"),
            "--format",
            "html",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    return out


def test_html_is_self_contained_with_the_break_even_chart(page: Path) -> None:
    text = page.read_text()
    assert text.startswith("<!doctype html>") and "not legal advice" in text
    assert "<h2>Break-even</h2>" in text and text.count("<svg") == 2
    start = text.index("<svg", text.index("<h2>Break-even</h2>"))
    svg = text[start : text.index("</svg>", start)]
    assert svg.count("<polyline") == 3 and "today" in svg
    # no network assets: no scripts, stylesheets, images or fonts fetched from anywhere
    assert not re.search(r"<(script|link|img|iframe)\b", text)
    assert "@import" not in text and "url(" not in text


def test_html_carries_what_the_markdown_carries(page: Path) -> None:
    """Reasons, check ids, rejection reasons and the deployment are in the page, detail collapsed: the
    HTML once had none of them and listed every variant flat."""
    text = page.read_text()
    assert "Why the top candidates" in text and re.search(r"\b(COST|QUAL|LIC)00\d\b", text)
    assert "Rejected" in text and "failed" in text
    assert "Deployment plan" in text and "<details" in text
    top = text.split("<h2>Top candidates", 1)[1].split("</table>", 1)[0]
    assert 1 <= top.count("<tr>") - 1 <= 14  # one row per model, not hundreds of variants
    assert "<h2>Quality against cost</h2>" in text
    assert not re.search(r">[^<]*\b\d(?:\.\d+)?e[+-]?\d+\b", text)  # human units in the page and its axes


def test_quality_cost_chart_marks_the_pareto_front() -> None:
    """A model is on the front when no other is at least as good for no more money; those are marked."""
    from advisor.report.quality_cost_chart import ChartPoint, pareto_front, quality_cost_svg

    points = [
        ChartPoint("cheap", 10.0, 0.5),
        ChartPoint("dominated", 20.0, 0.4),
        ChartPoint("best", 100.0, 0.9),
        ChartPoint("mid", 50.0, 0.7),
        ChartPoint("<script>", 60.0, 0.6),
    ]
    assert [p.label for p in pareto_front(points)] == ["cheap", "mid", "best"]
    svg = quality_cost_svg(points)
    assert svg.count("<circle") == 5 and svg.count("class='front'") == 3
    assert "<script>" not in svg and "&lt;script&gt;" in svg  # labels are escaped
    assert quality_cost_svg(points[:1]) == ""  # one point is not a chart


def test_html_escapes_what_it_shows() -> None:
    """A hostile catalog name or plugin message cannot inject markup into the shared page."""
    from advisor.report.html import plan_to_html
    from tests.test_report_view import hostile_plan

    page = plan_to_html(hostile_plan())
    assert "<script>" not in page and "&lt;script&gt;" in page


def test_break_even_svg_maps_costs_to_a_log_scale() -> None:
    from advisor.report.break_even_chart import break_even_svg

    curve = {
        "options": {"api": "a"},
        "points": [{"tokens_per_month": 1e6, "api": 10.0}, {"tokens_per_month": 1e8, "api": 1000.0}],
    }
    svg = break_even_svg(curve, 1e7)
    coords = re.search(r"points='([^']+)'", svg)
    assert coords is not None
    (x_a, y_a), (x_b, y_b) = [tuple(map(float, p.split(","))) for p in coords.group(1).split()]
    assert x_b > x_a and y_b < y_a  # more tokens to the right, more dollars higher up
    assert "today" in svg
    assert break_even_svg({"points": []}, 1.0) == ""


@pytest.mark.skipif(shutil.which("chromium") is None, reason="headless Chromium not installed (.ci/run installs it)")
def test_html_renders_in_headless_chromium(page: Path, tmp_path: Path) -> None:
    shot = tmp_path / "plan.png"
    proc = subprocess.run(
        [
            "chromium",
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--window-size=1200,1400",
            f"--screenshot={shot}",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000  # a rendered page, not a blank one


@pytest.mark.skipif(shutil.which("chromium") is None, reason="headless Chromium not installed (.ci/run installs it)")
def test_chromium_parses_both_charts_whole(page: Path, tmp_path: Path) -> None:
    """The browser's DOM holds both charts with every dot and the marked Pareto front: no markup in a model
    name or message broke the page (what the browser built is what we wrote)."""
    proc = subprocess.run(
        [
            "chromium",
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--dump-dom",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    dom, source = proc.stdout, page.read_text()
    assert dom.count("<svg") == 2
    assert dom.count("<circle") == source.count("<circle") > 2
    assert dom.count('class="front"') == source.count("class='front'") >= 1
    assert "<h2>Quality against cost</h2>" in dom and "<h2>Break-even</h2>" in dom

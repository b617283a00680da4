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
    assert "<h2>Break-even</h2>" in text and text.count("<svg") == 1
    svg = text[text.index("<svg") : text.index("</svg>")]
    assert svg.count("<polyline") == 3 and "today" in svg
    # no network assets: no scripts, stylesheets, images or fonts fetched from anywhere
    assert not re.search(r"<(script|link|img|iframe)\b", text)
    assert "@import" not in text and "url(" not in text


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

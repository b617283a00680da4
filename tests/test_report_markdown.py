"""The Markdown report a CTO reads in two minutes (issue 14): one row per model numbered 1..N, every model
the headline names in the table, licence text and quality evidence once each in appendices."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from tests.conftest import EXAMPLES, ROOT

EXAMPLE_NAMES = ["small-team-api", "ai-lab-build", "onprem-bank", "offline-laptop"]


def _report(example: str, *extra: str) -> str:
    proc = subprocess.run(
        [sys.executable, "-m", "advisor", "plan", "--answers", str(EXAMPLES / f"{example}.yaml"), *extra],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def _table(report: str) -> list[list[str]]:
    section = report.split("## Top candidates", 1)[1].split("\n#", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| ") and not line.startswith("| #")]
    return [[cell.strip() for cell in row.strip("|").split("|")] for row in rows]


@pytest.mark.parametrize("example", EXAMPLE_NAMES)
def test_top_table_is_one_row_per_model_numbered_from_one(example: str) -> None:
    """The reader counts 1, 2, 3…: a row number is the model's place among acceptable models, not the
    variant rank (which skipped 3–6 when a model had several variants)."""
    rows = _table(_report(example))
    models = [row[1] for row in rows]
    assert len(models) == len(set(models))
    numbers = [int(row[0]) for row in rows if row[0].isdigit()]
    top = numbers[: min(10, len(numbers))]
    assert top == list(range(1, len(top) + 1))


@pytest.mark.parametrize("example", EXAMPLE_NAMES)
def test_every_model_the_headline_names_is_in_the_table(example: str) -> None:
    """A model cited in the recommendation's reasons gets a row (with its place, or '–' if it failed):
    the headline once cited a model the table ranked 39th, and the reader could not find it."""
    plan = json.loads(_report(example, "--format", "json"))
    reasons = " ".join(plan["strategy"]["reasons"])
    ids = {c["id"] for c in plan["candidates"]}
    named = {i for i in ids if re.search(rf"(?<![\w/.-]){re.escape(i)}(?![\w/.-])", reasons)}
    models = {row[1] for row in _table(_report(example))}
    assert named <= models, named - models


def test_licence_text_appears_once_per_licence() -> None:
    """The Gemma terms were pasted under every Gemma row; now the rows point to one appendix entry."""
    report = _report("onprem-bank")
    assert report.count("You may use, reproduce, modify, Distribute") <= 1
    assert "## Licence texts" in report


@pytest.mark.parametrize("example", ["small-team-api", "onprem-bank"])
def test_quality_is_a_short_phrase_with_the_evidence_in_an_appendix(example: str) -> None:
    """QUAL001 reads 'quality 0.84 meets the bar 0.45 (medium) [q1]'; the formula stays available below."""
    report = _report(example)
    why = report.split("### Why the top candidates", 1)[1].split("\n## ", 1)[0]
    quality_lines = [line for line in why.splitlines() if "QUAL001" in line]
    assert quality_lines and all(len(line) < 160 and "→" not in line for line in quality_lines)
    evidence = report.split("## Quality evidence", 1)[1]
    assert "→" in evidence  # the formula is kept, once


def test_both_reports_say_in_one_line_how_the_order_was_made() -> None:
    """Issue 14: the report says how the order was made, the same sentence as the plan JSON's
    ``ranking_basis``: cost weighted at a medium bar, quality first at frontier."""
    medium = json.loads(_report("small-team-api", "--format", "json"))["ranking_basis"]
    assert f"Order: {medium}" in _report("small-team-api")
    assert "cost weighted" in medium
    html = _report("small-team-api", "--format", "html")
    assert "Order: " in html and "cost weighted" in html

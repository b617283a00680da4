"""Human units (issue 14): reports say ``45.6 billion tokens/month``, never ``4.56e10`` or ``1.56e+03``."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from advisor.estimate.units import human_count
from tests.conftest import EXAMPLES, ROOT


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (45.6e9, "45.6 billion"),
        (1560.4, "1,560"),
        (275_953, "275,953"),
        (999.6e6, "1 billion"),
        (0, "0"),
        (100_500_000, "100 million"),
        (9.13e9, "9.13 billion"),
        (2.5e12, "2.5 trillion"),
        (8.82e23, "8.8 × 10^23"),
        (0.25, "0.25"),
        (55.31, "55.3"),
        (999.6, "1,000"),
    ],
)
def test_human_count(value: float, text: str) -> None:
    """Three significant figures with a word a CTO reads aloud; powers of ten only past trillions (FLOPs)."""
    assert human_count(value) == text


SCI = re.compile(r"\b\d(?:\.\d+)?e[+-]?\d+\b")


@pytest.mark.parametrize("example", ["small-team-api", "ai-lab-build", "onprem-bank", "offline-laptop"])
def test_reports_have_no_scientific_notation_or_internal_keys(example: str) -> None:
    """A CTO reading the report sees words and units: no ``4.56e10``, no ``plugins.cost.…`` settings keys."""
    proc = subprocess.run(
        [sys.executable, "-m", "advisor", "plan", "--answers", str(EXAMPLES / f"{example}.yaml")],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert not SCI.findall(proc.stdout), SCI.findall(proc.stdout)
    assert "plugins." not in proc.stdout

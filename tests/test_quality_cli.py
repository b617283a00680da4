"""`advisor quality fit` and `advisor quality show`, end to end through a subprocess."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT


def advisor(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "advisor", *args], capture_output=True, text=True, cwd=ROOT, timeout=300
    )


@pytest.fixture(scope="module")
def fitted(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Path]:
    plot = tmp_path_factory.mktemp("plot") / "boundaries.svg"
    proc = advisor("quality", "fit", "--format", "json", "--plot", str(plot))
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout), plot


def test_fit_json_reports_every_boundary(fitted: tuple[dict[str, Any], Path]) -> None:
    payload, _ = fitted
    boundaries = payload["boundaries"]
    assert {b["quantile"] for b in boundaries} == {0.9, 0.98}
    for b in boundaries:
        assert set(b) >= {"benchmark", "quantile", "coverage", "r2", "params", "n", "bin_coverage", "catalog_check"}
        assert set(b["params"]) == {"y0", "L", "z_star", "b"}
        assert abs(b["coverage"] - b["quantile"]) <= 0.03
    assert any(b["predicts"] for b in boundaries)
    assert "NOTICE-obsscaling" in payload["license"]


def test_fit_plot_is_an_svg_with_the_boundaries_and_the_models(fitted: tuple[dict[str, Any], Path]) -> None:
    payload, plot = fitted
    svg = plot.read_text()
    assert svg.startswith("<svg") and svg.rstrip().endswith("</svg>")
    assert svg.count("<polyline") == len(payload["boundaries"])
    data_points = sum(b["n"] for b in payload["boundaries"] if b["quantile"] == 0.9)
    assert len(re.findall(r'<circle [^>]*fill="#555"', svg)) >= data_points


def test_fit_table_and_a_wrong_plot_format() -> None:
    proc = advisor("quality", "fit")
    assert proc.returncode == 0, proc.stderr
    assert "coverage" in proc.stdout and "mmlu" in proc.stdout
    bad = advisor("quality", "fit", "--plot", "out.png")
    assert bad.returncode == 2 and "--plot out.png" in bad.stderr and "svg" in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1


def test_show_json_contract() -> None:
    proc = advisor("quality", "show", "meta-llama/Llama-3.1-8B-Instruct", "--quant", "Q3_K_M", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert 0.0 <= data["quality"] <= 1.0 and isinstance(data["basis"], str) and data["basis"]
    assert data["quant_penalty"]["quant"] == "Q3_K_M" and data["quality"] < data["before_quant"]
    assert set(data["upper_bounds"]["by_quantile"]) == {"0.9", "0.98"}
    assert data["components"] and all("normalised" in c for c in data["components"])
    assert "Q4_K_M" in data["quant_penalties"]


def test_show_table_and_errors() -> None:
    proc = advisor("quality", "show", "Qwen/Qwen2.5-7B-Instruct", "--use-case", "code")
    assert proc.returncode == 0, proc.stderr
    assert "basis" in proc.stdout and "humaneval" in proc.stdout
    unknown = advisor("quality", "show", "acme/nothing")
    assert unknown.returncode == 2 and "MODEL acme/nothing" in unknown.stderr
    api_quant = advisor("quality", "show", "gpt-4o-mini", "--quant", "Q4_K_M")
    assert api_quant.returncode == 2 and "--quant" in api_quant.stderr

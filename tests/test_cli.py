"""End-to-end: the `advisor` command on the examples, through a real subprocess where exit codes
and stderr matter."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import EXAMPLES, FIXTURES, ROOT


def advisor(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, **(env or {})}
    full_env.pop("ADVISOR_PLUGINS", None) if env is None or "ADVISOR_PLUGINS" not in env else None
    return subprocess.run(
        [sys.executable, "-m", "advisor", *args],
        capture_output=True,
        text=True,
        env=full_env,
        cwd=cwd or ROOT,
        timeout=120,
    )


@pytest.fixture(scope="module")
def plans() -> dict[str, dict]:
    result = {}
    for path in sorted(EXAMPLES.glob("*.yaml")):
        proc = advisor("plan", "--answers", str(path), "--format", "json")
        assert proc.returncode in (0, 1), proc.stderr
        result[path.stem] = json.loads(proc.stdout)
    return result


def test_plan_json_contract(plans: dict[str, dict]) -> None:
    for plan in plans.values():
        assert plan["schema_version"] == 1
        assert set(plan["strategy"]) >= {"recommended", "scores", "reasons", "flip_conditions"}
        assert plan["strategy"]["recommended"] in {"api", "open_source", "build"}
        assert abs(sum(plan["strategy"]["scores"].values()) - 1) < 0.01
        for row in plan["candidates"]:
            assert set(row) >= {
                "id",
                "kind",
                "quant",
                "hardware",
                "rank",
                "verdict",
                "license",
                "params",
                "metrics",
                "findings",
            }
            assert set(row["metrics"]) >= {"quality", "monthly_cost_usd", "total_bytes", "decode_tokens_per_s"}
            assert (row["rank"] is None) == (row["verdict"] == "fail")
            for f in row["findings"]:
                assert set(f) >= {"check", "category", "plugin", "severity", "message"}
        ranks = [r["rank"] for r in plan["candidates"] if r["rank"] is not None]
        assert ranks == list(range(1, len(ranks) + 1))


def test_examples_reach_the_expected_roads(plans: dict[str, dict]) -> None:
    assert plans["small-team-api"]["strategy"]["recommended"] == "api"
    assert plans["onprem-bank"]["strategy"]["recommended"] == "open_source"
    assert plans["offline-laptop"]["strategy"]["recommended"] == "open_source"
    assert plans["ai-lab-build"]["strategy"]["recommended"] == "build"
    bank = plans["onprem-bank"]
    assert all(r["kind"] != "api" for r in bank["candidates"] if r["rank"] is not None)
    assert bank["deployment"]["command"].startswith(("vllm serve", "llama-server"))
    laptop = plans["offline-laptop"]
    assert laptop["deployment"]["command"].startswith("llama-server")
    top = next(r for r in laptop["candidates"] if r["rank"] == 1)
    assert top["kind"] == "open_source" and top["metrics"]["fits"] == "gpu"


def test_plan_markdown_and_html(tmp_path: Path) -> None:
    md = advisor("plan", "--answers", str(EXAMPLES / "onprem-bank.yaml"))
    assert md.returncode == 0 and "# model-advisor plan" in md.stdout and "not legal advice" in md.stdout
    out = tmp_path / "plan.html"
    html = advisor("plan", "--answers", str(EXAMPLES / "onprem-bank.yaml"), "--format", "html", "--out", str(out))
    assert html.returncode == 0 and out.read_text().startswith("<!doctype html>")


def test_bad_answers_exit_2_with_one_line(write) -> None:
    bad = write("bad.yaml", "traffic: {requests_per_day: -1}\nfoo: 1\n")
    proc = advisor("plan", "--answers", str(bad))
    assert proc.returncode == 2
    assert proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "traffic.requests_per_day" in lines[0] and "foo: unknown key" in lines[0]
    assert "Traceback" not in proc.stderr


def test_plan_with_plugin_that_raises_completes(tmp_path: Path) -> None:
    proc = advisor(
        "plan",
        "--answers",
        str(EXAMPLES / "small-team-api.yaml"),
        "--format",
        "json",
        "--plugin",
        str(FIXTURES / "crashing_check.py"),
    )
    assert proc.returncode == 0, proc.stderr
    plan = json.loads(proc.stdout)
    errors = [f for r in plan["candidates"] for f in r["findings"] if f["severity"] == "error"]
    assert errors and all(f["plugin"] == "crashing_check" for f in errors)


def test_strict_plugins_flag_exits_2() -> None:
    proc = advisor(
        "plan",
        "--answers",
        str(EXAMPLES / "small-team-api.yaml"),
        "--strict-plugins",
        "--plugin",
        str(FIXTURES / "broken_import.py"),
    )
    assert proc.returncode == 2 and "broken_import" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_design_plugin_with_plugin_flag() -> None:
    proc = advisor(
        "plan",
        "--answers",
        str(EXAMPLES / "onprem-bank.yaml"),
        "--format",
        "json",
        "--plugin",
        str(FIXTURES / "acme_rules.py"),
    )
    plan = json.loads(proc.stdout)
    for row in plan["candidates"]:
        if row["params"] and row["params"] > 20e9 and row["kind"] == "open_source":
            assert row["rank"] is None
            assert any(f["check"] == "ACME001" and f["severity"] == "fail" for f in row["findings"])


def test_plugins_and_checks_survive_broken_plugins() -> None:
    env = {"ADVISOR_PLUGINS": f"{FIXTURES / 'broken_import.py'},{FIXTURES / 'crashing_registration.py'}"}
    proc = advisor("plugins", "--all", "--format", "json", env=env)
    assert proc.returncode == 0
    rows = {r["name"]: r for r in json.loads(proc.stdout)}
    assert "ModuleNotFoundError" in rows["broken_import"]["error"]
    assert rows["license"]["origin"] == "builtin" and rows["license"]["error"] is None
    checks = advisor("checks", "--format", "json", env=env)
    assert checks.returncode == 0
    ids = [c["id"] for c in json.loads(checks.stdout)]
    assert ids == sorted(ids) and {"LIC001", "HW001", "COST001", "QUAL001", "CTX001", "PRIV001"} <= set(ids)
    table = advisor("plugins", env=env)
    assert "broken_import" in table.stdout and "license" not in table.stdout


def test_disable_plugins_env() -> None:
    proc = advisor("checks", "--format", "json", env={"ADVISOR_DISABLE_PLUGINS": "cost"})
    assert "COST001" not in {c["id"] for c in json.loads(proc.stdout)}


@pytest.mark.parametrize("kind", ["models", "apis", "hardware", "licenses", "quants"])
def test_catalog_command(kind: str) -> None:
    proc = advisor("catalog", kind, "--format", "json")
    assert proc.returncode == 0
    rows = json.loads(proc.stdout)
    assert isinstance(rows, list) and rows and all("source" in r and "as_of" in r for r in rows)
    assert advisor("catalog", kind).returncode == 0


def test_check_command() -> None:
    ok = advisor(
        "check", "Qwen/Qwen2.5-7B-Instruct", "--answers", str(EXAMPLES / "onprem-bank.yaml"), "--format", "json"
    )
    plan = json.loads(ok.stdout)
    assert {r["id"] for r in plan["candidates"]} == {"Qwen/Qwen2.5-7B-Instruct"}
    assert ok.returncode in (0, 1)
    non_commercial = advisor(
        "check",
        "Qwen/Qwen2.5-3B-Instruct",
        "--answers",
        str(EXAMPLES / "onprem-bank.yaml"),
        "--quant",
        "Q4_K_M",
        "--format",
        "json",
    )
    assert non_commercial.returncode == 1
    rows = json.loads(non_commercial.stdout)["candidates"]
    assert len(rows) == 1 and any(f["check"] == "LIC001" and f["severity"] == "fail" for f in rows[0]["findings"])
    unknown = advisor("check", "no-such-model", "--answers", str(EXAMPLES / "onprem-bank.yaml"))
    assert unknown.returncode == 2 and "no-such-model" in unknown.stderr


def test_help_is_fast_to_import() -> None:
    """`advisor --help` must not import the heavy or optional libraries."""
    code = (
        "import sys; from advisor.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('huggingface_hub', 'llama_cpp', 'numpy', 'scipy', 'rich', 'yaml', "
        "'advisor.engine.run', 'advisor.catalog.loader') if m in sys.modules]\n"
        "print(heavy)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert proc.stdout.strip().splitlines()[-1] == "[]"

"""`advisor licenses` and the licence verdict of `advisor check`, through the real command line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import yaml
from advisor_plugins import license as lic

from advisor.engine.host import PluginHost
from advisor.engine.session import Session
from advisor.engine.variants import open_candidate
from tests.conftest import ROOT


def advisor(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "advisor", *args], capture_output=True, text=True, cwd=ROOT, timeout=120
    )


def test_licenses_lists_the_knowledge_base() -> None:
    proc = advisor("licenses", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(proc.stdout)
    assert len(rows) >= 30 and all(r["link"].startswith("http") and r["as_of"] for r in rows)
    assert all("commercial_use" in r["clauses"] for r in rows)
    table = advisor("licenses")
    assert table.returncode == 0
    lines = table.stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("llama3.2 "))
    end = next(i for i in range(start + 1, len(lines)) if not lines[i].startswith(" "))
    block = " ".join(lines[start:end])  # a long row wraps onto continuation lines (tables fit 100 columns)
    assert "EU" in block and "(multimodal)" in block


def test_one_licence_in_full_by_id_or_alias() -> None:
    text = advisor("licenses", "llama-3.1")
    assert text.returncode == 0, text.stderr
    assert text.stdout.startswith("llama3.1: Llama 3.1 Community License Agreement")
    assert "700,000,000 monthly active users" in text.stdout and "“Built with Llama”" in text.stdout
    assert "not legal advice" in text.stdout
    record = json.loads(advisor("licenses", "mistral-research-license", "--format", "json").stdout)
    assert [r["id"] for r in record] == ["mrl"] and record[0]["commercial_use"] == "no"


def test_a_models_licence_lineage() -> None:
    proc = advisor("licenses", "deepseek-ai/DeepSeek-R1-Distill-Llama-8B", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    chain = json.loads(proc.stdout)["lineage"]
    assert [(c["model"], c["resolved"], c["binds"]) for c in chain] == [
        ("deepseek-ai/DeepSeek-R1-Distill-Llama-8B", "mit", True),
        ("meta-llama/Llama-3.1-8B", "llama3.1", True),
    ]
    text = advisor("licenses", "deepseek-ai/DeepSeek-R1-Distill-Llama-8B").stdout
    assert "mit: MIT License" in text and "llama3.1: Llama 3.1 Community License Agreement" in text


def test_an_unknown_id_is_one_line_and_exit_2() -> None:
    proc = advisor("licenses", "no-such-licence")
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.strip().splitlines() == [
        "advisor: error: ID no-such-licence: neither a licence nor a catalog model "
        "(see `advisor licenses` and `advisor catalog models`)"
    ]


def test_the_command_and_the_checks_read_the_same_lineage() -> None:
    from advisor.cli.licenses import model_lineage

    context = Session(host=PluginHost(strict=True).load(entrypoints=False))
    catalog = context.catalog
    for model_id, record in sorted(catalog.models.items()):
        plugin = lic.resolve_lineage(open_candidate(record, quant="Q4_K_M"), catalog)
        command = model_lineage(catalog, model_id)
        assert [(c["model"], c["resolved"], c["binds"]) for c in command] == [
            (link.model, link.record.id if link.record else None, link.binding) for link in plugin.links
        ], model_id


def test_check_shows_the_licence_verdict_with_its_clause(tmp_path: Path) -> None:
    answers = tmp_path / "answers.yaml"
    answers.write_text(
        yaml.safe_dump({"license": {"commercial_use": True, "monthly_active_users": 800_000_000}}), encoding="utf-8"
    )
    proc = advisor(
        "check", "deepseek-ai/DeepSeek-R1-Distill-Llama-8B", "--answers", str(answers), "--quant", "Q4_K_M",
        "--format", "json",
    )  # fmt: skip
    assert proc.returncode == 1, proc.stderr
    [row] = json.loads(proc.stdout)["candidates"]
    by_check = {f["check"]: f for f in row["findings"] if f["category"] == "license"}
    cap = by_check["LIC002"]
    assert cap["severity"] == "fail" and "meta-llama/Llama-3.1-8B" in cap["message"]
    assert "§2" in cap["message"] and "700 million monthly active users" in cap["message"]
    assert by_check["LIC008"]["severity"] == "warn"
    research = advisor(
        "check", "Qwen/Qwen2.5-3B-Instruct", "--answers", str(answers), "--quant", "Q4_K_M", "--format", "json"
    )
    [row] = json.loads(research.stdout)["candidates"]
    [fail] = [f for f in row["findings"] if f["check"] == "LIC001"]
    assert fail["severity"] == "fail" and "research or evaluation purposes only" in fail["message"]

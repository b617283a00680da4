"""Quality evidence for the hosted APIs (issue 14): several cited benchmarks per frontier API, and the curated
scores reach the generated catalog.

The ranking discounts thin evidence, so a frontier API known from one chat-preference number loses to a
weaker model measured more broadly. An ML lead shortlisting for an agent, a code assistant or a 150k-token
review wants each current frontier API measured on what that work needs: code (SWE-bench Verified,
LiveCodeBench), agents and tool use (BFCL, tau-bench, Terminal-Bench), long context (MRCR, LongBench v2,
RULER). These tests pin that coverage, that every score says where and when it was read and under which
setting, and that catalog/apis.yaml was regenerated from catalog/apis_curated.yaml (its documented source).
"""

from __future__ import annotations

from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

from advisor.catalog.loader import Catalog
from advisor.engine.host import PluginHost
from advisor.engine.session import Session
from advisor.estimate.quality import quality_policy
from tests.conftest import ROOT, load_script

#: benchmark groups a frontier shortlist is read on (keys of catalog/quality_policy.yaml)
GROUPS = {
    "code": {"swe_bench_verified", "livecodebench"},
    "agent": {"bfcl", "tau_bench", "terminal_bench"},
    "long context": {"mrcr", "longbench_v2", "ruler"},
}
#: the current frontier APIs of the catalog (the issue's list: Claude, GPT-5.x, Gemini 3.x, DeepSeek V4)
FRONTIER = (
    "claude-opus-4-7",
    "claude-opus-4-5",
    "claude-sonnet-4-6",
    "claude-sonnet-4-5",
    "claude-haiku-4-5",
    "gpt-5",
    "gpt-5-mini",
    "gpt-5.1",
    "gpt-5.2",
    "gpt-5.4",
    "gpt-5.5",
    "gemini/gemini-3.1-pro-preview",
    "gemini/gemini-3-flash-preview",
    "gemini/gemini-3.1-flash-lite",
    "deepseek/deepseek-v4-pro",
    "deepseek/deepseek-v4-flash",
)
#: the Russian APIs: measured by a third party on public benchmarks (no MERA score was found to cite)
RUSSIAN = ("sber/gigachat-2-lite", "sber/gigachat-2-pro", "sber/gigachat-2-max")


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return Session(host=PluginHost().load(entrypoints=False)).catalog


@pytest.mark.parametrize("api_id", FRONTIER)
def test_frontier_api_is_measured_on_the_work_the_use_cases_need(catalog: Catalog, api_id: str) -> None:
    """Each frontier API carries scores from at least two of the three groups (code, agents, long context)
    and at least three benchmarks besides Arena: one generic number is not evidence for an agent or a
    150k-token review, and the ranking would shrink such a model towards the prior."""
    record = catalog.apis[api_id]
    names = set(record.benchmarks)
    covered = [group for group, members in GROUPS.items() if names & members]
    assert len(covered) >= 2, (api_id, sorted(names))
    assert len(names - {"arena_elo"}) >= 3, (api_id, sorted(names))


def test_every_api_score_is_sourced_dated_explained_and_known_to_the_quality_model(catalog: Catalog) -> None:
    """A score without its source, date and setting cannot be checked; a key the policy does not normalise
    would be silently ignored by the quality model. (A hosted open model's scores are copied from its
    catalog/models.yaml record, whose own tests hold them to that file's rules.)"""
    known = set(quality_policy().normalisation)
    for api in catalog.apis.values():
        served = catalog.models.get(api.open_weights_model or "")
        for name, score in api.benchmarks.items():
            assert name in known, (api.id, name)
            assert score.source.startswith("https://"), (api.id, name)
            assert score.as_of is not None, (api.id, name)
            assert score.note or (served is not None and name in served.benchmarks), (api.id, name)
            if score.scale == "percent":
                assert 0 < score.value <= 100, (api.id, name, score.value)


@pytest.mark.parametrize("api_id", RUSSIAN)
def test_russian_apis_have_published_scores(catalog: Catalog, api_id: str) -> None:
    """GigaChat 2 has been measured (reasoning, knowledge, code): a Russian support bot should not rank it
    on nothing at all."""
    assert len(catalog.apis[api_id].benchmarks) >= 3, api_id


def _curated() -> dict[str, Any]:
    data = yaml.safe_load((ROOT / "catalog" / "apis_curated.yaml").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def _generated() -> dict[str, dict[str, Any]]:
    data = yaml.safe_load((ROOT / "catalog" / "apis.yaml").read_text(encoding="utf-8"))
    return {record["id"]: record for record in data["apis"]}


def test_curated_scores_reach_the_generated_catalog() -> None:
    """apis.yaml is generated from apis_curated.yaml (docs/catalog.md, scripts/import_litellm_prices.py):
    every curated score appears in the generated record, unless the served open model's own
    models.yaml score for that benchmark takes precedence (hosted and self-hosted copies compare on the
    same numbers). A curated score missing here means the generator was not re-run."""
    generated = _generated()
    curated = _curated()
    entries = [*curated["apis"], *curated.get("direct", [])]
    checked = 0
    for entry in entries:
        record = generated.get(entry["key"])
        if record is None:  # a key the price table lacks is skipped by the generator, and reported there
            continue
        for name, score in (entry.get("benchmarks") or {}).items():
            have = (record.get("benchmarks") or {}).get(name)
            assert have is not None, (entry["key"], name)
            if not entry.get("open_weights"):
                assert have["value"] == score["value"] and have["source"] == score["source"], (entry["key"], name)
            checked += 1
    assert checked > 100


def _script() -> ModuleType:
    return load_script("scripts/import_litellm_prices.py")


def test_directly_priced_apis_take_curated_scores_after_the_open_model_ones(tmp_path: Path) -> None:
    """An API priced outside LiteLLM (YandexGPT, GigaChat) carries the scores curated for it; when it serves
    open weights, the open model's catalog scores win for the benchmarks both give."""
    script = _script()
    curated = tmp_path / "curated.yaml"
    score = {"value": 50.0, "scale": "percent", "source": "https://example.org/a", "as_of": "2025-03-31", "note": "n"}
    curated.write_text(
        yaml.safe_dump(
            {
                "as_of": "2026-07-24",
                "source": "https://example.org/prices",
                "apis": [],
                "direct": [
                    {
                        "key": "x/api",
                        "name": "X",
                        "provider": "x",
                        "currency": "RUB",
                        "input_per_1k": 1.0,
                        "output_per_1k": 1.0,
                        "context_window": 1000,
                        "source": "https://example.org/p",
                        "as_of": "2026-08-01",
                        "open_weights": "org/model",
                        "benchmarks": {"gpqa": score, "mmlu_pro": score},
                    }
                ],
            }
        ),
        encoding="utf-8",
    )
    table = script.load_curated(curated)
    rate = script.Rate(80.0, "https://example.org/rate", "2026-08-01")
    own = {"gpqa": {**score, "value": 40.0, "source": "https://example.org/card"}}
    records, skipped = script.build_catalog({}, table, {"org/model": own}, {"RUB": rate})
    assert not skipped
    benchmarks = records[0]["benchmarks"]
    assert benchmarks["gpqa"]["value"] == 40.0  # the open model's own score
    assert benchmarks["mmlu_pro"]["value"] == 50.0  # the curated one fills the gap

"""The ranking read the way an experienced ML lead reads it (issue 14).

Each answers file in ``tests/fixtures/ranking/`` is one business; each test says what the lead would put
first and why. Plans run through the real CLI on the shipped catalog, so a rule or catalog change that
would hand one of these businesses the wrong model first fails here. The rules behind them (soft warns,
evidence strength, precision on owned hardware, the upper bound below the bar) are pinned one at a time
below the cases.
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
from typing import Any

from advisor_plugins import quality as quality_plugin
from advisor_plugins import ranking

from advisor.model.candidate import Candidate
from advisor.model.checks import Finding
from advisor.model.context import AdvisorContext
from advisor.model.plan import Assessment
from advisor.model.requirements import Requirements
from tests.conftest import FIXTURES, ROOT

CASES = FIXTURES / "ranking"
#: the frontier APIs an ML lead would shortlist for a frontier agent (families, matched as id prefixes)
#: (DeepSeek V4 Pro is the open-weights frontier API: its card publishes the agent and code benchmarks)
FRONTIER = (
    "claude-opus",
    "claude-sonnet",
    "gpt-5",
    "gemini/gemini-3.1-pro",
    "gemini/gemini-3-pro",
    "o3",
    "deepseek/deepseek-v4-pro",
)
SMALL = ("lite", "nano", "-mini", "flash")


@functools.cache
def _plan(name: str) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if k != "ADVISOR_PLUGINS"}
    proc = subprocess.run(
        [sys.executable, "-m", "advisor", "plan", "--answers", str(CASES / f"{name}.yaml"), "--format", "json"],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=180,
    )
    assert proc.returncode in (0, 1), proc.stderr
    return json.loads(proc.stdout)  # type: ignore[no-any-return]


def _ranked(plan: dict[str, Any]) -> list[dict[str, Any]]:
    return sorted((c for c in plan["candidates"] if c["rank"] is not None), key=lambda c: c["rank"])


def _rank_of(plan: dict[str, Any], candidate_id: str) -> int | None:
    ranks = [c["rank"] for c in plan["candidates"] if c["id"] == candidate_id and c["rank"] is not None]
    return min(ranks) if ranks else None


def test_frontier_agent_gets_frontier_apis_first() -> None:
    """Autonomous research agent, quality frontier, $60k/month: a lead shortlists the strongest, best
    evidenced models (Claude Opus/Sonnet, GPT-5.x, Gemini 3.x Pro). A Flash-Lite or a nano scored from one
    chat-preference number is not what they would try first; the plan says how it ordered them."""
    plan = _plan("frontier_agent")
    top = _ranked(plan)[:3]
    assert len(top) == 3
    for row in top:
        assert row["id"].startswith(FRONTIER), [r["id"] for r in top]
        assert not any(word in row["id"] for word in SMALL), row["id"]
    assert "quality" in plan["ranking_basis"] and "evidence" in plan["ranking_basis"]


def test_long_context_legal_review_is_not_led_by_an_mmlu_only_model() -> None:
    """150k-token due diligence: the lead never starts with gpt-4.1-nano judged on MMLU alone; the first
    choice stands on several benchmarks (one generic number is weak evidence), and it holds the window."""
    plan = _plan("legal_long_context")
    ranked = _ranked(plan)
    assert ranked[0]["id"] != "gpt-4.1-nano"
    assert all(not r["id"].endswith("nano") for r in ranked[:3]), [r["id"] for r in ranked[:3]]
    best = ranked[0]
    qual = next(f for f in best["findings"] if f["check"] == "QUAL001")
    published = [c for c in qual["evidence"]["components"] if c["origin"] == "published"]
    assert len(published) >= 2, best["id"]
    assert all(f["severity"] != "fail" for f in best["findings"] if f["check"] == "CTX001")


def test_code_assistant_prefers_code_evidence_and_ignores_a_tier_warning() -> None:
    """A code-review bot: a model with code benchmarks (SWE-bench Verified, LiveCodeBench) ranks above
    one with none; the current Claude Sonnet is not sunk to the bottom by a tier-1 rate-limit warning
    (COST002), which the team lifts by asking for a higher tier. (The issue saw it 59th of 60; with code scores
    published for most APIs, models with more code evidence rightly rank ahead of it, so the bound is the top
    quarter, not a fixed place.)"""
    plan = _plan("code_review")
    ranked = _ranked(plan)
    code = {"swe_bench_verified", "livecodebench", "humaneval"}

    def has_code(row: dict[str, Any]) -> bool:
        qual = next((f for f in row["findings"] if f["check"] == "QUAL001"), None)
        comps = (qual or {}).get("evidence", {}) or {}
        return any(c["benchmark"] in code and c["origin"] == "published" for c in comps.get("components", []))

    assert has_code(ranked[0]), ranked[0]["id"]
    first_without = next((i for i, r in enumerate(ranked) if not has_code(r)), len(ranked))
    last_with = max((i for i, r in enumerate(ranked[:10]) if has_code(r)), default=-1)
    assert first_without > 0 and last_with >= 0
    sonnet = next(c for c in plan["candidates"] if c["id"] == "claude-sonnet-4-6")
    warns = {f["check"] for f in sonnet["findings"] if f["severity"] == "warn"}
    assert warns == {"COST002"}, warns  # the case: only the tier-1 rate limit warns
    # it ranks among the models of its quality (top quarter of the ranked list), not last as before
    assert sonnet["rank"] is not None and sonnet["rank"] <= len(ranked) // 4, (sonnet["rank"], len(ranked))


def test_russian_support_bot_never_gets_a_model_without_russian_above_one_with_it() -> None:
    """Russian first, Kazakh wanted: Llama 4 does not list Russian, so it cannot beat DeepSeek V4 Flash
    (which a lead would try) at the same price; at most it is rejected (QUAL002)."""
    plan = _plan("ru_kz_support")
    deepseek = _rank_of(plan, "deepseek/deepseek-v4-flash")
    assert deepseek is not None
    for row in plan["candidates"]:
        if "llama-4" in row["id"].lower() and row["rank"] is not None:
            assert row["rank"] > deepseek, row["id"]


def test_bank_on_owned_h100s_runs_higher_precision_at_equal_cost() -> None:
    """Two owned H100 80GB: the cash is the same for every weight format of a model (power), so a bank
    runs BF16/FP8 (or Q8), not the 4-bit variant: at equal cost a higher precision ranks first. (FP8 may rank
    above BF16: on H100s it is served faster at no measurable quality cost, as a lead would serve a 72B.)"""
    plan = _plan("bank_owned_h100")
    ranked = _ranked(plan)
    groups: dict[tuple[str, str, float], list[dict[str, Any]]] = {}
    for row in ranked:
        key = (row["id"], str(row.get("hardware")), round(float(row["metrics"].get("monthly_cost_usd") or 0), 2))
        groups.setdefault(key, []).append(row)
    compared = 0
    for rows in groups.values():
        if len(rows) > 1 and any(r.get("quant") != "Q4_K_M" for r in rows):
            compared += 1
            assert rows[0].get("quant") != "Q4_K_M", [(r["id"], r.get("quant"), r["rank"]) for r in rows]
    assert compared >= 3


# --- the rules, one at a time ---------------------------------------------------------------------


def _assessment(key: str, quality: float, cost: float, findings: list[Finding] | None = None) -> Assessment:
    metrics = {"quality": quality, "quality_kind": "published", "monthly_cost_usd": cost}
    return Assessment(candidate=Candidate(id=key, kind="api", name=key), findings=findings or [], metrics=metrics)


def test_a_rate_limit_warning_is_soft_and_a_real_warning_is_not() -> None:
    """A COST002 (tier-1 rate limit) warn is an operational note: the strong model still leads. A warn that
    is about the model (QUAL004 heavy quantization loss) still ranks after the clean ones."""
    limited = _assessment("strong", 0.9, 100.0, [Finding(severity="warn", message="tier 1", check="COST002")])
    weak = _assessment("weak", 0.65, 100.0)
    lossy = _assessment("lossy", 0.9, 100.0, [Finding(severity="warn", message="q3", check="QUAL004")])
    ordered = ranking.advisor_rank([weak, lossy, limited], Requirements(quality="high"))
    assert [a.candidate.id for a in ordered] == ["strong", "weak", "lossy"]


def test_several_relevant_benchmarks_beat_one_number() -> None:
    """Equal headline quality, equal price: the model measured on four benchmarks the use case needs
    ranks above the one with a single chat-preference number."""

    def evidence(weights: list[float]) -> list[Finding]:
        comps = [{"benchmark": f"b{i}", "weight": w, "origin": "published"} for i, w in enumerate(weights)]
        return [Finding(severity="pass", message="q", check="QUAL001", evidence={"components": comps})]

    thin = _assessment("thin", 0.9, 100.0, evidence([0.5]))
    broad = _assessment("broad", 0.88, 100.0, evidence([2.0, 2.0, 1.0, 1.0]))
    ordered = ranking.advisor_rank([thin, broad], Requirements(quality="frontier"))
    assert [a.candidate.id for a in ordered] == ["broad", "thin"]


def test_ranking_basis_names_the_rule_for_the_level() -> None:
    """The one line a report shows: quality first at high/frontier, cost weighted at low/medium."""
    assert "quality first" in ranking.ranking_basis(Requirements(quality="frontier"))
    assert "cost" in ranking.ranking_basis(Requirements(quality="medium"))


def test_upper_bound_below_a_frontier_bar_fails_even_on_assumed_tokens(context: AdvisorContext) -> None:
    """Mistral-7B's predicted upper bound (≈0.2) cannot meet a frontier bar of 0.80: the bound is what
    the model could at most reach, so it fails (not warns), and the message shows the bound as a range."""
    requirements = Requirements(quality="frontier")
    record = context.catalog.models["mistralai/Mistral-7B-Instruct-v0.3"]
    candidate = Candidate(id=record.id, kind="api", name=record.id, params=7_250_000_000, active_params=7_250_000_000)
    findings = list(quality_plugin.meets_quality_bar(candidate, requirements, context))
    assert findings and findings[0].severity == "fail", findings
    assert "–" in findings[0].message  # the range of the upper bound across the policy's quantiles


def _scores(**values: float) -> dict[str, Any]:
    from advisor.catalog.records import BenchmarkScore

    return {
        name: BenchmarkScore(value=v, scale="elo" if name == "arena_elo" else "percent", source="https://example.org")
        for name, v in values.items()
    }


def test_rich_agent_evidence_keeps_a_frontier_model_at_the_frontier() -> None:
    """When the catalog gains the hard agent benchmarks (BFCL ~77 %, Terminal-Bench ~60-75 %, SWE-bench
    ~80 % at the frontier), a frontier model that publishes them must still clear the frontier bar and
    rank above a model known only from GPQA, MMLU-Pro and Arena with the same scores there: richer
    evidence may not read as a weaker model (hard benchmarks are read against the frontier, not 100 %)."""
    from advisor.estimate.quality import estimate_quality, quality_bar

    common = {"gpqa": 87.0, "mmlu_pro": 88.0}
    rich = estimate_quality(
        _scores(bfcl=77.0, tau_bench=85.0, terminal_bench=60.0, swe_bench_verified=80.0, **common), "agent"
    )
    thin = estimate_quality(_scores(arena_elo=1450.0, **common), "agent")
    assert rich is not None and thin is not None
    bar = quality_bar("frontier", None)
    assert bar is not None and rich.value >= bar, rich.basis

    def as_assessment(key: str, estimate: Any) -> Assessment:
        comps = [{"benchmark": c.benchmark, "weight": c.weight, "origin": c.origin} for c in estimate.components]
        finding = Finding(severity="pass", message="q", check="QUAL001", evidence={"components": comps})
        return _assessment(key, estimate.value, 1000.0, [finding])

    ordered = ranking.advisor_rank(
        [as_assessment("thin", thin), as_assessment("rich", rich)], Requirements(quality="frontier")
    )
    assert [a.candidate.id for a in ordered] == ["rich", "thin"]

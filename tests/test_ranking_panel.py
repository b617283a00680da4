"""A wider panel of businesses, read the way an experienced ML lead reads a plan (issue 14).

Beyond the five pinned use cases (tests/test_ranking_cases.py), these are the cases a review panel
brings. Each answers file in ``tests/fixtures/ranking/`` is one business; each test states what a lead
would accept in the top three and what must never appear in the top five, and why. Plans run through
the real CLI on the shipped catalog; the rules are general (plugins/ranking.py, catalog/quality_policy.yaml),
never per case.
"""

from __future__ import annotations

from typing import Any

from tests.test_ranking_cases import FRONTIER, _plan, _rank_of, _ranked

#: models a lead would never hand a customer-facing product or a hard task in 2026
TOY = ("270m", "-0.5b", "-0.6b", "-1b-", "1B-Instruct", "SmolLM", "Llama-2", "Mistral-7B")


def _top(name: str, n: int = 5) -> list[dict[str, Any]]:
    """The first ``n`` models (best variant of each) in the plan's order."""
    seen: set[str] = set()
    rows = []
    for row in _ranked(_plan(name)):
        if row["id"] not in seen:
            seen.add(row["id"])
            rows.append(row)
    return rows[:n]


def _ids(rows: list[dict[str, Any]]) -> list[str]:
    return [r["id"] for r in rows]


def _no_toys(rows: list[dict[str, Any]]) -> None:
    for row in rows:
        assert not any(word.lower() in row["id"].lower() for word in TOY), _ids(rows)


def _budget(name: str) -> float:
    return float(_plan(name)["requirements"]["budget"]["monthly_usd"])


def test_eu_support_chatbot_stays_in_the_eu_and_within_budget() -> None:
    """GDPR residency, medium bar, $3k: every model in the top five processes data in the EU (or runs on
    rented GPUs there) and costs well inside the budget; no toy model."""
    top = _top("eu_support_gdpr")
    _no_toys(top)
    for row in top:
        priv = next(f for f in row["findings"] if f["check"] == "PRIV001")
        assert priv["severity"] == "pass" and "EU" in priv["message"], (row["id"], priv["message"])
        assert row["metrics"]["monthly_cost_usd"] <= 0.5 * _budget("eu_support_gdpr"), row["id"]


def test_startup_summaries_pick_a_capable_cheap_model_first() -> None:
    """$300/month, medium bar: the lead picks a capable cheap API (gpt-oss-20b on Groq at ≈ $35), not the
    weakest one that is $15 cheaper (Llama 3.1 8B at 0.56): the budget is far from spent either way."""
    top = _top("startup_summaries")
    _no_toys(top)
    quality = [r["metrics"]["quality"] for r in top[:3]]
    assert quality[0] >= max(quality[1:]) - 0.1, _ids(top)
    assert all(r["metrics"]["monthly_cost_usd"] <= 0.5 * _budget("startup_summaries") for r in top)


def test_bulk_extraction_is_cheap_but_not_a_toy() -> None:
    """500k invoices a day at a low bar: cost rules, but a 270M or 1B model is not what a lead ships for
    structured extraction; the first three are 3B-8B-class or larger, within budget."""
    top = _top("bulk_extraction")
    _no_toys(top[:3])
    assert all(r["metrics"]["monthly_cost_usd"] <= _budget("bulk_extraction") for r in top)


def test_ticket_classification_takes_the_better_model_at_nearly_the_same_price() -> None:
    """Routing tickets, medium bar, $2k: nothing in the top three is much weaker than a model that costs
    about the same (within 10 % of the budget) further down the top five."""
    top = _top("ticket_classification")
    budget = _budget("ticket_classification")
    for i, row in enumerate(top[:3]):
        for later in top[i + 1 :]:
            close = abs(later["metrics"]["monthly_cost_usd"] - row["metrics"]["monthly_cost_usd"]) <= 0.1 * budget
            if close:
                assert later["metrics"]["quality"] - row["metrics"]["quality"] < 0.2, (row["id"], later["id"])


def test_rag_over_internal_docs_leads_with_a_frontier_api() -> None:
    """High bar, $5k, an API is fine: the lead tries a frontier API first (Gemini 3.x Pro, GPT-5.x,
    Claude); strong open-weights APIs may follow, no nano or lite model in the top three."""
    top = _top("rag_internal_docs")
    assert top[0]["id"].startswith(FRONTIER), _ids(top)
    assert not any(w in r["id"] for r in top[:3] for w in ("nano", "lite")), _ids(top)


def test_translation_lists_every_language_or_says_it_is_unknown() -> None:
    """Translation requires every listed language: no top-five model has a card that leaves one out
    (that is a QUAL002 fail); the first is a frontier API."""
    top = _top("translation_service")
    assert top[0]["id"].startswith(FRONTIER), _ids(top)
    for row in top:
        lang = next(f for f in row["findings"] if f["check"] == "QUAL002")
        assert lang["severity"] in ("pass", "info"), (row["id"], lang["message"])


def test_university_lab_with_one_a100_gets_a_model_that_runs_on_it_or_a_cheap_api() -> None:
    """One owned A100 80GB, non-commercial, $200: every top-five model is within budget, no toy; a
    self-hosted variant fits the one A100 (licence findings pass or note, never fail)."""
    top = _top("university_a100")
    _no_toys(top)
    for row in top:
        assert row["metrics"]["monthly_cost_usd"] <= _budget("university_a100"), row["id"]
        if row["kind"] == "open_source":
            assert (row.get("hardware_count") or 1) == 1, row["id"]


#: small models of 2024 and earlier (and granite-3.3-8b): a lead does not hand a coding helper one of these first
SMALL_2024 = ("granite-3.3-8b", "gemma-2-", "Qwen2.5-", "Llama-3.2-", "Llama-3.1-8B", "/phi-4", "Phi-3", "Mistral-Nemo")


def test_laptop_only_team_gets_local_models_that_fit() -> None:
    """On-prem on one M3 Max: only local variants are acceptable (an API sends the code away), none a
    toy, the best precision of each model first. For this private coding helper the lead tries first a recent
    strong model measured on a hard code benchmark (LiveCodeBench or SWE-bench Verified: GLM-4.5-Air,
    gpt-oss-120b, Qwen3-30B-A3B class), never granite-3.3-8b or a 2024 small model known only from saturated
    ones (HumanEval 90 % says little once every model scores it). The issue's pair is read on one scale:
    Qwen3-30B-A3B-Instruct-2507 (LiveCodeBench 43 %) ranks above granite-3.3-8b (HumanEval 90 %), which
    averaged over whatever each published used to come first (issue 14)."""
    top = _top("laptop_only")
    _no_toys(top)
    assert all(r["kind"] == "open_source" for r in top), _ids(top)
    qual = next(f for f in top[0]["findings"] if f["check"] == "QUAL001")
    published = {c["benchmark"] for c in qual["evidence"]["components"] if c["origin"] == "published"}
    assert published & {"livecodebench", "swe_bench_verified"}, (top[0]["id"], published)
    for row in top[:3]:
        assert not any(word in row["id"] for word in SMALL_2024), _ids(top)
    plan = _plan("laptop_only")
    qwen = _rank_of(plan, "Qwen/Qwen3-30B-A3B-Instruct-2507")
    granite = _rank_of(plan, "ibm-granite/granite-3.3-8b-instruct")
    assert qwen is not None and (granite is None or granite > qwen), (qwen, granite)


def test_healthcare_on_prem_runs_the_strongest_model_at_high_precision() -> None:
    """Patient data on four owned H100s, high bar: the lead runs the strongest open model the GPUs hold,
    at 8-bit or better when it fits (power for two more GPUs is noise against a $10k budget)."""
    top = _top("healthcare_onprem")
    _no_toys(top)
    assert all(r["kind"] == "open_source" for r in top)
    first = top[0]
    assert first["quant"] in ("F16", "BF16", "FP8", "Q8_0"), (first["id"], first["quant"])
    best = max(r["metrics"]["quality"] for r in top)
    assert first["metrics"]["quality"] >= best - 0.05, _ids(top)


def test_frontier_coding_agent_gets_frontier_code_models() -> None:
    """An autonomous coding agent at frontier quality with $100k/month: the first three are frontier
    APIs with code evidence (SWE-bench Verified), not a mini model scored on saturated HumanEval."""
    top = _top("coding_agent_frontier")
    for row in top[:3]:
        assert row["id"].startswith(FRONTIER), _ids(top)
        assert not any(w in row["id"] for w in ("-mini", "nano", "lite", "flash")), _ids(top)
        qual = next(f for f in row["findings"] if f["check"] == "QUAL001")
        benches = {c["benchmark"] for c in qual["evidence"]["components"] if c["origin"] == "published"}
        assert "swe_bench_verified" in benches, (row["id"], benches)


def _markdown(name: str) -> str:
    import os
    import subprocess
    import sys

    from tests.conftest import ROOT
    from tests.test_ranking_cases import CASES

    env = {k: v for k, v in os.environ.items() if k != "ADVISOR_PLUGINS"}
    args = [sys.executable, "-m", "advisor", "plan", "--answers", str(CASES / f"{name}.yaml"), "--format", "md"]
    proc = subprocess.run(args, capture_output=True, text=True, env=env, cwd=ROOT, timeout=180)
    assert proc.returncode in (0, 1), proc.stderr
    return proc.stdout


def test_headline_marks_every_named_model_with_its_place_and_says_why() -> None:
    """A CTO reading the headline sees the first choice (#1) before the road's reasons, where each model the
    reasons name stands (#16), and one line saying the recommendation is #1 and the others are cited only as
    the like-for-like comparison; the table rows (one per model, ids up to 45 characters) fit 100 columns."""
    text = _markdown("frontier_agent")
    head = text.split("## Top candidates", 1)[0]
    rows = [line for line in text.splitlines() if line.startswith("| ") and not line.startswith("| # ")]
    places = {line.split(" | ")[1]: line.split(" | ")[0].strip("| ") for line in rows}
    named = [m for m in places if f"{m} (#" in head]
    assert named, head
    for model in named:
        assert f"{model} (#{places[model]}" in head, (model, places[model])
    first = next(line for line in rows if line.startswith("| 1 |")).split(" | ")[1]
    assert head.index(f"First choice: {first} (#1") < head.index("Why this road:")
    if any(int(places[m]) > 3 for m in named):
        assert f"the recommendation is #1, {first}." in head
    assert all(len(line) <= 100 for line in rows if len(line.split(" | ")[1]) <= 45), rows


def test_laptop_coding_helper_offers_a_code_model() -> None:
    """A lead names a code model (Qwen3-Coder-30B-A3B, 3B active: fast on a laptop; or Devstral Small) among
    the first five for a private coding helper, not only general chat models. (It was a strict xfail while
    Devstral, known from SWE-bench Verified alone, was averaged over that one hard score; on one scale its other
    code benchmarks are imputed from it and it ranks among the first five. Qwen3-Coder's own scores are data.)"""
    ids = _ids(_top("laptop_only"))
    assert any("Coder" in i or "Devstral" in i or "codestral" in i.lower() for i in ids), ids


def test_a_desktop_gpu_with_no_budget_still_gets_a_local_code_model() -> None:
    """One RTX 4090 (24 GB), a $0 monthly budget, code that must stay in the office. The card's electricity
    (~$30/month) is the only new cost: a lead runs a ~24B dense or 30B-A3B MoE code model at 4 bits on it
    (Devstral Small, Qwen3-Coder-30B-A3B) rather than hearing "no candidate". Every model in the top five runs
    on the card itself at the 20 tokens/s asked, none is a toy, and a code model is among the first three."""
    top = _top("desktop_4090_code")
    assert len(top) == 5, _ids(top)
    _no_toys(top)
    assert all(r["kind"] == "open_source" and r["hardware"] == "rtx-4090" for r in top), _ids(top)
    assert any("Coder" in i or "Devstral" in i or "codestral" in i.lower() for i in _ids(top)[:3]), _ids(top)
    for row in top:
        budget = next(f for f in row["findings"] if f["check"] == "COST001" and "budget" in f["message"])
        assert budget["severity"] == "warn" and "electricity" in budget["message"], budget

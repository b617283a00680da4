"""The strategy plugin on hand-computed markets: cost votes, break-even flips, privacy, licence,
quality, team and the build criteria with payback. Assessments are built directly (no catalog),
so every number in the expectations can be re-derived on paper."""

from __future__ import annotations

from typing import Any

import pytest

from advisor.engine.run import decide_strategy
from advisor.engine.session import Session
from advisor.estimate.cost import ServingCost
from advisor.model.candidate import Candidate
from advisor.model.checks import Finding
from advisor.model.plan import Assessment, StrategyDecision
from advisor.model.requirements import Requirements

DAYS = 30.44
PER_REQUEST = 1000  # 800 input + 200 output tokens
# self-hosting: $3,000 operator time + $600 per replica of 1e9 tokens/month; the API: $1 per 1M tokens.
# One replica earns $1,000 at API prices, $400 more than it costs, so k = ceil(3000 / 400) = 8 replicas
# first break even at (3000 + 8 × 600) / 1e-6 = 7.8e9 tokens/month. The ninth replica ($8,400) makes the
# API cheaper again on (8e9, 8.4e9); from 8.4e9 tokens/month (275,953 requests/day) self-hosting stays cheaper.
FIXED, UNIT, CAPACITY, API_PER_TOKEN = 3000.0, 600.0, 1e9, 1e-6


def _requirements(requests_per_day: int, **overrides: Any) -> Requirements:
    data: dict[str, Any] = {
        "quality": "medium",
        "traffic": {"requests_per_day": requests_per_day, "input_tokens": 800, "output_tokens": 200},
        "team": {"ml_engineers": 1, "mlops": "basic"},
    }
    data.update(overrides)
    return Requirements.model_validate(data)


def _fail(check: str, category: str) -> Finding:
    return Finding(severity="fail", message=f"{check} says no", check=check, category=category)


def _api(requests_per_day: int, quality: float = 0.72, findings: list[Finding] | None = None) -> Assessment:
    volume = requests_per_day * DAYS * PER_REQUEST
    return Assessment(
        candidate=Candidate(id="api-x", kind="api", name="API X", provider="p"),
        metrics={
            "quality": quality,
            "monthly_cost_usd": volume * API_PER_TOKEN,
            "usd_per_1m_tokens": API_PER_TOKEN * 1e6,
            "upfront_cost_usd": 0.0,
        },
        findings=findings or [],
    )


def _open(
    requests_per_day: int, quality: float = 0.70, unit: float = UNIT, findings: list[Finding] | None = None
) -> Assessment:
    volume = requests_per_day * DAYS * PER_REQUEST
    return Assessment(
        candidate=Candidate(
            id="org/open-72b",
            kind="open_source",
            name="Open 72B",
            params=72_000_000_000,
            quant="Q4_K_M",
            hardware="a100-80gb",
            hardware_count=1,
        ),
        metrics={
            "quality": quality,
            "monthly_cost_usd": ServingCost(FIXED, unit, 1, CAPACITY).at_volume(volume),
            "upfront_cost_usd": 0.0,
            "selfhost_fixed_usd": FIXED,
            "selfhost_replica_usd": unit,
            "replica_tokens_per_month": CAPACITY,
            "min_replicas": 1,
        },
        findings=findings or [],
    )


def _build(upfront: float = 5e6, findings: list[Finding] | None = None) -> Assessment:
    return Assessment(
        candidate=Candidate(id="build/pretrain-70b", kind="build", name="Pretrain 70B", params=70_000_000_000),
        metrics={"upfront_cost_usd": upfront, "finetune_usd": 12_070.0, "finetune_method": "qlora"},
        findings=findings or [],
    )


def _decide(session: Session, requirements: Requirements, assessments: list[Assessment]) -> StrategyDecision:
    for position, assessment in enumerate((a for a in assessments if a.acceptable), start=1):
        assessment.rank = position
    return decide_strategy(requirements, assessments, session)


def test_below_break_even_the_api_wins_and_the_flip_says_where(session: Session) -> None:
    rpd = 10_000  # 3.04e8 tokens/month: API $304 vs self-hosting $3,600
    decision = _decide(session, _requirements(rpd), [_api(rpd), _open(rpd), _build()])
    assert decision.recommended == "api"
    assert any("api-x ≈ $304/month undercuts" in r for r in decision.reasons)
    flip = next(f for f in decision.flip_conditions if f.startswith("self-hosting org/open-72b"))
    assert "above 8.4 billion tokens/month (≈ 275,953 requests/day; now 304 million, 28× today's traffic)" in flip
    assert "(it first breaks even at 7.8 billion)" in flip  # 8.4e9 / 3.044e8 = 27.6


def test_crossing_the_stated_break_even_flips_the_decision(session: Session) -> None:
    below, above = 250_000, 290_000  # either side of the break-even (256,242 .. 275,953 requests/day)
    low = _decide(session, _requirements(below), [_api(below), _open(below), _build()])
    high = _decide(session, _requirements(above), [_api(above), _open(above), _build()])
    assert low.recommended == "api"
    assert high.recommended == "open_source"
    assert any("self-hosting org/open-72b" in r and "costs less than api-x" in r for r in high.reasons)
    assert any("is already cheaper than api-x" in f for f in high.flip_conditions)


def test_no_break_even_when_a_replica_costs_more_than_it_earns(session: Session) -> None:
    rpd = 10_000
    decision = _decide(session, _requirements(rpd), [_api(rpd), _open(rpd, unit=1200.0), _build()])
    flip = next(f for f in decision.flip_conditions if "never beats" in f)
    assert "$1.2 per 1M tokens against $1 for api-x" in flip  # 1200 / 1e9 × 1e6


def test_comparable_quality_gates_the_comparison(session: Session) -> None:
    """An API far below the open model's quality is not its comparison point."""
    rpd = 10_000
    weak_api = _api(rpd, quality=0.40)
    decision = _decide(session, _requirements(rpd, quality="low"), [weak_api, _open(rpd, quality=0.80), _build()])
    assert not any("7.8e9" in f for f in decision.flip_conditions)


def test_privacy_overrides_cost(session: Session) -> None:
    rpd = 10_000
    requirements = _requirements(rpd, privacy={"on_prem_required": True}, hardware=[{"gpu": "a100-80gb"}])
    api = _api(rpd, findings=[_fail("PRIV001", "privacy")])
    decision = _decide(session, requirements, [api, _open(rpd), _build()])
    assert decision.recommended == "open_source"
    assert decision.scores["api"] == 0
    assert any("on-prem rule" in r for r in decision.reasons)
    assert any("prompts may leave the premises" in f for f in decision.flip_conditions)


def test_licence_blocks_open_weights(session: Session) -> None:
    rpd = 260_000
    decision = _decide(
        session, _requirements(rpd), [_api(rpd), _open(rpd, findings=[_fail("LIC001", "license")]), _build()]
    )
    assert decision.recommended == "api"
    assert any("no open-weights licence" in r for r in decision.reasons)


def test_quality_gap_and_empty_team_favour_apis(session: Session) -> None:
    rpd = 260_000  # self-hosting is cheaper here, but the team and the quality gap outvote it
    requirements = _requirements(rpd, team={"ml_engineers": 0, "mlops": "none"})
    decision = _decide(session, requirements, [_api(rpd, quality=0.90), _open(rpd, quality=0.70), _build()])
    assert decision.recommended == "api"
    assert any("APIs reach higher quality: api-x scores 0.90 against 0.70" in r for r in decision.reasons)
    assert any("no ML engineers" in r for r in decision.reasons)


def test_build_only_when_every_criterion_holds(session: Session) -> None:
    rpd = 260_000
    ambitious = {"tech_leadership_ambition": True, "long_term_budget_usd": 2e7, "unmet_by_existing": True}
    market = [_api(rpd), _open(rpd), _build(upfront=10_000)]
    decision = _decide(session, _requirements(rpd, strategy=ambitious), market)
    assert decision.recommended == "build"
    assert any("all build criteria hold" in r and "$10,000 upfront" in r for r in decision.reasons)
    # payback: the API costs $7,914.4/month, serving like the open model 3000 + 8 × 600 = $7,800
    api_bill = rpd * DAYS * PER_REQUEST * API_PER_TOKEN
    months = 10_000 / (api_bill - (FIXED + 8 * UNIT))
    assert round(months) == 87
    assert any("pays back in 87 months against api-x" in r for r in decision.reasons)
    expensive = _decide(session, _requirements(rpd, strategy=ambitious), [_api(rpd), _open(rpd), _build(5e6)])
    assert any(f"pays back in {5e6 / (api_bill - 7800) / 12:,.0f} years" in r for r in expensive.reasons)
    assert any("qlora, ≈ $12,070" in r for r in decision.reasons)
    for missing in ("tech_leadership_ambition", "unmet_by_existing"):
        partial = {**ambitious, missing: False}
        decision = _decide(session, _requirements(rpd, strategy=partial), [_api(rpd), _open(rpd), _build()])
        assert decision.recommended != "build"
        assert any(f.startswith("building becomes an option with") for f in decision.flip_conditions)


def test_build_over_budget_is_never_recommended(session: Session) -> None:
    rpd = 260_000
    ambitious = {"tech_leadership_ambition": True, "long_term_budget_usd": 1e6, "unmet_by_existing": True}
    over = _build(findings=[_fail("COST001", "cost")])
    decision = _decide(session, _requirements(rpd, strategy=ambitious), [_api(rpd), _open(rpd), over])
    assert decision.recommended != "build"
    assert any("a long-term budget that covers pretraining" in f for f in decision.flip_conditions)


@pytest.mark.parametrize("rpd", [10_000, 260_000])
def test_scores_are_shares(session: Session, rpd: int) -> None:
    decision = _decide(session, _requirements(rpd), [_api(rpd), _open(rpd), _build()])
    assert sum(decision.scores.values()) == pytest.approx(1.0, abs=0.01)


def test_own_gpus_win_only_in_a_window(session: Session) -> None:
    """Two owned replicas cost $50 each; more would be rented at $1,500 against $1,000 of API tokens."""
    rpd = 10_000
    own = _open(rpd)
    own.metrics.update(
        {
            "selfhost_fixed_usd": 1000.0,
            "selfhost_replica_usd": 1500.0,
            "selfhost_owned_replicas": 2,
            "selfhost_owned_replica_usd": 50.0,
            "monthly_cost_usd": 1050.0,
        }
    )
    decision = _decide(session, _requirements(rpd), [_api(rpd), own, _build()])
    flip = next(f for f in decision.flip_conditions if f.startswith("self-hosting org/open-72b"))
    # 1000 + 2 × 50 = $1,100 -> 1.1e9 tokens; a third (rented) replica still fits under the API up to 3e9
    assert "only between 1.1 billion and 3 billion tokens/month" in flip


def test_build_criteria_are_decisive_even_on_prem(session: Session) -> None:
    """An on-prem bank with ambition, an unmet need and the budget builds its own model."""
    rpd = 10_000
    requirements = _requirements(
        rpd,
        privacy={"on_prem_required": True},
        hardware=[{"gpu": "a100-80gb"}],
        team={"ml_engineers": 4, "mlops": "strong"},
        strategy={"tech_leadership_ambition": True, "long_term_budget_usd": 2e7, "unmet_by_existing": True},
    )
    build = _build()
    build.metrics["training_team_size"] = 8
    api = _api(rpd, findings=[_fail("PRIV001", "privacy")])
    decision = _decide(session, requirements, [api, _open(rpd), build])
    assert decision.recommended == "build"
    assert decision.scores["build"] > 0.5
    assert any("hires a team of 8 (you have 4 ML engineers)" in r for r in decision.reasons)


def test_one_user_on_own_machine_needs_no_server_team(session: Session) -> None:
    rpd = 50
    team = {"ml_engineers": 0, "mlops": "none"}
    laptop = _requirements(
        rpd, team=team, hardware=[{"gpu": "m3-max"}], traffic={"requests_per_day": rpd, "peak_concurrency": 1}
    )
    served = _requirements(rpd, team=team)
    assert not any("no ML engineers" in s.reason for s in _decide(session, laptop, [_api(rpd), _open(rpd)]).signals)
    assert any("no ML engineers" in s.reason for s in _decide(session, served, [_api(rpd), _open(rpd)]).signals)

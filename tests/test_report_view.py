"""What the reports show, decided once (advisor/report/view.py): table rows, named models, appendix notes."""

from __future__ import annotations

from advisor.model.candidate import Candidate
from advisor.model.checks import Finding
from advisor.model.plan import Assessment, Deployment, Plan, StrategyDecision
from advisor.report.html import plan_to_html
from advisor.report.markdown import plan_to_markdown
from advisor.report.view import (
    THIN_LEGEND,
    Appendix,
    finding_text,
    first_choice,
    plain_words,
    quality_cell,
    top_rows,
)

GEMMA_QUOTE = "Gemma Terms of Use §2.2: You may use, reproduce, modify, Distribute ... " + "x" * 200


def _assessment(model: str, rank: int | None, severity: str = "pass", quant: str = "Q4_K_M") -> Assessment:
    candidate = Candidate(id=model, kind="open_source", name=model, quant=quant, hardware="l40s", hardware_count=1)
    findings = [
        Finding(
            severity="pass",
            message=f"Gemma Terms of Use allows commercial use: {GEMMA_QUOTE}",
            check="LIC001",
            category="license",
        ),
        Finding(
            severity=severity,
            message="about $10/month; set plugins.cost.capex_usd_per_device",
            check="COST001",
            category="cost",
        ),
    ]
    return Assessment(
        candidate=candidate, findings=findings, metrics={"quality": 0.7, "monthly_cost_usd": 10.0}, rank=rank
    )


def hostile_plan() -> Plan:
    """Names and messages with markup in them, as a hostile catalog overlay or plugin could write."""
    evil = "org/<script>alert(1)</script>"
    return Plan(
        requirements={},
        strategy=StrategyDecision(
            recommended="open_source",
            scores={"open_source": 1.0},
            reasons=[f"{evil} (Q4_K_M on 1× l40s) is cheapest <script>"],
            flip_conditions=[],
        ),
        assessments=[_assessment(evil, 1), _assessment("org/b", None, "fail")],
        deployment=Deployment(engine="vllm", command="vllm serve '<script>'", notes=["<b>note</b>"]),
    )


def test_rows_are_numbered_per_model_and_named_models_are_added() -> None:
    """Two variants of model a (variant ranks 1 and 2) make one row; b (rank 3) is row 2; c, named by the
    headline but ranked 12th among models, gets its place; d, named but failed, gets a row without one."""
    assessments = [_assessment("a", 1), _assessment("a", 2, quant="Q8_0"), _assessment("b", 3)]
    assessments += [_assessment(f"m{i}", 3 + i) for i in range(1, 10)]
    assessments += [_assessment("c", 20), _assessment("d", None, "fail")]
    plan = Plan(
        requirements={},
        strategy=StrategyDecision(
            recommended="api", scores={}, reasons=["c beats d (Q4_K_M on 1× l40s)"], flip_conditions=[]
        ),
        assessments=assessments,
    )
    rows = top_rows(plan)
    assert [r.place for r in rows] == [*range(1, 11), 12, None]
    assert [r.assessment.candidate.id for r in rows][:2] == ["a", "b"]
    assert [r.assessment.candidate.id for r in rows][-2:] == ["c", "d"]


def test_a_licence_quote_is_cited_once_however_many_rows_carry_it() -> None:
    appendix = Appendix()
    refs = {
        appendix.cite(finding_text(f))
        for a in hostile_plan().assessments
        for f in a.findings
        if f.category == "license"
    }
    assert refs == {"L1"} and len(appendix.notes["license"]) == 1
    short = finding_text(hostile_plan().assessments[0].findings[0]).short
    assert short == "Gemma Terms of Use allows commercial use"


def test_settings_keys_read_as_words() -> None:
    assert "plugins." not in plain_words("set plugins.cost.capex_usd_per_device to cost buying them")
    assert "purchase price" in plain_words("set plugins.cost.capex_usd_per_device")


def _first_choice_plan() -> Plan:
    """Model a (two variants, ranks 1-2), b (3), c (4), d (5); the reasons cite only d, a like-for-like foil."""
    assessments = [_assessment("a", 1), _assessment("a", 2, quant="Q8_0"), _assessment("b", 3)]
    assessments += [_assessment("c", 4), _assessment("d", 5), _assessment("e", None, "fail")]
    return Plan(
        requirements={"quality": "high", "budget": {"monthly_usd": 1000}},
        strategy=StrategyDecision(
            recommended="open_source", scores={}, reasons=["d undercuts the rest"], flip_conditions=[]
        ),
        assessments=assessments,
    )


def test_the_first_choice_names_the_first_model_with_its_quality_against_the_bar_and_the_next_two() -> None:
    """A CTO reading two minutes must see which model to try before the road's reasons, which compare
    like with like and may cite a model ranked fifth: the line names #1 (its best variant), its quality
    against the bar and its cost against the budget, then #2 and #3 (models, not variants of #1)."""
    line = first_choice(_first_choice_plan())
    assert line.startswith("First choice: a (#1; Q4_K_M on 1× l40s): quality 0.70 against the 0.60 bar (high)")
    assert "≈ $10/month of the $1,000 budget" in line
    assert "then #2 b (quality 0.70, ≈ $10/month), #3 c (" in line
    assert " d " not in line and "e (" not in line


def test_both_reports_lead_with_the_first_choice_before_the_reasons() -> None:
    plan = _first_choice_plan()
    markdown = plan_to_markdown(plan)
    assert markdown.index("First choice: a (#1") < markdown.index("d (#4) undercuts")
    page = plan_to_html(plan)
    assert page.index("First choice: a (#1") < page.index("d (#4) undercuts")


def test_no_acceptable_model_means_no_first_choice() -> None:
    plan = Plan(
        requirements={},
        strategy=StrategyDecision(recommended="api", scores={}, reasons=[], flip_conditions=[]),
        assessments=[_assessment("e", None, "fail")],
    )
    assert first_choice(plan) == ""
    assert "First choice" not in plan_to_markdown(plan)


def test_a_named_model_shows_the_variant_the_reasons_cite() -> None:
    """The headline compares a given variant (Q8_0 on 1× l40s); the row added for it shows that variant at
    the model's place, not another variant of the same model the reader cannot match to the headline."""
    assessments = [_assessment(f"m{i}", i) for i in range(1, 11)]
    assessments += [_assessment("c", 11, quant="F16"), _assessment("c", 12, quant="Q8_0")]
    plan = Plan(
        requirements={},
        strategy=StrategyDecision(
            recommended="api", scores={}, reasons=["c (Q8_0 on 1× l40s) costs more"], flip_conditions=[]
        ),
        assessments=assessments,
    )
    row = top_rows(plan)[-1]
    assert (row.place, row.assessment.candidate.id, row.assessment.candidate.quant) == (11, "c", "Q8_0")


def _with_evidence(model: str, rank: int, published: int) -> Assessment:
    """An assessment whose QUAL001 rests on ``published`` published scores, the rest imputed."""
    base = _assessment(model, rank)
    components = [{"benchmark": f"b{i}", "origin": "published", "weight": 1.0} for i in range(published)]
    components += [{"benchmark": f"i{i}", "origin": "imputed", "weight": 1.0} for i in range(4)]
    qual = Finding(
        severity="pass",
        message="quality 0.70 meets the bar",
        check="QUAL001",
        category="quality",
        evidence={"components": components},
    )
    return base.model_copy(update={"findings": [*base.findings, qual]})


def test_a_quality_resting_on_thin_published_evidence_is_marked_with_a_legend() -> None:
    """gpt-5.4-nano read 0.90 for chat from one published GPQA score, the rest imputed, beside gpt-5.4-mini's
    0.94: unmarked, a reader takes the two as equally well known. Two published scores are marked, three not;
    the legend says what the mark means, once, in both formats."""
    thin, solid = _with_evidence("thin", 1, 2), _with_evidence("solid", 2, 3)
    assert (quality_cell(thin), quality_cell(solid)) == ("0.70*", "0.70")
    assert quality_cell(_assessment("unknown", 3)) == "0.70"  # no QUAL001 evidence: nothing to say
    plan = Plan(
        requirements={},
        strategy=StrategyDecision(recommended="open_source", scores={}, reasons=[], flip_conditions=[]),
        assessments=[thin, solid],
    )
    markdown = plan_to_markdown(plan)
    assert "| 0.70* |" in markdown and markdown.count(THIN_LEGEND) == 1
    assert plan_to_html(plan).count("imputed from the catalog") == 1
    solid_only = plan.model_copy(update={"assessments": [solid]})
    assert THIN_LEGEND not in plan_to_markdown(solid_only)

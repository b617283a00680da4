"""What the human reports show, decided once for Markdown and HTML (issue 14: a CTO reads it in two minutes).

The top table is one row per model, numbered by its place among the acceptable models (1..N), plus a row
for every model the headline names that is not already there (its place, or none when it failed). Long
licence quotes and quality formulas move to appendices, each text once, so a finding reads as a short
phrase with a note number. Settings keys (``plugins.cost.capex_usd_per_device``) become words.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from advisor.model.checks import Finding
from advisor.model.plan import Assessment, Plan

TOP_N = 10
SHORT = 120  # a finding longer than this, in an appendix category, moves its detail to the appendix
APPENDIX_TITLES = {"license": "Licence texts", "quality": "Quality evidence"}
_KEY = re.compile(r"\bplugins\.\w+\.(\w+)")
_WORDS = {"capex_usd_per_device": "the purchase price of one device (cost settings in the answers)"}


@dataclass(frozen=True)
class ModelRow:
    """One row of the top table: the model's best variant and its place among acceptable models."""

    place: int | None  # None: the headline names it but it failed a hard requirement
    assessment: Assessment
    named: bool  # the headline names this model


@dataclass(frozen=True)
class FindingText:
    """A finding as the report shows it: the short phrase, and the detail an appendix keeps."""

    short: str
    detail: str
    appendix: str  # a key of APPENDIX_TITLES, or "" when the finding is shown whole


def best_per_model(plan: Plan) -> list[Assessment]:
    """The best-ranked variant of each acceptable model, in rank order."""
    seen: set[str] = set()
    best = []
    for assessment in plan.ranked:
        if assessment.candidate.id not in seen:
            seen.add(assessment.candidate.id)
            best.append(assessment)
    return best


def named_models(plan: Plan) -> list[str]:
    """Candidate ids the recommendation's reasons name, in the order they are named."""
    text = " ".join(plan.strategy.reasons)
    found: dict[str, int] = {}
    for candidate_id in {a.candidate.id for a in plan.assessments}:
        match = re.search(rf"(?<![\w/.-]){re.escape(candidate_id)}(?![\w/.-])", text)
        if match:
            found[candidate_id] = match.start()
    return sorted(found, key=found.__getitem__)


def top_rows(plan: Plan, limit: int = TOP_N) -> list[ModelRow]:
    """The first ``limit`` models, then each model the headline names that is not among them."""
    best = best_per_model(plan)
    places = {a.candidate.id: i for i, a in enumerate(best, start=1)}
    named = named_models(plan)
    rows = [ModelRow(i, a, a.candidate.id in named) for i, a in enumerate(best[:limit], start=1)]
    shown = {row.assessment.candidate.id for row in rows}
    reasons = " ".join(plan.strategy.reasons)
    for candidate_id in named:
        if candidate_id in shown:
            continue
        # the row shows the variant the reasons cite (they compare a given weight format on given devices),
        # else the model's best one; the place is the model's
        variants = [a for a in plan.assessments if a.candidate.id == candidate_id]
        cited = [a for a in variants if f"{candidate_id} ({variant_label(a)})" in reasons]
        place = places.get(candidate_id)
        fallback = best[place - 1] if place is not None else variants[0]
        rows.append(ModelRow(place, cited[0] if cited else fallback, True))
    return rows


#: a model the headline names below this place is cited for a comparison, and the report says so
HEADLINE_TOP = 3

#: a quality resting on fewer published scores of the use case's benchmarks than this is marked in the tables:
#: the rest is imputed (docs/quality.md §1b), and one or two scores impute with about twice the error of more
THIN_EVIDENCE = 3
THIN_MARK = "*"
THIN_LEGEND = (
    f"{THIN_MARK} fewer than {THIN_EVIDENCE} of the use case's benchmarks published: the rest of the quality is "
    "imputed from the catalog's other models (a prediction; docs/quality.md §1b), and the ranking discounts it."
)


def published_scores(assessment: Assessment) -> int | None:
    """How many published (or base-model) scores stand behind QUAL001's quality; None when it has no evidence."""
    for finding in assessment.findings:
        if finding.check != "QUAL001" or not isinstance(finding.evidence, dict):
            continue
        components = finding.evidence.get("components")
        if isinstance(components, list):
            return sum(1 for c in components if isinstance(c, dict) and c.get("origin") == "published")
    return None


def quality_cell(assessment: Assessment) -> str:
    """The quality as the tables show it: ``0.90``, ``0.90*`` when it rests on thin published evidence."""
    from advisor.model.metrics import QualityMetrics

    quality = QualityMetrics.from_metrics(assessment.metrics).value
    if quality is None:
        return "–"
    count = published_scores(assessment)
    return f"{quality:.2f}{THIN_MARK if count is not None and count < THIN_EVIDENCE else ''}"


def headline(plan: Plan) -> list[str]:
    """The recommendation's reasons in plain words, each named model marked with its place in the top table.

    The cost and quality reasons compare like with like (the cheapest or strongest model *of comparable
    quality*), which need not be a first-ranked model: the mark (``#15``, or ``rejected``) says where it stands.
    """
    best = best_per_model(plan)
    places = {a.candidate.id: i for i, a in enumerate(best, start=1)}
    reasons = []
    for reason in plan.strategy.reasons:
        text = plain_words(reason)
        for candidate_id in named_models(plan):
            place = places.get(candidate_id)
            mark = f"#{place}" if place is not None else "rejected"
            pattern = rf"(?<![\w/.-]){re.escape(candidate_id)}(?![\w/.-])( \()?"
            text = re.sub(pattern, functools.partial(_marked, mark=mark), text, count=1)
        reasons.append(text)
    return reasons


def first_choice(plan: Plan) -> str:
    """The line a reader needs first: the model to try (#1 of the road recommended), with its quality against
    the bar and its monthly cost, then the next two ("" when nothing is acceptable).

    The road's reasons below it compare like with like and may cite other models; this line says which one
    the plan actually recommends, so the headline never leaves it to the table."""
    from advisor.estimate.quality import quality_bar
    from advisor.model.metrics import PriceMetrics, QualityMetrics

    best = best_per_model(plan)
    if not best:
        return ""
    answers = plan.requirements
    level = answers.get("quality")
    minimum = answers.get("min_quality")
    bar = quality_bar(
        level if isinstance(level, str) else None, float(minimum) if isinstance(minimum, int | float) else None
    )
    budget = answers.get("budget")
    monthly_budget = budget.get("monthly_usd") if isinstance(budget, dict) else None

    def facts(a: Assessment, *, full: bool) -> str:
        quality = QualityMetrics.from_metrics(a.metrics).value
        cost = PriceMetrics.from_metrics(a.metrics).monthly_usd
        parts = []
        if quality is not None:
            against = ""
            if full and bar is not None:
                against = f" against the {bar:.2f} bar" + (f" ({level})" if isinstance(level, str) else "")
            parts.append(f"quality {quality:.2f}{against}")
        if cost is not None:
            budgeted = full and isinstance(monthly_budget, int | float) and monthly_budget > 0
            spent = f" of the ${monthly_budget:,.0f} budget" if budgeted else ""
            parts.append(f"≈ ${cost:,.0f}/month{spent}")
        return ", ".join(parts)

    first = best[0]
    text = f"First choice: {first.candidate.id} (#1; {variant_label(first)})"
    if details := facts(first, full=True):
        text += f": {details} (estimates)"
    others = [f"#{i} {a.candidate.id} ({facts(a, full=False) or variant_label(a)})" for i, a in enumerate(best[1:3], 2)]
    if others:
        text += "; then " + ", ".join(others)
    return text + "."


def _marked(match: re.Match[str], mark: str) -> str:
    """``id (#15)``, or ``id (#15; Q8_0 on 1× l40s)`` when a parenthesis already follows the id."""
    name = match.group(0).removesuffix(" (") if match.group(1) else match.group(0)
    return f"{name} ({mark}; " if match.group(1) else f"{name} ({mark})"


def headline_note(plan: Plan) -> str:
    """Why the headline cites a model the table ranks below its first places ("" when it does not)."""
    best = best_per_model(plan)
    places = {a.candidate.id: i for i, a in enumerate(best, start=1)}
    low = [m for m in named_models(plan) if places.get(m) is None or places[m] > HEADLINE_TOP]
    if not low or not best:
        return ""
    return (
        f"{', '.join(low)} {'is' if len(low) == 1 else 'are'} cited only as the like-for-like comparison "
        f"(the cheapest or strongest option of comparable quality); the recommendation is #1, {best[0].candidate.id}."
    )


def variant_label(a: Assessment) -> str:
    """How a variant reads in the reports and the strategy reasons: API (provider), build, Q4_K_M on 1× l40s."""
    c = a.candidate
    if c.kind == "api":  # the provider once: together_ai/moonshotai/Kimi-K2.5 reads "API", gpt-5 "API (openai)"
        return "API" if c.provider and c.id.startswith(f"{c.provider}/") else f"API ({c.provider})"
    if c.kind == "build":
        return "build"
    hardware = f"{c.hardware_count or 1}× {c.hardware}" if c.hardware else "–"
    return f"{c.quant} on {hardware}"


def plain_words(text: str) -> str:
    """Settings keys in words: ``plugins.cost.capex_usd_per_device`` → the purchase price of one device."""
    return _KEY.sub(lambda m: _WORDS.get(m.group(1), m.group(1).replace("_", " ")), text)


def finding_text(finding: Finding) -> FindingText:
    """A long licence quote or quality formula splits at its first ': ' into a phrase and the detail."""
    message = plain_words(finding.message)
    appendix = finding.category if finding.category in APPENDIX_TITLES else ""
    formula = appendix == "quality" and "→" in message  # a score formula never stays in the phrase
    if not appendix or ": " not in message or (len(message) <= SHORT and not formula):
        return FindingText(message, "", "")
    short, detail = message.split(": ", 1)
    if appendix == "license" and "§" not in detail:
        return FindingText(message, "", "")  # an action (log in, accept the terms) stays in view; quotes move
    basis = detail.split(";", 1)[0]
    if appendix == "quality" and len(basis) <= 40:
        short += f", from {basis}"  # "published scores", "predicted from size and training tokens"
    return FindingText(short, detail, appendix)


class Appendix:
    """Numbered notes, each text once: the licence terms of Gemma appear once however many rows cite them."""

    def __init__(self) -> None:
        self.notes: dict[str, dict[str, str]] = {key: {} for key in APPENDIX_TITLES}

    def cite(self, text: FindingText) -> str:
        """The reference to put after the short phrase (``[L1]``), adding the detail when new."""
        if not text.appendix:
            return ""
        notes = self.notes[text.appendix]
        if text.detail not in notes:
            notes[text.detail] = f"{text.appendix[0].upper()}{len(notes) + 1}"
        return notes[text.detail]


def ranking_basis(plan: Plan) -> str:
    """The one line that says how the built-in ranking ordered the table (the plan's ``ranking_basis``)."""
    from advisor.estimate.quality import ranking_basis_text

    answers = plan.requirements
    budget = answers.get("budget")
    monthly = budget.get("monthly_usd") if isinstance(budget, dict) else None
    return ranking_basis_text(
        answers.get("quality"), answers.get("min_quality"), monthly if isinstance(monthly, int | float) else None
    )

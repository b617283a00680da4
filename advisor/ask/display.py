"""How answers read back to a person: on the review screen, and pre-filled in a text prompt."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

from advisor.ask.hardware import HARDWARE
from advisor.ask.questions import Spec

if TYPE_CHECKING:
    from advisor.ask.state import Questionnaire


class ReviewRow(NamedTuple):
    """One line of the review screen."""

    field: str
    answer: str
    source: str


def display(spec: Spec, value: Any) -> str:
    """An answer as the review screen shows it."""
    if value is None:
        if spec.field == "budget.monthly_usd":
            return "no limit"
        return "unknown" if spec.kind == "number" else "none"
    if isinstance(value, bool):
        if spec.field == HARDWARE:
            return "yes, my own" if value else "no, cloud"
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) if value else "none"
    if isinstance(value, int | float) and not isinstance(value, bool):
        text = f"{value:,}" if isinstance(value, int) else f"{value:,g}"
        unit = spec.question.unit
        if unit == "$/month":
            return f"${text}/month"
        if unit == "$":
            return f"${text}"
        return f"{text} {unit}" if unit else text
    return str(value)


def as_text(value: Any) -> str:
    """An answer as a text prompt pre-fills it (so Enter keeps it)."""
    if value is None:
        return ""
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def review_rows(q: Questionnaire) -> list[ReviewRow]:
    """(field, answer, source) for every question that applies."""
    return [ReviewRow(s.field, display(s, q.current(s)), q.sources.get(s.field, "default")) for s in q.applicable()]

"""The two ways through a questionnaire: :func:`run_interactive` asks, reviews and lets the person
change answers; :func:`fill_without_asking` never prompts (no terminal, or ``--no-input``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from advisor.ask.asker import Asker
from advisor.ask.display import display, review_rows
from advisor.ask.questions import Spec
from advisor.ask.state import Questionnaire
from advisor.errors import InputError


def ask_pending(q: Questionnaire, asker: Asker, *, defaults: bool, after_each: Callable[[], None]) -> None:
    """Ask every question that applies and has no answer, in order; conditions are re-read after
    each answer, so a "yes" can open follow-up questions. ``defaults`` accepts optional ones."""
    while (spec := q.next_pending()) is not None:
        if defaults and not spec.required:
            q.set(spec, spec.default, "default")
            continue
        _ask_one(q, asker, spec)
        after_each()


def _ask_one(q: Questionnaire, asker: Asker, spec: Spec) -> None:
    def check(raw: Any) -> Any:
        return q.check(spec, raw)

    q.set(spec, asker.ask(spec, q.current(spec), check), "you")


def show_review(q: Questionnaire, asker: Asker) -> None:
    rows = review_rows(q)
    width = max(len(f) for f, _, _ in rows)
    asker.show("")
    asker.show("Your answers", "bold")
    for name, value, source in rows:
        note = "" if source == "you" else f"   ({'from the file' if source == 'file' else 'default'})"
        asker.show(f"  {name.ljust(width)}  {value}{note}")
    asker.show("")


def run_interactive(
    q: Questionnaire, asker: Asker, *, defaults: bool = False, after_each: Callable[[], None] = lambda: None
) -> Literal["plan", "save"]:
    """Ask what is open, then the review screen until the person plans or saves and quits."""
    ask_pending(q, asker, defaults=defaults, after_each=after_each)
    while True:
        show_review(q, asker)
        action = asker.choose(
            "Ready?",
            [
                ("plan", "Plan with these answers"),
                ("edit", "Change an answer"),
                ("save", "Save the answers and quit without planning"),
            ],
            default="plan",
        )
        if action in ("plan", "save"):
            return "plan" if action == "plan" else "save"
        options = [(s.id, f"{s.question.prompt}  [{display(s, q.current(s))}]") for s in q.applicable()]
        picked = asker.choose("Which answer?", options)
        spec = next(s for s in q.specs if s.id == picked)
        _ask_one(q, asker, spec)
        after_each()
        ask_pending(q, asker, defaults=defaults, after_each=after_each)


def fill_without_asking(q: Questionnaire, *, defaults: bool, where: str) -> None:
    """The no-terminal flow: never prompts. Required questions with no answer are an input error
    naming every one of them, unless ``defaults`` accepts their defaults too."""
    missing = [] if defaults else q.missing()
    if missing:
        names = ", ".join(s.field for s in missing)
        raise InputError(
            f"{where}: no answer for {len(missing)} required question{'s' if len(missing) > 1 else ''}: {names}"
            " (no terminal to ask on, or --no-input); give them in an --answers file, or pass --defaults"
        )
    while (spec := q.next_pending()) is not None:
        q.set(spec, spec.default, "default")

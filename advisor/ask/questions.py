"""The questions: what a question is to the flow (:class:`Spec`) and where the questions come from.

Built-in questions are data (``questions.yaml``, validated on load so a typo fails loudly); plugin
questions arrive already collected as ``(plugin, Question)`` pairs. A bad plugin question is reported
through a ``record_error(plugin, message)`` callable and left out, so this module needs no plugin
host: only the questions and somewhere to report.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from importlib import resources
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, ValidationError

from advisor.errors import InputError
from advisor.files.structured import parse_structured_text
from advisor.model.extensions import Question, QuestionKind

#: How a plugin problem is reported: ``record_error(plugin, message)`` (in strict mode it raises).
RecordError = Callable[[str, str], None]
Condition = Callable[[Mapping[str, Any]], bool]

_KINDS: tuple[str, ...] = get_args(QuestionKind)
_PLUGIN_FIELD = re.compile(r"^plugins\.[A-Za-z_][\w-]*\.[A-Za-z_][\w-]*$")


@dataclass(frozen=True)
class Spec:
    """A question as the flow uses it."""

    question: Question
    required: bool = False
    nullable: bool = False
    choices_from: str | None = None
    descriptions: Mapping[str, str] = field(default_factory=dict)
    plugin: str | None = None

    @property
    def id(self) -> str:
        return self.question.id

    @property
    def field(self) -> str:
        return self.question.field

    @property
    def kind(self) -> str:
        return self.question.kind

    @property
    def default(self) -> Any:
        return copy.deepcopy(self.question.default)


class _QuestionRecord(BaseModel):
    """One entry of questions.yaml; validated so a typo in the data fails loudly at load."""

    model_config = ConfigDict(extra="forbid")

    id: str
    field: str
    kind: QuestionKind = "text"
    prompt: str
    help: str = ""
    unit: str | None = None
    default: Any = None
    required: bool = False
    nullable: bool = False
    choices: list[str | dict[str, str]] = []
    choices_from: Literal["hardware", "languages"] | None = None
    when: dict[str, Any] | None = None


def compile_condition(raw: Mapping[str, Any], where: str) -> Condition:
    """Turn a ``when`` mapping from questions.yaml into a predicate over answers keyed by field.

    Conditions are data (not Python) so the question file stays declarative and reviewable.
    """
    if set(raw) == {"all"} or set(raw) == {"any"}:
        ((op, parts),) = raw.items()
        if not isinstance(parts, list) or not parts:
            raise InputError(f"{where}: when.{op}: expected a non-empty list of conditions")
        subs = [compile_condition(p, f"{where}: when.{op}") for p in parts]
        if op == "all":
            return lambda answers: all(s(answers) for s in subs)
        return lambda answers: any(s(answers) for s in subs)
    ops = set(raw) - {"field"}
    if "field" not in raw or len(ops) != 1 or not ops <= {"equals", "not_equals", "in"}:
        raise InputError(f"{where}: when: expected {{field, equals|not_equals|in}} or {{all|any: [...]}}, got {raw}")
    name, (op,) = str(raw["field"]), ops
    wanted = raw[op]
    if op == "equals":
        return lambda answers: answers.get(name) == wanted
    if op == "not_equals":
        return lambda answers: answers.get(name) != wanted
    if not isinstance(wanted, list):
        raise InputError(f"{where}: when.in: expected a list")
    return lambda answers: answers.get(name) in wanted


def builtin_specs(text: str | None = None, where: str = "advisor/ask/questions.yaml") -> list[Spec]:
    """The built-in questions, read from the package data (or from ``text``, for tests)."""
    if text is None:
        text = resources.files("advisor.ask").joinpath("questions.yaml").read_text(encoding="utf-8")
    data = parse_structured_text(text, where, ".yaml")
    if not isinstance(data, dict) or not isinstance(data.get("questions"), list):
        raise InputError(f"{where}: expected a top-level 'questions' list")
    specs: list[Spec] = []
    for index, raw in enumerate(data["questions"]):
        try:
            record = _QuestionRecord.model_validate(raw)
        except ValidationError as exc:
            first = exc.errors()[0]
            loc = ".".join(str(p) for p in first["loc"])
            raise InputError(f"{where}: questions[{index}].{loc}: {first['msg'].lower()}") from None
        values: list[str] = []
        descriptions: dict[str, str] = {}
        for choice in record.choices:
            if isinstance(choice, str):
                values.append(choice)
            else:
                values.append(choice["value"])
                descriptions[choice["value"]] = choice.get("description", "")
        when = compile_condition(record.when, f"{where}: {record.id}") if record.when else None
        question = Question(
            id=record.id,
            field=record.field,
            prompt=record.prompt,
            kind=record.kind,
            help=record.help,
            choices=tuple(values),
            default=record.default,
            unit=record.unit,
            when=when,
        )
        specs.append(
            Spec(
                question,
                required=record.required,
                nullable=record.nullable,
                choices_from=record.choices_from,
                descriptions=descriptions,
            )
        )
    _check_unique(specs, where)
    return specs


def _check_unique(specs: Sequence[Spec], where: str) -> None:
    seen: set[str] = set()
    for spec in specs:
        for key in (f"id {spec.id}", f"field {spec.field}"):
            if key in seen:
                raise InputError(f"{where}: two questions with {key}")
            seen.add(key)


def plugin_spec_problem(plugin: str, question: Question, taken: set[str]) -> str | None:
    """Why a plugin's question cannot be asked, or None when it can.

    Plugins may only write under ``plugins.<namespace>.<key>`` so that they can never overwrite a
    core answer (a plugin question bound to ``budget.monthly_usd`` would silently change plans).
    """
    if not _PLUGIN_FIELD.match(question.field):
        return f"question {question.id!r} binds to {question.field!r}; plugin questions bind to plugins.<plugin>.<key>"
    if question.kind not in _KINDS:
        return f"question {question.id!r} has kind {question.kind!r}; expected one of {', '.join(_KINDS)}"
    if question.kind in ("choice", "multi_choice") and not question.choices:
        return f"question {question.id!r} is a {question.kind} question without choices"
    if question.id in taken or question.field in taken:
        return f"question {question.id!r} ({question.field}) is already asked by another question"
    return None


def load_specs(plugin_questions: Iterable[tuple[str, Question]], record_error: RecordError) -> list[Spec]:
    """Built-in questions, then the plugins' ``(plugin, question)`` pairs in the order given.

    A bad plugin question is recorded against its plugin and left out: a plugin never stops the
    questionnaire (unless ``--strict-plugins``, where recording raises).
    """
    specs = builtin_specs()
    taken = {s.id for s in specs} | {s.field for s in specs}
    for plugin, question in plugin_questions:
        problem = plugin_spec_problem(plugin, question, taken)
        if problem is not None:
            record_error(plugin, problem)
            continue
        taken |= {question.id, question.field}
        nullable = question.default is None and question.kind in ("number", "text")
        specs.append(Spec(_guarded(question, plugin, record_error), nullable=nullable, plugin=plugin))
    return specs


def _guarded(question: Question, plugin: str, record_error: RecordError) -> Question:
    """Wrap a plugin's ``when`` so that a crash in it skips the question and is reported."""
    when = question.when
    if when is None:
        return question

    def safe(answers: Mapping[str, Any]) -> bool:
        try:
            return bool(when(answers))
        except Exception as exc:
            record_error(plugin, f"question {question.id!r}: when() failed: {type(exc).__name__}: {exc}")
            return False

    return replace(question, when=safe)

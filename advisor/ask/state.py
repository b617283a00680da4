"""The state of a questionnaire: the answers-file data it started from, the answers so far and where
each came from.

:class:`Questionnaire` knows which questions apply (``when``), which are pending or missing, turns
the answers into answers-file data, and checks one answer: parsed for its kind, then validated by
the same pydantic :class:`~advisor.model.requirements.Requirements` model that validates answers
files, so a prompt and a file fail on the same input with the same words.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import ValidationError

from advisor.ask.choices import ChoiceSource
from advisor.ask.dotted import get_path, set_path
from advisor.ask.hardware import (
    HARDWARE,
    HARDWARE_FIELDS,
    catalog_device,
    hardware_from_data,
    hardware_to_data,
)
from advisor.ask.parse import NOTHING, AnswerError, parse_bool, parse_number, split_list
from advisor.ask.questions import Spec
from advisor.errors import InputError
from advisor.model.requirements import Requirements

#: Where an answer came from: the answers file, the person, or the question's default.
Source = Literal["file", "you", "default"]

_LANGUAGE = re.compile(r"^[a-z]{2,3}(-[a-z0-9]{2,8})*$")


@dataclass
class Questionnaire:
    """Answers so far, over the answers-file data they came with."""

    specs: list[Spec]
    base: dict[str, Any] = field(default_factory=dict)
    choices: ChoiceSource | None = None
    values: dict[str, Any] = field(default_factory=dict)
    sources: dict[str, Source] = field(default_factory=dict)

    @classmethod
    def from_data(
        cls, specs: list[Spec], data: Mapping[str, Any] | None, choices: ChoiceSource | None = None
    ) -> Questionnaire:
        """Pre-fill from an answers file's data: every question whose field it gives is answered."""
        base = copy.deepcopy(dict(data or {}))
        q = cls(specs=specs, base=base, choices=choices)
        hardware = hardware_from_data(base["hardware"]) if "hardware" in base else {}
        for spec in specs:
            if spec.field in HARDWARE_FIELDS:
                if spec.field in hardware:
                    q.values[spec.field] = hardware[spec.field]
                    q.sources[spec.field] = "file"
                continue
            present, value = get_path(base, spec.field)
            if present:
                q.values[spec.field] = value
                q.sources[spec.field] = "file"
        return q

    # -- what applies --------------------------------------------------------------------------

    def effective(self) -> dict[str, Any]:
        """Answers keyed by field, with defaults for the unanswered: what ``when`` conditions see."""
        view = {s.field: s.default for s in self.specs}
        view.update(self.values)
        return view

    def applies(self, spec: Spec, view: Mapping[str, Any] | None = None) -> bool:
        when = spec.question.when
        return when is None or bool(when(self.effective() if view is None else view))

    def applicable(self) -> list[Spec]:
        view = self.effective()
        return [s for s in self.specs if self.applies(s, view)]

    def next_pending(self) -> Spec | None:
        """The first question that applies and has no answer yet."""
        return next((s for s in self.applicable() if s.field not in self.values), None)

    def missing(self) -> list[Spec]:
        """Required questions that apply and have no answer (what a run without a terminal lacks)."""
        return [s for s in self.applicable() if s.required and s.field not in self.values]

    def current(self, spec: Spec) -> Any:
        """What a prompt starts from: the answer so far, else the default."""
        return copy.deepcopy(self.values[spec.field]) if spec.field in self.values else spec.default

    def set(self, spec: Spec, value: Any, source: Source) -> None:
        self.values[spec.field] = value
        self.sources[spec.field] = source

    def answered_here(self) -> int:
        """How many answers were given in this session (not taken from a file or a default)."""
        return sum(1 for s in self.sources.values() if s == "you")

    # -- to the answers file ---------------------------------------------------------------------

    def data(self, values: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The answers-file data: the file's, overwritten by the answers of questions that apply."""
        values = self.values if values is None else values
        data = copy.deepcopy(self.base)
        view = {s.field: s.default for s in self.specs}
        view.update(values)
        live = {s.field for s in self.specs if self.applies(s, view)}
        for spec in self.specs:
            if spec.field not in values or spec.field not in live or spec.field in HARDWARE_FIELDS:
                continue
            if spec.plugin is not None and self.sources.get(spec.field) == "default":
                # a plugin reads its own defaults for keys that are absent; writing the Question's
                # default could differ from that, so an untouched plugin answer stays absent
                continue
            set_path(data, spec.field, copy.deepcopy(values[spec.field]))
        if HARDWARE in values and HARDWARE in live:
            data["hardware"] = hardware_to_data(
                {k: values[k] for k in HARDWARE_FIELDS if k in values and k in live}, self.choices
            )
        return data

    def requirements(self) -> Requirements:
        try:
            return Requirements.model_validate(self.data())
        except ValidationError as exc:
            from advisor.files.structured import format_validation_error

            raise InputError(format_validation_error("answers", exc)) from None

    # -- checking one answer ---------------------------------------------------------------------

    def check(self, spec: Spec, raw: Any) -> Any:
        """Parse an answer and validate it with the Requirements model; AnswerError says why not."""
        value = self._parse(spec, raw)
        trial = dict(self.values)
        trial[spec.field] = value
        try:
            Requirements.model_validate(self.data(trial))
        except ValidationError as exc:
            prefix = tuple(("hardware" if spec.field in HARDWARE_FIELDS else spec.field).split("."))
            mine = [e for e in exc.errors() if tuple(str(p) for p in e["loc"][: len(prefix)]) == prefix]
            # a union field (hardware: list | "cloud") fails once per branch: report the list's reason
            mine.sort(key=lambda e: e["type"] == "literal_error")
            if mine:
                raise AnswerError(_describe_error(mine[0])) from None
        return value

    def _parse(self, spec: Spec, raw: Any) -> Any:
        kind = spec.kind
        if kind == "confirm":
            return parse_bool(raw)
        if kind == "number":
            if raw is None or (isinstance(raw, str) and raw.strip().lower() in NOTHING | {""}):
                if spec.nullable:
                    return None
                raise AnswerError(f"expected a number{f' ({spec.question.unit})' if spec.question.unit else ''}")
            return parse_number(raw, spec.question.unit)
        if kind == "choice":
            text = "" if raw is None else str(raw).strip()
            if text not in spec.question.choices:
                raise AnswerError(f"expected one of {', '.join(spec.question.choices)}; got {text!r}")
            return text
        if kind == "multi_choice":
            return self._parse_multi(spec, split_list(raw))
        text = "" if raw is None else str(raw).strip()
        if spec.nullable and text.lower() in NOTHING | {""}:
            return None
        return text

    def _parse_multi(self, spec: Spec, items: list[str]) -> list[str]:
        if spec.choices_from == "hardware":
            return [catalog_device(item, self.choices) for item in items]
        if spec.choices_from == "languages":
            codes = [item.lower() for item in items]
            bad = [c for c in codes if not _LANGUAGE.match(c)]
            if bad:
                raise AnswerError(f"{', '.join(bad)}: expected language codes such as en, ru, zh, pt-br")
            if not codes:
                raise AnswerError("name at least one language, e.g. en")
            return list(dict.fromkeys(codes))
        unknown = [i for i in items if i not in spec.question.choices]
        if unknown:
            raise AnswerError(f"{', '.join(unknown)}: expected some of {', '.join(spec.question.choices)}")
        return items


def _describe_error(error: Mapping[str, Any]) -> str:
    got = error.get("input")
    shown = "" if isinstance(got, dict | list) or got is None else f" (got {got!r})"
    return f"{str(error['msg']).lower()}{shown}"

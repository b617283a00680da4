"""The questionnaire behind ``advisor ask``: one schema of questions, two ways of answering it.

Questions are data (``advisor/ask/questions.yaml`` plus what plugins register through
``advisor_register_questions``), each bound to a field of the answers file. Whatever the source of
an answer — a terminal prompt, an ``--answers`` file, a default — it is checked by the same
pydantic :class:`~advisor.model.requirements.Requirements` model that validates answers files, so an
interactive session and a file fail on the same input with the same words.

The pieces:

* :class:`Spec` — a :class:`~advisor.model.extensions.Question` plus what the flow needs (required,
  nullable, choices from the catalog, choice descriptions, the plugin that added it).
* :class:`Questionnaire` — the state: the file's data, the answers so far and where each came from;
  it knows which questions apply (``when``), which are pending or missing, turns answers into
  answers-file data and checks one answer against the model.
* :class:`Asker` — how a question is put to someone. :class:`QuestionaryAsker` uses questionary
  (prompt_toolkit) on a terminal; tests drive it through prompt_toolkit pipe input.
* :func:`run_interactive` / :func:`fill_without_asking` — the two flows; the second never prompts.

questionary and prompt_toolkit are imported only inside :class:`QuestionaryAsker`, so loading this
module (and ``advisor --help``) stays light.
"""

from __future__ import annotations

import copy
import math
import os
import re
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol, get_args

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from advisor.errors import InputError
from advisor.model.extensions import Question, QuestionKind
from advisor.model.requirements import Requirements
from advisor.files.structured import parse_structured_text

if TYPE_CHECKING:
    from advisor.catalog.loader import Catalog
    from advisor.model.context import AdvisorContext

#: The questionnaire's view of ``hardware`` (a list of items, or "cloud"): three fields.
HARDWARE = "hardware"
HARDWARE_GPU = "hardware.gpu"
HARDWARE_RAM = "hardware.ram_gb"
_HARDWARE_FIELDS = (HARDWARE, HARDWARE_GPU, HARDWARE_RAM)

Source = Literal["file", "you", "default"]
Condition = Callable[[Mapping[str, Any]], bool]

_KINDS: tuple[str, ...] = get_args(QuestionKind)
_PLUGIN_FIELD = re.compile(r"^plugins\.[A-Za-z_][\w-]*\.[A-Za-z_][\w-]*$")
_LANGUAGE = re.compile(r"^[a-z]{2,3}(-[a-z0-9]{2,8})*$")
_HARDWARE_ENTRY = re.compile(r"^(?P<id>[a-z0-9][a-z0-9._+-]*?)(?:\s*[x*×]\s*(?P<count>\d+))?$", re.IGNORECASE)
_SCALES = {"k": 1e3, "m": 1e6}


class AnswerError(ValueError):
    """An answer that cannot be taken; ``str()`` is the sentence shown next to the question."""


class Interrupted(Exception):
    """The person stopped answering (Ctrl-C, or end of input)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


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


# ---------------------------------------------------------------------------------------------------
# loading the questions


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


def load_specs(context: AdvisorContext) -> list[Spec]:
    """Built-in questions, then the plugins' (sorted by plugin, then id).

    A bad plugin question is recorded against its plugin and left out: a plugin never stops the
    questionnaire (unless ``--strict-plugins``, where recording raises).
    """
    specs = builtin_specs()
    taken = {s.id for s in specs} | {s.field for s in specs}
    for plugin, question in context.questions():
        problem = plugin_spec_problem(plugin, question, taken)
        if problem is not None:
            context.host.record_error(plugin, problem)
            continue
        taken |= {question.id, question.field}
        nullable = question.default is None and question.kind in ("number", "text")
        specs.append(Spec(_guarded(question, plugin, context), nullable=nullable, plugin=plugin))
    return specs


def _guarded(question: Question, plugin: str, context: AdvisorContext) -> Question:
    """Wrap a plugin's ``when`` so that a crash in it skips the question and is reported."""
    when = question.when
    if when is None:
        return question

    def safe(answers: Mapping[str, Any]) -> bool:
        try:
            return bool(when(answers))
        except Exception as exc:
            context.host.record_error(plugin, f"question {question.id!r}: when() failed: {type(exc).__name__}: {exc}")
            return False

    return replace(question, when=safe)


# ---------------------------------------------------------------------------------------------------
# choices from the catalog


class ChoiceSource(Protocol):
    """Where ``choices_from`` questions get their options (the catalog, or a stub in tests)."""

    def options(self, kind: str) -> list[tuple[str, str]]:
        """(value, short description) pairs for completion."""
        ...

    def canonical_hardware(self, name: str) -> tuple[str, str] | None:
        """(catalog id, catalog kind) for an id or alias, or None when unknown."""
        ...


class CatalogChoices:
    """Options from the merged catalog, read on first use (non-interactive runs never need it)."""

    def __init__(self, catalog: Callable[[], Catalog]) -> None:
        self._catalog = catalog

    def options(self, kind: str) -> list[tuple[str, str]]:
        catalog = self._catalog()
        if kind == "hardware":
            return [
                (r.id, f"{r.name}, {r.memory_gib:g} GiB")
                for r in sorted(catalog.hardware.values(), key=lambda r: (r.kind == "cpu", r.id))
            ]
        if kind == "languages":
            counts: dict[str, int] = {}
            for model in catalog.models.values():
                for code in model.languages:
                    counts[code] = counts.get(code, 0) + 1
            return [(code, f"{n} catalog model{'s' if n > 1 else ''}") for code, n in sorted(counts.items())]
        return []

    def canonical_hardware(self, name: str) -> tuple[str, str] | None:
        record = self._catalog().find_hardware(name)
        return None if record is None else (record.id, record.kind)


# ---------------------------------------------------------------------------------------------------
# paths into the answers data


def get_path(data: Mapping[str, Any], dotted: str) -> tuple[bool, Any]:
    """(present, value) of a dotted path in nested mappings."""
    node: Any = data
    for part in dotted.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return False, None
        node = node[part]
    return True, node


def set_path(data: dict[str, Any], dotted: str, value: Any) -> None:
    """Set a dotted path, creating the mappings on the way (a section given as null becomes one)."""
    parts = dotted.split(".")
    node = data
    for part in parts[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            child = {}
            node[part] = child
        node = child
    node[parts[-1]] = value


def hardware_entry(gpu: str, count: int) -> str:
    """How one hardware item reads in an answer: ``a100-80gb x2``."""
    return gpu if count == 1 else f"{gpu} x{count}"


def _hardware_from_data(items: Any) -> dict[str, Any]:
    """The hardware fields an answers file's ``hardware`` value answers."""
    if items == "cloud":
        return {HARDWARE: False}
    if not isinstance(items, list):
        return {}
    found: dict[str, Any] = {HARDWARE: True}
    if not items:
        return found
    entries: list[str] = []
    ram: float | None = None
    for item in items:
        if not isinstance(item, Mapping):
            continue
        count = int(item.get("count", 1) or 1)
        for key in ("gpu", "cpu"):
            if item.get(key):
                entries.append(hardware_entry(str(item[key]), count))
        if item.get("ram_gb") is not None:
            ram = (ram or 0) + item["ram_gb"]
    # a list that holds anything means the accelerator question was answered (possibly with none)
    found[HARDWARE_GPU] = entries
    if ram is not None:
        found[HARDWARE_RAM] = _tidy_number(ram)
    return found


def _hardware_to_data(values: Mapping[str, Any], kinds: Callable[[str], str]) -> Any:
    if not values[HARDWARE]:
        return "cloud"
    items: list[dict[str, Any]] = []
    for entry in values.get(HARDWARE_GPU) or []:
        name, count = parse_hardware_entry(entry)
        key = "cpu" if kinds(name) == "cpu" else "gpu"
        items.append({key: name} if count == 1 else {key: name, "count": count})
    if values.get(HARDWARE_RAM) is not None:
        items.append({"ram_gb": values[HARDWARE_RAM]})
    return items


def parse_hardware_entry(entry: str) -> tuple[str, int]:
    """``"a100-80gb x2"`` -> ``("a100-80gb", 2)``; raises AnswerError on anything else."""
    match = _HARDWARE_ENTRY.match(entry.strip())
    if match is None:
        raise AnswerError(f"{entry.strip()!r}: expected a catalog id, optionally with a count like 'a100-80gb x2'")
    count = int(match["count"]) if match["count"] else 1
    if count < 1:
        raise AnswerError(f"{entry.strip()!r}: the count must be at least 1")
    return match["id"].lower(), count


def _cpu_by_name(name: str) -> str:
    """Without a catalog, the cpu classes are recognised by their id prefix."""
    return "cpu" if name.startswith("cpu-") else "gpu"


# ---------------------------------------------------------------------------------------------------
# parsing answers


def _tidy_number(value: float) -> int | float:
    return int(value) if float(value).is_integer() and abs(value) < 2**63 else value


def parse_number(raw: Any, unit: str | None = None) -> int | float:
    """Numbers as people type them: ``20000``, ``20,000``, ``20k``, ``1.5M``, ``$3000``."""
    if isinstance(raw, bool):
        raise AnswerError(f"expected a number, got {raw!r}")
    if isinstance(raw, int | float):
        if not math.isfinite(raw):
            raise AnswerError(f"expected a finite number, got {raw!r}")
        return _tidy_number(raw)
    text = str(raw).strip().replace(",", "").replace("_", "").replace(" ", "").lstrip("$")
    if unit:
        for suffix in (unit.replace(" ", ""), unit.split("/")[0].replace(" ", "")):
            if suffix and text.lower().endswith(suffix.lower()):
                text = text[: -len(suffix)]
    scale = 1.0
    if text and text[-1].lower() in _SCALES:
        scale = _SCALES[text[-1].lower()]
        text = text[:-1]
    try:
        value = float(text) * scale
    except ValueError:
        hint = f" ({unit})" if unit else ""
        raise AnswerError(f"expected a number{hint}, e.g. 2000 or 2k; got {str(raw).strip()!r}") from None
    if not math.isfinite(value):
        raise AnswerError(f"expected a finite number, got {str(raw).strip()!r}")
    return _tidy_number(value)


#: what a nullable answer accepts for "nothing" ("no limit" for a budget, "unknown" for users)
_NOTHING = {"none", "no limit", "unlimited", "unknown", "-", "null"}

_YES = {"y", "yes", "true", "1", "on"}
_NO = {"n", "no", "false", "0", "off"}


def parse_bool(raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in _YES:
        return True
    if text in _NO:
        return False
    raise AnswerError(f"expected yes or no, got {str(raw).strip()!r}")


def split_list(raw: Any) -> list[str]:
    """A multi-choice answer: a list, or a comma-separated string."""
    if raw is None:
        return []
    parts = raw if isinstance(raw, list | tuple) else str(raw).split(",")
    return [str(p).strip() for p in parts if str(p).strip()]


# ---------------------------------------------------------------------------------------------------
# the state


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
        hardware = _hardware_from_data(base["hardware"]) if "hardware" in base else {}
        for spec in specs:
            if spec.field in _HARDWARE_FIELDS:
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
            if spec.field not in values or spec.field not in live or spec.field in _HARDWARE_FIELDS:
                continue
            if spec.plugin is not None and self.sources.get(spec.field) == "default":
                # a plugin reads its own defaults for keys that are absent; writing the Question's
                # default could differ from that, so an untouched plugin answer stays absent
                continue
            set_path(data, spec.field, copy.deepcopy(values[spec.field]))
        if HARDWARE in values and HARDWARE in live:
            data["hardware"] = _hardware_to_data(
                {k: values[k] for k in _HARDWARE_FIELDS if k in values and k in live}, self._hardware_kind
            )
        return data

    def requirements(self) -> Requirements:
        try:
            return Requirements.model_validate(self.data())
        except ValidationError as exc:
            from advisor.files.structured import format_validation_error

            raise InputError(format_validation_error("answers", exc)) from None

    def _hardware_kind(self, name: str) -> str:
        if self.choices is not None:
            found = self.choices.canonical_hardware(name)
            if found is not None:
                return found[1]
        return _cpu_by_name(name)

    # -- checking one answer ---------------------------------------------------------------------

    def check(self, spec: Spec, raw: Any) -> Any:
        """Parse an answer and validate it with the Requirements model; AnswerError says why not."""
        value = self._parse(spec, raw)
        trial = dict(self.values)
        trial[spec.field] = value
        try:
            Requirements.model_validate(self.data(trial))
        except ValidationError as exc:
            prefix = tuple(("hardware" if spec.field in _HARDWARE_FIELDS else spec.field).split("."))
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
            if raw is None or (isinstance(raw, str) and raw.strip().lower() in _NOTHING | {""}):
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
        if spec.nullable and text.lower() in _NOTHING | {""}:
            return None
        return text

    def _parse_multi(self, spec: Spec, items: list[str]) -> list[str]:
        if spec.choices_from == "hardware":
            return [self._parse_hardware(item) for item in items]
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

    def _parse_hardware(self, item: str) -> str:
        name, count = parse_hardware_entry(item)
        if self.choices is not None:
            found = self.choices.canonical_hardware(name)
            if found is None:
                raise AnswerError(
                    f"{name}: not in the hardware catalog (Tab completes; see `advisor catalog hardware`)"
                )
            name = found[0]
        return hardware_entry(name, count)


def _describe_error(error: Mapping[str, Any]) -> str:
    got = error.get("input")
    shown = "" if isinstance(got, dict | list) or got is None else f" (got {got!r})"
    return f"{str(error['msg']).lower()}{shown}"


# ---------------------------------------------------------------------------------------------------
# showing answers


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


def as_text(spec: Spec, value: Any) -> str:
    """An answer as a text prompt pre-fills it (so Enter keeps it)."""
    if value is None:
        return ""
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def review_rows(q: Questionnaire) -> list[tuple[str, str, str]]:
    """(field, answer, source) for every question that applies."""
    return [(s.field, display(s, q.current(s)), q.sources.get(s.field, "default")) for s in q.applicable()]


# ---------------------------------------------------------------------------------------------------
# askers


class Asker(Protocol):
    """How questions reach a person. Raise :class:`Interrupted` when they stop answering."""

    def ask(self, spec: Spec, current: Any, check: Callable[[Any], Any]) -> Any:
        """Ask until ``check`` accepts the answer; return what ``check`` returned."""
        ...

    def choose(self, message: str, options: Sequence[tuple[str, str]], default: str | None = None) -> str:
        """One of ``options`` (value, label) — the review menu."""
        ...

    def show(self, text: str, style: str = "") -> None:
        """A line of information (help, the review table, an error)."""
        ...


class _ListCompleter:
    """Completes the last comma-separated item of the input from a list of (value, meta)."""

    def __init__(self, options: Callable[[], list[tuple[str, str]]]) -> None:
        self._options = options
        self._cache: list[tuple[str, str]] | None = None

    def items(self) -> list[tuple[str, str]]:
        if self._cache is None:
            self._cache = self._options()
        return self._cache

    def matches(self, before_cursor: str) -> Iterator[tuple[str, str, int]]:
        """(value, meta, start_position) for the item being typed; prefix matches first."""
        token = before_cursor.rsplit(",", 1)[-1].lstrip()
        needle = token.lower()
        head = [(v, m) for v, m in self.items() if v.startswith(needle)]
        rest = [(v, m) for v, m in self.items() if needle and needle in v and not v.startswith(needle)]
        for value, meta in head + rest:
            yield value, meta, -len(token)


def _prompt_toolkit_completer(source: _ListCompleter) -> Any:
    from prompt_toolkit.completion import Completer, Completion

    class ItemCompleter(Completer):
        def get_completions(self, document: Any, complete_event: Any) -> Iterator[Any]:
            for value, meta, start in source.matches(document.text_before_cursor):
                yield Completion(value, start_position=start, display_meta=meta)

    return ItemCompleter()


class QuestionaryAsker:
    """questionary prompts. ``input``/``output`` are prompt_toolkit objects (pipe input in tests).

    Prompts use ``unsafe_ask`` so that Ctrl-C raises instead of quietly returning None; both
    Ctrl-C and end of input become :class:`Interrupted`.
    """

    def __init__(self, choices: ChoiceSource | None = None, input: Any = None, output: Any = None) -> None:
        self.choices = choices
        self._io: dict[str, Any] = {}
        if input is not None:
            self._io["input"] = input
        if output is not None:
            self._io["output"] = output

    def show(self, text: str, style: str = "") -> None:
        import questionary

        questionary.print(text, style=style or None, **{k: v for k, v in self._io.items() if k == "output"})

    def _run(self, question: Any) -> Any:
        try:
            return question.unsafe_ask()
        except KeyboardInterrupt:
            raise Interrupted("interrupted") from None
        except EOFError:
            raise Interrupted("end of input") from None

    def choose(self, message: str, options: Sequence[tuple[str, str]], default: str | None = None) -> str:
        import questionary

        choices = [questionary.Choice(title=label, value=value) for value, label in options]
        picked = self._run(questionary.select(message, choices=choices, default=default, **self._io))
        return str(picked)

    def ask(self, spec: Spec, current: Any, check: Callable[[Any], Any]) -> Any:
        import questionary

        if spec.question.help:
            self.show(f"  {spec.question.help}", "fg:ansibrightblack italic")
        message = spec.question.prompt
        while True:
            if spec.kind == "confirm":
                answer = self._run(questionary.confirm(message, default=bool(current), **self._io))
            elif spec.kind == "choice":
                choices = [
                    questionary.Choice(title=c, value=c, description=spec.descriptions.get(c) or None)
                    for c in spec.question.choices
                ]
                default = current if current in spec.question.choices else None
                answer = self._run(questionary.select(message, choices=choices, default=default, **self._io))
            elif spec.kind == "multi_choice" and spec.choices_from is None:
                chosen = set(split_list(current))
                choices = [questionary.Choice(title=c, value=c, checked=c in chosen) for c in spec.question.choices]
                answer = self._run(questionary.checkbox(message, choices=choices, validate=_verdict(check), **self._io))
            else:
                keep = as_text(spec, current)
                check_text = _or_kept(check, keep)
                answer = self._run(self._text(spec, message, current, check_text))
                answer = answer if str(answer).strip() else keep
            try:
                return check(answer)
            except AnswerError as exc:
                # text prompts never get here (their validator keeps the prompt open); a select or
                # confirm answer the model rejects is reported and asked again
                self.show(f"  ✗ {exc}", "fg:ansired")
                current = answer

    def _text(self, spec: Spec, message: str, current: Any, check: Callable[[Any], Any]) -> Any:
        """A text prompt whose suggestion is a grey placeholder: typing replaces it, Enter keeps it."""
        import questionary
        from prompt_toolkit.formatted_text import FormattedText

        extra: dict[str, Any] = {}
        instruction = f"({spec.question.unit})" if spec.question.unit else None
        if spec.choices_from is not None and self.choices is not None:
            source, kind = self.choices, spec.choices_from
            extra["completer"] = _prompt_toolkit_completer(_ListCompleter(lambda: source.options(kind)))
            extra["complete_while_typing"] = True
            instruction = "(comma-separated, Tab completes)"
        return questionary.text(
            message,
            validate=_verdict(check),
            instruction=instruction,
            placeholder=FormattedText([("fg:ansibrightblack", display(spec, current))]),
            validate_while_typing=False,  # judge the answer on Enter, not every half-typed word
            **extra,
            **self._io,
        )


def _or_kept(check: Callable[[Any], Any], keep: str) -> Callable[[Any], Any]:
    """An empty text answer means "keep the suggestion"."""
    return lambda raw: check(raw if str(raw).strip() else keep)


def _verdict(check: Callable[[Any], Any]) -> Callable[[Any], bool | str]:
    """questionary's validate protocol: True, or the message to show inline."""

    def verdict(raw: Any) -> bool | str:
        try:
            check(raw)
        except AnswerError as exc:
            return f"✗ {exc}"
        return True

    return verdict


# ---------------------------------------------------------------------------------------------------
# the flows


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


# ---------------------------------------------------------------------------------------------------
# answers files


def ordered(data: Mapping[str, Any], model: type[BaseModel] = Requirements) -> dict[str, Any]:
    """Answers-file keys in the model's field order (the order DESIGN.md §5 lists them)."""
    fields = model.model_fields
    out: dict[str, Any] = {}
    for name in [*fields, *(k for k in data if k not in fields)]:
        if name not in data:
            continue
        value = data[name]
        annotation = fields[name].annotation if name in fields else None
        if isinstance(value, Mapping) and isinstance(annotation, type) and issubclass(annotation, BaseModel):
            value = ordered(value, annotation)
        out[name] = value
    return out


def dump_answers(data: Mapping[str, Any], header: str = "") -> str:
    """YAML in the style of the examples: one line per section."""
    body = yaml.safe_dump(ordered(data), sort_keys=False, allow_unicode=True, default_flow_style=None, width=120)
    lines = "".join(f"# {line}\n" if line else "#\n" for line in header.splitlines())
    return lines + body


def write_answers(path: Path, data: Mapping[str, Any], header: str = "") -> None:
    """Write atomically (a crash never leaves half a file), naming the file on failure."""
    text = dump_answers(data, header)
    directory = path.parent if str(path.parent) else Path(".")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=directory)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except OSError as exc:
        raise InputError(f"{path}: cannot write the answers: {exc}") from None


def partial_path(out: Path) -> Path:
    """Where an interrupted run keeps its answers: ``answers.yaml`` -> ``answers.partial.yaml``."""
    return out.with_name(f"{out.stem}.partial{out.suffix or '.yaml'}")


def final_path(resumed: Path) -> Path:
    """The answers file a resumed run completes: ``answers.partial.yaml`` -> ``answers.yaml``."""
    stem = resumed.stem
    return resumed.with_name(stem[: -len(".partial")] + resumed.suffix) if stem.endswith(".partial") else resumed


def free_path(directory: Path, name: str = "answers.yaml") -> Path:
    """``answers.yaml``, or ``answers-2.yaml``... : a default never overwrites an existing file."""
    first = directory / name
    candidate, n = first, 1
    while candidate.exists() or partial_path(candidate).exists():
        n += 1
        candidate = directory / f"{first.stem}-{n}{first.suffix}"
    return candidate

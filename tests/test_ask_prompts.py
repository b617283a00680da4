"""The real questionary prompts, driven through prompt_toolkit pipe input (no terminal needed).

Keys: "\r" Enter, "\x1b[B" arrow down, " " toggles a checkbox, "\x15" clears the line, "\x03" Ctrl-C.
Whole-flow tests send every key up front (prompt_toolkit hands keys an application did not use to
the next one) to a DummyOutput. Tests that must see what the prompt shows (the inline error, the
completion menu) render into a VT100 output over a string buffer and type the next keys only once
the screen shows what a person would wait for.
"""

from __future__ import annotations

import io
import re
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml

pytest.importorskip("questionary")

from prompt_toolkit.completion import CompleteEvent
from prompt_toolkit.data_structures import Size
from prompt_toolkit.document import Document
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput
from prompt_toolkit.output.vt100 import Vt100_Output

from advisor import Question
from advisor.ask import (
    AnswerError,
    Interrupted,
    QuestionaryAsker,
    Questionnaire,
    Spec,
    builtin_specs,
    run_interactive,
    write_answers,
)
from advisor.ask.terminal import _ListCompleter, _prompt_toolkit_completer
from advisor.model.requirements import Requirements, load_requirements
from tests.conftest import EXAMPLES
from tests.test_ask import StubChoices

DOWN, ENTER, CLEAR = "\x1b[B", "\r", "\x15"
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


class Screen:
    """A VT100 output into a buffer, readable as plain text."""

    def __init__(self) -> None:
        self.buffer = io.StringIO()
        self.output = Vt100_Output(self.buffer, lambda: Size(rows=40, columns=140), term="xterm", enable_cpr=False)

    def text(self) -> str:
        return ANSI.sub("", self.buffer.getvalue())


Wait = str | Callable[[], bool] | None


@contextmanager
def typing(steps: Sequence[tuple[Wait, str]], screen: Screen) -> Iterator[Any]:
    """Pipe input fed by a person who waits before typing ``keys``: for a text to appear on the
    screen (only text drawn on a clean area: prompt_toolkit redraws changed cells only), or for a
    condition."""
    with create_pipe_input() as pipe:
        failures: list[str] = []

        def person() -> None:
            seen = 0
            for wait, keys in steps:
                deadline = time.monotonic() + 10
                while wait is not None and not (wait() if callable(wait) else wait in screen.text()[seen:]):
                    if time.monotonic() > deadline:
                        failures.append(f"never saw {wait!r}")
                        pipe.send_text("\x03")
                        return
                    time.sleep(0.01)
                if isinstance(wait, str):
                    seen = screen.text().index(wait, seen) + len(wait)
                pipe.send_text(keys)

        thread = threading.Thread(target=person, daemon=True)
        thread.start()
        yield pipe
        thread.join(timeout=10)
        assert not failures, failures


@pytest.fixture(scope="module")
def specs() -> list[Spec]:
    return builtin_specs()


def by_id(specs: list[Spec], qid: str) -> Spec:
    return next(s for s in specs if s.id == qid)


def ask_once(spec: Spec, keys: str, data: dict[str, Any] | None = None) -> Any:
    q = Questionnaire.from_data([spec], data, StubChoices())
    with create_pipe_input() as pipe:
        pipe.send_text(keys)
        asker = QuestionaryAsker(StubChoices(), input=pipe, output=DummyOutput())
        return asker.ask(spec, q.current(spec), lambda raw: q.check(spec, raw))


# --- one prompt per kind --------------------------------------------------------------------------


def test_choice_starts_on_the_default_and_moves_with_arrows(specs: list[Spec]) -> None:
    assert ask_once(by_id(specs, "quality"), ENTER) == "medium"
    assert ask_once(by_id(specs, "quality"), DOWN + ENTER) == "high"
    assert ask_once(by_id(specs, "use_case"), DOWN * 2 + ENTER) == "rag"


def test_confirm_takes_y_n_and_enter_keeps_the_default(specs: list[Spec]) -> None:
    assert ask_once(by_id(specs, "on_prem"), "y") is True
    assert ask_once(by_id(specs, "commercial_use"), "n") is False
    assert ask_once(by_id(specs, "commercial_use"), ENTER) is True


def test_text_enter_keeps_the_suggestion_and_typing_replaces_it(specs: list[Spec]) -> None:
    assert ask_once(by_id(specs, "context_tokens"), ENTER) == 8192
    assert ask_once(by_id(specs, "context_tokens"), "32k" + ENTER) == 32000
    assert ask_once(by_id(specs, "monthly_budget"), ENTER) is None
    assert ask_once(by_id(specs, "monthly_budget"), "$2,500" + ENTER) == 2500
    assert ask_once(by_id(specs, "languages"), ENTER) == ["en"]
    assert ask_once(by_id(specs, "languages"), "kk, ru" + ENTER) == ["kk", "ru"]
    # a previous answer is the suggestion when a question is asked again (the review screen)
    assert ask_once(by_id(specs, "context_tokens"), ENTER, {"context_tokens": 4096}) == 4096


def test_a_wrong_answer_is_shown_inline_and_asked_again(specs: list[Spec]) -> None:
    screen = Screen()
    spec = by_id(specs, "requests_per_day")
    q = Questionnaire.from_data([spec], None)
    errors: list[str] = []

    def check(raw: Any) -> Any:
        try:
            return q.check(spec, raw)
        except AnswerError as exc:
            errors.append(str(exc))
            raise

    steps: list[tuple[Wait, str]] = [(None, "-5" + ENTER), ("greater than or equal to 0", CLEAR + "lots" + ENTER)]
    steps += [(lambda: len(errors) >= 2, CLEAR + "20k" + ENTER)]
    with typing(steps, screen) as pipe:
        answer = QuestionaryAsker(input=pipe, output=screen.output).ask(spec, 1000, check)
    assert answer == 20000
    assert errors[:2] == [
        "input should be greater than or equal to 0 (got -5)",
        "expected a number (requests/day), e.g. 2000 or 2k; got 'lots'",
    ]
    shown = screen.text()
    assert "How many requests a day do you expect?" in shown and "(requests/day)" in shown
    assert "✗ input should be greater than or equal to 0 (got -5)" in shown
    assert "A rough figure is fine" in shown  # the help line
    assert "1,000 requests/day" in shown  # the suggestion, as a placeholder


def test_hardware_autocompletes_from_the_catalog(specs: list[Spec]) -> None:
    screen = Screen()
    spec = by_id(specs, "gpus")
    q = Questionnaire.from_data(specs, None, StubChoices())
    steps: list[tuple[Wait, str]] = [(None, "rtx"), ("24 GiB", "\t"), (None, " x2, cpu-ddr5-dual" + ENTER)]
    with typing(steps, screen) as pipe:
        answer = QuestionaryAsker(StubChoices(), input=pipe, output=screen.output).ask(
            spec, [], lambda r: q.check(spec, r)
        )
    assert answer == ["rtx-4090 x2", "cpu-ddr5-dual"]
    assert q.data({"hardware": True, "hardware.gpu": answer})["hardware"] == [
        {"gpu": "rtx-4090", "count": 2},
        {"cpu": "cpu-ddr5-dual"},
    ]


def test_completer_matches_the_item_being_typed() -> None:
    source = _ListCompleter(lambda: StubChoices().options("hardware"))
    assert [v for v, _, _ in source.matches("rtx-4090 x2, a1")] == ["a100-80gb"]
    assert [v for v, _, _ in source.matches("dual")] == ["cpu-ddr5-dual"]  # substring after prefix matches
    completer = _prompt_toolkit_completer(source)
    found = list(completer.get_completions(Document("a100-80gb, rt"), CompleteEvent()))
    assert [(c.text, c.start_position) for c in found] == [("rtx-4090", -2)]


def test_a_plugin_multi_choice_is_a_checkbox() -> None:
    question = Question(
        id="t-regions", field="plugins.t.regions", prompt="Regions?", kind="multi_choice", choices=("eu", "us", "ru")
    )
    spec = Spec(question, plugin="t")
    assert ask_once(spec, " " + DOWN + DOWN + " " + ENTER) == ["eu", "ru"]


def test_a_select_answer_the_model_rejects_is_reported_and_asked_again(specs: list[Spec]) -> None:
    screen = Screen()
    spec = by_id(specs, "mlops")
    seen: list[str] = []

    def check(raw: Any) -> Any:
        seen.append(raw)
        if raw == "none":
            raise AnswerError("nobody cannot run GPUs")
        return raw

    with typing([(None, ENTER), ("nobody cannot run GPUs", DOWN + ENTER)], screen) as pipe:
        assert QuestionaryAsker(input=pipe, output=screen.output).ask(spec, "none", check) == "basic"
    assert seen == ["none", "basic"]


def test_ctrl_c_and_end_of_input_interrupt(specs: list[Spec]) -> None:
    with pytest.raises(Interrupted, match="interrupted"):
        ask_once(by_id(specs, "quality"), "\x03")
    spec = by_id(specs, "context_tokens")
    with create_pipe_input() as pipe:
        pipe.send_text("12")
        pipe.close()
        with pytest.raises(Interrupted, match="end of input"):
            QuestionaryAsker(input=pipe, output=DummyOutput()).ask(spec, 8192, lambda r: r)


# --- a whole questionnaire -----------------------------------------------------------------------

#: The on-prem bank of examples/, as someone would type it.
BANK_KEYS = [
    DOWN * 2 + ENTER,  # use_case: rag
    "ru, en" + ENTER,  # languages
    DOWN + ENTER,  # quality: high
    "16384" + ENTER,  # context_tokens
    "-5" + ENTER + CLEAR + "20000" + ENTER,  # requests_per_day: a wrong answer first
    "3000" + ENTER,  # input_tokens
    "400" + ENTER,  # output_tokens
    "32" + ENTER,  # peak_concurrency
    "20k" + ENTER,  # monthly budget
    "y",  # on_prem
    "n",  # air_gapped
    "y",  # own hardware
    "a100-80gb x2" + ENTER,  # gpus
    "512" + ENTER,  # ram
    "y",  # commercial use
    "5000" + ENTER,  # monthly active users
    DOWN * 2 + ENTER,  # mlops: strong
    "4" + ENTER,  # ml engineers
    ENTER,  # engineer time: extra (the default)
    "n",  # build ambition
    ENTER,  # review: plan
]


def bank_expected() -> Requirements:
    raw = yaml.safe_load((EXAMPLES / "onprem-bank.yaml").read_text())
    del raw["privacy"]["data_residency"], raw["latency"]  # not asked: answers-file only
    return Requirements.model_validate(raw)


def test_a_whole_questionnaire_through_pipe_input(specs: list[Spec], tmp_path: Path) -> None:
    q = Questionnaire.from_data(specs, None, StubChoices())
    saves: list[int] = []
    with create_pipe_input() as pipe:
        pipe.send_text("".join(BANK_KEYS))
        asker = QuestionaryAsker(StubChoices(), input=pipe, output=DummyOutput())
        assert run_interactive(q, asker, after_each=lambda: saves.append(len(q.values))) == "plan"
    assert len(saves) == len(BANK_KEYS) - 1 == 20
    assert q.requirements() == bank_expected()
    path = tmp_path / "answers.yaml"
    write_answers(path, q.data())
    assert load_requirements(path) == bank_expected()


def test_stopping_midway_keeps_the_answers_and_resuming_finishes(specs: list[Spec], tmp_path: Path) -> None:
    keep = tmp_path / "answers.partial.yaml"
    q = Questionnaire.from_data(specs, None, StubChoices())
    with create_pipe_input() as pipe:
        pipe.send_text("".join(BANK_KEYS[:6]) + "\x03")
        asker = QuestionaryAsker(StubChoices(), input=pipe, output=DummyOutput())
        with pytest.raises(Interrupted):
            run_interactive(q, asker, after_each=lambda: write_answers(keep, q.data()))
    partial = load_requirements(keep)
    assert partial.traffic.input_tokens == 3000 and partial.traffic.output_tokens == 200  # not answered yet
    assert "output_tokens" not in yaml.safe_load(keep.read_text())["traffic"]
    resumed = Questionnaire.from_data(specs, yaml.safe_load(keep.read_text()), StubChoices())
    with create_pipe_input() as pipe:
        pipe.send_text("".join(BANK_KEYS[6:]))
        run_interactive(resumed, QuestionaryAsker(StubChoices(), input=pipe, output=DummyOutput()))
    assert resumed.requirements() == bank_expected()


def test_review_lets_you_change_an_answer(specs: list[Spec]) -> None:
    """Saying "no" to commercial use skips a question; changing it in the review asks it."""
    keys = [*BANK_KEYS[:14], "n", DOWN * 2 + ENTER, "4" + ENTER, ENTER, "n"]
    # the review menu: "Change an answer", pick commercial use, yes, the question it opens, plan
    keys += [DOWN + ENTER, _pick_keys(specs, "commercial_use"), "y", "5000" + ENTER, ENTER]
    q = Questionnaire.from_data(specs, None, StubChoices())
    with create_pipe_input() as pipe:
        pipe.send_text("".join(keys))
        run_interactive(q, QuestionaryAsker(StubChoices(), input=pipe, output=DummyOutput()))
    assert q.sources["license.monthly_active_users"] == "you"
    assert q.requirements() == bank_expected()


def _pick_keys(specs: list[Spec], qid: str) -> str:
    """Arrow presses that reach a question in the "Which answer?" list (the questions that apply)."""
    raw = yaml.safe_load((EXAMPLES / "onprem-bank.yaml").read_text())
    raw["license"]["commercial_use"] = False
    order = [s.id for s in Questionnaire.from_data(specs, raw).applicable()]
    return DOWN * order.index(qid) + ENTER


def test_plugin_questions_are_asked_after_the_built_in_ones(specs: list[Spec]) -> None:
    extra = Spec(Question(id="t-cc", field="plugins.t.cost_centre", prompt="Cost centre?", kind="text"), plugin="t")
    guarded = replace(extra, nullable=True)
    q = Questionnaire.from_data([*specs, guarded], None, StubChoices())
    with create_pipe_input() as pipe:
        pipe.send_text("".join(BANK_KEYS[:-1]) + "R&D" + ENTER + ENTER)
        run_interactive(q, QuestionaryAsker(StubChoices(), input=pipe, output=DummyOutput()))
    assert q.requirements().plugins == {"t": {"cost_centre": "R&D"}}

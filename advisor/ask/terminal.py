"""Asking on a terminal with questionary (prompt_toolkit): the :class:`~advisor.ask.asker.Asker`
``advisor ask`` uses when stdin and stdout are terminals.

questionary and prompt_toolkit are imported only inside the methods, so loading the questionnaire
(and ``advisor --help``) stays light. Tests drive these prompts through prompt_toolkit pipe input.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

from advisor.ask.asker import Interrupted
from advisor.ask.choices import ChoiceSource
from advisor.ask.display import as_text, display
from advisor.ask.parse import AnswerError, split_list
from advisor.ask.questions import Spec


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
                keep = as_text(current)
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

"""The contract between the flows and the ways of putting a question to someone.

:class:`~advisor.ask.terminal.QuestionaryAsker` asks on a terminal; the tests script answers. An
asker raises :class:`Interrupted` when the person stops answering, and the flows keep what was
answered so far.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

from advisor.ask.questions import Spec


class Interrupted(Exception):
    """The person stopped answering (Ctrl-C, or end of input)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


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

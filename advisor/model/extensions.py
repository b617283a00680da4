"""Small value types that plugins register besides checks: questions, catalog sources, backends."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from advisor.catalog.kinds import CatalogKind

QuestionKind = Literal["text", "number", "choice", "multi_choice", "confirm"]


@dataclass(frozen=True)
class Question:
    """A questionnaire question bound to a Requirements field path (``traffic.requests_per_day``).

    Plugin questions bind to ``plugins.<plugin>.<key>`` so their answers land under the plugin's
    namespace in the answers file.
    """

    id: str
    field: str
    prompt: str
    kind: QuestionKind = "text"
    help: str = ""
    choices: tuple[str, ...] = ()
    default: Any = None
    unit: str | None = None
    when: Callable[[Mapping[str, Any]], bool] | None = dataclasses.field(default=None, compare=False)


@dataclass(frozen=True)
class CatalogSource:
    """A source of catalog records of one kind.

    Give ``path`` (a YAML/JSON file whose top-level key is the kind) or ``load`` (a callable that
    returns raw mappings or records). Either way every record is validated when loaded.
    """

    name: str
    kind: CatalogKind
    load: Callable[[], Iterable[Any]] | None = dataclasses.field(default=None, compare=False)
    path: Any = None

    def __post_init__(self) -> None:
        if (self.load is None) == (self.path is None):
            raise ValueError(f"catalog source {self.name!r}: give exactly one of load or path")


@dataclass(frozen=True)
class Backend:
    """A local inference backend for ``advisor smoke`` (llama.cpp is built in)."""

    name: str
    description: str
    formats: tuple[str, ...]
    is_available: Callable[[], bool] = dataclasses.field(compare=False)
    install_hint: str = ""

"""Checks and their findings: the unit every rule plugin contributes (docs/design.md §3).

A check is an object with a stable id (``LIC001``) rather than an ad-hoc hook call, so users can
``--select``/``--ignore`` it, ``advisor checks`` can list it, and the engine can isolate it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field

from advisor.model.candidate import CandidateKind

Severity = Literal["pass", "info", "warn", "fail", "error"]

#: Order used for verdicts; ``error`` is reported but never decides a verdict.
SEVERITY_ORDER: dict[str, int] = {"pass": 0, "info": 1, "warn": 2, "fail": 3, "error": -1}

CHECK_ID = re.compile(r"^[A-Z]+[0-9]{3}$")

#: The candidate kinds a check may apply to (``Check.kinds``).
CANDIDATE_KINDS: tuple[str, ...] = get_args(CandidateKind)


class Finding(BaseModel):
    """What one check concluded about one candidate.

    ``metrics`` carries the numbers a check established (``quality``, ``monthly_cost_usd``,
    ``total_bytes``...); the engine merges them into the candidate's assessment, so a report's
    every figure can be traced back to the check that computed it.
    """

    model_config = ConfigDict(extra="forbid")

    severity: Severity
    message: str
    evidence: dict[str, Any] = Field(default_factory=dict)
    remediation: str | None = None
    metrics: dict[str, float | int | str | None] = Field(default_factory=dict)
    check: str | None = None
    category: str | None = None
    plugin: str | None = None


CheckRun = Callable[..., Iterable[Finding] | Finding | None]


@dataclass(frozen=True)
class Check:
    """A rule: ``run(candidate, requirements[, context])`` yields :class:`Finding` objects."""

    id: str
    category: str
    summary: str
    run: CheckRun = field(repr=False, compare=False)
    kinds: tuple[str, ...] = CANDIDATE_KINDS

    def __post_init__(self) -> None:
        if not isinstance(self.id, str) or not CHECK_ID.match(self.id):
            raise ValueError(f"check id {self.id!r} must be capital letters then three digits, like LIC001")
        for name in ("category", "summary"):
            if type(getattr(self, name)) is not str:
                raise ValueError(f"check {self.id}: {name} must be a string")
        if not callable(self.run):
            raise ValueError(f"check {self.id}: run must be callable")
        kinds = (self.kinds,) if isinstance(self.kinds, str) else self.kinds
        if not isinstance(kinds, tuple | list | set | frozenset) or not set(kinds) <= set(CANDIDATE_KINDS):
            raise ValueError(f"check {self.id}: kinds must be among {', '.join(CANDIDATE_KINDS)}")
        # a plain tuple of plain strings: the engine tests membership on every candidate
        object.__setattr__(self, "kinds", tuple(k for k in CANDIDATE_KINDS if k in set(kinds)))


@dataclass(frozen=True)
class RegisteredCheck:
    """A check with the name of the plugin that registered it."""

    check: Check
    plugin: str


def selected(check_id: str, select: Iterable[str], ignore: Iterable[str]) -> bool:
    """ruff-style selection: ids or prefixes; an empty ``select`` means everything."""
    chosen = list(select)
    if chosen and not any(check_id.startswith(p) for p in chosen):
        return False
    return not any(check_id.startswith(p) for p in ignore)

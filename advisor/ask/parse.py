"""Reading answers as people type them: numbers with commas, units and ``k``/``M``; yes and no; lists.

Every parser raises :class:`AnswerError`, whose text is shown next to the question, so a terminal
prompt and an answers file reject the same input with the same words.
"""

from __future__ import annotations

import math
from typing import Any

_SCALES = {"k": 1e3, "m": 1e6}
_YES = {"y", "yes", "true", "1", "on"}
_NO = {"n", "no", "false", "0", "off"}

#: what a nullable answer accepts for "nothing" ("no limit" for a budget, "unknown" for users)
NOTHING = frozenset({"none", "no limit", "unlimited", "unknown", "-", "null"})


class AnswerError(ValueError):
    """An answer that cannot be taken; ``str()`` is the sentence shown next to the question."""


def tidy_number(value: float) -> int | float:
    """Whole numbers as ints (``3.0`` -> ``3``), so answers files read ``3`` rather than ``3.0``."""
    return int(value) if float(value).is_integer() and abs(value) < 2**63 else value


def parse_number(raw: Any, unit: str | None = None) -> int | float:
    """Numbers as people type them: ``20000``, ``20,000``, ``20k``, ``1.5M``, ``$3000``."""
    if isinstance(raw, bool):
        raise AnswerError(f"expected a number, got {raw!r}")
    if isinstance(raw, int | float):
        if not math.isfinite(raw):
            raise AnswerError(f"expected a finite number, got {raw!r}")
        return tidy_number(raw)
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
    return tidy_number(value)


def parse_bool(raw: Any) -> bool:
    """``y``/``yes``/``true``/``1``/``on`` and their opposites."""
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

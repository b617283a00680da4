"""One syntax for "this many of that device": ``rtx-4090``, ``2xrtx-4090``, ``rtx-4090:2``, ``a100-80gb x2``.

``advisor fit --hardware`` and the questionnaire's hardware answer read devices the same way, so a
spelling that works in one works in the other. This module only reads and writes the text; whether
the id names a device is the catalog's business (``Catalog.find_hardware``), and each caller words
its own error around :class:`HardwareSpecError`.

The grammar (case-insensitive, surrounding blanks ignored):

* ``ID`` — one device; ``ID`` is a letter or digit followed by letters, digits and ``. _ + -``;
* ``NxID`` — a count before the id, written together (the shell-friendly form ``fit`` prints);
* ``ID xN``, ``ID*N``, ``ID×N``, ``ID:N`` — a count after the id. After an ``x`` the count needs a
  blank before it, because ``x`` and digits may end an id: ``rtx4090`` is a catalog alias, not
  "rt" times 4090.
"""

from __future__ import annotations

import re
from typing import Literal, NamedTuple

_ID = r"[a-z0-9][a-z0-9._+-]*"
_COUNT_FIRST = re.compile(rf"^(?P<count>\d+)x(?P<id>{_ID})$", re.IGNORECASE)
_COUNT_AFTER = re.compile(rf"^(?P<id>{_ID})(?:(?:\s*[*×:]|\s+x)\s*(?P<count>\d+))?$", re.IGNORECASE)


class HardwareSpecError(ValueError):
    """Text that is not a hardware spec; ``str()`` is the questionnaire's wording of why.

    ``problem`` says which rule failed: ``"form"`` (not an id with an optional count) or
    ``"count"`` (well formed, but fewer than one device; ``id`` is then the id that was read).
    """

    def __init__(self, text: str, problem: Literal["form", "count"], id: str | None = None) -> None:
        if problem == "form":
            message = f"{text!r}: expected a catalog id, optionally with a count like 'a100-80gb x2'"
        else:
            message = f"{text!r}: the count must be at least 1"
        super().__init__(message)
        self.text = text
        self.problem = problem
        self.id = id


class HardwareSpec(NamedTuple):
    """A device id (lower case, not yet looked up in the catalog) and how many of it.

    (``quantity``, not ``count``: a tuple already has a ``count`` method.)
    """

    id: str
    quantity: int = 1

    def __str__(self) -> str:
        """The answer form: ``a100-80gb x2`` (``a100-80gb`` for one)."""
        return self.id if self.quantity == 1 else f"{self.id} x{self.quantity}"

    @property
    def compact(self) -> str:
        """The one-word form ``advisor fit`` labels rows with: ``2xa100-80gb`` (``a100-80gb`` for one)."""
        return self.id if self.quantity == 1 else f"{self.quantity}x{self.id}"


def parse_hardware_spec(text: str) -> HardwareSpec:
    """``"2xRTX-4090"``, ``"rtx-4090:2"`` or ``"rtx-4090 x2"`` -> ``HardwareSpec("rtx-4090", 2)``.

    Raises :class:`HardwareSpecError` for anything else, and for a count below 1.
    """
    stripped = text.strip()
    match = _COUNT_FIRST.match(stripped) or _COUNT_AFTER.match(stripped)
    if match is None:
        raise HardwareSpecError(stripped, "form")
    name = match["id"].lower()
    count = int(match["count"]) if match["count"] else 1
    if count < 1:
        raise HardwareSpecError(stripped, "count", name)
    return HardwareSpec(name, count)

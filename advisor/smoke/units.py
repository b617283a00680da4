"""How the smoke result writes numbers: MiB in sentences, rounded floats in the JSON."""

from __future__ import annotations


def mib(value: float) -> str:
    """Bytes as whole MiB with thousands separators, for messages."""
    return f"{value / 2**20:,.0f} MiB"


def rounded(value: float | None, digits: int = 2) -> float | None:
    """A JSON number rounded to ``digits``; None stays None."""
    return None if value is None else round(value, digits)

"""Numbers in words a reader takes in at a glance: ``45.6 billion``, ``1,560``, ``1.3 × 10^19``.

One helper for every report, message and table (issue 14: never ``4.56e10`` or ``1.56e+03``). Pure
formatting, no I/O; public so plugins format the numbers in their findings the same way.
"""

from __future__ import annotations

import math

_WORDS = ((1e12, "trillion"), (1e9, "billion"), (1e6, "million"))


def human_count(value: float) -> str:
    """A count or volume: three significant figures below a thousand, digits with separators below a million, three
    significant figures with a word
    up to trillions (``45.6 billion``), powers of ten above (``8.8 × 10^23``, FLOPs)."""
    if not math.isfinite(value):
        return str(value)
    if abs(value) >= 1000 and abs(value) < 1e6:
        return f"{value:,.0f}"
    if abs(value) < 1000:
        return f"{float(f'{value:.3g}'):,g}"
    value = float(f"{value:.3g}")  # round first, so 999.6 million reads "1 billion"
    size = abs(value)
    for scale, word in _WORDS:
        if size >= scale and size < 1e15:
            return f"{value / scale:.3g} {word}"
    exponent = math.floor(math.log10(size))
    return f"{value / 10**exponent:.2g} × 10^{exponent}"

"""LiteLLM's price table read as catalog API fields: the one conversion both importers share.

``scripts/import_litellm_prices.py`` builds catalog/apis.yaml from a copy of BerriAI/litellm
``model_prices_and_context_window.json`` (MIT licence, Copyright (c) 2023 Berri AI; see
catalog/LICENSE-litellm.txt) and ``advisor catalog update`` re-reads the same table to refresh the
prices of the records it made; both convert an entry with :func:`price_fields`. Pure functions.
"""

from __future__ import annotations

import re
from typing import Any

#: Where the upstream table lives (the raw file of the repository the catalog cites as its source).
LITELLM_PRICES_URL = "https://raw.githubusercontent.com/BerriAI/litellm/main/model_prices_and_context_window.json"

#: The ``source`` of every API record built from the table (catalog/apis_curated.yaml).
LITELLM_SOURCE_PAGE = "https://github.com/BerriAI/litellm/blob/main/model_prices_and_context_window.json"

PER_MILLION = 1_000_000

_TIER_KEY = re.compile(r"^input_cost_per_token_above_(\d+)k_tokens$")


def per_million(usd_per_token: float) -> float:
    """USD per token -> USD per 1M tokens, without float noise (0.15000000000000002 -> 0.15)."""
    return float(f"{usd_per_token * PER_MILLION:.6g}")


def price(entry: dict[str, Any], field: str) -> float | None:
    """An entry's USD-per-token field as USD per 1M tokens; None when absent or not a number."""
    value = entry.get(field)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return per_million(float(value))
    return None


def positive_int(value: Any) -> int | None:
    """A positive count (context sizes), else None."""
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        return int(value)
    return None


def long_context_tiers(entry: dict[str, Any]) -> list[dict[str, Any]]:
    """Tiers from ``input/output_cost_per_token_above_<N>k_tokens`` (N thousand input tokens)."""
    tiers = []
    for field in entry:
        match = _TIER_KEY.match(field)
        if not match:
            continue
        size = match.group(1)
        tier_in = price(entry, field)
        tier_out = price(entry, f"output_cost_per_token_above_{size}k_tokens")
        if tier_out is None:
            tier_out = price(entry, "output_cost_per_token")
        if tier_in is None or tier_out is None:
            continue
        tiers.append(
            {"above_input_tokens": int(size) * 1000, "input_usd_per_1m": tier_in, "output_usd_per_1m": tier_out}
        )
    return sorted(tiers, key=lambda tier: int(tier["above_input_tokens"]))


def price_fields(entry: dict[str, Any]) -> dict[str, Any]:
    """The ApiRecord fields one table entry gives (prices per 1M tokens, limits); absent ones left out.

    ``context_window`` is ``max_input_tokens``, else ``max_tokens``; the caller supplies a fallback.
    """
    fields: dict[str, Any] = {
        "input_usd_per_1m": price(entry, "input_cost_per_token"),
        "output_usd_per_1m": price(entry, "output_cost_per_token"),
        "cached_input_usd_per_1m": price(entry, "cache_read_input_token_cost"),
        "batch_input_usd_per_1m": price(entry, "input_cost_per_token_batches"),
        "batch_output_usd_per_1m": price(entry, "output_cost_per_token_batches"),
        "context_window": positive_int(entry.get("max_input_tokens")) or positive_int(entry.get("max_tokens")),
        "max_output_tokens": positive_int(entry.get("max_output_tokens")),
    }
    result = {k: v for k, v in fields.items() if v is not None}
    tiers = long_context_tiers(entry)
    if tiers:
        result["long_context_tiers"] = tiers
    return result

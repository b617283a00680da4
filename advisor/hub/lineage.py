"""A model's base models read from their own Hub cards, up the ``base_model`` chain.

A fine-tune's card may carry a permissive label over a restrictive base, and the base may be a
fine-tune itself; the catalog rarely holds either. So the cards are read here, once, up the chain:
each base's ``license`` / ``license_name`` / ``license_link``, its own ``base_model`` (every base of a
merge), and the child's ``base_model_relation``. The walk is breadth-first, visits each repo once (a
cycle in the cards ends there) and reads at most :data:`MAX_HUB_ANCESTORS` cards; a base the Hub does
not have is kept with ``found=False`` (its licence cannot be read, and the licence checks say so).
Pure reading of card data: nothing is downloaded or executed. ``advisor.engine.licensing`` turns the
result into the lineage the licence checks use.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from advisor.catalog.records import BaseModelLink
from advisor.errors import InputError
from advisor.hub.client import api, with_backoff
from advisor.hub.licence import licence_from_card
from advisor.hub.parsing import as_list, is_hub_repo_id
from advisor.hub.settings import HubSettings

#: Cards read at most for one model's ancestry: real chains are 1-3 deep and merges have 2-4 bases;
#: a longer walk is a loop in the data or an abuse, and costs a request per card.
MAX_HUB_ANCESTORS = 8


def card_of(info: Any) -> dict[str, Any]:
    """The model card's data as a plain dict (empty without a card)."""
    card = getattr(info, "card_data", None)
    if card is None:
        return {}
    if isinstance(card, dict):
        return dict(card)
    to_dict = getattr(card, "to_dict", None)
    return dict(to_dict()) if callable(to_dict) else {}


def base_models_of(card: dict[str, Any], info: Any = None) -> list[str]:
    """The card's ``base_model`` (a string or a list), else what the Hub derived from it."""
    bases = as_list(card.get("base_model")) or as_list(getattr(info, "base_models", None))
    return [b.strip() for b in bases if b.strip()]


def relation_of(card: dict[str, Any]) -> str | None:
    """The card's ``base_model_relation`` (finetune, adapter, quantized, merge), lower case."""
    value = card.get("base_model_relation")
    return str(value).strip().lower() if isinstance(value, str) and value.strip() else None


def card_reader(hub: HubSettings) -> Callable[[str], tuple[dict[str, Any], list[str]] | None]:
    """``read(repo) -> (card, tags)``, or None when the Hub has no such repo (or it is private or gated).

    A network failure or an outage is raised (:class:`EnvironmentProblem`): an ancestry read with
    holes would look complete.
    """
    client = api(hub)

    def read(repo_id: str) -> tuple[dict[str, Any], list[str]] | None:
        try:
            info = with_backoff(
                lambda: client.model_info(repo_id, expand=["cardData", "tags"], token=hub.token or False),
                repo_id,
                "the model card",
                hub,
            )
        except InputError:
            return None
        return card_of(info), [str(t) for t in getattr(info, "tags", None) or []]

    return read


def hub_ancestors(
    repo_id: str,
    card: dict[str, Any],
    read: Callable[[str], tuple[dict[str, Any], list[str]] | None],
    *,
    limit: int = MAX_HUB_ANCESTORS,
) -> list[BaseModelLink]:
    """The base models of ``repo_id`` (whose own card is ``card``), nearest first, from their Hub cards."""
    found: list[BaseModelLink] = []
    queue = [(base, repo_id, relation_of(card)) for base in base_models_of(card)]
    seen = {repo_id}
    while queue and len(found) < limit:
        base, derived, relation = queue.pop(0)
        if base in seen or not is_hub_repo_id(base):
            continue
        seen.add(base)
        answer = read(base)
        if answer is None:
            found.append(BaseModelLink(model=base, derived=derived, relation=relation, found=False))
            continue
        base_card, tags = answer
        licence = licence_from_card(base_card, tags)
        found.append(
            BaseModelLink(
                model=base,
                derived=derived,
                relation=relation,
                license=None if licence.record_id == "unknown" else licence.record_id,
                license_name=licence.license_name,
                license_link=licence.license_link,
            )
        )
        queue += [(parent, base, relation_of(base_card)) for parent in base_models_of(base_card)]
    return found

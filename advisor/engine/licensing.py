"""Licence lineage: a model's own licence and the licence of each base model up its ``base_model`` chain.

A fine-tune carries its base model's duties, so both the licence checks (LIC001-LIC008 in
plugins/license.py) and ``advisor licenses MODEL`` read the same lineage; it is built here, once, so the
two cannot disagree. The rules:

1. the model's own licence, resolved through ``license_name`` when it is ``other`` / ``unknown``;
2. each base model up the ``base_model`` chain (every base of a merge), from its catalog record;
3. a base that is not in the catalog, from its own Hub card: ``advisor.hub`` reads the cards up the
   chain (bounded, cycle-safe) into the record's ``base_lineage``, so a fine-tune of a fine-tune of a
   non-commercial model carries the non-commercial terms even though neither base is catalogued;
4. failing that, the ``base_model_license`` of the model derived from it, and the chain ends there.

A base published by the same organisation as the model derived from it does not bind: the rights holder
may relicense its own model (Meta's Llama 3.3 on its Llama 3.1 base). Pure functions of the catalog, no
I/O. Built-in plugins may import this module; ``Catalog`` and ``LicenseRecord`` are named here for their
annotations, because they may not import the catalog modules themselves.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from advisor.catalog.loader import Catalog as Catalog
    from advisor.catalog.records import BaseModelLink as BaseModelLink
    from advisor.catalog.records import LicenseRecord as LicenseRecord

__all__ = [
    "MAX_LINEAGE_DEPTH",
    "UNIDENTIFIED",
    "LicenceLink",
    "Lineage",
    "licence_lineage",
    "lookup_licence",
    "publisher",
]

#: Licence ids that name no terms: the model card points elsewhere (license_name / license_link).
UNIDENTIFIED = frozenset({"other", "unknown"})

#: How far up a base_model chain to follow; real chains are 1-3 deep, a longer one is a data loop.
MAX_LINEAGE_DEPTH = 8


@dataclass(frozen=True)
class LicenceLink:
    """One model in a lineage, with the licence it declares and the catalog record that names it."""

    model: str
    declared: str | None
    license_name: str | None
    license_link: str | None
    record: LicenseRecord | None
    binding: bool
    in_catalog: bool
    #: the model this one is the base of (None for the model itself)
    derived: str | None = None
    #: the derived model's ``base_model_relation`` (finetune, adapter, quantized, merge), when read from the Hub
    relation: str | None = None
    #: false when the Hub has no such repo, so its licence could not be read
    on_hub: bool = True

    @property
    def identified(self) -> bool:
        """Whether the catalog knows the terms (``other`` / ``unknown`` name none)."""
        return self.record is not None and self.record.id not in UNIDENTIFIED

    @property
    def label(self) -> str:
        """The licence as the card declares it, for messages."""
        label = self.declared or "none declared"
        if self.license_name:
            label += f", license_name: {self.license_name}"
        return label


@dataclass(frozen=True)
class Lineage:
    """A model and its base models, nearest first; ``links[0]`` is the model itself."""

    links: tuple[LicenceLink, ...]
    modalities: tuple[str, ...] | None

    @property
    def own(self) -> LicenceLink:
        return self.links[0]

    def terms(self) -> list[tuple[LicenceLink, LicenseRecord]]:
        """The identified licences that bind the model, each once, the model's own first."""
        seen: set[str] = set()
        result: list[tuple[LicenceLink, LicenseRecord]] = []
        for link in self.links:
            if link.binding and link.identified and link.record is not None and link.record.id not in seen:
                seen.add(link.record.id)
                result.append((link, link.record))
        return result


def publisher(repo_id: str) -> str:
    """The Hugging Face organisation of a repo id ('' when the id has none, e.g. a local path)."""
    return repo_id.split("/", 1)[0].lower() if "/" in repo_id else ""


def lookup_licence(catalog: Catalog, declared: str | None, license_name: str | None) -> LicenseRecord | None:
    """The catalog record for a declared licence; ``other``/``unknown`` resolve through ``license_name``."""
    record = catalog.find_license(declared)
    if (record is None or record.id in UNIDENTIFIED) and license_name:
        named = catalog.find_license(license_name)
        if named is not None and named.id not in UNIDENTIFIED:
            return named
    return record


def licence_lineage(
    catalog: Catalog,
    model_id: str,
    *,
    declared: str | None,
    license_name: str | None = None,
    license_link: str | None = None,
    base_model: str | Sequence[str] | None = None,
    base_model_license: str | None = None,
    modalities: Sequence[str] | None = None,
    ancestors: Sequence[BaseModelLink] = (),
) -> Lineage:
    """The lineage of ``model_id`` from the facts its caller holds (a catalog record or a model card).

    The keyword facts describe the model itself. Its base models are read from the catalog; a base the
    catalog does not hold is read from ``ancestors`` (the base models' own Hub cards, gathered by
    ``advisor.hub``), and only failing both from ``base_model_license``. The walk is breadth-first (a
    merge has several bases), visits each model once (a cycle in the cards ends there) and stops after
    :data:`MAX_LINEAGE_DEPTH` models. The model's own link counts as ``in_catalog`` when the catalog has
    a record of it that declares the same licence (a Hub card under a catalog id may declare another one).
    """
    own = catalog.models.get(model_id)
    links = [
        LicenceLink(
            model=model_id,
            declared=declared,
            license_name=license_name,
            license_link=license_link,
            record=lookup_licence(catalog, declared, license_name),
            binding=True,
            in_catalog=own is not None and own.license == declared,
        )
    ]
    from_hub: dict[str, list[BaseModelLink]] = {}
    for entry in ancestors:
        from_hub.setdefault(entry.derived, []).append(entry)
    by_model = {entry.model: entry for entry in ancestors}
    first = [base_model] if isinstance(base_model, str) else list(base_model or [])
    queue: list[tuple[str, str, str | None]] = [(b, model_id, base_model_license) for b in first if b]
    queue += [(e.model, model_id, e.license) for e in from_hub.get(model_id, []) if e.model not in first]
    seen = {model_id}
    while queue and len(links) <= MAX_LINEAGE_DEPTH:
        base, derived, hint = queue.pop(0)
        if base in seen:
            continue
        seen.add(base)
        binding = publisher(base) != publisher(derived) or not publisher(base)
        record = catalog.models.get(base)
        card = by_model.get(base)
        source = record if record is not None else card
        declared = source.license if source is not None else hint
        links.append(
            LicenceLink(
                model=base,
                declared=declared,
                license_name=source.license_name if source is not None else None,
                license_link=source.license_link if source is not None else None,
                record=lookup_licence(catalog, declared, source.license_name if source is not None else None),
                binding=binding,
                in_catalog=record is not None,
                derived=derived,
                relation=card.relation if record is None and card is not None else None,
                on_hub=card.found if record is None and card is not None else True,
            )
        )
        parents = [(e.model, e.license) for e in from_hub.get(base, [])] if source is not None else []
        if record is not None:
            declared_base = [(record.base_model, record.base_model_license)] if record.base_model else []
            parents = declared_base + [(e.model, e.license) for e in record.base_lineage if e.derived == base] + parents
        queue += [(parent, base, parent_hint) for parent, parent_hint in parents if parent]
    return Lineage(tuple(links), tuple(modalities) if modalities is not None else None)

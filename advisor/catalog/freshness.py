"""How old the catalog records a plan leans on are, and the warning when they are too old.

A record's age runs from the newer of its ``as_of`` (when its facts were read from the source) and
the day ``advisor catalog update`` last compared it with its upstream source. Past
``record_max_age_days`` (catalog/planning.yaml, with the reason for its value) a plan says so; a
record upstream no longer has (a repo that disappeared, a price the table dropped) is said too.
Pure functions of the catalog and a date.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from advisor.catalog.loader import Catalog


@dataclass(frozen=True)
class RecordAge:
    """One record's last check and age in days, and since when upstream lacks it (None: it has it)."""

    kind: str
    id: str
    last_checked: dt.date | None
    age_days: int | None
    missing_since: dt.date | None


def record_age(catalog: Catalog, kind: str, record_id: str, today: dt.date) -> RecordAge:
    checked = catalog.last_checked(kind, record_id)
    return RecordAge(
        kind,
        record_id,
        checked,
        (today - checked).days if checked is not None else None,
        catalog.missing.get((kind, record_id)),
    )


def freshness_warnings(
    catalog: Catalog, keys: Iterable[tuple[str, str]], today: dt.date, max_age_days: int
) -> list[str]:
    """One line per record in ``keys`` (kind, id) that is older than ``max_age_days`` or gone upstream."""
    old: list[RecordAge] = []
    gone: list[RecordAge] = []
    for kind, record_id in dict.fromkeys(keys):
        if record_id not in catalog.records.get(kind, {}):
            continue
        age = record_age(catalog, kind, record_id, today)
        if age.missing_since is not None:
            gone.append(age)
        if age.age_days is not None and age.age_days > max_age_days:
            old.append(age)
    lines = []
    if old:
        listed = ", ".join(f"{a.id} ({a.last_checked}, {a.age_days} d)" for a in old)
        lines.append(
            f"the plan leans on catalog records last checked more than {max_age_days} days ago: {listed}; "
            "prices, licences and leaders may have changed: run `advisor catalog update`"
        )
    for age in gone:
        lines.append(
            f"{age.id}: its upstream source no longer has it (found missing on {age.missing_since}); "
            "the catalog keeps the record, check before relying on it"
        )
    return lines

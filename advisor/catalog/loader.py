"""Loading the catalog: built-in YAML, plugin sources, and a user overlay directory.

Every record is validated when it is loaded; a bad one stops the run with a line naming the
file, the record and the field, because a silently skipped record would change a recommendation.
A plugin's source is the exception: the engine skips its bad record and reports it as a plugin
error (``on_error``), fatal with ``--strict-plugins``.
Later layers override earlier ones by id (built-in < plugin sources < the update overlay <
``--catalog-dir``). The update overlay (:mod:`advisor.catalog.overlay`, written by ``advisor catalog
update``) patches fields of records rather than replacing them, and adds the records it found.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from advisor.catalog.kinds import CATALOG_KINDS, CatalogKind
from advisor.catalog.overlay import Overlay, overlay_path, read_overlay
from advisor.catalog.records import (
    RECORD_TYPES,
    ApiRecord,
    HardwareRecord,
    LicenseRecord,
    ModelRecord,
    QuantRecord,
)
from advisor.catalog.tables import packaged_file, parse_catalog_yaml
from advisor.errors import InputError
from advisor.files.structured import (
    MAX_CONFIG_BYTES,
    format_validation_error,
    parse_structured_text,
    read_text_file,
)
from advisor.model.extensions import CatalogSource

R = TypeVar("R", bound=BaseModel)


def builtin_catalog_path(kind: str) -> Traversable:
    """The packaged ``<kind>.yaml`` of the built-in catalog."""
    return packaged_file(f"{kind}.yaml")


def parse_records(
    kind: CatalogKind, raw_records: Iterable[Any], where: str, on_error: Callable[[str], None] | None = None
) -> list[BaseModel]:
    """Validate raw mappings as ``kind`` records; errors name ``where``, the record and the field.

    With ``on_error`` (a plugin's source) a bad record is reported through it and skipped.
    """
    record_type = RECORD_TYPES[kind]
    parsed: list[BaseModel] = []
    for index, raw in enumerate(raw_records):
        if isinstance(raw, record_type):
            parsed.append(raw)
            continue
        label = raw.get("id") if isinstance(raw, Mapping) else None
        record_where = f"{where}: {kind}[{index}]" + (f" ({label})" if label else "")
        try:
            if not isinstance(raw, Mapping):
                raise InputError(f"{record_where}: expected a mapping, got {type(raw).__name__}")
            try:
                parsed.append(record_type.model_validate(dict(raw)))
            except ValidationError as exc:
                raise InputError(format_validation_error(record_where, exc)) from None
        except InputError as exc:
            if on_error is None:
                raise
            on_error(str(exc))
    return parsed


def read_catalog_file(
    path: Any, expected_kind: str | None = None, on_error: Callable[[str], None] | None = None
) -> dict[str, list[BaseModel]]:
    """Read one catalog file (a Path or a package resource): kind name -> list of records."""
    where = str(path)
    if isinstance(path, Path):  # a user's overlay: untrusted, so a regular file under the cap only
        text = read_text_file(path, MAX_CONFIG_BYTES, "a catalog YAML or JSON file")
    else:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(f"{where}: cannot read: {exc}") from None
    suffix = Path(str(path)).suffix
    is_yaml = suffix in {".yaml", ".yml"}
    data = parse_catalog_yaml(text, where) if is_yaml else parse_structured_text(text, where, suffix)
    if not isinstance(data, Mapping):
        raise InputError(f"{where}: expected a mapping with keys among {', '.join(CATALOG_KINDS)}")
    result: dict[str, list[BaseModel]] = {}
    for kind, records in data.items():
        if kind not in RECORD_TYPES:
            raise InputError(f"{where}: unknown catalog kind {kind!r}; expected one of {', '.join(CATALOG_KINDS)}")
        if expected_kind is not None and kind != expected_kind:
            raise InputError(f"{where}: holds {kind!r} records, expected {expected_kind!r}")
        if not isinstance(records, list):
            raise InputError(f"{where}: {kind}: expected a list of records")
        result[kind] = parse_records(kind, records, where, on_error)
    return result


@dataclass
class Catalog:
    """All records by kind and id, plus where each record came from.

    Change it only through :meth:`add`: the typed views (``models``, ``hardware``, ...) and the
    look-up indexes behind ``find_*`` are built once and kept until the next ``add()`` (a plan reads
    them thousands of times). They are shared, so treat what they return as read-only.
    """

    records: dict[str, dict[str, BaseModel]] = field(default_factory=lambda: {k: {} for k in CATALOG_KINDS})
    origins: dict[tuple[str, str], str] = field(default_factory=dict)
    #: memo of derived values (e.g. sizings) that are pure functions of the records; cleared on add()
    derived: dict[object, object] = field(default_factory=dict, repr=False, compare=False)
    _views: dict[str, Any] = field(default_factory=dict, init=False, repr=False, compare=False)
    #: the update overlay applied (None: none), the records as they were before it patched them, when
    #: each record was last checked upstream and when upstream stopped having it
    overlay: Path | None = None
    unpatched: dict[tuple[str, str], BaseModel] = field(default_factory=dict, repr=False, compare=False)
    checked: dict[tuple[str, str], dt.date] = field(default_factory=dict)
    missing: dict[tuple[str, str], dt.date] = field(default_factory=dict)

    def add(self, kind: str, records: Iterable[BaseModel], origin: str) -> None:
        """Add records; a record with an id already present replaces it (overlay semantics)."""
        bucket = self.records[kind]
        self.derived.clear()
        self._views.clear()
        for record in records:
            record_id = getattr(record, "id")  # noqa: B009 - every record type has an id
            bucket[record_id] = record
            self.origins[(kind, record_id)] = origin

    def last_checked(self, kind: str, record_id: str) -> dt.date | None:
        """The newest of the record's ``as_of`` and the day an update last checked it upstream."""
        record = self.records[kind].get(record_id)
        as_of: dt.date | None = getattr(record, "as_of", None)
        checked = self.checked.get((kind, record_id))
        dates = [d for d in (as_of, checked) if d is not None]
        return max(dates) if dates else None

    def _typed(self, kind: str, record_type: type[R]) -> dict[str, R]:
        view: dict[str, R] | None = self._views.get(kind)
        if view is None:
            view = {k: v for k, v in self.records[kind].items() if isinstance(v, record_type)}
            self._views[kind] = view
        return view

    def _index(self, name: str, keys: Callable[[R], Iterable[str]], records: dict[str, R]) -> dict[str, R]:
        """``records`` by every key ``keys`` gives a record; the first record (in catalog order) wins a key."""
        index: dict[str, R] | None = self._views.get(name)
        if index is None:
            index = {}
            for record in records.values():
                for key in keys(record):
                    index.setdefault(key, record)
            self._views[name] = index
        return index

    @property
    def models(self) -> dict[str, ModelRecord]:
        return self._typed("models", ModelRecord)

    @property
    def apis(self) -> dict[str, ApiRecord]:
        return self._typed("apis", ApiRecord)

    @property
    def hardware(self) -> dict[str, HardwareRecord]:
        return self._typed("hardware", HardwareRecord)

    @property
    def licenses(self) -> dict[str, LicenseRecord]:
        return self._typed("licenses", LicenseRecord)

    @property
    def quants(self) -> dict[str, QuantRecord]:
        return self._typed("quants", QuantRecord)

    def find_hardware(self, name: str) -> HardwareRecord | None:
        """Look a device up by id or alias, case-insensitively."""
        index = self._index("hardware by name", lambda r: [r.id, *(a.lower() for a in r.aliases)], self.hardware)
        return index.get(name.strip().lower())

    def find_license(self, name: str | None) -> LicenseRecord | None:
        """Look a licence up by id or alias, case-insensitively."""
        if not name:
            return None
        index = self._index(
            "licenses by name", lambda r: [r.id.lower(), *(a.lower() for a in r.aliases)], self.licenses
        )
        return index.get(name.strip().lower())

    def find_quant(self, name: str) -> QuantRecord | None:
        """Look a weight format up by id, case-insensitively."""
        return self._index("quants by id", lambda r: [r.id.upper()], self.quants).get(name.strip().upper())


def require_quant(catalog: Catalog, quant_id: str) -> QuantRecord:
    """The weight format named by ``--quant``, or a one-line input error naming it."""
    record = catalog.find_quant(quant_id)
    if record is None:
        raise InputError(f"--quant {quant_id}: not a known weight format (see `advisor catalog quants`)")
    return record


def load_source(source: CatalogSource, on_error: Callable[[str], None] | None = None) -> list[BaseModel]:
    """Read and validate one plugin-registered source (``on_error``: report and skip bad records)."""
    if source.path is not None:
        return read_catalog_file(source.path, expected_kind=source.kind, on_error=on_error).get(source.kind, [])
    assert source.load is not None
    return parse_records(source.kind, source.load(), source.name, on_error)


def apply_overlay(catalog: Catalog, overlay: Overlay, where: Path) -> None:
    """Patch the catalog's records with the overlay's fields, add its records, note checked and missing days."""
    label = f"{where} (catalog update of {overlay.as_of.isoformat()})"
    for kind, patches in overlay.patches.items():
        record_type = RECORD_TYPES[kind]
        patched: list[BaseModel] = []
        for record_id, fields in patches.items():
            record = catalog.records[kind].get(record_id)
            if record is None or not fields:
                continue  # a record the catalog no longer has: nothing to patch
            try:
                patched.append(record_type.model_validate({**record.model_dump(), **fields}))
            except ValidationError as exc:
                raise InputError(
                    format_validation_error(f"{where}: patches.{kind}.{record_id}", exc)
                    + f"; remove the overlay (rm '{where}') and run `advisor catalog update` again"
                ) from None
            catalog.unpatched[(kind, record_id)] = record
        catalog.add(kind, patched, label)
    for kind, raw in overlay.added.items():
        fresh = [r for r in raw if r.get("id") not in catalog.records[kind]]
        catalog.add(kind, parse_records(kind, fresh, str(where)), label)
    for kind, days in overlay.checked.items():
        catalog.checked.update({(kind, record_id): day for record_id, day in days.items()})
    for kind, days in overlay.missing.items():
        catalog.missing.update({(kind, record_id): day for record_id, day in days.items()})
    catalog.overlay = where


def load_catalog(
    loaded: Iterable[tuple[str, list[BaseModel], str]],
    overlay_dir: Path | None = None,
    *,
    update_overlay: Path | bool | None = True,
) -> Catalog:
    """Build the catalog from loaded ``(kind, records, origin)`` in order, the update overlay, then the
    ``--catalog-dir`` directory. ``update_overlay``: True reads :func:`overlay_path`, a path reads that
    file, False or None reads none."""
    catalog = Catalog()
    for kind, records, origin in loaded:
        catalog.add(kind, records, origin)
    if update_overlay is not False and update_overlay is not None:
        where = overlay_path() if update_overlay is True else update_overlay
        overlay = read_overlay(where)
        if overlay is not None:
            apply_overlay(catalog, overlay, where)
    if overlay_dir is not None:
        if not overlay_dir.is_dir():
            raise InputError(f"--catalog-dir {overlay_dir}: not a directory")
        files = sorted(p for p in overlay_dir.iterdir() if p.suffix.lower() in {".yaml", ".yml", ".json"})
        for path in files:
            for kind, records in read_catalog_file(path).items():
                catalog.add(kind, records, str(path))
    return catalog

"""The update overlay: what ``advisor catalog update`` learned, kept in the user's data directory.

The shipped catalog is read-only (it is installed with the package); an update writes one JSON file
beside it instead, and every later run applies it when it loads the catalog
(:func:`advisor.catalog.loader.load_catalog`). The file holds, per kind:

* ``patches``: id -> {field: value}, the fields the upstream source now gives differently from the
  shipped record. Merging is **field-level**: each patched field replaces that field of the record and
  every other field (benchmarks, notes, sources) stays as shipped, so a newer release of the catalog
  still brings its curated facts and the overlay only keeps what upstream changed since;
* ``added``: whole records for models the update found that the catalog lacks (a shipped record of
  the same id wins: it is curated);
* ``checked``: id -> the day the record was last compared with its upstream source;
* ``missing``: id -> the day upstream no longer had it (the record is kept, and flagged).

Where: ``$ADVISOR_DATA_DIR``, else ``$XDG_DATA_HOME/model-advisor``, else
``~/.local/share/model-advisor`` (user data, not a cache: deleting it undoes the update). A file that
cannot be read as an overlay is an error naming it and how to remove it, never silently skipped: it
would change a recommendation without a word.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from advisor.catalog.kinds import CatalogKind
from advisor.errors import InputError
from advisor.files.cache import write_json

#: The overlay's file name in the data directory.
OVERLAY_FILE = "catalog-overlay.json"

#: Bumped when the file's layout changes incompatibly; an overlay of another format is refused.
OVERLAY_FORMAT = 1


def data_dir() -> Path:
    """The user's data directory for model-advisor (not created here)."""
    explicit = os.environ.get("ADVISOR_DATA_DIR")
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_DATA_HOME")
    return (Path(xdg).expanduser() if xdg else Path.home() / ".local" / "share") / "model-advisor"


def overlay_path() -> Path:
    """Where ``advisor catalog update`` writes the overlay and every run reads it."""
    return data_dir() / OVERLAY_FILE


class Overlay(BaseModel):
    """The overlay file's content (see the module docstring)."""

    model_config = ConfigDict(extra="forbid")

    format: int = OVERLAY_FORMAT
    as_of: dt.date = Field(description="the day of the last update")
    sources: list[str] = Field(default_factory=list, description="where the last update read its facts")
    patches: dict[CatalogKind, dict[str, dict[str, Any]]] = Field(default_factory=dict)
    added: dict[CatalogKind, list[dict[str, Any]]] = Field(default_factory=dict)
    checked: dict[CatalogKind, dict[str, dt.date]] = Field(default_factory=dict)
    missing: dict[CatalogKind, dict[str, dt.date]] = Field(default_factory=dict)


def _corrupt(path: Path, why: str) -> InputError:
    return InputError(
        f"{path}: not a usable catalog overlay ({why}); remove it (rm '{path}') to use the shipped catalog, "
        "then run `advisor catalog update` to write a new one"
    )


def read_overlay(path: Path | None = None) -> Overlay | None:
    """The overlay at ``path`` (default :func:`overlay_path`); None when there is none."""
    path = path or overlay_path()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise _corrupt(path, f"cannot read: {exc}") from None
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise _corrupt(path, f"not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise _corrupt(path, "expected a JSON object")
    if data.get("format") != OVERLAY_FORMAT:
        raise _corrupt(path, f"format {data.get('format')!r}, this version reads format {OVERLAY_FORMAT}")
    try:
        return Overlay.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise _corrupt(path, f"{where}: {first['msg']}") from None


def write_overlay(overlay: Overlay, path: Path | None = None) -> Path:
    """Write the overlay atomically; a failure to write is an environment problem named by the caller."""
    path = path or overlay_path()
    write_json(path, overlay.model_dump(mode="json"))
    return path

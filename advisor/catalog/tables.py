"""The one reader of the packaged tables (catalog/*.yaml and *.csv, installed as ``advisor_catalog``).

Estimator constants, policies, recipes, evaluation data and planning defaults are data files with
their sources, not code; this module is the only place that opens them, so every table is found
the same way (from a wheel or an editable install) and a broken one stops the run with the same
kind of one-line error: the file, and where in it what was expected (the style of
:mod:`advisor.files.structured`, which also does the parsing). Schemas stay with the code that
uses the numbers; :func:`load_table` validates a file into one.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from advisor.errors import InputError
from advisor.files.cache import memoised
from advisor.files.structured import format_validation_error, parse_structured_text

#: The import name of the packaged data (the repository's catalog/ directory).
PACKAGE = "advisor_catalog"

M = TypeVar("M", bound=BaseModel)


def packaged_file(name: str) -> Traversable:
    """The packaged file ``name`` (a Traversable: works from a wheel and an editable install)."""
    return resources.files(PACKAGE).joinpath(name)


def _where(name: str) -> str:
    return f"catalog/{name}"


def _read_text(name: str) -> str:
    try:
        return packaged_file(name).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{_where(name)}: cannot read the packaged table: {exc}") from None


@cache
def read_yaml(name: str) -> Any:
    """The parsed packaged YAML file ``name`` (read once; callers must not mutate the result)."""
    return parse_catalog_yaml(_read_text(name), _where(name))


def parse_catalog_yaml(text: str, where: str) -> Any:
    """A catalog YAML document, parsed once per content and kept as JSON in the user's cache.

    The catalog's YAML (about 400 KB) takes ~45 ms to parse on every run, the same content as JSON
    ~2 ms. The entry is keyed on the exact text, so an edited file is parsed afresh. The data is
    what JSON can hold: a YAML date becomes its ISO text, which the record schemas read back as the
    same date (the first run returns the JSON form too, so every run sees the same values).
    """
    import json

    def parse() -> dict[str, Any]:
        data = parse_structured_text(text, where, ".yaml")
        return {"data": json.loads(json.dumps(data, default=str))}

    return memoised("yaml", f"{where}\n{text}", [], parse)["data"]


@cache
def read_csv(name: str) -> tuple[Mapping[str, str], ...]:
    """The rows of the packaged CSV file ``name`` as column -> text mappings (read once)."""
    return tuple(csv.DictReader(io.StringIO(_read_text(name))))


def require_columns(name: str, rows: Sequence[Mapping[str, str]], columns: Sequence[str], what: str) -> None:
    """A one-line error naming the file when ``rows`` lack one of ``columns`` (``what`` says who needs it)."""
    missing = [c for c in columns if rows and c not in rows[0]]
    if missing:
        raise InputError(f"{_where(name)}: no column {missing[0]!r} ({what})")


def load_table(name: str, schema: type[M]) -> M:
    """The packaged YAML file ``name`` validated as ``schema``; a bad field is one line naming it."""
    data = read_yaml(name)
    if not isinstance(data, Mapping):
        raise InputError(f"{_where(name)}: expected a mapping of {schema.__name__} fields")
    try:
        return schema.model_validate(data)
    except ValidationError as exc:
        raise InputError(format_validation_error(_where(name), exc)) from None

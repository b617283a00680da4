"""The user's cache directory: one place for everything model-advisor keeps between runs.

``$ADVISOR_CACHE_DIR``, else ``$XDG_CACHE_HOME/model-advisor``, else ``~/.cache/model-advisor``.
What lives there is never needed for correctness: the measured memory bandwidth, the smoke history
and calibration, the Hub metadata kept for offline use, fitted capability boundaries
(:func:`memoised`). A missing or corrupt entry is recomputed, never an error.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any


def cache_dir() -> Path:
    """The cache directory (not created here: writers create what they write)."""
    explicit = os.environ.get("ADVISOR_CACHE_DIR")
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg).expanduser() if xdg else Path.home() / ".cache") / "model-advisor"


def read_json(path: Path) -> dict[str, Any]:
    """A cache file's content; a missing, unreadable or corrupt file is an empty entry, never an error."""
    try:
        data = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def write_json(path: Path, data: Mapping[str, Any]) -> None:
    """Write a cache file atomically, so that a crash never leaves half a file behind (raises OSError)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=1, default=str) + "\n", "utf-8")  # key order kept: it can matter
    os.replace(tmp, path)


def memoised(kind: str, key: str, depends_on: Sequence[Path], compute: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """``compute()``'s JSON result, kept under ``<cache>/<kind>/`` between runs.

    The entry's name hashes ``key`` (a full description of the inputs) and the bytes of the files in
    ``depends_on`` (the code that computes it), so changed inputs or changed code compute afresh.
    """
    digest = hashlib.sha256(key.encode("utf-8"))
    for path in depends_on:
        digest.update(path.read_bytes())
    entry = cache_dir() / kind / f"{digest.hexdigest()[:40]}.json"
    found = read_json(entry)
    if found:
        return found
    result = compute()
    with contextlib.suppress(OSError):
        write_json(entry, result)
    return result

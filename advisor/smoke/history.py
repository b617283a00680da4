"""The smoke tests' local history (SQLite): every ``advisor smoke`` run with its prediction, its
measurements, its verdict and how busy the machine was.

``advisor smoke history`` lists it; :mod:`advisor.smoke.calibration` learns from its quiet runs and
:func:`advisor.smoke.threads.thread_hint` from its thread counts. A history written by an older
version gains the newer columns on first open (empty for its old rows).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import sqlite3
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from advisor.files.cache import cache_dir

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at TEXT NOT NULL,
    machine_key TEXT NOT NULL,
    model TEXT,
    file TEXT,
    quant TEXT,
    device TEXT,
    gpu_layers INTEGER,
    context INTEGER,
    threads INTEGER,
    ok INTEGER NOT NULL,
    error TEXT,
    load_s REAL,
    ttft_s REAL,
    prompt_tokens_per_s REAL,
    completion_tokens INTEGER,
    decode_tokens_per_s REAL,
    peak_rss_bytes INTEGER,
    model_rss_bytes INTEGER,
    predicted_total_bytes INTEGER,
    predicted_decode_tokens_per_s REAL,
    bytes_per_token INTEGER,
    bandwidth_gb_s REAL,
    result_json TEXT NOT NULL
);
"""

#: Columns added after the first version, with their types: added to an older history on open.
ADDED_COLUMNS = {
    "verdict": "TEXT",
    "checks_ok": "INTEGER",
    "busy": "INTEGER",
    "baseline_decode_tokens_per_s": "REAL",
    "others_busy_cpus_before": "REAL",
    "others_busy_cpus_during": "REAL",
}


def history_path() -> Path:
    return cache_dir() / "smoke_history.sqlite"


@contextlib.contextmanager
def open_history(
    schema: str, added_columns: Mapping[str, Mapping[str, str]] | None = None, path: Path | None = None
) -> Iterator[sqlite3.Connection]:
    """The local history database (smoke runs, and ``advisor bench`` sweeps beside them).

    ``schema`` is created when missing and ``added_columns`` (table -> column -> SQL type) are added
    to a file an older version wrote. Committed when the block succeeds, always closed; a failure
    is one OSError naming the file.
    """
    path = path or history_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(path)
    except (OSError, sqlite3.Error) as exc:
        raise OSError(f"cannot open the smoke history {path}: {exc}") from None
    try:
        connection.row_factory = sqlite3.Row
        connection.execute(schema)
        for table, columns in (added_columns or {}).items():
            present = {row["name"] for row in connection.execute(f"PRAGMA table_info({table})")}
            for name, kind in columns.items():
                if name not in present:
                    connection.execute(f"ALTER TABLE {table} ADD COLUMN {name} {kind}")
        yield connection
        connection.commit()
    except sqlite3.DatabaseError as exc:
        raise OSError(f"the smoke history {path} is not usable: {exc}") from None
    finally:
        connection.close()


def _connect(path: Path | None = None) -> contextlib.AbstractContextManager[sqlite3.Connection]:
    return open_history(SCHEMA, {"runs": ADDED_COLUMNS}, path)


def record_run(result: dict[str, Any], machine_key: str, path: Path | None = None) -> int:
    """Store one smoke result; returns its id."""
    predicted = result.get("predicted") or {}
    load = result.get("load") or {}
    row = {
        "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine_key": machine_key,
        "model": result.get("model"),
        "file": result.get("file"),
        "quant": result.get("quant"),
        "device": result.get("device"),
        "gpu_layers": result.get("gpu_layers"),
        "context": result.get("context"),
        "threads": result.get("threads"),
        "ok": 1 if result.get("ok") else 0,
        "error": result.get("error"),
        "load_s": result.get("load_s"),
        "ttft_s": result.get("ttft_s"),
        "prompt_tokens_per_s": result.get("prompt_tokens_per_s"),
        "completion_tokens": result.get("completion_tokens"),
        "decode_tokens_per_s": result.get("decode_tokens_per_s"),
        "peak_rss_bytes": result.get("peak_rss_bytes"),
        "model_rss_bytes": result.get("model_rss_bytes"),
        "predicted_total_bytes": predicted.get("total_bytes"),
        "predicted_decode_tokens_per_s": predicted.get("decode_tokens_per_s"),
        "bytes_per_token": predicted.get("bytes_per_token"),
        "bandwidth_gb_s": predicted.get("bandwidth_gb_s"),
        "verdict": result.get("verdict"),
        "checks_ok": _flag(result.get("checks_ok")),
        "busy": _flag(load.get("busy")),
        "baseline_decode_tokens_per_s": predicted.get("uncalibrated_decode_tokens_per_s"),
        "others_busy_cpus_before": load.get("others_busy_cpus_before"),
        "others_busy_cpus_during": load.get("others_busy_cpus_during"),
        "result_json": json.dumps(result, default=str),
    }
    columns = ", ".join(row)
    marks = ", ".join("?" for _ in row)
    with _connect(path) as connection:
        cursor = connection.execute(f"INSERT INTO runs ({columns}) VALUES ({marks})", list(row.values()))
        return int(cursor.lastrowid or 0)


def _flag(value: Any) -> int | None:
    return None if value is None else int(bool(value))


def list_runs(limit: int | None = 50, machine_key: str | None = None, path: Path | None = None) -> list[dict[str, Any]]:
    """Recorded runs, newest first, without the full result JSON."""
    query = "SELECT * FROM runs"
    args: list[Any] = []
    if machine_key is not None:
        query += " WHERE machine_key = ?"
        args.append(machine_key)
    query += " ORDER BY id DESC"
    if limit is not None:
        query += " LIMIT ?"
        args.append(limit)
    with _connect(path) as connection:
        rows = [dict(r) for r in connection.execute(query, args)]
    for row in rows:
        row.pop("result_json", None)
        row["ok"] = bool(row["ok"])
        for name in ("checks_ok", "busy"):
            row[name] = None if row[name] is None else bool(row[name])
    return rows

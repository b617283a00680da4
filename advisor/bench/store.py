"""The ``bench_runs`` table: every benchmarked concurrency level, kept beside the smoke history.

Same SQLite file as ``advisor smoke``'s runs (:func:`advisor.smoke.history.history_path`), so a
later calibration can read measured serving throughput next to measured single-stream decode.
One row per concurrency level; the rows of one ``advisor bench`` share a ``sweep_id``. The whole
report is kept as JSON in each row, so columns can be added without losing anything.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from pathlib import Path
from typing import Any

from advisor.smoke.history import open_history

SCHEMA = """
CREATE TABLE IF NOT EXISTS bench_runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    sweep_id TEXT NOT NULL,
    created_at TEXT NOT NULL,
    machine_key TEXT NOT NULL,
    endpoint TEXT NOT NULL,
    model TEXT NOT NULL,
    api TEXT NOT NULL,
    concurrency INTEGER NOT NULL,
    requests INTEGER NOT NULL,
    errors INTEGER NOT NULL,
    input_tokens INTEGER,
    max_tokens INTEGER,
    output_tokens_per_s REAL,
    ttft_p50_s REAL,
    ttft_p95_s REAL,
    itl_p50_s REAL,
    itl_p95_s REAL,
    e2e_p50_s REAL,
    e2e_p95_s REAL,
    goodput REAL,
    predicted_output_tokens_per_s REAL,
    stopped TEXT,
    report_json TEXT NOT NULL
);
"""


def record_sweep(report: dict[str, Any], machine_key: str, path: Path | None = None) -> str:
    """Store each run of a bench report (the ``--format json`` object); returns the sweep id.

    Raises OSError when the file cannot be opened or written.
    """
    sweep_id = uuid.uuid4().hex
    now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    traffic = report.get("traffic") or {}
    runs_predicted = {run["concurrency"]: run.get("predicted_output_tokens_per_s") for run in report["runs"]}
    rows = [
        {
            "sweep_id": sweep_id,
            "created_at": now,
            "machine_key": machine_key,
            "endpoint": report["endpoint"],
            "model": report["model"],
            "api": report.get("api", ""),
            "concurrency": run["concurrency"],
            "requests": run["requests"],
            "errors": run["errors"],
            "input_tokens": traffic.get("input_tokens"),
            "max_tokens": traffic.get("output_tokens"),
            "output_tokens_per_s": run["output_tokens_per_s"],
            "ttft_p50_s": run["ttft_s"]["p50"],
            "ttft_p95_s": run["ttft_s"]["p95"],
            "itl_p50_s": run["itl_s"]["p50"],
            "itl_p95_s": run["itl_s"]["p95"],
            "e2e_p50_s": run["e2e_s"]["p50"],
            "e2e_p95_s": run["e2e_s"]["p95"],
            "goodput": run.get("goodput"),
            "predicted_output_tokens_per_s": runs_predicted.get(run["concurrency"]),
            "stopped": report.get("stopped"),
            "report_json": json.dumps(report, default=str),
        }
        for run in report["runs"]
    ]
    if not rows:
        return sweep_id
    columns = ", ".join(rows[0])
    marks = ", ".join("?" for _ in rows[0])
    with open_history(SCHEMA, path=path) as connection:
        connection.executemany(f"INSERT INTO bench_runs ({columns}) VALUES ({marks})", [list(r.values()) for r in rows])
    return sweep_id

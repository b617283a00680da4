"""Answers files as ``advisor ask`` writes them: YAML in the examples' key order, written atomically,
and named so that a default never overwrites a file (``answers.yaml``, ``answers-2.yaml``...) and an
interrupted run keeps its answers beside the final name (``answers.partial.yaml``)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel

from advisor.files.output import write_output
from advisor.model.requirements import Requirements


def ordered(data: Mapping[str, Any], model: type[BaseModel] = Requirements) -> dict[str, Any]:
    """Answers-file keys in the model's field order (the order the files in examples/ use)."""
    fields = model.model_fields
    out: dict[str, Any] = {}
    for name in [*fields, *(k for k in data if k not in fields)]:
        if name not in data:
            continue
        value = data[name]
        annotation = fields[name].annotation if name in fields else None
        if isinstance(value, Mapping) and isinstance(annotation, type) and issubclass(annotation, BaseModel):
            value = ordered(value, annotation)
        out[name] = value
    return out


def dump_answers(data: Mapping[str, Any], header: str = "") -> str:
    """YAML in the style of the examples: one line per section."""
    body = yaml.safe_dump(ordered(data), sort_keys=False, allow_unicode=True, default_flow_style=None, width=120)
    lines = "".join(f"# {line}\n" if line else "#\n" for line in header.splitlines())
    return lines + body


def write_answers(path: Path, data: Mapping[str, Any], header: str = "", option: str | None = "--out") -> None:
    """Write atomically, to a regular file only (:func:`advisor.files.output.write_output`)."""
    write_output(path, dump_answers(data, header), option=option)


def partial_path(out: Path) -> Path:
    """Where an interrupted run keeps its answers: ``answers.yaml`` -> ``answers.partial.yaml``."""
    return out.with_name(f"{out.stem}.partial{out.suffix or '.yaml'}")


def final_path(resumed: Path) -> Path:
    """The answers file a resumed run completes: ``answers.partial.yaml`` -> ``answers.yaml``."""
    stem = resumed.stem
    return resumed.with_name(stem[: -len(".partial")] + resumed.suffix) if stem.endswith(".partial") else resumed


def free_path(directory: Path, name: str = "answers.yaml") -> Path:
    """``answers.yaml``, or ``answers-2.yaml``... : a default never overwrites an existing file."""
    first = directory / name
    candidate, n = first, 1
    while candidate.exists() or partial_path(candidate).exists():
        n += 1
        candidate = directory / f"{first.stem}-{n}{first.suffix}"
    return candidate

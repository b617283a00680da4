"""The user's cache: entries keyed on everything they depend on, never needed for correctness."""

from __future__ import annotations

from pathlib import Path

import pytest

from advisor.catalog.tables import parse_catalog_yaml
from advisor.files.cache import cache_dir, memoised


@pytest.fixture(autouse=True)
def _own_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ADVISOR_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_memoised_computes_once_then_reads_the_entry(tmp_path: Path) -> None:
    calls: list[int] = []

    def compute() -> dict[str, object]:
        calls.append(1)
        return {"value": 0.1 + 0.2, "order": {"b": 1, "a": 2}}

    first = memoised("demo", "key", [], compute)
    second = memoised("demo", "key", [], compute)
    assert first == second and len(calls) == 1
    assert second["value"] == 0.1 + 0.2  # a float keeps its exact value through JSON
    assert list(second["order"]) == ["b", "a"]  # and a mapping its key order
    memoised("demo", "another key", [], compute)
    assert len(calls) == 2


def test_a_changed_dependency_or_a_corrupt_entry_computes_afresh(tmp_path: Path) -> None:
    code = tmp_path / "code.py"
    code.write_text("x = 1\n")
    count = iter(range(10))

    def compute() -> dict[str, object]:
        return {"n": next(count)}

    assert memoised("demo", "k", [code], compute) == {"n": 0}
    assert memoised("demo", "k", [code], compute) == {"n": 0}
    code.write_text("x = 2\n")
    assert memoised("demo", "k", [code], compute) == {"n": 1}
    for entry in (cache_dir() / "demo").iterdir():
        entry.write_text("{not json")
    assert memoised("demo", "k", [code], compute) == {"n": 2}


def test_catalog_yaml_reads_the_same_cold_and_warm() -> None:
    text = "models:\n  - id: m\n    as_of: 2026-01-02\n    z: 1\n    a: [1, 2.5, null, true]\n"
    cold = parse_catalog_yaml(text, "catalog/demo.yaml")
    warm = parse_catalog_yaml(text, "catalog/demo.yaml")
    assert cold == warm == {"models": [{"id": "m", "as_of": "2026-01-02", "z": 1, "a": [1, 2.5, None, True]}]}
    assert list(warm["models"][0]) == ["id", "as_of", "z", "a"]


def test_broken_catalog_yaml_is_one_line_and_never_cached() -> None:
    from advisor.errors import InputError

    for _ in range(2):
        with pytest.raises(InputError, match=r"catalog/bad.yaml: invalid YAML at line 2, column 1"):
            parse_catalog_yaml("models: [\n", "catalog/bad.yaml")
    assert not (cache_dir() / "yaml").exists()

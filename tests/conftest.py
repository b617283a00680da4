"""Shared fixtures: a plugin host built per test (no global state, no entry points from the
developer's environment), the examples, and a CLI runner."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from advisor.engine.host import PluginHost
from advisor.engine.session import Session
from advisor.model.context import AdvisorContext

ROOT = Path(__file__).resolve().parent.parent


def load_script(relative: str) -> ModuleType:
    """A script of the repository (``benchmarks/serving_accuracy.py``, ``scripts/...``) as a module: they are run,
    not installed, and the tests call their functions. Registered in ``sys.modules`` under its stem so the
    dataclasses it defines resolve their own module; a fresh module on every call (no state leaks between tests)."""
    path = ROOT / relative
    name = path.stem
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


EXAMPLES = ROOT / "examples"
FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture(autouse=True)
def _clean_plugin_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("ADVISOR_PLUGINS", "ADVISOR_DISABLE_PLUGINS", "ADVISOR_STRICT_PLUGINS"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="session")
def _empty_data_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("xdg-data")


@pytest.fixture(autouse=True)
def _no_user_overlay(monkeypatch: pytest.MonkeyPatch, _empty_data_home: Path) -> None:
    """No test reads the developer's `advisor catalog update` overlay (subprocesses inherit XDG_DATA_HOME)."""
    monkeypatch.delenv("ADVISOR_DATA_DIR", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(_empty_data_home))


@pytest.fixture
def host() -> PluginHost:
    return PluginHost(strict=False).load(entrypoints=False)


@pytest.fixture
def session(host: PluginHost) -> Session:
    return Session(host=host)


@pytest.fixture
def context(session: Session) -> AdvisorContext:
    return session.context


@pytest.fixture
def write(tmp_path: Path) -> Iterator[object]:
    def _write(name: str, text: str) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return path

    yield _write

"""The wheel: built from the repo, installed in a fresh virtualenv, run from outside the repo.

Also installs the example third-party plugin and sees it discovered through its entry point.
Slow (a minute: it builds two wheels and installs their dependencies).
"""

from __future__ import annotations

import json
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

from tests.conftest import ROOT


def run(cmd: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, f"{cmd}: {proc.stdout[-2000:]} {proc.stderr[-2000:]}"
    return proc


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    work = tmp_path_factory.mktemp("wheel")
    dist = work / "dist"
    run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "-w",
            str(dist),
            str(ROOT),
            str(ROOT / "examples" / "advisor-acme-rules"),
        ],
        cwd=work,
    )
    env_dir = work / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    wheels = sorted(str(p) for p in dist.glob("*.whl"))
    run([str(python), "-m", "pip", "install", "--quiet", *wheels], cwd=work)
    return env_dir / "bin" / "advisor", work


@pytest.mark.slow
def test_wheel_layout(installed: tuple[Path, Path]) -> None:
    _, work = installed
    wheel = next((work / "dist").glob("model_advisor-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/")[0] for n in names}
    assert "plugins" not in tops and "catalog" not in tops
    assert {"advisor", "advisor_plugins", "advisor_catalog"} <= tops
    assert "advisor_catalog/models.yaml" in names and "advisor_catalog/LICENSE-litellm.txt" in names


@pytest.mark.slow
def test_installed_wheel_runs_outside_the_repo(installed: tuple[Path, Path]) -> None:
    advisor, work = installed
    outside = work / "elsewhere"
    outside.mkdir()
    proc = run([str(advisor), "catalog", "models", "--format", "json"], cwd=outside)
    models = json.loads(proc.stdout)
    assert len(models) >= 40 and all(m["source"].startswith("http") for m in models)


@pytest.mark.slow
def test_example_plugin_discovered_through_entry_point(installed: tuple[Path, Path]) -> None:
    advisor, work = installed
    rows = {r["name"]: r for r in json.loads(run([str(advisor), "plugins", "--format", "json"], cwd=work).stdout)}
    assert rows["acme"]["origin"] == "entrypoint" and rows["acme"]["version"] == "0.1.0"
    assert rows["acme"]["error"] is None
    assert set(rows["acme"]["hooks"]) == {"advisor_register_checks", "advisor_strategy_signals"}
    checks = json.loads(run([str(advisor), "checks", "--format", "json"], cwd=work).stdout)
    assert any(c["id"] == "ACME100" and c["plugin"] == "acme" for c in checks)


def test_every_package_is_listed_in_pyproject() -> None:
    """A sub-package missing from [tool.setuptools] packages would be missing from the wheel."""
    import tomllib

    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "advisor").rglob("__init__.py")}
    assert found <= listed, found - listed

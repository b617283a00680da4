"""The layout keeps its promises: no import cycles (typing-only imports included), every imported
third-party package declared, and every command's help coming from its own docstring."""

from __future__ import annotations

import ast
import importlib
import importlib.metadata
import inspect
import re
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

import click
import pytest

from advisor.cli import COMMANDS, docstring
from tests.conftest import ROOT

#: Import names of optional packages that may not be installed here, with their distribution's name.
NOT_INSTALLED_HERE = {"pynvml": "nvidia-ml-py"}

PACKAGES = {"advisor": ROOT / "advisor", "advisor_plugins": ROOT / "plugins", "advisor_catalog": ROOT / "catalog"}


def _modules() -> dict[str, Path]:
    found = {}
    for package, root in PACKAGES.items():
        for path in root.rglob("*.py"):
            parts = [package, *(p for p in path.relative_to(root).with_suffix("").parts if p != "__init__")]
            found[".".join(parts)] = path
    return found


def _imports(module: str, path: Path) -> Iterator[str]:
    """Every module named by an import statement, at any depth (``if TYPE_CHECKING:`` and function bodies too)."""
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package[: len(package) - node.level + 1] + ([node.module] if node.module else []))
            yield base
            yield from (f"{base}.{alias.name}" for alias in node.names)


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    graph: dict[str, set[str]] = {}
    for module, path in modules.items():
        deps = {name for name in _imports(module, path) if name in modules and name != module}
        # importing a package's own __init__ from inside it is the classic cycle; anything else counts too
        graph[module] = deps
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for dep in sorted(graph[node]):
            if dep not in index:
                visit(dep)
                low[node] = min(low[node], low[dep])
            elif dep in on_stack:
                low[node] = min(low[node], index[dep])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_import_cycles_typing_imports_included() -> None:
    assert _cycles(_graph()) == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_hookspecs_import_only_pluggy_at_run_time() -> None:
    tree = ast.parse((ROOT / "advisor" / "hookspecs.py").read_text(encoding="utf-8"))
    runtime = [
        node
        for node in tree.body
        if isinstance(node, ast.Import | ast.ImportFrom)
        and not (isinstance(node, ast.ImportFrom) and node.module in {"__future__", "typing"})
    ]
    assert [ast.unparse(node) for node in runtime] == ["import pluggy"]


def _declared() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    requirements = list(project["dependencies"])
    for extra in project.get("optional-dependencies", {}).values():
        requirements += extra
    return {re.split(r"[<>=!~\[; ]", r, maxsplit=1)[0].lower().replace("_", "-") for r in requirements}


def test_every_imported_third_party_package_is_declared() -> None:
    distributions = importlib.metadata.packages_distributions()
    own = set(PACKAGES)
    missing = {}
    for module, path in _modules().items():
        for name in _imports(module, path):
            top = name.split(".")[0]
            if not top or top in own or top in sys.stdlib_module_names:
                continue
            names = distributions.get(top) or [NOT_INSTALLED_HERE.get(top, top)]
            dists = {d.lower().replace("_", "-") for d in names}
            if not dists & _declared():
                missing.setdefault(top, module)
    assert missing == {}, f"imported but not declared in pyproject.toml: {missing}"


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_command_list_shows_each_commands_own_docstring(name: str) -> None:
    module, attribute = COMMANDS[name]
    command = getattr(importlib.import_module(module), attribute)
    assert isinstance(command, click.Command)
    assert command.help is not None
    assert docstring(name) == inspect.cleandoc(command.help)


def test_every_command_module_is_registered() -> None:
    modules = {p.stem for p in (ROOT / "advisor" / "cli").glob("*.py")} - {"__init__", "options"}
    assert modules == {module.rsplit(".", 1)[1] for module, _ in COMMANDS.values()}

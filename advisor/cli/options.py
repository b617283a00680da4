"""What the commands share: plugin and selection options, the engine session, output helpers.

Kept apart from the commands that use them (like datasette's ``publish/common.py``) so that every
command module imports this one and nothing imports a command.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

import click

if TYPE_CHECKING:
    from advisor.engine.session import Session
    from advisor.model.plan import Plan

F = TypeVar("F", bound=Callable[..., Any])


def _split_ids(values: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(part.strip().upper() for v in values for part in v.split(",") if part.strip())


@dataclass(frozen=True)
class SessionOptions:
    """The plugin and check-selection options of one command run, as one value.

    :meth:`session` loads the plugins only when the command asks, so that bad answers are reported
    before any plugin is imported.
    """

    plugins: tuple[str, ...] = ()
    strict_plugins: bool = False
    plugin_timeout: float | None = None
    catalog_dir: Path | None = None
    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()

    def session(self) -> Session:
        """Load the plugins: the engine session these options describe."""
        from advisor.engine.guard import PluginLimits
        from advisor.engine.host import PluginHost, strict_from_env
        from advisor.engine.session import Session

        limits = PluginLimits.resolve(call_s=self.plugin_timeout)
        strict = self.strict_plugins or strict_from_env()
        host = PluginHost(strict=strict, limits=limits, on_error=warn_once).load(extra=self.plugins)
        return Session(
            host=host, catalog_dir=self.catalog_dir, select=_split_ids(self.select), ignore=_split_ids(self.ignore)
        )

    def as_arguments(self) -> list[str]:
        """The options as command-line words, to repeat in a command printed for the user."""
        words: list[str] = []
        for plugin in self.plugins:
            words += ["--plugin", plugin]
        if self.strict_plugins:
            words.append("--strict-plugins")
        if self.plugin_timeout is not None:
            words += ["--plugin-timeout", f"{self.plugin_timeout:g}"]
        if self.catalog_dir is not None:
            words += ["--catalog-dir", str(self.catalog_dir)]
        for value in self.select:
            words += ["--select", value]
        for value in self.ignore:
            words += ["--ignore", value]
        return words


_PLUGIN_OPTIONS = (
    click.option(
        "--plugin",
        "plugins",
        multiple=True,
        metavar="PATH_OR_MODULE",
        help="Load a plugin from a .py file, a directory of them, or a module (repeatable).",
    ),
    click.option(
        "--strict-plugins",
        is_flag=True,
        default=False,
        help="Fail when any plugin fails to import, register or run (ADVISOR_STRICT_PLUGINS=1).",
    ),
    click.option(
        "--plugin-timeout",
        type=click.FloatRange(min=0, max=86400),
        default=None,
        metavar="SECONDS",
        help="Time limit for each plugin call, e.g. one check on one candidate (default 10; 0: none; "
        "ADVISOR_PLUGIN_TIMEOUT). Loading a plugin: ADVISOR_PLUGIN_LOAD_TIMEOUT (default 20).",
    ),
    click.option(
        "--catalog-dir",
        type=click.Path(path_type=Path),
        default=None,
        help="Overlay catalog records from YAML/JSON files in this directory (same id overrides).",
    ),
)
_SELECTION_OPTIONS = (
    click.option("--select", multiple=True, metavar="IDS", help="Run only checks by id or prefix, e.g. HW,LIC."),
    click.option("--ignore", multiple=True, metavar="IDS", help="Skip checks by id or prefix, e.g. COST,LIC002."),
)


def session_options(*, selection: bool = False) -> Callable[[F], F]:
    """Give a command the plugin options (and, with ``selection``, ``--select``/``--ignore``).

    The command receives them as one ``options`` argument, a :class:`SessionOptions`.
    """

    def decorate(func: F) -> F:
        @functools.wraps(func)
        def command(*args: Any, **kwargs: Any) -> Any:
            given = {name: kwargs.pop(name) for name in SessionOptions.__dataclass_fields__ if name in kwargs}
            return func(*args, options=SessionOptions(**given), **kwargs)

        decorated: Any = command
        for option in reversed((*_PLUGIN_OPTIONS, *(_SELECTION_OPTIONS if selection else ()))):
            decorated = option(decorated)
        return cast(F, decorated)

    return decorate


_WARNED: set[str] = set()


def warn_once(message: str) -> None:
    """``advisor: warning: MESSAGE`` on stderr, once per process (a command may build two sessions)."""
    if message not in _WARNED:
        _WARNED.add(message)
        click.echo(f"advisor: warning: {message}", err=True)


def emit(text: str, out: Path | None = None) -> None:
    """Write to ``--out`` (a regular file, atomically: :mod:`advisor.files.output`) or stdout."""
    if out is not None:
        from advisor.files.output import write_output

        write_output(out, text, option="--out")
        click.echo(f"wrote {out}", err=True)
    else:
        click.echo(text, nl=not text.endswith("\n"))


def render_plan(plan: Plan, fmt: str, out: Path | None) -> None:
    if fmt == "json":
        from advisor.report.json_report import json_text, plan_to_json

        emit(json_text(plan_to_json(plan)) + "\n", out)
    elif fmt == "html":
        from advisor.report.html import plan_to_html

        emit(plan_to_html(plan, cost_summary_for(plan)), out)
    else:
        from advisor.report.markdown import plan_to_markdown

        text = plan_to_markdown(plan)
        if out is None and sys.stdout.isatty():
            from rich.console import Console
            from rich.markdown import Markdown

            Console().print(Markdown(text))
        else:
            emit(text, out)


def cost_summary_for(plan: Plan) -> dict[str, Any] | None:
    """``advisor cost``'s summary of a plan (for the HTML report's break-even chart)."""
    from advisor.engine.economics import cost_summary
    from advisor.estimate.cost_constants import cost_settings
    from advisor.model.requirements import Requirements

    requirements = Requirements.model_validate(plan.requirements)
    return cost_summary(plan, requirements, cost_settings(requirements.plugins))


def report(plan: Plan, fmt: str, out: Path | None) -> None:
    """Render the plan; exit 1 when no candidate is acceptable (the contract's exit code)."""
    render_plan(plan, fmt, out)
    if not plan.ranked:
        sys.exit(1)


TABLE_WIDTH = 100  # terminal tables fit 100 columns (issue 14): long cells wrap inside their column
_BREAKS = " /-_,"
HEADER_MIN = 8  # a header longer than its column's values wraps (context_length over 131072)


def print_table(rows: list[dict[str, Any]], columns: list[str], width: int = TABLE_WIDTH) -> None:
    """A plain aligned table (rich on a TTY would wrap long ids; plain text greps well), at most ``width``
    characters a line: the widest columns narrow first and their cells wrap onto continuation lines. A
    table with too many columns for that prints in blocks, each repeating the first (key) column."""
    for index, block in enumerate(column_blocks(columns, width)):
        if index:
            click.echo("")
        _print_block(rows, block, width)


def column_blocks(columns: list[str], width: int) -> list[list[str]]:
    """Columns in blocks of at most ``width`` characters at 6 characters a column, the first in each."""
    per_block = max(2, (width + 2) // (6 + 2))
    if len(columns) <= per_block:
        return [columns]
    key, rest = columns[0], columns[1:]
    step = per_block - 1
    return [[key, *rest[i : i + step]] for i in range(0, len(rest), step)]


def _print_block(rows: list[dict[str, Any]], columns: list[str], width: int) -> None:
    cells = [[_cell(row.get(c)) for c in columns] for row in rows]
    header = [c if len(c) <= HEADER_MIN else c[:HEADER_MIN] for c in columns]  # long headers may wrap
    widths = column_widths([header, *cells], width, columns)
    for line in _wrapped_row(columns, widths):
        click.echo(line)
    click.echo("  ".join("-" * w for w in widths))
    for row in cells:
        for line in _wrapped_row(row, widths):
            click.echo(line)


def column_widths(table: list[list[str]], width: int, headers: list[str] | None = None) -> list[int]:
    """Natural widths, then the widest column loses a character at a time until the line fits: first
    down to its longest word (up to 16 characters, so words stay whole), then down to 6 characters (a
    table with very many columns may stay wider)."""
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))] if table else []
    rows = [*table, headers] if headers else table  # a header's words stay whole too ("tokens", not "toke")
    words = [min(16, 1 + max(len(w) for row in rows for w in row[i].split() or [""])) for i in range(len(widths))]
    budget = width - 2 * (len(widths) - 1)
    for floors in (words, [6] * len(widths)):
        while sum(widths) > budget:
            shrinkable = [i for i, w in enumerate(widths) if w > floors[i]]
            if not shrinkable:
                break
            widest = max(shrinkable, key=widths.__getitem__)
            widths[widest] -= 1
    return widths


def _wrapped_row(row: list[str], widths: list[int]) -> list[str]:
    pieces = [_wrap(cell, w) for cell, w in zip(row, widths, strict=True)]
    height = max((len(p) for p in pieces), default=1)
    return [
        "  ".join((p[i] if i < len(p) else "").ljust(w) for p, w in zip(pieces, widths, strict=True)).rstrip()
        for i in range(height)
    ]


def _wrap(text: str, width: int) -> list[str]:
    """Split after the last space, slash, hyphen, underscore or comma that fits; else cut. Continuation
    pieces start with a space, so a wrapped row never looks like a new one (its first column included)."""
    lines = []
    limit = width
    while len(text) > limit:
        cut = max((text.rfind(ch, 1, limit) for ch in _BREAKS), default=-1)
        cut = cut + 1 if cut >= 0 else limit
        lines.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
        limit = width - 1
    return [lines[0], *(f" {line}" for line in [*lines[1:], text])] if lines else [text]


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


@contextmanager
def errors_as_lines() -> Iterator[None]:
    from advisor.errors import AdvisorError

    try:
        yield
    except AdvisorError as exc:
        click.echo(f"advisor: error: {exc}", err=True)
        sys.exit(exc.exit_code)

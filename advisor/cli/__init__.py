"""The ``advisor`` command line (DESIGN.md §4 contract).

Start-up stays light: commands import the engine, catalog and reports only when they run, so
``advisor --help`` costs little more than importing click.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    from advisor.model.context import AdvisorContext
    from advisor.model.plan import Plan

F = TypeVar("F", bound=Callable[..., Any])

KIND_CHOICES = ("models", "apis", "hardware", "licenses", "quants")


def _split_ids(values: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(part.strip().upper() for v in values for part in v.split(",") if part.strip())


def plugin_options(func: F) -> F:
    """The options every command that loads plugins shares."""
    options = [
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
            "--catalog-dir",
            type=click.Path(path_type=Path),
            default=None,
            help="Overlay catalog records from YAML/JSON files in this directory (same id overrides).",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def selection_options(func: F) -> F:
    func = click.option(
        "--ignore", multiple=True, metavar="IDS", help="Skip checks by id or prefix, e.g. COST,LIC002."
    )(func)
    func = click.option("--select", multiple=True, metavar="IDS", help="Run only checks by id or prefix, e.g. HW,LIC.")(
        func
    )
    return func


def make_context(
    plugins: tuple[str, ...] = (),
    strict_plugins: bool = False,
    catalog_dir: Path | None = None,
    select: tuple[str, ...] = (),
    ignore: tuple[str, ...] = (),
) -> AdvisorContext:
    from advisor.model.context import AdvisorContext
    from advisor.engine.host import PluginHost, strict_from_env

    host = PluginHost(strict=strict_plugins or strict_from_env()).load(extra=plugins)
    return AdvisorContext(host=host, catalog_dir=catalog_dir, select=_split_ids(select), ignore=_split_ids(ignore))


def emit(text: str, out: Path | None = None) -> None:
    """Write to ``--out`` or stdout."""
    if out is not None:
        try:
            out.write_text(text, encoding="utf-8")
        except OSError as exc:
            from advisor.errors import InputError

            raise InputError(f"--out {out}: cannot write: {exc}") from None
        click.echo(f"wrote {out}", err=True)
    else:
        click.echo(text, nl=not text.endswith("\n"))


def render_plan(plan: Plan, fmt: str, out: Path | None) -> None:
    if fmt == "json":
        from advisor.report.json_report import plan_to_json

        emit(json.dumps(plan_to_json(plan), indent=2, ensure_ascii=False) + "\n", out)
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
    from advisor.cli.cost import cost_summary
    from advisor.estimate.cost_constants import cost_settings
    from advisor.model.requirements import Requirements

    requirements = Requirements.model_validate(plan.requirements)
    return cost_summary(plan, requirements, cost_settings(requirements.plugins))


def report(plan: Plan, fmt: str, out: Path | None) -> None:
    """Render the plan; exit 1 when no candidate is acceptable (the contract's exit code)."""
    render_plan(plan, fmt, out)
    if not plan.ranked:
        sys.exit(1)


def print_table(rows: list[dict[str, Any]], columns: list[str]) -> None:
    """A plain aligned table (rich on a TTY would wrap long ids; plain text greps well)."""
    widths = {c: max(len(c), *(len(_cell(r.get(c))) for r in rows)) if rows else len(c) for c in columns}
    click.echo("  ".join(c.ljust(widths[c]) for c in columns).rstrip())
    click.echo("  ".join("-" * widths[c] for c in columns))
    for row in rows:
        click.echo("  ".join(_cell(row.get(c)).ljust(widths[c]) for c in columns).rstrip())


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


#: Commands defined in their own modules: name -> (module, attribute, one-line help).
LAZY_COMMANDS: dict[str, tuple[str, str, str]] = {
    "ask": ("advisor.cli.ask", "ask", "Answer the questionnaire interactively, then get the plan."),
    "cost": ("advisor.cli.cost", "cost", "Monthly and total cost per strategy, with break-even."),
    "fit": ("advisor.cli.fit", "fit", "Memory footprint, fit and speed of a model on hardware."),
    "hub": ("advisor.cli.hub", "hub", "Search the Hugging Face Hub for candidate models."),
    "licenses": ("advisor.cli.licenses", "licenses", "Show what each model licence allows."),
    "quality": ("advisor.cli.quality", "quality", "Fitted capability boundaries and model quality."),
    "smoke": ("advisor.cli.smoke", "smoke", "Run a GGUF through llama.cpp and measure it against the plan."),
}


class LazyGroup(click.Group):
    """A click group whose listed commands are imported only when run (or asked for help).

    A command whose module is not there (a capability not installed yet) is simply not listed.
    """

    def list_commands(self, ctx: click.Context) -> list[str]:
        present = [name for name, (module, _, _) in LAZY_COMMANDS.items() if _module_exists(module)]
        return sorted([*super().list_commands(ctx), *present])

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in LAZY_COMMANDS and cmd_name not in self.commands:
            module_name, attribute, _ = LAZY_COMMANDS[cmd_name]
            if not _module_exists(module_name):
                return None
            import importlib

            command = getattr(importlib.import_module(module_name), attribute)
            if not isinstance(command, click.Command):
                raise TypeError(f"{module_name}.{attribute} is not a click command")
            return command
        return super().get_command(ctx, cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """List lazy commands with their registered one-line help, without importing them."""
        rows = []
        for name in self.list_commands(ctx):
            if name in LAZY_COMMANDS:
                rows.append((name, LAZY_COMMANDS[name][2]))
            else:
                command = self.commands[name]
                rows.append((name, command.get_short_help_str(limit=formatter.width - 6 - len(name))))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


def _module_exists(name: str) -> bool:
    import importlib.util

    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:
        return False


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="model-advisor", prog_name="advisor")
def cli() -> None:
    """Which LLM to use and how to run it: an API, open weights, or building your own."""


@cli.command()
@click.option("--answers", type=click.Path(path_type=Path), required=True, help="Answers file (YAML or JSON).")
@click.option("--format", "fmt", type=click.Choice(["md", "json", "html"]), default="md", show_default=True)
@click.option("--out", type=click.Path(path_type=Path), default=None, help="Write the report to this file.")
@click.option(
    "--hub",
    "hub_count",
    type=click.IntRange(min=0),
    default=0,
    metavar="N",
    help="Also assess the top N matching models from the Hugging Face Hub.",
)
@click.option("--offline", is_flag=True, help="Use only the local Hub cache (HF_HUB_OFFLINE=1).")
@plugin_options
@selection_options
def plan(
    answers: Path,
    fmt: str,
    out: Path | None,
    hub_count: int,
    offline: bool,
    plugins: tuple[str, ...],
    strict_plugins: bool,
    catalog_dir: Path | None,
    select: tuple[str, ...],
    ignore: tuple[str, ...],
) -> None:
    """Assess every catalog candidate against the answers and recommend a road and a model."""
    from advisor.engine.run import run_plan
    from advisor.model.requirements import load_requirements

    requirements = load_requirements(answers)
    context = make_context(plugins, strict_plugins, catalog_dir, select, ignore)
    if hub_count:
        from advisor.hub import hub_models_for_requirements

        def skipped(repo: str, why: str) -> None:
            click.echo(f"advisor: warning: skipped {repo}: {why}", err=True)

        models = hub_models_for_requirements(requirements, hub_count, offline=offline, on_skip=skipped)
        known = context.catalog.models
        context.catalog.add("models", [m.record for m in models if m.repo_id not in known], "hub")
    report(run_plan(requirements, context), fmt, out)


@cli.command()
@click.argument("model")
@click.option("--answers", type=click.Path(path_type=Path), required=True, help="Answers file (YAML or JSON).")
@click.option("--quant", default=None, help="Assess only this weight format (e.g. Q4_K_M).")
@click.option("--hardware", default=None, help="Hardware catalog id to run it on (overrides the answers).")
@click.option("--format", "fmt", type=click.Choice(["md", "json"]), default="md", show_default=True)
@click.option("--offline", is_flag=True, help="Use only the local Hub cache for a Hub repo id.")
@plugin_options
@selection_options
def check(
    model: str,
    answers: Path,
    quant: str | None,
    hardware: str | None,
    fmt: str,
    offline: bool,
    plugins: tuple[str, ...],
    strict_plugins: bool,
    catalog_dir: Path | None,
    select: tuple[str, ...],
    ignore: tuple[str, ...],
) -> None:
    """Assess one model (catalog id or Hub repo) against the answers; exit 1 when no variant is acceptable."""
    from advisor.catalog.loader import require_quant
    from advisor.engine.run import run_plan
    from advisor.errors import InputError
    from advisor.model.requirements import HardwareItem, load_requirements
    from advisor.engine.variants import build_candidates

    requirements = load_requirements(answers)
    if hardware is not None:
        requirements = requirements.model_copy(update={"hardware": [HardwareItem(gpu=hardware)]})
    context = make_context(plugins, strict_plugins, catalog_dir, select, ignore)
    catalog = context.catalog
    if hardware is not None and catalog.find_hardware(hardware) is None:
        raise InputError(f"--hardware {hardware}: not in the hardware catalog (see `advisor catalog hardware`)")
    if quant is not None:
        require_quant(catalog, quant)
    if model not in catalog.models and model not in catalog.apis:
        from advisor.hub import is_hub_repo_id, model_record_for

        if is_hub_repo_id(model):
            catalog.add("models", [model_record_for(model, offline=offline)], "hub")
    if model not in catalog.models and model not in catalog.apis:
        raise InputError(f"MODEL {model}: not in the catalog (see `advisor catalog models` and `advisor catalog apis`)")
    pool = [c for c in build_candidates(requirements, catalog) if c.id == model]
    if quant is not None:
        pool = [c.model_copy(update={"quant": quant.upper()}) for c in pool if c.kind == "open_source"][:1] or pool
        pool = list({c.key: c for c in pool}.values())
    report(run_plan(requirements, context, candidates=pool), fmt, None)


@cli.command(name="catalog")
@click.argument("kind", type=click.Choice(KIND_CHOICES))
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@plugin_options
def catalog_command(
    kind: str, fmt: str, plugins: tuple[str, ...], strict_plugins: bool, catalog_dir: Path | None
) -> None:
    """List the catalog's models, APIs, hardware, licences or weight formats."""
    context = make_context(plugins, strict_plugins, catalog_dir)
    catalog = context.catalog
    records = [catalog.records[kind][k] for k in sorted(catalog.records[kind])]
    rows = [r.model_dump(mode="json") for r in records]
    if fmt == "json":
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    columns = {
        "models": ["id", "params", "license", "context_length", "languages"],
        "apis": ["id", "provider", "input_usd_per_1m", "output_usd_per_1m", "context_window"],
        "hardware": ["id", "kind", "memory_gib", "bandwidth_gb_s", "fp16_tflops"],
        "licenses": ["id", "commercial_use", "monthly_active_user_cap", "name"],
        "quants": ["id", "format", "bits_per_weight", "base_type"],
    }[kind]
    print_table(rows, columns)


@cli.command(name="plugins")
@click.option("--all", "show_all", is_flag=True, help="Include the built-in plugins.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.option("--plugin", "plugins", multiple=True, metavar="PATH_OR_MODULE", help="Also load this plugin.")
def plugins_command(show_all: bool, fmt: str, plugins: tuple[str, ...]) -> None:
    """List plugins with origin, version, hooks and load errors (works when a plugin is broken)."""
    from advisor.engine.host import PluginHost

    host = PluginHost(strict=False).load(extra=plugins)
    rows = [info.as_dict() for info in host.plugin_infos(include_builtin=show_all)]
    if fmt == "json":
        click.echo(json.dumps(rows, indent=2))
    else:
        print_table(rows, ["name", "origin", "version", "hooks", "error"])


@cli.command(name="checks")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.option("--plugin", "plugins", multiple=True, metavar="PATH_OR_MODULE", help="Also load this plugin.")
def checks_command(fmt: str, plugins: tuple[str, ...]) -> None:
    """List every registered check with its id, category and plugin (works when a plugin is broken)."""
    from advisor.model.context import AdvisorContext
    from advisor.engine.host import PluginHost

    host = PluginHost(strict=False).load(extra=plugins)
    context = AdvisorContext(host=host)
    rows = [
        {
            "id": rc.check.id,
            "category": rc.check.category,
            "plugin": rc.plugin,
            "summary": rc.check.summary,
            "kinds": list(rc.check.kinds),
        }
        for rc in context.checks
    ]
    if fmt == "json":
        click.echo(json.dumps(rows, indent=2))
    else:
        print_table(rows, ["id", "category", "plugin", "summary"])
    for error in host.errors:
        click.echo(f"advisor: warning: {error}", err=True)


@contextmanager
def _errors_as_lines() -> Iterator[None]:
    from advisor.errors import AdvisorError

    try:
        yield
    except AdvisorError as exc:
        click.echo(f"advisor: error: {exc}", err=True)
        sys.exit(exc.exit_code)


def main(argv: list[str] | None = None) -> None:
    """Console entry point: user errors become one line and an exit code; internal errors too
    unless ``ADVISOR_DEBUG=1`` asks for the traceback."""
    try:
        with _errors_as_lines():
            cli.main(args=argv, prog_name="advisor", standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(2 if isinstance(exc, click.UsageError) else exc.exit_code)
    except click.exceptions.Abort:
        click.echo("advisor: aborted", err=True)
        sys.exit(130)
    except KeyboardInterrupt:
        click.echo("advisor: interrupted", err=True)
        sys.exit(130)
    except SystemExit:
        raise
    except Exception as exc:
        if os.environ.get("ADVISOR_DEBUG"):
            raise
        click.echo(
            f"advisor: internal error: {type(exc).__name__}: {exc} (set ADVISOR_DEBUG=1 for the traceback)", err=True
        )
        sys.exit(70)

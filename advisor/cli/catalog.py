"""``advisor catalog KIND``: the merged catalog's records of one kind, with their age;
``advisor catalog update``: refresh them from the Hub and the price table into the user's overlay."""

from __future__ import annotations

import datetime as dt
import json
import sys
from collections.abc import Callable
from typing import Any

import click

from advisor.catalog.kinds import CATALOG_KINDS
from advisor.cli.hub import parse_param_count
from advisor.cli.options import SessionOptions, print_table, session_options

_COLUMNS = {
    "models": ["id", "params", "license", "context_length", "languages", "checked", "age"],
    "apis": ["id", "provider", "input_usd_per_1m", "output_usd_per_1m", "context_window", "checked", "age"],
    "hardware": ["id", "kind", "memory_gib", "bandwidth_gb_s", "fp16_tflops"],
    "licenses": ["id", "commercial_use", "monthly_active_user_cap", "name"],
    "quants": ["id", "format", "bits_per_weight", "base_type"],
}


@click.group(name="catalog")
def catalog_command() -> None:
    """List the catalog's models, APIs, hardware, licences or weight formats; `update` refreshes it."""


def _list_kind(kind: str, fmt: str, options: SessionOptions) -> None:
    catalog = options.session().catalog
    today = dt.date.today()
    rows: list[dict[str, Any]] = []
    for record_id in sorted(catalog.records[kind]):
        row = catalog.records[kind][record_id].model_dump(mode="json")
        checked = catalog.last_checked(kind, record_id)
        row["last_checked"] = checked.isoformat() if checked else None
        row["age_days"] = (today - checked).days if checked else None
        gone = catalog.missing.get((kind, record_id))
        row["missing_upstream_since"] = gone.isoformat() if gone else None
        rows.append(row)
    if fmt == "json":
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    for row in rows:
        row["checked"] = row["last_checked"]
        age = f"{row['age_days']} d" if row["age_days"] is not None else None
        row["age"] = f"{age} (gone upstream)" if row["missing_upstream_since"] and age else age
    print_table(rows, _COLUMNS[kind])


def _kind_command(kind: str) -> click.Command:
    @click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
    @session_options()
    def command(fmt: str, options: SessionOptions) -> None:
        _list_kind(kind, fmt, options)

    age = " with each record's age (since its source date or last update check)" if kind in ("models", "apis") else ""
    return click.command(name=kind, help=f"List the catalog's {kind}{age}.")(command)


for _kind in CATALOG_KINDS:
    catalog_command.add_command(_kind_command(_kind))


def _search_filter(value: str | None) -> Any:
    """``--search license=apache-2.0,language=ru,max-params=8B,limit=5`` as a SearchFilter."""
    from advisor.catalog.update import SearchFilter

    if value is None:
        return None
    given: dict[str, Any] = {}
    for part in (p.strip() for p in value.split(",") if p.strip()):
        key, sep, text = part.partition("=")
        key = key.strip().lower().replace("-", "_")
        if not sep or not text.strip():
            raise click.BadParameter(f"{part!r}: expected KEY=VALUE", param_hint="--search")
        text = text.strip()
        if key in ("license", "language", "task"):
            given[key] = text
        elif key == "max_params":
            given[key] = parse_param_count(None, None, text)
        elif key == "limit":
            if not text.isdigit() or not 1 <= int(text) <= 200:
                raise click.BadParameter(f"limit={text}: expected a whole number 1..200", param_hint="--search")
            given[key] = int(text)
        else:
            raise click.BadParameter(
                f"{key!r}: expected one of license, language, task, max-params, limit", param_hint="--search"
            )
    return SearchFilter(**given)


def _show(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else value
    return text if len(text) <= 100 else text[:97] + "..."


@catalog_command.command(name="update")
@click.option("--dry-run", is_flag=True, help="Show the diff only; write nothing.")
@click.option(
    "--only",
    type=click.Choice(["models", "apis"]),
    default=None,
    help="Refresh only the models (from the Hub) or only the API prices (from the price table).",
)
@click.option(
    "--search",
    "search",
    default=None,
    metavar="FILTER",
    help="Also add Hub models the catalog lacks: comma-separated license=, language=, task=, max-params=, limit= "
    "(e.g. license=apache-2.0,max-params=8B,limit=5).",
)
@click.option("--prices-url", default=None, help="The price table to read (default: $ADVISOR_PRICES_URL or LiteLLM's).")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@session_options()
def update(
    dry_run: bool, only: str | None, search: str | None, prices_url: str | None, fmt: str, options: SessionOptions
) -> None:
    """Refresh the catalog from the Hugging Face Hub and the price table into the user's overlay, with a dated diff."""
    from advisor.catalog.overlay import overlay_path, write_overlay
    from advisor.catalog.update import update_catalog
    from advisor.errors import EnvironmentProblem

    search_filter = _search_filter(search)
    catalog = options.session().catalog
    kinds = (only,) if only else ("models", "apis")

    def show_progress(record_id: str) -> None:
        click.echo(f"\r\033[Kchecking {record_id} on the Hub", nl=False, err=True)

    progress: Callable[[str], None] | None = show_progress if sys.stderr.isatty() else None

    result = update_catalog(
        catalog,
        today=dt.date.today(),
        kinds=kinds,
        search=search_filter,
        price_table_url=prices_url,
        on_progress=progress,
    )
    if progress is not None:
        click.echo("\r\033[K", nl=False, err=True)
    for note in result.notes:
        click.echo(f"advisor: warning: {note}", err=True)
    path = overlay_path()
    if not dry_run:
        try:
            write_overlay(result.overlay, path)
        except OSError as exc:
            raise EnvironmentProblem(f"catalog update: cannot write the overlay {path}: {exc}") from None
    if fmt == "json":
        data = result.to_json()
        data["overlay"] = None if dry_run else str(path)
        data["dry_run"] = dry_run
        click.echo(json.dumps(data, indent=2, ensure_ascii=False))
        return
    click.echo(
        f"catalog update {result.as_of.isoformat()}: checked {result.checked} records against "
        f"{', '.join(result.sources) or 'nothing'}"
    )
    click.echo(f"changed: {len(result.changed)}")
    for change in result.changed:
        click.echo(f"  ~ {change.id}  {change.field}: {_show(change.old)} -> {_show(change.new)}")
    click.echo(f"added: {len(result.added)}")
    for record_id in result.added:
        click.echo(f"  + {record_id}")
    click.echo(f"missing upstream (kept, flagged): {len(result.missing)}")
    for record_id in result.missing:
        click.echo(f"  - {record_id}")
    if dry_run:
        click.echo("dry run: nothing written")
    else:
        click.echo(f"wrote {path} (remove it to return to the shipped catalog)")

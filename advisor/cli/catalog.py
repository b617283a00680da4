"""``advisor catalog KIND``: list the merged catalog's records of one kind."""

from __future__ import annotations

import json

import click

from advisor.catalog.kinds import CATALOG_KINDS
from advisor.cli.options import SessionOptions, print_table, session_options


@click.command(name="catalog")
@click.argument("kind", type=click.Choice(CATALOG_KINDS))
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@session_options()
def catalog_command(kind: str, fmt: str, options: SessionOptions) -> None:
    """List the catalog's models, APIs, hardware, licences or weight formats."""
    catalog = options.session().catalog
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

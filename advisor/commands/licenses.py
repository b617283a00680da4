"""``advisor licenses [ID]``: the licence knowledge base (deepened by the licence issue)."""

from __future__ import annotations

import json

import click

from advisor.cli import make_context, print_table


@click.command(name="licenses")
@click.argument("license_id", required=False)
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
def licenses(license_id: str | None, fmt: str) -> None:
    """Show what each model licence allows (or one licence in full)."""
    from advisor.errors import InputError

    catalog = make_context().catalog
    if license_id is not None:
        record = catalog.find_license(license_id)
        if record is None:
            raise InputError(f"LICENSE {license_id}: not in the licence catalog (see `advisor licenses`)")
        records = [record]
    else:
        records = [catalog.licenses[k] for k in sorted(catalog.licenses)]
    rows = [r.model_dump(mode="json") for r in records]
    if fmt == "json":
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
    elif license_id is not None:
        for key, value in rows[0].items():
            if value not in (None, [], ""):
                click.echo(f"{key:28} {value}")
    else:
        print_table(rows, ["id", "commercial_use", "monthly_active_user_cap", "saas_hosting", "name"])

"""``advisor licenses [ID]``: the licence knowledge base, one licence in full, or a model's licence lineage.

ID is a licence id or alias (``llama3.1``, ``apache-2.0``, ``mistral-research-license``) or a catalog model
id; for a model the command shows the licence of the model and of each base model up its ``base_model``
chain, because a fine-tune carries its base model's duties. The checks that apply these terms to a plan
are LIC001-LIC008 (plugins/license.py); this command shows the data they read, with the clauses. Both
build the lineage with ``advisor.engine.licensing``.
"""

from __future__ import annotations

import json
import textwrap
from typing import TYPE_CHECKING, Any

import click

from advisor.cli.options import SessionOptions, print_table, session_options
from advisor.engine.licensing import Lineage, licence_lineage

if TYPE_CHECKING:
    from advisor.catalog.loader import Catalog
    from advisor.catalog.records import ClauseTopic, LicenseRecord

WIDTH = 100
LABEL_WIDTH = 20


@click.command(name="licenses")
@click.argument("license_id", metavar="[ID]", required=False)
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@session_options()
def licenses(license_id: str | None, fmt: str, options: SessionOptions) -> None:
    """Show what each model licence allows, one licence in full, or a model's licence lineage.

    ID is a licence id or alias (llama3.1, apache-2.0, mrl) or a catalog model id.
    """
    from advisor.errors import InputError

    catalog = options.session().catalog
    if license_id is None:
        records = [catalog.licenses[k] for k in sorted(catalog.licenses)]
        if fmt == "json":
            click.echo(json.dumps([r.model_dump(mode="json") for r in records], indent=2, ensure_ascii=False))
        else:
            rows = [_table_row(r) for r in records]
            print_table(rows, ["id", "commercial", "mau_cap", "hosting", "regions", "duties", "name"])
        return
    record = catalog.find_license(license_id)
    if record is not None:
        if fmt == "json":
            click.echo(json.dumps([record.model_dump(mode="json")], indent=2, ensure_ascii=False))
        else:
            click.echo(describe(record))
        return
    if license_id in catalog.models:
        if fmt == "json":
            chain = model_lineage(catalog, license_id)
            click.echo(json.dumps({"model": license_id, "lineage": chain}, indent=2, ensure_ascii=False))
        else:
            click.echo(describe_lineage(catalog_lineage(catalog, license_id)))
        return
    raise InputError(
        f"ID {license_id}: neither a licence nor a catalog model (see `advisor licenses` and `advisor catalog models`)"
    )


def _table_row(record: LicenseRecord) -> dict[str, Any]:
    duties = [
        name
        for name, present in (
            ("notice", bool(record.required_notices)),
            ("naming", "naming" in record.clauses),
            ("flow-down", record.flow_down),
            ("outputs", record.output_training_restriction is not None),
            ("aup", bool(record.use_restrictions)),
        )
        if present
    ]
    regions = ",".join(record.regional_exclusions)
    if regions and record.regional_exclusion_scope == "multimodal_models":
        regions += " (multimodal)"
    commercial = record.commercial_use if record.permitted_use == "any" else f"no ({record.permitted_use})"
    return {
        "id": record.id,
        "commercial": commercial,
        "mau_cap": f"{record.monthly_active_user_cap:,}" if record.monthly_active_user_cap else None,
        "hosting": record.saas_hosting + (" + flow-down" if record.flow_down else ""),
        "regions": regions or None,
        "duties": ",".join(duties) or None,
        "name": record.name,
    }


def _wrap(label: str, text: str) -> list[str]:
    """One labelled paragraph, wrapped under a label column; a long label gets a line of its own."""
    indent = " " * (LABEL_WIDTH + 2)
    head = f"  {label:<{LABEL_WIDTH}}" if len(label) < LABEL_WIDTH else indent
    lines = textwrap.wrap(
        " ".join(text.split()),
        width=WIDTH,
        initial_indent=head,
        subsequent_indent=indent,
        break_long_words=False,
        break_on_hyphens=False,
    )
    return ([f"  {label}"] if len(label) >= LABEL_WIDTH else []) + lines


def _clause_text(record: LicenseRecord, topic: ClauseTopic) -> str | None:
    clause = record.clauses.get(topic)
    if clause is None:
        return None
    words = f"“{clause.text}”" if clause.quote else clause.text
    where = f"{clause.section}: " if clause.section else ""
    secondary = " (secondary source)" if clause.secondary else ""
    link = f" <{clause.link}>" if clause.link else ""
    return f"{where}{words}{secondary}{link}"


def describe(record: LicenseRecord) -> str:
    """One licence in full, in plain text: every term the checks use, with the clause it rests on."""
    lines = [f"{record.id}: {record.name}", ""]
    lines += _wrap("summary", record.summary)
    commercial: str = record.commercial_use
    if record.permitted_use != "any":
        commercial += f" (permitted use: {record.permitted_use})"
    lines += _wrap("commercial use", commercial)
    if text := _clause_text(record, "commercial_use"):
        lines += _wrap("", text)
    if record.monthly_active_user_cap is not None:
        lines += _wrap("user cap", f"{record.monthly_active_user_cap:,} monthly active users")
        if text := _clause_text(record, "user_cap"):
            lines += _wrap("", text)
    if record.monthly_output_token_cap is not None:
        lines += _wrap("usage cap", f"{record.monthly_output_token_cap:,} output tokens a month")
        if text := _clause_text(record, "usage_cap"):
            lines += _wrap("", text)
    hosting = record.saas_hosting + (" (use restrictions flow down to your users)" if record.flow_down else "")
    lines += _wrap("hosting (SaaS)", hosting)
    hosting_topics: tuple[ClauseTopic, ...] = ("hosting", "flow_down")
    for topic in hosting_topics:
        if text := _clause_text(record, topic):
            lines += _wrap("", text)
    if record.regional_exclusions:
        scope = " (multimodal models only)" if record.regional_exclusion_scope == "multimodal_models" else ""
        lines += _wrap("regional exclusion", ", ".join(record.regional_exclusions) + scope)
        if text := _clause_text(record, "regional"):
            lines += _wrap("", text)
    for notice in record.required_notices:
        lines += _wrap("words to ship", f"“{notice}”")
    if record.attribution:
        lines += _wrap("attribution", record.attribution)
    if record.derivative_naming:
        lines += _wrap("derivative naming", record.derivative_naming)
    if record.output_training_restriction:
        lines += _wrap("outputs to train", record.output_training_restriction)
    if record.acceptable_use_policy:
        lines += _wrap("acceptable use", record.acceptable_use_policy)
    for restriction in record.use_restrictions:
        clause = restriction.clause
        where = f"{clause.section}: " if clause.section else ""
        lines += _wrap(
            f"use case {'/'.join(restriction.use_cases)}",
            f"[{restriction.severity}] {restriction.why}. {where}“{clause.text}”",
        )
    lines += _wrap("link", record.link)
    lines += _wrap("source", f"{record.source} (as of {record.as_of})")
    if record.aliases:
        lines += _wrap("aliases", ", ".join(record.aliases))
    lines += ["", "Guidance, not legal advice: read the licence before use."]
    return "\n".join(lines)


def catalog_lineage(catalog: Catalog, model_id: str) -> Lineage:
    """The lineage of a catalog model, from its record (the checks build the same one from a candidate)."""
    model = catalog.models[model_id]
    return licence_lineage(
        catalog,
        model.id,
        declared=model.license,
        license_name=model.license_name,
        license_link=model.license_link,
        base_model=model.base_model,
        base_model_license=model.base_model_license,
        modalities=model.modalities,
    )


def model_lineage(catalog: Catalog, model_id: str) -> list[dict[str, Any]]:
    """A catalog model and its base models as JSON rows, nearest first, with declared and resolved licence.

    ``binds`` is false for a base published by the same organisation as the model derived from it (the
    rights holder relicensed its own model); the licence checks read the same lineage.
    """
    return [
        {
            "model": link.model,
            "license": link.declared,
            "license_name": link.license_name,
            "license_link": link.license_link,
            "resolved": link.record.id if link.record is not None else None,
            "identified": link.identified,
            "binds": link.binding,
            "in_catalog": link.in_catalog,
        }
        for link in catalog_lineage(catalog, model_id).links
    ]


def describe_lineage(lineage: Lineage) -> str:
    """A model's licences, nearest first, then the terms of each licence that binds it."""
    lines = [f"{lineage.own.model}: licence lineage (a fine-tune carries its base model's duties)", ""]
    for depth, link in enumerate(lineage.links):
        declared = link.declared or "not recorded"
        if link.license_name:
            declared += f" (license_name {link.license_name})"
        resolved = link.record.id if link.identified and link.record is not None else "not identified: read the licence"
        note = "" if link.binding else "  [same publisher: superseded by the licence above]"
        where = "" if link.in_catalog else "  [not in the catalog: licence as the model record declares it]"
        lines.append(f"{'  ' * depth}{'└ ' if depth else ''}{link.model}: {declared} -> {resolved}{note}{where}")
    for _, record in lineage.terms():
        lines += ["", describe(record).rsplit("\n\n", 1)[0]]
    lines += ["", "Guidance, not legal advice: read the licence before use."]
    return "\n".join(lines)

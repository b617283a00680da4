"""``advisor hub``: search the Hugging Face Hub for candidate models, show one, fetch a GGUF.

Every number shown comes from the Hub (safetensors or GGUF parameter counts, config.json,
file sizes) through :mod:`advisor.hub`; nothing is estimated here.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

import click

from advisor.cli.options import print_table

if TYPE_CHECKING:
    from advisor.hub import HubModel

_COUNT = re.compile(r"^\s*(\d+(?:\.\d+)?(?:e\d+)?)\s*([kmbt]?)\s*$", re.IGNORECASE)
_UNITS = {"": 1, "k": 10**3, "m": 10**6, "b": 10**9, "t": 10**12}


def parse_param_count(ctx: click.Context | None, param: click.Parameter | None, value: str | None) -> int | None:
    """A parameter count: ``8B``, ``700M``, ``1.5b``, ``8e9`` or ``8000000000`` (a click callback)."""
    if value is None:
        return None
    match = _COUNT.match(value)
    count = int(float(match.group(1)) * _UNITS[match.group(2).lower()]) if match else 0
    if count <= 0:
        raise click.BadParameter(f"{value!r}: expected a positive parameter count such as 8B, 700M or 8e9")
    return count


def human_count(value: int | None) -> str | None:
    """``8030261248`` -> ``8.03B`` (for the table; JSON keeps the exact count)."""
    if value is None:
        return None
    for unit, size in (("T", 10**12), ("B", 10**9), ("M", 10**6), ("K", 10**3)):
        if value >= size:
            return f"{value / size:.3g}{unit}"
    return str(value)


def model_row(model: HubModel) -> dict[str, Any]:
    """The JSON object for one Hub model (keys may be added, not renamed)."""
    record = model.record
    return {
        "repo_id": model.repo_id,
        "params": record.params,
        "active_params": record.active_params,
        "params_source": model.params_source,
        "license": record.license,
        "license_id": model.license_id,
        "license_name": model.license_name,
        "license_link": model.license_link,
        "gated": record.gated,
        "context_length": record.context_length,
        "languages": list(record.languages),
        "pipeline_tag": model.pipeline_tag,
        "base_model": record.base_model,
        "model_type": record.architecture.model_type,
        "config_source": model.config_source,
        "downloads": model.downloads,
        "likes": model.likes,
        "sha": model.sha,
        "gguf_files": [f.model_dump(mode="json") for f in model.gguf_files],
        "unsafe_files": list(model.unsafe_files),
        "source": record.source,
        "as_of": record.as_of.isoformat(),
        "from_cache": model.from_cache,
    }


def _table_row(model: HubModel) -> dict[str, Any]:
    row = model_row(model)
    row["params"] = human_count(model.record.params)
    row["quants"] = sorted({f.quant for f in model.gguf_files if f.quant})
    row["gated"] = "yes" if model.record.gated else "no"
    return row


_offline_option = click.option(
    "--offline",
    is_flag=True,
    default=False,
    help="Use only the local cache (as HF_HUB_OFFLINE=1 does); never open a connection.",
)


@click.group(name="hub")
def hub() -> None:
    """Search the Hugging Face Hub for candidate models (HF_ENDPOINT, HF_TOKEN and HF_HOME apply)."""


@hub.command(name="search")
@click.option("--task", default="text-generation", show_default=True, help="Hub pipeline tag.")
@click.option("--license", "license_id", default=None, help="Licence id as the Hub tags it, e.g. apache-2.0.")
@click.option(
    "--max-params",
    default=None,
    callback=parse_param_count,
    metavar="COUNT",
    help="Largest total parameter count, e.g. 8B.",
)
@click.option("--language", default=None, help="Language code the model card lists, e.g. ru.")
@click.option("--limit", type=click.IntRange(min=1, max=200), default=20, show_default=True)
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@_offline_option
def search(
    task: str | None,
    license_id: str | None,
    max_params: int | None,
    language: str | None,
    limit: int,
    fmt: str,
    offline: bool,
) -> None:
    """The most downloaded Hub models that match, with the facts the checks use."""
    from advisor.hub import search_models

    def skipped(repo_id: str, reason: str) -> None:
        click.echo(f"advisor: warning: skipped {repo_id}: {reason}", err=True)

    models = search_models(
        task=task or None,
        license=license_id,
        max_params=max_params,
        language=language,
        limit=limit,
        offline=offline,
        on_skip=skipped,
    )
    if fmt == "json":
        click.echo(json.dumps([model_row(m) for m in models], indent=2, ensure_ascii=False))
        return
    print_table(
        [_table_row(m) for m in models],
        ["repo_id", "params", "license", "gated", "context_length", "languages", "quants", "downloads"],
    )


@hub.command(name="show")
@click.argument("repo_id")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@_offline_option
def show(repo_id: str, fmt: str, offline: bool) -> None:
    """Everything the advisor reads from one Hub repo."""
    from advisor.hub import fetch_model

    model = fetch_model(repo_id, offline=offline)
    row = model_row(model)
    if fmt == "json":
        click.echo(json.dumps(row, indent=2, ensure_ascii=False))
        return
    for key, value in row.items():
        if key == "gguf_files":
            continue
        if value not in (None, [], ""):
            click.echo(f"{key:16} {', '.join(map(str, value)) if isinstance(value, list) else value}")
    if model.gguf_files:
        click.echo("")
        print_table(
            [
                {"quant": f.quant, "size_bytes": f.size_bytes, "file": f.filename, "parts": len(f.parts)}
                for f in model.gguf_files
            ],
            ["quant", "size_bytes", "parts", "file"],
        )


@hub.command(name="download")
@click.argument("repo_id")
@click.option("--quant", required=True, help="GGUF quant type to fetch, e.g. Q4_K_M.")
@_offline_option
def download(repo_id: str, quant: str, offline: bool) -> None:
    """Fetch one GGUF (all parts of a split model) into the Hub cache; print its path."""
    from advisor.hub import download_gguf

    click.echo(str(download_gguf(repo_id, quant, offline=offline)))

"""``advisor check``: one model, in each of its variants, against the answers."""

from __future__ import annotations

from pathlib import Path

import click

from advisor.cli.options import SessionOptions, report, session_options


@click.command()
@click.argument("model")
@click.option("--answers", type=click.Path(path_type=Path), required=True, help="Answers file (YAML or JSON).")
@click.option("--quant", default=None, help="Assess only this weight format (e.g. Q4_K_M).")
@click.option("--hardware", default=None, help="Hardware catalog id to run it on (overrides the answers).")
@click.option("--format", "fmt", type=click.Choice(["md", "json"]), default="md", show_default=True)
@click.option("--offline", is_flag=True, help="Use only the local Hub cache for a Hub repo id.")
@session_options(selection=True)
def check(
    model: str,
    answers: Path,
    quant: str | None,
    hardware: str | None,
    fmt: str,
    offline: bool,
    options: SessionOptions,
) -> None:
    """Assess one model (catalog id or Hub repo) against the answers; exit 1 when no variant is acceptable."""
    from advisor.catalog.loader import require_quant
    from advisor.engine.run import run_plan
    from advisor.engine.variants import build_candidates, check_hardware_ids
    from advisor.errors import InputError
    from advisor.model.requirements import HardwareItem, load_requirements

    requirements = load_requirements(answers)
    if hardware is not None:
        requirements = requirements.model_copy(update={"hardware": [HardwareItem(gpu=hardware)]})
    session = options.session()
    catalog = session.catalog
    if hardware is not None and catalog.find_hardware(hardware) is None:
        raise InputError(f"--hardware {hardware}: not in the hardware catalog (see `advisor catalog hardware`)")
    check_hardware_ids(requirements, catalog, str(answers))
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
    report(run_plan(requirements, session, candidates=pool), fmt, None)

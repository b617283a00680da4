"""``advisor plan``: every candidate against the answers, the road, the ranking and the deployment."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from advisor.cli.options import SessionOptions, report, session_options

if TYPE_CHECKING:
    from advisor.catalog.loader import Catalog
    from advisor.model.plan import Plan


@click.command()
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
@click.option(
    "--out-dir",
    type=click.Path(path_type=Path),
    default=None,
    help="Write the deployment's files (launch scripts, Kubernetes manifests) into this directory.",
)
@session_options(selection=True)
def plan(
    answers: Path,
    fmt: str,
    out: Path | None,
    hub_count: int,
    offline: bool,
    out_dir: Path | None,
    options: SessionOptions,
) -> None:
    """Assess every catalog candidate against the answers and recommend a road and a model."""
    from advisor.engine.run import run_plan
    from advisor.engine.variants import check_hardware_ids
    from advisor.model.requirements import load_requirements

    requirements = load_requirements(answers)
    if out_dir is not None:
        prepare_out_dir(out_dir)
    session = options.session()
    check_hardware_ids(requirements, session.catalog, str(answers))
    if hub_count:
        from advisor.hub import hub_models_for_requirements

        def skipped(repo: str, why: str) -> None:
            click.echo(f"advisor: warning: skipped {repo}: {why}", err=True)

        models = hub_models_for_requirements(requirements, hub_count, offline=offline, on_skip=skipped)
        known = session.catalog.models
        session.catalog.add("models", [m.record for m in models if m.repo_id not in known], "hub")
    result = run_plan(requirements, session)
    warn_about_old_records(result, session.catalog)
    if out_dir is not None:
        write_deployment_files(result, out_dir)
    report(result, fmt, out)


def prepare_out_dir(out_dir: Path) -> None:
    """Create ``--out-dir`` (and its parents) before the long work; exit 2 naming it when that cannot be done."""
    from advisor.errors import InputError

    if out_dir.exists() and not out_dir.is_dir():
        raise InputError(f"--out-dir {out_dir}: exists and is not a directory; name a directory to write into")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"--out-dir {out_dir}: cannot create the directory: {exc.strerror}") from None


def write_deployment_files(result: Plan, out_dir: Path) -> None:
    """Write the deployment's artifacts (or, without any, its commands as ``serve.sh``) and list them on stderr."""
    from advisor.files.output import write_output

    deployment = result.deployment
    if deployment is None:
        click.echo(f"advisor: --out-dir {out_dir}: no deployment to write (no acceptable candidate)", err=True)
        return
    files = [(a["filename"], a["content"]) for a in deployment.artifacts]
    if not files:
        lines = ["#!/bin/sh", f"# {deployment.engine}: {deployment.candidate or ''}".rstrip()]
        lines += [f"# {note}" for note in deployment.notes]
        lines += list(deployment.commands) or [deployment.command]
        files = [("serve.sh", "\n".join(lines) + "\n")]
    for name, content in files:
        if Path(name).name != name or name.startswith("."):
            click.echo(f"advisor: warning: --out-dir: skipped artifact with unsafe name {name!r}", err=True)
            continue
        write_output(out_dir / name, content, option="--out-dir")
        click.echo(f"advisor: wrote {out_dir / name}", err=True)


#: How many of the best-ranked candidates a plan "leans on" for the age warning.
LEANS_ON_TOP = 5


def warn_about_old_records(result: Plan, catalog: Catalog) -> None:
    """Warn (stderr) when the records behind the best-ranked candidates are older than planning.yaml allows."""
    import datetime as dt

    from advisor.catalog.freshness import freshness_warnings
    from advisor.catalog.planning import planning_defaults

    keys = [("apis" if a.candidate.kind == "api" else "models", a.candidate.id) for a in result.ranked[:LEANS_ON_TOP]]
    for line in freshness_warnings(catalog, keys, dt.date.today(), planning_defaults().record_max_age_days):
        click.echo(f"advisor: warning: {line}", err=True)

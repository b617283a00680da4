"""``advisor quality fit`` and ``advisor quality show MODEL``: the capability boundaries and one
model's quality, with everything behind the number (docs/quality.md)."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any, get_args

import click

from advisor.cli.options import SessionOptions, print_table, session_options
from advisor.model.requirements import UseCase

if TYPE_CHECKING:
    from advisor.catalog.loader import Catalog
    from advisor.estimate.scaling import Boundary, DataPoint

#: Compute levels at which the table shows each boundary's value (training FLOPs).
SHOWN_FLOPS = (1e22, 1e23, 1e24, 1e25)


@click.group(name="quality")
def quality() -> None:
    """Fitted capability boundaries and model quality."""


def boundary_rows(boundaries: Sequence[Boundary], catalog: Catalog) -> list[dict[str, Any]]:
    """One JSON object per boundary and quantile: parameters, fit statistics, catalog check."""
    from advisor.estimate.quality import catalog_check, quality_policy

    predicting = set(quality_policy().prediction.use)
    rows = []
    for boundary in boundaries:
        row = boundary.as_dict()
        below, total, above = catalog_check(boundary, catalog.models.values())
        row["coverage_error"] = round(abs(boundary.coverage - boundary.quantile), 4)
        row["predicts"] = boundary.spec.catalog_key in predicting
        row["values"] = {f"{flops:.0e}": round(boundary.predict(math.log10(flops)), 4) for flops in SHOWN_FLOPS}
        row["catalog_check"] = (
            {"at_or_below": below, "n": total, "share": round(below / total, 4), "above": above} if total else None
        )
        rows.append(row)
    return rows


@quality.command(name="fit")
@click.option("--plot", type=click.Path(path_type=Path), default=None, help="Write the boundaries as an SVG file.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@session_options()
def fit_command(plot: Path | None, fmt: str, options: SessionOptions) -> None:
    """Refit the capability boundaries on the shipped data and print parameters, R² and coverage."""
    from advisor.errors import InputError
    from advisor.estimate.quality import all_boundaries, quality_policy

    if plot is not None and plot.suffix.lower() != ".svg":
        raise InputError(f"--plot {plot}: only SVG is written; give a file name ending in .svg")
    boundaries = all_boundaries()
    catalog = options.session().catalog
    rows = boundary_rows(boundaries, catalog)
    if plot is not None:
        svg = boundaries_svg(boundaries, _data_points(), _catalog_points(catalog))
        try:
            plot.write_text(svg, encoding="utf-8")
        except OSError as exc:
            raise InputError(f"--plot {plot}: cannot write: {exc}") from None
        click.echo(f"wrote {plot}", err=True)
    policy = quality_policy()
    if fmt == "json":
        payload = {
            "method": "q(z) = y0 + L·sigmoid(b·(z − z_star)), z = log10(6·N·D), fitted by pinball loss "
            f"+ {policy.fit.lambda_b:g}·b² at each quantile; r2 = Koenker–Machado pseudo-R²; coverage = share "
            "of models at or below the boundary",
            "data": sorted({f"catalog/{b.spec.file}" for b in boundaries}),
            "license": "Apache-2.0, see catalog/NOTICE-obsscaling.txt",
            "predict_quantile": policy.prediction.quantile,
            "boundaries": rows,
        }
        click.echo(json.dumps(payload, indent=2, ensure_ascii=False))
        return
    table = []
    for row in rows:
        params, check = row["params"], row["catalog_check"]
        table.append(
            {
                "benchmark": row["benchmark"],
                "tau": row["quantile"],
                "n": row["n"],
                "y0": params["y0"],
                "L": params["L"],
                "z*": params["z_star"],
                "b": params["b"],
                "r2": row["r2"],
                "coverage": row["coverage"],
                "bins": row["bin_coverage"],
                "catalog": f"{check['at_or_below']}/{check['n']}" if check else None,
                "predicts": "yes" if row["predicts"] else "",
                **{f"q@{k}": v for k, v in row["values"].items()},
            }
        )
    columns = ["benchmark", "tau", "n", "y0", "L", "z*", "b", "r2", "coverage", "bins", "catalog", "predicts"]
    print_table(table, columns + [f"q@{flops:.0e}" for flops in SHOWN_FLOPS])
    click.echo(
        "\ncoverage: share of the shipped models at or below the boundary (should sit near tau); bins: the same in "
        "4 equal-count bins of z; r2: Koenker–Machado pseudo-R²; catalog: published catalog scores at or below "
        "the base-model boundary (out of sample); predicts: used to fill missing scores (catalog/quality_policy.yaml)"
    )


@quality.command(name="show")
@click.argument("model")
@click.option(
    "--use-case",
    type=click.Choice(get_args(UseCase)),
    default="chat",
    show_default=True,
    help="Whose benchmark weights to apply.",
)
@click.option("--quant", default=None, help="Weight format of an open model (applies its quantization loss).")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@session_options()
def show_command(
    model: str,
    use_case: str,
    quant: str | None,
    fmt: str,
    options: SessionOptions,
) -> None:
    """One model's quality (0–1) with its basis: scores, normalisation, weights, prediction, quant loss."""
    from advisor.catalog.loader import require_quant
    from advisor.errors import InputError

    catalog = options.session().catalog
    if quant is not None:
        require_quant(catalog, quant)
    if model in catalog.models:
        from advisor.engine.variants import open_candidate

        record = catalog.models[model]
        candidate = open_candidate(record, quant=quant.upper() if quant else None)
    elif model in catalog.apis:
        if quant is not None:
            raise InputError(f"--quant {quant}: applies to open-weights models; {model} is an API")
        from advisor.engine.variants import api_candidate

        candidate = api_candidate(catalog.apis[model], catalog)
    else:
        raise InputError(f"MODEL {model}: not in the catalog (see `advisor catalog models` and `advisor catalog apis`)")
    payload = show_payload(candidate_id=model, catalog=catalog, use_case=use_case, candidate=candidate)
    if fmt == "json":
        click.echo(json.dumps(payload, indent=2, ensure_ascii=False))
        return
    _print_show(payload)


def show_payload(candidate_id: str, catalog: Catalog, use_case: str, candidate: Any) -> dict[str, Any]:
    """The JSON of ``quality show``: the estimate, both quantiles' upper bounds and the quant losses."""
    from advisor.estimate.quality import candidate_quality, predict_scores, quant_penalty, quant_quality

    estimate = candidate_quality(candidate, use_case, catalog)
    payload: dict[str, Any] = {"model": candidate_id, "kind": candidate.kind, "use_case": use_case}
    if estimate is None:
        payload.update(
            quality=None,
            basis="unknown: no published benchmark score in the catalog and no model size to predict from",
            quality_kind=None,
        )
    else:
        details = estimate.as_dict()
        payload.update(quality=details.pop("quality"), basis=details.pop("basis"), quality_kind=details.pop("kind"))
        details.pop("use_case")
        payload.update(details)
    params = candidate.active_params or candidate.params
    if params:
        tokens = candidate.pretraining_tokens
        hosted = catalog.models.get(candidate.repo_id or "")
        if tokens is None and hosted is not None:
            tokens = hosted.pretraining_tokens
        from advisor.estimate.quality import quality_policy

        bounds = {}
        for tau in quality_policy().prediction.quantiles:
            prediction = predict_scores(float(params), tokens, tau)
            bounds[f"{tau:g}"] = {k: round(v, 2) for k, v in prediction.values.items()}
        payload["upper_bounds"] = {
            "z": round(prediction.z, 3),
            "tokens": prediction.tokens,
            "tokens_assumed": prediction.tokens_assumed,
            "by_quantile": bounds,
        }
    if candidate.kind == "open_source":
        table = quant_quality()
        names = [*table.small_model.quants, *table.reference_formats[:1]]
        penalties = [quant_penalty(name, params) for name in names]
        payload["quant_penalties"] = {p.quant: p.penalty for p in penalties if p is not None and p.penalty is not None}
    return payload


def _print_show(payload: dict[str, Any]) -> None:
    value = payload["quality"]
    click.echo(f"model        {payload['model']} ({payload['kind']})")
    click.echo(f"use case     {payload['use_case']}")
    click.echo(f"quality      {'-' if value is None else f'{value:.3f}'} ({payload.get('quality_kind') or 'unknown'})")
    click.echo(f"basis        {payload['basis']}")
    penalty = payload.get("quant_penalty")
    if penalty:
        click.echo(f"quant        {penalty['quant']}: penalty {penalty['penalty']}")
    for note in payload.get("notes") or []:
        click.echo(f"note         {note}")
    components = payload.get("components") or []
    if components:
        click.echo("")
        print_table(components, ["benchmark", "value", "origin", "normalised", "weight", "as_of", "note"])
    bounds = payload.get("upper_bounds")
    if bounds:
        assumed = " (D = 20·N assumed)" if bounds["tokens_assumed"] else ""
        click.echo(f"\nupper bounds at z = {bounds['z']}{assumed}, percent:")
        rows = [{"quantile": tau, **values} for tau, values in bounds["by_quantile"].items()]
        keys = sorted({k for values in bounds["by_quantile"].values() for k in values})
        print_table(rows, ["quantile", *keys])


# --------------------------------------------------------------------------------------------- the plot


def _data_points() -> dict[str, list[DataPoint]]:
    from advisor.estimate.quality import quality_policy
    from advisor.estimate.scaling import read_points

    policy = quality_policy()
    compute = policy.compute_source()
    return {entry.name: read_points(policy.spec(entry.name), compute) for entry in policy.boundaries}


def _catalog_points(catalog: Catalog) -> dict[str, list[tuple[float, float, str]]]:
    """Published catalog scores (0–1) at each model's compute, per catalog benchmark key."""
    from advisor.estimate.scaling import compute_z

    points: dict[str, list[tuple[float, float, str]]] = {}
    for record in sorted(catalog.models.values(), key=lambda r: r.id):
        if not record.pretraining_tokens:
            continue
        z = compute_z(float(record.active_params or record.params), record.pretraining_tokens)
        for key, score in record.benchmarks.items():
            if score.scale == "percent":
                points.setdefault(key, []).append((z, score.value / 100.0, record.id))
    return points


def boundaries_svg(
    boundaries: Sequence[Boundary],
    points: dict[str, list[DataPoint]],
    catalog_points: dict[str, list[tuple[float, float, str]]],
) -> str:
    """Small multiples, one panel per benchmark: the shipped models as dots, catalog models as rings,
    and the fitted boundary of each quantile as a line (x: log10 training FLOPs, y: raw score)."""
    names = list(dict.fromkeys(b.spec.name for b in boundaries))
    quantiles = sorted({b.quantile for b in boundaries})
    colours = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd"]
    cols = 3
    rows = math.ceil(len(names) / cols)
    pw, ph, left, top, gap = 300, 220, 46, 28, 34
    width = cols * (pw + left + gap) + gap
    height = rows * (ph + top + gap + 20) + 70
    all_z = [p.z for pts in points.values() for p in pts] + [z for pts in catalog_points.values() for z, _, _ in pts]
    z_lo = math.floor(min(all_z, default=20.0) - 0.2)
    z_hi = math.ceil(max(all_z, default=26.0) + 0.2)
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="11">',
        f'<rect width="{width}" height="{height}" fill="white"/>',
        f'<text x="{gap}" y="22" font-size="15">Capability boundaries: raw score against log10 training FLOPs '
        "(6·N·D)</text>",
    ]
    legend_x = gap
    for i, tau in enumerate(quantiles):
        colour = colours[i % len(colours)]
        out.append(
            f'<line x1="{legend_x}" y1="42" x2="{legend_x + 24}" y2="42" stroke="{colour}" stroke-width="2"/>'
            f'<text x="{legend_x + 30}" y="46">τ = {tau:g}</text>'
        )
        legend_x += 90
    out.append(
        f'<circle cx="{legend_x + 6}" cy="42" r="3" fill="#555" fill-opacity="0.6"/>'
        f'<text x="{legend_x + 14}" y="46">ObsScaling base models (fitted)</text>'
        f'<circle cx="{legend_x + 236}" cy="42" r="4" fill="none" stroke="#ff7f0e" stroke-width="1.5"/>'
        f'<text x="{legend_x + 244}" y="46">catalog models, published scores (not fitted)</text>'
    )
    by_name = {(b.spec.name, b.quantile): b for b in boundaries}
    for index, name in enumerate(names):
        px = gap + (index % cols) * (pw + left + gap) + left
        py = 70 + (index // cols) * (ph + top + gap + 20) + top

        def sx(z: float, px: int = px) -> float:
            return px + (z - z_lo) / (z_hi - z_lo) * pw

        def sy(y: float, py: int = py) -> float:
            return py + (1.0 - y) * ph

        first = next(b for b in boundaries if b.spec.name == name)
        stats = "; ".join(
            f"τ {tau:g}: R² {by_name[(name, tau)].r2:.2f}, cov {by_name[(name, tau)].coverage:.2f}"
            for tau in quantiles
            if (name, tau) in by_name
        )
        out.append(f'<text x="{px}" y="{py - 16}" font-size="12" font-weight="bold">{escape(first.spec.label)}</text>')
        out.append(f'<text x="{px}" y="{py - 4}" fill="#444">{escape(stats)}</text>')
        out.append(f'<rect x="{px}" y="{py}" width="{pw}" height="{ph}" fill="none" stroke="#999"/>')
        for tick in range(z_lo, z_hi + 1):
            x = sx(tick)
            out.append(f'<line x1="{x:.1f}" y1="{py + ph}" x2="{x:.1f}" y2="{py + ph + 4}" stroke="#999"/>')
            out.append(f'<text x="{x:.1f}" y="{py + ph + 15}" text-anchor="middle">{tick}</text>')
        for level in (0.0, 0.25, 0.5, 0.75, 1.0):
            y = sy(level)
            out.append(f'<line x1="{px - 4}" y1="{y:.1f}" x2="{px + pw}" y2="{y:.1f}" stroke="#eee"/>')
            out.append(f'<text x="{px - 6}" y="{y + 4:.1f}" text-anchor="end">{level:g}</text>')
        for p in points.get(name, []):
            out.append(
                f'<circle cx="{sx(p.z):.1f}" cy="{sy(p.y):.1f}" r="2.5" fill="#555" fill-opacity="0.6">'
                f"<title>{escape(p.model)}: {p.y:.3f} at z={p.z:.2f}</title></circle>"
            )
        key = first.spec.catalog_key
        for z, y, model_id in catalog_points.get(key or "", []):
            out.append(
                f'<circle cx="{sx(z):.1f}" cy="{sy(min(1.0, y)):.1f}" r="3.5" fill="none" stroke="#ff7f0e" '
                f'stroke-width="1.2"><title>{escape(model_id)}: {y:.3f} at z={z:.2f}</title></circle>'
            )
        for i, tau in enumerate(quantiles):
            boundary = by_name.get((name, tau))
            if boundary is None:
                continue
            steps = 120
            coords = " ".join(
                f"{sx(z_lo + (z_hi - z_lo) * k / steps):.1f},"
                f"{sy(boundary.predict(z_lo + (z_hi - z_lo) * k / steps)):.1f}"
                for k in range(steps + 1)
            )
            out.append(
                f'<polyline points="{coords}" fill="none" stroke="{colours[i % len(colours)]}" stroke-width="2"/>'
            )
    out.append("</svg>")
    return "\n".join(out) + "\n"

"""QUAL001 (quality bar) and QUAL002 (languages), from published benchmark scores."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from advisor import Candidate, Check, Finding, Requirements, hookimpl
from advisor.estimate.quality import quality_bar, quality_from_benchmarks


def meets_quality_bar(candidate: Candidate, requirements: Requirements) -> Iterator[Finding]:
    bar = quality_bar(requirements.quality, requirements.min_quality)
    if candidate.kind == "build":
        yield Finding(
            severity="info",
            message="quality of a model not yet built is unknown; the target size "
            f"was chosen for the '{candidate.extra.get('target_quality')}' level (assumption)",
        )
        return
    score = quality_from_benchmarks(candidate.benchmarks, requirements.use_case)
    if score is None:
        yield Finding(
            severity="info",
            message="no published benchmark score in the catalog; quality unknown",
            metrics={"quality": None},
        )
        return
    metrics: dict[str, float | int | str | None] = {"quality": round(score.value, 3), "quality_basis": score.basis}
    if bar is not None and score.value < bar:
        yield Finding(
            severity="fail",
            message=f"quality {score.value:.2f} is below the bar {bar:.2f} ({score.basis})",
            metrics=metrics,
            remediation="a larger or newer model",
        )
    else:
        shown = f" (bar {bar:.2f})" if bar is not None else ""
        yield Finding(severity="pass", message=f"quality {score.value:.2f}{shown}: {score.basis}", metrics=metrics)


def speaks_languages(candidate: Candidate, requirements: Requirements) -> Iterator[Finding]:
    wanted = [lang.lower() for lang in requirements.languages]
    if candidate.kind == "build":
        return
    if not candidate.languages:
        yield Finding(severity="info", message="supported languages not listed in the catalog")
        return
    have = {lang.lower() for lang in candidate.languages}
    missing = [lang for lang in wanted if lang not in have]
    if missing:
        yield Finding(
            severity="warn",
            message=f"the model card does not list {', '.join(missing)} among its "
            f"languages ({', '.join(sorted(have))})",
            remediation="test it on your language, or pick a model that lists it",
        )
    else:
        yield Finding(severity="pass", message=f"model card lists {', '.join(wanted)}")


@hookimpl
def advisor_register_checks(register: Callable[[Check], None]) -> None:
    register(
        Check(
            id="QUAL001", category="quality", summary="Published quality meets the quality bar", run=meets_quality_bar
        )
    )
    register(
        Check(id="QUAL002", category="quality", summary="Model supports the required languages", run=speaks_languages)
    )

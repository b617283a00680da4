"""PRIV001: where the data goes. On-prem or air-gapped requirements exclude APIs and rented GPUs; a
data-residency requirement passes only APIs whose published processing regions include it (an API of
unknown or other region fails, with the providers that do process there as the remediation)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from advisor import AdvisorContext, Candidate, Check, Finding, Requirements, hookimpl


def _providers_in(region: str, context: AdvisorContext) -> list[str]:
    """The catalog's API providers that publish processing in ``region``."""
    return sorted({a.provider for a in context.catalog.apis.values() if region in {r.upper() for r in a.regions}})


def data_stays_where_required(
    candidate: Candidate, requirements: Requirements, context: AdvisorContext
) -> Iterator[Finding]:
    privacy = requirements.privacy
    local = requirements.must_stay_local
    rule = "air-gapped" if privacy.air_gapped else "on-prem"
    if candidate.kind == "api":
        if local:
            yield Finding(
                severity="fail",
                message=f"{rule} required: an API sends every prompt to {candidate.provider or 'the provider'}",
                remediation="self-host an open-weights model on your own hardware",
            )
            return
        residency = (privacy.data_residency or "").strip().upper()
        api = candidate.api
        regions = [r.upper() for r in api.regions] if api is not None else []
        source = api.regions_source if api is not None and api.regions_source else "the catalog"
        if not residency:
            yield Finding(severity="pass", message="no on-prem or residency requirement")
            return
        if residency in regions:
            yield Finding(
                severity="pass",
                message=f"data must stay in {residency}: {candidate.provider} processes it there ({source})",
                evidence={"regions": regions},
            )
            return
        there = [p for p in _providers_in(residency, context) if p != candidate.provider]
        remedy = (
            f"an API that processes data in {residency} ({', '.join(there)}), or self-host in {residency}"
            if there
            else f"self-host in {residency}, or ask the provider for a contract that keeps processing in {residency}"
        )
        if regions:
            yield Finding(
                severity="fail",
                message=f"data must stay in {residency}; {candidate.provider} processes data in "
                f"{', '.join(regions)} ({source})",
                evidence={"regions": regions},
                remediation=remedy,
            )
        else:
            yield Finding(
                severity="fail",
                message=f"data must stay in {residency}; the catalog does not know where {candidate.provider} "
                "processes data, so it cannot be shown to stay there",
                remediation=remedy,
            )
        return
    if candidate.kind == "open_source" and local and not requirements.on_hand_hardware:
        yield Finding(
            severity="fail",
            message=f"{rule} required, but the answers list no own hardware (hardware: cloud)",
            remediation="list the servers or GPUs you own under `hardware:`",
        )
        return
    where = "your own hardware" if requirements.on_hand_hardware else "rented cloud GPUs you control"
    residency = (privacy.data_residency or "").strip().upper()
    if residency and not requirements.on_hand_hardware:
        where += f" (rent them in a data centre in {residency})"
    yield Finding(severity="pass", message=f"weights run on {where}; prompts do not leave it")


@hookimpl
def advisor_register_checks(register: Callable[[Check], None]) -> None:
    register(
        Check(
            id="PRIV001",
            category="privacy",
            summary="Data stays where the answers require",
            run=data_stays_where_required,
        )
    )

"""PRIV001: where the data goes. On-prem or air-gapped requirements exclude APIs and rented GPUs."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from advisor import Candidate, Check, Finding, Requirements, hookimpl


def data_stays_where_required(candidate: Candidate, requirements: Requirements) -> Iterator[Finding]:
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
        residency = privacy.data_residency
        regions = candidate.api.regions if candidate.api else []
        if residency and regions and residency.upper() not in {r.upper() for r in regions}:
            yield Finding(
                severity="fail",
                message=f"data must stay in {residency}; the provider lists processing in {', '.join(regions)}",
                evidence={"regions": regions},
            )
        elif residency:
            yield Finding(
                severity="warn",
                message=f"data must stay in {residency}; the catalog does not list where this provider "
                f"processes data: check its data-residency terms",
                remediation="ask the provider for a regional endpoint or self-host",
            )
        else:
            yield Finding(severity="pass", message="no on-prem or residency requirement")
        return
    if candidate.kind == "open_source" and local and not requirements.on_hand_hardware:
        yield Finding(
            severity="fail",
            message=f"{rule} required, but the answers list no own hardware (hardware: cloud)",
            remediation="list the servers or GPUs you own under `hardware:`",
        )
        return
    where = "your own hardware" if requirements.on_hand_hardware else "rented cloud GPUs you control"
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

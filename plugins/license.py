"""LIC001: may the business use this model the way it plans to? Decided by the catalog's licence terms.

Findings quote the licence's own terms and link the text; this is guidance, not legal advice
(the report says so once in its footer).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from advisor import AdvisorContext, Candidate, Check, Finding, Requirements, hookimpl


def commercial_use_allowed(
    candidate: Candidate, requirements: Requirements, context: AdvisorContext
) -> Iterator[Finding]:
    record = context.catalog.find_license(candidate.license)
    if record is None or record.id in {"other", "unknown"}:
        yield Finding(
            severity="warn",
            message=f"licence {candidate.license or 'unknown'!r} is not in the catalog: read it before use",
            evidence={"license": candidate.license, "source": candidate.source},
            remediation="read the licence on the model page, or choose a model with a known licence",
        )
        return
    evidence = {"license": record.id, "link": record.link}
    policy = requirements.license
    if policy.commercial_use and record.commercial_use == "no":
        yield Finding(
            severity="fail",
            message=f"{record.name} does not allow commercial use: {record.summary}",
            evidence=evidence,
            remediation="choose a model whose licence allows commercial use",
        )
        return
    cap = record.monthly_active_user_cap
    users = policy.monthly_active_users
    if policy.commercial_use and cap is not None and users is not None and users > cap:
        yield Finding(
            severity="fail",
            message=f"{record.name} requires a separate licence above {cap:,} monthly active users; "
            f"the answers expect {users:,}",
            evidence={**evidence, "monthly_active_user_cap": cap},
            remediation="request a licence from the model's publisher, or choose another model",
        )
        return
    if policy.saas_hosting and record.saas_hosting == "no":
        yield Finding(
            severity="fail",
            message=f"{record.name} does not allow offering the model as a hosted service",
            evidence=evidence,
        )
        return
    duties = [d for d in (record.attribution, record.acceptable_use_policy) if d]
    if record.commercial_use == "conditional" or (policy.saas_hosting and record.saas_hosting == "conditional"):
        yield Finding(
            severity="info",
            message=f"{record.name} allows this use with conditions: {record.summary}",
            evidence={**evidence, "duties": duties},
        )
        return
    yield Finding(severity="pass", message=f"{record.name}: {record.summary}", evidence={**evidence, "duties": duties})


@hookimpl
def advisor_register_checks(register: Callable[[Check], None]) -> None:
    register(
        Check(
            id="LIC001",
            category="license",
            summary="Licence allows the planned (commercial) use",
            run=commercial_use_allowed,
            kinds=("open_source",),
        )
    )

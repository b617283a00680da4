"""ACME's model policy, packaged as a model-advisor plugin discovered through its entry point."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from advisor import Candidate, Check, Finding, Requirements, StrategySignal, hookimpl

__version__ = "0.1.0"


def no_gated_repos(candidate: Candidate, requirements: Requirements) -> Iterator[Finding]:
    if candidate.gated:
        yield Finding(
            severity="warn",
            message="gated on the Hub: legal must accept the terms first",
            remediation="ask legal@acme.example to accept the model's terms",
        )


@hookimpl
def advisor_register_checks(register: Callable[[Check], None]) -> None:
    register(
        Check(
            id="ACME100",
            category="policy",
            summary="Gated repositories need legal sign-off",
            run=no_gated_repos,
            kinds=("open_source",),
        )
    )


@hookimpl
def advisor_strategy_signals(requirements: Requirements) -> StrategySignal | None:
    if requirements.privacy.data_residency == "EU":
        return StrategySignal(strategy="open_source", weight=1.0, reason="ACME keeps EU customer data in-house")
    return None

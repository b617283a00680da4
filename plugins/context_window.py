"""CTX001: the model's context window must hold the context the answers ask for."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from advisor import Candidate, Check, Finding, Requirements, hookimpl


def context_fits(candidate: Candidate, requirements: Requirements) -> Iterator[Finding]:
    window = candidate.context_length
    needed = requirements.context_tokens
    if candidate.kind == "build" or window is None:
        yield Finding(severity="info", message="context window not known for this candidate")
        return
    if window < needed:
        yield Finding(
            severity="fail",
            message=f"context window {window:,} tokens is shorter than the {needed:,} required",
            evidence={"context_length": window, "required": needed},
            remediation="pick a long-context model, or chunk the input (RAG) to fit the window",
        )
    else:
        yield Finding(
            severity="pass",
            message=f"context window {window:,} tokens holds the {needed:,} required",
            evidence={"context_length": window, "required": needed},
        )


@hookimpl
def advisor_register_checks(register: Callable[[Check], None]) -> None:
    register(
        Check(id="CTX001", category="context", summary="Context window covers the required context", run=context_fits)
    )

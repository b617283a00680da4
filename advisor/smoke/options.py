"""What the user asks ``advisor smoke`` for (the CLI flags) and the defaults they start from."""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_CONTEXT = 2048
DEFAULT_MAX_TOKENS = 64
DEFAULT_TIMEOUT_S = 600.0
DEFAULT_PROMPT = "Write one sentence about the sea."


@dataclass(frozen=True)
class SmokeOptions:
    """The CLI flags of one smoke run."""

    context: int | None = None
    max_tokens: int = DEFAULT_MAX_TOKENS
    prompt: str = DEFAULT_PROMPT
    threads: int | None = None
    seed: int = 0
    gpu_layers: int | str = "auto"
    timeout_s: float = DEFAULT_TIMEOUT_S
    force: bool = False
    record: bool = True

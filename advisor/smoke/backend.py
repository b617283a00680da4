"""The inference backend the smoke test runs on (llama.cpp through llama-cpp-python, an install
extra), and the check that it is there before anything else is done."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from advisor.errors import EnvironmentProblem

BACKEND = "llama.cpp"
INSTALL_COMMAND = "pip install 'model-advisor[smoke]'"


def check_backend(backends: Sequence[Any]) -> None:
    """Exit 3 with the install command when the llama.cpp backend is missing."""
    backend = next((b for b in backends if b.name == BACKEND), None)
    hint = (backend.install_hint if backend is not None else "") or INSTALL_COMMAND
    if backend is None:
        raise EnvironmentProblem(f"the {BACKEND} backend plugin is not loaded (is it disabled?); install: {hint}")
    if not backend.is_available():
        raise EnvironmentProblem(f"llama-cpp-python is not installed; install it with: {hint}")

"""The llama.cpp backend for ``advisor smoke`` (through llama-cpp-python, an install extra)."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable

from advisor import Backend, hookimpl


def llama_cpp_installed() -> bool:
    """True when llama-cpp-python can be imported (checked without importing it: it is heavy)."""
    return importlib.util.find_spec("llama_cpp") is not None


@hookimpl
def advisor_register_backends(register: Callable[[Backend], None]) -> None:
    register(
        Backend(
            name="llama.cpp",
            description="llama.cpp through llama-cpp-python, CPU or GPU",
            formats=("gguf",),
            is_available=llama_cpp_installed,
            install_hint="pip install 'model-advisor[smoke]'",
        )
    )

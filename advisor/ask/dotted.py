"""Dotted paths into nested answers data: a question's field ``traffic.requests_per_day`` names
``data["traffic"]["requests_per_day"]``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple


class Found(NamedTuple):
    """Whether a dotted path is present, and its value (None when absent)."""

    present: bool
    value: Any


def get_path(data: Mapping[str, Any], dotted: str) -> Found:
    """Whether a dotted path is in nested mappings, and its value."""
    node: Any = data
    for part in dotted.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return Found(False, None)
        node = node[part]
    return Found(True, node)


def set_path(data: dict[str, Any], dotted: str, value: Any) -> None:
    """Set a dotted path, creating the mappings on the way (a section given as null becomes one)."""
    parts = dotted.split(".")
    node = data
    for part in parts[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            child = {}
            node[part] = child
        node = child
    node[parts[-1]] = value

"""Reading YAML/JSON input and turning validation errors into one readable line.

Shared by answers files, catalog files and model config.json files (on disk or from the Hub) so
all report problems the same way: the file, the field path, what was expected.

Every such file is untrusted input, so reading it is bounded (docs/design.md §7, "Untrusted input"):
only a regular file is opened (a FIFO would block, ``/dev/zero`` never ends), and only up to a size
cap; nesting deeper than :data:`MAX_DEPTH` is refused before anything recurses over it; YAML aliases
may expand to at most :data:`MAX_ALIAS_NODES` nodes (an alias bomb of 60 lines expands to millions)
and may never contain themselves.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from pydantic import ValidationError

from advisor.errors import InputError

if TYPE_CHECKING:
    from advisor.catalog.records import ArchitectureConfig


def format_validation_error(where: str, error: ValidationError) -> str:
    """One line naming each bad field path and what was expected, e.g. ``a.yaml: traffic.x: ...``."""
    parts = []
    items = error.errors()
    # A field typed as a union (``hardware: list | "cloud"``) reports one error per branch, with the
    # branch name in the path; keep the branch that matches what the user wrote.
    tagged = [i for i in items if any(isinstance(p, str) and "[" in p for p in i["loc"])]
    if len(tagged) > 1:
        matching = [i for i in tagged if i["type"] != "literal_error"]
        items = [i for i in items if i not in tagged or i in matching] if matching else items
    for item in items:
        loc = [p for p in item["loc"] if not (isinstance(p, str) and "[" in p)]
        path = ".".join(str(p) for p in loc) or "(top level)"
        if item["type"] == "extra_forbidden":
            parts.append(f"{path}: unknown key")
        elif not loc and item["type"] == "value_error":  # a model-wide check: its message names the fields
            parts.append(str(item["msg"]).removeprefix("Value error, "))
        else:
            got = item.get("input")
            shown = "" if isinstance(got, dict | list) else f" (got {got!r})"
            parts.append(f"{path}: {item['msg'].lower()}{shown}")
    return f"{where}: " + "; ".join(parts)


#: Largest answers file read (an answers file is a few hundred bytes; the examples are under 2 KB).
MAX_ANSWERS_BYTES = 1 << 20
#: Largest config.json or catalog file read (configs are 1-100 KB; the whole built-in catalog ~0.5 MB).
MAX_CONFIG_BYTES = 16 << 20
#: Deepest nesting of maps and lists accepted (no answers, catalog or config file goes past ~8).
MAX_DEPTH = 64
#: Nodes YAML aliases may add when expanded (the catalog shares a few hundred source URLs this way).
MAX_ALIAS_NODES = 10_000


def read_text_file(path: Path, limit: int, what: str = "a YAML or JSON file") -> str:
    """The UTF-8 text of a regular file of at most ``limit`` bytes; anything else is one InputError line.

    The path is looked at before it is opened: opening a FIFO blocks until someone writes to it,
    and a device such as ``/dev/zero`` never ends. The read itself stops one byte past the cap, so
    a file growing under us cannot exhaust memory either.
    """
    try:
        info = path.stat()
    except FileNotFoundError:
        raise InputError(f"{path}: file not found") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if stat.S_ISDIR(info.st_mode):
        raise InputError(f"{path}: is a directory, expected {what}")
    if not stat.S_ISREG(info.st_mode):
        raise InputError(f"{path}: not a regular file (a pipe, socket or device), expected {what}")
    cap = f"{limit / (1 << 20):g} MiB"
    if info.st_size > limit:
        raise InputError(f"{path}: {info.st_size} bytes, more than the {cap} this tool reads from {what}")
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        with os.fdopen(fd, "rb") as handle:
            if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):  # swapped since the stat above
                raise InputError(f"{path}: not a regular file (a pipe, socket or device), expected {what}")
            data = handle.read(limit + 1)
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if len(data) > limit:
        raise InputError(f"{path}: more than the {cap} this tool reads from {what}")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: cannot read: not UTF-8 text ({exc.reason} at byte {exc.start})") from None


def _check_depth(data: Any, where: str) -> None:
    """Refuse parsed data nested deeper than :data:`MAX_DEPTH` (an explicit stack: no recursion)."""
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict | list):
            if depth > MAX_DEPTH:
                raise InputError(f"{where}: nested too deep (more than {MAX_DEPTH} levels of maps and lists)")
            children = value.values() if isinstance(value, dict) else value
            stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))


def parse_structured_text(text: str, where: str, suffix: str) -> Any:
    """Parse YAML or JSON (chosen by ``suffix``); syntax errors become one line with the position."""
    if suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputError(f"{where}: invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}") from None
        except RecursionError:
            raise InputError(f"{where}: nested too deep (more than {MAX_DEPTH} levels of maps and lists)") from None
        _check_depth(data, where)
        return data
    try:
        return _load_yaml(text, where)
    except RecursionError:  # the pure-Python parser (no libyaml) recurses per level
        raise InputError(f"{where}: nested too deep (more than {MAX_DEPTH} levels of maps and lists)") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        raise InputError(f"{where}: invalid YAML{at}: {problem}") from None


#: libyaml's C parser when installed (~10x faster on the catalog), with the same safe semantics.
_YAML_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_TAG = "tag:yaml.org,2002:"
#: Plain scalar types built straight from their resolved tag (strings are the node's own text).
_SCALAR_TAGS = frozenset(_TAG + t for t in ("int", "float", "bool", "null", "timestamp"))


class _Unusual(Exception):
    """A node outside what :func:`_build` handles: the document is constructed the standard way."""


def _check_nodes(root: yaml.Node, where: str) -> None:
    """Refuse a YAML node graph that nests too deep, contains itself, or whose aliases expand too far.

    Aliases make the composed graph a DAG whose expansion can be exponential in the text (each
    level of a "billion laughs" repeats the one below): the expanded size is counted per node, once,
    with an explicit stack, before anything is built or recursed over.
    """
    if isinstance(root, yaml.ScalarNode):
        return
    size: dict[int, int] = {}  # a map or list: its nodes, aliases expanded (scalars count 1)
    depth: dict[int, int] = {}
    distinct = 0
    open_nodes: set[int] = set()
    stack: list[tuple[yaml.Node, list[yaml.Node] | None]] = [(root, None)]
    while stack:
        node, children = stack.pop()
        key = id(node)
        if children is not None:  # every child is done: this node's totals
            open_nodes.discard(key)
            total, deepest = 1, 0
            for child in children:
                if isinstance(child, yaml.ScalarNode):
                    total += 1
                else:
                    total += size[id(child)]
                    deepest = max(deepest, depth[id(child)])
            if deepest >= MAX_DEPTH:
                raise InputError(f"{where}: nested too deep (more than {MAX_DEPTH} levels of maps and lists)")
            size[key], depth[key] = total, deepest + 1
            continue
        if key in size:
            continue
        kids = [part for pair in node.value for part in pair] if isinstance(node, yaml.MappingNode) else node.value
        distinct += 1 + sum(1 for child in kids if isinstance(child, yaml.ScalarNode))  # the nodes written
        open_nodes.add(key)
        stack.append((node, kids))
        for child in kids:
            if isinstance(child, yaml.ScalarNode):
                continue
            if id(child) in open_nodes:
                raise InputError(f"{where}: a YAML alias refers to a map or list that contains it (a cycle)")
            if id(child) not in size:
                stack.append((child, None))
    if size[id(root)] - distinct > MAX_ALIAS_NODES:
        raise InputError(
            f"{where}: YAML aliases expand to {size[id(root)] - distinct} more nodes, above the limit of "
            f"{MAX_ALIAS_NODES} (an alias bomb?)"
        )


def _load_yaml(text: str, where: str = "<yaml>") -> Any:
    """``yaml.load(text, Loader=_YAML_LOADER)``, with the same result, in about half the time.

    PyYAML's constructor spends most of a catalog file's load in per-node Python dispatch. Plain
    documents (maps, sequences and str/int/float/bool/null/timestamp scalars, anchors included) are
    built directly from the composed nodes; anything else (merge keys, other tags, a recursive
    alias, an unhashable key) falls back to PyYAML's own constructor, errors included.
    """
    loader = _YAML_LOADER(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _check_nodes(node, where)
        try:
            return _build(node, loader, {})
        except _Unusual:
            return loader.construct_document(node)
    finally:
        loader.dispose()


def _build(node: yaml.Node, loader: yaml.SafeLoader, built: dict[int, Any]) -> Any:
    """The Python value of ``node`` as SafeLoader builds it; ``built`` shares a node met twice (an alias)."""
    tag = node.tag
    if isinstance(node, yaml.ScalarNode):
        if tag == _TAG + "str":
            return node.value
        if tag in _SCALAR_TAGS:
            return loader.yaml_constructors[tag](loader, node)
        raise _Unusual
    key = id(node)
    if key in built:
        if built[key] is None:
            raise _Unusual  # a collection that contains itself
        return built[key]
    built[key] = None
    value: Any
    if isinstance(node, yaml.SequenceNode) and tag == _TAG + "seq":
        value = [_build(child, loader, built) for child in node.value]
    elif isinstance(node, yaml.MappingNode) and tag == _TAG + "map":
        value = {}
        for key_node, value_node in node.value:
            if key_node.tag in (_TAG + "merge", _TAG + "value"):
                raise _Unusual
            item_key = _build(key_node, loader, built)
            if isinstance(item_key, list | dict):
                raise _Unusual
            value[item_key] = _build(value_node, loader, built)
    else:
        raise _Unusual
    built[key] = value
    return value


def read_structured_file(path: Path, limit: int = MAX_ANSWERS_BYTES) -> Any:
    """Read and parse a YAML or JSON file: a regular file of at most ``limit`` bytes (:func:`read_text_file`)."""
    return parse_structured_text(read_text_file(path, limit), str(path), path.suffix)


def architecture_from_json(data: Any, where: str) -> ArchitectureConfig:
    """A parsed config.json as :class:`ArchitectureConfig`; any problem is one InputError naming ``where``.

    The normalising itself is :func:`advisor.estimate.tensors.architecture_from_config` (pure), the
    same for a file on disk and one from the Hub.
    """
    from advisor.estimate.tensors import architecture_from_config

    if not isinstance(data, dict):
        raise InputError(f"{where}: expected a JSON object")
    try:
        return architecture_from_config(data)
    except ValidationError as exc:
        raise InputError(format_validation_error(where, exc)) from None
    except ValueError as exc:
        raise InputError(f"{where}: {exc}") from None

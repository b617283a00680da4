"""Pure readings of what the Hub publishes: repo ids, GGUF file names, MoE configs, modalities.

No network and no files: each function turns a string or a parsed answer into a fact, so all of
it is tested without a Hub.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from advisor.catalog.records import ArchitectureConfig
from advisor.errors import InputError
from advisor.hub.records import GgufFile

_REPO_ID = re.compile(r"^[A-Za-z0-9][\w.-]{0,95}/[\w.-]{1,96}$")
_SPLIT = re.compile(r"-(\d{5})-of-(\d{5})(?=\.gguf$)", re.IGNORECASE)
_QUANT = re.compile(
    r"(?<![A-Za-z0-9])(I?Q\d(?:_[A-Z0-9]+)*|TQ\d_\d|MXFP4(?:_MOE)?|BF16|FP16|F16|FP32|F32)(?![A-Za-z0-9])",
    re.IGNORECASE,
)
_QUANT_ALIASES = {"FP16": "F16", "FP32": "F32"}


def is_hub_repo_id(text: str) -> bool:
    """True for ``owner/name`` (the form MODEL takes for a Hub repo), not for paths or API ids.

    The one test of a repo id: ``advisor check``/``plan``, ``advisor fit`` (through
    :func:`advisor.engine.model_source.resolve_model`) and ``advisor smoke`` (through
    :func:`~advisor.engine.model_source.resolve_gguf`) all ask it.
    """
    return bool(_REPO_ID.match(text)) and ".." not in text and "--" not in text and not Path(text).exists()


def check_repo_id(repo_id: str) -> None:
    """Raise :class:`InputError` unless ``repo_id`` is a Hub repo id (before any request is made)."""
    if not is_hub_repo_id(repo_id):
        raise InputError(f"MODEL {repo_id}: not a Hugging Face repo id (expected owner/name, e.g. Qwen/Qwen2.5-7B)")


def canonical_quant(quant: str) -> str:
    """A quant type as the file names are matched: upper case, ``FP16`` as ``F16``."""
    wanted = quant.strip().upper()
    return _QUANT_ALIASES.get(wanted, wanted)


def parse_quant(filename: str) -> str | None:
    """The quant type named in a GGUF file name (``Q4_K_M``, ``IQ2_XS``, ``BF16`` ...), upper case.

    The last match in the base name wins (names carry the model's own version numbers first);
    a folder name (``Q4_K_M/model-00001-of-00002.gguf``) is used when the base name has none.
    """
    parts = filename.replace("\\", "/").split("/")
    for part in reversed(parts):
        stem = _SPLIT.sub("", part)
        stem = re.sub(r"\.gguf$", "", stem, flags=re.IGNORECASE)
        found = _QUANT.findall(stem)
        if found:
            return canonical_quant(str(found[-1]))
    return None


def group_gguf_files(files: Iterable[tuple[str, int | None]]) -> tuple[list[GgufFile], list[str]]:
    """GGUF models from ``(path, size)`` pairs: split parts summed; mmproj projectors listed apart."""
    groups: dict[str, list[tuple[int, str, int]]] = {}
    projectors: list[str] = []
    for path, size in files:
        if not path.lower().endswith(".gguf"):
            continue
        if path.rsplit("/", 1)[-1].lower().startswith("mmproj"):
            projectors.append(path)
            continue
        split = _SPLIT.search(path)
        key = _SPLIT.sub("", path) if split else path
        index = int(split.group(1)) if split else 1
        groups.setdefault(key, []).append((index, path, size or 0))
    result = []
    for key in sorted(groups):
        parts = sorted(groups[key])
        result.append(
            GgufFile(
                filename=parts[0][1],
                size_bytes=sum(p[2] for p in parts),
                quant=parse_quant(key),
                parts=[p[1] for p in parts],
            )
        )
    return result, sorted(projectors)


def choose_gguf(repo_id: str, files: list[GgufFile], quant: str) -> GgufFile:
    """The file for ``quant`` (case-insensitive); the shallowest path wins when several match."""
    if not files:
        raise InputError(f"MODEL {repo_id}: the repository has no GGUF files (llama.cpp needs a GGUF repo)")
    wanted = canonical_quant(quant)
    matches = [f for f in files if f.quant == wanted]
    if not matches:
        available = ", ".join(sorted({f.quant for f in files if f.quant})) or "none named"
        raise InputError(f"--quant {quant}: MODEL {repo_id} has no GGUF file of that type (available: {available})")
    return min(matches, key=lambda f: (f.filename.count("/"), len(f.filename), f.filename))


def _count(value: Any, default: int) -> int:
    """A config's small non-negative integer (a layer index or step); anything else is ``default``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return default
    return value


def moe_active_params(total: int, arch: ArchitectureConfig) -> int:
    """Parameters one token uses in a mixture of experts; ``total`` for a dense model.

    ``total − (experts − experts_per_token) × sparse_layers × 3 × hidden × expert_width``: each
    unused expert is a gated MLP (gate, up, down). The expert width is ``moe_intermediate_size``
    when given (Qwen-MoE, DeepSeek), else ``intermediate_size`` (Mixtral); dense layers
    (``first_k_dense_replace``, ``mlp_only_layers``, ``decoder_sparse_step``) are not counted.
    This reproduces the catalog's counts for Mixtral 8x7B and Qwen3-30B-A3B.
    """
    experts, used = arch.num_local_experts, arch.num_experts_per_tok
    if not experts or not used or used >= experts:
        return total
    extra = arch.model_extra or {}
    width = extra.get("moe_intermediate_size") or arch.intermediate_size
    if not isinstance(width, int) or width <= 0:
        return total
    n = arch.num_hidden_layers  # bounded by ArchitectureConfig: the loop below stays short
    listed = extra.get("mlp_only_layers")
    dense = {i for i in listed if isinstance(i, int)} if isinstance(listed, list) else set()
    first_dense = _count(extra.get("first_k_dense_replace"), 0)
    step = _count(extra.get("decoder_sparse_step"), 1)
    sparse = sum(1 for i in range(n) if i >= first_dense and i not in dense and (i + 1) % max(step, 1) == 0)
    inactive = (experts - used) * sparse * 3 * arch.hidden_size * width
    active = total - inactive
    return active if 0 < active <= total else total


#: Input modalities implied by a pipeline tag (the Hub's task taxonomy).
_TASK_MODALITIES: dict[str, list[str]] = {
    "text-generation": ["text"],
    "text2text-generation": ["text"],
    "image-text-to-text": ["text", "image"],
    "visual-question-answering": ["text", "image"],
    "audio-text-to-text": ["text", "audio"],
}


def modalities(pipeline_tag: str | None, config: Any) -> list[str] | None:
    """Input modalities from the pipeline tag, widened by a ``vision_config`` / ``audio_config``."""
    found = list(_TASK_MODALITIES.get(pipeline_tag or "", []))
    if isinstance(config, dict):
        if isinstance(config.get("vision_config"), dict) and "image" not in found:
            found.append("image")
        if isinstance(config.get("audio_config"), dict) and "audio" not in found:
            found.append("audio")
    if found and "text" not in found:
        found.insert(0, "text")
    return found or None


def as_list(value: Any) -> list[str]:
    """A card field that may be missing, one string or a list, as a list of strings."""
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value if v is not None]
    return [str(value)]

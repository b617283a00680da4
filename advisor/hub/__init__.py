"""The Hugging Face Hub as a source of model facts, through ``huggingface_hub``.

Everything the checks need about a model the catalog does not know is read from the Hub: the
licence (card data, tags, ``license_name`` / ``license_link``), the gated flag, the ``base_model``
lineage, languages, the safetensors parameter count, the architecture from the repo's
``config.json`` (downloaded, parsed as JSON, never executed: there is no ``trust_remote_code``
anywhere in this project), and the GGUF files with their sizes and quant types.

I/O rules, because this is the edge where the network and untrusted data come in:

* Settings (``HF_ENDPOINT``, ``HF_HOME`` / ``HF_HUB_CACHE``, ``HF_TOKEN``, ``HF_HUB_OFFLINE``) are
  read on every call and passed to the client explicitly. ``huggingface_hub`` itself reads them once
  at import time, which would make a changed environment (tests, a long-lived process) silently
  talk to the wrong Hub.
* Files go through ``hf_hub_download`` and so through huggingface_hub's own cache (blobs keyed by
  ETag, snapshots by commit). The API answers (``model_info``) have no such cache, so the facts
  built from them are kept as one JSON file per repo under :func:`metadata_cache_dir`; offline
  mode reads those and the file cache, and never opens a connection.
* Every failure becomes one line: a missing or gated repo is the user's input (exit 2); rate
  limiting after a bounded backoff, no network, or a cold cache offline is the environment (exit 3).
  Messages never carry the token: they are built here, and anything quoted from the Hub passes
  through :func:`redact` first.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import os
import re
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from advisor.catalog.records import ArchitectureConfig, ModelRecord
from advisor.errors import AdvisorError, EnvironmentProblem, InputError
from advisor.files.structured import format_validation_error

if TYPE_CHECKING:
    from advisor.model.requirements import Requirements

T = TypeVar("T")

HUB_WEB_URL = "https://huggingface.co"
DEFAULT_ENDPOINT = HUB_WEB_URL

#: Attempts for one API call when the Hub answers 429 or a 5xx, and the waits between them
#: (doubling from BASE, capped at MAX; a ``Retry-After`` header is honoured up to RETRY_AFTER_CAP).
MAX_ATTEMPTS = 4
BASE_DELAY_S = 1.0
MAX_DELAY_S = 8.0
RETRY_AFTER_CAP_S = 30.0
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})

#: How many listed repos ``search_models`` inspects at most, per result asked for.
SCAN_FACTOR = 5
SCAN_MIN = 50

#: Hops followed along ``base_model`` to find a config.json for GGUF-only repos.
MAX_LINEAGE_HOPS = 2

_REPO_ID = re.compile(r"^[A-Za-z0-9][\w.-]{0,95}/[\w.-]{1,96}$")
_SPLIT = re.compile(r"-(\d{5})-of-(\d{5})(?=\.gguf$)", re.IGNORECASE)
_QUANT = re.compile(
    r"(?<![A-Za-z0-9])(I?Q\d(?:_[A-Z0-9]+)*|TQ\d_\d|MXFP4(?:_MOE)?|BF16|FP16|F16|FP32|F32)(?![A-Za-z0-9])",
    re.IGNORECASE,
)
_QUANT_ALIASES = {"FP16": "F16", "FP32": "F32"}
_TOKEN_PATTERN = re.compile(r"hf_[A-Za-z0-9]{8,}")

_sleep: Callable[[float], None] = time.sleep  # replaced in tests to observe the backoff


# --------------------------------------------------------------------------------------------
# Data


class GgufFile(BaseModel):
    """One GGUF model in a repo; a split model (``-00001-of-00003``) is one entry for all parts."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    filename: str = Field(description="path in the repo; the first part of a split model")
    size_bytes: int = Field(ge=0, description="bytes on the Hub, summed over all parts")
    quant: str | None = Field(description="quant type parsed from the file name, upper case; None if unnamed")
    parts: list[str] = Field(default_factory=list, description="every part in order (one entry when not split)")


class HubModel(BaseModel):
    """What the Hub says about one repo, with the :class:`ModelRecord` built from it."""

    model_config = ConfigDict(extra="forbid")

    repo_id: str
    record: ModelRecord
    pipeline_tag: str | None = None
    gguf_files: list[GgufFile] = Field(default_factory=list)
    downloads: int | None = None
    likes: int | None = None
    sha: str | None = None
    license_id: str | None = Field(default=None, description="the card's `license:` value as published")
    license_name: str | None = None
    license_link: str | None = None
    gated_mode: str | None = Field(default=None, description="'auto' or 'manual' when gated")
    base_models: list[str] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    library_name: str | None = None
    params_source: str = Field(description="where `params` came from: safetensors, gguf or a base model")
    config_source: str = Field(description="repo whose config.json gave the architecture")
    projector_files: list[str] = Field(default_factory=list, description="mmproj GGUFs (vision), not models")
    unsafe_files: list[str] = Field(default_factory=list, description="files the Hub's security scan flagged")
    fetched_at: dt.datetime
    from_cache: bool = False


# --------------------------------------------------------------------------------------------
# Settings, read at call time


@dataclass(frozen=True)
class HubSettings:
    """Where the Hub is, where files are cached, and which token to send (None: send none)."""

    endpoint: str
    hub_cache: Path
    token: str | None
    offline: bool


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


def hf_home() -> Path:
    """``HF_HOME``, else ``$XDG_CACHE_HOME/huggingface``, else ``~/.cache/huggingface`` (the client's rule)."""
    if os.environ.get("HF_HOME"):
        return Path(os.environ["HF_HOME"]).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg).expanduser() if xdg else Path.home() / ".cache") / "huggingface"


def metadata_cache_dir() -> Path:
    """Where the facts built from API answers are kept for offline use: ``<advisor cache>/hub``.

    The advisor cache is ``$ADVISOR_CACHE_DIR``, else ``$XDG_CACHE_HOME/model-advisor``, else
    ``~/.cache/model-advisor`` (the rule advisor.machine uses for its own cache). Not inside the
    Hub cache: huggingface_hub's cache scanner would report a foreign folder as a corrupted repo.
    """
    explicit = os.environ.get("ADVISOR_CACHE_DIR")
    if explicit:
        base = Path(explicit).expanduser()
    else:
        xdg = os.environ.get("XDG_CACHE_HOME")
        base = (Path(xdg).expanduser() if xdg else Path.home() / ".cache") / "model-advisor"
    return base / "hub"


def _read_token() -> str | None:
    for name in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN"):
        value = (os.environ.get(name) or "").strip()
        if value:
            return value
    path = Path(os.environ.get("HF_TOKEN_PATH") or hf_home() / "token").expanduser()
    try:
        value = path.read_text(encoding="utf-8").strip()
    except OSError:
        return None
    return value or None


def settings(*, offline: bool = False) -> HubSettings:
    """The current settings; ``offline`` is the ``--offline`` flag, OR-ed with ``HF_HUB_OFFLINE``."""
    endpoint = (os.environ.get("HF_ENDPOINT") or DEFAULT_ENDPOINT).rstrip("/")
    cache = os.environ.get("HF_HUB_CACHE") or os.environ.get("HUGGINGFACE_HUB_CACHE")
    return HubSettings(
        endpoint=endpoint,
        hub_cache=Path(cache).expanduser() if cache else hf_home() / "hub",
        token=_read_token(),
        offline=offline or _truthy(os.environ.get("HF_HUB_OFFLINE")) or _truthy(os.environ.get("TRANSFORMERS_OFFLINE")),
    )


def redact(text: str, token: str | None = None) -> str:
    """``text`` with the token (and anything shaped like a Hub token) replaced by ``***``."""
    token = token if token is not None else _read_token()
    if token:
        text = text.replace(token, "***")
    return _TOKEN_PATTERN.sub("hf_***", text)


def is_hub_repo_id(text: str) -> bool:
    """True for ``owner/name`` (the form MODEL takes for a Hub repo), not for paths or API ids."""
    return bool(_REPO_ID.match(text)) and ".." not in text and "--" not in text and not Path(text).exists()


def _check_repo_id(repo_id: str) -> None:
    if not is_hub_repo_id(repo_id):
        raise InputError(f"MODEL {repo_id}: not a Hugging Face repo id (expected owner/name, e.g. Qwen/Qwen2.5-7B)")


# --------------------------------------------------------------------------------------------
# Pure parsing: file names, configs, card data


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
            quant = str(found[-1]).upper()
            return _QUANT_ALIASES.get(quant, quant)
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


#: config.json keys some model families use for the fields ArchitectureConfig names the Llama way.
_CONFIG_ALIASES: dict[str, tuple[str, ...]] = {
    "num_hidden_layers": ("n_layer", "num_layers", "n_layers"),
    "hidden_size": ("n_embd", "d_model"),
    "num_attention_heads": ("n_head", "num_heads", "n_heads"),
    "intermediate_size": ("n_inner", "ffn_dim"),
    "max_position_embeddings": ("n_positions", "seq_length", "max_sequence_length", "max_seq_len"),
    "num_key_value_heads": ("num_kv_heads", "multi_query_group_num", "n_head_kv"),
    "num_local_experts": ("num_experts", "n_routed_experts", "moe_num_experts"),
}


def normalise_config(config: dict[str, Any]) -> dict[str, Any]:
    """A config.json reshaped for :class:`ArchitectureConfig`.

    Multimodal configs keep the language model in ``text_config``; other families spell the core
    fields differently (GPT-2 ``n_layer``, Qwen-MoE ``num_experts``); Qwen2 ships a
    ``sliding_window`` that ``use_sliding_window: false`` switches off.
    """
    data = dict(config)
    text = data.get("text_config")
    if isinstance(text, dict) and "num_hidden_layers" not in data:
        top = {k: v for k, v in data.items() if k not in ("text_config", "vision_config", "audio_config")}
        data = {**top, **text, "model_type": text.get("model_type") or top.get("model_type")}
    for name, aliases in _CONFIG_ALIASES.items():
        if data.get(name) is None:
            for alias in aliases:
                if isinstance(data.get(alias), int) and not isinstance(data.get(alias), bool):
                    data[name] = data[alias]
                    break
    if data.get("use_sliding_window") is False:
        data["sliding_window"] = None
    return data


def architecture_from_config(config: Any, where: str) -> ArchitectureConfig:
    """Validate a config.json as :class:`ArchitectureConfig`; errors name ``where`` and the field."""
    if not isinstance(config, dict):
        raise InputError(f"{where}: expected a JSON object")
    try:
        return ArchitectureConfig.model_validate(normalise_config(config))
    except ValidationError as exc:
        raise InputError(format_validation_error(where, exc)) from None


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
    n = arch.num_hidden_layers
    dense = set(extra.get("mlp_only_layers") or [])
    first_dense = int(extra.get("first_k_dense_replace") or 0)
    step = int(extra.get("decoder_sparse_step") or 1)
    sparse = sum(1 for i in range(n) if i >= first_dense and i not in dense and (i + 1) % max(step, 1) == 0)
    inactive = (experts - used) * sparse * 3 * arch.hidden_size * width
    active = total - inactive
    return active if 0 < active <= total else total


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value if v is not None]
    return [str(value)]


@functools.lru_cache(maxsize=1)
def _licence_ids() -> dict[str, str]:
    """Lower-case id or alias -> catalog licence id, from the built-in catalog/licenses.yaml."""
    from advisor.catalog.loader import builtin_catalog_path, read_catalog_file

    names: dict[str, str] = {}
    for record in read_catalog_file(builtin_catalog_path("licenses")).get("licenses", []):
        record_id = str(getattr(record, "id"))  # noqa: B009 - LicenseRecord
        names[record_id.lower()] = record_id
        for alias in getattr(record, "aliases", []):
            names.setdefault(str(alias).lower(), record_id)
    return names


def canonical_licence(name: str | None) -> str | None:
    """The catalog licence id for a Hub licence id, ``license_name`` or alias; unknown names as given."""
    if not name:
        return None
    cleaned = name.strip()
    return _licence_ids().get(cleaned.lower(), cleaned)


@dataclass(frozen=True)
class LicenceFacts:
    """The licence as the card states it, and the id the licence checks look up."""

    record_id: str
    license_id: str | None
    license_name: str | None
    license_link: str | None


def licence_from_card(card: dict[str, Any], tags: Iterable[str]) -> LicenceFacts:
    """``license`` from card data, else a ``license:`` tag; ``other`` defers to ``license_name``."""
    published = next(iter(_as_list(card.get("license"))), None)
    if published is None:
        published = next((t.split(":", 1)[1] for t in tags if t.startswith("license:")), None)
    name = card.get("license_name")
    link = card.get("license_link")
    name = str(name) if name else None
    link = str(link) if link else None
    chosen = name if (published in (None, "other") and name) else published
    return LicenceFacts(canonical_licence(chosen) or "unknown", published, name, link)


# --------------------------------------------------------------------------------------------
# Errors


def _status(exc: BaseException) -> int | None:
    response = getattr(exc, "response", None)
    status = getattr(response, "status_code", None)
    return status if isinstance(status, int) else None


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _is_network_error(exc: BaseException) -> bool:
    module = type(exc).__module__.split(".")[0]
    if module in {"httpx", "httpx2", "requests", "urllib3", "httpcore"}:
        return True
    return isinstance(exc, (ConnectionError, TimeoutError)) and _status(exc) is None


def _retry_after(exc: BaseException) -> float | None:
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None)
    value = headers.get("Retry-After") if headers is not None else None
    try:
        return min(float(value), RETRY_AFTER_CAP_S) if value is not None else None
    except ValueError:
        return None


def translate_error(exc: BaseException, repo_id: str | None, what: str, hub: HubSettings) -> AdvisorError:
    """One user-facing error for a failure of the client; never quotes the token."""
    from huggingface_hub.errors import (
        EntryNotFoundError,
        GatedRepoError,
        LocalEntryNotFoundError,
        OfflineModeIsEnabled,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    subject = f"MODEL {repo_id}" if repo_id else "Hugging Face Hub"
    page = f"{HUB_WEB_URL}/{repo_id}" if repo_id else HUB_WEB_URL
    for err in _chain(exc):
        if isinstance(err, GatedRepoError):
            if hub.token:
                return InputError(
                    f"{subject}: gated repository, and the token in HF_TOKEN has no access yet: accept the terms "
                    f"on {page} with that account (some repos approve requests by hand), then retry"
                )
            return InputError(
                f"{subject}: gated repository: log in on {page} and accept its terms, then create a read token "
                f"at {HUB_WEB_URL}/settings/tokens and set it as HF_TOKEN"
            )
        if isinstance(err, RepositoryNotFoundError):
            hint = "" if hub.token else " (a private repo needs HF_TOKEN)"
            return InputError(f"{subject}: no such repository on the Hub{hint}")
        if isinstance(err, RevisionNotFoundError):
            return InputError(f"{subject}: the Hub has no such revision for {what}")
        if isinstance(err, EntryNotFoundError) and not isinstance(err, LocalEntryNotFoundError):
            return InputError(f"{subject}: {what} is not in the repository")
        if isinstance(err, OfflineModeIsEnabled):
            return EnvironmentProblem(f"{subject}: {what} is not in the local cache and offline mode is on")
        status = _status(err)
        if status == 429:
            return EnvironmentProblem(
                f"{subject}: the Hub is rate limiting requests (HTTP 429) for {what}, still after retrying with "
                "backoff; wait a few minutes, set HF_TOKEN for a higher limit, or use --offline with cached data"
            )
        if status == 401:
            if hub.token:
                return InputError(f"{subject}: the Hub rejected the token in HF_TOKEN (HTTP 401): create a new one")
            return InputError(f"{subject}: the Hub asks for a token (HTTP 401): set HF_TOKEN to a read token")
        if status == 403:
            why = "the token in HF_TOKEN lacks read permission here" if hub.token else "set HF_TOKEN to a read token"
            return InputError(f"{subject}: the Hub refused access (HTTP 403): {why}")
        if status is not None and status >= 500:
            return EnvironmentProblem(
                f"{subject}: the Hub answered HTTP {status} for {what}; retry later or use --offline"
            )
        if status is not None:
            return EnvironmentProblem(f"{subject}: the Hub answered HTTP {status} for {what}")
    for err in _chain(exc):
        if _is_network_error(err):
            return EnvironmentProblem(
                f"{subject}: cannot reach the Hugging Face Hub at {hub.endpoint} ({type(err).__name__}) for {what}; "
                "check the network, or use --offline (HF_HUB_OFFLINE=1) to work from the cache"
            )
    if isinstance(exc, LocalEntryNotFoundError):
        if hub.offline:
            return EnvironmentProblem(f"{subject}: {what} is not in the local cache and offline mode is on")
        return EnvironmentProblem(
            f"{subject}: cannot download {what} from {hub.endpoint} and it is not cached; "
            "check the network, or use --offline (HF_HUB_OFFLINE=1) with a warm cache"
        )
    detail = " ".join(str(exc).split())  # one line, whatever the client's message looks like
    return EnvironmentProblem(redact(f"{subject}: {what} failed: {type(exc).__name__}: {detail}", hub.token))


def _retrying(call: Callable[[], T]) -> T:
    """``call()``, retried on 429 and 5xx with bounded exponential backoff; the last error is raised as is.

    Only for API calls: ``hf_hub_download`` already retries its own requests with a bounded backoff.
    """
    delay = BASE_DELAY_S
    for attempt in range(1, MAX_ATTEMPTS + 1):
        try:
            return call()
        except Exception as exc:
            if _status(exc) not in RETRY_STATUSES or attempt == MAX_ATTEMPTS:
                raise
            wait = _retry_after(exc)
            _sleep(min(wait if wait is not None else delay, RETRY_AFTER_CAP_S))
            delay = min(delay * 2, MAX_DELAY_S)
    raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises


def _with_backoff(call: Callable[[], T], repo_id: str | None, what: str, hub: HubSettings) -> T:
    """:func:`_retrying`, with failures translated into one-line errors."""
    try:
        return _retrying(call)
    except AdvisorError:
        raise
    except Exception as exc:
        raise translate_error(exc, repo_id, what, hub) from None


# --------------------------------------------------------------------------------------------
# The metadata cache (facts from API answers, for offline use)


def _cache_file(repo_id: str) -> Path:
    return metadata_cache_dir() / ("models--" + repo_id.replace("/", "--") + ".json")


def _read_cache(repo_id: str) -> dict[str, Any] | None:
    path = _cache_file(repo_id)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _write_cache(repo_id: str, **entries: Any) -> None:
    """Merge ``entries`` into the repo's cache file (written atomically; a failure only loses the cache)."""
    path = _cache_file(repo_id)
    data = _read_cache(repo_id) or {}
    data.update(entries)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(data, indent=1, sort_keys=True, default=str), encoding="utf-8")
        tmp.replace(path)
    except OSError:
        return


def cached_model(repo_id: str) -> HubModel | None:
    """The facts cached by the last online :func:`fetch_model` of ``repo_id``, if any."""
    data = _read_cache(repo_id)
    raw = data.get("model") if data else None
    if not isinstance(raw, dict):
        return None
    try:
        return HubModel.model_validate({**raw, "from_cache": True})
    except ValidationError:
        return None


def cached_models() -> list[HubModel]:
    """Every model in the metadata cache (for searching offline)."""
    folder = metadata_cache_dir()
    found = []
    for path in sorted(folder.glob("models--*.json")) if folder.is_dir() else []:
        repo_id = path.stem.removeprefix("models--").replace("--", "/", 1)
        model = cached_model(repo_id)
        if model is not None:
            found.append(model)
    return found


# --------------------------------------------------------------------------------------------
# Client calls


def _api(hub: HubSettings) -> Any:
    from huggingface_hub import HfApi

    return HfApi(endpoint=hub.endpoint, token=hub.token or False)


def _download_raw(hub: HubSettings, repo_id: str, filename: str, revision: str | None) -> Path:
    """One file through ``hf_hub_download`` (its cache, ETags, redirects and retries); offline: cache only."""
    from huggingface_hub import hf_hub_download

    return Path(
        hf_hub_download(
            repo_id,
            filename,
            revision=revision,
            cache_dir=str(hub.hub_cache),
            endpoint=hub.endpoint,
            token=hub.token or False,
            local_files_only=hub.offline,
        )
    )


def _download(hub: HubSettings, repo_id: str, filename: str, revision: str | None) -> Path:
    """:func:`_download_raw` with failures translated into one-line errors."""
    try:
        return _download_raw(hub, repo_id, filename, revision)
    except AdvisorError:
        raise
    except Exception as exc:
        raise translate_error(exc, repo_id, filename, hub) from None


def _model_info(hub: HubSettings, repo_id: str) -> Any:
    api = _api(hub)
    return _with_backoff(
        lambda: api.model_info(repo_id, files_metadata=True, securityStatus=True, token=hub.token or False),
        repo_id,
        "the model info",
        hub,
    )


def _card_dict(info: Any) -> dict[str, Any]:
    card = getattr(info, "card_data", None)
    if card is None:
        return {}
    if isinstance(card, dict):
        return dict(card)
    to_dict = getattr(card, "to_dict", None)
    return dict(to_dict()) if callable(to_dict) else {}


def _sibling_files(info: Any) -> list[tuple[str, int | None]]:
    files = []
    for sibling in getattr(info, "siblings", None) or []:
        size = getattr(sibling, "size", None)
        lfs = getattr(sibling, "lfs", None)
        if size is None and lfs is not None:
            size = lfs.get("size") if isinstance(lfs, dict) else getattr(lfs, "size", None)
        files.append((str(sibling.rfilename), size))
    return files


def _unsafe_files(info: Any) -> list[str]:
    status = getattr(info, "security_repo_status", None)
    if not isinstance(status, dict):
        return []
    flagged = status.get("filesWithIssues") or []
    names = [str(item.get("path")) if isinstance(item, dict) else str(item) for item in flagged]
    return sorted(n for n in names if n and n != "None")


def _safetensors_total(info: Any) -> int | None:
    st = getattr(info, "safetensors", None)
    total = st.get("total") if isinstance(st, dict) else getattr(st, "total", None)
    return total if isinstance(total, int) and total > 0 else None


def _gguf_meta(info: Any) -> dict[str, Any]:
    meta = getattr(info, "gguf", None)
    return meta if isinstance(meta, dict) else {}


def _load_config(hub: HubSettings, repo_id: str, revision: str | None, base_models: list[str]) -> tuple[Any, str]:
    """config.json of the repo, else of its base model(s): GGUF-only repos usually ship none."""
    from huggingface_hub.errors import EntryNotFoundError, LocalEntryNotFoundError

    tried: list[str] = []
    candidates = [(repo_id, revision)] + [(b, None) for b in base_models[:MAX_LINEAGE_HOPS]]
    for source, rev in candidates:
        try:
            path = _download_raw(hub, source, "config.json", rev)
        except EntryNotFoundError as exc:
            if not isinstance(exc, LocalEntryNotFoundError):  # the Hub says: no such file
                tried.append(f"{source} has no config.json")
                continue
            raise translate_error(exc, source, "config.json", hub) from None
        except Exception as exc:
            error = translate_error(exc, source, "config.json", hub)
            if source == repo_id:
                raise error from None
            raise type(error)(f"MODEL {repo_id}: has no config.json; its base model {source} failed: {error}") from None
        try:
            return json.loads(path.read_text(encoding="utf-8")), source
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise InputError(f"MODEL {repo_id}: config.json of {source} is not valid JSON: {exc}") from None
    detail = "; ".join(tried) or "no base_model in the card"
    raise InputError(
        f"MODEL {repo_id}: no config.json to read the architecture from ({detail}); "
        "pass a local config.json or .gguf as MODEL instead"
    )


def _base_params(hub: HubSettings, base_models: list[str]) -> tuple[int, str] | None:
    """The safetensors count of the first base model that has one (for GGUF-only repos)."""
    for base in base_models[:MAX_LINEAGE_HOPS]:
        try:
            info = _model_info(hub, base)
        except InputError:
            continue
        total = _safetensors_total(info)
        if total:
            return total, f"safetensors of base model {base}"
    return None


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


def _base_licence(hub: HubSettings, repo_id: str, base_models: list[str]) -> str | None:
    """The licence the first base model's card declares (a derivative may not loosen it).

    Best effort: a base that is missing, private or unreachable leaves it unknown rather than
    failing the model the user asked about.
    """
    base = next((b for b in base_models if b != repo_id), None)
    if base is None or not is_hub_repo_id(base):
        return None
    api = _api(hub)
    try:
        info = _retrying(lambda: api.model_info(base, expand=["cardData", "tags"], token=hub.token or False))
    except Exception:
        return None
    facts = licence_from_card(_card_dict(info), [str(t) for t in getattr(info, "tags", None) or []])
    return None if facts.record_id == "unknown" else facts.record_id


def build_hub_model(hub: HubSettings, repo_id: str, info: Any) -> HubModel:
    """The :class:`HubModel` for a ``model_info`` answer; downloads config.json as needed."""
    card = _card_dict(info)
    tags = [str(t) for t in getattr(info, "tags", None) or []]
    base_models = _as_list(card.get("base_model")) or _as_list(getattr(info, "base_models", None))
    sha = getattr(info, "sha", None)
    config, config_source = _load_config(hub, repo_id, sha, base_models)
    arch = architecture_from_config(config, f"MODEL {repo_id}: config.json of {config_source}")

    gguf_meta = _gguf_meta(info)
    params_source = "safetensors"
    params = _safetensors_total(info)
    if params is None and isinstance(gguf_meta.get("total"), int) and gguf_meta["total"] > 0:
        params, params_source = int(gguf_meta["total"]), "gguf metadata"
    if params is None:
        found = _base_params(hub, base_models)
        if found is not None:
            params, params_source = found
    if params is None:
        raise InputError(
            f"MODEL {repo_id}: the Hub gives no parameter count (no safetensors or GGUF metadata, "
            "nor for its base model); pass a local .gguf as MODEL instead"
        )

    context = arch.max_position_embeddings or gguf_meta.get("context_length")
    if not isinstance(context, int) or context <= 0:
        raise InputError(f"MODEL {repo_id}: config.json of {config_source} has no max_position_embeddings")

    licence = licence_from_card(card, tags)
    languages = list(dict.fromkeys(lang.strip().lower() for lang in _as_list(card.get("language")) if lang.strip()))
    gguf_files, projectors = group_gguf_files(_sibling_files(info))
    gated = getattr(info, "gated", None)
    pipeline_tag = getattr(info, "pipeline_tag", None) or card.get("pipeline_tag")
    fetched = dt.datetime.now(dt.UTC)
    active = moe_active_params(params, arch)

    notes = [f"From the Hugging Face Hub (commit {sha or 'unknown'}, read {fetched.date().isoformat()})."]
    notes.append(f"Parameters: {params_source}.")
    if active != params:
        notes.append("Active parameters: estimated from the MoE config (unused experts' gated MLPs removed).")
    if config_source != repo_id:
        notes.append(f"Architecture from the config.json of the base model {config_source}.")
    if licence.license_id == "other" or licence.license_name:
        notes.append(f"Licence: license={licence.license_id}, license_name={licence.license_name}.")
    if licence.license_link:
        notes.append(f"Licence text: {licence.license_link}.")
    if licence.record_id == "unknown":
        notes.append("The card states no licence.")

    base_licence = _base_licence(hub, repo_id, base_models)
    fields: dict[str, Any] = {
        "id": repo_id,
        "source": f"{HUB_WEB_URL}/{repo_id}",
        "as_of": fetched.date(),
        "name": repo_id.split("/", 1)[1],
        "family": arch.model_type,
        "architecture": arch,
        "params": params,
        "active_params": active,
        "license": licence.record_id,
        "context_length": context,
        "languages": languages,
        "gated": bool(gated),
        "base_model": base_models[0] if base_models else None,
        "notes": " ".join(notes),
        # fields the licence checks read, where this version of ModelRecord has them
        "license_name": licence.license_name,
        "license_link": licence.license_link,
        "base_model_license": base_licence,
        "modalities": modalities(str(pipeline_tag) if pipeline_tag else None, config),
    }
    try:
        record = ModelRecord(**{k: v for k, v in fields.items() if k in ModelRecord.model_fields})
    except ValidationError as exc:
        raise InputError(format_validation_error(f"MODEL {repo_id}: facts from the Hub", exc)) from None
    downloads = getattr(info, "downloads", None)
    likes = getattr(info, "likes", None)
    return HubModel(
        repo_id=repo_id,
        record=record,
        pipeline_tag=str(pipeline_tag) if pipeline_tag else None,
        gguf_files=gguf_files,
        downloads=downloads if isinstance(downloads, int) else None,
        likes=likes if isinstance(likes, int) else None,
        sha=sha,
        license_id=licence.license_id,
        license_name=licence.license_name,
        license_link=licence.license_link,
        gated_mode=str(gated) if gated else None,
        base_models=base_models,
        tags=tags,
        library_name=getattr(info, "library_name", None),
        params_source=params_source,
        config_source=config_source,
        projector_files=projectors,
        unsafe_files=_unsafe_files(info),
        fetched_at=fetched,
    )


# --------------------------------------------------------------------------------------------
# Public API


def fetch_model(repo_id: str, *, offline: bool = False) -> HubModel:
    """Everything the checks need about ``repo_id``, from the Hub (and cached), or from the cache offline."""
    _check_repo_id(repo_id)
    hub = settings(offline=offline)
    if hub.offline:
        cached = cached_model(repo_id)
        if cached is None:
            raise EnvironmentProblem(
                f"MODEL {repo_id}: not in the local Hub cache ({metadata_cache_dir()}) and offline mode is on "
                "(--offline or HF_HUB_OFFLINE=1); run once online to cache it"
            )
        return cached
    try:
        info = _model_info(hub, repo_id)
    except EnvironmentProblem as exc:
        cached = cached_model(repo_id)
        if cached is not None:
            raise EnvironmentProblem(
                f"{exc} (a copy cached on {cached.fetched_at.date().isoformat()} is available with --offline)"
            ) from None
        raise
    model = build_hub_model(hub, repo_id, info)
    _write_cache(
        repo_id,
        model=model.model_dump(mode="json", exclude={"from_cache"}),
        sha=model.sha,
        gguf_files=[f.model_dump(mode="json") for f in model.gguf_files],
    )
    return model


def model_record_for(model_id: str, *, offline: bool = False) -> ModelRecord:
    """The :class:`ModelRecord` for a Hub repo id (what ``check`` / ``fit`` call for an unknown MODEL)."""
    return fetch_model(model_id, offline=offline).record


def _gguf_listing(hub: HubSettings, repo_id: str) -> tuple[str | None, list[GgufFile]]:
    if hub.offline:
        data = _read_cache(repo_id)
        if not data or not isinstance(data.get("gguf_files"), list):
            raise EnvironmentProblem(
                f"MODEL {repo_id}: its file list is not in the local cache and offline mode is on "
                "(--offline or HF_HUB_OFFLINE=1); run once online to cache it"
            )
        try:
            files = [GgufFile.model_validate(f) for f in data["gguf_files"]]
        except ValidationError:
            raise EnvironmentProblem(f"MODEL {repo_id}: the cached file list is damaged; run once online") from None
        sha = data.get("sha")
        return (sha if isinstance(sha, str) else None), files
    info = _model_info(hub, repo_id)
    files, _ = group_gguf_files(_sibling_files(info))
    sha = getattr(info, "sha", None)
    _write_cache(repo_id, sha=sha, gguf_files=[f.model_dump(mode="json") for f in files])
    return sha, files


def choose_gguf(repo_id: str, files: list[GgufFile], quant: str) -> GgufFile:
    """The file for ``quant`` (case-insensitive); the shallowest path wins when several match."""
    if not files:
        raise InputError(f"MODEL {repo_id}: the repository has no GGUF files (llama.cpp needs a GGUF repo)")
    wanted = quant.strip().upper()
    wanted = _QUANT_ALIASES.get(wanted, wanted)
    matches = [f for f in files if f.quant == wanted]
    if not matches:
        available = ", ".join(sorted({f.quant for f in files if f.quant})) or "none named"
        raise InputError(f"--quant {quant}: MODEL {repo_id} has no GGUF file of that type (available: {available})")
    return min(matches, key=lambda f: (f.filename.count("/"), len(f.filename), f.filename))


def download_gguf(repo_id: str, quant: str, *, offline: bool = False) -> Path:
    """Download (or find in the cache) the GGUF for ``quant``; every part of a split model; the first's path."""
    _check_repo_id(repo_id)
    hub = settings(offline=offline)
    sha, files = _gguf_listing(hub, repo_id)
    chosen = choose_gguf(repo_id, files, quant)
    paths = [_download(hub, repo_id, part, sha) for part in chosen.parts or [chosen.filename]]
    with paths[0].open("rb") as handle:
        magic = handle.read(4)
    if magic != b"GGUF":
        raise InputError(f"MODEL {repo_id}: {chosen.filename} is not a GGUF file (bad magic {magic!r})")
    return paths[0]


def _list_models_kwargs(
    task: str | None, license: str | None, max_params: int | None, language: str | None, scan: int
) -> dict[str, Any]:
    import inspect

    from huggingface_hub import HfApi

    filters = []
    if license:
        filters.append(f"license:{license}")
    if language:
        filters.append(language)
    kwargs: dict[str, Any] = {
        "filter": filters or None,
        "pipeline_tag": task,
        "sort": "downloads",
        "limit": scan,
        "expand": [
            "cardData",
            "safetensors",
            "gguf",
            "gated",
            "downloads",
            "likes",
            "pipeline_tag",
            "tags",
            "sha",
            "library_name",
        ],
    }
    if max_params is not None and "num_parameters" in inspect.signature(HfApi.list_models).parameters:
        kwargs["num_parameters"] = f"max:{max_params}"
    return kwargs


def _matches(
    model: HubModel, task: str | None, license: str | None, max_params: int | None, language: str | None
) -> bool:
    if task and model.pipeline_tag != task:
        return False
    if license and canonical_licence(model.record.license) != canonical_licence(license):
        return False
    if max_params is not None and model.record.params > max_params:
        return False
    return not (language and language.lower() not in model.record.languages)


def search_models(
    *,
    task: str | None = None,
    license: str | None = None,
    max_params: int | None = None,
    language: str | None = None,
    limit: int = 20,
    offline: bool = False,
    on_skip: Callable[[str, str], None] | None = None,
) -> list[HubModel]:
    """The most downloaded Hub models that match, each fetched in full (record, GGUF files).

    The Hub filters by task, ``license:`` tag and language tag; ``max_params`` is applied to the
    safetensors (or GGUF) count from the listing, before anything is downloaded. A listed repo
    whose facts cannot be built (gated without a token, no config.json) is skipped and reported
    through ``on_skip(repo_id, reason)``. Offline, the metadata cache is searched instead.
    """
    if limit < 1:
        raise InputError(f"--limit {limit}: expected at least 1")
    hub = settings(offline=offline)
    if hub.offline:
        found = [m for m in cached_models() if _matches(m, task, license, max_params, language)]
        found.sort(key=lambda m: (-(m.downloads or 0), m.repo_id))
        return found[:limit]
    scan = max(SCAN_MIN, limit * SCAN_FACTOR)
    api = _api(hub)
    kwargs = _list_models_kwargs(task, license, max_params, language, scan)

    def listing() -> list[Any]:
        return list(api.list_models(**kwargs, token=hub.token or False))

    results: list[HubModel] = []
    for info in _with_backoff(listing, None, "the model search", hub):
        repo_id = str(info.id)
        total = _safetensors_total(info) or _gguf_meta(info).get("total")
        if max_params is not None:
            if not isinstance(total, int):
                if on_skip:
                    on_skip(repo_id, "the Hub gives no parameter count to compare with --max-params")
                continue
            if total > max_params:
                continue
        try:
            model = fetch_model(repo_id)
        except InputError as exc:
            if on_skip:
                on_skip(repo_id, str(exc))
            continue
        if _matches(model, task, license, max_params, language):
            results.append(model)
        if len(results) >= limit:
            break
    return results


def hub_models_for_requirements(
    requirements: Requirements,
    n: int,
    *,
    offline: bool = False,
    on_skip: Callable[[str, str], None] | None = None,
) -> list[HubModel]:
    """The top ``n`` text-generation models for ``advisor plan --hub N``: the first answered language."""
    language = requirements.languages[0] if requirements.languages else None
    return search_models(task="text-generation", language=language, limit=n, offline=offline, on_skip=on_skip)

"""What the Hub says today about a model the catalog already holds, for ``advisor catalog update``.

For one :class:`ModelRecord`, the fields the Hub is the source of, read the way ``advisor hub show``
reads them: the licence (card data, ``license_name`` for ``other``), the gated flag, the first
``base_model`` and its ``base_model_relation``, the base models' own cards up the chain (for bases the
catalog does not hold), the architecture from the repo's ``config.json`` (parsed as data, never
executed) and, for the GGUF repos the record lists, each quant's published file size. Each value comes
back as the record's field would hold it, so the caller can compare and patch field by field. A repo
the Hub no longer has is reported as ``found=False``, not raised; a network failure is raised
(:class:`EnvironmentProblem`): half an update must not look like a whole one.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from advisor.catalog.records import ArchitectureConfig, ModelRecord
from advisor.errors import EnvironmentProblem, InputError
from advisor.files.structured import architecture_from_json
from advisor.hub.client import api, download_raw, retrying
from advisor.hub.errors import translate_error
from advisor.hub.facts import sibling_files
from advisor.hub.licence import canonical_licence, licence_from_card
from advisor.hub.lineage import base_models_of, card_of, card_reader, hub_ancestors, relation_of
from advisor.hub.parsing import group_gguf_files
from advisor.hub.settings import HubSettings

#: Seconds to wait for a TCP connection to the Hub before calling it unreachable: an update checks
#: some hundred repos, so it asks once, up front, and answers "offline" at once rather than after a
#: client's retries (a reachable Hub answers a connect in well under a second).
CONNECT_TIMEOUT_S = 3.0


def ensure_reachable(hub: HubSettings) -> None:
    """Raise :class:`EnvironmentProblem` (one line) unless a TCP connection to the endpoint opens."""
    if hub.offline:
        raise EnvironmentProblem(
            "catalog update: offline mode is on (--offline or HF_HUB_OFFLINE=1) and an update needs the "
            "Hugging Face Hub; nothing was changed"
        )
    parts = urlsplit(hub.endpoint)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        with socket.create_connection((host, port), timeout=CONNECT_TIMEOUT_S):
            pass
    except OSError as exc:
        raise EnvironmentProblem(
            f"catalog update: cannot reach the Hugging Face Hub at {hub.endpoint} ({type(exc).__name__}); "
            "nothing was changed; run it again when online"
        ) from None


@dataclass(frozen=True)
class HubRefresh:
    """The Hub's current values for one record's fields (JSON-able, as the record holds them)."""

    repo_id: str
    found: bool
    fields: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def _info(hub: HubSettings, repo_id: str, *, files: bool) -> Any | None:
    """``model_info`` of ``repo_id``; None when the Hub has no such repo (404, or private)."""
    from huggingface_hub.errors import RepositoryNotFoundError

    client = api(hub)
    try:
        return retrying(lambda: client.model_info(repo_id, files_metadata=files, token=hub.token or False))
    except RepositoryNotFoundError:
        return None
    except Exception as exc:
        raise translate_error(exc, repo_id, "the model info", hub) from None


def _architecture(hub: HubSettings, record: ModelRecord, sha: str | None) -> tuple[dict[str, Any] | None, str | None]:
    """The record's architecture with the config.json's values for the fields the estimators read."""
    from huggingface_hub.errors import EntryNotFoundError, LocalEntryNotFoundError

    try:
        path = download_raw(hub, record.id, "config.json", sha)
    except EntryNotFoundError as exc:
        if isinstance(exc, LocalEntryNotFoundError):
            raise translate_error(exc, record.id, "config.json", hub) from None
        return None, f"{record.id}: no config.json on the Hub; architecture not checked"
    except Exception as exc:
        error = translate_error(exc, record.id, "config.json", hub)
        if isinstance(error, InputError):  # gated without a token, or refused: the rest still counts
            return None, f"architecture not checked: {error}"
        raise error from None
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        fresh = architecture_from_json(raw, f"{record.id}: config.json")
    except (OSError, UnicodeDecodeError, ValueError, InputError) as exc:
        return None, f"{record.id}: config.json not usable ({exc}); architecture not checked"
    stated = set(raw) | set(raw.get("text_config") or {}) if isinstance(raw, dict) else set()
    current = record.architecture.model_dump(mode="json")
    for name in ArchitectureConfig.model_fields:
        value = getattr(fresh, name)
        # a value the config leaves out (head_dim, a default flag) is the model class's default, which
        # the catalog may spell out: only what the config states can contradict the catalog
        if value is None or (isinstance(value, bool) and name not in stated):
            continue
        current[name] = value
    return current, None


def _gguf_sizes(hub: HubSettings, repos: list[str]) -> tuple[dict[str, int], list[str]]:
    """Published GGUF size per quant type over ``repos`` (the first repo that has a quant wins)."""
    sizes: dict[str, int] = {}
    notes = []
    for repo in repos:
        info = _info(hub, repo, files=True)
        if info is None:
            notes.append(f"GGUF repo {repo}: no longer on the Hub")
            continue
        files, _ = group_gguf_files(sibling_files(info))
        for gguf in files:
            if gguf.quant and gguf.quant not in sizes:
                sizes[gguf.quant] = gguf.size_bytes
    return sizes, notes


def gguf_repos_of(record: ModelRecord) -> list[str]:
    """The GGUF repos a record lists: ``gguf_repos``, then the publisher's GGUF ``quantized_releases``."""
    releases = getattr(record, "quantized_releases", None) or []  # the publisher's own quantized repos
    official = [str(r.repo) for r in releases if str(getattr(r, "format", "")).upper() == "GGUF"]
    return list(dict.fromkeys([*record.gguf_repos, *official]))


def refresh_model(
    hub: HubSettings, record: ModelRecord, in_catalog: Callable[[str], bool] = lambda _: False
) -> HubRefresh:
    """The Hub's current values for ``record``'s Hub-sourced fields; ``found=False`` when the repo is gone.

    ``in_catalog(repo)`` says which base models the catalog holds: their lineage is the catalog's, so
    their cards are not read.
    """
    info = _info(hub, record.id, files=False)
    if info is None:
        return HubRefresh(record.id, found=False)
    card = card_of(info)
    tags = [str(t) for t in getattr(info, "tags", None) or []]
    fields: dict[str, Any] = {}
    notes: list[str] = []

    licence = licence_from_card(card, tags)
    if licence.record_id != "unknown":
        # the catalog may spell the card's licence another way (an alias): only a different licence counts
        same = canonical_licence(licence.record_id) == canonical_licence(record.license)
        fields["license"] = record.license if same else licence.record_id
        if not same:
            fields["license_name"] = licence.license_name
            fields["license_link"] = licence.license_link
    fields["gated"] = bool(getattr(info, "gated", None))
    bases = base_models_of(card, info)
    if bases:
        fields["base_model"] = bases[0]
        fields["base_model_relation"] = relation_of(card)
    reader = card_reader(hub)
    ancestors = hub_ancestors(record.id, card, lambda repo: None if in_catalog(repo) else reader(repo))
    kept = [a for a in ancestors if a.found or not in_catalog(a.model)]
    fields["base_lineage"] = [a.model_dump(mode="json") for a in kept]
    first = next((a for a in kept if a.derived == record.id and a.found), None)
    if first is not None and first.license and record.base_model_license is not None:
        fields["base_model_license"] = first.license  # kept in step; base_lineage carries it otherwise

    architecture, note = _architecture(hub, record, getattr(info, "sha", None))
    if architecture is not None:
        fields["architecture"] = architecture
    if note:
        notes.append(note)
    repos = gguf_repos_of(record)
    if repos:
        sizes, gguf_notes = _gguf_sizes(hub, repos)
        fields["gguf_file_bytes"] = sizes
        notes += gguf_notes
    return HubRefresh(record.id, True, fields, notes)

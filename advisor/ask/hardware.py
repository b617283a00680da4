"""The questionnaire's view of ``hardware``: three questions over one answers-file value.

In an answers file ``hardware`` is ``cloud`` or a list of items (``{gpu: a100-80gb, count: 2}``,
``{cpu: cpu-ddr5-dual}``, ``{ram_gb: 512}``). The questionnaire asks it as three fields: own
hardware or cloud (:data:`HARDWARE`), the devices as hardware specs like ``a100-80gb x2``
(:data:`HARDWARE_GPU`, see :mod:`advisor.model.hardware_spec`), and the RAM (:data:`HARDWARE_RAM`).
This module converts between the two views and checks a device against the catalog.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from advisor.ask.choices import ChoiceSource
from advisor.ask.parse import AnswerError, tidy_number
from advisor.model.hardware_spec import HardwareSpec, HardwareSpecError, parse_hardware_spec

HARDWARE = "hardware"
HARDWARE_GPU = "hardware.gpu"
HARDWARE_RAM = "hardware.ram_gb"
HARDWARE_FIELDS = (HARDWARE, HARDWARE_GPU, HARDWARE_RAM)


def read_device(entry: str) -> HardwareSpec:
    """A device answer (``a100-80gb x2``) as a spec; AnswerError with the parser's words if not one."""
    try:
        return parse_hardware_spec(entry)
    except HardwareSpecError as exc:
        raise AnswerError(str(exc)) from None


def catalog_device(entry: str, choices: ChoiceSource | None) -> str:
    """A device answer in its canonical spelling (``4090 x2`` -> ``rtx-4090 x2``); AnswerError when
    the catalog does not know it (without a catalog, the id is taken as given)."""
    spec = read_device(entry)
    if choices is not None:
        found = choices.canonical_hardware(spec.id)
        if found is None:
            raise AnswerError(f"{spec.id}: not in the hardware catalog (Tab completes; see `advisor catalog hardware`)")
        spec = spec._replace(id=found[0])
    return str(spec)


def device_kind(name: str, choices: ChoiceSource | None) -> str:
    """``cpu`` or ``gpu``: the catalog's kind, else (no catalog, or unknown) by the ``cpu-`` id prefix."""
    if choices is not None:
        found = choices.canonical_hardware(name)
        if found is not None:
            return found[1]
    return "cpu" if name.startswith("cpu-") else "gpu"


def hardware_from_data(items: Any) -> dict[str, Any]:
    """The hardware fields an answers file's ``hardware`` value answers."""
    if items == "cloud":
        return {HARDWARE: False}
    if not isinstance(items, list):
        return {}
    found: dict[str, Any] = {HARDWARE: True}
    if not items:
        return found
    entries: list[str] = []
    ram: float | None = None
    for item in items:
        if not isinstance(item, Mapping):
            continue
        count = int(item.get("count", 1) or 1)
        for key in ("gpu", "cpu"):
            if item.get(key):
                entries.append(str(HardwareSpec(str(item[key]), count)))
        if item.get("ram_gb") is not None:
            ram = (ram or 0) + item["ram_gb"]
    # a list that holds anything means the accelerator question was answered (possibly with none)
    found[HARDWARE_GPU] = entries
    if ram is not None:
        found[HARDWARE_RAM] = tidy_number(ram)
    return found


def hardware_to_data(values: Mapping[str, Any], choices: ChoiceSource | None) -> Any:
    """The answers file's ``hardware`` value for the hardware fields in ``values``."""
    if not values[HARDWARE]:
        return "cloud"
    items: list[dict[str, Any]] = []
    for entry in values.get(HARDWARE_GPU) or []:
        name, count = read_device(entry)
        key = "cpu" if device_kind(name, choices) == "cpu" else "gpu"
        items.append({key: name} if count == 1 else {key: name, "count": count})
    if values.get(HARDWARE_RAM) is not None:
        items.append({"ram_gb": values[HARDWARE_RAM]})
    return items

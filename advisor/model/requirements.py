"""The business requirements: the answers-file contract (docs/design.md §5) as a pydantic model.

The questionnaire, answers files and flags all end up here, so all three reject bad input the
same way. Unknown keys are errors (a typo must not silently become a default).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator

from advisor.errors import InputError
from advisor.files.structured import format_validation_error, read_structured_file


def _not_a_boolean(value: Any) -> Any:
    """Booleans are not numbers: ``requests_per_day: true`` must not be read as 1."""
    if isinstance(value, bool):
        raise ValueError("expected a number, not a boolean")
    return value


_NUMBER = BeforeValidator(_not_a_boolean)
#: The largest number an answer may hold: the largest integer a JSON number carries exactly (RFC 8259
#: §6), far above any real count or amount; a larger one overflowed the float maths (exit 70).
MAX_NUMBER = 2**53
#: The numeric types of the answers file: no booleans, no infinities or NaN; an int is still a valid float.
NonNegativeInt = Annotated[int, Field(ge=0, le=MAX_NUMBER), _NUMBER]
PositiveInt = Annotated[int, Field(gt=0, le=MAX_NUMBER), _NUMBER]
NonNegativeFloat = Annotated[float, Field(ge=0, le=MAX_NUMBER, allow_inf_nan=False), _NUMBER]
Fraction = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False), _NUMBER]

UseCase = Literal["chat", "code", "rag", "summarization", "extraction", "classification", "translation", "agent"]
QualityLevel = Literal["low", "medium", "high", "frontier"]
MlopsLevel = Literal["none", "basic", "strong"]
EngineerTime = Literal["extra", "already_paid"]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Traffic(_Section):
    """Expected load; tokens are per request."""

    requests_per_day: NonNegativeInt = 1000
    input_tokens: NonNegativeInt = 500
    output_tokens: NonNegativeInt = 200
    peak_concurrency: PositiveInt = 4


class Latency(_Section):
    """What users will tolerate: decode speed per stream and time to first token."""

    min_tokens_per_s: NonNegativeFloat = 10.0
    max_first_token_s: NonNegativeFloat | None = None


class Budget(_Section):
    """Money: ``monthly_usd`` null means no stated limit."""

    monthly_usd: NonNegativeFloat | None = None
    upfront_usd: NonNegativeFloat = 0.0


class Privacy(_Section):
    """Where data may go."""

    on_prem_required: bool = False
    data_residency: str | None = Field(default=None, description="region code, e.g. EU, RU, US")
    air_gapped: bool = False


class HardwareItem(_Section):
    """One piece of hardware on hand: accelerators by catalog id, or host RAM, or a CPU class."""

    gpu: str | None = Field(default=None, description="catalog hardware id, e.g. rtx-4090 or m3-max")
    count: PositiveInt = 1
    ram_gb: NonNegativeFloat | None = None
    cpu: str | None = Field(default=None, description="catalog cpu class, e.g. cpu-ddr5-dual")

    @model_validator(mode="after")
    def _names_something(self) -> HardwareItem:
        if self.gpu is None and self.ram_gb is None and self.cpu is None:
            raise ValueError("a hardware item needs gpu, ram_gb or cpu")
        return self


class LicensePolicy(_Section):
    """How the model will be used, in the terms licences are written in."""

    commercial_use: bool = True
    monthly_active_users: NonNegativeInt | None = None
    saas_hosting: bool = False


class Team(_Section):
    """Who will run it."""

    ml_engineers: NonNegativeInt = 0
    mlops: MlopsLevel = "none"
    engineer_time: EngineerTime = Field(
        default="extra",
        description="extra: running a model costs new engineer hours; already_paid: salaried staff absorb them",
    )


class StrategyAmbition(_Section):
    """The build criteria: building only makes sense when these hold."""

    tech_leadership_ambition: bool = False
    long_term_budget_usd: NonNegativeFloat = 0.0
    unmet_by_existing: bool = False


class Requirements(BaseModel):
    """Everything the advisor needs to know about the business; every field has a stated default."""

    model_config = ConfigDict(extra="forbid")

    use_case: UseCase = "chat"
    languages: list[str] = Field(default_factory=lambda: ["en"])
    quality: QualityLevel | None = "medium"
    min_quality: Fraction | None = None
    context_tokens: PositiveInt = 8192
    traffic: Traffic = Field(default_factory=Traffic)
    latency: Latency = Field(default_factory=Latency)
    budget: Budget = Field(default_factory=Budget)
    privacy: Privacy = Field(default_factory=Privacy)
    hardware: list[HardwareItem] | Literal["cloud"] = "cloud"
    license: LicensePolicy = Field(default_factory=LicensePolicy)
    team: Team = Field(default_factory=Team)
    strategy: StrategyAmbition = Field(default_factory=StrategyAmbition)
    plugins: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="answers to plugin questions, one namespace per plugin"
    )

    @model_validator(mode="before")
    @classmethod
    def _finite_plugin_answers(cls, data: Any) -> Any:
        """Plugin namespaces are free-form but echoed in the JSON report: no infinities or NaN enter there."""
        plugins = data.get("plugins") if isinstance(data, dict) else None
        stack: list[tuple[str, Any]] = [("plugins", plugins)] if isinstance(plugins, dict) else []
        seen: set[int] = set()  # a map shared through an alias is walked once
        while stack:
            where, value = stack.pop()
            if isinstance(value, float) and not math.isfinite(value):
                raise ValueError(f"{where}: expected a finite number, got {value}")
            if isinstance(value, dict | list):
                if id(value) in seen:
                    continue
                seen.add(id(value))
            if isinstance(value, dict):
                stack.extend((f"{where}.{k}", v) for k, v in value.items())
            elif isinstance(value, list):
                stack.extend((f"{where}[{i}]", v) for i, v in enumerate(value))
        return data

    @property
    def on_hand_hardware(self) -> list[HardwareItem]:
        """The hardware items, or an empty list when the answer is "cloud"."""
        return [] if self.hardware == "cloud" else list(self.hardware)

    @property
    def must_stay_local(self) -> bool:
        """True when no external API may see the data."""
        return self.privacy.on_prem_required or self.privacy.air_gapped


def requirements_from_data(data: Any, where: str) -> Requirements:
    """Validate already-parsed answers; errors name ``where`` and the field path."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise InputError(f"{where}: expected a mapping of answers at the top level, got {type(data).__name__}")
    try:
        requirements = Requirements.model_validate(data)
    except ValidationError as exc:
        raise InputError(format_validation_error(where, exc)) from None
    from advisor.estimate.cost_constants import cost_answers

    cost_answers(requirements.plugins.get("cost"), where)  # the core's own plugin settings, named by file
    return requirements


def load_requirements(path: Path) -> Requirements:
    """Load an answers file (YAML or JSON) into :class:`Requirements`."""
    return requirements_from_data(read_structured_file(path), str(path))

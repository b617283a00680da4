"""Results: per-candidate assessments, the strategy decision, the deployment plan, the plan."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from advisor.model.candidate import Candidate
from advisor.model.checks import SEVERITY_ORDER, Finding

Strategy = Literal["api", "open_source", "build"]
STRATEGIES: tuple[Strategy, ...] = ("api", "open_source", "build")


class Assessment(BaseModel):
    """A candidate with its findings, the verdict they imply and the metrics the checks computed."""

    model_config = ConfigDict(extra="forbid")

    candidate: Candidate
    findings: list[Finding] = Field(default_factory=list)
    metrics: dict[str, Any] = Field(default_factory=dict)
    rank: int | None = None

    @property
    def verdict(self) -> str:
        """The worst severity among findings; ``error`` findings do not count (docs/design.md §3)."""
        worst = "pass"
        for finding in self.findings:
            if SEVERITY_ORDER[finding.severity] > SEVERITY_ORDER[worst]:
                worst = finding.severity
        return worst

    @property
    def acceptable(self) -> bool:
        """Not failed: eligible for ranking."""
        return self.verdict != "fail"


class StrategySignal(BaseModel):
    """A plugin's vote for one road, with how much it should count and why."""

    model_config = ConfigDict(extra="forbid")

    strategy: Strategy
    weight: float = Field(ge=0.0)
    reason: str
    flip_condition: str | None = Field(
        default=None, description="what would have to change for this vote to go the other way"
    )
    plugin: str | None = None


class StrategyDecision(BaseModel):
    """API vs open source vs build, with normalised scores, reasons and flip conditions."""

    model_config = ConfigDict(extra="forbid")

    recommended: Strategy
    scores: dict[str, float]
    reasons: list[str]
    flip_conditions: list[str]
    signals: list[StrategySignal] = Field(default_factory=list)


class Deployment(BaseModel):
    """The next steps of the recommended road: how to run the chosen open-weights candidate
    (``kind`` ``self_hosted``), how to call the chosen API (``api``: ``base_url``, ``model``,
    ``key_env``, ``rate_limit``...) or how to build (``build``: ``training`` and ``finetune`` plans)."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["self_hosted", "api", "build"] = "self_hosted"
    candidate: str | None = None
    engine: str
    quant: str | None = None
    hardware: str | None = None
    hardware_count: int | None = None
    replicas: int | None = None
    command: str
    notes: list[str] = Field(default_factory=list)
    api: dict[str, Any] | None = None
    training: dict[str, Any] | None = None
    finetune: dict[str, Any] | None = None
    topology: dict[str, int] | None = Field(
        default=None,
        description="vLLM/SGLang: tensor_parallel, pipeline_parallel, data_parallel, nodes, gpus_per_node, replicas",
    )
    commands: list[str] = Field(default_factory=list, description="every command in run order; command is the first")
    steps: list[dict[str, str]] = Field(
        default_factory=list, description="the commands with where each runs: {role, host, text}, same order"
    )
    artifacts: list[dict[str, str]] = Field(
        default_factory=list, description="files to hand over ({kind, filename, content}): scripts, manifests"
    )
    capacity: dict[str, Any] | None = Field(
        default=None,
        description="one replica's estimate: concurrency, output_tokens_per_s, per_stream_tokens_per_s, ttft_s",
    )

    @model_validator(mode="after")
    def _command_is_the_first_command(self) -> Deployment:
        """A deployment of one command (llama-server, an API call) lists it in ``commands`` too: readers of
        the list never find it empty while ``command`` is set."""
        if not self.commands and self.command:
            self.commands = [self.command]
        return self


class Plan(BaseModel):
    """Everything ``advisor plan`` concluded."""

    model_config = ConfigDict(extra="forbid")

    schema_version: int = 1
    requirements: dict[str, Any]
    strategy: StrategyDecision
    assessments: list[Assessment]
    deployment: Deployment | None = None
    plugin_errors: list[str] = Field(default_factory=list)
    assumptions: list[str] = Field(default_factory=list)
    evaluate_first: dict[str, Any] | None = Field(
        default=None, description="models to evaluate first on the user's data (docs/quality.md §6), or None"
    )

    @property
    def ranked(self) -> list[Assessment]:
        """Acceptable assessments in rank order."""
        return sorted((a for a in self.assessments if a.rank is not None), key=lambda a: a.rank or 0)

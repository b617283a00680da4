"""The answers-file contract: valid files load; bad ones fail with one line naming file and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from advisor.errors import InputError
from advisor.model.requirements import Requirements, load_requirements
from tests.conftest import EXAMPLES


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.yaml")), ids=lambda p: p.name)
def test_examples_load(path: Path) -> None:
    assert isinstance(load_requirements(path), Requirements)


def test_design_example_loads(write) -> None:
    path = write(
        "design.yaml",
        """
use_case: chat
languages: [ru, en]
quality: high
context_tokens: 8192
traffic: {requests_per_day: 20000, input_tokens: 800, output_tokens: 300, peak_concurrency: 16}
latency: {min_tokens_per_s: 20, max_first_token_s: 2}
budget: {monthly_usd: 3000, upfront_usd: 0}
privacy: {on_prem_required: false, data_residency: null, air_gapped: false}
hardware: [{gpu: rtx-4090, count: 1}, {ram_gb: 64}]
license: {commercial_use: true, monthly_active_users: 50000, saas_hosting: true}
team: {ml_engineers: 1, mlops: basic}
strategy: {tech_leadership_ambition: false, long_term_budget_usd: 0, unmet_by_existing: false}
""",
    )
    req = load_requirements(path)
    assert req.traffic.peak_concurrency == 16
    assert req.on_hand_hardware[0].gpu == "rtx-4090" and req.on_hand_hardware[1].ram_gb == 64


def test_json_answers(write) -> None:
    path = write("a.json", '{"use_case": "code", "hardware": "cloud"}')
    assert load_requirements(path).use_case == "code"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("use_case: chat\ntrafic: {requests_per_day: 5}\n", "trafic: unknown key"),
        ("traffic: {requests_per_day: 5, typo: 1}\n", "traffic.typo: unknown key"),
        ("traffic: {requests_per_day: many}\n", "traffic.requests_per_day: input should be a valid integer"),
        ("traffic: {requests_per_day: -5}\n", "traffic.requests_per_day: input should be greater than or equal to 0"),
        ("use_case: poetry\n", "use_case: input should be 'chat'"),
        ("hardware: [{gpu: rtx-4090, count: 0}]\n", "hardware.0.count"),
        ("min_quality: 1.5\n", "min_quality: input should be less than or equal to 1"),
        ("- just\n- a list\n", "expected a mapping of answers"),
    ],
)
def test_bad_answers_name_the_field(write, text: str, expected: str) -> None:
    path = write("bad.yaml", text)
    with pytest.raises(InputError) as info:
        load_requirements(path)
    message = str(info.value)
    assert message.startswith(str(path) + ": ")
    assert expected in message
    assert "\n" not in message


def test_yaml_syntax_error_names_line(write) -> None:
    path = write("bad.yaml", "use_case: chat\ntraffic: {requests_per_day: 5\n")
    with pytest.raises(InputError, match=r"bad.yaml: invalid YAML at line \d+, column \d+"):
        load_requirements(path)


def test_missing_file() -> None:
    with pytest.raises(InputError, match=r"nope\.yaml: file not found"):
        load_requirements(Path("nope.yaml"))


def test_empty_file_means_defaults(write) -> None:
    assert load_requirements(write("empty.yaml", "")) == Requirements()


def test_hardware_item_must_name_something(write) -> None:
    with pytest.raises(InputError, match=r"hardware\.0: value error, a hardware item needs gpu, ram_gb or cpu"):
        load_requirements(write("a.yaml", "hardware: [{count: 2}]\n"))

"""The one hardware spec syntax shared by ``advisor fit --hardware`` and the questionnaire."""

from __future__ import annotations

import pytest

from advisor.model.hardware_spec import HardwareSpec, HardwareSpecError, parse_hardware_spec


@pytest.mark.parametrize(
    ("text", "spec"),
    [
        ("rtx-4090", ("rtx-4090", 1)),
        ("2xrtx-4090", ("rtx-4090", 2)),  # advisor fit's count-first form
        ("rtx-4090:2", ("rtx-4090", 2)),  # advisor fit's count-after form
        ("a100-80gb x2", ("a100-80gb", 2)),  # the questionnaire's form
        ("A100-80GB*4", ("a100-80gb", 4)),
        ("a100-80gb × 3", ("a100-80gb", 3)),
        ("  4090 x2 ", ("4090", 2)),
        ("2x4090", ("4090", 2)),
        ("12XH100", ("h100", 12)),
        ("a100-80gb : 2", ("a100-80gb", 2)),
        ("cpu-ddr5-dual", ("cpu-ddr5-dual", 1)),
        ("gpu+extra_1.5", ("gpu+extra_1.5", 1)),
    ],
)
def test_every_form_reads_as_an_id_and_a_count(text: str, spec: tuple[str, int]) -> None:
    assert parse_hardware_spec(text) == spec


def test_an_x_glued_to_the_end_is_part_of_the_id() -> None:
    # catalog aliases end in x and digits: rtx4090 is one device, not "rt" times 4090
    assert parse_hardware_spec("rtx4090") == HardwareSpec("rtx4090", 1)
    assert parse_hardware_spec("a100-80gbx2") == HardwareSpec("a100-80gbx2", 1)
    assert parse_hardware_spec("rtx4090 x2") == HardwareSpec("rtx4090", 2)


@pytest.mark.parametrize("text", ["", "  ", "*2", "-rtx", "rtx 4090", "rtx-4090 x", "2 x rtx-4090", "a/b", "rtx:two"])
def test_anything_else_is_a_form_error_in_the_questionnaire_words(text: str) -> None:
    with pytest.raises(HardwareSpecError) as caught:
        parse_hardware_spec(text)
    assert caught.value.problem == "form" and caught.value.id is None
    assert str(caught.value) == f"{text.strip()!r}: expected a catalog id, optionally with a count like 'a100-80gb x2'"


@pytest.mark.parametrize("text", ["0xrtx-4090", "rtx-4090:0", "RTX-4090 x0"])
def test_a_count_below_one_is_a_count_error_that_names_the_id(text: str) -> None:
    with pytest.raises(HardwareSpecError) as caught:
        parse_hardware_spec(text)
    assert caught.value.problem == "count" and caught.value.id == "rtx-4090"
    assert str(caught.value) == f"{text!r}: the count must be at least 1"
    assert isinstance(caught.value, ValueError)


def test_the_two_written_forms_read_back() -> None:
    two, one = HardwareSpec("a100-80gb", 2), HardwareSpec("rtx-4090")
    assert (str(two), two.compact) == ("a100-80gb x2", "2xa100-80gb")
    assert (str(one), one.compact) == ("rtx-4090", "rtx-4090")
    for spec in (one, two):
        assert parse_hardware_spec(str(spec)) == spec == parse_hardware_spec(spec.compact)

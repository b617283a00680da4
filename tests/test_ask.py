"""The questionnaire without a terminal: the questions as data, the state, validation, the flows,
answers files, and ``advisor ask`` run with no TTY (it must never prompt, never wait).

The prompts themselves are driven through prompt_toolkit pipe input in test_ask_prompts.py, and in
a real pseudo-terminal in test_ask_pty.py. No test here runs questionary (never under CliRunner).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import types
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml

from advisor import Question, hookimpl
from advisor.ask import (
    HARDWARE,
    HARDWARE_GPU,
    HARDWARE_RAM,
    AnswerError,
    CatalogChoices,
    Interrupted,
    Questionnaire,
    Spec,
    builtin_specs,
    display,
    dump_answers,
    fill_without_asking,
    final_path,
    free_path,
    load_specs,
    parse_number,
    partial_path,
    review_rows,
    run_interactive,
    write_answers,
)
from advisor.engine.host import PluginHost
from advisor.engine.run import run_plan
from advisor.engine.session import Session
from advisor.errors import InputError
from advisor.model.hardware_spec import parse_hardware_spec
from advisor.model.requirements import Requirements, load_requirements
from advisor.report.json_report import plan_to_json
from tests.conftest import EXAMPLES, ROOT


class ScriptedAsker:
    """Answers from a script keyed by question id; a list gives several tries (the first ones wrong).

    Like a person, it gets the same ``check`` the terminal prompt uses, and it records the error
    each wrong answer produced, which is what the terminal would show inline.
    """

    def __init__(self, script: dict[str, Any], menu: Sequence[str] = ("plan",), stop_at: str | None = None) -> None:
        self.script = dict(script)
        self.menu = list(menu)
        self.stop_at = stop_at
        self.asked: list[str] = []
        self.errors: dict[str, list[str]] = {}
        self.shown: list[str] = []

    def ask(self, spec: Spec, current: Any, check: Callable[[Any], Any]) -> Any:
        if spec.id == self.stop_at:
            raise Interrupted("interrupted")
        self.asked.append(spec.id)
        tries = self.script.get(spec.id, [current])
        tries = tries if isinstance(tries, list) and spec.kind != "multi_choice" else [tries]
        for raw in tries:
            try:
                return check(raw)
            except AnswerError as exc:
                self.errors.setdefault(spec.id, []).append(str(exc))
        raise AssertionError(f"no valid answer scripted for {spec.id}: {self.errors.get(spec.id)}")

    def choose(self, message: str, options: Sequence[tuple[str, str]], default: str | None = None) -> str:
        picked = self.menu.pop(0)
        assert picked in [value for value, _ in options], (picked, options)
        return picked

    def show(self, text: str, style: str = "") -> None:
        self.shown.append(text)


class StubChoices:
    """A catalog stand-in: two GPUs (one with an alias) and a CPU class."""

    def options(self, kind: str) -> list[tuple[str, str]]:
        return {"hardware": [("rtx-4090", "24 GiB"), ("a100-80gb", "80 GiB"), ("cpu-ddr5-dual", "CPU")]}.get(kind, [])

    def canonical_hardware(self, name: str) -> tuple[str, str] | None:
        known = {"rtx-4090": ("rtx-4090", "gpu"), "4090": ("rtx-4090", "gpu"), "a100-80gb": ("a100-80gb", "gpu")}
        known["cpu-ddr5-dual"] = ("cpu-ddr5-dual", "cpu")
        return known.get(name.lower())


@pytest.fixture(scope="module")
def specs() -> list[Spec]:
    return builtin_specs()


def fresh(specs: list[Spec], data: dict[str, Any] | None = None) -> Questionnaire:
    return Questionnaire.from_data(specs, data, StubChoices())


def by_id(specs: list[Spec], qid: str) -> Spec:
    return next(s for s in specs if s.id == qid)


def requirement_default(dotted: str) -> Any:
    """The answers-file default of a field, read from the model itself."""
    value: Any = Requirements()
    for part in dotted.split("."):
        value = getattr(value, part)
    return value.model_dump(mode="json") if hasattr(value, "model_dump") else value


# --- the questions as data ------------------------------------------------------------------------


def test_builtin_questions_bind_to_requirements_fields_and_keep_their_defaults(specs: list[Spec]) -> None:
    """Accepting a default must plan exactly like leaving the key out of an answers file."""
    assert 12 <= len(specs) <= 26
    for spec in specs:
        if spec.field in (HARDWARE, HARDWARE_GPU, HARDWARE_RAM):
            continue
        assert spec.default == requirement_default(spec.field), spec.id
        assert spec.question.help, f"{spec.id} has no help text"
    own = by_id(specs, "own_hardware")
    assert (own.default is False) and Requirements().hardware == "cloud"


def test_builtin_questions_cover_every_kind_units_and_conditions(specs: list[Spec]) -> None:
    kinds = {s.kind for s in specs}
    assert kinds == {"choice", "multi_choice", "number", "confirm"} | (kinds & {"text"})
    assert {s.question.unit for s in specs if s.kind == "number"} >= {"tokens", "$/month", "GB"}
    assert {s.choices_from for s in specs} >= {"hardware", "languages"}
    for spec in specs:
        if spec.kind == "choice":
            assert spec.default in spec.question.choices
            assert set(spec.question.choices) == set(spec.descriptions), spec.id


def test_the_docs_list_every_question_and_the_required_ones(specs: list[Spec]) -> None:
    text = (ROOT / "docs" / "questionnaire.md").read_text()
    table = text.split("## The questions", 1)[1]
    for spec in specs:
        row = next((line for line in table.splitlines() if line.startswith(f"| {spec.id} |")), None)
        assert row is not None, f"{spec.id} missing from docs/questionnaire.md"
        assert ("(required)" in row) == spec.required, spec.id
    required = text.split("## Which questions are required", 1)[1].split("\n## ", 1)[0]
    assert {s.field for s in specs if s.required} == set(re.findall(r"^\| `([\w.]+)`", required, re.M))
    applicable = len(Questionnaire.from_data(specs, None).applicable())
    assert f"The usual path is {applicable}" in text.replace("\n", " ")


def test_questions_yaml_errors_name_the_entry() -> None:
    with pytest.raises(InputError, match=r"questions\[0\]\.kind"):
        builtin_specs("questions: [{id: a, field: use_case, kind: slider, prompt: x}]", "q.yaml")
    with pytest.raises(InputError, match="when"):
        builtin_specs("questions: [{id: a, field: use_case, prompt: x, when: {field: b, above: 2}}]", "q.yaml")
    with pytest.raises(InputError, match="two questions with field use_case"):
        builtin_specs("questions: [{id: a, field: use_case, prompt: x}, {id: b, field: use_case, prompt: y}]")


def test_conditions_all_any_in() -> None:
    text = """
questions:
  - {id: a, field: use_case, prompt: a, kind: choice, choices: [chat, code], default: chat}
  - {id: b, field: context_tokens, prompt: b, kind: number, default: 8192,
     when: {all: [{field: use_case, in: [code]},
                  {any: [{field: quality, equals: high}, {field: quality, equals: low}]}]}}
  - {id: c, field: quality, prompt: c, kind: choice, choices: [low, medium, high], default: medium}
"""
    specs = builtin_specs(text)
    q = Questionnaire.from_data(specs, {"use_case": "code", "quality": "high"})
    assert [s.id for s in q.applicable()] == ["a", "b", "c"]
    q = Questionnaire.from_data(specs, {"use_case": "code"})
    assert [s.id for s in q.applicable()] == ["a", "c"]
    q = Questionnaire.from_data(specs, {"use_case": "chat", "quality": "low"})
    assert [s.id for s in q.applicable()] == ["a", "c"]


def test_gpu_questions_only_with_own_hardware_and_users_only_for_commercial_use(specs: list[Spec]) -> None:
    def applicable(data: dict[str, Any]) -> set[str]:
        return {s.id for s in fresh(specs, data).applicable()}

    cloud = applicable({"hardware": "cloud", "license": {"commercial_use": False}})
    assert not cloud & {"gpus", "ram_gb", "monthly_active_users"}
    owned = applicable({"hardware": [{"gpu": "rtx-4090"}], "license": {"commercial_use": True}})
    assert owned >= {"gpus", "ram_gb", "monthly_active_users"}
    assert "ml_engineers" not in applicable({}) and "ml_engineers" in applicable({"team": {"mlops": "basic"}})


# --- prefill, answers-file data, validation -----------------------------------------------------------


@pytest.mark.parametrize("example", sorted(p.name for p in EXAMPLES.glob("*.yaml")))
def test_an_answers_file_round_trips_through_the_questionnaire(specs: list[Spec], example: str) -> None:
    raw = yaml.safe_load((EXAMPLES / example).read_text())
    q = fresh(specs, raw)
    assert Requirements.model_validate(q.data()) == Requirements.model_validate(raw)
    fill_without_asking(q, defaults=True, where=example)
    assert q.requirements() == Requirements.model_validate(raw)


def test_hardware_is_three_questions_over_one_list(specs: list[Spec]) -> None:
    q = fresh(specs, {"hardware": [{"gpu": "a100-80gb", "count": 2}, {"cpu": "cpu-ddr5-dual"}, {"ram_gb": 512}]})
    assert q.values[HARDWARE] is True
    assert q.values[HARDWARE_GPU] == ["a100-80gb x2", "cpu-ddr5-dual"]
    assert q.values[HARDWARE_RAM] == 512
    assert q.data()["hardware"] == [{"gpu": "a100-80gb", "count": 2}, {"cpu": "cpu-ddr5-dual"}, {"ram_gb": 512}]
    q.set(by_id(specs, "own_hardware"), False, "you")
    assert q.data()["hardware"] == "cloud"
    # owning hardware but not having said which yet is a valid partial answers file
    q = fresh(specs, {"hardware": []})
    assert q.values == {HARDWARE: True} and q.next_pending() is not None
    assert Requirements.model_validate(q.data()).hardware == []


def test_each_answer_is_checked_by_the_requirements_model(specs: list[Spec]) -> None:
    q = fresh(specs)
    rpd = by_id(specs, "requests_per_day")
    assert q.check(rpd, "20k") == 20000
    assert q.check(rpd, "1,500") == 1500
    with pytest.raises(AnswerError, match=r"greater than or equal to 0 \(got -5\)"):
        q.check(rpd, "-5")
    with pytest.raises(AnswerError, match="valid integer"):
        q.check(rpd, "2.5")
    with pytest.raises(AnswerError, match="expected a number"):
        q.check(rpd, "lots")
    with pytest.raises(AnswerError, match="greater than 0"):
        q.check(by_id(specs, "peak_concurrency"), "0")
    budget = by_id(specs, "monthly_budget")
    assert q.check(budget, "") is None and q.check(budget, "no limit") is None
    assert q.check(budget, "$3,000") == 3000
    with pytest.raises(AnswerError, match="expected one of"):
        q.check(by_id(specs, "use_case"), "poetry")
    with pytest.raises(AnswerError, match="yes or no"):
        q.check(by_id(specs, "on_prem"), "maybe")
    assert q.check(by_id(specs, "languages"), "EN, ru,ru") == ["en", "ru"]
    with pytest.raises(AnswerError, match="language codes"):
        q.check(by_id(specs, "languages"), "English")
    gpus = by_id(specs, "gpus")
    assert q.check(gpus, "4090 x2, a100-80gb") == ["rtx-4090 x2", "a100-80gb"]
    with pytest.raises(AnswerError, match="h900: not in the hardware catalog"):
        q.check(gpus, "h900")
    with pytest.raises(AnswerError, match="at least 1"):
        q.check(gpus, "rtx-4090 x0")


def test_number_parsing() -> None:
    assert parse_number("1.5M") == 1_500_000
    assert parse_number("800 tokens", "tokens") == 800
    assert parse_number("64GB", "GB") == 64
    assert parse_number(0.25) == 0.25 and isinstance(parse_number(3.0), int)
    for bad in ("", "1e999", "nan", True):
        with pytest.raises(AnswerError):
            parse_number(bad)
    assert parse_hardware_spec("A100-80GB*4") == ("a100-80gb", 4)


def test_review_shows_every_applicable_answer_with_its_source(specs: list[Spec]) -> None:
    q = fresh(specs, {"use_case": "rag", "budget": {"monthly_usd": None}})
    q.set(by_id(specs, "requests_per_day"), 20000, "you")
    rows = {field: (value, source) for field, value, source in review_rows(q)}
    assert rows["use_case"] == ("rag", "file")
    assert rows["traffic.requests_per_day"] == ("20,000 requests/day", "you")
    assert rows["budget.monthly_usd"] == ("no limit", "file")
    assert rows["context_tokens"] == ("8,192 tokens", "default")
    assert "hardware.gpu" not in rows
    assert display(by_id(specs, "gpus"), []) == "none"


# --- the flows --------------------------------------------------------------------------------------

SCRIPT: dict[str, Any] = {
    "use_case": "rag",
    "languages": "ru, en",
    "quality": "high",
    "requests_per_day": ["-5", "20k"],
    "monthly_budget": "3000",
    "on_prem": "yes",
    "air_gapped": "no",
    "own_hardware": "yes",
    "gpus": "a100-80gb x2",
    "ram_gb": "512",
    "commercial_use": "yes",
    "monthly_active_users": "5000",
}


def test_interactive_flow_asks_in_order_reasks_wrong_answers_and_plans(specs: list[Spec]) -> None:
    q = fresh(specs)
    asker = ScriptedAsker(SCRIPT)
    saved: list[int] = []
    assert run_interactive(q, asker, after_each=lambda: saved.append(len(q.values))) == "plan"
    assert asker.asked == [s.id for s in q.applicable()]
    assert asker.asked[:3] == ["use_case", "languages", "quality"]
    assert asker.errors == {"requests_per_day": ["input should be greater than or equal to 0 (got -5)"]}
    assert saved == list(range(1, len(asker.asked) + 1))  # the partial file is written after every answer
    req = q.requirements()
    assert req.hardware == [
        Requirements.model_validate({"hardware": [{"gpu": "a100-80gb", "count": 2}]}).hardware[0],
        Requirements.model_validate({"hardware": [{"ram_gb": 512}]}).hardware[0],
    ]
    assert req.traffic.requests_per_day == 20000 and req.license.monthly_active_users == 5000
    assert "Your answers" in asker.shown


def test_review_can_change_an_answer_and_asks_what_that_opens(specs: list[Spec]) -> None:
    script = {**SCRIPT, "commercial_use": ["no"], "monthly_active_users": "100"}
    q = fresh(specs)

    class Changing(ScriptedAsker):
        def ask(self, spec: Spec, current: Any, check: Callable[[Any], Any]) -> Any:
            if spec.id == "commercial_use" and "commercial_use" in self.asked:
                self.asked.append(spec.id)
                return check("yes")
            return super().ask(spec, current, check)

    asker = Changing(script, menu=["edit", "commercial_use", "plan"])
    run_interactive(q, asker)
    assert asker.asked.count("commercial_use") == 2
    assert asker.asked[-1] == "monthly_active_users"
    assert q.requirements().license.monthly_active_users == 100


def test_answers_of_questions_that_no_longer_apply_are_dropped(specs: list[Spec]) -> None:
    q = fresh(specs)
    run_interactive(q, ScriptedAsker(SCRIPT))
    q.set(by_id(specs, "commercial_use"), False, "you")
    assert "monthly_active_users" not in q.data()["license"]
    # ...but an answers file's own keys are kept as written
    q = fresh(specs, {"license": {"commercial_use": False, "monthly_active_users": 7}})
    assert q.data()["license"]["monthly_active_users"] == 7


def test_defaults_flag_asks_only_required_questions(specs: list[Spec]) -> None:
    q = fresh(specs)
    asker = ScriptedAsker(SCRIPT)
    run_interactive(q, asker, defaults=True)
    assert set(asker.asked) == {s.id for s in specs if s.required}
    assert q.sources["context_tokens"] == "default"


def test_prefilled_answers_are_not_asked_again(specs: list[Spec]) -> None:
    raw = yaml.safe_load((EXAMPLES / "small-team-api.yaml").read_text())
    asker = ScriptedAsker({})
    run_interactive(fresh(specs, raw), asker)
    assert asker.asked == []  # the example answers every built-in question that applies to it


def test_an_interrupted_session_resumes_where_it_stopped(specs: list[Spec], tmp_path: Path) -> None:
    q = fresh(specs)
    keep = tmp_path / "answers.partial.yaml"
    with pytest.raises(Interrupted):
        run_interactive(
            q, ScriptedAsker(SCRIPT, stop_at="own_hardware"), after_each=lambda: write_answers(keep, q.data())
        )
    partial = load_requirements(keep)  # a partial answers file is a valid answers file
    assert partial.traffic.requests_per_day == 20000 and partial.hardware == "cloud"
    resumed = fresh(specs, yaml.safe_load(keep.read_text()))
    asker = ScriptedAsker(SCRIPT)
    run_interactive(resumed, asker)
    assert asker.asked[0] == "own_hardware" and "use_case" not in asker.asked
    whole = fresh(specs)
    run_interactive(whole, ScriptedAsker(SCRIPT))
    assert resumed.requirements() == whole.requirements()


def test_without_a_terminal_every_missing_required_field_is_named(specs: list[Spec]) -> None:
    q = fresh(specs, {"use_case": "chat", "hardware": "cloud"})
    with pytest.raises(InputError) as caught:
        fill_without_asking(q, defaults=False, where="a.yaml")
    message = str(caught.value)
    assert message.startswith("a.yaml: no answer for 5 required questions:")
    for name in ("quality", "traffic.requests_per_day", "budget.monthly_usd", "privacy.on_prem_required"):
        assert name in message
    assert "use_case" not in message.split(":", 2)[2].split("(")[0]
    fill_without_asking(q, defaults=True, where="a.yaml")
    assert q.requirements() == Requirements(use_case="chat")


# --- plugin questions --------------------------------------------------------------------------------


def session_with(**hooks: Any) -> Session:
    module = types.ModuleType("t_ask_plugin")
    for name, value in hooks.items():
        setattr(module, name, value)
    sys.modules[module.__name__] = module
    host = PluginHost(strict=False).load(entrypoints=False)
    host.load_spec(module.__name__)
    return Session(host=host)


def test_plugin_questions_land_under_the_plugin_namespace() -> None:
    @hookimpl
    def advisor_register_questions(register: Callable[[Question], None]) -> None:
        register(Question(id="acme-cc", field="plugins.acme.cost_centre", prompt="Cost centre?", kind="text"))
        register(
            Question(
                id="acme-tier",
                field="plugins.acme.tier",
                prompt="Tier?",
                kind="choice",
                choices=("gold", "silver"),
                default="silver",
                when=lambda answers: answers["use_case"] == "rag",
            )
        )
        register(Question(id="acme-budget", field="budget.monthly_usd", prompt="Sneaky?", kind="number"))
        register(Question(id="acme-broken", field="plugins.acme.x", prompt="x", when=lambda a: 1 / 0 > 0))

    session = session_with(advisor_register_questions=advisor_register_questions)
    specs = load_specs(session.questions(), session.host.record_error)
    ids = [s.id for s in specs]
    assert "acme-budget" not in ids and ids[-3:] == ["acme-broken", "acme-cc", "acme-tier"]
    assert any("plugins.<plugin>.<key>" in e and "t_ask_plugin" in e for e in session.host.errors)
    q = Questionnaire.from_data(specs, None, CatalogChoices(lambda: session.catalog))
    asker = ScriptedAsker({**SCRIPT, "acme-cc": "R&D", "acme-tier": "gold"})
    run_interactive(q, asker)
    assert q.requirements().plugins["acme"] == {"cost_centre": "R&D", "tier": "gold"}
    assert "acme-broken" not in asker.asked
    assert any("when() failed: ZeroDivisionError" in e for e in session.host.errors)


# --- answers files -----------------------------------------------------------------------------------


def test_written_answers_load_back_to_the_same_requirements_and_plan(
    specs: list[Spec], tmp_path: Path, host: PluginHost
) -> None:
    context = Session(host=host, select=("LIC", "CTX"))  # a quick plan; the requirements are whole
    q = fresh(specs)
    run_interactive(q, ScriptedAsker(SCRIPT))
    path = tmp_path / "answers.yaml"
    write_answers(path, q.data(), "Answers from a test\nsecond line")
    text = path.read_text()
    assert text.startswith("# Answers from a test\n# second line\nuse_case: rag\nlanguages: [ru, en]\n")
    assert list(yaml.safe_load(text)) == [k for k in Requirements.model_fields if k in yaml.safe_load(text)]
    loaded = load_requirements(path)
    assert loaded == q.requirements()
    first = plan_to_json(run_plan(q.requirements(), context))
    assert plan_to_json(run_plan(loaded, context)) == first


def test_dump_keeps_section_order_and_plugin_sections() -> None:
    text = dump_answers({"plugins": {"acme": {"a": 1}}, "traffic": {"output_tokens": 1, "requests_per_day": 2}})
    assert text.index("traffic") < text.index("plugins")
    assert "{requests_per_day: 2, output_tokens: 1}" in text


def test_paths_never_overwrite_by_default(tmp_path: Path) -> None:
    assert partial_path(Path("x/answers.yaml")) == Path("x/answers.partial.yaml")
    assert final_path(Path("x/answers.partial.yaml")) == Path("x/answers.yaml")
    assert final_path(Path("mine.yaml")) == Path("mine.yaml")
    assert free_path(tmp_path) == tmp_path / "answers.yaml"
    (tmp_path / "answers.yaml").write_text("{}")
    (tmp_path / "answers-2.partial.yaml").write_text("{}")
    assert free_path(tmp_path) == tmp_path / "answers-3.yaml"


def test_write_failure_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"missing-dir/a\.yaml: directory .* does not exist"):
        write_answers(tmp_path / "missing-dir" / "a.yaml", {})


# --- `advisor ask` with no terminal (a subprocess: stdin is a pipe, stdout is a pipe) ------------------


def advisor(*args: str, cwd: Path, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ADVISOR_")}
    return subprocess.run(
        [sys.executable, "-m", "advisor", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=120,
    )


def test_no_tty_never_prompts_and_names_every_missing_field(tmp_path: Path) -> None:
    proc = advisor("ask", cwd=tmp_path, stdin="chat\n" * 40)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("advisor: error: advisor ask: no answer for 7 required questions")
    for spec in builtin_specs():
        assert (spec.field in lines[0]) == spec.required, spec.field
    assert proc.stdout == "" and list(tmp_path.iterdir()) == []


def test_no_input_with_defaults_saves_answers_that_plan_the_same(tmp_path: Path) -> None:
    # --select keeps the plan quick; the JSON holds the full requirements, which is what must match.
    # Owned hardware keeps it quicker still (cloud plans size every model on every rentable GPU).
    (tmp_path / "some.yaml").write_text("use_case: code\nhardware: [{gpu: rtx-4090}]\n")
    quick = ("--format", "json", "--select", "LIC")
    proc = advisor("ask", "--answers", "some.yaml", "--defaults", "--out", "all.yaml", *quick, cwd=tmp_path)
    assert proc.returncode in (0, 1), proc.stderr
    assert "Re-run without questions: advisor plan --answers all.yaml --select LIC --format json" in proc.stderr
    assert load_requirements(tmp_path / "all.yaml") == Requirements(use_case="code", hardware=[{"gpu": "rtx-4090"}])
    again = advisor("plan", "--answers", "all.yaml", *quick, cwd=tmp_path)
    assert again.stdout == proc.stdout and json.loads(proc.stdout)["schema_version"] == 1
    assert "rtx-4090" in yaml.safe_load((tmp_path / "all.yaml").read_text())["hardware"][0].values()


def test_no_input_with_a_complete_answers_file_plans_like_advisor_plan(tmp_path: Path) -> None:
    example = str(EXAMPLES / "onprem-bank.yaml")
    quick = ("--format", "json", "--select", "LIC")
    proc = advisor("ask", "--answers", example, "--no-input", *quick, cwd=tmp_path)
    plan = advisor("plan", "--answers", example, *quick, cwd=tmp_path)
    assert proc.returncode == plan.returncode and proc.stdout == plan.stdout
    assert f"advisor plan --answers {example} --select LIC --format json" in proc.stderr
    assert list(tmp_path.iterdir()) == []  # nothing new was answered: the given file is the answers file
    out = advisor("ask", "--answers", example, "--no-input", "--out", "mine.yaml", *quick, cwd=tmp_path)
    assert out.stdout == plan.stdout and load_requirements(tmp_path / "mine.yaml") == load_requirements(Path(example))


def test_bad_input_is_one_line_and_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("traffic: {requests_per_day: -1}\n")
    for args in (
        ("ask", "--answers", str(bad), "--no-input"),
        ("ask", "--answers", str(bad), "--resume", str(bad)),
        ("ask", "--resume", str(tmp_path / "gone.partial.yaml")),
    ):
        proc = advisor(*args, cwd=tmp_path)
        assert proc.returncode == 2, (args, proc.stderr)
        assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr
    assert "traffic.requests_per_day" in advisor("ask", "--answers", str(bad), cwd=tmp_path).stderr


def test_ask_is_listed_and_help_stays_light() -> None:
    proc = subprocess.run(
        [sys.executable, "-c", "import sys; from advisor.cli import main; main(['--help'])"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert "ask" in proc.stdout
    probe = "import sys; import advisor.cli.ask; print('questionary' in sys.modules, 'yaml' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT).stdout
    assert out.split() == ["False", "False"]

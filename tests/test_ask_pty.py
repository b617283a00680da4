"""End to end in a real pseudo-terminal: ``python -m advisor ask`` driven by pexpect through a
whole questionnaire, with a wrong answer, a Ctrl-C, and ``--resume``; then the answers file it
wrote must give the same plan through ``advisor plan``.

Questions are recognised by their prompt text, so questions that other plugins add are answered
with Enter (their default) wherever they appear.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from advisor.ask import load_specs
from advisor.cli.options import SessionOptions
from advisor.model.requirements import load_requirements

pexpect = pytest.importorskip("pexpect")

DOWN, ENTER, CLEAR, CTRL_C = "\x1b[B", "\r", "\x15", "\x03"
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][0-9A-Za-z]|\x1b[=>]")

PLUGIN = """
from advisor import Question, hookimpl

@hookimpl
def advisor_register_questions(register):
    register(Question(id="pty-cost-centre", field="plugins.pty_questions.cost_centre",
                      prompt="Which cost centre pays for this?", kind="text"))
"""

#: What a person types at each question (by id). Anything not listed gets Enter.
ANSWERS = {
    "use_case": DOWN * 2 + ENTER,  # rag
    "languages": "ru, en" + ENTER,
    "quality": DOWN + ENTER,  # high
    "input_tokens": "3000" + ENTER,
    "output_tokens": "400" + ENTER,
    "peak_concurrency": "8" + ENTER,
    "monthly_budget": "5000" + ENTER,
    "on_prem": "y",
    "air_gapped": "n",
    "own_hardware": "y",
    "ram_gb": "128" + ENTER,
    "commercial_use": "y",
    "monthly_active_users": "2000" + ENTER,
    "mlops": DOWN + ENTER,  # basic
    "ml_engineers": "1" + ENTER,
    "build_ambition": "n",
    "pty-cost-centre": "R&D" + ENTER,
}


def spawn(args: list[str], cwd: Path, log: list[str]) -> pexpect.spawn:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ADVISOR_")}
    env.update(TERM="xterm", PROMPT_TOOLKIT_NO_CPR="1", COLUMNS="200", LINES="50")
    child = pexpect.spawn(
        sys.executable,
        ["-m", "advisor", "ask", *args],
        cwd=str(cwd),
        env=env,
        dimensions=(50, 200),
        encoding="utf-8",
        timeout=60,
    )

    class Log:
        def write(self, text: str) -> None:
            log.append(text)

        def flush(self) -> None:
            pass

    child.logfile_read = Log()
    return child


def answer_until(child: pexpect.spawn, prompts: dict[str, str], stop: str, answered: set[str]) -> None:
    """Answer each question as it appears until the one whose id is ``stop`` (not answered)."""
    ids = list(prompts)
    patterns = [re.escape(prompts[i]) for i in ids]
    while True:
        qid = ids[child.expect(patterns)]
        if qid in answered:
            continue  # the answered prompt redrawn with its answer
        if qid == stop:
            return
        answered.add(qid)
        if qid == "requests_per_day":
            child.send("lots" + ENTER)  # a wrong answer: the error shows inline, the question stays
            child.expect("expected a number")
            child.send(CLEAR + "20k" + ENTER)
        elif qid == "gpus":
            child.send("rtx-409")
            child.expect("24 GiB")  # the completion menu, from the hardware catalog
            child.send("\t")
            child.send(" x2" + ENTER)
        else:
            child.send(ANSWERS.get(qid, ENTER))


def test_ask_in_a_real_terminal_with_a_wrong_answer_ctrl_c_and_resume(tmp_path: Path) -> None:
    plugin = tmp_path / "pty_questions.py"
    plugin.write_text(PLUGIN)
    session = SessionOptions(plugins=(str(plugin),)).session()
    specs = load_specs(session.questions(), session.host.record_error)
    prompts = {s.id: s.question.prompt for s in specs}
    for qid, text in prompts.items():  # recognising questions by prompt needs unambiguous prompts
        assert not any(text in other for o, other in prompts.items() if o != qid), qid
    prompts["(review)"] = "Ready?"
    transcript: list[str] = []
    answered: set[str] = set()

    # first session: stop with Ctrl-C at the fifth question. (--select LIC only keeps the plan quick;
    # it is passed on to the re-run command like every planning option.)
    child = spawn(["--plugin", "pty_questions.py", "--select", "LIC"], tmp_path, transcript)
    answer_until(child, prompts, "output_tokens", answered)
    child.send(CTRL_C)
    child.expect(r"kept in answers\.partial\.yaml\. Continue with: advisor ask --resume answers\.partial\.yaml")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 130
    partial = load_requirements(tmp_path / "answers.partial.yaml")
    assert partial.traffic.requests_per_day == 20000 and partial.traffic.input_tokens == 3000
    assert partial.use_case == "rag" and partial.languages == ["ru", "en"] and partial.quality == "high"
    assert not (tmp_path / "answers.yaml").exists()

    # second session: --resume asks only what is left, then the review, then the plan
    answered_before = set(answered)
    resume = ["--resume", "answers.partial.yaml", "--plugin", "pty_questions.py", "--select", "LIC"]
    child = spawn(resume, tmp_path, transcript)
    answer_until(child, prompts, "(review)", answered)
    assert "output_tokens" in answered - answered_before and "use_case" not in answered - answered_before
    child.send(ENTER)  # "Plan with these answers"
    child.expect(
        r"Re-run without questions: (advisor plan --answers answers\.yaml --plugin pty_questions\.py --select LIC)"
    )
    rerun = child.match.group(1)
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus in (0, 1), "".join(transcript)[-2000:]
    assert not (tmp_path / "answers.partial.yaml").exists()

    saved = load_requirements(tmp_path / "answers.yaml")
    assert saved.hardware != "cloud" and (saved.hardware[0].gpu, saved.hardware[0].count) == ("rtx-4090", 2)
    assert saved.traffic.output_tokens == 400 and saved.license.monthly_active_users == 2000
    assert saved.plugins["pty_questions"] == {"cost_centre": "R&D"}

    # the saved answers give the same plan through `advisor plan`
    env = {k: v for k, v in os.environ.items() if not k.startswith("ADVISOR_")}
    words = [*rerun.split()[1:], "--format", "json"]
    proc = subprocess.run(
        [sys.executable, "-m", "advisor", *words], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == child.exitstatus, proc.stderr
    plan = json.loads(proc.stdout)
    assert plan["requirements"] == saved.model_dump(mode="json")
    screen = ANSI.sub("", "".join(transcript))
    assert f"Recommended road: {plan['strategy']['recommended']}" in screen
    top = next(c for c in plan["candidates"] if c["rank"] == 1)
    assert top["id"] in screen

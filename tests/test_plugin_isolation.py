"""Hostile and faulty plugins, run through the real CLI (issue 19, items 6-10).

Every case writes a small plugin into ``tmp_path`` and runs ``advisor`` in a subprocess with a
timeout, so a plugin that hangs the CLI fails its test instead of hanging the suite. What a security
reviewer expects of each: the run finishes, the exit code says what happened (0/1 for a verdict, 2
when ``--strict-plugins`` makes a plugin failure fatal, 130 for the user's Ctrl-C), stdout with
``--format json`` is exactly one JSON document, the failure is named (plugin, check, what it did,
the limit it hit) and no secret in a plugin's message reaches the output.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import EXAMPLES, ROOT

ANSWERS = str(EXAMPLES / "small-team-api.yaml")
HF_SECRET = "hf_abcdefghijklmnopqrstuvwxyz012345"
OPENAI_SECRET = "sk-proj-0123456789abcdefghijklmnop"


def advisor(*args: str, env: dict[str, str] | None = None, timeout: float = 90) -> subprocess.CompletedProcess[str]:
    """``python -m advisor ARGS`` with a clean plugin environment; a hang fails the test."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("ADVISOR_")}
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "advisor", *args],
        capture_output=True,
        text=True,
        env=full_env,
        cwd=ROOT,
        timeout=timeout,
    )


def plugin(tmp_path: Path, name: str, body: str) -> str:
    path = tmp_path / f"{name}.py"
    path.write_text(textwrap.dedent(body), encoding="utf-8")
    return str(path)


def check_plugin(tmp_path: Path, name: str, check_id: str, run_body: str, preamble: str = "") -> str:
    """A plugin registering one check whose ``run`` executes ``run_body``."""
    body = (
        "import os, sys, time\n"
        "from advisor import hookimpl, Check, Finding\n"
        + textwrap.dedent(preamble)
        + "\ndef run(candidate, requirements):\n"
        + textwrap.indent(textwrap.dedent(run_body), "    ")
        + "\n\n@hookimpl\ndef advisor_register_checks(register):\n"
        + f"    register(Check(id={check_id!r}, category='policy', summary='hostile', run=run))\n"
    )
    return plugin(tmp_path, name, body)


def plan_json(proc: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    """stdout must be exactly one JSON document (json.loads refuses anything before or after it)."""
    assert proc.returncode in (0, 1), f"exit {proc.returncode}: {proc.stderr[-2000:]}"
    data: dict[str, Any] = json.loads(proc.stdout)
    return data


def findings_of(plan: dict[str, Any], check_id: str) -> list[dict[str, Any]]:
    return [f for c in plan["candidates"] for f in c["findings"] if f["check"] == check_id]


def assert_no_traceback(proc: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in proc.stderr, proc.stderr[-2000:]


# --- 6. a plugin cannot end the run or corrupt its output -----------------------------------------


@pytest.mark.parametrize(
    ("name", "body", "said"),
    [
        ("exits", "sys.exit(0)", "sys.exit(0)"),
        ("hard_exits", "os._exit(0)", "os._exit(0)"),
        ("interrupts", "raise KeyboardInterrupt", "KeyboardInterrupt"),
        ("base_raises", "raise Weird('odd')", "Weird"),
    ],
)
def test_a_check_that_ends_the_process_becomes_a_finding(tmp_path: Path, name: str, body: str, said: str) -> None:
    """sys.exit / os._exit / a plugin-raised KeyboardInterrupt / a BaseException in a check used to
    end the run with exit 0 and an empty stdout (or a traceback). Each is the plugin's failure: the
    candidate gets an ``error`` finding naming check and plugin, the plugin is stopped (run once,
    not on every candidate), the plan is still printed, and ``--strict-plugins`` makes it exit 2."""
    path = check_plugin(tmp_path, name, "EVIL001", body, preamble="class Weird(BaseException):\n    pass\n")
    proc = advisor("plan", "--answers", ANSWERS, "--format", "json", "--plugin", path)
    plan = plan_json(proc)
    assert_no_traceback(proc)
    found = findings_of(plan, "EVIL001")
    assert len(found) == len(plan["candidates"]), "every candidate says the check did not run on it"
    assert all(f["severity"] == "error" and f["plugin"] == name for f in found)
    assert len([f for f in found if said in f["message"]]) == 1, "run once, then the plugin is stopped"
    assert sum("EVIL001" in e for e in plan["plugin_errors"]) == 1
    strict = advisor("plan", "--answers", ANSWERS, "--format", "json", "--plugin", path, "--strict-plugins")
    assert strict.returncode == 2, strict.stderr
    assert strict.stdout == "" and said in strict.stderr and "strict plugins" in strict.stderr
    assert_no_traceback(strict)


def test_a_plugin_that_exits_at_import_is_a_load_error(tmp_path: Path) -> None:
    """A plugin calling sys.exit(0) at import made every command exit 0 silently."""
    path = plugin(tmp_path, "quitter", "import sys\nsys.exit(0)\n")
    proc = advisor("plugins", "--format", "json", "--plugin", path)
    assert proc.returncode == 0, proc.stderr
    rows = {row["name"]: row for row in json.loads(proc.stdout)}
    assert "sys.exit(0)" in rows["quitter"]["error"]
    plan = plan_json(advisor("plan", "--answers", ANSWERS, "--format", "json", "--plugin", path))
    assert any("quitter" in e and "sys.exit(0)" in e for e in plan["plugin_errors"])
    strict = advisor("plan", "--answers", ANSWERS, "--plugin", path, "--strict-plugins")
    assert strict.returncode == 2 and "quitter" in strict.stderr


def test_an_entry_point_plugin_that_exits_at_import_does_not_end_every_command(tmp_path: Path) -> None:
    """An installed plugin (entry point ``model_advisor``) that calls os._exit(0) on import ended
    every command silently with exit 0; now it is a load error and the commands do their job."""
    site = tmp_path / "site"
    dist = site / "evil_plugin-1.0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: evil-plugin\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[model_advisor]\nevil = evil_ep\n")
    (site / "evil_ep.py").write_text("import os\nprint('hello from evil')\nos._exit(0)\n")
    env = {"PYTHONPATH": str(site)}
    listing = advisor("plugins", "--format", "json", env=env)
    assert listing.returncode == 0, listing.stderr
    rows = {row["name"]: row for row in json.loads(listing.stdout)}
    assert rows["evil"]["origin"] == "entrypoint" and "os._exit(0)" in rows["evil"]["error"]
    assert "hello from evil" in listing.stderr
    plan = plan_json(advisor("plan", "--answers", ANSWERS, "--format", "json", env=env))
    assert plan["candidates"] and any("evil" in e for e in plan["plugin_errors"])
    catalog = advisor("catalog", "hardware", "--format", "json", env=env)
    assert catalog.returncode == 0 and json.loads(catalog.stdout)


def test_what_plugins_print_goes_to_stderr_not_into_the_json(tmp_path: Path) -> None:
    """print() at import, in a registration hook and in a check (and a child process writing to
    fd 1) used to land before or inside the ``--format json`` document."""
    path = check_plugin(
        tmp_path,
        "chatty",
        "CHAT001",
        "print('from the check')\nos.system('echo from a child process')\nreturn None",
        preamble="print('from the import')\n",
    )
    proc = advisor("plan", "--answers", ANSWERS, "--format", "json", "--plugin", path)
    plan_json(proc)
    for text in ("from the import", "from the check", "from a child process"):
        assert text in proc.stderr
    listing = advisor("plugins", "--format", "json", "--plugin", path)
    assert listing.returncode == 0 and json.loads(listing.stdout)
    checks = advisor("checks", "--format", "json", "--plugin", path)
    assert checks.returncode == 0 and "CHAT001" in [row["id"] for row in json.loads(checks.stdout)]


def test_a_real_ctrl_c_still_stops_the_run(tmp_path: Path) -> None:
    """The user's Ctrl-C (SIGINT) while a plugin runs is not the plugin's failure: the run stops
    with 130, like any interrupt. Only a KeyboardInterrupt the plugin raises itself is a finding."""
    marker = tmp_path / "started"
    path = check_plugin(tmp_path, "sleepy", "SLEEP001", f"open({str(marker)!r}, 'w').close()\ntime.sleep(60)")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ADVISOR_")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "advisor", "plan", "--answers", ANSWERS, "--format", "json", "--plugin", path],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=ROOT,
    )
    try:
        deadline = time.monotonic() + 60
        while not marker.exists() and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
        assert marker.exists(), "the check never started"
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, err
    assert ("interrupted" in err or "aborted" in err) and out == ""


# --- 7. limits --------------------------------------------------------------------------------------


def test_a_check_that_sleeps_is_stopped_at_its_time_limit(tmp_path: Path) -> None:
    """A check that sleeps forever hung the run; now it is stopped at the per-call limit (here 1 s
    through --plugin-timeout), named in a finding with the limit, and not run on other candidates."""
    path = check_plugin(tmp_path, "sleeper", "SLOW001", "time.sleep(3600)")
    proc = advisor("plan", "--answers", ANSWERS, "--format", "json", "--plugin", path, "--plugin-timeout", "1")
    plan = plan_json(proc)
    found = findings_of(plan, "SLOW001")
    assert len(found) == len(plan["candidates"])
    timed_out = [f for f in found if "timed out after 1 s" in f["message"]]
    assert len(timed_out) == 1 and "--plugin-timeout" in timed_out[0]["message"]
    strict = advisor("plan", "--answers", ANSWERS, "--plugin", path, "--strict-plugins", "--plugin-timeout", "1")
    assert strict.returncode == 2 and "timed out" in strict.stderr


def test_a_check_that_swallows_the_timeout_is_still_stopped(tmp_path: Path) -> None:
    """A check catching BaseException around its sleep: the alarm fires again until it gives up."""
    body = "for _ in range(5):\n    try:\n        time.sleep(3600)\n    except BaseException:\n        pass\n"
    path = check_plugin(tmp_path, "stubborn", "SLOW002", body)
    plan = plan_json(
        advisor("plan", "--answers", ANSWERS, "--format", "json", "--plugin", path, "--plugin-timeout", "0.5")
    )
    assert any("timed out" in f["message"] for f in findings_of(plan, "SLOW002"))


def test_a_plugin_import_that_hangs_is_a_load_error(tmp_path: Path) -> None:
    """An import that hangs made `advisor plugins` (and every command) hang."""
    path = plugin(tmp_path, "hangs", "import time\ntime.sleep(3600)\n")
    env = {"ADVISOR_PLUGIN_LOAD_TIMEOUT": "1"}
    listing = advisor("plugins", "--format", "json", "--plugin", path, env=env)
    assert listing.returncode == 0, listing.stderr
    rows = {row["name"]: row for row in json.loads(listing.stdout)}
    assert "timed out after 1 s" in rows["hangs"]["error"]
    assert "ADVISOR_PLUGIN_LOAD_TIMEOUT" in rows["hangs"]["error"]
    plan = plan_json(advisor("plan", "--answers", ANSWERS, "--format", "json", "--plugin", path, env=env))
    assert any("hangs" in e and "timed out" in e for e in plan["plugin_errors"])


def test_a_check_allocating_10_gb_hits_the_memory_limit(tmp_path: Path) -> None:
    """A check asking for 10 GB (numpy.zeros: reserved, not touched, so this test box is safe
    without the fix) is refused by the per-call address-space limit and reported as such."""
    path = check_plugin(
        tmp_path, "hog", "HOG001", "import numpy\nkeep = numpy.zeros(10 * 2**30, dtype='u1')\nreturn None"
    )
    plan = plan_json(advisor("plan", "--answers", ANSWERS, "--format", "json", "--plugin", path))
    found = findings_of(plan, "HOG001")
    over = [f for f in found if "memory limit" in f["message"]]
    assert len(over) == 1 and "ADVISOR_PLUGIN_MEMORY_MB" in over[0]["message"]


def test_a_thread_a_plugin_leaves_running_does_not_keep_the_command_alive(tmp_path: Path) -> None:
    """A plugin starting a thread that never ends (at import, or in a check) made every command wait
    for it at exit, forever; such threads are made daemon threads."""
    path = check_plugin(
        tmp_path,
        "threader",
        "THRD001",
        "threading.Thread(target=time.sleep, args=(3600,)).start()\nreturn None",
        preamble="import threading\nthreading.Thread(target=time.sleep, args=(3600,)).start()\n",
    )
    listing = advisor("plugins", "--format", "json", "--plugin", path, timeout=60)
    assert listing.returncode == 0 and json.loads(listing.stdout)
    plan = plan_json(advisor("plan", "--answers", ANSWERS, "--format", "json", "--plugin", path, timeout=60))
    assert plan["candidates"]


def test_an_exit_handler_a_plugin_registers_cannot_change_the_output_or_the_exit_code(tmp_path: Path) -> None:
    """An atexit handler runs after the report: printing then would append to the JSON document, and
    os._exit(0) would replace the command's exit code. Both are guarded like the plugin's other code."""
    answers = tmp_path / "strict.yaml"
    answers.write_text("budget: {monthly_usd: 0.0001}\nprivacy: {air_gapped: true}\nhardware: [{ram_gb: 1}]\n")
    plain = advisor("plan", "--answers", str(answers), "--format", "json")
    path = plugin(tmp_path, "farewell", "import atexit, os\natexit.register(lambda: (print('bye'), os._exit(0)))\n")
    proc = advisor("plan", "--answers", str(answers), "--format", "json", "--plugin", path)
    assert proc.returncode == plain.returncode == 1, proc.stderr
    assert json.loads(proc.stdout) and "bye" in proc.stderr and "os._exit(0)" in proc.stderr


def test_an_exception_that_cannot_be_printed_is_still_a_finding(tmp_path: Path) -> None:
    """A check raising an exception whose __str__ itself raises SystemExit (or hangs) must not end
    the run or hang it: the finding says the message could not be printed."""
    path = check_plugin(
        tmp_path,
        "unprintable",
        "UNPR001",
        "raise Nasty()",
        preamble="class Nasty(Exception):\n    def __str__(self):\n        raise SystemExit(0)\n",
    )
    plan = plan_json(advisor("plan", "--answers", ANSWERS, "--format", "json", "--plugin", path))
    assert all("Nasty" in f["message"] for f in findings_of(plan, "UNPR001"))
    hangs = check_plugin(
        tmp_path,
        "hangs_str",
        "UNPR002",
        "raise Slow()",
        preamble="class Slow(Exception):\n    def __str__(self):\n        time.sleep(3600)\n        return ''\n",
    )
    plan = plan_json(
        advisor("plan", "--answers", ANSWERS, "--format", "json", "--plugin", hangs, "--plugin-timeout", "1")
    )
    assert any("timed out" in f["message"] for f in findings_of(plan, "UNPR002"))


def test_a_check_with_hostile_kinds_is_a_registration_error(tmp_path: Path) -> None:
    """Check.kinds is tested on every candidate outside the plugin's own call: an object whose
    __contains__ raises made that an internal error; kinds must be candidate kinds, checked at
    registration."""
    path = plugin(
        tmp_path,
        "kinds",
        """
        from advisor import hookimpl, Check

        class Kinds(tuple):
            def __contains__(self, item):
                raise SystemExit(0)

        @hookimpl
        def advisor_register_checks(register):
            register(Check(id="KIND001", category="policy", summary="x", run=lambda c, r: None, kinds=Kinds()))
            register(Check(id="KIND002", category="policy", summary="x", run=lambda c, r: None, kinds=("gpu",)))
        """,
    )
    plan = plan_json(advisor("plan", "--answers", ANSWERS, "--format", "json", "--plugin", path))
    assert not findings_of(plan, "KIND001") and any("kinds" in e for e in plan["plugin_errors"])


# --- 8. bad answers fall back -----------------------------------------------------------------------


def test_a_ranker_returning_nonsense_falls_back_to_the_builtin(tmp_path: Path) -> None:
    """advisor_rank returning 42 was an internal error (exit 70); it falls back to the next ranker."""
    path = plugin(
        tmp_path, "ranker", "from advisor import hookimpl\n@hookimpl\ndef advisor_rank(candidates):\n    return 42\n"
    )
    plain = plan_json(advisor("plan", "--answers", ANSWERS, "--format", "json"))
    plan = plan_json(advisor("plan", "--answers", ANSWERS, "--format", "json", "--plugin", path))
    ranks = lambda p: [(c["id"], c["quant"], c["hardware"], c["rank"]) for c in p["candidates"]]  # noqa: E731
    assert ranks(plan) == ranks(plain)
    assert any("ranker" in e and "advisor_rank returned int" in e for e in plan["plugin_errors"])
    strict = advisor("plan", "--answers", ANSWERS, "--plugin", path, "--strict-plugins")
    assert strict.returncode == 2 and "advisor_rank returned int" in strict.stderr


def test_a_deployment_plugin_returning_nonsense_falls_back(tmp_path: Path) -> None:
    """A wrong answer type from advisor_deployment_plan lets the built-in answer (as a None would)."""
    path = plugin(
        tmp_path,
        "deployer",
        "from advisor import hookimpl\n@hookimpl(tryfirst=True)\n"
        "def advisor_deployment_plan(candidate):\n    return 'vllm'\n",
    )
    answers = str(EXAMPLES / "onprem-bank.yaml")
    plain = plan_json(advisor("plan", "--answers", answers, "--format", "json"))
    plan = plan_json(advisor("plan", "--answers", answers, "--format", "json", "--plugin", path))
    assert plain["deployment"] is not None and plan["deployment"] == plain["deployment"]
    assert any("advisor_deployment_plan returned str" in e for e in plan["plugin_errors"])


def test_answers_that_are_not_plain_json_are_refused(tmp_path: Path) -> None:
    """A Finding with a NaN metric or an object in its evidence, one built with model_construct, and
    a strategy vote weighing infinity used to reach the renderer (NaN in the JSON, or exit 70);
    each is refused as a bad answer and the JSON stays strict."""
    path = plugin(
        tmp_path,
        "sloppy",
        """
        from advisor import hookimpl, Check, Finding, StrategySignal

        def nan_metric(candidate, requirements):
            yield Finding(severity="info", message="nan", metrics={"quality": float("nan")})

        def odd_evidence(candidate, requirements):
            yield Finding(severity="info", message="odd", evidence={"object": object()})

        def constructed(candidate, requirements):
            yield Finding.model_construct(severity="bogus", message=None)

        @hookimpl
        def advisor_register_checks(register):
            register(Check(id="SLOP001", category="policy", summary="x", run=nan_metric))
            register(Check(id="SLOP002", category="policy", summary="x", run=odd_evidence))
            register(Check(id="SLOP003", category="policy", summary="x", run=constructed))

        @hookimpl
        def advisor_strategy_signals():
            return StrategySignal(strategy="build", weight=float("inf"), reason="infinite ambition")
        """,
    )
    proc = advisor("plan", "--answers", ANSWERS, "--format", "json", "--plugin", path)
    plan = json.loads(proc.stdout, parse_constant=lambda c: pytest.fail(f"{c} in the JSON"))
    for check_id in ("SLOP001", "SLOP002", "SLOP003"):
        found = findings_of(plan, check_id)
        assert found and all(f["severity"] == "error" and "not valid plain JSON" in f["message"] for f in found)
    assert "infinite ambition" not in plan["strategy"]["reasons"]
    assert any("advisor_strategy_signals" in e for e in plan["plugin_errors"])


HARDWARE = (
    "{'id': 'acme-box', 'name': 'ACME box', 'kind': 'gpu', 'vendor': 'acme', 'backend': 'cuda',"
    " 'memory_gib': 48, 'bandwidth_gb_s': 864, 'source': 'https://example.com/box', 'as_of': '2026-11-01'}"
)


def test_an_invalid_catalog_record_is_skipped_with_a_warning(tmp_path: Path) -> None:
    """A plugin source with one invalid record exited 2; the record is skipped (the good one kept)
    and the plugin error names the record and the field; --strict-plugins makes it fatal."""
    path = plugin(
        tmp_path,
        "source",
        "from advisor import hookimpl, CatalogSource\n@hookimpl\ndef advisor_register_catalog_sources(register):\n"
        f"    register(CatalogSource(name='acme', kind='hardware', load=lambda: [{HARDWARE}, {{'id': 'broken'}}]))\n",
    )
    proc = advisor("catalog", "hardware", "--format", "json", "--plugin", path)
    assert proc.returncode == 0, proc.stderr
    ids = [row["id"] for row in json.loads(proc.stdout)]
    assert "acme-box" in ids and "broken" not in ids
    assert "broken" in proc.stderr and "as_of" in proc.stderr
    plan = plan_json(advisor("plan", "--answers", ANSWERS, "--format", "json", "--plugin", path))
    assert any("source" in e and "broken" in e for e in plan["plugin_errors"])
    strict = advisor("plan", "--answers", ANSWERS, "--plugin", path, "--strict-plugins")
    assert strict.returncode == 2 and "broken" in strict.stderr


def test_advisor_checks_keeps_working_with_broken_plugins(tmp_path: Path) -> None:
    """`advisor checks` exited 2 on a plugin re-registering a built-in id; it lists both and warns."""
    dup = plugin(
        tmp_path,
        "dup",
        "from advisor import hookimpl, Check\n@hookimpl\ndef advisor_register_checks(register):\n"
        "    register(Check(id='LIC001', category='policy', summary='mine', run=lambda c, r: None))\n",
    )
    broken = plugin(tmp_path, "broken", "import no_such_module_here\n")
    proc = advisor("checks", "--format", "json", "--plugin", dup, "--plugin", broken)
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(proc.stdout)
    assert sorted(r["plugin"] for r in rows if r["id"] == "LIC001") == ["dup", "license"]
    assert "registered twice" in proc.stderr and "broken" in proc.stderr


# --- 9. a check cannot rewrite what others see -------------------------------------------------------


def test_a_check_cannot_rewrite_the_requirements(tmp_path: Path) -> None:
    """A check (AAA001 runs first, by id) that rewrites the requirements used to change what every
    later check and the report saw; each check now gets its own copy."""
    path = plugin(
        tmp_path,
        "rewriter",
        """
        from advisor import hookimpl, Check, Finding

        def rewrite(candidate, requirements):
            requirements.context_tokens = 1
            requirements.languages.append("xx")
            requirements.traffic.requests_per_day = 1

        def look(candidate, requirements):
            yield Finding(severity="info", message=f"{requirements.context_tokens} {requirements.languages}")

        @hookimpl
        def advisor_register_checks(register):
            register(Check(id="AAA001", category="policy", summary="rewrites", run=rewrite))
            register(Check(id="ZZZ001", category="policy", summary="looks", run=look))
        """,
    )
    plain = plan_json(advisor("plan", "--answers", ANSWERS, "--format", "json"))
    plan = plan_json(advisor("plan", "--answers", ANSWERS, "--format", "json", "--plugin", path))
    assert plan["requirements"] == plain["requirements"]
    expected = f"{plain['requirements']['context_tokens']} {plain['requirements']['languages']}"
    assert {f["message"] for f in findings_of(plan, "ZZZ001")} == {expected}
    # every other check judged each candidate as without the rewriter (ZZZ001's own info finding may
    # change a verdict from pass to info, so the verdicts themselves are not compared)
    assert _other_findings(plan) == _other_findings(plain)


def _other_findings(plan: dict[str, Any]) -> dict[str, list[tuple[str, str, str]]]:
    """Each candidate's findings of the built-in checks: (check, severity, message)."""
    return {
        f"{c['id']} {c['quant']} {c['hardware']} x{c['hardware_count']}": sorted(
            (f["check"], f["severity"], f["message"]) for f in c["findings"] if f["check"] not in {"AAA001", "ZZZ001"}
        )
        for c in plan["candidates"]
    }


# --- 10. redaction and one error per failure ---------------------------------------------------------


def test_secrets_in_a_plugin_message_are_redacted(tmp_path: Path) -> None:
    """A crashing check whose exception quotes secrets put them into every finding (214 of them):
    tokens shaped like Hub/OpenAI keys, bearer tokens and the values of secret-named environment
    variables are replaced, and plugin_errors has one line for the check, not one per candidate."""
    custom_secret = "correct-horse-battery-staple"
    path = check_plugin(
        tmp_path,
        "leaky",
        "LEAK001",
        'raise RuntimeError(f\'auth failed: {os.environ["HF_TOKEN"]} {os.environ["MY_SERVICE_API_KEY"]} '
        f"{OPENAI_SECRET} Authorization: Bearer abc.def.ghi123 https://bob:hunter22@example.com/x')",
    )
    env = {"HF_TOKEN": HF_SECRET, "MY_SERVICE_API_KEY": custom_secret, "HF_HUB_OFFLINE": "1"}
    proc = advisor("plan", "--answers", ANSWERS, "--format", "json", "--plugin", path, env=env)
    plan = plan_json(proc)
    for secret in (HF_SECRET, custom_secret, OPENAI_SECRET, "abc.def.ghi123", "hunter22"):
        assert secret not in proc.stdout and secret not in proc.stderr, secret
    found = findings_of(plan, "LEAK001")
    assert len(found) == len(plan["candidates"]) and "auth failed" in found[0]["message"]
    assert len([e for e in plan["plugin_errors"] if "LEAK001" in e]) == 1
    strict = advisor("plan", "--answers", ANSWERS, "--plugin", path, "--strict-plugins", env=env)
    assert strict.returncode == 2 and "auth failed" in strict.stderr
    for secret in (HF_SECRET, custom_secret, OPENAI_SECRET):
        assert secret not in strict.stderr


def test_a_plugin_load_error_is_redacted(tmp_path: Path) -> None:
    """An import error quoting a token is redacted in `advisor plugins` too."""
    path = plugin(tmp_path, "leaky_import", f"raise ImportError('cannot log in with {HF_SECRET}')\n")
    proc = advisor("plugins", "--format", "json", "--plugin", path)
    assert proc.returncode == 0 and HF_SECRET not in proc.stdout
    assert "cannot log in" in proc.stdout


# --- the guard itself, in process ---------------------------------------------------------------------


def test_the_guard_leaves_the_process_as_it_found_it() -> None:
    """After plugin code (even code that timed out) the alarm is off, the signal handlers, stdout,
    os._exit and the address-space limit are what they were: nothing of the guard leaks into the
    rest of the run (a late alarm would kill the report; a left-over memory cap the smoke worker)."""
    import resource

    from advisor.engine.guard import Guard, PluginFault, PluginLimits

    before = (
        signal.getsignal(signal.SIGALRM),
        signal.getsignal(signal.SIGINT),
        sys.stdout,
        os._exit,
        resource.getrlimit(resource.RLIMIT_AS),
    )
    guard = Guard(PluginLimits(call_s=0.2, load_s=0.2, memory_mb=512))
    with pytest.raises(PluginFault, match=r"timed out after 0\.2 s"):
        guard.call(lambda: time.sleep(30), seconds=0.2, setting="test")
    with pytest.raises(PluginFault, match=r"called os\._exit\(3\)"):
        guard.call(lambda: os._exit(3), seconds=1, setting="test")
    assert guard.call(lambda: 42, seconds=1, setting="test") == 42
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
    after = (
        signal.getsignal(signal.SIGALRM),
        signal.getsignal(signal.SIGINT),
        sys.stdout,
        os._exit,
        resource.getrlimit(resource.RLIMIT_AS),
    )
    assert after == before


def test_a_nested_call_is_charged_to_the_outer_limit() -> None:
    """A registration hook reading the catalog runs other plugins' sources inside its own call: the
    inner call shares the outer timer, and a failure inside it is the inner plugin's."""
    from advisor.engine.guard import Guard, PluginFault, PluginLimits

    guard = Guard(PluginLimits(call_s=0.3))

    def outer() -> str:
        with pytest.raises(PluginFault, match=r"sys\.exit"):
            guard.call(lambda: sys.exit(1), seconds=0.3, setting="test")
        guard.call(lambda: time.sleep(30), seconds=0.3, setting="test")
        return "not reached"

    with pytest.raises(PluginFault, match="timed out"):
        guard.call(outer, seconds=0.3, setting="test")
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)


def test_redaction(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tokens by shape and secret-named environment values; ordinary text untouched."""
    from advisor.engine.guard import redact_secrets

    monkeypatch.setenv("OPENAI_API_KEY", "plain-looking-value-123")
    monkeypatch.setenv("HF_TOKEN", HF_SECRET)
    text = (
        f"{HF_SECRET} plain-looking-value-123 {OPENAI_SECRET} Authorization: Bearer eyJhbGciOi.x.y "
        "https://alice:s3cret@example.com/repo ghp_0123456789abcdefghij model Qwen/Qwen2.5-7B-Instruct"
    )
    out = redact_secrets(text)
    for secret in (HF_SECRET, "plain-looking-value-123", OPENAI_SECRET, "eyJhbGciOi", "s3cret", "ghp_0123456789"):
        assert secret not in out
    assert "Qwen/Qwen2.5-7B-Instruct" in out and "https://***@example.com/repo" in out


@pytest.mark.parametrize("value", ["soon", "-1", "nan", "inf"])
def test_a_bad_limit_setting_is_bad_input(value: str) -> None:
    """ADVISOR_PLUGIN_TIMEOUT that is not a finite number >= 0 is exit 2 naming the variable."""
    proc = advisor("plan", "--answers", ANSWERS, env={"ADVISOR_PLUGIN_TIMEOUT": value})
    assert proc.returncode == 2 and "ADVISOR_PLUGIN_TIMEOUT" in proc.stderr
    assert_no_traceback(proc)

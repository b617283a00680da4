"""The plugin engine: loading, isolation, strictness, ordering, selection, and one test per hook."""

from __future__ import annotations

import re
import sys
import types
from pathlib import Path

import pytest

from advisor import (
    Assessment,
    Backend,
    CatalogSource,
    Check,
    Deployment,
    Finding,
    Question,
    StrategySignal,
    hookimpl,
)
from advisor.engine.host import BUILTIN_PLUGINS, PluginHost
from advisor.engine.run import assess_all, run_plan
from advisor.engine.session import Session
from advisor.engine.variants import build_candidates
from advisor.errors import PluginError
from advisor.model.requirements import Requirements
from tests.conftest import FIXTURES


def plugin_module(name: str, **functions: object) -> types.ModuleType:
    """An in-test plugin: a module holding the given hook implementations."""
    module = types.ModuleType(name)
    for key, value in functions.items():
        setattr(module, key, value)
    return module


def host_with(*modules: types.ModuleType, builtins: bool = True, strict: bool = False) -> PluginHost:
    host = PluginHost(strict=strict).load(builtins=builtins, entrypoints=False)
    for module in modules:
        sys.modules[module.__name__] = module
        host.load_spec(module.__name__)
    return host


def small_requirements() -> Requirements:
    return Requirements(hardware=[{"gpu": "rtx-4090", "count": 1}, {"ram_gb": 64}])


# --- hooks: one test each (a meta-test below checks that every hook has one) -------------------


def test_hook_advisor_register_checks() -> None:
    def run(candidate, requirements):
        yield Finding(severity="info", message=f"seen {candidate.id}")

    @hookimpl
    def advisor_register_checks(register):
        register(Check(id="TEST001", category="policy", summary="sees everything", run=run))

    host = host_with(plugin_module("t_checks", advisor_register_checks=advisor_register_checks))
    context = Session(host=host)
    assert "TEST001" in [rc.check.id for rc in context.checks]
    plan = run_plan(small_requirements(), context)
    finding = next(f for f in plan.assessments[0].findings if f.check == "TEST001")
    assert finding.plugin == "t_checks" and finding.category == "policy"


def test_hook_advisor_register_questions() -> None:
    @hookimpl
    def advisor_register_questions(register):
        register(Question(id="cc", field="plugins.t_questions.cost_centre", prompt="Cost centre?"))

    context = Session(
        host=host_with(plugin_module("t_questions", advisor_register_questions=advisor_register_questions))
    )
    mine = [(p, q.field) for p, q in context.questions() if p == "t_questions"]
    assert mine == [("t_questions", "plugins.t_questions.cost_centre")]


def test_hook_advisor_register_catalog_sources() -> None:
    record = {
        "id": "acme-box",
        "name": "ACME box",
        "kind": "gpu",
        "vendor": "acme",
        "backend": "cuda",
        "memory_gib": 48,
        "bandwidth_gb_s": 864,
        "source": "https://example.com/box",
        "as_of": "2026-11-01",
    }

    @hookimpl
    def advisor_register_catalog_sources(register):
        register(CatalogSource(name="acme", kind="hardware", load=lambda: [record]))

    context = Session(
        host=host_with(plugin_module("t_sources", advisor_register_catalog_sources=advisor_register_catalog_sources))
    )
    assert context.catalog.hardware["acme-box"].memory_gib == 48
    assert context.catalog.origins[("hardware", "acme-box")] == "t_sources: acme"


def test_hook_advisor_register_backends(session: Session) -> None:
    names = [b.name for _, b in session.backends()]
    assert "llama.cpp" in names
    backend = dict((b.name, b) for _, b in session.backends())["llama.cpp"]
    assert isinstance(backend, Backend) and backend.formats == ("gguf",)
    assert isinstance(backend.is_available(), bool)


def test_hook_advisor_strategy_signals() -> None:
    @hookimpl
    def advisor_strategy_signals(requirements):
        return StrategySignal(strategy="open_source", weight=100.0, reason="the board said so")

    host = host_with(plugin_module("t_signals", advisor_strategy_signals=advisor_strategy_signals))
    plan = run_plan(small_requirements(), Session(host=host))
    assert plan.strategy.recommended == "open_source"
    assert "the board said so" in plan.strategy.reasons
    assert any(s.plugin == "t_signals" for s in plan.strategy.signals)


def test_infeasible_road_is_never_recommended() -> None:
    @hookimpl
    def advisor_strategy_signals(requirements):
        return StrategySignal(strategy="api", weight=100.0, reason="APIs please")

    host = host_with(plugin_module("t_infeasible", advisor_strategy_signals=advisor_strategy_signals))
    req = Requirements.model_validate({**small_requirements().model_dump(), "privacy": {"air_gapped": True}})
    plan = run_plan(req, Session(host=host))
    assert plan.strategy.recommended == "open_source" and plan.strategy.scores["api"] == 0


def test_hook_advisor_rank() -> None:
    @hookimpl
    def advisor_rank(candidates):
        return sorted(candidates, key=lambda a: a.candidate.id, reverse=True)

    host = host_with(plugin_module("t_rank", advisor_rank=advisor_rank))
    plan = run_plan(small_requirements(), Session(host=host))
    # the hook's order holds within each road; the recommended road's candidates lead (issue 13)
    for kind in ("api", "open_source", "build"):
        ids = [a.candidate.id for a in plan.ranked if a.candidate.kind == kind]
        assert ids == sorted(ids, reverse=True)
    assert plan.ranked[0].candidate.kind == plan.strategy.recommended


def test_hook_advisor_deployment_plan() -> None:
    @hookimpl
    def advisor_deployment_plan(candidate):
        return Deployment(candidate=candidate.candidate.key, engine="tgi", command="text-generation-launcher")

    host = host_with(plugin_module("t_deploy", advisor_deployment_plan=advisor_deployment_plan))
    req = Requirements.model_validate({**small_requirements().model_dump(), "privacy": {"on_prem_required": True}})
    plan = run_plan(req, Session(host=host))
    assert plan.deployment is not None and plan.deployment.engine == "tgi"


def test_every_hook_has_a_test() -> None:
    hooks = [name for name in dir(PluginHost().pm.hook) if name.startswith("advisor_")]
    assert len(hooks) == 7
    missing = [h for h in hooks if f"test_hook_{h}" not in globals()]
    assert not missing, f"hooks without a test_hook_<name>: {missing}"


# --- built-ins -------------------------------------------------------------------------------


def test_builtins_load_cleanly(host: PluginHost) -> None:
    assert host.errors == []
    assert {i.name for i in host.plugin_infos(include_builtin=True)} == set(BUILTIN_PLUGINS)
    assert all(i.hooks for i in host.plugin_infos(include_builtin=True))


def test_builtins_use_only_the_public_api() -> None:
    """Built-ins import advisor's public names and public modules only (no private internals)."""
    # the modules docs/plugins.md names under "The public API", and only those
    doc = (Path(__file__).parent.parent / "docs" / "plugins.md").read_text()
    block = doc.split("## The public API", 1)[1].split("```python", 1)[1].split("```", 1)[0]
    public_modules = set(re.findall(r"^from (advisor[\w.]*) import", block, re.M))
    import ast

    import advisor

    for path in (Path(__file__).parent.parent / "plugins").glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("advisor"):
                public = node.module in public_modules or node.module.startswith("advisor.estimate.")
                assert public, f"{path.name} imports {node.module}"
                if node.module == "advisor":
                    assert all(a.name in advisor.__all__ for a in node.names), path.name
            if isinstance(node, ast.Import):
                assert not any(a.name.startswith("advisor.") for a in node.names), path.name


def test_every_builtin_can_be_disabled(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ADVISOR_DISABLE_PLUGINS", "cost,license")
    host = PluginHost().load(entrypoints=False)
    context = Session(host=host)
    ids = {rc.check.id for rc in context.checks}
    assert "COST001" not in ids and "LIC001" not in ids and "HW001" in ids
    assert {i.name for i in host.plugin_infos(True) if i.disabled} == {"cost", "license"}


# --- isolation -------------------------------------------------------------------------------


def test_broken_import_is_reported_and_run_goes_on() -> None:
    host = PluginHost().load(entrypoints=False, extra=[str(FIXTURES / "broken_import.py")])
    info = host.infos["broken_import"]
    assert info.error and "ModuleNotFoundError" in info.error
    plan = run_plan(small_requirements(), Session(host=host))
    assert plan.ranked and any("broken_import" in e for e in plan.plugin_errors)


def test_unknown_hook_name_is_a_registration_error() -> None:
    host = PluginHost().load(entrypoints=False, extra=[str(FIXTURES / "unknown_hook.py")])
    assert "advisor_register_chekcs" in (host.infos["unknown_hook"].error or "")
    assert host.pm.get_plugin("unknown_hook") is None


def test_crashing_registration_skips_only_that_plugin() -> None:
    host = PluginHost().load(entrypoints=False, extra=[str(FIXTURES / "crashing_registration.py")])
    context = Session(host=host)
    assert "LIC001" in {rc.check.id for rc in context.checks}
    assert any("crashing_registration" in e and "cannot register" in e for e in host.errors)


def test_crashing_check_becomes_error_finding_and_verdicts_hold() -> None:
    plain = run_plan(small_requirements(), Session(host=PluginHost().load(entrypoints=False)))
    host = PluginHost().load(entrypoints=False, extra=[str(FIXTURES / "crashing_check.py")])
    plan = run_plan(small_requirements(), Session(host=host))
    errors = [f for a in plan.assessments for f in a.findings if f.severity == "error"]
    assert len(errors) == len(plan.assessments)
    assert all(f.plugin == "crashing_check" and "BOOM001" in f.message and "boom" in f.message for f in errors)
    assert [a.verdict for a in plan.assessments] == [a.verdict for a in plain.assessments]
    assert [a.candidate.key for a in plan.ranked] == [a.candidate.key for a in plain.ranked]


@pytest.mark.parametrize("fixture", ["broken_import.py", "crashing_registration.py", "crashing_check.py"])
def test_strict_mode_makes_failures_fatal(fixture: str) -> None:
    with pytest.raises(PluginError, match="strict plugins"):
        host = PluginHost(strict=True).load(entrypoints=False, extra=[str(FIXTURES / fixture)])
        run_plan(small_requirements(), Session(host=host))


def test_strict_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from advisor.engine.host import strict_from_env

    monkeypatch.setenv("ADVISOR_STRICT_PLUGINS", "1")
    assert strict_from_env()


def test_duplicate_check_id_names_both_plugins() -> None:
    host = PluginHost().load(entrypoints=False, extra=[str(FIXTURES / "duplicate_lic.py")])
    with pytest.raises(
        PluginError, match="LIC001 is registered twice: by plugin 'duplicate_lic' and by plugin 'license'"
    ):
        _ = Session(host=host).checks


def test_failing_ranker_falls_back_to_builtin() -> None:
    @hookimpl
    def advisor_rank(candidates):
        raise RuntimeError("ranker broke")

    host = host_with(plugin_module("t_badrank", advisor_rank=advisor_rank))
    plan = run_plan(small_requirements(), Session(host=host))
    assert plan.ranked and any("ranker broke" in e for e in plan.plugin_errors)


def test_check_id_must_be_well_formed() -> None:
    with pytest.raises(ValueError, match="capital letters then three digits"):
        Check(id="lic1", category="license", summary="x", run=lambda c, r: None)


# --- ordering and selection ------------------------------------------------------------------


def test_results_do_not_depend_on_load_order() -> None:
    order_a = PluginHost().load(entrypoints=False)
    order_b = PluginHost()
    for name, module in reversed(list(BUILTIN_PLUGINS.items())):
        order_b._load(name, "builtin", module, lambda m=module: __import__(m, fromlist=["_"]))
    req = small_requirements()
    plan_a = run_plan(req, Session(host=order_a))
    plan_b = run_plan(req, Session(host=order_b))
    assert [(a.candidate.key, a.rank, a.verdict, [f.check for f in a.findings]) for a in plan_a.assessments] == [
        (a.candidate.key, a.rank, a.verdict, [f.check for f in a.findings]) for a in plan_b.assessments
    ]
    assert plan_a.strategy == plan_b.strategy


def test_select_and_ignore_by_prefix(host: PluginHost) -> None:
    req = small_requirements()
    context = Session(host=host, select=("HW", "LIC"), ignore=("LAT",))
    candidates = [c for c in build_candidates(req, context.catalog) if c.kind == "open_source"][:20]
    checks = {f.check for a in assess_all(candidates, req, context) for f in a.findings}
    assert {c.rstrip("0123456789") for c in checks} == {"HW", "LIC"}


def test_design_example_plugin_verbatim() -> None:
    host = PluginHost(strict=True).load(entrypoints=False, extra=[str(FIXTURES / "acme_rules.py")])
    plan = run_plan(small_requirements(), Session(host=host))
    big = [a for a in plan.assessments if a.candidate.params and a.candidate.params > 20e9]
    assert big and all(a.rank is None for a in big)
    assert all(any(f.check == "ACME001" and f.severity == "fail" for f in a.findings) for a in big)


def test_assessment_verdict_ignores_errors() -> None:
    from advisor.model.candidate import Candidate

    a = Assessment(
        candidate=Candidate(id="x", kind="api", name="x"),
        findings=[Finding(severity="error", message="crash"), Finding(severity="warn", message="w")],
    )
    assert a.verdict == "warn"

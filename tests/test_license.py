"""The licence checks LIC001-LIC008 over the real catalog: the issue's "done when", lineage with real
fine-tunes, and every clause-quoting rule. Synthetic records (for cases the catalog has no real model
for: a multimodal Llama, an uncatalogued licence) are overlays built from a real record and say so."""

from __future__ import annotations

from pathlib import Path
from typing import Any, get_args

import pytest
import yaml
from advisor_plugins import license as lic

from advisor.catalog.loader import Catalog
from advisor.engine.host import PluginHost
from advisor.engine.run import active_checks, assess
from advisor.engine.session import Session
from advisor.engine.variants import open_candidate
from advisor.estimate.cost import monthly_tokens
from advisor.estimate.cost_constants import cost_constants
from advisor.model.candidate import Candidate
from advisor.model.checks import Finding
from advisor.model.requirements import Requirements, UseCase, requirements_from_data

#: Hugging Face / custom ids the issue lists (an alias resolving to them counts).
ISSUE_LICENCES = [
    "llama2", "llama3", "llama3.1", "llama3.2", "llama3.3", "llama4", "gemma", "qwen", "tongyi-qianwen",
    "qwen-research", "apache-2.0", "mit", "bsd-3-clause", "cc-by-4.0", "cc-by-sa-4.0", "cc-by-nc-4.0",
    "cc-by-nc-sa-4.0", "cc-by-nc-nd-4.0", "openrail", "openrail++", "bigscience-openrail-m",
    "bigscience-bloom-rail-1.0", "creativeml-openrail-m", "deepseek", "mistral-research-license",
    "mistral-non-production-license", "falcon-180b-license", "yi-license", "nvidia-open-model-license",
    "gpl-3.0", "agpl-3.0", "other", "unknown",
]  # fmt: skip


def make_context(catalog_dir: Path | None = None) -> Session:
    host = PluginHost(strict=True).load(entrypoints=False)
    return Session(host=host, catalog_dir=catalog_dir, select=("LIC",))


@pytest.fixture(scope="module")
def ctx() -> Session:
    return make_context()


def answers(**data: Any) -> Requirements:
    return requirements_from_data(data, "test answers")


def findings(context: Session, candidate: Candidate, requirements: Requirements) -> list[Finding]:
    return assess(candidate, requirements, active_checks(context), context).findings


def of(found: list[Finding], check: str) -> list[Finding]:
    return [f for f in found if f.check == check]


def candidate_for(catalog: Catalog, model_id: str, **update: Any) -> Candidate:
    return open_candidate(catalog.models[model_id], quant="Q4_K_M").model_copy(update=update)


def binding_licences(context: Session, candidate: Candidate) -> list[Any]:
    return [record for _, record in lic.resolve_lineage(candidate, context.catalog).terms()]


def overlay(tmp_path: Path, ctx: Session, template: str, **changes: Any) -> Session:
    """A context whose catalog has one extra model: a copy of ``template`` with ``changes`` (a test fixture)."""
    record = ctx.catalog.models[template].model_dump(mode="json", exclude_none=True)
    record.update(changes)
    (tmp_path / "models.yaml").write_text(yaml.safe_dump({"models": [record]}), encoding="utf-8")
    return make_context(tmp_path)


# --- the knowledge base -----------------------------------------------------------------------------


def test_every_licence_the_issue_lists_is_in_the_catalog(ctx: Session) -> None:
    missing = [name for name in ISSUE_LICENCES if ctx.catalog.find_license(name) is None]
    assert not missing
    assert len(ctx.catalog.licenses) >= 30


def test_every_licence_record_carries_the_clauses_its_terms_need(ctx: Session) -> None:
    use_cases = set(get_args(UseCase))
    for record in ctx.catalog.licenses.values():
        assert "commercial_use" in record.clauses, record.id
        if record.commercial_use == "no":
            assert record.permitted_use != "any" and record.saas_hosting == "no", record.id
        if record.monthly_active_user_cap is not None:
            assert "user_cap" in record.clauses, record.id
        if record.monthly_output_token_cap is not None:
            assert "usage_cap" in record.clauses, record.id
        if record.regional_exclusions:
            assert "regional" in record.clauses and record.regional_exclusion_scope, record.id
        if record.flow_down:
            assert "flow_down" in record.clauses, record.id
        if record.saas_hosting == "conditional" and record.id not in lic.UNIDENTIFIED:
            assert "hosting" in record.clauses or record.id == "grok2-community", record.id
        for restriction in record.use_restrictions:
            assert set(restriction.use_cases) <= use_cases, record.id
        assert all(notice.strip() for notice in record.required_notices), record.id


def test_aliases_do_not_collide(ctx: Session) -> None:
    names: dict[str, str] = {}
    for record in ctx.catalog.licenses.values():
        for name in [record.id, *record.aliases]:
            assert names.setdefault(name.lower(), record.id) == record.id, name


# --- "done when" over the whole catalog ---------------------------------------------------------------


def test_commercial_use_fails_every_non_commercial_model_with_its_clause(ctx: Session) -> None:
    requirements = answers(license={"commercial_use": True})
    failed = set()
    for model_id in sorted(ctx.catalog.models):
        candidate = candidate_for(ctx.catalog, model_id)
        blocked = [r for r in binding_licences(ctx, candidate) if r.commercial_use == "no"]
        fails = [f for f in of(findings(ctx, candidate, requirements), "LIC001") if f.severity == "fail"]
        assert bool(fails) == bool(blocked), model_id
        for finding, record in zip(fails, blocked, strict=True):
            clause = record.clauses["commercial_use"]
            assert " ".join(clause.text.split())[:60] in finding.message, model_id
            assert (clause.link or record.link) in finding.message
            assert finding.evidence["license"] == record.id and finding.evidence["text"] == clause.text
        if fails:
            failed.add(model_id)
    # the catalog's research-only, non-production and non-commercial models are among them
    assert {"Qwen/Qwen2.5-3B-Instruct", "mistralai/Mistral-Large-Instruct-2407"} <= failed
    assert "CohereForAI/c4ai-command-r-v01" in failed


def test_non_commercial_answers_do_not_fail_on_commercial_grounds(ctx: Session) -> None:
    requirements = answers(license={"commercial_use": False})
    for model_id in sorted(ctx.catalog.models):
        found = of(findings(ctx, candidate_for(ctx.catalog, model_id), requirements), "LIC001")
        assert all(f.severity != "fail" for f in found), model_id


def test_every_llama_model_fails_above_700_million_users(ctx: Session) -> None:
    over = answers(license={"monthly_active_users": 700_000_001})
    at_cap = answers(license={"monthly_active_users": 700_000_000})
    llama = set()
    for model_id in sorted(ctx.catalog.models):
        candidate = candidate_for(ctx.catalog, model_id)
        caps = [r for r in binding_licences(ctx, candidate) if r.monthly_active_user_cap is not None]
        fails = [f for f in of(findings(ctx, candidate, over), "LIC002") if f.severity == "fail"]
        assert len(fails) == len([r for r in caps if r.monthly_active_user_cap < 700_000_001]), model_id
        if any(r.id.startswith("llama") for r in caps):
            llama.add(model_id)
            assert any("700,000,000" in f.message and "§2" in f.message for f in fails), model_id
        assert all(
            f.severity != "fail" for f in of(findings(ctx, candidate, at_cap), "LIC002") if "llama" in f.message.lower()
        )
    # Meta's own models and the fine-tunes whose base is a Llama model
    assert {"meta-llama/Llama-3.1-8B-Instruct", "deepseek-ai/DeepSeek-R1-Distill-Llama-8B"} <= llama
    assert "AtlaAI/Selene-1-Mini-Llama-3.1-8B" in llama


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"license": {"commercial_use": True, "monthly_active_users": 900_000_000, "saas_hosting": True}},
        {"use_case": "classification", "privacy": {"data_residency": "EU"}},
    ],
)
def test_permissive_models_pass_without_noise(ctx: Session, data: dict[str, Any]) -> None:
    requirements = answers(**data)
    permissive = 0
    for model_id in sorted(ctx.catalog.models):
        candidate = candidate_for(ctx.catalog, model_id)
        lineage = lic.resolve_lineage(candidate, ctx.catalog)
        if not all(link.identified for link in lineage.links if link.binding):
            continue
        if any(lic.imposes_terms(record) for record in binding_licences(ctx, candidate)):
            continue
        permissive += 1
        found = [f for f in findings(ctx, candidate, requirements) if f.check != "LIC007"]
        assert [(f.check, f.severity) for f in found] == [("LIC001", "pass")], model_id
        assert "allows" in found[0].message and "http" in found[0].message
    assert permissive >= 10


def test_an_other_licence_without_a_known_name_warns_with_its_name_and_link(ctx: Session, tmp_path: Path) -> None:
    context = overlay(
        tmp_path,
        ctx,
        "Qwen/Qwen2.5-7B-Instruct",
        id="test-fixture/custom-licence-model",
        license="other",
        license_name="acme-model-license-1.0",
        license_link="https://example.com/acme-model-license",
        base_model=None,
    )
    candidate = candidate_for(context.catalog, "test-fixture/custom-licence-model")
    for data in ({}, {"license": {"commercial_use": False}}):
        found = findings(context, candidate, answers(**data))
        assert [(f.check, f.severity) for f in found] == [("LIC001", "warn")]
        message = found[0].message
        assert "acme-model-license-1.0" in message and "https://example.com/acme-model-license" in message
        assert found[0].evidence["license_link"] == "https://example.com/acme-model-license"


def test_unknown_and_undeclared_licences_are_never_a_silent_pass(ctx: Session) -> None:
    base = candidate_for(ctx.catalog, "Qwen/Qwen2.5-7B-Instruct")
    for declared in ("unknown", None, "elastic-2.0"):
        candidate = base.model_copy(update={"id": "someone/hub-model", "license": declared, "base_model": None})
        found = findings(ctx, candidate, answers())
        assert [(f.check, f.severity) for f in found] == [("LIC001", "warn")], declared
        assert "not identified" in found[0].message


def test_license_name_resolves_an_other_licence(ctx: Session) -> None:
    """falcon-180B declares `license: unknown` and names its licence; the name decides."""
    candidate = candidate_for(ctx.catalog, "Qwen/Qwen2.5-7B-Instruct").model_copy(
        update={
            "id": "tiiuae/falcon-180B-chat",
            "license": "unknown",
            "base_model": None,
            "extra": {"license_name": "falcon-180b-license"},
        }
    )
    found = findings(ctx, candidate, answers(license={"saas_hosting": True}))
    assert of(found, "LIC001")[0].severity == "pass" and "falcon-180b-license" in of(found, "LIC001")[0].message
    hosting = of(found, "LIC003")
    assert hosting[0].severity == "warn" and "may require a separate license" in hosting[0].message


# --- lineage: real fine-tunes -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model_id", "label", "base", "base_licence"),
    [
        ("deepseek-ai/DeepSeek-R1-Distill-Llama-8B", "mit", "meta-llama/Llama-3.1-8B", "llama3.1"),
        ("deepseek-ai/DeepSeek-R1-Distill-Llama-70B", "mit", "meta-llama/Llama-3.3-70B-Instruct", "llama3.3"),
        ("AtlaAI/Selene-1-Mini-Llama-3.1-8B", "apache-2.0", "meta-llama/Llama-3.1-8B", "llama3.1"),
    ],
)
def test_a_permissive_label_on_a_llama_base_names_both_models_and_licences(
    ctx: Session, model_id: str, label: str, base: str, base_licence: str
) -> None:
    found = findings(ctx, candidate_for(ctx.catalog, model_id), answers())
    lineage = of(found, "LIC008")
    assert [f.severity for f in lineage] == ["warn"]
    message = lineage[0].message
    for words in (model_id, label, base, base_licence):
        assert words in message
    assert lineage[0].evidence["base_license"] == base_licence
    # the base's duties are applied by the other checks: the words to ship are Llama's
    duties = of(found, "LIC005")
    assert duties and "Built with Llama" in duties[0].message and base in duties[0].message


def test_fine_tunes_of_permissive_bases_and_own_relicensing_raise_nothing(ctx: Session) -> None:
    for model_id in (
        "Vikhrmodels/Vikhr-Nemo-12B-Instruct-R-21-09-24",  # apache-2.0 on Mistral-Nemo (apache-2.0)
        "deepseek-ai/DeepSeek-R1-Distill-Qwen-7B",  # mit on Qwen2.5-Math-7B (apache-2.0)
        "meta-llama/Llama-3.3-70B-Instruct",  # Meta relicensing its own Llama 3.1 base
    ):
        assert not of(findings(ctx, candidate_for(ctx.catalog, model_id), answers()), "LIC008"), model_id
    vikhr = lic.resolve_lineage(
        candidate_for(ctx.catalog, "Vikhrmodels/Vikhr-Nemo-12B-Instruct-R-21-09-24"), ctx.catalog
    )
    assert [link.model for link in vikhr.links] == [
        "Vikhrmodels/Vikhr-Nemo-12B-Instruct-R-21-09-24",
        "mistralai/Mistral-Nemo-Instruct-2407",
        "mistralai/Mistral-Nemo-Base-2407",
    ]
    assert [link.binding for link in vikhr.links] == [True, True, False]


def test_an_apache_label_on_a_non_commercial_base_fails_commercial_use(ctx: Session, tmp_path: Path) -> None:
    """Test fixture: an apache-2.0-labelled fine-tune of Command R (cc-by-nc-4.0, a real catalog model)."""
    context = overlay(
        tmp_path,
        ctx,
        "CohereForAI/c4ai-command-r-v01",
        id="test-fixture/command-r-finetune",
        license="apache-2.0",
        gated=False,
        base_model="CohereForAI/c4ai-command-r-v01",
    )
    found = findings(context, candidate_for(context.catalog, "test-fixture/command-r-finetune"), answers())
    lineage = of(found, "LIC008")[0]
    for words in ("test-fixture/command-r-finetune", "apache-2.0", "CohereForAI/c4ai-command-r-v01", "cc-by-nc-4.0"):
        assert words in lineage.message
    commercial = of(found, "LIC001")
    assert [f.severity for f in commercial] == ["fail"]
    assert "CohereForAI/c4ai-command-r-v01" in commercial[0].message and "NonCommercial" in commercial[0].message


def test_a_hub_candidate_carries_its_declared_base_licence(ctx: Session) -> None:
    """A Hub card (not in the catalog) labelled apache-2.0 on a Llama 3 base, with the base licence in extra."""
    candidate = candidate_for(ctx.catalog, "Qwen/Qwen2.5-7B-Instruct").model_copy(
        update={
            "id": "someone/llama-3-finetune",
            "license": "apache-2.0",
            "base_model": "meta-llama/Meta-Llama-3-8B",
            "extra": {"base_model_license": "llama3"},
        }
    )
    found = findings(ctx, candidate, answers())
    message = of(found, "LIC008")[0].message
    assert "someone/llama-3-finetune" in message and "meta-llama/Meta-Llama-3-8B" in message and "llama3" in message
    assert "Built with Meta Llama 3" in of(found, "LIC005")[0].message
    unknown_base = candidate.model_copy(update={"extra": {}})
    warning = of(findings(ctx, unknown_base, answers()), "LIC008")
    assert warning[0].severity == "warn" and "not recorded" in warning[0].message


def test_lineage_is_memoised_and_survives_loops(ctx: Session, tmp_path: Path) -> None:
    candidate = candidate_for(ctx.catalog, "Vikhrmodels/Vikhr-Nemo-12B-Instruct-R-21-09-24")
    assert lic.resolve_lineage(candidate, ctx.catalog) is lic.resolve_lineage(candidate, ctx.catalog)
    record = ctx.catalog.models["Qwen/Qwen2.5-7B-Instruct"].model_dump(mode="json", exclude_none=True)
    loop = [
        {**record, "id": "loop/a", "base_model": "loop/b"},
        {**record, "id": "loop/b", "base_model": "loop/a", "license": "llama3.1"},
    ]
    (tmp_path / "models.yaml").write_text(yaml.safe_dump({"models": loop}), encoding="utf-8")
    context = make_context(tmp_path)
    lineage = lic.resolve_lineage(candidate_for(context.catalog, "loop/a"), context.catalog)
    assert [link.model for link in lineage.links] == ["loop/a", "loop/b"]


# --- the other checks ---------------------------------------------------------------------------------


def test_hosting(ctx: Session) -> None:
    saas = answers(license={"saas_hosting": True})
    gemma = of(findings(ctx, candidate_for(ctx.catalog, "google/gemma-2-9b-it"), saas), "LIC003")
    assert [f.severity for f in gemma] == ["info"] and "enforceable provision" in gemma[0].message
    agpl = candidate_for(ctx.catalog, "Qwen/Qwen2.5-7B-Instruct", license="agpl-3.0")
    assert of(findings(ctx, agpl, saas), "LIC003")[0].severity == "warn"
    research = candidate_for(ctx.catalog, "Qwen/Qwen2.5-3B-Instruct")
    free_service = answers(license={"saas_hosting": True, "commercial_use": False})
    assert [f.severity for f in of(findings(ctx, research, free_service), "LIC003")] == ["fail"]
    nc = candidate_for(ctx.catalog, "CohereForAI/c4ai-command-r-v01")
    assert not of(findings(ctx, nc, free_service), "LIC003")  # non-commercial hosting is within CC BY-NC
    assert not of(findings(ctx, candidate_for(ctx.catalog, "google/gemma-2-9b-it"), answers()), "LIC003")


def test_regional_exclusion_follows_data_residency_and_modality(ctx: Session, tmp_path: Path) -> None:
    text_model = candidate_for(ctx.catalog, "meta-llama/Llama-3.2-3B-Instruct")
    for region in ("EU", "de", "FR"):
        found = of(findings(ctx, text_model, answers(privacy={"data_residency": region})), "LIC004")
        assert [f.severity for f in found] == ["pass"] and "text-only" in found[0].message
    assert not of(findings(ctx, text_model, answers(privacy={"data_residency": "US"})), "LIC004")
    # test fixture: a multimodal Llama 3.2 model (the catalog has only the text ones)
    context = overlay(
        tmp_path,
        ctx,
        "meta-llama/Llama-3.2-3B-Instruct",
        id="test-fixture/llama-3.2-vision",
        modalities=["text", "image"],
    )
    vision = candidate_for(context.catalog, "test-fixture/llama-3.2-vision")
    found = of(findings(context, vision, answers(privacy={"data_residency": "DE"})), "LIC004")
    assert [f.severity for f in found] == ["warn"]
    assert "European Union" in found[0].message and "USE_POLICY.md" in found[0].message
    unknown = text_model.model_copy(update={"id": "someone/llama-3.2-variant", "base_model": None})
    found = of(findings(ctx, unknown, answers(privacy={"data_residency": "EU"})), "LIC004")
    assert [f.severity for f in found] == ["warn"] and "does not say whether" in found[0].message


def test_attribution_duties_give_the_words_to_ship(ctx: Session) -> None:
    found = of(findings(ctx, candidate_for(ctx.catalog, "meta-llama/Llama-3.1-8B-Instruct"), answers()), "LIC005")
    assert [f.severity for f in found] == ["info"]
    record = ctx.catalog.licenses["llama3.1"]
    for notice in record.required_notices:
        assert f"“{notice}”" in found[0].message
    assert "“Llama” at the beginning" in found[0].message.replace('"Llama"', "“Llama”")
    assert not of(findings(ctx, candidate_for(ctx.catalog, "microsoft/phi-4"), answers()), "LIC005")


def test_acceptable_use_clauses_that_name_the_use_case(ctx: Session) -> None:
    classification = answers(use_case="classification")
    for model_id in ("google/gemma-2-9b-it", "deepseek-ai/DeepSeek-V3"):
        found = of(findings(ctx, candidate_for(ctx.catalog, model_id), classification), "LIC006")
        assert [f.severity for f in found] == ["warn"] and "automated decision" in found[0].message, model_id
    llama = candidate_for(ctx.catalog, "meta-llama/Llama-3.1-8B-Instruct")
    assert not of(findings(ctx, llama, answers(use_case="translation")), "LIC006")
    chat = of(findings(ctx, llama, answers(use_case="chat")), "LIC006")
    assert [f.severity for f in chat] == ["info"] and "human-generated" in chat[0].message


def test_gated_repositories_ask_to_accept_the_terms_first(ctx: Session) -> None:
    gated = of(findings(ctx, candidate_for(ctx.catalog, "google/gemma-2-9b-it"), answers()), "LIC007")
    assert [f.severity for f in gated] == ["info"] and "https://huggingface.co/google/gemma-2-9b-it" in gated[0].message
    assert not of(findings(ctx, candidate_for(ctx.catalog, "microsoft/phi-4"), answers()), "LIC007")


def test_output_token_threshold_uses_the_cost_formula(ctx: Session) -> None:
    yandex = candidate_for(ctx.catalog, "yandex/YandexGPT-5-Lite-8B-instruct")
    heavy = answers(traffic={"requests_per_day": 20000, "output_tokens": 300})
    found = of(findings(ctx, yandex, heavy), "LIC002")
    expected = monthly_tokens(20000, 500, 300, cost_constants().days_per_month).output_tokens
    assert [f.severity for f in found] == ["warn"]
    assert found[0].evidence["monthly_output_tokens"] == round(expected) and f"{expected:,.0f}" in found[0].message
    light = answers(traffic={"requests_per_day": 10, "output_tokens": 100})
    assert [f.severity for f in of(findings(ctx, yandex, light), "LIC002")] == ["pass"]


@pytest.mark.parametrize(
    "data",
    [
        {"use_case": "classification", "license": {"saas_hosting": True, "monthly_active_users": 10**9}},
        {"use_case": "chat", "privacy": {"data_residency": "EU"}, "traffic": {"requests_per_day": 10**6}},
    ],
)
def test_every_licence_finding_links_its_source(ctx: Session, data: dict[str, Any]) -> None:
    requirements = answers(**data)
    for model_id in sorted(ctx.catalog.models):
        for finding in findings(ctx, candidate_for(ctx.catalog, model_id), requirements):
            assert finding.category == "license"
            if finding.check in {"LIC001", "LIC002", "LIC003", "LIC005", "LIC006"} and finding.severity != "pass":
                assert "(http" in finding.message or "license_link" in finding.evidence, (model_id, finding.check)
            links = [v for k, v in finding.evidence.items() if k in {"link", "model_page", "license_link"} and v]
            assert links or finding.check in {"LIC008"}, (model_id, finding.check)


def test_checks_only_concern_open_weights(ctx: Session) -> None:
    assert {rc.check.id for rc in active_checks(ctx)} == {f"LIC00{i}" for i in range(1, 9)}
    assert all(rc.check.kinds == ("open_source",) for rc in active_checks(ctx))

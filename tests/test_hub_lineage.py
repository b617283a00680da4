"""Licence lineage read through the Hub: a fine-tune inherits the duties of every base up its card chain.

The case a security or legal reviewer worries about: a model labelled apache-2.0 whose base is a merge,
itself built on a non-commercial model, none of them in the catalog. Reading only the model's own card
(or only its first base) passes it for commercial use; the licence check must instead fail it, naming
the non-commercial base. Also: a merge with several bases, a base the Hub no longer has, a cycle in the
cards and an endless chain. The real ``huggingface_hub`` client talks to tests/hub_server.py.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from advisor.catalog.records import BaseModelLink
from advisor.engine.host import PluginHost
from advisor.engine.licensing import licence_lineage
from advisor.engine.session import Session
from advisor.hub import fetch_model
from advisor.hub.lineage import MAX_HUB_ANCESTORS, hub_ancestors
from tests.conftest import EXAMPLES
from tests.hub_server import CONFIGS, QWEN25_7B_INSTRUCT, HubRepo, HubServer, model_card
from tests.test_catalog_update import env  # noqa: F401  (the fixture)
from tests.test_hub_cli import advisor, hub_env

FINE_TUNE = "acme/helper-7b"
MERGE = "mergers/helper-merge-7b"
NC_BASE = "lab/research-7b"


def model_repo(repo_id: str, card: dict[str, Any]) -> HubRepo:
    """A repo with weights' metadata and a config (what fetch_model needs), and this card."""
    return HubRepo(
        repo_id,
        {
            "README.md": model_card({"pipeline_tag": "text-generation", **card}),
            "config.json": json.dumps(CONFIGS[QWEN25_7B_INSTRUCT]).encode(),
        },
        safetensors={"BF16": 7615616512},
    )


def card_repo(repo_id: str, card: dict[str, Any]) -> HubRepo:
    return HubRepo(repo_id, {"README.md": model_card(card)})


@pytest.fixture
def hub(env: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[HubServer]:  # noqa: F811
    """fine-tune (apache-2.0) -> merge (apache-2.0, relation merge) -> non-commercial base (cc-by-nc-4.0)."""
    with HubServer() as server:
        server.add(
            model_repo(FINE_TUNE, {"license": "apache-2.0", "base_model": MERGE, "base_model_relation": "finetune"})
        )
        server.add(
            card_repo(MERGE, {"license": "apache-2.0", "base_model": [NC_BASE], "base_model_relation": "finetune"})
        )
        server.add(card_repo(NC_BASE, {"license": "cc-by-nc-4.0"}))
        monkeypatch.setenv("HF_ENDPOINT", server.url)
        yield server


def session_with(*records: Any) -> Session:
    session = Session(host=PluginHost(strict=True).load(entrypoints=False), select=("LIC",))
    session.catalog.add("models", list(records), "hub")
    return session


def test_the_card_chain_is_read_up_to_the_non_commercial_base(hub: HubServer) -> None:
    model = fetch_model(FINE_TUNE)
    chain = [(b.model, b.derived, b.license, b.relation) for b in model.record.base_lineage]
    assert chain == [
        (MERGE, FINE_TUNE, "apache-2.0", "finetune"),
        (NC_BASE, MERGE, "cc-by-nc-4.0", "finetune"),
    ]
    assert model.record.base_model_license == "apache-2.0"  # the first base's own label, as before


def test_commercial_use_fails_through_a_base_two_hops_up_that_is_not_in_the_catalog(
    hub: HubServer, tmp_path: Path
) -> None:
    """`advisor check` on the fine-tune for a bank that needs commercial use: LIC001 fails, naming the
    non-commercial base, although the model and its first base both say apache-2.0; LIC008 says why."""
    proc = advisor(
        hub_env(tmp_path, hub.url),
        "check",
        FINE_TUNE,
        "--answers",
        str(EXAMPLES / "onprem-bank.yaml"),
        "--select",
        "LIC",
        "--format",
        "json",
    )
    assert proc.returncode == 1, proc.stderr  # nothing acceptable
    findings = [f for row in json.loads(proc.stdout)["candidates"] for f in row["findings"]]
    fails = [f for f in findings if f["check"] == "LIC001" and f["severity"] == "fail"]
    assert fails and all(NC_BASE in f["message"] for f in fails)
    lineage_warnings = [f for f in findings if f["check"] == "LIC008" and NC_BASE in f["message"]]
    assert lineage_warnings


def test_every_base_of_a_merge_binds(hub: HubServer) -> None:
    """A merge of a permissive and a non-commercial model carries the non-commercial terms."""
    hub.add(card_repo("other/permissive-7b", {"license": "mit"}))
    hub.add(
        model_repo(
            "acme/merged-7b",
            {"license": "apache-2.0", "base_model": ["other/permissive-7b", NC_BASE], "base_model_relation": "merge"},
        )
    )
    record = fetch_model("acme/merged-7b").record
    session = session_with(record)
    lineage = licence_lineage(
        session.catalog, record.id, declared=record.license, base_model=record.base_model, ancestors=record.base_lineage
    )
    assert [link.model for link in lineage.links] == ["acme/merged-7b", "other/permissive-7b", NC_BASE]
    assert "cc-by-nc-4.0" in {licence.id for _, licence in lineage.terms()}
    assert lineage.links[2].relation == "merge" and lineage.links[2].derived == "acme/merged-7b"


def test_a_base_the_hub_no_longer_has_is_flagged_not_passed(hub: HubServer) -> None:
    """A base that returns 404 cannot be read: LIC008 warns that its licence is unknown, naming it."""
    hub.add(model_repo("acme/orphan-7b", {"license": "apache-2.0", "base_model": "deleted/base-7b"}))
    record = fetch_model("acme/orphan-7b").record
    assert [(b.model, b.found) for b in record.base_lineage] == [("deleted/base-7b", False)]
    from advisor.engine.run import active_checks, assess
    from advisor.engine.variants import open_candidate
    from advisor.model.requirements import requirements_from_data

    session = session_with(record)
    found = assess(
        open_candidate(record, quant="Q4_K_M"),
        requirements_from_data({}, "answers"),
        active_checks(session),
        session,
    ).findings
    warn = [f for f in found if f.check == "LIC008" and "deleted/base-7b" in f.message]
    assert warn and "no such repository" in warn[0].message


def test_a_cycle_in_the_cards_ends_and_lists_each_model_once(hub: HubServer) -> None:
    hub.add(model_repo("a/loop-7b", {"license": "apache-2.0", "base_model": "b/loop-7b"}))
    hub.add(card_repo("b/loop-7b", {"license": "apache-2.0", "base_model": "c/loop-7b"}))
    hub.add(card_repo("c/loop-7b", {"license": "cc-by-nc-4.0", "base_model": ["b/loop-7b", "a/loop-7b"]}))
    record = fetch_model("a/loop-7b").record
    assert [b.model for b in record.base_lineage] == ["b/loop-7b", "c/loop-7b"]
    session = session_with(record)
    lineage = licence_lineage(
        session.catalog, record.id, declared=record.license, base_model=record.base_model, ancestors=record.base_lineage
    )
    assert [link.model for link in lineage.links] == ["a/loop-7b", "b/loop-7b", "c/loop-7b"]


def test_the_walk_is_bounded() -> None:
    """A chain of 40 cards reads at most MAX_HUB_ANCESTORS of them (each costs a request)."""
    cards = {f"org{i}/m": {"license": "mit", "base_model": f"org{i + 1}/m"} for i in range(40)}
    asked: list[str] = []

    def read(repo: str) -> tuple[dict[str, Any], list[str]]:
        asked.append(repo)
        return cards[repo], []

    found = hub_ancestors("org0/m", cards["org0/m"], read)
    assert len(found) == MAX_HUB_ANCESTORS == len(asked)


def test_a_catalogued_base_wins_over_what_a_card_says_of_it() -> None:
    """The catalog's curated record of a base is read before a Hub card's claim about it."""
    session = session_with()
    ancestors = [BaseModelLink(model="meta-llama/Llama-3.1-8B-Instruct", derived="x/ft", license="mit")]
    lineage = licence_lineage(
        session.catalog,
        "x/ft",
        declared="apache-2.0",
        base_model="meta-llama/Llama-3.1-8B-Instruct",
        ancestors=ancestors,
    )
    assert lineage.links[1].declared == "llama3.1" and lineage.links[1].in_catalog


def test_licenses_shows_a_hub_models_lineage_up_to_the_non_commercial_base(hub: HubServer, tmp_path: Path) -> None:
    """`advisor licenses REPO` for a Hub repo the catalog lacks lists the chain, each base's resolved licence,
    and what it is the base of -- the same lineage LIC001-LIC008 read."""
    proc = advisor(hub_env(tmp_path, hub.url), "licenses", FINE_TUNE, "--format", "json")
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(proc.stdout)["lineage"]
    assert [(r["model"], r["resolved"], r["base_of"]) for r in rows] == [
        (FINE_TUNE, "apache-2.0", None),
        (MERGE, "apache-2.0", FINE_TUNE),
        (NC_BASE, "cc-by-nc-4.0", MERGE),
    ]
    assert all(r["binds"] for r in rows)
